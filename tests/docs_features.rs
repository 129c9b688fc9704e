//! Every Cargo feature is documented in the README's "Features" section,
//! every item of a feature-gated module carries a docs.rs feature badge,
//! and mio comes without its default features.
use std::path::Path;

fn read(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap()
}

/// The names in Cargo.toml's `[features]` table.
fn features() -> Vec<String> {
    let manifest = read("Cargo.toml");
    let table = manifest
        .split("\n[features]\n")
        .nth(1)
        .expect("a [features] table");
    let table = table.split("\n[").next().unwrap();
    table
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| l.split_once('=').map(|(name, _)| name.trim().to_owned()))
        .filter(|name| !name.is_empty() && name != "default")
        .collect()
}

#[test]
fn every_feature_has_a_row_in_the_readme_features_section() {
    let readme = read("README.md");
    let section = readme
        .split("\n## Features\n")
        .nth(1)
        .expect("a Features section");
    let section = section.split("\n## ").next().unwrap();
    let features = features();
    assert!(!features.is_empty());
    for feature in features {
        assert!(
            section.contains(&format!("| `{feature}` |")),
            "README lacks feature {feature}"
        );
    }
}

#[test]
fn feature_gated_modules_badge_every_impl_and_pub_item() {
    // `#[cfg(feature = "x")] mod m;` in a mod.rs: every impl / pub item of
    // m.rs needs `doc(cfg(feature = "x"))` on the line above.
    for parent in ["src/net/mod.rs", "src/lib.rs"] {
        let text = read(parent);
        let lines: Vec<&str> = text.lines().collect();
        for pair in lines.windows(2) {
            let Some(feature) = pair[0].strip_prefix("#[cfg(feature = \"") else {
                continue;
            };
            let feature = feature.split('"').next().unwrap();
            let Some(module) = pair[1].trim().strip_prefix("mod ") else {
                continue;
            };
            let dir = Path::new(parent).parent().unwrap();
            let file = dir.join(format!("{}.rs", module.trim_end_matches(';')));
            let body = read(file.to_str().unwrap());
            let body: Vec<&str> = body.lines().collect();
            let badge = format!("doc(cfg(feature = \"{feature}\")))]");
            for (i, line) in body.iter().enumerate() {
                let t = line.trim_start();
                if t.starts_with("impl ") || t.starts_with("impl<") || t.starts_with("pub ") {
                    assert!(
                        i > 0 && body[i - 1].contains(&badge),
                        "{}:{}: `{t}` lacks the {feature} badge",
                        file.display(),
                        i + 1
                    );
                }
            }
        }
    }
}

#[test]
fn mio_comes_without_its_default_features_and_docs_rs_sets_docsrs() {
    let manifest = read("Cargo.toml");
    let mio = manifest.lines().find(|l| l.starts_with("mio =")).unwrap();
    assert!(mio.contains("default-features = false"), "{mio}");
    assert!(manifest.contains("rustdoc-args = [\"--cfg\", \"docsrs\"]"));
    assert!(read("src/lib.rs").contains("#![cfg_attr(docsrs, feature(doc_cfg))]"));
}
