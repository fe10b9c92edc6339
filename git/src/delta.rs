//! Git delta application (the OFS_DELTA/REF_DELTA payload): a base size,
//! a result size, then copy-from-base and insert instructions. Every offset
//! and length is checked against the base and the declared result size.

use alloc::vec::Vec;

/// A malformed delta.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeltaError {
    Truncated,
    BaseSizeMismatch,
    CopyOutOfRange,
    ResultSizeMismatch,
    ReservedOpcode,
    TooLarge,
}

fn varint(d: &[u8], i: &mut usize) -> Result<usize, DeltaError> {
    let mut v: usize = 0;
    let mut shift = 0;
    loop {
        let b = *d.get(*i).ok_or(DeltaError::Truncated)?;
        *i += 1;
        if shift > 56 {
            return Err(DeltaError::TooLarge);
        }
        v |= ((b & 0x7f) as usize) << shift;
        shift += 7;
        if b & 0x80 == 0 {
            return Ok(v);
        }
    }
}

/// Apply `delta` to `base`; the result may not exceed `max` bytes.
pub fn apply(base: &[u8], delta: &[u8], max: usize) -> Result<Vec<u8>, DeltaError> {
    let mut i = 0;
    if varint(delta, &mut i)? != base.len() {
        return Err(DeltaError::BaseSizeMismatch);
    }
    let size = varint(delta, &mut i)?;
    if size > max {
        return Err(DeltaError::TooLarge);
    }
    let mut out = Vec::with_capacity(size);
    while i < delta.len() {
        let op = delta[i];
        i += 1;
        if op & 0x80 != 0 {
            let mut off: usize = 0;
            let mut len: usize = 0;
            for k in 0..4 {
                if op & (1 << k) != 0 {
                    off |= (*delta.get(i).ok_or(DeltaError::Truncated)? as usize) << (8 * k);
                    i += 1;
                }
            }
            for k in 0..3 {
                if op & (0x10 << k) != 0 {
                    len |= (*delta.get(i).ok_or(DeltaError::Truncated)? as usize) << (8 * k);
                    i += 1;
                }
            }
            if len == 0 {
                len = 0x10000;
            }
            let src = base
                .get(off..off.checked_add(len).ok_or(DeltaError::CopyOutOfRange)?)
                .ok_or(DeltaError::CopyOutOfRange)?;
            if out.len() + src.len() > size {
                return Err(DeltaError::ResultSizeMismatch);
            }
            out.extend_from_slice(src);
        } else if op != 0 {
            let n = op as usize;
            let src = delta.get(i..i + n).ok_or(DeltaError::Truncated)?;
            if out.len() + n > size {
                return Err(DeltaError::ResultSizeMismatch);
            }
            out.extend_from_slice(src);
            i += n;
        } else {
            return Err(DeltaError::ReservedOpcode);
        }
    }
    if out.len() != size {
        return Err(DeltaError::ResultSizeMismatch);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_and_insert() {
        let base = b"hello world";
        // base 11, result 11: copy 0..6 ("hello "), insert "there"
        let d = [
            11,
            11,
            0x80 | 0x01 | 0x10,
            0,
            6,
            5,
            b't',
            b'h',
            b'e',
            b'r',
            b'e',
        ];
        // op 0x91: offset byte present (0x01) = 0, length byte (0x10) = 6
        assert_eq!(apply(base, &d, 100).unwrap(), b"hello there");
    }

    #[test]
    fn hostile_deltas() {
        let base = b"abc";
        assert_eq!(
            apply(base, &[4, 1, 1, b'x'], 10),
            Err(DeltaError::BaseSizeMismatch)
        );
        assert_eq!(
            apply(base, &[3, 5, 0x91, 2, 5], 10),
            Err(DeltaError::CopyOutOfRange)
        );
        assert_eq!(apply(base, &[3, 1, 0], 10), Err(DeltaError::ReservedOpcode));
        assert_eq!(
            apply(base, &[3, 2, 3, b'x'], 10),
            Err(DeltaError::Truncated)
        );
        assert_eq!(
            apply(base, &[3, 100, 1, b'x'], 10),
            Err(DeltaError::TooLarge)
        );
        assert_eq!(
            apply(base, &[3, 2, 1, b'x'], 10),
            Err(DeltaError::ResultSizeMismatch)
        );
        assert_eq!(
            apply(
                base,
                &[3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f],
                10
            ),
            Err(DeltaError::TooLarge)
        );
    }
}
