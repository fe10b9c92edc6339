//! RDATA in presentation and wire form, driven by one field list per type,
//! so the text parser, the printer and the wire decoder cannot disagree.
//! Stored form: uncompressed wire (names in RDATA never compressed,
//! RFC 3597 4). Any type also takes the generic `\# len hex` (RFC 3597 5).

use crate::name::Name;
use crate::rtype::*;
use crate::text::{parse_v4, parse_v6, quote, unescape, v6_text};
pub use crate::text::{RdataError, Tok};
use crate::wire::{Reader, WireError};
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

mod check;
use check::fields_ok;

/// One field of a type's RDATA.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum F {
    U8,
    U16,
    U32,
    /// A u32 that also takes units in text (SOA timers).
    Ttl,
    Name,
    V4,
    V6,
    /// One length-prefixed character string.
    Str,
    /// One or more character strings to the end.
    Strs,
    /// Hex to the end (spaces allowed), no length prefix.
    Hex,
    /// Base64 to the end (spaces allowed).
    B64,
    /// NSEC3 salt: `-` or hex, length-prefixed.
    Salt,
    /// NSEC3 next hashed owner: base32hex, length-prefixed.
    B32,
    /// Type bitmap to the end (RFC 4034 4.1.2).
    Bitmap,
    /// A type mnemonic as u16 (RRSIG type covered).
    Type,
    /// RRSIG time: YYYYMMDDHHmmSS or seconds.
    Time,
    /// CAA tag: length-prefixed token.
    Tag,
    /// A string to the end without length prefix (CAA value, URI target).
    Raw,
    /// LOC (RFC 1876), whole RDATA.
    Loc,
    /// SVCB parameters to the end (RFC 9460).
    Svc,
}

fn spec(t: u16) -> Option<&'static [F]> {
    use F::*;
    Some(match t {
        A => &[V4],
        NS | CNAME | PTR | DNAME => &[Name],
        SOA => &[Name, Name, U32, Ttl, Ttl, Ttl, Ttl],
        MX => &[U16, Name],
        TXT | SPF => &[Strs],
        HINFO => &[Str, Str],
        AAAA => &[V6],
        SRV => &[U16, U16, U16, Name],
        NAPTR => &[U16, U16, Str, Str, Str, Name],
        DS | CDS => &[U16, U8, U8, Hex],
        SSHFP => &[U8, U8, Hex],
        RRSIG => &[Type, U8, U8, U32, Time, Time, U16, Name, B64],
        NSEC => &[Name, Bitmap],
        DNSKEY | CDNSKEY => &[U16, U8, U8, B64],
        NSEC3 => &[U8, U8, U16, Salt, B32, Bitmap],
        NSEC3PARAM => &[U8, U8, U16, Salt],
        TLSA => &[U8, U8, U8, Hex],
        URI => &[U16, U16, Raw],
        CAA => &[U8, Tag, Raw],
        LOC => &[Loc],
        SVCB | HTTPS => &[U16, Name, Svc],
        _ => return None,
    })
}

/// Longest RDATA: its length is a u16 (RFC 1035 3.2.1).
pub const MAX_RDATA: usize = 65535;

/// Room a message needs besides one RR of its answer: the header (12),
/// the question (name up to 255, type and class), an OPT record with its
/// options and a TSIG record (key and algorithm names, MAC, RFC 8945 4.2).
const MESSAGE_ROOM: usize = 12 + 255 + 4 + 256 + 768;

/// Largest RDATA an RR of owner `owner_len` wire octets may have so that
/// it fits one 65535-octet message (a TCP answer or transfer message) with
/// room for a question, OPT and TSIG. An RR larger than that can never be
/// sent, so the loader refuses it instead of serving a zone that breaks a
/// transfer.
pub fn max_rdata(owner_len: usize) -> usize {
    // RR: owner, type, class, TTL, RDLENGTH (RFC 1035 4.1.3).
    65535usize.saturating_sub(MESSAGE_ROOM + owner_len + 10)
}

