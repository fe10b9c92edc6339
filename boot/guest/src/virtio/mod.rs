//! virtio over PCI (modern, virtio 1.x) for the image under QEMU: the
//! network device the platform's net calls go to when booted through PVH,
//! and a block device for the zone cache (blk.rs).
//!
//! The platform polls the used rings (see Hvt::poll); when the local APIC
//! is set up, the receive queue also raises an MSI-X interrupt so that the
//! idle `hlt` ends when a frame arrives (the handler does nothing else).
//! Frames queue in the transmit ring and the device is notified once per
//! flush, so a main-loop turn's frames cost one notification.

pub mod blk;
pub mod net;
pub mod pci;
pub mod queue;

use net::NetQueues;
use pci::{Mmio, Transport};

// struct virtio_pci_common_cfg offsets (virtio 1.x, 4.1.4.3).
const DEVICE_FEATURE_SELECT: u32 = 0x00;
const DEVICE_FEATURE: u32 = 0x04;
const DRIVER_FEATURE_SELECT: u32 = 0x08;
const DRIVER_FEATURE: u32 = 0x0c;
const CONFIG_MSIX_VECTOR: u32 = 0x10;
const DEVICE_STATUS: u32 = 0x14;
const QUEUE_SELECT: u32 = 0x16;
const QUEUE_SIZE: u32 = 0x18;
const QUEUE_MSIX_VECTOR: u32 = 0x1a;
const QUEUE_ENABLE: u32 = 0x1c;
const QUEUE_NOTIFY_OFF: u32 = 0x1e;
const QUEUE_DESC: u32 = 0x20;
const QUEUE_DRIVER: u32 = 0x28;
const QUEUE_DEVICE: u32 = 0x30;

const STATUS_ACKNOWLEDGE: u8 = 1;
const STATUS_DRIVER: u8 = 2;
const STATUS_DRIVER_OK: u8 = 4;
const STATUS_FEATURES_OK: u8 = 8;
const STATUS_FAILED: u8 = 0x80;

const F_MAC: u64 = 1 << 5;
const F_VERSION_1: u64 = 1 << 32;

/// No MSI-X vector (virtio 1.x, 4.1.5.1.2).
const NO_VECTOR: u16 = 0xffff;

/// Descriptors per queue (at most; the device may offer fewer).
const QUEUE_MAX: u16 = 256;

/// A running virtio-net device.
pub struct VirtioNet {
    pub queues: NetQueues,
    pub mac: [u8; 6],
    notify_rx: u32,
    notify_tx: u32,
    notify: Mmio,
    /// The receive queue interrupts (MSI-X) when it uses a buffer.
    pub irq: bool,
}

fn features(c: &Mmio) -> u64 {
    c.write32(DEVICE_FEATURE_SELECT, 0);
    let lo = c.read32(DEVICE_FEATURE) as u64;
    c.write32(DEVICE_FEATURE_SELECT, 1);
    lo | (c.read32(DEVICE_FEATURE) as u64) << 32
}

/// Size the queue `index` may have: the largest power of two up to both
/// the device's maximum and ours.
fn queue_size(c: &Mmio, index: u16) -> Option<u16> {
    c.write16(QUEUE_SELECT, index);
    let max = c.read16(QUEUE_SIZE).min(QUEUE_MAX);
    (max > 0).then(|| 1 << (15 - max.leading_zeros()))
}

fn enable(t: &Transport, index: u16, q: &queue::Queue) -> u32 {
    let c = &t.common;
    c.write16(QUEUE_SELECT, index);
    c.write16(QUEUE_SIZE, q.size());
    let (desc, driver, device) = q.addresses();
    c.write64(QUEUE_DESC, desc);
    c.write64(QUEUE_DRIVER, driver);
    c.write64(QUEUE_DEVICE, device);
    let off = c.read16(QUEUE_NOTIFY_OFF) as u32;
    c.write16(QUEUE_ENABLE, 1);
    off.saturating_mul(t.notify_multiplier)
}

/// A device between feature negotiation and DRIVER_OK.
pub(crate) struct Starting {
    pub t: Transport,
    pub features: u64,
}

