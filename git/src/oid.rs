//! Object ids: SHA-1 of the object header and contents.

use core::fmt;
use sha1::{Digest, Sha1};

/// A 20-byte SHA-1 object id.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Oid(pub [u8; 20]);

impl Oid {
    /// The id of an object of `kind` with `data` (`"<kind> <len>\0" + data`).
    pub fn of(kind: &str, data: &[u8]) -> Oid {
        let mut h = Sha1::new();
        h.update(kind.as_bytes());
        h.update(b" ");
        let mut num = [0u8; 20];
        h.update(decimal(data.len(), &mut num));
        h.update([0u8]);
        h.update(data);
        Oid(h.finalize().into())
    }

    /// Parse 40 hex digits.
    pub fn from_hex(s: &[u8]) -> Option<Oid> {
        if s.len() != 40 {
            return None;
        }
        let mut o = [0u8; 20];
        for (i, b) in o.iter_mut().enumerate() {
            *b = (hex_val(s[2 * i])? << 4) | hex_val(s[2 * i + 1])?;
        }
        Some(Oid(o))
    }

    /// The all-zero id (no object, in ref updates).
    pub const ZERO: Oid = Oid([0; 20]);
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

fn decimal(mut n: usize, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[i..];
        }
    }
}

impl fmt::Display for Oid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Oid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Oid({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn known_ids() {
        // `git hash-object -t blob /dev/null`
        assert_eq!(
            Oid::of("blob", b"").to_string(),
            "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"
        );
        // `printf 'hello\n' | git hash-object --stdin`
        assert_eq!(
            Oid::of("blob", b"hello\n").to_string(),
            "ce013625030ba8dba906f756967f9e9ca394464a"
        );
        let o = Oid::from_hex(b"ce013625030ba8dba906f756967f9e9ca394464a").unwrap();
        assert_eq!(o, Oid::of("blob", b"hello\n"));
        assert!(Oid::from_hex(b"xyz").is_none());
    }
}
