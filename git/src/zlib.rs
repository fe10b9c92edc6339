//! zlib streams (RFC 1950) with hard limits: a pack entry inflates to
//! exactly its declared size, never more.

use alloc::vec;
use alloc::vec::Vec;
use miniz_oxide::inflate::stream::{inflate, InflateState};
use miniz_oxide::{DataFormat, MZFlush, MZStatus};

/// A broken or oversized stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ZlibError {
    /// Corrupt data.
    Corrupt,
    /// The input ended before the stream did.
    Truncated,
    /// The stream inflates to a size other than the declared one.
    WrongSize,
}

/// Inflate one zlib stream at the start of `input` that must produce
/// exactly `size` bytes. Returns the data and the input bytes consumed.
pub fn inflate_exact(input: &[u8], size: usize) -> Result<(Vec<u8>, usize), ZlibError> {
    let mut state = InflateState::new_boxed(DataFormat::Zlib);
    // One byte of slack to notice a stream longer than declared.
    let mut out = vec![0u8; size + 1];
    let mut consumed = 0;
    let mut written = 0;
    loop {
        let r = inflate(
            &mut state,
            &input[consumed..],
            &mut out[written..],
            MZFlush::None,
        );
        consumed += r.bytes_consumed;
        written += r.bytes_written;
        match r.status {
            Ok(MZStatus::StreamEnd) => break,
            Ok(_) if written > size => return Err(ZlibError::WrongSize),
            Ok(_) if consumed >= input.len() => return Err(ZlibError::Truncated),
            Ok(_) if r.bytes_consumed == 0 && r.bytes_written == 0 => {
                return Err(ZlibError::Truncated)
            }
            Ok(_) => {}
            Err(miniz_oxide::MZError::Buf) => {
                return Err(if consumed >= input.len() {
                    ZlibError::Truncated
                } else {
                    ZlibError::WrongSize
                })
            }
            Err(_) => return Err(ZlibError::Corrupt),
        }
    }
    if written != size {
        return Err(ZlibError::WrongSize);
    }
    out.truncate(size);
    Ok((out, consumed))
}

/// Deflate (for objects we write).
pub fn deflate(data: &[u8]) -> Vec<u8> {
    miniz_oxide::deflate::compress_to_vec_zlib(data, 6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_sizes_and_bombs() {
        let data = alloc::vec![b'x'; 100_000];
        let mut z = deflate(&data);
        let total = z.len();
        z.extend_from_slice(b"trailing");
        let (out, used) = inflate_exact(&z, 100_000).unwrap();
        assert_eq!((out.len(), used), (100_000, total));
        assert_eq!(
            inflate_exact(&z, 10),
            Err(ZlibError::WrongSize),
            "declared small, inflates big"
        );
        assert_eq!(inflate_exact(&z, 100_001), Err(ZlibError::WrongSize));
        assert_eq!(
            inflate_exact(&z[..total / 2], 100_000),
            Err(ZlibError::Truncated)
        );
        assert!(inflate_exact(b"\x78\x9cgarbage!", 5).is_err());
    }
}
