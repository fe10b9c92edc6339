//! virtio-blk (modern, one request queue) for the `storage` zone cache
//! under QEMU: the first virtio-blk device is the storage device (QEMU
//! gives the guest no names). Requests are synchronous: post the chain
//! header / data / status, notify, poll the used ring. Data crosses in the
//! queue's own slots, so reads of any offset and length work; writes must
//! be whole sectors (the zone cache writes padded archives).

use super::pci::{Kind, Mmio};
use super::queue::{Queue, SLOT};
use crate::clock;
use gitns_net::BlockError;

const SECTOR: u64 = 512;
const T_IN: u32 = 0;
const T_OUT: u32 = 1;
const T_FLUSH: u32 = 4;
const S_OK: u8 = 0;
const F_RO: u64 = 1 << 5;
const F_FLUSH: u64 = 1 << 9;
/// Descriptors we use: header, up to DATA_SLOTS data slots, status.
const QUEUE: u16 = 32;
const DATA_SLOTS: usize = 16;
/// Data bytes per request.
const CHUNK: usize = DATA_SLOTS * SLOT;
/// A request the device does not finish in this time fails.
const TIMEOUT_NS: u64 = 30_000_000_000;

/// A running virtio-blk device.
pub struct VirtioBlk {
    q: Queue,
    /// Capacity in bytes.
    pub capacity: u64,
    read_only: bool,
    flush: bool,
    notify: Mmio,
    notify_off: u32,
    /// A request timed out: its descriptors stay with the device.
    dead: bool,
}

/// Find and start the first virtio-blk device: Ok(None) when there is none.
pub fn probe() -> Result<Option<VirtioBlk>, &'static str> {
    let Some(s) = super::start(Kind::Block, F_RO | F_FLUSH)? else {
        return Ok(None);
    };
    let Some(size) = s.queue_size(0).map(|n| n.min(QUEUE)) else {
        s.fail();
        return Err("no request queue");
    };
    if (size as usize) < DATA_SLOTS + 2 {
        s.fail();
        return Err("request queue too small");
    }
    let q = Queue::new(size);
    let notify_off = s.enable(0, &q);
    let sectors = s.t.device.read32(0) as u64 | (s.t.device.read32(4) as u64) << 32;
    s.live();
    Ok(Some(VirtioBlk {
        q,
        capacity: sectors.saturating_mul(SECTOR),
        read_only: s.features & F_RO != 0,
        flush: s.features & F_FLUSH != 0,
        notify: s.t.notify,
        notify_off,
        dead: false,
    }))
}

impl VirtioBlk {
    fn check(&self, offset: u64, len: usize) -> Result<(), BlockError> {
        match offset.checked_add(len as u64) {
            Some(end) if end <= self.capacity => Ok(()),
            _ => Err(BlockError::OutOfRange),
        }
    }

    /// One request: `bytes` of data (a multiple of SECTOR, at most CHUNK)
    /// at `sector`, from `out` for T_OUT. The data is in slots 1.. after.
    fn request(
        &mut self,
        kind: u32,
        sector: u64,
        bytes: usize,
        out: &[u8],
    ) -> Result<(), BlockError> {
        if self.dead || bytes > CHUNK {
            return Err(BlockError::Device);
        }
        let h = self.q.buf_mut(0);
        h[0..4].copy_from_slice(&kind.to_le_bytes());
        h[4..8].fill(0);
        h[8..16].copy_from_slice(&sector.to_le_bytes());
        let slots = bytes.div_ceil(SLOT);
        let mut parts = [(0u16, 16u32, false); DATA_SLOTS + 2];
        for i in 0..slots {
            let len = (bytes - i * SLOT).min(SLOT);
            let id = 1 + i as u16;
            if kind == T_OUT {
                self.q.buf_mut(id)[..len].copy_from_slice(&out[i * SLOT..i * SLOT + len]);
            }
            parts[1 + i] = (id, len as u32, kind == T_IN);
        }
        let status = 1 + slots as u16;
        self.q.buf_mut(status)[0] = 0xff;
        parts[1 + slots] = (status, 1, true);
        if !self.q.post_chain(&parts[..slots + 2]) {
            return Err(BlockError::Device);
        }
        self.notify.write16(self.notify_off, 0);
        let until = clock::monotonic_ns().saturating_add(TIMEOUT_NS);
        let used = loop {
            if let Some(r) = self.q.pop_used() {
                break r;
            }
            if self.q.broken() || clock::monotonic_ns() > until {
                self.dead = true;
                return Err(BlockError::Device);
            }
            core::hint::spin_loop();
        };
        // The device writes the data of a read and the status byte.
        let expect = if kind == T_IN { bytes + 1 } else { 1 };
        match used {
            Ok(u) if u.id == 0 && u.len as usize >= expect && self.q.buf(status)[0] == S_OK => {
                Ok(())
            }
            _ => Err(BlockError::Device),
        }
    }

    /// Read `buf.len()` bytes at `offset`.
    pub fn read(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), BlockError> {
        self.check(offset, buf.len())?;
        let mut done = 0;
        while done < buf.len() {
            let pos = offset + done as u64;
            let skip = (pos % SECTOR) as usize;
            let bytes = (skip + buf.len() - done)
                .next_multiple_of(SECTOR as usize)
                .min(CHUNK);
            // Sectors past the capacity cannot be asked for (capacity is whole sectors).
            self.request(T_IN, pos / SECTOR, bytes, &[])?;
            let n = (bytes - skip).min(buf.len() - done);
            for k in 0..n {
                let at = skip + k;
                buf[done + k] = self.q.buf(1 + (at / SLOT) as u16)[at % SLOT];
            }
            done += n;
        }
        Ok(())
    }

    /// Write `data` at `offset`, both whole sectors, then flush.
    pub fn write(&mut self, offset: u64, data: &[u8]) -> Result<(), BlockError> {
        self.check(offset, data.len())?;
        if self.read_only
            || !offset.is_multiple_of(SECTOR)
            || !(data.len() as u64).is_multiple_of(SECTOR)
        {
            return Err(BlockError::Device);
        }
        for (i, chunk) in data.chunks(CHUNK).enumerate() {
            let sector = (offset + (i * CHUNK) as u64) / SECTOR;
            self.request(T_OUT, sector, chunk.len(), chunk)?;
        }
        if self.flush {
            self.request(T_FLUSH, 0, 0, &[])?;
        }
        Ok(())
    }
}
