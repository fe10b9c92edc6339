//! The Solo5 hvt boot ABI, version 2, as both sides of gitns see it.
//!
//! This crate is the single description of the contract between the image
//! (boot/guest) and the tender (boot/tender). It holds plain `repr(C)`
//! structs, constants and the ELF note layouts; no code runs here.
//! Guest pointers are `u64` guest-physical addresses on both sides.
#![no_std]
// The one `unsafe` is a test helper that views a repr(C) struct as bytes.
#![deny(unsafe_code)]

pub mod exit;
pub mod hypercall;
pub mod manifest;
pub mod note;

/// The hvt ABI version this crate describes (Solo5 `HVT_ABI_VERSION`).
pub const HVT_ABI_VERSION: u32 = 2;
/// Solo5 ABI target number of hvt (`HVT_ABI_TARGET`).
pub const HVT_ABI_TARGET: u32 = 1;

/// Lowest address a guest segment or entry point may use.
pub const GUEST_MIN_BASE: u64 = 0x10_0000;
/// Guest-physical address of the GDT set up by the tender.
pub const GDT_BASE: u64 = 0x1000;
/// Guest-physical address of the PML4 (CR3) set up by the tender.
pub const PML4_BASE: u64 = 0x2000;
/// End (exclusive) of the page-table area set up by the tender.
pub const PAGE_TABLES_END: u64 = 0x9000;
/// Guest-physical address of the PVM virtual-interrupt-flag page.
pub const PVM_VIF_PAGE: u64 = 0xB000;
/// Guest-physical address of [`BootInfo`].
pub const BOOT_INFO_BASE: u64 = 0x10000;
/// Guest-physical address of the copy of the manifest.
pub const MFT_BASE: u64 = BOOT_INFO_BASE + core::mem::size_of::<BootInfo>() as u64;
/// Size of the command-line buffer, terminator included.
pub const CMDLINE_SIZE: usize = 8192;

/// x86_64 I/O port of hypercall number 0; hypercall `n` is `out` to `0x500 + n`.
pub const HYPERCALL_PIO_BASE: u16 = 0x500;
/// x86_64 I/O port used by Solo5's ring I/O to kick the tender.
pub const RING_KICK_PIO_BASE: u16 = 0x600;

/// Host feature bit: Solo5 ring I/O (not offered by gitns-hvt).
pub const FEATURE_RING_IO: u32 = 1 << 0;
/// Host feature bit (gitns extension): the NET_EXCHANGE hypercall (nr 32),
/// many frames each way per exit. Plain solo5-hvt never sets it, so a gitns
/// image falls back to NET_WRITE/NET_READ/POLL there.
pub const FEATURE_NET_EXCHANGE: u32 = 1 << 16;
/// Host feature bit (gitns extension): the METRICS hypercall (nr 33). Set
/// only when the tender serves metrics (`--metrics`); under plain solo5-hvt
/// or without `--metrics` the guest keeps its counters to itself.
pub const FEATURE_METRICS: u32 = 1 << 17;

/// Boot information the tender writes at [`BOOT_INFO_BASE`]; RDI points here.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BootInfo {
    /// Guest memory size in bytes.
    pub mem_size: u64,
    /// First address after the loaded image (end of .bss, page aligned).
    pub kernel_end: u64,
    /// TSC frequency in Hz.
    pub cpu_cycle_freq: u64,
    /// Guest address of the NUL-terminated command line.
    pub cmdline: u64,
    /// Guest address of the manifest copy.
    pub mft: u64,
    /// Feature bits offered by the tender.
    pub host_features: u32,
    /// Feature bits accepted by the guest (written by the guest).
    pub guest_features: u32,
    /// Guest address of the network ring, 0 if absent.
    pub net_ring: u64,
}

const _: () = assert!(core::mem::size_of::<BootInfo>() == 56);
const _: () = assert!(MFT_BASE == 0x10038);

/// Memory layout facts a tender needs to place the image and the stack.
pub const PAGE_SIZE: u64 = 4096;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boot_info_offsets_match_solo5() {
        let b = BootInfo::default();
        let base = &b as *const _ as usize;
        assert_eq!(&b.cmdline as *const _ as usize - base, 24);
        assert_eq!(&b.host_features as *const _ as usize - base, 40);
        assert_eq!(&b.net_ring as *const _ as usize - base, 48);
    }
}
