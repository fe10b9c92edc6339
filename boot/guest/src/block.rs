//! The block device named in the manifest, through BLOCK_READ / BLOCK_WRITE.
//!
//! The manifest's `block_size` (512 unless the operator gave solo5-hvt's
//! `--block-sector-size:storage=N`) is the device's unit of I/O: Solo5's
//! own bindings refuse any read or write that is not one whole, aligned
//! block. The appliance's storage code works in 512-byte sectors, so on a
//! device with larger sectors every hypercall here still covers whole,
//! aligned device sectors: a partial first or last sector is read, patched
//! and written back (the device never sees a sub-sector write, and a crash
//! tears at most the sectors a write covers, as on a 512-byte device).

use crate::hypercall;
use alloc::vec;
use gitns_abi::hypercall::{BlockRead, BlockWrite, Nr, RESULT_OK};
use gitns_abi::manifest::MFT_DEV_BLOCK_BASIC;
use gitns_net::BlockError;

/// An attached block device.
#[derive(Clone, Copy, Debug)]
pub struct BlockDevice {
    pub handle: u64,
    pub capacity: u64,
    pub block_size: u16,
}

/// Find the attached block device called `name` in the manifest copy at `mft`.
pub(crate) fn find(mft: u64, name: &str) -> Option<BlockDevice> {
    let (handle, e) = crate::manifest::find(mft, name, MFT_DEV_BLOCK_BASIC)?;
    Some(BlockDevice {
        handle,
        capacity: e.u[0],
        block_size: (e.u[1] & 0xffff) as u16,
    })
}

/// Whole-sector reads (offset, buffer) and writes (offset, data).
type ReadFn<'a> = dyn FnMut(u64, &mut [u8]) -> Result<(), BlockError> + 'a;
type WriteFn<'a> = dyn FnMut(u64, &[u8]) -> Result<(), BlockError> + 'a;

/// Whether `size` is a sector size the platform can honour: a power of two
/// of at least 512 (what solo5-hvt accepts).
pub fn sector_size_ok(size: u16) -> bool {
    size >= 512 && size.is_power_of_two()
}

/// Read `buf.len()` bytes at `offset` with `read` called only on whole
/// `sector`-aligned sectors.
pub(crate) fn read_aligned(
    sector: u64,
    mut offset: u64,
    mut buf: &mut [u8],
    read: &mut ReadFn,
) -> Result<(), BlockError> {
    let mut bounce = vec![];
    while !buf.is_empty() {
        let skip = offset % sector;
        let whole = (buf.len() as u64 - buf.len() as u64 % sector) as usize;
        let n = if skip == 0 && whole > 0 {
            read(offset, &mut buf[..whole])?;
            whole
        } else {
            bounce.resize(sector as usize, 0);
            read(offset - skip, &mut bounce)?;
            let n = (sector - skip).min(buf.len() as u64) as usize;
            buf[..n].copy_from_slice(&bounce[skip as usize..skip as usize + n]);
            n
        };
        offset += n as u64;
        buf = &mut buf[n..];
    }
    Ok(())
}

/// Write `data` at `offset` with `write` (and `read`, to fill a partial
/// first or last sector) called only on whole `sector`-aligned sectors.
pub(crate) fn write_aligned(
    sector: u64,
    mut offset: u64,
    mut data: &[u8],
    read: &mut ReadFn,
    write: &mut WriteFn,
) -> Result<(), BlockError> {
    let mut bounce = vec![];
    while !data.is_empty() {
        let skip = offset % sector;
        let whole = (data.len() as u64 - data.len() as u64 % sector) as usize;
        let n = if skip == 0 && whole > 0 {
            write(offset, &data[..whole])?;
            whole
        } else {
            bounce.resize(sector as usize, 0);
            read(offset - skip, &mut bounce)?;
            let n = (sector - skip).min(data.len() as u64) as usize;
            bounce[skip as usize..skip as usize + n].copy_from_slice(&data[..n]);
            write(offset - skip, &bounce)?;
            n
        };
        offset += n as u64;
        data = &data[n..];
    }
    Ok(())
}

impl BlockDevice {
    fn check(&self, offset: u64, len: usize) -> Result<(), BlockError> {
        match offset.checked_add(len as u64) {
            Some(end) if end <= self.capacity => Ok(()),
            _ => Err(BlockError::OutOfRange),
        }
    }

