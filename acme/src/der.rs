//! A minimal DER reader (ITU-T X.690 8.1, 10.1): definite lengths,
//! single-byte tags, nothing else. Enough for PKCS#10 and X.509 fields.

use core::fmt;

pub const BOOLEAN: u8 = 0x01;
pub const INTEGER: u8 = 0x02;
pub const BIT_STRING: u8 = 0x03;
pub const OCTET_STRING: u8 = 0x04;
pub const OID: u8 = 0x06;
pub const UTF8_STRING: u8 = 0x0c;
pub const PRINTABLE_STRING: u8 = 0x13;
pub const TELETEX_STRING: u8 = 0x14;
pub const IA5_STRING: u8 = 0x16;
pub const UTC_TIME: u8 = 0x17;
pub const GENERALIZED_TIME: u8 = 0x18;
pub const SEQUENCE: u8 = 0x30;
pub const SET: u8 = 0x31;
/// Context-specific constructed [0] (X.690 8.1.2.2).
pub const CONTEXT_0: u8 = 0xa0;
/// Context-specific constructed [3].
pub const CONTEXT_3: u8 = 0xa3;

/// Why a DER structure could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DerError {
    /// The input ended inside a tag, length or value.
    Truncated,
    /// Indefinite, over-long (> 4 bytes) or non-minimal length.
    BadLength,
    /// High-tag-number form (X.690 8.1.2.4): never used by our fields.
    UnsupportedTag,
    /// A field had another tag than the structure requires.
    UnexpectedTag { expected: u8, found: u8 },
    /// Bytes were left after the outermost value.
    TrailingData,
}

impl fmt::Display for DerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated => f.write_str("truncated DER"),
            Self::BadLength => f.write_str("bad DER length"),
            Self::UnsupportedTag => f.write_str("unsupported DER tag"),
            Self::UnexpectedTag { expected, found } => {
                write!(f, "DER tag {found:#04x} where {expected:#04x} was expected")
            }
            Self::TrailingData => f.write_str("trailing bytes after DER value"),
        }
    }
}

/// One tag-length-value: `raw` is the whole encoding, `body` the value.
#[derive(Debug, Clone, Copy)]
pub struct Tlv<'a> {
    pub tag: u8,
    pub body: &'a [u8],
    pub raw: &'a [u8],
}

/// A cursor over a sequence of TLVs.
#[derive(Debug, Clone)]
pub struct Der<'a> {
    rest: &'a [u8],
}

impl<'a> Der<'a> {
    pub fn new(input: &'a [u8]) -> Self {
        Der { rest: input }
    }

    pub fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    /// The tag of the next TLV, if any.
    pub fn peek_tag(&self) -> Option<u8> {
        self.rest.first().copied()
    }

    /// Read the next TLV whatever its tag.
    pub fn read(&mut self) -> Result<Tlv<'a>, DerError> {
        let (&tag, after_tag) = self.rest.split_first().ok_or(DerError::Truncated)?;
        if tag & 0x1f == 0x1f {
            return Err(DerError::UnsupportedTag);
        }
        let (len, header) = read_length(after_tag)?;
        let start = 1 + header;
        let end = start.checked_add(len).ok_or(DerError::BadLength)?;
        if end > self.rest.len() {
            return Err(DerError::Truncated);
        }
        let tlv = Tlv {
            tag,
            body: &self.rest[start..end],
            raw: &self.rest[..end],
        };
        self.rest = &self.rest[end..];
        Ok(tlv)
    }

    /// Read the next TLV, which must carry `tag`.
    pub fn expect_tlv(&mut self, tag: u8) -> Result<Tlv<'a>, DerError> {
        let tlv = self.read()?;
        if tlv.tag != tag {
            return Err(DerError::UnexpectedTag {
                expected: tag,
                found: tlv.tag,
            });
        }
        Ok(tlv)
    }

    /// The body of the next TLV, which must carry `tag`.
    pub fn expect(&mut self, tag: u8) -> Result<&'a [u8], DerError> {
        self.expect_tlv(tag).map(|t| t.body)
    }

    /// The body of the next TLV if it carries `tag`, else nothing is consumed.
    pub fn optional(&mut self, tag: u8) -> Result<Option<&'a [u8]>, DerError> {
        if self.peek_tag() == Some(tag) {
            return self.expect(tag).map(Some);
        }
        Ok(None)
    }

    /// Fail unless every byte was consumed.
    pub fn finish(&self) -> Result<(), DerError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(DerError::TrailingData)
        }
    }
}

