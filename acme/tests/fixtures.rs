//! Regenerates the fixed test inputs in tests/data (run by hand:
//! `cargo test -p gitns-acme --test fixtures -- --ignored`). The files are
//! committed so the unit tests and the fuzz target need no rcgen.

use rcgen::{
    date_time_ymd, BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair,
};

const NAMES: [&str; 3] = ["example.org", "www.example.org", "*.example.org"];

#[test]
#[ignore = "rewrites tests/data; run by hand"]
fn regenerate() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    std::fs::create_dir_all(&dir).unwrap();

    let names: Vec<String> = NAMES.iter().map(|s| s.to_string()).collect();
    let mut csr_params = CertificateParams::new(names[1..].to_vec()).unwrap();
    csr_params
        .distinguished_name
        .push(DnType::CommonName, "Example.ORG");
    let csr_key = KeyPair::generate().unwrap();
    let csr = csr_params.serialize_request(&csr_key).unwrap();
    std::fs::write(dir.join("csr.der"), csr.der()).unwrap();

    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "gitns fake CA");
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();

    let mut leaf_params = CertificateParams::new(names).unwrap();
    leaf_params
        .distinguished_name
        .push(DnType::CommonName, "example.org");
    leaf_params.not_before = date_time_ymd(2025, 1, 1);
    leaf_params.not_after = date_time_ymd(2040, 1, 1);
    let leaf = leaf_params.signed_by(&csr_key, &ca).unwrap();
    let chain = format!("{}\n{}", leaf.pem(), ca.pem());
    std::fs::write(dir.join("chain.pem"), chain).unwrap();
}