    /// Read `buf.len()` bytes at `offset`.
    pub fn read(&self, offset: u64, buf: &mut [u8]) -> Result<(), BlockError> {
        self.check(offset, buf.len())?;
        read_aligned(self.block_size as u64, offset, buf, &mut |o, b| {
            self.read_sectors(o, b)
        })
    }

    /// Write `data` at `offset`.
    pub fn write(&self, offset: u64, data: &[u8]) -> Result<(), BlockError> {
        self.check(offset, data.len())?;
        write_aligned(
            self.block_size as u64,
            offset,
            data,
            &mut |o, b| self.read_sectors(o, b),
            &mut |o, d| self.write_sectors(o, d),
        )
    }

    /// BLOCK_READ of whole sectors.
    fn read_sectors(&self, offset: u64, buf: &mut [u8]) -> Result<(), BlockError> {
        let mut arg = BlockRead {
            handle: self.handle,
            offset,
            data: buf.as_mut_ptr() as u64,
            len: buf.len() as u64,
            ret: 0,
        };
        hypercall::call(Nr::BlockRead, &mut arg);
        if arg.ret == RESULT_OK {
            Ok(())
        } else {
            Err(BlockError::Device)
        }
    }

    /// BLOCK_WRITE of whole sectors.
    fn write_sectors(&self, offset: u64, data: &[u8]) -> Result<(), BlockError> {
        let mut arg = BlockWrite {
            handle: self.handle,
            offset,
            data: data.as_ptr() as u64,
            len: data.len() as u64,
            ret: 0,
        };
        hypercall::call(Nr::BlockWrite, &mut arg);
        if arg.ret == RESULT_OK {
            Ok(())
        } else {
            Err(BlockError::Device)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;
    use core::cell::RefCell;

    /// A device of `n` bytes that refuses any I/O not of whole sectors.
    fn run(sector: u64, n: usize, offset: u64, data: &[u8]) -> (Vec<u8>, Vec<u8>) {
        let disk = RefCell::new((0..n).map(|i| (i % 251) as u8).collect::<Vec<u8>>());
        let whole = |o: u64, len: usize| {
            assert_eq!(o % sector, 0, "unaligned offset {o}");
            assert_eq!(len as u64 % sector, 0, "partial sector of {len}");
        };
        let mut read = |o: u64, b: &mut [u8]| {
            whole(o, b.len());
            b.copy_from_slice(&disk.borrow()[o as usize..o as usize + b.len()]);
            Ok(())
        };
        let mut write = |o: u64, d: &[u8]| {
            whole(o, d.len());
            disk.borrow_mut()[o as usize..o as usize + d.len()].copy_from_slice(d);
            Ok(())
        };
        write_aligned(sector, offset, data, &mut read, &mut write).unwrap();
        let mut back = vec![0u8; data.len()];
        read_aligned(sector, offset, &mut back, &mut read).unwrap();
        (disk.into_inner(), back)
    }

    #[test]
    fn io_on_larger_sectors_covers_whole_sectors_only() {
        let data: Vec<u8> = (0..5000u32).map(|i| (i * 7) as u8).collect();
        for sector in [512u64, 4096, 32768] {
            for (offset, len) in [
                (0u64, 512usize),
                (512, 512),
                (512, 5000),
                (4096, 4096),
                (3584, 1024),
                (100, 3),
            ] {
                let (disk, back) = run(sector, 65536, offset, &data[..len]);
                assert_eq!(back, &data[..len], "sector {sector} at {offset}+{len}");
                let mut want: Vec<u8> = (0..65536).map(|i| (i % 251) as u8).collect();
                want[offset as usize..offset as usize + len].copy_from_slice(&data[..len]);
                assert!(
                    disk == want,
                    "sector {sector} at {offset}+{len}: bytes outside the write changed"
                );
            }
        }
    }

    #[test]
    fn sector_sizes_as_solo5_hvt_accepts_them() {
        assert!(sector_size_ok(512) && sector_size_ok(4096) && sector_size_ok(32768));
        assert!(!sector_size_ok(0) && !sector_size_ok(256) && !sector_size_ok(521));
    }
}
