//! [`Hvt`]: the platform trait over hvt hypercalls, or, when the image
//! booted through PVH under QEMU, over COM1 and virtio-net.

use crate::batch::Batch;
use crate::block::BlockDevice;
use crate::halt::halt;
use crate::net::{self, NetDevice};
use crate::rng::Rng;
use crate::virtio::blk::VirtioBlk;
use crate::virtio::VirtioNet;
use crate::{clock, console, hypercall};
use gitns_abi::hypercall::{Nr, Poll};
use gitns_net::{BlockError, NetError, Platform};

/// The guest platform handed to the image's main function.
pub struct Hvt {
    rng: Rng,
    net: Option<NetDevice>,
    /// NET_EXCHANGE batches, made on first use (its buffers cost page faults).
    batch: Option<Batch>,
    batch_handle: Option<u64>,
    /// The tender takes METRICS reports.
    metrics: bool,
    block: Option<BlockDevice>,
    /// virtio-net under QEMU (then `net` is None).
    virtio: Option<VirtioNet>,
    /// virtio-blk under QEMU: the storage device (then `block` is None).
    virtio_blk: Option<VirtioBlk>,
    /// Command line as the tender passed it.
    pub cmdline: &'static str,
    /// Guest memory size in bytes.
    pub mem_size: u64,
    /// Heap bytes available at boot.
    pub heap_size: u64,
}

impl Hvt {
    pub(crate) fn new(
        rng: Rng,
        net: Option<NetDevice>,
        block: Option<BlockDevice>,
        cmdline: &'static str,
        mem_size: u64,
        heap_size: u64,
        host_features: u32,
    ) -> Hvt {
        let batch_handle = net
            .filter(|_| host_features & gitns_abi::FEATURE_NET_EXCHANGE != 0)
            .map(|n| n.handle);
        Hvt {
            rng,
            net,
            batch: None,
            batch_handle,
            metrics: host_features & gitns_abi::FEATURE_METRICS != 0,
            block,
            virtio: None,
            virtio_blk: None,
            cmdline,
            mem_size,
            heap_size,
        }
    }

    /// The platform with virtio-net as its network device (under QEMU).
    pub(crate) fn with_virtio(mut self, net: Option<VirtioNet>, blk: Option<VirtioBlk>) -> Hvt {
        self.virtio = net;
        self.virtio_blk = blk;
        self
    }

    /// True when frames cross in batches (NET_EXCHANGE).
    pub fn batched(&self) -> bool {
        self.batch_handle.is_some()
    }

    fn batch(&mut self) -> Option<&mut Batch> {
        let handle = self.batch_handle?;
        let mtu = self.net.map_or(net::DEFAULT_MTU, |n| n.mtu) as usize;
        Some(self.batch.get_or_insert_with(|| Batch::new(handle, mtu)))
    }

    /// True when the manifest's `service` network device is attached.
    pub fn has_net(&self) -> bool {
        self.net.is_some() || self.virtio.is_some()
    }
}

/// Queue a frame on virtio-net; with every transmit buffer in flight,
/// notify and wait (up to 10 ms) for the device to return one.
fn virtio_send(v: &mut VirtioNet, frame: &[u8]) -> Result<(), NetError> {
    if frame.len() > net::DEFAULT_MTU as usize + 18 {
        return Err(NetError::TooBig);
    }
    let until = clock::monotonic_ns() + 10_000_000;
    loop {
        if v.queues.send(frame) {
            return Ok(());
        }
        if v.queues.broken() || clock::monotonic_ns() > until {
            return Err(NetError::Device);
        }
        v.flush();
        core::hint::spin_loop();
    }
}

/// Longest `hlt` when the receive queue interrupts: a lost interrupt
/// costs at most this much.
const IDLE_CAP_NS: u64 = 10_000_000;
/// Longest `hlt` without device interrupts (no MSI-X): the latency a frame
/// may wait before the guest looks.
const IDLE_TICK_NS: u64 = 1_000_000;

/// Flush, then wait until a frame arrives or the deadline. With the local
/// APIC set up the guest halts (`sti; hlt; cli`) until the timer, armed
/// for the deadline (capped), or the receive queue's interrupt wakes it;
/// without, it spins on the used ring.
fn virtio_poll(v: &mut VirtioNet, deadline_ns: u64) -> bool {
    v.flush();
    let halt = crate::idle::ready();
    let cap = if v.irq { IDLE_CAP_NS } else { IDLE_TICK_NS };
    loop {
        if v.queues.rx_ready() {
            return true;
        }
        let now = clock::monotonic_ns();
        if now >= deadline_ns {
            return false;
        }
        if halt {
            crate::idle::sleep((deadline_ns - now).min(cap));
        } else {
            for _ in 0..64 {
                core::hint::spin_loop();
            }
        }
    }
}