/// Find the first device of `kind`, reset it and negotiate VERSION_1 plus
/// whichever of `optional` it offers (virtio 1.x, 3.1.1): Ok(None) when
/// there is no such device.
pub(crate) fn start(kind: pci::Kind, optional: u64) -> Result<Option<Starting>, &'static str> {
    let Some(bdf) = pci::find(kind) else {
        return Ok(None);
    };
    let t = pci::transport(bdf)?;
    let c = &t.common;
    // Reset, then wait for the device to confirm (4.1.4.3.2), bounded.
    c.write8(DEVICE_STATUS, 0);
    if !(0..1_000_000).any(|_| c.read8(DEVICE_STATUS) == 0) {
        return Err("the device does not reset");
    }
    c.write8(DEVICE_STATUS, STATUS_ACKNOWLEDGE);
    c.write8(DEVICE_STATUS, STATUS_ACKNOWLEDGE | STATUS_DRIVER);
    let offered = features(c);
    if offered & F_VERSION_1 == 0 {
        c.write8(DEVICE_STATUS, STATUS_FAILED);
        return Err("legacy-only device (no VIRTIO_F_VERSION_1)");
    }
    let wanted = F_VERSION_1 | (offered & optional);
    c.write32(DRIVER_FEATURE_SELECT, 0);
    c.write32(DRIVER_FEATURE, wanted as u32);
    c.write32(DRIVER_FEATURE_SELECT, 1);
    c.write32(DRIVER_FEATURE, (wanted >> 32) as u32);
    c.write8(DEVICE_STATUS, STARTING);
    if c.read8(DEVICE_STATUS) & STATUS_FEATURES_OK == 0 {
        c.write8(DEVICE_STATUS, STATUS_FAILED);
        return Err("the device refused our features");
    }
    Ok(Some(Starting {
        t,
        features: wanted,
    }))
}

const STARTING: u8 = STATUS_ACKNOWLEDGE | STATUS_DRIVER | STATUS_FEATURES_OK;

impl Starting {
    /// The size queue `index` gets, None when the device has no such queue.
    pub fn queue_size(&self, index: u16) -> Option<u16> {
        queue_size(&self.t.common, index)
    }

    /// Give queue `index` to the device; its notification offset.
    pub fn enable(&self, index: u16, q: &queue::Queue) -> u32 {
        enable(&self.t, index, q)
    }

    /// Route queue `index`'s interrupts to MSI-X table entry `entry` (or
    /// NO_VECTOR); true when the device took it (it reads back).
    pub fn queue_vector(&self, index: u16, entry: u16) -> bool {
        let c = &self.t.common;
        c.write16(QUEUE_SELECT, index);
        c.write16(QUEUE_MSIX_VECTOR, entry);
        c.read16(QUEUE_MSIX_VECTOR) == entry
    }

    /// Turn MSI-X on with table entry 0 sending `vector` to `apic_id`,
    /// configuration changes unreported: true when the device has MSI-X
    /// and took the entry.
    pub fn msix(&self, apic_id: u8, vector: u8) -> bool {
        if !pci::enable_msix(self.t.bdf, 0, apic_id, vector) {
            return false;
        }
        self.t.common.write16(CONFIG_MSIX_VECTOR, NO_VECTOR);
        true
    }

    /// Give up on the device.
    pub fn fail(&self) {
        self.t.common.write8(DEVICE_STATUS, STATUS_FAILED);
    }

    /// DRIVER_OK: the device is live.
    pub fn live(&self) {
        self.t
            .common
            .write8(DEVICE_STATUS, STARTING | STATUS_DRIVER_OK);
    }
}

/// Find and start the first virtio-net device: Ok(None) when there is none.
/// With `irq` (APIC id, vector), the receive queue interrupts through
/// MSI-X when the device offers it.
pub fn probe(irq: Option<(u8, u8)>) -> Result<Option<VirtioNet>, &'static str> {
    let Some(s) = start(pci::Kind::Net, F_MAC)? else {
        return Ok(None);
    };
    let (Some(rx_size), Some(tx_size)) = (s.queue_size(0), s.queue_size(1)) else {
        s.fail();
        return Err("no receive or transmit queue");
    };
    let queues = NetQueues::new(rx_size, tx_size);
    let irq = irq.is_some_and(|(apic, vector)| s.msix(apic, vector))
        && s.queue_vector(0, 0)
        && s.queue_vector(1, NO_VECTOR);
    let notify_rx = s.enable(0, &queues.rx);
    let notify_tx = s.enable(1, &queues.tx);
    let mac = if s.features & F_MAC != 0 {
        core::array::from_fn(|i| s.t.device.read8(i as u32))
    } else {
        // Locally administered, for a device that does not say.
        [0x02, 0, 0, 0, 0, 0x01]
    };
    s.live();
    let mut dev = VirtioNet {
        queues,
        mac,
        notify_rx,
        notify_tx,
        notify: s.t.notify,
        irq,
    };
    dev.flush();
    Ok(Some(dev))
}

impl VirtioNet {
    /// Tell the device about posted receive buffers and queued frames.
    pub fn flush(&mut self) {
        if self.queues.tx_queued {
            self.queues.tx_queued = false;
            if self.queues.tx.wants_notify() {
                self.notify.write16(self.notify_tx, 1);
            }
        }
        if self.queues.rx_posted {
            self.queues.rx_posted = false;
            if self.queues.rx.wants_notify() {
                self.notify.write16(self.notify_rx, 0);
            }
        }
    }
}
