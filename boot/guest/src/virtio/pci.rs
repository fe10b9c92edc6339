//! PCI for virtio: configuration space through ports 0xcf8/0xcfc (bus 0
//! only, as QEMU's q35 puts its devices there), the virtio vendor
//! capabilities (virtio 1.x, 4.1.4) and MMIO access to the structures they
//! locate in BARs the firmware assigned.

use crate::port::{inl, outl};

const VIRTIO_VENDOR: u16 = 0x1af4;

/// Virtio device types (virtio 1.x, 5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Net = 1,
    Block = 2,
}

impl Kind {
    /// Modern PCI device id (0x1040 + type) and the transitional one
    /// (which also carries the type as its subsystem id).
    fn ids(self) -> (u16, u16) {
        (0x1040 + self as u16, 0x0fff + self as u16)
    }
}
const CAP_VENDOR: u8 = 0x09;
const CAP_MSIX: u8 = 0x11;
const CFG_COMMON: u8 = 1;
const CFG_NOTIFY: u8 = 2;
const CFG_DEVICE: u8 = 4;
/// Our page tables map the low 4 GiB only (pvh.rs).
const MAPPED: u64 = 4 << 30;

/// A PCI function on bus 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bdf {
    pub dev: u8,
    pub func: u8,
}

fn address(b: Bdf, off: u8) -> u32 {
    0x8000_0000 | (b.dev as u32) << 11 | (b.func as u32) << 8 | (off as u32 & 0xfc)
}

pub fn read32(b: Bdf, off: u8) -> u32 {
    outl(0xcf8, address(b, off));
    inl(0xcfc)
}

fn write32(b: Bdf, off: u8, v: u32) {
    outl(0xcf8, address(b, off));
    outl(0xcfc, v);
}

fn read8(b: Bdf, off: u8) -> u8 {
    (read32(b, off) >> ((off & 3) * 8)) as u8
}

fn read16(b: Bdf, off: u8) -> u16 {
    (read32(b, off) >> ((off & 2) * 8)) as u16
}

/// The first virtio function of `kind` on bus 0.
pub fn find(kind: Kind) -> Option<Bdf> {
    let (modern, transitional) = kind.ids();
    (0..32u8)
        .flat_map(|dev| (0..8u8).map(move |func| Bdf { dev, func }))
        .find(|&b| {
            let id = read32(b, 0);
            let (vendor, device) = (id as u16, (id >> 16) as u16);
            vendor == VIRTIO_VENDOR
                && (device == modern || (device == transitional && read16(b, 0x2e) == kind as u16))
        })
}

/// A device-visible MMIO window: base address and length, inside the
/// mapped 4 GiB (checked when made).
#[derive(Clone, Copy, Debug)]
pub struct Mmio {
    base: u64,
    len: u32,
}

impl Mmio {
    fn at(&self, off: u32, size: u32) -> u64 {
        // A structure smaller than what we access is a device bug; stay
        // inside the window: the access goes to offset 0 instead.
        let off = if off.checked_add(size).is_some_and(|e| e <= self.len) {
            off
        } else {
            0
        };
        self.base + off as u64
    }

    pub fn read8(&self, off: u32) -> u8 {
        // SAFETY: inside a BAR window below 4 GiB (identity mapped, see
        // `Mmio::new`); a device register read has no other effect on memory.
        unsafe { core::ptr::read_volatile(self.at(off, 1) as *const u8) }
    }

    pub fn read16(&self, off: u32) -> u16 {
        // SAFETY: as read8; virtio registers are naturally aligned.
        unsafe { core::ptr::read_volatile(self.at(off, 2) as *const u16) }
    }

    pub fn read32(&self, off: u32) -> u32 {
        // SAFETY: as read16.
        unsafe { core::ptr::read_volatile(self.at(off, 4) as *const u32) }
    }

    pub fn write8(&self, off: u32, v: u8) {
        // SAFETY: as read8; the device owns what a register write does.
        unsafe { core::ptr::write_volatile(self.at(off, 1) as *mut u8, v) }
    }

    pub fn write16(&self, off: u32, v: u16) {
        // SAFETY: as write8.
        unsafe { core::ptr::write_volatile(self.at(off, 2) as *mut u16, v) }
    }

    pub fn write32(&self, off: u32, v: u32) {
        // SAFETY: as write8.
        unsafe { core::ptr::write_volatile(self.at(off, 4) as *mut u32, v) }
    }

    pub fn write64(&self, off: u32, v: u64) {
        // Two 32-bit writes, low first (virtio 1.x, 4.1.3.1).
        self.write32(off, v as u32);
        self.write32(off + 4, (v >> 32) as u32);
    }
}

/// The capability with id `id` in the list of `b`, if any (at most 48 are
/// walked: a looping list ends).
fn capability(b: Bdf, id: u8) -> Option<u8> {
    if read16(b, 0x06) & 0x10 == 0 {
        return None;
    }
    let mut ptr = read8(b, 0x34) & 0xfc;
    for _ in 0..48 {
        if ptr < 0x40 {
            return None;
        }
        if read8(b, ptr) == id {
            return Some(ptr);
        }
        ptr = read8(b, ptr + 1) & 0xfc;
    }
    None
}

