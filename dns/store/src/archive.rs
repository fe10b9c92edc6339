//! A ustar (POSIX.1-1988 / pax-compatible) archive reader and writer: the
//! zone and key files of the zone cache as one image.
//!
//! Only regular files at the root of the archive are returned (zone files
//! and `_keys` files live at the repository root); directories, links, pax
//! and GNU extension headers are skipped. Every size is checked against the
//! device and the limits, so a corrupt device is an error, never a panic or
//! an unbounded allocation.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

/// Size of a tar block.
pub const BLOCK: usize = 512;

/// Why an archive was rejected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TarError {
    /// A header's checksum does not match (offset of the header).
    BadChecksum(u64),
    /// A header field is not a valid octal number.
    BadNumber(u64),
    /// The archive runs past the end of the device.
    Truncated(u64),
    /// More data than the limit allows.
    TooLarge,
    /// The device could not be read.
    Io,
}

/// Limits on what is read.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_total: u64,
    pub max_files: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_total: 256 << 20,
            max_files: 10_000,
        }
    }
}

/// One root-level regular file: its name and contents (as the zone set
/// loads them).
pub type File = (String, Vec<u8>);

/// Read the root-level regular files of an archive of `capacity` bytes,
/// reading through `read_at(offset, buf)`; with them, where the archive
/// ends: after the two zero blocks that close it, None when it runs to
/// the end of the device.
pub fn read<E>(
    capacity: u64,
    limits: Limits,
    mut read_at: impl FnMut(u64, &mut [u8]) -> Result<(), E>,
) -> Result<(Vec<File>, Option<u64>), TarError> {
    let mut files = Vec::new();
    let mut total = 0u64;
    let mut off = 0u64;
    let mut header = [0u8; BLOCK];
    while off + BLOCK as u64 <= capacity {
        read_at(off, &mut header).map_err(|_| TarError::Io)?;
        if header.iter().all(|&b| b == 0) {
            // End of archive (POSIX: two zero blocks).
            let end = off + 2 * BLOCK as u64;
            return Ok((files, (end <= capacity).then_some(end)));
        }
        verify_checksum(&header, off)?;
        let size = octal(&header[124..136]).ok_or(TarError::BadNumber(off))?;
        let data_off = off + BLOCK as u64;
        let padded = size
            .checked_add(BLOCK as u64 - 1)
            .ok_or(TarError::TooLarge)?
            / BLOCK as u64
            * BLOCK as u64;
        let next = data_off.checked_add(padded).ok_or(TarError::TooLarge)?;
        if next > capacity {
            return Err(TarError::Truncated(off));
        }
        let kind = header[156];
        if kind == b'0' || kind == 0 {
            if let Some(name) = root_name(&header) {
                total += size;
                if total > limits.max_total || files.len() >= limits.max_files {
                    return Err(TarError::TooLarge);
                }
                let mut data = vec![0u8; size as usize];
                read_at(data_off, &mut data).map_err(|_| TarError::Io)?;
                files.push((name, data));
            }
        }
        off = next;
    }
    Ok((files, None))
}

/// The file name when it sits at the archive root (`name` or `./name`).
fn root_name(h: &[u8; BLOCK]) -> Option<String> {
    let prefix = cstr(&h[345..500]);
    if !prefix.is_empty() && prefix != b"." {
        return None;
    }
    let name = cstr(&h[0..100]);
    let name = name.strip_prefix(b"./").unwrap_or(name);
    if name.is_empty() || name.contains(&b'/') || name == b"." || name == b".." {
        return None;
    }
    String::from_utf8(name.to_vec()).ok()
}

fn cstr(b: &[u8]) -> &[u8] {
    &b[..b.iter().position(|&c| c == 0).unwrap_or(b.len())]
}

/// An octal field (spaces/NULs around it allowed), or GNU base-256.
fn octal(field: &[u8]) -> Option<u64> {
    if field.first().is_some_and(|b| b & 0x80 != 0) {
        let mut v: u64 = (field[0] & 0x7f) as u64;
        for &b in &field[1..] {
            v = v.checked_mul(256)?.checked_add(b as u64)?;
        }
        return Some(v);
    }
    let digits = field
        .iter()
        .copied()
        .skip_while(|&b| b == b' ')
        .take_while(|&b| b != 0 && b != b' ');
    let mut v = 0u64;
    let mut any = false;
    for d in digits {
        if !(b'0'..=b'7').contains(&d) {
            return None;
        }
        v = v.checked_mul(8)?.checked_add((d - b'0') as u64)?;
        any = true;
    }
    any.then_some(v).or(Some(0))
}

fn checksum(h: &[u8; BLOCK]) -> u64 {
    h.iter()
        .enumerate()
        .map(|(i, &b)| {
            if (148..156).contains(&i) {
                b' ' as u64
            } else {
                b as u64
            }
        })
        .sum()
}

fn verify_checksum(h: &[u8; BLOCK], off: u64) -> Result<(), TarError> {
    let stored = octal(&h[148..156]).ok_or(TarError::BadChecksum(off))?;
    if stored == checksum(h) {
        Ok(())
    } else {
        Err(TarError::BadChecksum(off))
    }
}

