//! The x86_64 machine state at entry (DESIGN.md "Boot ABI"): GDT, identity
//! page tables, segment and control registers.

use crate::guestmem::{GuestMem, OutOfBounds};
use gitns_abi::{BOOT_INFO_BASE, GDT_BASE, GUEST_MIN_BASE, PML4_BASE, PVM_VIF_PAGE};
use kvm_bindings::{kvm_regs, kvm_segment, kvm_sregs};

const PDPTE_BASE: u64 = 0x3000;
const PDE_BASE: u64 = 0x4000;
const PT0_BASE: u64 = 0x8000;
/// Guest pages are 2 MiB, except the first 2 MiB which use 4 KiB pages.
pub const PAGE_2M: u64 = 0x20_0000;
/// Four page directories map at most 4 GiB.
pub const MAX_MEM: u64 = 4 << 30;

const P: u64 = 1 << 0;
const RW: u64 = 1 << 1;
const US: u64 = 1 << 2;
const PS: u64 = 1 << 7;

pub const CR0_INIT: u64 = 0x8001_0021; // PG | WP | NE | PE
pub const CR4_INIT: u64 = 0x620; // OSXMMEXCPT | OSFXSR | PAE
pub const EFER_INIT: u64 = 0x500; // LMA | LME
pub const RFLAGS_INIT: u64 = 0x2;

/// A segment as the ABI sets it up.
fn segment(selector_index: u16, code: bool) -> kvm_segment {
    kvm_segment {
        base: 0,
        limit: 0xffff_ffff,
        selector: selector_index << 3,
        type_: if code { 9 } else { 3 },
        present: 1,
        dpl: 0,
        db: if code { 0 } else { 1 },
        s: 1,
        l: if code { 1 } else { 0 },
        g: 1,
        avl: 0,
        unusable: 0,
        padding: 0,
    }
}

/// The GDT descriptor of a segment (Intel SDM 3A 3.4.5).
fn descriptor(s: &kvm_segment) -> u64 {
    let limit = s.limit as u64 >> 12; // g = 1: limit in pages
    (limit & 0xffff)
        | ((s.base & 0xff_ffff) << 16)
        | ((s.type_ as u64) << 40)
        | ((s.s as u64) << 44)
        | ((s.dpl as u64) << 45)
        | ((s.present as u64) << 47)
        | (((limit >> 16) & 0xf) << 48)
        | ((s.avl as u64) << 52)
        | ((s.l as u64) << 53)
        | ((s.db as u64) << 54)
        | ((s.g as u64) << 55)
        | (((s.base >> 24) & 0xff) << 56)
}

/// Write the GDT: null, code (0x08), data (0x10).
pub fn setup_gdt(mem: &mut GuestMem) -> Result<(), OutOfBounds> {
    mem.write(GDT_BASE, &0u64)?;
    mem.write(GDT_BASE + 8, &descriptor(&segment(1, true)))?;
    mem.write(GDT_BASE + 16, &descriptor(&segment(2, false)))
}

/// Identity-map guest memory: 4 KiB pages in the first 2 MiB (pages below
/// the boot info not present, the rest below 1 MiB read-only), 2 MiB pages
/// above. With `user` (PVM), every level also has U/S set and the PVM page
/// is mapped writable.
pub fn setup_page_tables(mem: &mut GuestMem, user: bool) -> Result<(), OutOfBounds> {
    let us = if user { US } else { 0 };
    mem.slice_mut(PML4_BASE, PT0_BASE + 0x1000 - PML4_BASE)?
        .fill(0);
    mem.write(PML4_BASE, &(PDPTE_BASE | P | RW | us))?;
    for i in 0..4 {
        mem.write(PDPTE_BASE + 8 * i, &((PDE_BASE + 0x1000 * i) | P | RW | us))?;
    }
    mem.write(PDE_BASE, &(PT0_BASE | P | RW | us))?;
    for (i, paddr) in (0..PAGE_2M).step_by(0x1000).enumerate() {
        let e = if user && paddr == PVM_VIF_PAGE {
            paddr | P | RW | us
        } else if paddr < BOOT_INFO_BASE {
            0
        } else if paddr < GUEST_MIN_BASE {
            paddr | P | us
        } else {
            paddr | P | RW | us
        };
        mem.write(PT0_BASE + 8 * i as u64, &e)?;
    }
    let mut pde = PDE_BASE + 8;
    for paddr in (PAGE_2M..mem.len()).step_by(PAGE_2M as usize) {
        mem.write(pde, &(paddr | P | RW | PS | us))?;
        pde += 8;
    }
    Ok(())
}

/// Special registers at entry.
pub fn sregs(mut s: kvm_sregs) -> kvm_sregs {
    s.cr0 = CR0_INIT;
    s.cr3 = PML4_BASE;
    s.cr4 = CR4_INIT;
    s.efer = EFER_INIT;
    s.cs = segment(1, true);
    let data = segment(2, false);
    (s.ss, s.ds, s.es, s.fs, s.gs) = (data, data, data, data, data);
    s.gdt.base = GDT_BASE;
    s.gdt.limit = 3 * 8 - 1;
    s.tr = kvm_segment {
        selector: 0,
        base: 0,
        limit: 0,
        type_: 11,
        present: 1,
        ..Default::default()
    };
    s.ldt = kvm_segment {
        unusable: 1,
        ..Default::default()
    };
    s
}

/// General registers at entry.
pub fn regs(entry: u64, mem_size: u64) -> kvm_regs {
    kvm_regs {
        rip: entry,
        rflags: RFLAGS_INIT,
        rsp: mem_size - 8,
        rdi: BOOT_INFO_BASE,
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptors_match_the_usual_flat_64bit_values() {
        assert_eq!(descriptor(&segment(1, true)), 0x00af_9900_0000_ffff);
        assert_eq!(descriptor(&segment(2, false)), 0x00cf_9300_0000_ffff);
    }

    #[test]
    fn page_tables_map_memory_and_hide_low_pages() {
        let mut m = GuestMem::new(8 << 20).unwrap();
        setup_page_tables(&mut m, false).unwrap();
        assert_eq!(m.read::<u64>(PT0_BASE).unwrap(), 0, "page 0 is not present");
        assert_eq!(
            m.read::<u64>(PT0_BASE + 8 * 0x10).unwrap(),
            0x10000 | P,
            "boot info read-only"
        );
        assert_eq!(
            m.read::<u64>(PT0_BASE + 8 * 0x100).unwrap(),
            0x100000 | P | RW
        );
        assert_eq!(m.read::<u64>(PDE_BASE + 8).unwrap(), PAGE_2M | P | RW | PS);
        assert_eq!(
            m.read::<u64>(PDE_BASE + 8 * 3).unwrap(),
            (3 * PAGE_2M) | P | RW | PS
        );
        assert_eq!(
            m.read::<u64>(PDE_BASE + 8 * 4).unwrap(),
            0,
            "nothing past memory"
        );
        setup_page_tables(&mut m, true).unwrap();
        assert_eq!(m.read::<u64>(PML4_BASE).unwrap() & US, US);
        assert_eq!(
            m.read::<u64>(PT0_BASE + 8 * 0xB).unwrap(),
            PVM_VIF_PAGE | P | RW | US
        );
    }
}
