//! The X.509 facts `certify` needs, read from DER (RFC 5280 4.1): issuer,
//! subject, validity and public key of a certificate, the chain order of
//! the TLSA records the appliance serves, and PEM output.

/// One TLSA record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tlsa {
    pub usage: u8,
    pub selector: u8,
    pub matching: u8,
    pub data: Vec<u8>,
}

/// The leaf (`3 0 0` holding `public_key`) and the `0 0 0` certificates
/// that chain from it, in issuing order.
pub fn certificate_for(rrs: &[Tlsa], public_key: &[u8]) -> Option<(Vec<u8>, Vec<Vec<u8>>)> {
    let leaf = rrs
        .iter()
        .filter(|r| (r.usage, r.selector, r.matching) == (3, 0, 0))
        .find(|r| cert_fields(&r.data).and_then(|f| spki_key(f.spki)) == Some(public_key))?;
    let others: Vec<&[u8]> = rrs
        .iter()
        .filter(|r| (r.usage, r.selector, r.matching) == (0, 0, 0))
        .map(|r| r.data.as_slice())
        .collect();
    Some((leaf.data.clone(), order_chain(&leaf.data, &others)))
}

/// From `leaf`, follow issuer -> subject through `pool`; certificates that
/// do not chain (left from an older certificate) are left out.
pub fn order_chain(leaf: &[u8], pool: &[&[u8]]) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = Vec::new();
    let mut cur = leaf.to_vec();
    while out.len() < pool.len() {
        let Some(f) = cert_fields(&cur) else { break };
        if f.issuer == f.subject {
            break; // self-signed: the root, nothing above it
        }
        let next = pool.iter().find(|c| {
            !out.iter().any(|o| o.as_slice() == **c)
                && cert_fields(c).map(|g| g.subject) == Some(f.issuer)
        });
        let Some(next) = next else { break };
        out.push(next.to_vec());
        cur = next.to_vec();
    }
    out
}

/// The parts of a certificate this tool needs (raw DER of each).
pub struct CertFields<'a> {
    pub issuer: &'a [u8],
    pub subject: &'a [u8],
    pub spki: &'a [u8],
    /// notBefore and notAfter, seconds since the epoch.
    pub validity: (u64, u64),
}

/// One DER TLV: (tag, contents, whole TLV, rest of the input).
type Tlv<'a> = (u8, &'a [u8], &'a [u8], &'a [u8]);

fn tlv(input: &[u8]) -> Option<Tlv<'_>> {
    let tag = *input.first()?;
    let first = *input.get(1)? as usize;
    let (len, hdr) = if first < 0x80 {
        (first, 2)
    } else {
        let n = first & 0x7f;
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | *input.get(2 + i)? as usize;
        }
        (len, 2 + n)
    };
    let end = hdr.checked_add(len)?;
    if end > input.len() {
        return None;
    }
    Some((tag, &input[hdr..end], &input[..end], &input[end..]))
}

/// RFC 5280 4.1: Certificate ::= SEQUENCE { tbsCertificate SEQUENCE {
/// [0] version OPTIONAL, serialNumber, signature, issuer, validity,
/// subject, subjectPublicKeyInfo, ... }, ... }
pub fn cert_fields(der: &[u8]) -> Option<CertFields<'_>> {
    let (0x30, cert, _, _) = tlv(der)? else {
        return None;
    };
    let (0x30, tbs, _, _) = tlv(cert)? else {
        return None;
    };
    let mut rest = tbs;
    let mut next = || {
        let (tag, _, raw, r) = tlv(rest)?;
        rest = r;
        Some((tag, raw))
    };
    let mut field = next()?;
    if field.0 == 0xa0 {
        field = next()?; // explicit version
    }
    let _serial = field;
    let _sig_alg = next()?;
    let issuer = next()?.1;
    let validity = validity(next()?.1)?;
    let subject = next()?.1;
    let (0x30, spki) = next()? else {
        return None;
    };
    Some(CertFields {
        issuer,
        subject,
        spki,
        validity,
    })
}

/// The public key bits of a SubjectPublicKeyInfo (the EC point for P-256).
pub fn spki_key(spki: &[u8]) -> Option<&[u8]> {
    let (0x30, body, _, _) = tlv(spki)? else {
        return None;
    };
    let (_, _, _, rest) = tlv(body)?; // algorithm
    let (0x03, bits, _, _) = tlv(rest)? else {
        return None;
    };
    bits.get(1..) // skip the unused-bits octet
}

/// RFC 5280 4.1.2.5: Validity ::= SEQUENCE { notBefore Time, notAfter Time }.
fn validity(raw: &[u8]) -> Option<(u64, u64)> {
    let (0x30, body, _, _) = tlv(raw)? else {
        return None;
    };
    let (t1, a, _, rest) = tlv(body)?;
    let (t2, b, _, _) = tlv(rest)?;
    Some((time(t1, a)?, time(t2, b)?))
}

