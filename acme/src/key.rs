//! The ACME account key: ECDSA P-256 derived from the operator's seed, its
//! JWK (RFC 7517, RFC 7518 6.2.1) and JWK thumbprint (RFC 7638).

use alloc::format;
use alloc::string::String;
use core::fmt;
use p256::ecdsa::{SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::b64;

/// Domain separation for the derivation below (versioned: changing it
/// changes every account).
const DERIVATION_LABEL: &[u8] = b"gitns-acme account key v1";
/// Candidates tried before giving up; each fails with probability ~2^-32.
const MAX_CANDIDATES: u8 = 16;
/// Shortest seed accepted: 128 bits.
pub const MIN_SEED_LEN: usize = 16;

/// Why no key could be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyError {
    /// Fewer than [`MIN_SEED_LEN`] bytes of seed.
    SeedTooShort,
    /// No candidate scalar was in [1, n-1] (never happens in practice).
    NoValidScalar,
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SeedTooShort => write!(f, "account key seed shorter than {MIN_SEED_LEN} bytes"),
            Self::NoValidScalar => f.write_str("account key seed gives no valid P-256 scalar"),
        }
    }
}

/// A P-256 account key with its public JWK and thumbprint precomputed.
/// Signing is RFC 6979 deterministic: no randomness is ever needed.
#[derive(Clone)]
pub struct AccountKey {
    signing: SigningKey,
    jwk: String,
    thumbprint: String,
}

impl fmt::Debug for AccountKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccountKey")
            .field("thumbprint", &self.thumbprint)
            .finish_non_exhaustive()
    }
}

impl AccountKey {
    /// Derive the key from a seed of at least 16 bytes.
    ///
    /// Candidate `i` (i = 0, 1, ...) is the 32-byte big-endian integer
    /// `SHA-256("gitns-acme account key v1" || [i] || seed)`; the first
    /// candidate in [1, n-1] (n the P-256 group order) is the private
    /// scalar. The same seed always gives the same account.
    pub fn from_seed(seed: &[u8]) -> Result<Self, KeyError> {
        if seed.len() < MIN_SEED_LEN {
            return Err(KeyError::SeedTooShort);
        }
        (0..MAX_CANDIDATES)
            .find_map(|i| {
                let digest = Sha256::new()
                    .chain_update(DERIVATION_LABEL)
                    .chain_update([i])
                    .chain_update(seed)
                    .finalize();
                SigningKey::from_slice(&digest).ok()
            })
            .map(Self::from_signing_key)
            .ok_or(KeyError::NoValidScalar)
    }

    fn from_signing_key(signing: SigningKey) -> Self {
        let jwk = jwk_json(signing.verifying_key());
        let thumbprint = b64::url(&Sha256::digest(jwk.as_bytes()));
        AccountKey {
            signing,
            jwk,
            thumbprint,
        }
    }

    /// The public JWK, `{"crv":"P-256","kty":"EC","x":..,"y":..}`. Its
    /// members are already in RFC 7638 3.2 canonical order without spaces,
    /// so this text is also the thumbprint input.
    pub fn jwk(&self) -> &str {
        &self.jwk
    }

    /// RFC 7638 thumbprint: base64url(SHA-256(canonical JWK)).
    pub fn thumbprint(&self) -> &str {
        &self.thumbprint
    }

    /// ES256 signature (RFC 7518 3.4): SHA-256, then r || s, 32 bytes each.
    #[cfg(not(fuzzing))]
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        use p256::ecdsa::{signature::Signer, Signature};
        let sig: Signature = self.signing.sign(message);
        let mut out = [0u8; 64];
        out.copy_from_slice(&sig.to_bytes());
        out
    }

    /// Fuzz builds only (`--cfg fuzzing`, set by `cargo xtask fuzz`): a
    /// stand-in for the signature, [`fuzz_signature`], so an order costs no
    /// curve arithmetic (an ECDSA sign and the fake CA's verify per request
    /// held the acme_response target to a few inputs a second).
    #[cfg(fuzzing)]
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        fuzz_signature(message)
    }

    /// The public key, for verifying in tests.
    pub fn verifying_key(&self) -> &VerifyingKey {
        self.signing.verifying_key()
    }
}

/// The stand-in signature of fuzz builds: SHA-256 of the message, twice.
/// The fake CA checks it instead of ECDSA there.
#[cfg(fuzzing)]
pub fn fuzz_signature(message: &[u8]) -> [u8; 64] {
    let d = Sha256::digest(message);
    let mut out = [0u8; 64];
    out[..32].copy_from_slice(&d);
    out[32..].copy_from_slice(&d);
    out
}

/// RFC 7518 6.2.1: x and y are the full 32-byte coordinates, base64url.
fn jwk_json(key: &VerifyingKey) -> String {
    let point = key.to_sec1_point(false);
    let xy = &point.as_bytes()[1..];
    let (x, y) = xy.split_at(32);
    format!(
        r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
        b64::url(x),
        b64::url(y)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::signature::Verifier;
    use p256::ecdsa::Signature;

    const SEED: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn deterministic_from_seed() {
        let a = AccountKey::from_seed(SEED).unwrap();
        let b = AccountKey::from_seed(SEED).unwrap();
        let c = AccountKey::from_seed(b"another seed of enough length").unwrap();
        assert_eq!(a.jwk(), b.jwk());
        assert_eq!(a.sign(b"m"), b.sign(b"m"));
        assert_ne!(a.jwk(), c.jwk());
    }

    #[test]
    fn short_seed_refused() {
        assert_eq!(
            AccountKey::from_seed(b"short").unwrap_err(),
            KeyError::SeedTooShort
        );
    }

    #[test]
    fn jwk_shape_and_thumbprint() {
        let key = AccountKey::from_seed(SEED).unwrap();
        let jwk: serde_json::Value = serde_json::from_str(key.jwk()).unwrap();
        assert_eq!(jwk["kty"], "EC");
        assert_eq!(jwk["crv"], "P-256");
        assert_eq!(
            b64::url_decode(jwk["x"].as_str().unwrap()).unwrap().len(),
            32
        );
        assert_eq!(
            b64::url_decode(jwk["y"].as_str().unwrap()).unwrap().len(),
            32
        );
        assert!(key.jwk().starts_with(r#"{"crv":"P-256","kty":"EC","x":""#));
        let expected = b64::url(&Sha256::digest(key.jwk().as_bytes()));
        assert_eq!(key.thumbprint(), expected);
        assert_eq!(key.thumbprint().len(), 43);
    }

    #[test]
    fn signature_verifies() {
        let key = AccountKey::from_seed(SEED).unwrap();
        let sig = key.sign(b"protected.payload");
        let sig = Signature::from_slice(&sig).unwrap();
        key.verifying_key()
            .verify(b"protected.payload", &sig)
            .unwrap();
        assert!(key.verifying_key().verify(b"other", &sig).is_err());
    }
}
