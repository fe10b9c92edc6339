//! gitns-hvt's ELF loader on arbitrary files: never panics, and an image
//! it accepts keeps the promises the VM setup relies on (segments inside
//! guest memory and above 1 MiB, page-aligned ranges, none writable and
//! executable, the entry inside guest memory above 1 MiB, a manifest that
//! parses).
#![no_main]

use gitns_abi::manifest::MftView;
use gitns_tender::elf;
use libfuzzer_sys::fuzz_target;

const MEM: u64 = 64 << 20;

fuzz_target!(|data: &[u8]| {
    let Ok(img) = elf::parse(data, MEM) else {
        return;
    };
    assert!(img.end <= MEM, "image end {:#x}", img.end);
    for s in &img.segments {
        assert!(s.vaddr >= gitns_abi::GUEST_MIN_BASE);
        assert!(s.filesz <= s.memsz);
        assert!(s.vaddr.checked_add(s.memsz).is_some_and(|e| e <= MEM));
        assert!(s
            .offset
            .checked_add(s.filesz)
            .is_some_and(|e| e <= data.len() as u64));
        assert!(s.start % 4096 == 0 && s.end % 4096 == 0 && s.start <= s.vaddr);
        assert!(s.end <= MEM);
        assert!(!(s.writable && s.executable));
    }
    assert!(img.entry >= gitns_abi::GUEST_MIN_BASE && img.entry < MEM);
    assert!(MftView::parse(&img.manifest).is_ok());
});
