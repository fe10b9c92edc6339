//! Many frames per exit through the NET_EXCHANGE extension (offered by
//! gitns-hvt with host feature FEATURE_NET_EXCHANGE). A hypercall exit costs
//! ~30 us on PVM hosts, so frames queue here and cross in batches: one exit
//! per main-loop turn under load.

use crate::hypercall;
use alloc::vec;
use alloc::vec::Vec;
use gitns_abi::hypercall::{IoVec, NetExchange, Nr, RESULT_OK};

/// Most frames per batch in each direction.
pub const FRAMES: usize = 128;
/// Bytes of frame slots per direction: 128 frames of an MTU of 1500, fewer
/// (at least [`MIN_FRAMES`]) of a jumbo MTU.
pub const SLOT_BYTES: usize = FRAMES * 1536;
/// Fewest frames per batch, whatever the MTU.
pub const MIN_FRAMES: usize = 16;

/// Bytes per frame slot for `mtu`: the MTU plus an Ethernet header and a
/// VLAN tag, rounded up to 64 (1536 for 1500).
pub fn slot_size(mtu: usize) -> usize {
    (mtu + 18).div_ceil(64) * 64
}

/// Frames per batch for slots of `slot` bytes.
pub fn frames_for(slot: usize) -> usize {
    (SLOT_BYTES / slot).clamp(MIN_FRAMES, FRAMES)
}

/// Queued transmit frames and received frames not yet taken.
pub struct Batch {
    handle: u64,
    /// Bytes per frame slot and frames per batch (from the MTU).
    slot: usize,
    frames: usize,
    tx: Vec<u8>,
    tx_iov: Vec<IoVec>,
    tx_n: usize,
    rx: Vec<u8>,
    rx_iov: Vec<IoVec>,
    rx_n: usize,
    rx_pos: usize,
    /// Exits made, for the counters.
    pub exchanges: u64,
}

impl Batch {
    /// Batches for the device `handle` with this MTU.
    pub fn new(handle: u64, mtu: usize) -> Batch {
        let slot = slot_size(mtu);
        let frames = frames_for(slot);
        Batch {
            handle,
            slot,
            frames,
            tx: vec![0; frames * slot],
            tx_iov: vec![IoVec::default(); frames],
            tx_n: 0,
            rx: vec![0; frames * slot],
            rx_iov: vec![IoVec::default(); frames],
            rx_n: 0,
            rx_pos: 0,
            exchanges: 0,
        }
    }

    /// One exit: send the queued frames; receive when the rx queue is empty,
    /// waiting up to `timeout_ns` if nothing is pending.
    fn exchange(&mut self, timeout_ns: u64) -> bool {
        let can_rx = self.rx_pos >= self.rx_n;
        if can_rx {
            for (i, v) in self.rx_iov.iter_mut().enumerate() {
                *v = IoVec {
                    data: self.rx.as_ptr() as u64 + (i * self.slot) as u64,
                    len: self.slot as u64,
                };
            }
        }
        let mut arg = NetExchange {
            handle: self.handle,
            tx: self.tx_iov.as_ptr() as u64,
            rx: self.rx_iov.as_ptr() as u64,
            timeout_nsecs: if can_rx { timeout_ns } else { 0 },
            tx_count: self.tx_n as u32,
            rx_count: if can_rx { self.frames as u32 } else { 0 },
            ..Default::default()
        };
        hypercall::call(Nr::NetExchange, &mut arg);
        self.exchanges += 1;
        self.tx_n = 0;
        if arg.ret != RESULT_OK {
            return false;
        }
        if can_rx {
            self.rx_n = (arg.rx_done as usize).min(self.frames);
            self.rx_pos = 0;
        }
        true
    }

    /// Queue a frame; exchanges first when the queue is full.
    pub fn send(&mut self, frame: &[u8]) -> bool {
        if frame.len() > self.slot {
            return false;
        }
        if self.tx_n == self.frames {
            self.exchange(0);
        }
        let at = self.tx_n * self.slot;
        self.tx[at..at + frame.len()].copy_from_slice(frame);
        self.tx_iov[self.tx_n] = IoVec {
            data: self.tx.as_ptr() as u64 + at as u64,
            len: frame.len() as u64,
        };
        self.tx_n += 1;
        true
    }

    /// Send queued frames now.
    pub fn flush(&mut self) {
        if self.tx_n > 0 {
            self.exchange(0);
        }
    }

    /// Take one received frame into `buf`; None when the frames of the last
    /// exchange are used up (the next exchange is the main loop's poll).
    pub fn recv(&mut self, buf: &mut [u8]) -> Option<usize> {
        if self.rx_pos >= self.rx_n {
            return None;
        }
        let len = (self.rx_iov[self.rx_pos].len as usize)
            .min(self.slot)
            .min(buf.len());
        let at = self.rx_pos * self.slot;
        buf[..len].copy_from_slice(&self.rx[at..at + len]);
        self.rx_pos += 1;
        Some(len)
    }

    /// The one exit of a main-loop turn: send what the turn queued and take
    /// the frames that arrived, waiting up to `timeout_ns` when there is
    /// nothing to do; true when a frame is ready.
    pub fn poll(&mut self, timeout_ns: u64) -> bool {
        if self.rx_pos < self.rx_n {
            self.flush();
            return true;
        }
        self.exchange(timeout_ns);
        self.rx_pos < self.rx_n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_follow_the_mtu_within_a_byte_budget() {
        assert_eq!((slot_size(1500), frames_for(slot_size(1500))), (1536, 128));
        assert_eq!(slot_size(9000), 9024);
        assert_eq!(frames_for(9024), 21);
        assert_eq!(frames_for(slot_size(576)), FRAMES);
        assert_eq!(frames_for(slot_size(65535)), MIN_FRAMES);
    }
}