/// Where MSI-X table entry `entry` lies, from the capability's Table
/// Offset/BIR dword, the BAR's base and the table size: None when the entry
/// is beyond the table or the BAR is unusable.
pub fn msix_entry_addr(table: u32, bar_base: Option<u64>, size: u16, entry: u16) -> Option<u64> {
    if entry >= size {
        return None;
    }
    let addr = bar_base?.checked_add((table & !7) as u64 + 16 * entry as u64)?;
    (addr + 16 <= MAPPED).then_some(addr)
}

/// The MSI-X message of a fixed, edge-triggered interrupt of `vector` to
/// the local APIC `apic_id` (physical destination): (address, data).
pub fn msi_message(apic_id: u8, vector: u8) -> (u32, u32) {
    (0xfee0_0000 | (apic_id as u32) << 12, vector as u32)
}

/// Turn MSI-X on for `b` with table entry `entry` sending `vector` to
/// `apic_id`; every other entry stays masked. False when the function has
/// no MSI-X or no such entry.
pub fn enable_msix(b: Bdf, entry: u16, apic_id: u8, vector: u8) -> bool {
    let Some(cap) = capability(b, CAP_MSIX) else {
        return false;
    };
    let ctl = read16(b, cap + 2);
    let size = (ctl & 0x7ff) + 1;
    let table = read32(b, cap + 4);
    let Some(addr) = msix_entry_addr(table, bar_base(b, (table & 7) as u8), size, entry) else {
        return false;
    };
    let w = Mmio {
        base: addr,
        len: 16,
    };
    let (msg_addr, data) = msi_message(apic_id, vector);
    w.write32(0, msg_addr);
    w.write32(4, 0);
    w.write32(8, data);
    // Vector control: unmasked.
    w.write32(12, 0);

    // Message Control: MSI-X enable (bit 15), function mask (14) clear.
    let dword = read32(b, cap);
    let ctl = (ctl & !(1 << 14)) | 1 << 15;
    write32(b, cap, (dword & 0xffff) | (ctl as u32) << 16);
    true
}

/// The modern virtio-pci structures of a device.
#[derive(Clone, Copy, Debug)]
pub struct Transport {
    pub bdf: Bdf,
    pub common: Mmio,
    pub notify: Mmio,
    pub notify_multiplier: u32,
    pub device: Mmio,
}

/// Base address of memory BAR `bar`, None for I/O, unassigned, or above the
/// mapped 4 GiB.
fn bar_base(b: Bdf, bar: u8) -> Option<u64> {
    if bar > 5 {
        return None;
    }
    let off = 0x10 + 4 * bar;
    let lo = read32(b, off);
    if lo & 1 != 0 {
        return None;
    }
    let mut base = (lo & !0xf) as u64;
    if (lo >> 1) & 3 == 2 && bar < 5 {
        base |= (read32(b, off + 4) as u64) << 32;
    }
    (base != 0).then_some(base)
}

/// Walk the capability list for the common, notify and device structures
/// and switch on memory decoding and bus mastering.
pub fn transport(b: Bdf) -> Result<Transport, &'static str> {
    if read16(b, 0x06) & 0x10 == 0 {
        return Err("no PCI capability list");
    }
    let (mut common, mut notify, mut device, mut mult) = (None, None, None, 0);
    let mut ptr = read8(b, 0x34) & 0xfc;
    for _ in 0..48 {
        if ptr < 0x40 {
            break;
        }
        if read8(b, ptr) == CAP_VENDOR {
            let kind = read8(b, ptr + 3);
            let bar = read8(b, ptr + 4);
            let (off, len) = (read32(b, ptr + 8), read32(b, ptr + 12));
            let window = bar_base(b, bar)
                .and_then(|base| base.checked_add(off as u64))
                .filter(|&a| a.checked_add(len as u64).is_some_and(|e| e <= MAPPED))
                .map(|base| Mmio { base, len });
            match kind {
                CFG_COMMON if common.is_none() => common = window,
                CFG_NOTIFY if notify.is_none() => {
                    notify = window;
                    mult = read32(b, ptr + 16);
                }
                CFG_DEVICE if device.is_none() => device = window,
                _ => {}
            }
        }
        ptr = read8(b, ptr + 1) & 0xfc;
    }
    let (Some(common), Some(notify), Some(device)) = (common, notify, device) else {
        return Err("virtio capabilities missing, or BARs unassigned or above 4 GiB");
    };
    // Command register: memory space | bus master.
    let cmd = read32(b, 0x04);
    write32(b, 0x04, (cmd & 0xffff) | 0x6);
    Ok(Transport {
        bdf: b,
        common,
        notify,
        notify_multiplier: mult,
        device,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn msix_entries_stay_in_their_table() {
        // Table at offset 0x3000 of BAR 1 (BIR in the low bits).
        assert_eq!(
            msix_entry_addr(0x3001, Some(0xfe80_0000), 3, 0),
            Some(0xfe80_3000)
        );
        assert_eq!(
            msix_entry_addr(0x3001, Some(0xfe80_0000), 3, 2),
            Some(0xfe80_3020)
        );
        assert_eq!(msix_entry_addr(0x3001, Some(0xfe80_0000), 3, 3), None);
        assert_eq!(msix_entry_addr(0x3001, None, 3, 0), None);
        assert_eq!(msix_entry_addr(0x3000, Some(0xffff_f000), 3, 0), None);
    }

    #[test]
    fn msi_message_names_the_apic_and_vector() {
        assert_eq!(msi_message(0, 0x21), (0xfee0_0000, 0x21));
        assert_eq!(msi_message(3, 0x30), (0xfee0_3000, 0x30));
    }
}
