//! How simrq is installed: `simrq --version` names the RQ it models, and the Python package
//! (pyproject.toml, a maturin wheel carrying the binary) is the crate under the same name.
//! CI builds that wheel, installs it into a fresh venv and runs it (.ci/run).

use std::process::Command;

fn manifest_file(name: &str) -> String {
    std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(name)).unwrap()
}

#[test]
fn version_names_the_rq_redis_py_and_redis_it_models() {
    let output = Command::new(env!("CARGO_BIN_EXE_simrq"))
        .arg("--version")
        .output()
        .unwrap();
    let text = String::from_utf8(output.stdout).unwrap();
    let expected = format!(
        "simrq {} (models RQ 2.12.0 with redis-py 8.1 on Redis 7.0)\n",
        env!("CARGO_PKG_VERSION")
    );
    assert_eq!(text, expected);
    assert!(simrq::redis::commands::REDIS_VERSION.starts_with("7.0."));
}

#[test]
fn the_python_package_is_the_binary_of_this_crate() {
    let pyproject = manifest_file("pyproject.toml");
    let table: toml::Table = toml::from_str(&pyproject).unwrap();
    assert_eq!(table["tool"]["maturin"]["bindings"].as_str(), Some("bin"));
    assert_eq!(
        table["project"]["name"].as_str(),
        Some(env!("CARGO_PKG_NAME"))
    );
    let dynamic = table["project"]["dynamic"].as_array().unwrap();
    assert!(
        dynamic.iter().any(|v| v.as_str() == Some("version")),
        "Cargo's version"
    );
    let dockerfile = manifest_file("Dockerfile");
    assert!(dockerfile.contains("cargo build --release --locked --bin simrq"));
    assert!(dockerfile.contains("COPY scenarios /opt/simrq/scenarios"));
}
