//! The platform's `storage` block device as the zone cache's device
//! (the cache itself is the crate gitns-store).

use gitns_net::Platform;
use gitns_store::{Device, DeviceError};

/// The storage device of a platform.
pub struct PlatformStore<'a, P: Platform>(pub &'a mut P);

impl<P: Platform> Device for PlatformStore<'_, P> {
    fn capacity(&self) -> Option<u64> {
        self.0.block_capacity()
    }

    fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), DeviceError> {
        self.0.block_read(offset, buf).map_err(|_| DeviceError)
    }

    fn write_at(&mut self, offset: u64, data: &[u8]) -> Result<(), DeviceError> {
        self.0.block_write(offset, data).map_err(|e| {
            log::error!("zone cache write failed: {e:?}");
            DeviceError
        })
    }
}
