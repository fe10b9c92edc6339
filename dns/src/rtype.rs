//! Resource record types and classes: numbers and mnemonics (RFC 1035 3.2.2,
//! RFC 3597 `TYPEnnn` for any other).

use alloc::format;
use alloc::string::String;

pub const A: u16 = 1;
pub const NS: u16 = 2;
pub const CNAME: u16 = 5;
pub const SOA: u16 = 6;
pub const PTR: u16 = 12;
pub const HINFO: u16 = 13;
pub const MX: u16 = 15;
pub const TXT: u16 = 16;
pub const AAAA: u16 = 28;
pub const LOC: u16 = 29;
pub const SRV: u16 = 33;
pub const NAPTR: u16 = 35;
pub const DNAME: u16 = 39;
pub const OPT: u16 = 41;
pub const DS: u16 = 43;
pub const SSHFP: u16 = 44;
pub const RRSIG: u16 = 46;
pub const NSEC: u16 = 47;
pub const DNSKEY: u16 = 48;
pub const NSEC3: u16 = 50;
pub const NSEC3PARAM: u16 = 51;
pub const TLSA: u16 = 52;
pub const CDS: u16 = 59;
pub const CDNSKEY: u16 = 60;
pub const SVCB: u16 = 64;
pub const HTTPS: u16 = 65;
pub const SPF: u16 = 99;
pub const TSIG: u16 = 250;
pub const IXFR: u16 = 251;
pub const AXFR: u16 = 252;
pub const ANY: u16 = 255;
pub const URI: u16 = 256;
pub const CAA: u16 = 257;

/// Class IN.
pub const IN: u16 = 1;
/// Class CH.
pub const CH: u16 = 3;
/// Class NONE (RFC 2136).
pub const NONE: u16 = 254;
/// Class ANY.
pub const CLASS_ANY: u16 = 255;

const NAMES: &[(u16, &str)] = &[
    (A, "A"),
    (NS, "NS"),
    (CNAME, "CNAME"),
    (SOA, "SOA"),
    (PTR, "PTR"),
    (HINFO, "HINFO"),
    (MX, "MX"),
    (TXT, "TXT"),
    (AAAA, "AAAA"),
    (LOC, "LOC"),
    (SRV, "SRV"),
    (NAPTR, "NAPTR"),
    (DNAME, "DNAME"),
    (OPT, "OPT"),
    (DS, "DS"),
    (SSHFP, "SSHFP"),
    (RRSIG, "RRSIG"),
    (NSEC, "NSEC"),
    (DNSKEY, "DNSKEY"),
    (NSEC3, "NSEC3"),
    (NSEC3PARAM, "NSEC3PARAM"),
    (TLSA, "TLSA"),
    (CDS, "CDS"),
    (CDNSKEY, "CDNSKEY"),
    (SVCB, "SVCB"),
    (HTTPS, "HTTPS"),
    (SPF, "SPF"),
    (TSIG, "TSIG"),
    (IXFR, "IXFR"),
    (AXFR, "AXFR"),
    (ANY, "ANY"),
    (URI, "URI"),
    (CAA, "CAA"),
];

/// The mnemonic of a type, or `TYPEnnn`.
pub fn to_text(t: u16) -> String {
    match NAMES.iter().find(|(n, _)| *n == t) {
        Some((_, s)) => String::from(*s),
        None => format!("TYPE{t}"),
    }
}

/// A type from its mnemonic or `TYPEnnn` (case-insensitive).
pub fn from_text(s: &str) -> Option<u16> {
    if let Some(&(n, _)) = NAMES.iter().find(|(_, m)| m.eq_ignore_ascii_case(s)) {
        return Some(n);
    }
    let digits = s
        .get(..4)
        .filter(|p| p.eq_ignore_ascii_case("TYPE"))
        .map(|_| &s[4..])?;
    digits.parse().ok()
}

/// A class from its mnemonic or `CLASSnnn`.
pub fn class_from_text(s: &str) -> Option<u16> {
    match s.to_ascii_uppercase().as_str() {
        "IN" => Some(IN),
        "CH" | "CHAOS" => Some(CH),
        "HS" => Some(4),
        "NONE" => Some(NONE),
        "ANY" => Some(CLASS_ANY),
        u => u.strip_prefix("CLASS").and_then(|d| d.parse().ok()),
    }
}

/// Types whose RDATA names may be compressed (RFC 3597 4: the RFC 1035 types).
pub fn compressible(t: u16) -> bool {
    matches!(t, NS | CNAME | SOA | PTR | MX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mnemonics() {
        assert_eq!(from_text("aaaa"), Some(AAAA));
        assert_eq!(from_text("TYPE65280"), Some(65280));
        assert_eq!(from_text("TYPE"), None);
        assert_eq!(from_text("BOGUS"), None);
        assert_eq!(to_text(65280), "TYPE65280");
        assert_eq!(to_text(CAA), "CAA");
        assert_eq!(class_from_text("in"), Some(IN));
        assert_eq!(class_from_text("CLASS3"), Some(3));
    }
}