fn err(token: usize, what: impl Into<String>) -> RdataError {
    RdataError {
        token,
        what: what.into(),
    }
}

/// Parse RDATA text of type `t` into wire form.
pub fn from_text(t: u16, toks: &[Tok], origin: &Name) -> Result<Vec<u8>, RdataError> {
    if toks.first().is_some_and(|k| k.text == "\\#" && !k.quoted) {
        let w = generic(toks)?;
        // RFC 3597 5: the generic form of a known type must be valid RDATA.
        if spec(t).is_some_and(|f| !fields_ok(f, &w)) {
            return Err(err(
                1,
                format!("\\# data is not valid {} RDATA", to_text(t)),
            ));
        }
        return Ok(w);
    }
    let fields = spec(t).ok_or_else(|| {
        err(
            0,
            format!("type {} needs the generic form \\# LEN HEX", to_text(t)),
        )
    })?;
    let mut out = Vec::new();
    let mut i = 0;
    for f in fields {
        i = field_from_text(*f, toks, i, origin, &mut out)?;
    }
    if i < toks.len() {
        return Err(err(i, "unexpected data after the record"));
    }
    Ok(out)
}

/// RFC 3597 5: `\# LEN HEX...`.
fn generic(toks: &[Tok]) -> Result<Vec<u8>, RdataError> {
    let len: usize = toks
        .get(1)
        .and_then(|t| t.text.parse().ok())
        .ok_or_else(|| err(1, "\\# needs a length"))?;
    let mut out = Vec::new();
    for (i, t) in toks.iter().enumerate().skip(2) {
        hex_into(t.text, &mut out).ok_or_else(|| err(i, "expected hex digits"))?;
    }
    if out.len() != len {
        return Err(err(
            1,
            format!(
                "\\# length {len} does not match {} bytes of data",
                out.len()
            ),
        ));
    }
    Ok(out)
}

fn tok<'a>(toks: &'a [Tok], i: usize, what: &str) -> Result<&'a Tok<'a>, RdataError> {
    toks.get(i)
        .ok_or_else(|| err(i, format!("expected {what}")))
}

/// Encode field `f` of the RDATA from token `i` on into `out`; the index
/// of the next token.
fn field_from_text(
    f: F,
    toks: &[Tok],
    i: usize,
    origin: &Name,
    out: &mut Vec<u8>,
) -> Result<usize, RdataError> {
    match f {
        F::U8 | F::U16 | F::U32 | F::Ttl | F::Type | F::Time => number_field(f, toks, i, out)?,
        F::Name | F::V4 | F::V6 => name_or_address(f, toks, i, origin, out)?,
        F::Str | F::Tag | F::Raw | F::Salt | F::B32 => string_field(f, toks, i, out)?,
        F::Strs | F::Hex | F::B64 | F::Bitmap => return rest_of_line(f, toks, i, out),
        F::Loc => return crate::loc::from_text(toks, i, out),
        F::Svc => return crate::svcb::from_text(toks, i, out),
    }
    Ok(i + 1)
}

/// A number (unsigned of 8, 16 or 32 bits, a TTL, a type mnemonic, a
/// time stamp) from token `i`.
fn number_field(f: F, toks: &[Tok], i: usize, out: &mut Vec<u8>) -> Result<(), RdataError> {
    let num = |what: &str| -> Result<u64, RdataError> {
        let t = tok(toks, i, what)?;
        t.text
            .parse::<u64>()
            .map_err(|_| err(i, format!("expected {what}")))
    };
    match f {
        F::U8 => out.push(
            u8::try_from(num("a number 0-255")?).map_err(|_| err(i, "expected a number 0-255"))?,
        ),
        F::U16 => out.extend_from_slice(
            &u16::try_from(num("a number 0-65535")?)
                .map_err(|_| err(i, "expected a number 0-65535"))?
                .to_be_bytes(),
        ),
        F::U32 => out.extend_from_slice(
            &u32::try_from(num("a 32-bit number")?)
                .map_err(|_| err(i, "expected a 32-bit number"))?
                .to_be_bytes(),
        ),
        F::Ttl => {
            let t = tok(toks, i, "a time value")?;
            out.extend_from_slice(
                &parse_ttl(t.text)
                    .ok_or_else(|| err(i, "expected a time value like 3600 or 1h30m"))?
                    .to_be_bytes(),
            )
        }
        F::Type => {
            let t = tok(toks, i, "a type")?;
            out.extend_from_slice(
                &crate::rtype::from_text(t.text)
                    .ok_or_else(|| err(i, "expected a type mnemonic"))?
                    .to_be_bytes(),
            );
        }
        _ => {
            let t = tok(toks, i, "a time")?;
            out.extend_from_slice(
                &parse_time(t.text)
                    .ok_or_else(|| err(i, "expected YYYYMMDDHHmmSS"))?
                    .to_be_bytes(),
            );
        }
    }
    Ok(())
}

