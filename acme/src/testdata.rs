//! Fixed inputs for tests and the fuzz target, made by tests/fixtures.rs
//! with rcgen: a P-256 CSR for CN `Example.ORG` + SANs `www.example.org`,
//! `*.example.org`, and a leaf (names `example.org`, `www.example.org`,
//! `*.example.org`, notAfter 2040-01-01) + CA chain in PEM.

/// DER PKCS#10 request.
pub const CSR_DER: &[u8] = include_bytes!("../tests/data/csr.der");
/// Leaf then CA certificate, PEM.
pub const CHAIN_PEM: &[u8] = include_bytes!("../tests/data/chain.pem");
/// The names of both, as `csr::parse` returns them.
pub const NAMES: [&str; 3] = ["example.org", "www.example.org", "*.example.org"];
/// The leaf's notAfter, 2040-01-01T00:00:00Z.
pub const LEAF_NOT_AFTER: u64 = 2_208_988_800;
