//! X.509 certificates (RFC 5280 4.1): the validity window and DNS names of
//! an issued leaf, and the renewal rule.

use alloc::string::String;
use alloc::vec::Vec;

use crate::der::{self, Der};
use crate::x509::{self, X509Error};

/// Renew when fewer than 14 days remain (DESIGN.md "Appliance behaviour").
pub const DEFAULT_RENEWAL_MARGIN: u64 = 14 * 86_400;

/// What gitns reads from a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertInfo {
    /// Validity notBefore, unix seconds.
    pub not_before: u64,
    /// Validity notAfter, unix seconds (RFC 5280 4.1.2.5: inclusive).
    pub not_after: u64,
    /// Subject CN and subjectAltName dNSNames, lower-case, de-duplicated.
    pub dns_names: Vec<String>,
}

/// Parse a DER certificate's TBSCertificate (RFC 5280 4.1.1.1, 4.1.2).
pub fn parse(cert_der: &[u8]) -> Result<CertInfo, X509Error> {
    let mut outer = Der::new(der::single(cert_der, der::SEQUENCE)?.body);
    let mut tbs = Der::new(outer.expect(der::SEQUENCE)?);
    tbs.optional(der::CONTEXT_0)?; // version [0] EXPLICIT
    tbs.expect(der::INTEGER)?; // serialNumber
    tbs.expect(der::SEQUENCE)?; // signature AlgorithmIdentifier
    tbs.expect(der::SEQUENCE)?; // issuer
    let mut validity = Der::new(tbs.expect(der::SEQUENCE)?);
    let subject = tbs.expect(der::SEQUENCE)?;
    tbs.expect(der::SEQUENCE)?; // subjectPublicKeyInfo

    let not_before = read_time(&mut validity)?;
    let not_after = read_time(&mut validity)?;
    validity.finish()?;

    let mut dns_names = Vec::new();
    x509::common_names(subject, false, &mut dns_names)?;
    while let Some(tag) = tbs.peek_tag() {
        let field = tbs.read()?;
        if tag == der::CONTEXT_3 {
            x509::san_dns_names(field.body, false, &mut dns_names)?;
        }
    }
    Ok(CertInfo {
        not_before,
        not_after,
        dns_names,
    })
}

fn read_time(validity: &mut Der<'_>) -> Result<u64, X509Error> {
    let t = validity.read()?;
    x509::time(t.tag, t.body)
}

/// True when a certificate ending at `not_after` should be renewed at `now`
/// (fewer than `margin` seconds remain, or already expired).
pub fn needs_renewal(not_after: u64, now: u64, margin: u64) -> bool {
    now.saturating_add(margin) >= not_after
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{pem, testdata};

    #[test]
    fn leaf_names_and_validity() {
        let chain = pem::decode_chain(testdata::CHAIN_PEM).unwrap();
        let leaf = parse(&chain[0]).unwrap();
        assert_eq!(leaf.dns_names, testdata::NAMES);
        assert_eq!(leaf.not_after, testdata::LEAF_NOT_AFTER);
        assert_eq!(leaf.not_before, 1_735_689_600); // 2025-01-01
        let ca = parse(&chain[1]).unwrap();
        assert_eq!(ca.not_after, 67_090_118_400); // 4096-01-01, GeneralizedTime
        assert!(ca.dns_names.is_empty()); // CN "gitns fake CA" is skipped
    }

    #[test]
    fn every_truncation_is_an_error() {
        let chain = pem::decode_chain(testdata::CHAIN_PEM).unwrap();
        for len in 0..chain[0].len() {
            assert!(parse(&chain[0][..len]).is_err(), "len {len}");
        }
    }

    #[test]
    fn renewal_margin() {
        let t = 1_800_000_000;
        assert!(!needs_renewal(
            t,
            t - DEFAULT_RENEWAL_MARGIN - 1,
            DEFAULT_RENEWAL_MARGIN
        ));
        assert!(needs_renewal(
            t,
            t - DEFAULT_RENEWAL_MARGIN,
            DEFAULT_RENEWAL_MARGIN
        ));
        assert!(needs_renewal(t, t + 5, DEFAULT_RENEWAL_MARGIN));
        assert!(!needs_renewal(
            u64::MAX,
            u64::MAX - 100 - DEFAULT_RENEWAL_MARGIN,
            DEFAULT_RENEWAL_MARGIN
        ));
    }
}
