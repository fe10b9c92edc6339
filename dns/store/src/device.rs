//! The block device the zone cache lives on, as the crate sees it: a
//! capacity, and reads and writes at byte offsets (writes of whole
//! sectors). The appliance implements it over its platform; [`Memory`]
//! is one in memory (tests, fuzzing, tools).

use alloc::vec::Vec;

/// The device's unit of writing: every write is whole sectors at a
/// sector boundary, so a crash tears at most the sector being written.
pub const SECTOR: usize = 512;

/// The device did not take a read or a write (it failed, the range is
/// past its end, or what is to be written does not fit), or there is none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeviceError;

/// A block device.
pub trait Device {
    /// Bytes the device holds; None without one.
    fn capacity(&self) -> Option<u64>;
    /// Fill `buf` from `offset` on; Err when the device cannot.
    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), DeviceError>;
    /// Write whole sectors at `offset` (a multiple of [`SECTOR`]); Err
    /// when they are not durable.
    fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<(), DeviceError>;
}

/// A device in memory: its bytes are the device.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Memory {
    pub bytes: Vec<u8>,
}

impl Memory {
    /// A zeroed device of `size` bytes.
    pub fn zeroed(size: usize) -> Memory {
        Memory {
            bytes: alloc::vec![0; size],
        }
    }

    /// The bytes `offset .. offset + len`, when the device holds them.
    fn range(&self, offset: u64, len: usize) -> Option<core::ops::Range<usize>> {
        let start = usize::try_from(offset).ok()?;
        let end = start.checked_add(len)?;
        (end <= self.bytes.len()).then_some(start..end)
    }
}

impl Device for Memory {
    fn capacity(&self) -> Option<u64> {
        Some(self.bytes.len() as u64)
    }

    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), DeviceError> {
        let r = self.range(offset, buf.len()).ok_or(DeviceError)?;
        buf.copy_from_slice(&self.bytes[r]);
        Ok(())
    }

    fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<(), DeviceError> {
        let r = self.range(offset, data.len()).ok_or(DeviceError)?;
        self.bytes[r].copy_from_slice(data);
        Ok(())
    }
}

/// Test devices: one whose writes all fail while `fail` is set.
#[cfg(test)]
pub(crate) mod testing {
    use super::{Device, DeviceError, Memory};

    pub(crate) struct Failing {
        pub(crate) mem: Memory,
        pub(crate) fail: bool,
    }

    pub(crate) fn disk(size: usize) -> Failing {
        Failing {
            mem: Memory::zeroed(size),
            fail: false,
        }
    }

    impl Device for Failing {
        fn capacity(&self) -> Option<u64> {
            self.mem.capacity()
        }

        fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), DeviceError> {
            self.mem.read_at(offset, buf)
        }

        fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<(), DeviceError> {
            if self.fail {
                return Err(DeviceError);
            }
            self.mem.write_at(offset, data)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_refuses_what_it_does_not_hold() {
        let mut m = Memory::zeroed(1024);
        m.write_at(512, &[7; 512]).unwrap();
        let mut b = [0u8; 4];
        m.read_at(1020, &mut b).unwrap();
        assert_eq!(b, [7; 4]);
        assert!(m.read_at(1021, &mut b).is_err());
        assert!(m.write_at(1024, &[0; 512]).is_err());
        assert!(m.read_at(u64::MAX, &mut b).is_err());
    }
}