/// A domain name, an IPv4 or an IPv6 address from token `i`.
fn name_or_address(
    f: F,
    toks: &[Tok],
    i: usize,
    origin: &Name,
    out: &mut Vec<u8>,
) -> Result<(), RdataError> {
    match f {
        F::Name => {
            let t = tok(toks, i, "a domain name")?;
            let n = Name::parse(t.text, origin).map_err(|e| err(i, format!("bad name: {e}")))?;
            out.extend_from_slice(n.wire());
        }
        F::V4 => {
            let t = tok(toks, i, "an IPv4 address")?;
            out.extend_from_slice(
                &parse_v4(t.text).ok_or_else(|| err(i, "expected an IPv4 address"))?,
            );
        }
        _ => {
            let t = tok(toks, i, "an IPv6 address")?;
            out.extend_from_slice(
                &parse_v6(t.text).ok_or_else(|| err(i, "expected an IPv6 address"))?,
            );
        }
    }
    Ok(())
}

/// One string-like token `i`: a character string (a CAA tag), raw bytes,
/// an NSEC3 salt, a base32hex hash.
fn string_field(f: F, toks: &[Tok], i: usize, out: &mut Vec<u8>) -> Result<(), RdataError> {
    match f {
        F::Str | F::Tag => {
            let t = tok(toks, i, "a character string")?;
            let s = unescape(t.text).ok_or_else(|| err(i, "bad escape in string"))?;
            if s.len() > 255 {
                return Err(err(i, "character string longer than 255 bytes"));
            }
            if f == F::Tag && (s.is_empty() || !s.iter().all(u8::is_ascii_alphanumeric)) {
                return Err(err(i, "CAA tag must be letters and digits"));
            }
            out.push(s.len() as u8);
            out.extend_from_slice(&s);
        }
        F::Raw => {
            let t = tok(toks, i, "a string")?;
            out.extend_from_slice(&unescape(t.text).ok_or_else(|| err(i, "bad escape in string"))?);
        }
        F::Salt => {
            let t = tok(toks, i, "a salt (hex or -)")?;
            let mut s = Vec::new();
            if t.text != "-" {
                hex_into(t.text, &mut s).ok_or_else(|| err(i, "expected a hex salt or -"))?;
            }
            if s.len() > 255 {
                return Err(err(i, "salt too long"));
            }
            out.push(s.len() as u8);
            out.extend_from_slice(&s);
        }
        _ => {
            let t = tok(toks, i, "a base32hex hash")?;
            let h = base32hex_decode(t.text).ok_or_else(|| err(i, "expected base32hex"))?;
            if h.is_empty() || h.len() > 255 {
                return Err(err(i, "bad hash length"));
            }
            out.push(h.len() as u8);
            out.extend_from_slice(&h);
        }
    }
    Ok(())
}

