//! pkt-line framing (gitprotocol-common): 4 hex digits of length (including
//! themselves), then data; 0000 flush, 0001 delim, 0002 response end.

use alloc::vec::Vec;

/// A decoded packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Pkt<'a> {
    Data(&'a [u8]),
    Flush,
    Delim,
    ResponseEnd,
}

/// A malformed length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BadPkt;

/// Largest packet (gitprotocol-common: 65520 bytes).
pub const MAX: usize = 65520;

/// Append `data` as one packet.
pub fn encode(out: &mut Vec<u8>, data: &[u8]) {
    let len = data.len() + 4;
    debug_assert!(len <= MAX);
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for shift in [12, 8, 4, 0] {
        out.push(HEX[(len >> shift) & 0xf]);
    }
    out.extend_from_slice(data);
}

/// Append a flush packet.
pub fn flush(out: &mut Vec<u8>) {
    out.extend_from_slice(b"0000");
}

/// Decode one packet from the front of `buf`: Ok(None) when incomplete.
pub fn decode(buf: &[u8]) -> Result<Option<(Pkt<'_>, usize)>, BadPkt> {
    let Some(h) = buf.get(..4) else {
        return Ok(None);
    };
    let mut len = 0usize;
    for &c in h {
        let v = (c as char).to_digit(16).ok_or(BadPkt)? as usize;
        len = len * 16 + v;
    }
    match len {
        0 => Ok(Some((Pkt::Flush, 4))),
        1 => Ok(Some((Pkt::Delim, 4))),
        2 => Ok(Some((Pkt::ResponseEnd, 4))),
        3 => Err(BadPkt),
        n if n > MAX => Err(BadPkt),
        n => Ok(buf.get(4..n).map(|d| (Pkt::Data(d), n))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_errors() {
        let mut v = Vec::new();
        encode(&mut v, b"want abc\n");
        flush(&mut v);
        assert_eq!(&v[..4], b"000d");
        let (p, n) = decode(&v).unwrap().unwrap();
        assert_eq!((p, n), (Pkt::Data(b"want abc\n"), 13));
        assert_eq!(decode(&v[n..]).unwrap().unwrap().0, Pkt::Flush);
        assert_eq!(decode(b"00"), Ok(None));
        assert_eq!(decode(b"0010abc"), Ok(None), "incomplete");
        assert_eq!(decode(b"zzzz"), Err(BadPkt));
        assert_eq!(decode(b"0003"), Err(BadPkt));
        assert_eq!(decode(b"fff1"), Err(BadPkt));
    }
}