/// Write root-level files as a ustar archive (with the two zero blocks).
pub fn write(files: &[File], mtime: u64) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, data) in files {
        let mut h = [0u8; BLOCK];
        let name = name.as_bytes();
        let n = name.len().min(100);
        h[..n].copy_from_slice(&name[..n]);
        put_octal(&mut h[100..108], 0o644);
        put_octal(&mut h[108..116], 0);
        put_octal(&mut h[116..124], 0);
        put_octal(&mut h[124..136], data.len() as u64);
        put_octal(&mut h[136..148], mtime);
        h[156] = b'0';
        h[257..263].copy_from_slice(b"ustar\0");
        h[263..265].copy_from_slice(b"00");
        let sum = checksum(&h);
        put_octal(&mut h[148..155], sum);
        h[155] = b' ';
        out.extend_from_slice(&h);
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(BLOCK) * BLOCK, 0);
    }
    out.resize(out.len() + 2 * BLOCK, 0);
    out
}

/// Zero-padded octal with a NUL terminator filling the field.
fn put_octal(field: &mut [u8], mut v: u64) {
    let last = field.len() - 1;
    field[last] = 0;
    for i in (0..last).rev() {
        field[i] = b'0' + (v & 7) as u8;
        v >>= 3;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    fn file(name: &str, data: &str) -> File {
        (name.to_string(), data.as_bytes().to_vec())
    }

    fn read_buf(buf: &[u8]) -> Result<Vec<File>, TarError> {
        read(
            buf.len() as u64,
            Limits::default(),
            |off, out: &mut [u8]| {
                let s = off as usize;
                out.copy_from_slice(buf.get(s..s + out.len()).ok_or(())?);
                Ok::<(), ()>(())
            },
        )
        .map(|(files, _)| files)
    }

    #[test]
    fn round_trip() {
        let files = [
            file("example.org", "@ SOA a b 1 2 3 4 5\n"),
            file("example.org._keys", ""),
            file("x", &"y".repeat(1000)),
        ];
        let tar = write(&files, 1_700_000_000);
        assert_eq!(tar.len() % BLOCK, 0);
        assert_eq!(read_buf(&tar).unwrap(), files);
        // It ends after its two zero blocks (where the journal starts).
        let mut dev = tar.clone();
        dev.resize(tar.len() + 4 * BLOCK, 0xee);
        let end = read(
            dev.len() as u64,
            Limits::default(),
            |off, out: &mut [u8]| {
                out.copy_from_slice(&dev[off as usize..off as usize + out.len()]);
                Ok::<(), ()>(())
            },
        )
        .unwrap()
        .1;
        assert_eq!(end, Some(tar.len() as u64));
    }

    #[test]
    fn skips_subdirectories_and_dot_prefix() {
        let mut tar = write(&[file("./a", "1"), file("dir/b", "2")], 0);
        // Mark nothing else; "dir/b" is below the root and must be skipped.
        let got = read_buf(&tar).unwrap();
        assert_eq!(got, [file("a", "1")]);
        tar.truncate(BLOCK + 100);
        assert!(matches!(
            read_buf(&tar),
            Err(TarError::Truncated(0)) | Ok(_)
        ));
    }

    #[test]
    fn corrupt_headers_are_errors() {
        let mut tar = write(&[file("a", "1")], 0);
        tar[0] = b'b';
        assert_eq!(read_buf(&tar), Err(TarError::BadChecksum(0)));
        let mut tar = write(&[file("a", &"z".repeat(600))], 0);
        tar.truncate(2 * BLOCK);
        assert_eq!(read_buf(&tar), Err(TarError::Truncated(0)));
        let tar = write(&[file("a", &"z".repeat(600))], 0);
        let small = Limits {
            max_total: 100,
            max_files: 10,
        };
        let r = read(tar.len() as u64, small, |off, out: &mut [u8]| {
            out.copy_from_slice(&tar[off as usize..off as usize + out.len()]);
            Ok::<(), ()>(())
        });
        assert_eq!(r.map(|(f, _)| f), Err(TarError::TooLarge));
    }

    #[test]
    fn reads_gnu_tar_output() {
        // Header written by GNU tar 1.34 for a 5-byte file "zone" (checksum
        // field "0011362\0 " style differs from ours).
        let mut h = [0u8; BLOCK];
        h[..4].copy_from_slice(b"zone");
        h[100..108].copy_from_slice(b"0000644\0");
        h[124..136].copy_from_slice(b"00000000005\0");
        h[156] = b'0';
        h[257..265].copy_from_slice(b"ustar  \0");
        let sum = checksum(&h);
        let s = alloc::format!("{sum:06o}\0 ");
        h[148..156].copy_from_slice(s.as_bytes());
        let mut tar = h.to_vec();
        tar.extend_from_slice(b"hello");
        tar.resize(3 * BLOCK + BLOCK, 0);
        assert_eq!(read_buf(&tar).unwrap(), [file("zone", "hello")]);
    }
}
