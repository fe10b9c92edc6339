//! Pieces of X.509 (RFC 5280) shared by the CSR and certificate readers:
//! names (4.1.2.4), subjectAltName dNSName (4.2.1.6), times (4.1.2.5),
//! and the errors of both readers.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use crate::der::{self, Der, DerError};
use crate::time;

/// id-at-commonName, 2.5.4.3 (RFC 5280 Appendix A.1).
const OID_COMMON_NAME: &[u8] = &[0x55, 0x04, 0x03];
/// id-ce-subjectAltName, 2.5.29.17 (RFC 5280 4.2.1.6).
const OID_SUBJECT_ALT_NAME: &[u8] = &[0x55, 0x1d, 0x11];
/// GeneralName dNSName: [2] IMPLICIT IA5String.
const TAG_DNS_NAME: u8 = 0x82;
/// The most names one CSR or certificate may carry (Let's Encrypt: 100).
pub const MAX_NAMES: usize = 100;
/// RFC 1035 2.3.4: 255 octets on the wire, 253 characters as text.
const MAX_NAME_LEN: usize = 253;

/// Why a CSR or certificate was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum X509Error {
    /// The DER structure is broken.
    Der(DerError),
    /// A name that is not a DNS host name (or a leading-`*.` wildcard).
    BadName(String),
    /// A subjectAltName kind other than dNSName (IP, e-mail, URI...).
    UnsupportedName,
    /// More than [`MAX_NAMES`] names.
    TooManyNames,
    /// Neither a CN nor a dNSName.
    NoNames,
    /// A UTCTime/GeneralizedTime that is not of the RFC 5280 form.
    BadTime,
    /// The CSR's self-signature does not verify.
    BadSignature,
}

impl From<DerError> for X509Error {
    fn from(e: DerError) -> Self {
        X509Error::Der(e)
    }
}

impl fmt::Display for X509Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Der(e) => e.fmt(f),
            Self::BadName(n) => write!(f, "not a DNS name: {n:?}"),
            Self::UnsupportedName => f.write_str("subjectAltName other than dNSName"),
            Self::TooManyNames => write!(f, "more than {MAX_NAMES} names"),
            Self::NoNames => f.write_str("no DNS name (CN or subjectAltName)"),
            Self::BadTime => f.write_str("bad X.509 time"),
            Self::BadSignature => f.write_str("CSR signature does not verify"),
        }
    }
}

/// Add the CN values of an X.501 `Name` body to `out` (RFC 5280 4.1.2.4:
/// SEQUENCE OF RelativeDistinguishedName, each a SET OF {type, value}).
/// With `strict` a CN that is not a DNS name fails, else it is skipped.
pub fn common_names(
    name_body: &[u8],
    strict: bool,
    out: &mut Vec<String>,
) -> Result<(), X509Error> {
    let mut rdns = Der::new(name_body);
    while !rdns.is_empty() {
        let mut set = Der::new(rdns.expect(der::SET)?);
        while !set.is_empty() {
            let mut atv = Der::new(set.expect(der::SEQUENCE)?);
            let oid = atv.expect(der::OID)?;
            let value = atv.read()?;
            if oid == OID_COMMON_NAME {
                match directory_string(value.tag, value.body) {
                    Ok(text) => push_name(out, text, strict)?,
                    Err(e) if strict => return Err(e),
                    Err(_) => {}
                }
            }
        }
    }
    Ok(())
}

/// The ASCII text of a DirectoryString; other string kinds are refused.
fn directory_string(tag: u8, body: &[u8]) -> Result<&[u8], X509Error> {
    match tag {
        der::UTF8_STRING | der::PRINTABLE_STRING | der::IA5_STRING | der::TELETEX_STRING => {
            Ok(body)
        }
        _ => Err(X509Error::BadName(String::from(
            "CN of an unsupported string type",
        ))),
    }
}

/// Walk `Extensions` (SEQUENCE OF Extension, RFC 5280 4.1) and add every
/// subjectAltName dNSName to `out`. With `strict`, other name kinds and
/// malformed names fail; without, they are skipped.
pub fn san_dns_names(exts: &[u8], strict: bool, out: &mut Vec<String>) -> Result<(), X509Error> {
    let mut list = Der::new(der::single(exts, der::SEQUENCE)?.body);
    while !list.is_empty() {
        let mut ext = Der::new(list.expect(der::SEQUENCE)?);
        let oid = ext.expect(der::OID)?;
        ext.optional(der::BOOLEAN)?;
        let value = ext.expect(der::OCTET_STRING)?;
        if oid == OID_SUBJECT_ALT_NAME {
            general_names(value, strict, out)?;
        }
    }
    Ok(())
}

/// GeneralNames ::= SEQUENCE OF GeneralName (RFC 5280 4.2.1.6).
fn general_names(value: &[u8], strict: bool, out: &mut Vec<String>) -> Result<(), X509Error> {
    let mut names = Der::new(der::single(value, der::SEQUENCE)?.body);
    while !names.is_empty() {
        let name = names.read()?;
        if name.tag == TAG_DNS_NAME {
            push_name(out, name.body, strict)?;
        } else if strict {
            return Err(X509Error::UnsupportedName);
        }
    }
    Ok(())
}

/// Validate, lower-case and add a DNS name unless already present; an
/// invalid name fails with `strict`, else it is skipped.
fn push_name(out: &mut Vec<String>, raw: &[u8], strict: bool) -> Result<(), X509Error> {
    let name = match dns_name(raw) {
        Ok(name) => name,
        Err(e) if strict => return Err(e),
        Err(_) => return Ok(()),
    };
    if !out.contains(&name) {
        if out.len() >= MAX_NAMES {
            return Err(X509Error::TooManyNames);
        }
        out.push(name);
    }
    Ok(())
}

