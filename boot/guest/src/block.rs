//! The block device named in the manifest, through BLOCK_READ / BLOCK_WRITE.

use crate::hypercall;
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

    /// Write `data` at `offset`.
    pub fn write(&self, offset: u64, data: &[u8]) -> Result<(), BlockError> {
        self.check(offset, data.len())?;
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
