//! Trust anchors: the Let's Encrypt roots compiled in, plus DER given at
//! run time (`--acme-ca=<base64 DER>`: Pebble's root, a test CA).
//!
//! `roots/isrg-root-x{1,2}.der` are ISRG Root X1 (RSA 4096) and ISRG Root X2
//! (ECDSA P-384), taken from Debian's ca-certificates 20230311 (Mozilla's
//! root store, /usr/share/ca-certificates/mozilla/ISRG_Root_X*.crt) and
//! converted PEM -> DER with `openssl x509 -outform DER`. SHA-256
//! fingerprints (checked by the tests below, and published by Let's Encrypt):
//! X1 96:BC:EC:06:26:49:76:F3:74:60:77:9A:CF:28:C5:A7:CF:E8:A3:C0:AA:E1:1A:8F:FC:EE:05:C0:BD:DF:08:C6
//! X2 69:72:9B:8E:15:A8:6E:FC:17:7A:57:AF:B7:17:1D:FC:64:AD:D2:8C:2F:CA:8C:F1:50:7E:34:45:3C:CB:14:70
//! Only these two certificates are linked (1.9 KB), not a whole root store.

use alloc::sync::Arc;

use pki_types::CertificateDer;
use rustls::RootCertStore;

use crate::tls_error::TlsError;

/// ISRG Root X1 (DER).
pub static ISRG_ROOT_X1: &[u8] = include_bytes!("../roots/isrg-root-x1.der");
/// ISRG Root X2 (DER).
pub static ISRG_ROOT_X2: &[u8] = include_bytes!("../roots/isrg-root-x2.der");

/// A set of trust anchors a server's chain must end in.
#[derive(Clone, Debug)]
pub struct Anchors {
    store: RootCertStore,
}

impl Anchors {
    /// No anchor at all (add some with [`Anchors::add_der`]).
    pub fn empty() -> Anchors {
        Anchors {
            store: RootCertStore::empty(),
        }
    }

    /// ISRG Root X1 and X2: what Let's Encrypt's ACME endpoints (production
    /// and staging) chain to.
    pub fn lets_encrypt() -> Anchors {
        let mut a = Anchors::empty();
        for der in [ISRG_ROOT_X1, ISRG_ROOT_X2] {
            // Both are checked to parse by the tests; a failure cannot
            // happen at run time, and would only leave that root out.
            let _ = a.add_der(der);
        }
        a
    }

    /// The roots Mozilla's root program trusts for TLS servers (the
    /// webpki-roots crate's copy, compiled in): what a public git host's
    /// certificate chains to.
    pub fn public() -> Anchors {
        let mut store = RootCertStore::empty();
        store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        Anchors { store }
    }

    /// Trust the self-signed or intermediate certificate `der` as an
    /// anchor (its subject and public key; RFC 5280 §6.1.1 (d)).
    pub fn add_der(&mut self, der: &[u8]) -> Result<(), TlsError> {
        self.store
            .add(CertificateDer::from(der))
            .map_err(|_| TlsError::BadAnchor)
    }

    /// How many anchors there are.
    pub fn len(&self) -> usize {
        self.store.len()
    }

    /// True when there is no anchor.
    pub fn is_empty(&self) -> bool {
        self.store.is_empty()
    }

    /// The store rustls's verifier wants.
    pub(crate) fn store(&self) -> Arc<RootCertStore> {
        Arc::new(self.store.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha256_hex(der: &[u8]) -> alloc::string::String {
        use core::fmt::Write;
        let d = ring::digest::digest(&ring::digest::SHA256, der);
        let mut s = alloc::string::String::new();
        for b in d.as_ref() {
            write!(s, "{b:02X}").unwrap();
        }
        s
    }

    #[test]
    fn isrg_roots_are_the_published_ones() {
        assert_eq!(
            sha256_hex(ISRG_ROOT_X1),
            "96BCEC06264976F37460779ACF28C5A7CFE8A3C0AAE11A8FFCEE05C0BDDF08C6"
        );
        assert_eq!(
            sha256_hex(ISRG_ROOT_X2),
            "69729B8E15A86EFC177A57AFB7171DFC64ADD28C2FCA8CF1507E34453CCB1470"
        );
    }

    #[test]
    fn lets_encrypt_has_both_roots() {
        assert_eq!(Anchors::lets_encrypt().len(), 2);
    }

    #[test]
    fn public_roots_include_isrg_root_x1() {
        let public = Anchors::public();
        assert!(public.len() > 100, "{}", public.len());
        let der = CertificateDer::from(ISRG_ROOT_X1);
        let x1 = webpki::anchor_from_trusted_cert(&der).unwrap();
        assert!(public.store.roots.iter().any(|r| r.subject == x1.subject));
    }

    #[test]
    fn extra_anchor_added_and_garbage_refused() {
        let mut a = Anchors::lets_encrypt();
        a.add_der(ISRG_ROOT_X2).unwrap();
        assert_eq!(a.len(), 3);
        assert_eq!(a.add_der(b"not a certificate"), Err(TlsError::BadAnchor));
        assert_eq!(a.add_der(&ISRG_ROOT_X1[..100]), Err(TlsError::BadAnchor));
        assert_eq!(a.len(), 3);
        assert!(Anchors::empty().is_empty());
    }
}