/// A host name: LDH labels of 1..=63 characters, an optional leading `*.`.
pub fn dns_name(raw: &[u8]) -> Result<String, X509Error> {
    let bad = || X509Error::BadName(String::from_utf8_lossy(raw).into_owned());
    if raw.is_empty() || raw.len() > MAX_NAME_LEN {
        return Err(bad());
    }
    let base = raw.strip_prefix(b"*.").unwrap_or(raw);
    for label in base.split(|&b| b == b'.') {
        let ldh = label
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-');
        if label.is_empty() || label.len() > 63 || !ldh {
            return Err(bad());
        }
    }
    // Only ASCII bytes remain, so this conversion cannot fail.
    let text = core::str::from_utf8(raw).map_err(|_| bad())?;
    Ok(text.to_ascii_lowercase())
}

/// A `Time` (RFC 5280 4.1.2.5): UTCTime `YYMMDDHHMMSSZ` (YY < 50 is 20YY)
/// or GeneralizedTime `YYYYMMDDHHMMSSZ`, as unix seconds.
pub fn time(tag: u8, body: &[u8]) -> Result<u64, X509Error> {
    let (year, rest) = match tag {
        der::UTC_TIME if body.len() == 13 => {
            let yy = time::digits(&body[..2], 2).ok_or(X509Error::BadTime)?;
            let year = if yy < 50 { 2000 + yy } else { 1900 + yy };
            (year, &body[2..])
        }
        der::GENERALIZED_TIME if body.len() == 15 => (
            time::digits(&body[..4], 4).ok_or(X509Error::BadTime)?,
            &body[4..],
        ),
        _ => return Err(X509Error::BadTime),
    };
    if rest[10] != b'Z' {
        return Err(X509Error::BadTime);
    }
    let f = |i: usize| time::digits(&rest[i..i + 2], 2).ok_or(X509Error::BadTime);
    time::unix_seconds(i64::from(year), f(0)?, f(2)?, f(4)?, f(6)?, f(8)?).ok_or(X509Error::BadTime)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn tlv(tag: u8, body: &[u8]) -> Vec<u8> {
        assert!(body.len() < 128);
        let mut v = vec![tag, body.len() as u8];
        v.extend_from_slice(body);
        v
    }

    #[test]
    fn times() {
        assert_eq!(time(der::UTC_TIME, b"491231235959Z"), Ok(2_524_607_999));
        assert_eq!(time(der::UTC_TIME, b"700101000000Z"), Ok(0));
        assert_eq!(
            time(der::GENERALIZED_TIME, b"20500101000000Z"),
            Ok(2_524_608_000)
        );
        assert_eq!(
            time(der::UTC_TIME, b"491231235959+"),
            Err(X509Error::BadTime)
        );
        assert_eq!(time(der::UTC_TIME, b"4912312359Z"), Err(X509Error::BadTime));
        assert_eq!(
            time(der::GENERALIZED_TIME, b"20501301000000Z"),
            Err(X509Error::BadTime)
        );
        assert_eq!(
            time(der::OCTET_STRING, b"20500101000000Z"),
            Err(X509Error::BadTime)
        );
    }

    #[test]
    fn dns_names() {
        assert_eq!(dns_name(b"WWW.Example.ORG").unwrap(), "www.example.org");
        assert_eq!(dns_name(b"*.example.org").unwrap(), "*.example.org");
        for bad in [
            &b""[..],
            b"a..b",
            b"a.*.b",
            b"a b",
            b"x.",
            b"\xc3\xa9.org",
            b"a_b.org",
        ] {
            assert!(dns_name(bad).is_err(), "{bad:?}");
        }
        assert!(dns_name(&[b'a'; 64]).is_err());
    }

    #[test]
    fn common_name_from_name() {
        let atv = [
            tlv(der::OID, OID_COMMON_NAME),
            tlv(der::UTF8_STRING, b"Host.Example"),
        ]
        .concat();
        let other = [
            tlv(der::OID, &[0x55, 0x04, 0x0a]),
            tlv(der::UTF8_STRING, b"Org Name"),
        ]
        .concat();
        let name = [
            tlv(der::SET, &tlv(der::SEQUENCE, &other)),
            tlv(der::SET, &tlv(der::SEQUENCE, &atv)),
        ]
        .concat();
        let mut out = Vec::new();
        common_names(&name, true, &mut out).unwrap();
        assert_eq!(out, ["host.example"]);
        let bad = [
            tlv(der::OID, OID_COMMON_NAME),
            tlv(der::UTF8_STRING, b"My Host"),
        ]
        .concat();
        let bad = tlv(der::SET, &tlv(der::SEQUENCE, &bad));
        assert!(common_names(&bad, true, &mut out).is_err());
        common_names(&bad, false, &mut out).unwrap();
        assert_eq!(out, ["host.example"]);
    }

    #[test]
    fn san_dns_names_strict_and_lenient() {
        let ip = tlv(0x87, &[127, 0, 0, 1]);
        let gns = tlv(
            der::SEQUENCE,
            &[tlv(0x82, b"A.example"), ip, tlv(0x82, b"a.example")].concat(),
        );
        let ext = tlv(
            der::SEQUENCE,
            &[
                tlv(der::OID, OID_SUBJECT_ALT_NAME),
                tlv(der::OCTET_STRING, &gns),
            ]
            .concat(),
        );
        let exts = tlv(der::SEQUENCE, &ext);
        let mut out = Vec::new();
        san_dns_names(&exts, false, &mut out).unwrap();
        assert_eq!(out, ["a.example"]);
        assert_eq!(
            san_dns_names(&exts, true, &mut out),
            Err(X509Error::UnsupportedName)
        );
    }
}
