//! TSIG keys from `_keys` files: `name. DNSKEY 0 3 ALG BASE64` with ALG
//! 161-165 = hmac-sha1/224/256/384/512 (DESIGN.md).

use crate::name::Name;
use crate::rtype::DNSKEY;
use crate::zone::parser::parse_str;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// HMAC algorithms of TSIG (RFC 8945 6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

impl Algorithm {
    /// From the DNSKEY algorithm number used in `_keys` files.
    pub fn from_dnskey(n: u8) -> Option<Algorithm> {
        Some(match n {
            161 => Algorithm::Sha1,
            162 => Algorithm::Sha224,
            163 => Algorithm::Sha256,
            164 => Algorithm::Sha384,
            165 => Algorithm::Sha512,
            _ => return None,
        })
    }

    /// The TSIG algorithm name (RFC 8945 6).
    pub fn tsig_name(self) -> &'static str {
        match self {
            Algorithm::Sha1 => "hmac-sha1.",
            Algorithm::Sha224 => "hmac-sha224.",
            Algorithm::Sha256 => "hmac-sha256.",
            Algorithm::Sha384 => "hmac-sha384.",
            Algorithm::Sha512 => "hmac-sha512.",
        }
    }
}

/// A TSIG key. Its secret is never printed (Debug hides it).
#[derive(Clone, PartialEq, Eq)]
pub struct Key {
    pub name: Name,
    pub algorithm: Algorithm,
    pub secret: Vec<u8>,
}

impl core::fmt::Debug for Key {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "Key({} {:?}, {} secret bytes)",
            self.name,
            self.algorithm,
            self.secret.len()
        )
    }
}

/// Parse a `_keys` file.
pub fn parse(file: &str, text: &str) -> Result<Vec<Key>, String> {
    let origin = Name::root();
    let text = if text.contains("$TTL") {
        String::from(text)
    } else {
        format!("$TTL 0\n{text}")
    };
    let parsed = parse_str(file, &text, &origin).map_err(|e| format!("{e}"))?;
    let mut keys = Vec::new();
    for r in parsed.records {
        if r.rtype != DNSKEY || r.rdata.len() < 5 {
            return Err(format!(
                "{file}:{}: key files hold only DNSKEY records",
                r.line.saturating_sub(1)
            ));
        }
        let alg = Algorithm::from_dnskey(r.rdata[3]).ok_or_else(|| {
            format!(
                "{file}:{}: algorithm {} is not an HMAC (161-165)",
                r.line.saturating_sub(1),
                r.rdata[3]
            )
        })?;
        keys.push(Key {
            name: r.name,
            algorithm: alg,
            secret: r.rdata[4..].to_vec(),
        });
    }
    Ok(keys)
}

/// The (primary, secondary) addresses a key name holds: the four labels
/// before `_transfer`/`_update` are the secondary's, the four before them
/// the primary's.
pub fn endpoints(key: &Name) -> Option<([u8; 4], [u8; 4])> {
    let labels: Vec<&[u8]> = key.labels().collect();
    let t = labels
        .iter()
        .position(|l| l.eq_ignore_ascii_case(b"_transfer") || l.eq_ignore_ascii_case(b"_update"))?;
    let ip = |ls: &[&[u8]]| -> Option<[u8; 4]> {
        let mut ip = [0u8; 4];
        for (i, l) in ls.iter().enumerate() {
            let s = core::str::from_utf8(l).ok()?;
            // Decimal octets only (no sign, no leading zeros beyond "0").
            if s.is_empty() || s.len() > 3 || !s.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            ip[i] = s.parse().ok()?;
        }
        Some(ip)
    };
    let secondary = ip(labels.get(t.checked_sub(4)?..t)?)?;
    let primary = ip(labels.get(t.checked_sub(8)?..t - 4)?)?;
    Some((primary, secondary))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_key_file() {
        let k = parse("x25519.net._keys", "personal._update.x25519.net. DNSKEY 0 3 163 PAPPkecDvEBnhqTzG5Xsbrbi7W0QY7TpVaEMxndMv2M=\n").unwrap();
        assert_eq!(k.len(), 1);
        assert_eq!(k[0].name.to_text(), "personal._update.x25519.net.");
        assert_eq!(k[0].algorithm, Algorithm::Sha256);
        assert_eq!(k[0].secret.len(), 32);
        assert!(!format!("{:?}", k[0]).contains("PAPP"));
        assert!(parse("k", "x. DNSKEY 0 3 157 AAAA\n")
            .unwrap_err()
            .contains("not an HMAC"));
        assert!(parse("k", "x. A 192.0.2.1\n").is_err());
    }

    #[test]
    fn addresses_in_key_names() {
        let n = |s: &str| Name::parse(s, &Name::root()).unwrap();
        assert_eq!(
            endpoints(&n("10.0.42.2.10.0.42.3._update.mirage.")),
            Some(([10, 0, 42, 2], [10, 0, 42, 3]))
        );
        // A longer name keeps the eight labels next to `_transfer`.
        assert_eq!(
            endpoints(&n("x.1.2.3.4.5.6.7.8._transfer.z.")),
            Some(([1, 2, 3, 4], [5, 6, 7, 8]))
        );
        assert_eq!(endpoints(&n("10.0.42.3._transfer.mirage.")), None);
        assert_eq!(endpoints(&n("1.2.3.4.5.6.7.+8._transfer.z.")), None);
    }
}