/// A field that takes every token from `i` to the end of the record:
/// character strings, hex, base64, a type bitmap.
fn rest_of_line(f: F, toks: &[Tok], i: usize, out: &mut Vec<u8>) -> Result<usize, RdataError> {
    match f {
        F::Strs => {
            tok(toks, i, "a character string")?;
            for j in i..toks.len() {
                string_field(F::Str, toks, j, out)?;
            }
        }
        F::Hex => {
            tok(toks, i, "hex data")?;
            for (j, t) in toks.iter().enumerate().skip(i) {
                hex_into(t.text, out).ok_or_else(|| err(j, "expected hex digits"))?;
            }
        }
        F::B64 => {
            tok(toks, i, "base64 data")?;
            let joined: String = toks[i..].iter().map(|t| t.text).collect();
            out.extend_from_slice(
                &crate::base64::decode(&joined).ok_or_else(|| err(i, "expected base64 data"))?,
            );
        }
        _ => {
            let mut types = Vec::new();
            for (j, t) in toks.iter().enumerate().skip(i) {
                types.push(
                    crate::rtype::from_text(t.text)
                        .ok_or_else(|| err(j, "expected a type mnemonic"))?,
                );
            }
            bitmap_encode(&mut types, out);
        }
    }
    Ok(toks.len())
}

/// Print wire RDATA of type `t` as presentation text.
/// [`to_text_rdata`] appended to `out`, without intermediate strings for
/// the common address types (the printer writes whole zones with it).
pub fn write_text_rdata(out: &mut String, t: u16, rdata: &[u8]) {
    use core::fmt::Write;
    match (t, rdata.len()) {
        (crate::rtype::A, 4) => {
            let _ = write!(out, "{}.{}.{}.{}", rdata[0], rdata[1], rdata[2], rdata[3]);
        }
        _ => out.push_str(&to_text_rdata(t, rdata)),
    }
}

pub fn to_text_rdata(t: u16, rdata: &[u8]) -> String {
    match spec(t).and_then(|fields| print_fields(fields, rdata)) {
        Some(s) => s,
        None => generic_text(rdata),
    }
}

fn generic_text(rdata: &[u8]) -> String {
    let mut s = format!("\\# {}", rdata.len());
    if !rdata.is_empty() {
        s.push(' ');
        s.push_str(&hex(rdata));
    }
    s
}

fn print_fields(fields: &[F], rdata: &[u8]) -> Option<String> {
    let mut r = Reader::new(rdata);
    let mut parts: Vec<String> = Vec::new();
    for f in fields {
        match f {
            F::U8 => parts.push(r.u8().ok()?.to_string()),
            F::U16 => parts.push(r.u16().ok()?.to_string()),
            F::U32 | F::Ttl => parts.push(r.u32().ok()?.to_string()),
            F::Name => parts.push(uncompressed_name(&mut r)?.to_string()),
            F::V4 => {
                let b = r.bytes(4).ok()?;
                parts.push(format!("{}.{}.{}.{}", b[0], b[1], b[2], b[3]));
            }
            F::V6 => parts.push(v6_text(r.bytes(16).ok()?)),
            F::Str => parts.push(quote(char_string(&mut r)?)),
            F::Tag => {
                let s = char_string(&mut r)?;
                if s.is_empty() || !s.iter().all(u8::is_ascii_alphanumeric) {
                    return None;
                }
                parts.push(String::from_utf8_lossy(s).into_owned());
            }
            F::Strs => {
                if r.remaining() == 0 {
                    return None;
                }
                while r.remaining() > 0 {
                    parts.push(quote(char_string(&mut r)?));
                }
            }
            F::Raw => parts.push(quote(r.bytes(r.remaining()).ok()?)),
            F::Hex => {
                let b = r.bytes(r.remaining()).ok()?;
                if b.is_empty() {
                    return None;
                }
                parts.push(hex(b));
            }
            F::B64 => {
                let b = r.bytes(r.remaining()).ok()?;
                if b.is_empty() {
                    return None;
                }
                parts.push(crate::base64::encode(b));
            }
            F::Salt => {
                let s = char_string(&mut r)?;
                parts.push(if s.is_empty() {
                    "-".to_string()
                } else {
                    hex(s)
                });
            }
            F::B32 => {
                let s = char_string(&mut r)?;
                if s.is_empty() {
                    return None;
                }
                parts.push(base32hex_encode(s));
            }
            F::Bitmap => {
                for t in bitmap_decode(r.bytes(r.remaining()).ok()?)? {
                    parts.push(to_text(t));
                }
            }
            F::Type => parts.push(to_text(r.u16().ok()?)),
            F::Time => parts.push(time_text(r.u32().ok()?)),
            F::Loc => parts.push(crate::loc::to_text(r.bytes(r.remaining()).ok()?)?),
            F::Svc => {
                let p = crate::svcb::to_text(r.bytes(r.remaining()).ok()?)?;
                if !p.is_empty() {
                    parts.push(p);
                }
            }
        }
    }
    (r.remaining() == 0).then(|| parts.join(" "))
}