/// UTCTime (YYMMDDHHMMSSZ, years 1950-2049) or GeneralizedTime
/// (YYYYMMDDHHMMSSZ), as RFC 5280 4.1.2.5.1-2 requires them, in seconds.
fn time(tag: u8, text: &[u8]) -> Option<u64> {
    let s = core::str::from_utf8(text).ok()?.strip_suffix('Z')?;
    let (year, rest) = match (tag, s.len()) {
        (0x17, 12) => {
            let yy: u64 = s[..2].parse().ok()?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, &s[2..])
        }
        (0x18, 14) => (s[..4].parse().ok()?, &s[4..]),
        _ => return None,
    };
    let n = |i: usize| rest.get(i..i + 2)?.parse::<u64>().ok();
    let (month, day, h, m, sec) = (n(0)?, n(2)?, n(4)?, n(6)?, n(8)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || h > 23 || m > 59 || sec > 60 {
        return None;
    }
    Some(days_from_civil(year, month, day)? * 86400 + h * 3600 + m * 60 + sec)
}

/// Days from 1970-01-01 to a proleptic Gregorian date (from 1970 on).
fn days_from_civil(y: u64, m: u64, d: u64) -> Option<u64> {
    let y = if m <= 2 { y.checked_sub(1)? } else { y };
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (era * 146097 + doe).checked_sub(719_468)
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// PEM with 64-column lines (RFC 7468 2).
pub fn pem(label: &str, der: &[u8]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut s = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        s.push_str(std::str::from_utf8(line).unwrap_or(""));
        s.push('\n');
    }
    s.push_str(&format!("-----END {label}-----\n"));
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair,
        PKCS_ECDSA_P256_SHA256,
    };

    fn ca(
        name: &str,
        parent: Option<&CertifiedIssuer<'static, KeyPair>>,
    ) -> CertifiedIssuer<'static, KeyPair> {
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.distinguished_name.push(DnType::CommonName, name);
        let k = KeyPair::generate().unwrap();
        match parent {
            None => CertifiedIssuer::self_signed(p, k).unwrap(),
            Some(i) => CertifiedIssuer::signed_by(p, k, i).unwrap(),
        }
    }

    #[test]
    fn leaf_key_and_chain_order() {
        let root = ca("root", None);
        let inter = ca("intermediate", Some(&root));
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
        let leaf = CertificateParams::new(vec!["www.example.org".to_string()])
            .unwrap()
            .signed_by(&key, &inter)
            .unwrap();
        let leaf = leaf.der().to_vec();
        let f = cert_fields(&leaf).unwrap();
        assert_eq!(spki_key(f.spki), Some(key.public_key_raw()));
        let unrelated = ca("other", None);
        // The RRset order is arbitrary; the chain comes out in issuing order.
        let rrs = vec![
            Tlsa {
                usage: 0,
                selector: 0,
                matching: 0,
                data: root.der().to_vec(),
            },
            Tlsa {
                usage: 3,
                selector: 255,
                matching: 0,
                data: vec![1, 2, 3],
            },
            Tlsa {
                usage: 0,
                selector: 0,
                matching: 0,
                data: unrelated.der().to_vec(),
            },
            Tlsa {
                usage: 3,
                selector: 0,
                matching: 0,
                data: leaf.clone(),
            },
            Tlsa {
                usage: 0,
                selector: 0,
                matching: 0,
                data: inter.der().to_vec(),
            },
        ];
        let (got, chain) = certificate_for(&rrs, key.public_key_raw()).unwrap();
        assert_eq!(got, leaf);
        assert_eq!(chain, vec![inter.der().to_vec(), root.der().to_vec()]);
        let other = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
        assert!(certificate_for(&rrs, other.public_key_raw()).is_none());
    }

    #[test]
    fn validity_times() {
        assert_eq!(time(0x17, b"700101000000Z"), Some(0));
        assert_eq!(time(0x17, b"491231235959Z"), Some(2_524_607_999));
        assert_eq!(time(0x18, b"20261207120000Z"), Some(1_796_644_800));
        assert_eq!(time(0x18, b"20261307120000Z"), None);
        assert_eq!(time(0x17, b"20261207120000Z"), None);
        let k = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
        let mut p = CertificateParams::new(vec!["a.example".to_string()]).unwrap();
        p.not_before = rcgen::date_time_ymd(2026, 1, 2);
        p.not_after = rcgen::date_time_ymd(2027, 3, 4);
        let der = p.self_signed(&k).unwrap().der().to_vec();
        assert_eq!(
            cert_fields(&der).unwrap().validity,
            (1_767_312_000, 1_804_118_400)
        );
    }

    #[test]
    fn pem_and_hex() {
        let p = pem("CERTIFICATE", &[0u8; 100]);
        assert!(p.lines().all(|l| l.len() <= 64));
        assert_eq!(hex(&[0, 0xab, 0xff]), "00abff");
    }
}
