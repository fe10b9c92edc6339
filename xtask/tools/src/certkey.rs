//! The certificate's key for `certify` (as ocertify's `--key-seed` and
//! key file): an ECDSA P-256 key read from a PEM file, derived from a
//! seed, or made fresh, and the CSR for a host name signed with it.

use rcgen::{CertificateParams, DnType, KeyPair, PKCS_ECDSA_P256_SHA256};
use sha2::{Digest, Sha256};
use std::path::Path;

/// Domain separation of the seed derivation (versioned).
const SEED_LABEL: &[u8] = b"gitns certify key v1";
/// Shortest seed accepted: 128 bits.
pub const MIN_SEED_LEN: usize = 16;

/// The key and where it came from (for the log line).
pub struct CertKey {
    pub pair: KeyPair,
    pub origin: &'static str,
}

/// The key of `path` when it exists (and then it must be the seed's key
/// when a seed is given), else the seed's key or a fresh one, written to
/// `path` (mode 0600) before any CSR names it.
pub fn load_or_make(path: &Path, seed: Option<&[u8]>) -> Result<CertKey, String> {
    let from_seed = seed.map(from_seed).transpose()?;
    if path.exists() {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let pair = KeyPair::from_pem(&text)
            .map_err(|e| format!("{}: not a PEM private key: {e}", path.display()))?;
        if pair.algorithm() != &PKCS_ECDSA_P256_SHA256 {
            return Err(format!("{}: not an ECDSA P-256 key", path.display()));
        }
        if let Some(s) = &from_seed {
            if s.public_key_raw() != pair.public_key_raw() {
                return Err(format!(
                    "{} holds another key than --key-seed gives (remove it or drop --key-seed)",
                    path.display()
                ));
            }
        }
        return Ok(CertKey {
            pair,
            origin: "the key file",
        });
    }
    let (pair, origin) = match from_seed {
        Some(p) => (p, "--key-seed"),
        None => (
            KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(|e| format!("new key: {e}"))?,
            "a new key",
        ),
    };
    write_private(path, &pair.serialize_pem())?;
    Ok(CertKey { pair, origin })
}

/// The P-256 key of a seed: candidate `i` is
/// `SHA-256("gitns certify key v1" || [i] || seed)`, the first one that is
/// a valid scalar (in [1, n-1]) is the private key.
pub fn from_seed(seed: &[u8]) -> Result<KeyPair, String> {
    if seed.len() < MIN_SEED_LEN {
        return Err(format!(
            "--key-seed: at least {MIN_SEED_LEN} bytes, got {}",
            seed.len()
        ));
    }
    let signing = (0u8..16)
        .find_map(|i| {
            let d = Sha256::new()
                .chain_update(SEED_LABEL)
                .chain_update([i])
                .chain_update(seed)
                .finalize();
            p256::ecdsa::SigningKey::from_slice(&d).ok()
        })
        .ok_or("--key-seed gives no valid P-256 key")?;
    let point = signing.verifying_key().to_sec1_point(false);
    KeyPair::try_from(pkcs8_p256(&signing.to_bytes(), point.as_bytes()))
        .map_err(|e| format!("--key-seed: {e}"))
}

/// RFC 5208 PKCS#8 PrivateKeyInfo holding an RFC 5915 ECPrivateKey on
/// prime256v1 with its public key, the form ring reads and writes.
fn pkcs8_p256(d: &[u8], point: &[u8]) -> Vec<u8> {
    const HEAD: [u8; 36] = [
        0x30, 0x81, 0x87, 0x02, 0x01, 0x00, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d,
        0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x04, 0x6d, 0x30,
        0x6b, 0x02, 0x01, 0x01, 0x04, 0x20,
    ];
    let mut der = HEAD.to_vec();
    der.extend_from_slice(d);
    der.extend_from_slice(&[0xa1, 0x44, 0x03, 0x42, 0x00]);
    der.extend_from_slice(point);
    der
}

/// A DER CSR for `host` (subject CN and the only SAN) signed with `key`.
pub fn csr(host: &str, key: &KeyPair) -> Result<Vec<u8>, String> {
    let e = |e: rcgen::Error| format!("CSR for {host}: {e}");
    let mut params = CertificateParams::new(vec![host.to_string()]).map_err(e)?;
    params.distinguished_name.push(DnType::CommonName, host);
    Ok(params.serialize_request(key).map_err(e)?.der().to_vec())
}

/// Write a private key readable by its owner only.
fn write_private(path: &Path, text: &str) -> Result<(), String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let e = |e: std::io::Error| format!("{}: {e}", path.display());
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(e)?;
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(e)?;
    f.write_all(text.as_bytes()).map_err(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_give_the_same_key_and_files_keep_theirs() {
        let a = from_seed(b"0123456789abcdef").unwrap();
        let b = from_seed(b"0123456789abcdef").unwrap();
        let c = from_seed(b"0123456789abcdeF").unwrap();
        assert_eq!(a.public_key_raw(), b.public_key_raw());
        assert_ne!(a.public_key_raw(), c.public_key_raw());
        assert_eq!(a.public_key_raw().len(), 65);
        assert!(from_seed(b"short").unwrap_err().contains("16 bytes"));

        let dir = std::env::temp_dir().join(format!("gitns-certkey-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("k.pem");
        let first = load_or_make(&path, None).unwrap();
        assert_eq!(first.origin, "a new key");
        let again = load_or_make(&path, None).unwrap();
        assert_eq!(again.origin, "the key file");
        assert_eq!(first.pair.public_key_raw(), again.pair.public_key_raw());
        assert!(load_or_make(&path, Some(b"0123456789abcdef"))
            .err()
            .unwrap()
            .contains("another key"));
        let seeded = dir.join("s.pem");
        let s = load_or_make(&seeded, Some(b"0123456789abcdef")).unwrap();
        assert_eq!(s.pair.public_key_raw(), a.public_key_raw());
        assert!(load_or_make(&seeded, Some(b"0123456789abcdef")).is_ok());
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&seeded).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0);
        // The CSR carries the public point.
        let csr = csr("www.example.org", &s.pair).unwrap();
        let point = s.pair.public_key_raw();
        assert!(csr.windows(point.len()).any(|w| w == point));
        std::fs::write(dir.join("junk.pem"), "junk").unwrap();
        assert!(load_or_make(&dir.join("junk.pem"), None).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