fn uncompressed_name(r: &mut Reader) -> Option<Name> {
    // Stored RDATA never holds pointers; a pointer here is malformed.
    let start = r.pos();
    let n = r.name().ok()?;
    (r.pos() - start == n.wire().len()).then_some(n)
}

fn char_string<'a>(r: &mut Reader<'a>) -> Option<&'a [u8]> {
    let len = r.u8().ok()? as usize;
    r.bytes(len).ok()
}

/// Decode RDATA from a message at `r` (its `len` bytes), decompressing names
/// for the types that allow it, and check it against the type's fields.
pub fn from_wire(t: u16, r: &mut Reader, len: usize) -> Result<Vec<u8>, WireError> {
    let mut out = Vec::with_capacity(len + 16);
    from_wire_into(t, r, len, &mut out)?;
    Ok(out)
}

/// [`from_wire`] into `out` (cleared first), so a caller taking many
/// records reuses one buffer (a transfer, issue 23).
pub fn from_wire_into(
    t: u16,
    r: &mut Reader,
    len: usize,
    out: &mut Vec<u8>,
) -> Result<(), WireError> {
    out.clear();
    let end = r.pos().checked_add(len).ok_or(WireError::Short)?;
    match spec(t) {
        Some(fields) if fields.contains(&F::Name) && compressible(t) => {
            for f in fields {
                match f {
                    F::Name => out.extend_from_slice(r.name()?.wire()),
                    F::U16 => out.extend_from_slice(&r.u16()?.to_be_bytes()),
                    F::U32 | F::Ttl => out.extend_from_slice(&r.u32()?.to_be_bytes()),
                    _ => return Err(WireError::BadName),
                }
            }
        }
        _ => out.extend_from_slice(r.bytes(len)?),
    }
    if r.pos() != end {
        return Err(WireError::Short);
    }
    if spec(t).is_some_and(|f| !fields_ok(f, out)) {
        return Err(WireError::BadName);
    }
    Ok(())
}

/// Names inside RDATA that additional-section processing follows
/// (RFC 1034 4.3.2 step 6): NS, MX, SRV targets.
pub fn target(t: u16, rdata: &[u8]) -> Option<Name> {
    let skip = match t {
        NS => 0,
        MX => 2,
        SRV => 6,
        _ => return None,
    };
    Name::from_wire(rdata.get(skip..)?)
}

/// Write RDATA into a message, compressing names where RFC 3597 allows.
pub fn write(t: u16, rdata: &[u8], w: &mut crate::wire::Writer) -> Result<(), crate::wire::Full> {
    if !compressible(t) {
        return w.bytes(rdata);
    }
    let mut r = Reader::new(rdata);
    for f in spec(t).unwrap_or(&[]) {
        match f {
            F::Name => match r.name() {
                Ok(n) => w.name(&n, true)?,
                Err(_) => return w.bytes(rdata),
            },
            F::U16 => w.u16(r.u16().map_err(|_| crate::wire::Full)?)?,
            _ => w.u32(r.u32().map_err(|_| crate::wire::Full)?)?,
        }
    }
    Ok(())
}

