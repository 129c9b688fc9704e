//! `examples/http_service.rs --self-test` exercises every endpoint and exits 0.
#![cfg(feature = "hyper")]

mod support;

#[test]
fn http_service_self_test_checks_every_endpoint() {
    let out = support::run_example("http_service", &["--self-test"]);
    for what in [
        "ok   GET /health:",
        "ok   POST /jobs {\"n\": 100000}: {\"n\":100000,\"primes\":9592}",
        "ok   POST /jobs (bad body): 400",
        "ok   GET /gather?delay_ms=10: {\"squares\":[1,4,9]}",
        "ok   GET /gather?delay_ms=1000: 504",
        "ok   GET /stream?mib=8: 8388608 bytes",
        "ok   GET /panic: 500",
        "ok   GET /health after the panic: 200",
        "ok   POST /shutdown: in-flight request answered",
        "shut down: connections drained, workers stopped",
        "self-test passed",
    ] {
        assert!(out.contains(what), "missing {what:?} in:\n{out}");
    }
    #[cfg(feature = "tls")]
    assert!(
        out.contains("ok   HTTPS GET /health: Some(TLSv1_3)"),
        "{out}"
    );
    assert!(!out.contains("FAIL"), "{out}");
}
