//! The presentation-format pieces RDATA text is read and written with
//! (RFC 1035 5.1 character strings and escapes, RFC 4291 2.2 / RFC 5952
//! IPv6 text), the token they come in and the error they raise: a leaf
//! that rdata.rs and the type-specific files (loc.rs, svcb.rs) share.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// Why RDATA text or wire was refused; `usize` is the token index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RdataError {
    pub token: usize,
    pub what: String,
}

/// A token of RDATA text.
#[derive(Clone, Copy, Debug)]
pub struct Tok<'a> {
    pub text: &'a str,
    pub quoted: bool,
}

/// IPv4 dotted-quad text (RFC 1035 3.4.1 presentation).
pub fn parse_v4(s: &str) -> Option<[u8; 4]> {
    let mut out = [0u8; 4];
    let mut parts = s.split('.');
    for b in out.iter_mut() {
        let p = parts.next()?;
        if p.is_empty() || p.len() > 3 || !p.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        *b = p.parse().ok()?;
    }
    parts.next().is_none().then_some(out)
}

/// IPv6 text (RFC 4291 2.2, with an optional trailing dotted quad).
pub fn parse_v6(s: &str) -> Option<[u8; 16]> {
    let (head, tail) = match s.split_once("::") {
        Some((h, t)) => (h, Some(t)),
        None => (s, None),
    };
    let groups = |p: &str| -> Option<Vec<u16>> {
        if p.is_empty() {
            return Some(Vec::new());
        }
        let mut v = Vec::new();
        let parts: Vec<&str> = p.split(':').collect();
        for (i, g) in parts.iter().enumerate() {
            if i == parts.len() - 1 && g.contains('.') {
                let q = parse_v4(g)?;
                v.push(u16::from_be_bytes([q[0], q[1]]));
                v.push(u16::from_be_bytes([q[2], q[3]]));
            } else {
                if g.is_empty() || g.len() > 4 {
                    return None;
                }
                v.push(u16::from_str_radix(g, 16).ok()?);
            }
        }
        Some(v)
    };
    let h = groups(head)?;
    let all: Vec<u16> = match tail {
        None if h.len() == 8 => h,
        None => return None,
        Some(t) => {
            if t.contains("::") {
                return None;
            }
            let t = groups(t)?;
            if h.len() + t.len() > 7 {
                return None;
            }
            let mut v = h;
            v.resize(8 - t.len(), 0);
            v.extend(t);
            v
        }
    };
    let mut out = [0u8; 16];
    for (i, g) in all.iter().enumerate() {
        out[2 * i..2 * i + 2].copy_from_slice(&g.to_be_bytes());
    }
    Some(out)
}

/// RFC 5952 text of an IPv6 address.
pub fn v6_text(b: &[u8]) -> String {
    let g: Vec<u16> = b
        .chunks(2)
        .map(|c| u16::from_be_bytes([c[0], c[1]]))
        .collect();
    let (mut best, mut best_len, mut i) = (0, 0, 0);
    while i < 8 {
        if g[i] == 0 {
            let start = i;
            while i < 8 && g[i] == 0 {
                i += 1;
            }
            if i - start > best_len {
                best = start;
                best_len = i - start;
            }
        } else {
            i += 1;
        }
    }
    let part = |r: &[u16]| {
        r.iter()
            .map(|x| format!("{x:x}"))
            .collect::<Vec<_>>()
            .join(":")
    };
    if best_len < 2 {
        return part(&g);
    }
    format!("{}::{}", part(&g[..best]), part(&g[best + best_len..]))
}

/// Decode escapes of a character string (`\X`, `\DDD`).
pub fn unescape(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' {
            let d = b.get(i + 1..i + 4);
            if let Some(d) = d.filter(|d| d.iter().all(u8::is_ascii_digit)) {
                let v =
                    (d[0] - b'0') as u32 * 100 + (d[1] - b'0') as u32 * 10 + (d[2] - b'0') as u32;
                out.push(u8::try_from(v).ok()?);
                i += 4;
            } else {
                let c = *b.get(i + 1)?;
                if c.is_ascii_digit() {
                    return None;
                }
                out.push(c);
                i += 2;
            }
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Some(out)
}

/// A character string quoted for presentation.
pub fn quote(s: &[u8]) -> String {
    let mut o = String::from("\"");
    for &c in s {
        match c {
            b'"' | b'\\' => {
                o.push('\\');
                o.push(c as char);
            }
            0x20..=0x7e => o.push(c as char),
            _ => o.push_str(&format!("\\{c:03}")),
        }
    }
    o.push('"');
    o
}
