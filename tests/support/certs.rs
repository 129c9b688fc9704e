//! Certificates made at test time with rcgen: a CA, server and client
//! certificates it signs, and rustls configs built from them.
#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use tulipa::tls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tulipa::tls::rustls::server::WebPkiClientVerifier;
use tulipa::tls::rustls::{ClientConfig, RootCertStore, ServerConfig};
use tulipa::tls::{TlsAcceptor, TlsConnector};

/// A certificate and its key.
pub struct Leaf {
    pub cert: CertificateDer<'static>,
    pub key_der: Vec<u8>,
}

impl Leaf {
    pub fn key(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::try_from(self.key_der.clone()).unwrap()
    }
}

/// A certificate authority that issues certificates.
pub struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl Ca {
    pub fn new(name: &str) -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let key = KeyPair::generate().unwrap();
        Ca {
            issuer: CertifiedIssuer::self_signed(params, key).unwrap(),
        }
    }

    pub fn cert(&self) -> CertificateDer<'static> {
        self.issuer.der().clone()
    }

    pub fn roots(&self) -> RootCertStore {
        let mut roots = RootCertStore::empty();
        roots.add(self.cert()).unwrap();
        roots
    }

    fn issue(&self, names: &[&str], purpose: ExtendedKeyUsagePurpose, expired: bool) -> Leaf {
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        let mut params = CertificateParams::new(names.clone()).unwrap();
        params.distinguished_name.push(
            DnType::CommonName,
            names.first().cloned().unwrap_or_default(),
        );
        params.extended_key_usages = vec![purpose];
        if expired {
            params.not_before = rcgen::date_time_ymd(2020, 1, 1);
            params.not_after = rcgen::date_time_ymd(2021, 1, 1);
        }
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        Leaf {
            cert: cert.der().clone(),
            key_der: key.serialize_der(),
        }
    }

    /// A server certificate for `localhost` and `127.0.0.1`.
    pub fn server(&self) -> Leaf {
        self.issue(
            &["localhost", "127.0.0.1"],
            ExtendedKeyUsagePurpose::ServerAuth,
            false,
        )
    }

    /// A server certificate that expired in 2021.
    pub fn expired_server(&self) -> Leaf {
        self.issue(&["localhost"], ExtendedKeyUsagePurpose::ServerAuth, true)
    }

    /// A client certificate for `name`.
    pub fn client(&self, name: &str) -> Leaf {
        self.issue(&[name], ExtendedKeyUsagePurpose::ClientAuth, false)
    }
}

/// A server config presenting `leaf` (chain: leaf, CA).
pub fn server_config(ca: &Ca, leaf: &Leaf, alpn: &[&[u8]]) -> ServerConfig {
    let mut config = ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![leaf.cert.clone(), ca.cert()], leaf.key())
        .unwrap();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    config
}

/// A server config that requires a client certificate issued by `clients`.
pub fn mtls_server_config(ca: &Ca, leaf: &Leaf, clients: &Ca) -> ServerConfig {
    let verifier = WebPkiClientVerifier::builder(Arc::new(clients.roots()))
        .build()
        .unwrap();
    ServerConfig::builder()
        .with_client_cert_verifier(verifier)
        .with_single_cert(vec![leaf.cert.clone(), ca.cert()], leaf.key())
        .unwrap()
}

/// A client config trusting `ca`, optionally presenting `client`.
pub fn client_config(ca: &Ca, client: Option<&Leaf>, alpn: &[&[u8]]) -> ClientConfig {
    let builder = ClientConfig::builder().with_root_certificates(ca.roots());
    let mut config = match client {
        Some(leaf) => builder
            .with_client_auth_cert(vec![leaf.cert.clone()], leaf.key())
            .unwrap(),
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    config
}

/// One CA, a server certificate, and the acceptor / connector pair.
pub struct Pki {
    pub ca: Ca,
    pub server: Leaf,
}

impl Pki {
    pub fn new() -> Pki {
        let ca = Ca::new("tulipa test CA");
        let server = ca.server();
        Pki { ca, server }
    }

    pub fn acceptor(&self) -> TlsAcceptor {
        TlsAcceptor::new(Arc::new(server_config(&self.ca, &self.server, &[])))
    }

    pub fn connector(&self) -> TlsConnector {
        TlsConnector::new(Arc::new(client_config(&self.ca, None, &[])))
    }
}
