//! SVCB/HTTPS SvcParams (RFC 9460 2.1, 7): presentation <-> wire.

use crate::text::{parse_v6, quote, unescape, v6_text, RdataError, Tok};
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

const KEYS: &[&str] = &[
    "mandatory",
    "alpn",
    "no-default-alpn",
    "port",
    "ipv4hint",
    "ech",
    "ipv6hint",
];

fn key_num(k: &str) -> Option<u16> {
    if let Some(i) = KEYS.iter().position(|x| x.eq_ignore_ascii_case(k)) {
        return Some(i as u16);
    }
    k.strip_prefix("key").and_then(|d| d.parse().ok())
}

fn key_text(k: u16) -> String {
    KEYS.get(k as usize)
        .map(|s| s.to_string())
        .unwrap_or_else(|| format!("key{k}"))
}

fn value(key: u16, v: &str) -> Option<Vec<u8>> {
    let raw = unescape(v)?;
    let text = core::str::from_utf8(&raw).ok()?;
    let mut out = Vec::new();
    match key {
        0 => {
            for k in text.split(',') {
                out.extend_from_slice(&key_num(k)?.to_be_bytes());
            }
        }
        1 => {
            for a in text.split(',') {
                if a.is_empty() || a.len() > 255 {
                    return None;
                }
                out.push(a.len() as u8);
                out.extend_from_slice(a.as_bytes());
            }
        }
        2 => return raw.is_empty().then_some(out),
        3 => out.extend_from_slice(&text.parse::<u16>().ok()?.to_be_bytes()),
        4 => {
            for a in text.split(',') {
                let mut p = a.split('.');
                for _ in 0..4 {
                    out.push(p.next()?.parse().ok()?);
                }
                if p.next().is_some() {
                    return None;
                }
            }
        }
        5 => out = crate::base64::decode(text)?,
        6 => {
            for a in text.split(',') {
                out.extend_from_slice(&parse_v6(a)?);
            }
        }
        _ => out = raw,
    }
    Some(out)
}

/// Parse `key[=value]` tokens from `i` to the end.
pub fn from_text(toks: &[Tok], i: usize, out: &mut Vec<u8>) -> Result<usize, RdataError> {
    let mut params: Vec<(u16, Vec<u8>)> = Vec::new();
    for (j, t) in toks.iter().enumerate().skip(i) {
        let (k, v) = t.text.split_once('=').unwrap_or((t.text, ""));
        let bad = || RdataError {
            token: j,
            what: format!("bad SvcParam `{}`", t.text),
        };
        let key = key_num(k).ok_or_else(bad)?;
        if params.iter().any(|(x, _)| *x == key) {
            return Err(RdataError {
                token: j,
                what: format!("SvcParam `{k}` given twice"),
            });
        }
        params.push((key, value(key, v).ok_or_else(bad)?));
    }
    params.sort_by_key(|(k, _)| *k);
    for (k, v) in params {
        out.extend_from_slice(&k.to_be_bytes());
        out.extend_from_slice(&(v.len() as u16).to_be_bytes());
        out.extend_from_slice(&v);
    }
    Ok(toks.len())
}

/// Wire params -> `key=value ...` (None when malformed or unsorted).
pub fn to_text(b: &[u8]) -> Option<String> {
    let mut parts = Vec::new();
    let mut i = 0;
    let mut last: Option<u16> = None;
    while i < b.len() {
        let key = u16::from_be_bytes([*b.get(i)?, *b.get(i + 1)?]);
        let len = u16::from_be_bytes([*b.get(i + 2)?, *b.get(i + 3)?]) as usize;
        let v = b.get(i + 4..i + 4 + len)?;
        if last.is_some_and(|l| key <= l) {
            return None;
        }
        last = Some(key);
        i += 4 + len;
        let text = match key {
            0 => v
                .chunks(2)
                .map(|c| (c.len() == 2).then(|| key_text(u16::from_be_bytes([c[0], c[1]]))))
                .collect::<Option<Vec<_>>>()?
                .join(","),
            1 => {
                let mut r = Vec::new();
                let mut j = 0;
                while j < v.len() {
                    let l = v[j] as usize;
                    r.push(String::from_utf8(v.get(j + 1..j + 1 + l)?.to_vec()).ok()?);
                    j += 1 + l;
                }
                r.join(",")
            }
            2 if v.is_empty() => {
                parts.push(key_text(2));
                continue;
            }
            3 if v.len() == 2 => u16::from_be_bytes([v[0], v[1]]).to_string(),
            4 if v.len() % 4 == 0 => v
                .chunks(4)
                .map(|c| format!("{}.{}.{}.{}", c[0], c[1], c[2], c[3]))
                .collect::<Vec<_>>()
                .join(","),
            5 => crate::base64::encode(v),
            6 if v.len() % 16 == 0 => v.chunks(16).map(v6_text).collect::<Vec<_>>().join(","),
            0..=6 => return None,
            _ => {
                let q = quote(v);
                q[1..q.len() - 1].to_string()
            }
        };
        parts.push(format!("{}={}", key_text(key), text));
    }
    Some(parts.join(" "))
}
