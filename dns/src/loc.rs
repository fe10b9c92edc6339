//! LOC RDATA (RFC 1876): presentation <-> wire.

use crate::text::{RdataError, Tok};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

const EQUATOR: i64 = 1 << 31;
const ALT_BASE_CM: i64 = 10_000_000;

fn err(token: usize, what: &str) -> RdataError {
    RdataError {
        token,
        what: String::from(what),
    }
}

/// Degrees [minutes [seconds]] and a hemisphere letter, as thousandths of
/// an arc second relative to the equator / prime meridian.
fn angle(
    toks: &[Tok],
    mut i: usize,
    pos: char,
    neg: char,
    max_deg: i64,
) -> Result<(i64, usize), RdataError> {
    let mut parts: Vec<&str> = Vec::new();
    while let Some(t) = toks.get(i) {
        let up = t.text.to_ascii_uppercase();
        if up.len() == 1 && (up.starts_with(pos) || up.starts_with(neg)) {
            break;
        }
        if parts.len() == 3 {
            return Err(err(i, "expected a hemisphere letter"));
        }
        parts.push(t.text);
        i += 1;
    }
    let hemi = toks
        .get(i)
        .ok_or_else(|| err(i, "expected a hemisphere letter"))?;
    if parts.is_empty() {
        return Err(err(i, "expected degrees"));
    }
    let deg: i64 = parts[0]
        .parse()
        .map_err(|_| err(i - parts.len(), "expected degrees"))?;
    let min: i64 = parts
        .get(1)
        .map(|m| m.parse())
        .transpose()
        .map_err(|_| err(i, "expected minutes"))?
        .unwrap_or(0);
    let sec = parts
        .get(2)
        .map(|s| thousandths(s))
        .transpose()
        .map_err(|_| err(i, "expected seconds"))?
        .unwrap_or(0);
    if deg > max_deg || min >= 60 || sec >= 60_000 {
        return Err(err(i - parts.len(), "angle out of range"));
    }
    let v = (deg * 3600 + min * 60) * 1000 + sec;
    let signed = if hemi.text.eq_ignore_ascii_case(&String::from(neg)) {
        -v
    } else {
        v
    };
    Ok((signed, i + 1))
}

/// "12.345" -> 12345 (three decimals max).
fn thousandths(s: &str) -> Result<i64, ()> {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if frac.len() > 3
        || int.is_empty()
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(());
    }
    let mut f = String::from(frac);
    while f.len() < 3 {
        f.push('0');
    }
    Ok(int.parse::<i64>().map_err(|_| ())? * 1000 + f.parse::<i64>().map_err(|_| ())?)
}

/// Metres with optional "m" and two decimals, as centimetres.
fn centimetres(s: &str) -> Option<i64> {
    let s = s
        .strip_suffix('m')
        .or_else(|| s.strip_suffix('M'))
        .unwrap_or(s);
    let (neg, s) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    };
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if int.is_empty()
        || frac.len() > 2
        || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let mut f = String::from(frac);
    while f.len() < 2 {
        f.push('0');
    }
    let v = int.parse::<i64>().ok()?.checked_mul(100)? + f.parse::<i64>().ok()?;
    Some(if neg { -v } else { v })
}

/// RFC 1876 size/precision: mantissa << 4 | exponent, value in cm.
fn size_byte(cm: i64) -> Option<u8> {
    if cm < 0 {
        return None;
    }
    let mut e = 0;
    let mut m = cm;
    while m > 9 {
        m /= 10; // one significant digit, rounded down
        e += 1;
    }
    (e <= 9).then_some(((m as u8) << 4) | e as u8)
}

fn size_cm(b: u8) -> Option<i64> {
    let (m, e) = ((b >> 4) as i64, (b & 0xf) as u32);
    (m <= 9 && e <= 9).then(|| m * 10i64.pow(e))
}

/// Parse LOC text starting at token `i`; returns the next token index.
pub fn from_text(toks: &[Tok], i: usize, out: &mut Vec<u8>) -> Result<usize, RdataError> {
    let (lat, i) = angle(toks, i, 'N', 'S', 90)?;
    let (lon, i) = angle(toks, i, 'E', 'W', 180)?;
    let alt = toks
        .get(i)
        .and_then(|t| centimetres(t.text))
        .ok_or_else(|| err(i, "expected altitude in metres"))?;
    let mut sizes = [100i64, 1_000_000, 1000]; // defaults: 1m, 10000m, 10m
    let mut j = i + 1;
    for s in sizes.iter_mut() {
        match toks.get(j) {
            Some(t) => {
                *s = centimetres(t.text)
                    .filter(|v| *v >= 0)
                    .ok_or_else(|| err(j, "expected a size in metres"))?;
                j += 1;
            }
            None => break,
        }
    }
    if !(-ALT_BASE_CM..=(u32::MAX as i64 - ALT_BASE_CM)).contains(&alt) {
        return Err(err(i, "altitude out of range"));
    }
    out.push(0);
    for (k, s) in sizes.iter().enumerate() {
        out.push(size_byte(*s).ok_or_else(|| err(i + 1 + k, "size out of range"))?);
    }
    out.extend_from_slice(&((EQUATOR + lat) as u32).to_be_bytes());
    out.extend_from_slice(&((EQUATOR + lon) as u32).to_be_bytes());
    out.extend_from_slice(&((alt + ALT_BASE_CM) as u32).to_be_bytes());
    Ok(j)
}

fn angle_text(v: i64, pos: char, neg: char) -> String {
    let h = if v < 0 { neg } else { pos };
    let a = v.abs();
    format!(
        "{} {} {}.{:03} {}",
        a / 3_600_000,
        a / 60_000 % 60,
        a / 1000 % 60,
        a % 1000,
        h
    )
}

fn metres(cm: i64) -> String {
    let sign = if cm < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}m", cm.abs() / 100, cm.abs() % 100)
}

fn metres_short(cm: i64) -> String {
    if cm % 100 == 0 {
        format!("{}m", cm / 100)
    } else {
        metres(cm)
    }
}

/// LOC wire -> text (version 0 only).
pub fn to_text(b: &[u8]) -> Option<String> {
    if b.len() != 16 || b[0] != 0 {
        return None;
    }
    let u = |o: usize| u32::from_be_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]) as i64;
    let (size, hp, vp) = (size_cm(b[1])?, size_cm(b[2])?, size_cm(b[3])?);
    Some(format!(
        "{} {} {} {} {} {}",
        angle_text(u(4) - EQUATOR, 'N', 'S'),
        angle_text(u(8) - EQUATOR, 'E', 'W'),
        metres(u(12) - ALT_BASE_CM),
        metres(size),
        metres_short(hp),
        metres_short(vp)
    ))
}
