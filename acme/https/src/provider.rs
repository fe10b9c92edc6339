//! The rustls `CryptoProvider` of the image.
//!
//! rustls's *ring* cipher suites (AEAD + HKDF/PRF need no randomness) and
//! ring's signature verification through webpki, but:
//! - `secure_random` over `getrandom` 0.4 (the guest's custom backend; the
//!   OS on the host), never ring's `SystemRandom`;
//! - key exchange from [`crate::kx`];
//! - no client certificates: the key provider refuses every key, so ring's
//!   signing code (which would pull `SystemRandom`) is not linked.

use alloc::string::String;
use alloc::sync::Arc;

use pki_types::PrivateKeyDer;
use rustls::crypto::ring::cipher_suite as suite;
use rustls::crypto::{CryptoProvider, KeyProvider, WebPkiSupportedAlgorithms};
use rustls::sign::SigningKey;
use rustls::{Error, SignatureScheme, SupportedCipherSuite};
use webpki::ring as alg;

use crate::random::GetRandom;

#[derive(Debug)]
struct NoClientKeys;

impl KeyProvider for NoClientKeys {
    fn load_private_key(&self, _: PrivateKeyDer<'static>) -> Result<Arc<dyn SigningKey>, Error> {
        Err(Error::General(String::from(
            "client certificates are not supported",
        )))
    }
}

/// Cipher suites, most preferred first (RFC 8446 §9.1 makes
/// TLS_AES_128_GCM_SHA256 mandatory; TLS 1.2 suites are ECDHE + AEAD only).
static CIPHER_SUITES: &[SupportedCipherSuite] = &[
    suite::TLS13_AES_128_GCM_SHA256,
    suite::TLS13_AES_256_GCM_SHA384,
    suite::TLS13_CHACHA20_POLY1305_SHA256,
    suite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    suite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
    suite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
    suite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    suite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
    suite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
];

/// Signature checks for certificates and handshake signatures (RFC 8446
/// §4.2.3). For TLS 1.3 an ECDSA scheme fixes the curve; TLS 1.2 does not,
/// so each ECDSA scheme also accepts the other curve with the same hash.
static SIGNATURES: WebPkiSupportedAlgorithms = WebPkiSupportedAlgorithms {
    all: &[
        alg::ECDSA_P256_SHA256,
        alg::ECDSA_P256_SHA384,
        alg::ECDSA_P384_SHA256,
        alg::ECDSA_P384_SHA384,
        alg::ED25519,
        alg::RSA_PKCS1_2048_8192_SHA256,
        alg::RSA_PKCS1_2048_8192_SHA384,
        alg::RSA_PKCS1_2048_8192_SHA512,
        alg::RSA_PSS_2048_8192_SHA256_LEGACY_KEY,
        alg::RSA_PSS_2048_8192_SHA384_LEGACY_KEY,
        alg::RSA_PSS_2048_8192_SHA512_LEGACY_KEY,
    ],
    mapping: &[
        (
            SignatureScheme::ECDSA_NISTP256_SHA256,
            &[alg::ECDSA_P256_SHA256, alg::ECDSA_P384_SHA256],
        ),
        (
            SignatureScheme::ECDSA_NISTP384_SHA384,
            &[alg::ECDSA_P384_SHA384, alg::ECDSA_P256_SHA384],
        ),
        (SignatureScheme::ED25519, &[alg::ED25519]),
        (
            SignatureScheme::RSA_PSS_SHA256,
            &[alg::RSA_PSS_2048_8192_SHA256_LEGACY_KEY],
        ),
        (
            SignatureScheme::RSA_PSS_SHA384,
            &[alg::RSA_PSS_2048_8192_SHA384_LEGACY_KEY],
        ),
        (
            SignatureScheme::RSA_PSS_SHA512,
            &[alg::RSA_PSS_2048_8192_SHA512_LEGACY_KEY],
        ),
        (
            SignatureScheme::RSA_PKCS1_SHA256,
            &[alg::RSA_PKCS1_2048_8192_SHA256],
        ),
        (
            SignatureScheme::RSA_PKCS1_SHA384,
            &[alg::RSA_PKCS1_2048_8192_SHA384],
        ),
        (
            SignatureScheme::RSA_PKCS1_SHA512,
            &[alg::RSA_PKCS1_2048_8192_SHA512],
        ),
    ],
};

/// The provider every [`crate::TlsClient`] uses.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(CryptoProvider {
        cipher_suites: CIPHER_SUITES.to_vec(),
        kx_groups: crate::kx::ALL.to_vec(),
        signature_verification_algorithms: SIGNATURES,
        secure_random: &GetRandom,
        key_provider: &NoClientKeys,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_is_consistent() {
        let p = provider();
        assert_eq!(p.cipher_suites.len(), 9);
        assert_eq!(p.kx_groups.len(), 2);
        assert!(p.secure_random.fill(&mut [0u8; 8]).is_ok());
    }

    #[test]
    fn client_keys_are_refused() {
        let key = PrivateKeyDer::Pkcs8(alloc::vec![0u8; 4].into());
        assert!(provider().key_provider.load_private_key(key).is_err());
    }
}
