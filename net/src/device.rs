//! A smoltcp `Device` over the platform: frames go through
//! [`Platform::net_send`] / [`Platform::net_recv`].

use crate::platform::Platform;
use alloc::vec;
use alloc::vec::Vec;
use smoltcp::phy::{self, DeviceCapabilities, Medium};
use smoltcp::time::Instant;

/// Ethernet header plus room for a VLAN tag.
const L2_OVERHEAD: usize = 18;

/// Receive and transmit buffers, kept across polls so no frame allocates.
pub struct Buffers {
    rx: Vec<u8>,
    tx: Vec<u8>,
}

impl Buffers {
    /// Buffers for frames of an interface with this MTU.
    pub fn new(mtu: usize) -> Buffers {
        Buffers {
            rx: vec![0; mtu + L2_OVERHEAD],
            tx: vec![0; mtu + L2_OVERHEAD],
        }
    }

    /// Where a frame is received.
    pub fn rx_mut(&mut self) -> &mut [u8] {
        &mut self.rx
    }

    /// The first `len` received bytes.
    pub fn rx(&self, len: usize) -> &[u8] {
        &self.rx[..len.min(self.rx.len())]
    }
}

/// The device smoltcp polls: a short-lived borrow of the platform.
pub struct PlatformDevice<'a, P: Platform> {
    platform: &'a mut P,
    bufs: &'a mut Buffers,
    /// Frames received during this borrow.
    pub frames_in: u32,
    /// Frames sent during this borrow.
    pub frames_out: u32,
    /// Length of a frame already received into the buffer, handed out by
    /// the next `receive` instead of asking the platform.
    received: Option<usize>,
    /// Made for that one frame: receives nothing else.
    one_shot: bool,
}

impl<'a, P: Platform> PlatformDevice<'a, P> {
    pub fn new(platform: &'a mut P, bufs: &'a mut Buffers) -> Self {
        PlatformDevice {
            platform,
            bufs,
            frames_in: 0,
            frames_out: 0,
            received: None,
            one_shot: false,
        }
    }

    /// A device whose only received frame is the `len` bytes already in
    /// the receive buffer.
    pub fn with_frame(platform: &'a mut P, bufs: &'a mut Buffers, len: usize) -> Self {
        let mut d = PlatformDevice::new(platform, bufs);
        d.received = Some(len);
        d.one_shot = true;
        d
    }
}

/// A received frame.
pub struct Rx<'a> {
    frame: &'a [u8],
}

/// Permission to send one frame.
pub struct Tx<'a, P: Platform> {
    platform: &'a mut P,
    buf: &'a mut [u8],
    sent: &'a mut u32,
}

impl<P: Platform> phy::Device for PlatformDevice<'_, P> {
    type RxToken<'b>
        = Rx<'b>
    where
        Self: 'b;
    type TxToken<'b>
        = Tx<'b, P>
    where
        Self: 'b;

    fn receive(&mut self, _now: Instant) -> Option<(Rx<'_>, Tx<'_, P>)> {
        let len = match self.received.take() {
            Some(len) => len,
            None if self.one_shot => return None,
            None => match self.platform.net_recv(&mut self.bufs.rx) {
                Ok(Some(len)) => len,
                Ok(None) => return None,
                Err(e) => {
                    log::warn!("net: receive failed: {e:?}");
                    return None;
                }
            },
        };
        self.frames_in += 1;
        let rx = Rx {
            frame: &self.bufs.rx[..len.min(self.bufs.rx.len())],
        };
        let tx = Tx {
            platform: self.platform,
            buf: &mut self.bufs.tx,
            sent: &mut self.frames_out,
        };
        Some((rx, tx))
    }

    fn transmit(&mut self, _now: Instant) -> Option<Tx<'_, P>> {
        Some(Tx {
            platform: self.platform,
            buf: &mut self.bufs.tx,
            sent: &mut self.frames_out,
        })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        caps.max_transmission_unit = self.bufs.tx.len() - L2_OVERHEAD + 14;
        caps.max_burst_size = None;
        caps
    }
}

impl phy::RxToken for Rx<'_> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(self.frame)
    }
}

impl<P: Platform> phy::TxToken for Tx<'_, P> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let len = len.min(self.buf.len());
        let r = f(&mut self.buf[..len]);
        match self.platform.net_send(&self.buf[..len]) {
            Ok(()) => *self.sent += 1,
            Err(e) => log::warn!("net: send of {len} bytes failed: {e:?}"),
        }
        r
    }
}