/// TTL with units: `3600`, `1h`, `1d2h30m`, `1w` (BIND syntax).
pub fn parse_ttl(s: &str) -> Option<u32> {
    if s.is_empty() {
        return None;
    }
    if let Ok(v) = s.parse::<u32>() {
        return Some(v);
    }
    let mut total: u64 = 0;
    let mut num: Option<u64> = None;
    for c in s.chars() {
        if let Some(d) = c.to_digit(10) {
            num = Some(num.unwrap_or(0).checked_mul(10)?.checked_add(d as u64)?);
            continue;
        }
        let unit = match c.to_ascii_lowercase() {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return None,
        };
        total = total.checked_add(num.take()?.checked_mul(unit)?)?;
    }
    if let Some(n) = num {
        total = total.checked_add(n)?;
    }
    u32::try_from(total).ok()
}

/// Lowercase hex.
pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn hex_into(s: &str, out: &mut Vec<u8>) -> Option<()> {
    let b = s.as_bytes();
    if !b.len().is_multiple_of(2) {
        return None;
    }
    for p in b.chunks(2) {
        let v = u8::from_str_radix(core::str::from_utf8(p).ok()?, 16).ok()?;
        out.push(v);
    }
    Some(())
}

const B32: &[u8; 32] = b"0123456789ABCDEFGHIJKLMNOPQRSTUV";