/// Parse a DER length (X.690 8.1.3, 10.1): returns (length, header bytes).
fn read_length(input: &[u8]) -> Result<(usize, usize), DerError> {
    let (&first, rest) = input.split_first().ok_or(DerError::Truncated)?;
    if first < 0x80 {
        return Ok((usize::from(first), 1));
    }
    let n = usize::from(first & 0x7f);
    if n == 0 || n > 4 {
        return Err(DerError::BadLength);
    }
    let bytes = rest.get(..n).ok_or(DerError::Truncated)?;
    if bytes[0] == 0 {
        return Err(DerError::BadLength);
    }
    let len = bytes
        .iter()
        .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
    if len < 0x80 {
        return Err(DerError::BadLength);
    }
    Ok((len, 1 + n))
}

/// Parse one complete value with `tag` spanning all of `input`.
pub fn single(input: &[u8], tag: u8) -> Result<Tlv<'_>, DerError> {
    let mut der = Der::new(input);
    let tlv = der.expect_tlv(tag)?;
    der.finish()?;
    Ok(tlv)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_long_lengths() {
        let mut der = Der::new(&[0x04, 0x02, 1, 2, 0x05, 0x00]);
        let t = der.read().unwrap();
        assert_eq!((t.tag, t.body, t.raw.len()), (0x04, &[1u8, 2][..], 4));
        assert_eq!(der.read().unwrap().body, &[] as &[u8]);
        assert!(der.is_empty());

        let mut long = alloc::vec![0x04, 0x81, 0x80];
        long.extend_from_slice(&[7u8; 0x80]);
        assert_eq!(single(&long, OCTET_STRING).unwrap().body.len(), 0x80);
    }

    #[test]
    fn rejects_bad_encodings() {
        assert_eq!(Der::new(&[0x04]).read().unwrap_err(), DerError::Truncated);
        assert_eq!(
            Der::new(&[0x04, 0x80]).read().unwrap_err(),
            DerError::BadLength
        );
        assert_eq!(
            Der::new(&[0x04, 0x81, 0x05, 0]).read().unwrap_err(),
            DerError::BadLength
        );
        assert_eq!(
            Der::new(&[0x04, 0x85, 1, 1, 1, 1, 1]).read().unwrap_err(),
            DerError::BadLength
        );
        assert_eq!(
            Der::new(&[0x04, 0x03, 1]).read().unwrap_err(),
            DerError::Truncated
        );
        assert_eq!(
            Der::new(&[0x1f, 0x01, 0]).read().unwrap_err(),
            DerError::UnsupportedTag
        );
        assert_eq!(
            Der::new(&[0x04, 0x84, 0xff, 0xff, 0xff, 0xff])
                .read()
                .unwrap_err(),
            DerError::Truncated
        );
        assert_eq!(
            single(&[0x05, 0x00, 0x00], 0x05).unwrap_err(),
            DerError::TrailingData
        );
        assert_eq!(
            single(&[0x05, 0x00], 0x04).unwrap_err(),
            DerError::UnexpectedTag {
                expected: 0x04,
                found: 0x05
            }
        );
    }

    #[test]
    fn optional_does_not_consume_other_tags() {
        let mut der = Der::new(&[0x02, 0x01, 0x05]);
        assert_eq!(der.optional(CONTEXT_0).unwrap(), None);
        assert_eq!(der.optional(INTEGER).unwrap(), Some(&[5u8][..]));
    }
}
