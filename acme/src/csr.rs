//! PKCS#10 certificate requests (RFC 2986 4): the DNS names to order, and
//! the self-signature checked when it is ECDSA P-256 with SHA-256.

use alloc::string::String;
use alloc::vec::Vec;
#[cfg(not(fuzzing))]
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};

use crate::der::{self, Der};
use crate::x509::{self, X509Error};

/// pkcs-9-at-extensionRequest, 1.2.840.113549.1.9.14 (RFC 2985 5.4.2).
const OID_EXTENSION_REQUEST: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x0e];
/// id-ecPublicKey, 1.2.840.10045.2.1 (RFC 5480 2.1.1).
const OID_EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
/// secp256r1, 1.2.840.10045.3.1.7 (RFC 5480 2.1.1.1).
const OID_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
/// ecdsa-with-SHA256, 1.2.840.10045.4.3.2 (RFC 5758 3.2).
const OID_ECDSA_SHA256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02];

/// Whether the self-signature was checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureCheck {
    /// ECDSA P-256 / SHA-256, verified.
    Verified,
    /// Another algorithm (e.g. RSA): left to the CA, which checks it too.
    NotChecked,
}

/// What gitns needs from a CSR.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Csr {
    /// Subject CN then subjectAltName dNSNames: lower-case, de-duplicated,
    /// in order of first appearance.
    pub names: Vec<String>,
    pub signature: SignatureCheck,
}

/// Parse a DER CSR; a bad P-256 signature or a non-DNS SAN is an error.
pub fn parse(csr_der: &[u8]) -> Result<Csr, X509Error> {
    let mut outer = Der::new(der::single(csr_der, der::SEQUENCE)?.body);
    let info = outer.expect_tlv(der::SEQUENCE)?;
    let sig_alg = outer.expect(der::SEQUENCE)?;
    let sig = outer.expect(der::BIT_STRING)?;
    outer.finish()?;

    let mut fields = Der::new(info.body);
    fields.expect(der::INTEGER)?;
    let subject = fields.expect(der::SEQUENCE)?;
    let spki = fields.expect(der::SEQUENCE)?;
    let attributes = fields.optional(der::CONTEXT_0)?.unwrap_or(&[]);
    fields.finish()?;

    // A CN that is not a host name (an organisation's label, rcgen's
    // default) is ignored when subjectAltNames name the hosts (RFC 6125
    // 6.4.4: the SANs are the identity then); alone it must be a host name.
    let mut sans = Vec::new();
    requested_extensions(attributes, &mut sans)?;
    let mut names = Vec::new();
    x509::common_names(subject, sans.is_empty(), &mut names)?;
    for n in sans {
        if !names.contains(&n) {
            names.push(n);
        }
    }
    if names.is_empty() {
        return Err(X509Error::NoNames);
    }
    let signature = check_signature(spki, sig_alg, sig, info.raw)?;
    Ok(Csr { names, signature })
}

/// Attributes (RFC 2986 4.1): find extensionRequest and read its SANs.
fn requested_extensions(attributes: &[u8], names: &mut Vec<String>) -> Result<(), X509Error> {
    let mut list = Der::new(attributes);
    while !list.is_empty() {
        let mut attr = Der::new(list.expect(der::SEQUENCE)?);
        let oid = attr.expect(der::OID)?;
        let mut values = Der::new(attr.expect(der::SET)?);
        if oid != OID_EXTENSION_REQUEST {
            continue;
        }
        while !values.is_empty() {
            x509::san_dns_names(values.read()?.raw, true, names)?;
        }
    }
    Ok(())
}

/// Verify the self-signature if it is ECDSA P-256 with SHA-256.
fn check_signature(
    spki: &[u8],
    sig_alg: &[u8],
    sig: &[u8],
    signed: &[u8],
) -> Result<SignatureCheck, X509Error> {
    let mut spki = Der::new(spki);
    let mut alg = Der::new(spki.expect(der::SEQUENCE)?);
    let key_oid = alg.expect(der::OID)?;
    let curve = alg.optional(der::OID)?;
    let key_bits = spki.expect(der::BIT_STRING)?;
    let sig_oid = Der::new(sig_alg).expect(der::OID)?;
    if key_oid != OID_EC_PUBLIC_KEY || curve != Some(OID_P256) || sig_oid != OID_ECDSA_SHA256 {
        return Ok(SignatureCheck::NotChecked);
    }
    let point = key_bits.strip_prefix(&[0]).ok_or(X509Error::BadSignature)?;
    let sig_der = sig.strip_prefix(&[0]).ok_or(X509Error::BadSignature)?;
    let key = VerifyingKey::from_sec1_bytes(point).map_err(|_| X509Error::BadSignature)?;
    let sig = Signature::from_der(sig_der).map_err(|_| X509Error::BadSignature)?;
    // Fuzz builds (`--cfg fuzzing`, `cargo xtask fuzz`) take a well-formed
    // signature as good: the curve arithmetic held the acme_response target
    // to a few inputs a second, and the fuzzer reaches what follows.
    #[cfg(not(fuzzing))]
    key.verify(signed, &sig)
        .map_err(|_| X509Error::BadSignature)?;
    #[cfg(fuzzing)]
    let _ = (key, signed, sig);
    Ok(SignatureCheck::Verified)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata;

    #[test]
    fn names_and_signature_of_a_p256_csr() {
        let csr = parse(testdata::CSR_DER).unwrap();
        assert_eq!(
            csr.names,
            ["example.org", "www.example.org", "*.example.org"]
        );
        assert_eq!(csr.signature, SignatureCheck::Verified);
    }

    #[test]
    fn tampered_csr_fails_its_signature() {
        let mut der = testdata::CSR_DER.to_vec();
        let at = der.windows(7).position(|w| w == b"example").unwrap();
        der[at] = b'f';
        assert_eq!(parse(&der), Err(X509Error::BadSignature));
    }

    #[test]
    fn every_truncation_is_an_error() {
        for len in 0..testdata::CSR_DER.len() {
            assert!(parse(&testdata::CSR_DER[..len]).is_err(), "len {len}");
        }
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(parse(b"").is_err());
        assert!(parse(b"\x30\x03\x02\x01\x00").is_err());
        assert!(parse(&[0x30, 0x80, 0, 0]).is_err());
    }

    #[test]
    fn a_label_cn_beside_sans_is_ignored_alone_it_is_refused() {
        use rcgen::{CertificateParams, KeyPair, PKCS_ECDSA_P256_SHA256};
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
        // rcgen's default subject CN is "rcgen self signed cert".
        let p = CertificateParams::new(alloc::vec!["www.example.org".into()]).unwrap();
        let der = p.serialize_request(&key).unwrap().der().to_vec();
        assert_eq!(parse(&der).unwrap().names, ["www.example.org"]);
        let p = CertificateParams::new(alloc::vec![]).unwrap();
        let der = p.serialize_request(&key).unwrap().der().to_vec();
        assert!(parse(&der).is_err());
    }
}