impl Platform for Hvt {
    fn wall_clock_ns(&mut self) -> u64 {
        clock::wall_ns()
    }

    fn monotonic_ns(&mut self) -> u64 {
        clock::monotonic_ns()
    }

    fn fill_random(&mut self, buf: &mut [u8]) {
        self.rng.fill(buf)
    }

    fn console_write(&mut self, bytes: &[u8]) {
        console::write(bytes)
    }

    fn mac(&self) -> [u8; 6] {
        if let Some(v) = &self.virtio {
            return v.mac;
        }
        self.net.map(|n| n.mac).unwrap_or([0; 6])
    }

    fn mtu(&self) -> usize {
        self.net.map_or(net::DEFAULT_MTU, |n| n.mtu) as usize
    }

    fn net_send(&mut self, frame: &[u8]) -> Result<(), NetError> {
        if let Some(v) = &mut self.virtio {
            return virtio_send(v, frame);
        }
        let net = self.net.ok_or(NetError::Device)?;
        if frame.len() > net.mtu as usize + 18 {
            return Err(NetError::TooBig);
        }
        if let Some(b) = self.batch() {
            return if b.send(frame) {
                Ok(())
            } else {
                Err(NetError::TooBig)
            };
        }
        if net.write(frame) {
            Ok(())
        } else {
            Err(NetError::Device)
        }
    }

    fn net_flush(&mut self) {
        if let Some(v) = &mut self.virtio {
            v.flush();
        }
        // Batched: queued frames leave with the exchange of the next poll,
        // one exit per main-loop turn.
    }

    fn net_recv(&mut self, buf: &mut [u8]) -> Result<Option<usize>, NetError> {
        if let Some(v) = &mut self.virtio {
            if v.queues.broken() {
                return Err(NetError::Device);
            }
            return Ok(v.queues.recv(buf));
        }
        if let Some(b) = self.batch() {
            return Ok(b.recv(buf));
        }
        match self.net {
            None => Ok(None),
            Some(net) => net.read(buf).map_err(|()| NetError::Device),
        }
    }

    fn poll(&mut self, deadline_ns: u64) -> bool {
        if let Some(v) = &mut self.virtio {
            return virtio_poll(v, deadline_ns);
        }
        let now = clock::monotonic_ns();
        if let Some(b) = self.batch() {
            return b.poll(deadline_ns.saturating_sub(now));
        }
        let mut arg = Poll {
            timeout_nsecs: deadline_ns.saturating_sub(now),
            ready_set: 0,
            ret: 0,
        };
        hypercall::call(Nr::Poll, &mut arg);
        arg.ret > 0
    }

    fn block_capacity(&self) -> Option<u64> {
        if let Some(b) = &self.virtio_blk {
            return Some(b.capacity);
        }
        self.block.map(|b| b.capacity)
    }

    fn block_read(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), BlockError> {
        if let Some(b) = &mut self.virtio_blk {
            return b.read(offset, buf);
        }
        self.block.ok_or(BlockError::Absent)?.read(offset, buf)
    }

    fn block_write(&mut self, offset: u64, data: &[u8]) -> Result<(), BlockError> {
        if let Some(b) = &mut self.virtio_blk {
            return b.write(offset, data);
        }
        self.block.ok_or(BlockError::Absent)?.write(offset, data)
    }

    fn metrics_enabled(&self) -> bool {
        self.metrics
    }

    fn heap_usage(&self) -> Option<(usize, usize)> {
        #[cfg(all(feature = "rt", not(test)))]
        return Some(crate::heap::usage());
        #[cfg(not(all(feature = "rt", not(test))))]
        None
    }

    fn report_metrics(&mut self, text: &[u8]) {
        if !self.metrics || text.len() as u64 > gitns_abi::hypercall::METRICS_MAX {
            return;
        }
        let mut arg = gitns_abi::hypercall::MetricsReport {
            data: text.as_ptr() as u64,
            len: text.len() as u64,
            ..Default::default()
        };
        hypercall::call(Nr::Metrics, &mut arg);
    }

    fn console_fn(&self) -> fn(&[u8]) {
        console::write
    }

    fn wall_clock_fn(&self) -> fn() -> u64 {
        clock::wall_ns
    }

    fn exit(&mut self, status: i32) -> ! {
        halt(status)
    }
}