fn base32hex_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for c in s.bytes() {
        let v = B32.iter().position(|&x| x == c.to_ascii_uppercase())? as u32;
        acc = (acc << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    (acc == 0).then_some(out)
}

fn base32hex_encode(b: &[u8]) -> String {
    let mut out = String::new();
    let (mut acc, mut bits) = (0u32, 0);
    for &x in b {
        acc = (acc << 8) | x as u32;
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(B32[((acc >> bits) & 31) as usize] as char);
        }
        acc &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(B32[((acc << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// RFC 4034 4.1.2 window blocks (NSEC, NSEC3; the signer's chains too).
pub(crate) fn bitmap_encode(types: &mut Vec<u16>, out: &mut Vec<u8>) {
    types.sort_unstable();
    types.dedup();
    let mut i = 0;
    while i < types.len() {
        let win = (types[i] >> 8) as u8;
        let mut bits = [0u8; 32];
        let mut last = 0;
        while i < types.len() && (types[i] >> 8) as u8 == win {
            let low = (types[i] & 0xff) as usize;
            bits[low / 8] |= 0x80 >> (low % 8);
            last = low / 8;
            i += 1;
        }
        out.push(win);
        out.push(last as u8 + 1);
        out.extend_from_slice(&bits[..=last]);
    }
}

fn bitmap_decode(b: &[u8]) -> Option<Vec<u16>> {
    let mut r = Reader::new(b);
    let mut out = Vec::new();
    let mut prev: Option<u8> = None;
    while r.remaining() > 0 {
        let win = r.u8().ok()?;
        let len = r.u8().ok()? as usize;
        if len == 0 || len > 32 || prev.is_some_and(|p| win <= p) {
            return None;
        }
        prev = Some(win);
        for (i, byte) in r.bytes(len).ok()?.iter().enumerate() {
            for bit in 0..8 {
                if byte & (0x80 >> bit) != 0 {
                    out.push(((win as u16) << 8) | (i * 8 + bit) as u16);
                }
            }
        }
    }
    Some(out)
}

fn parse_time(s: &str) -> Option<u32> {
    if s.len() == 14 && s.bytes().all(|c| c.is_ascii_digit()) {
        let n = |a: usize, b: usize| s[a..b].parse::<i64>().ok();
        let (y, mo, d, h, mi, se) = (
            n(0, 4)?,
            n(4, 6)?,
            n(6, 8)?,
            n(8, 10)?,
            n(10, 12)?,
            n(12, 14)?,
        );
        if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
            return None;
        }
        let days = days_from_civil(y, mo as u32, d as u32);
        let secs = days * 86_400 + h * 3600 + mi * 60 + se;
        return Some(secs as u32); // serial arithmetic (RFC 4034 3.1.5)
    }
    s.parse().ok()
}

fn time_text(t: u32) -> String {
    let secs = t as i64;
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let r = secs.rem_euclid(86_400);
    format!(
        "{y:04}{m:02}{d:02}{:02}{:02}{:02}",
        r / 3600,
        r / 60 % 60,
        r % 60
    )
}

/// Days since 1970-01-01 of a Gregorian date.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Gregorian date of a day count since 1970-01-01 (era-based conversion:
/// 400-year eras of 146097 days starting on March 1st).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + if m <= 2 { 1 } else { 0 }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<(String, bool)> {
        crate::zone::lexer::lines(s).unwrap()[0]
            .tokens
            .iter()
            .map(|t| (t.text.to_string(), t.quoted))
            .collect()
    }

    fn round(t: u16, text: &str) -> String {
        let o = Name::parse("example.org.", &Name::root()).unwrap();
        let owned = toks(text);
        let ts: Vec<Tok> = owned
            .iter()
            .map(|(s, q)| Tok {
                text: s,
                quoted: *q,
            })
            .collect();
        let w = from_text(t, &ts, &o).unwrap_or_else(|e| panic!("{text}: {e:?}"));
        let printed = to_text_rdata(t, &w);
        // Printing then parsing again gives the same wire form.
        let owned2 = toks(&printed);
        let ts2: Vec<Tok> = owned2
            .iter()
            .map(|(s, q)| Tok {
                text: s,
                quoted: *q,
            })
            .collect();
        assert_eq!(from_text(t, &ts2, &o).unwrap(), w, "{printed}");
        printed
    }

    #[test]
    fn every_type_round_trips() {
        assert_eq!(round(A, "192.0.2.1"), "192.0.2.1");
        assert_eq!(round(AAAA, "2001:DB8::1"), "2001:db8::1");
        assert_eq!(round(AAAA, "::ffff:192.0.2.1"), "::ffff:c000:201");
        assert_eq!(round(NS, "ns1"), "ns1.example.org.");
        assert_eq!(round(CNAME, "a.b."), "a.b.");
        assert_eq!(round(DNAME, "other.net."), "other.net.");
        assert_eq!(round(PTR, "host"), "host.example.org.");
        assert_eq!(round(MX, "10 mail"), "10 mail.example.org.");
        assert_eq!(
            round(SOA, "ns hostmaster 2024010101 1h 15m 1w 1d"),
            "ns.example.org. hostmaster.example.org. 2024010101 3600 900 604800 86400"
        );
        assert_eq!(
            round(TXT, "\"v=spf1 -all\" two \"q\\\"x\\010\""),
            "\"v=spf1 -all\" \"two\" \"q\\\"x\\010\""
        );
        assert_eq!(round(SPF, "\"v=spf1 -all\""), "\"v=spf1 -all\"");
        assert_eq!(round(HINFO, "\"PC\" \"Linux\""), "\"PC\" \"Linux\"");
        assert_eq!(round(SRV, "0 5 5060 sip"), "0 5 5060 sip.example.org.");
        assert_eq!(
            round(
                NAPTR,
                "100 10 \"u\" \"E2U+sip\" \"!^.*$!sip:x@example.org!\" ."
            ),
            "100 10 \"u\" \"E2U+sip\" \"!^.*$!sip:x@example.org!\" ."
        );
        assert_eq!(
            round(CAA, "0 issue \"letsencrypt.org\""),
            "0 issue \"letsencrypt.org\""
        );
        assert_eq!(round(TLSA, "3 1 1 ABCDEF01 2345"), "3 1 1 abcdef012345");
        assert_eq!(round(SSHFP, "4 2 0123456789abcdef"), "4 2 0123456789abcdef");
        assert_eq!(
            round(DS, "60485 5 1 2BB183AF5F22588179A53B0A98631FAD1A292118"),
            "60485 5 1 2bb183af5f22588179a53b0a98631fad1a292118"
        );
        assert_eq!(round(CDS, "0 0 0 00"), "0 0 0 00");
        assert_eq!(round(DNSKEY, "256 3 13 AQID BAU="), "256 3 13 AQIDBAU=");
        assert_eq!(round(CDNSKEY, "0 3 0 AA=="), "0 3 0 AA==");
        assert_eq!(
            round(
                RRSIG,
                "A 13 2 3600 20250101000000 20241201000000 12345 example.org. AQID"
            ),
            "A 13 2 3600 20250101000000 20241201000000 12345 example.org. AQID"
        );
        assert_eq!(
            round(NSEC, "b.example.org. A MX RRSIG NSEC TYPE1234"),
            "b.example.org. A MX RRSIG NSEC TYPE1234"
        );
        assert_eq!(
            round(
                NSEC3,
                "1 1 12 AABBCCDD 2VPTU5TIMAMQTTGL4LUU9KG21E0AOR3S A RRSIG"
            ),
            "1 1 12 aabbccdd 2VPTU5TIMAMQTTGL4LUU9KG21E0AOR3S A RRSIG"
        );
        assert_eq!(round(NSEC3PARAM, "1 0 0 -"), "1 0 0 -");
        assert_eq!(
            round(URI, "10 1 \"ftp://ftp1.example.com/public\""),
            "10 1 \"ftp://ftp1.example.com/public\""
        );
        assert_eq!(
            round(LOC, "52 22 23.000 N 4 53 32.000 E -2.00m 0.00m 10000m 10m"),
            "52 22 23.000 N 4 53 32.000 E -2.00m 0.00m 10000m 10m"
        );
        assert_eq!(
            round(SVCB, "1 . alpn=h2,h3 port=8443 ipv4hint=192.0.2.1"),
            "1 . alpn=h2,h3 port=8443 ipv4hint=192.0.2.1"
        );
        assert_eq!(round(HTTPS, "0 svc.example.org."), "0 svc.example.org.");
        assert_eq!(round(65280, "\\# 4 0A000001"), "\\# 4 0a000001");
        assert_eq!(round(A, "\\# 4 C0000201"), "192.0.2.1");
    }

    #[test]
    fn bad_rdata_names_the_token() {
        let o = Name::root();
        let t = |s: &'static str| Tok {
            text: s,
            quoted: false,
        };
        assert_eq!(from_text(A, &[t("192.0.2")], &o).unwrap_err().token, 0);
        assert_eq!(from_text(MX, &[t("10")], &o).unwrap_err().token, 1);
        assert_eq!(from_text(MX, &[t("x"), t("a.")], &o).unwrap_err().token, 0);
        assert_eq!(
            from_text(A, &[t("192.0.2.1"), t("extra")], &o)
                .unwrap_err()
                .token,
            1
        );
        assert_eq!(from_text(65280, &[t("x")], &o).unwrap_err().token, 0);
        assert_eq!(
            from_text(A, &[t("\\#"), t("3"), t("C00002")], &o)
                .unwrap_err()
                .token,
            1
        );
        let long: &'static str = alloc::string::String::leak("x".repeat(256));
        assert_eq!(from_text(TXT, &[t(long)], &o).unwrap_err().token, 0);
    }

    #[test]
    fn ttl_units() {
        assert_eq!(parse_ttl("3600"), Some(3600));
        assert_eq!(parse_ttl("3h"), Some(10800));
        assert_eq!(parse_ttl("1d2h30m"), Some(95_400));
        assert_eq!(parse_ttl("1w"), Some(604_800));
        assert_eq!(parse_ttl("1W1s"), Some(604_801));
        assert_eq!(parse_ttl("h"), None);
        assert_eq!(parse_ttl("99999999999"), None);
        assert_eq!(parse_ttl(""), None);
    }

    #[test]
    fn wire_decoding_decompresses_and_validates() {
        // An MX whose target is a pointer to offset 0 of the message.
        let msg = [4, b'm', b'a', b'i', b'l', 0, 0, 10, 0xc0, 0];
        let mut r = Reader::at(&msg, 6);
        assert_eq!(
            from_wire(MX, &mut r, 4).unwrap(),
            [0, 10, 4, b'm', b'a', b'i', b'l', 0]
        );
        let mut r = Reader::new(&[1, 2, 3]);
        assert!(from_wire(A, &mut r, 3).is_err());
        let mut r = Reader::new(&[5, b'a']);
        assert!(from_wire(TXT, &mut r, 2).is_err());
    }
}
