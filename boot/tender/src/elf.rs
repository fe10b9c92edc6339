//! Loading and validating an hvt image (ELF64, x86_64, ET_EXEC), with the
//! checks and messages of Solo5's tender (tenders/common/elf.c).

use gitns_abi::note::{
    ABI1_NOTE_TYPE, MFT1_NOTE_ALIGN, MFT1_NOTE_TYPE, NOTE_HEADER_SIZE, NOTE_NAME, NOTE_NAMESZ,
};
use gitns_abi::{GUEST_MIN_BASE, PAGE_SIZE};

const PT_LOAD: u32 = 1;
const PT_NOTE: u32 = 4;
const PF_X: u32 = 1;
const PF_W: u32 = 2;
const EHDR_SIZE: usize = 64;
const PHDR_SIZE: usize = 56;
/// Largest manifest note descriptor (64 entries) plus padding.
const MFT_NOTE_MAX: usize = 4 + gitns_abi::manifest::mft_size(gitns_abi::manifest::MFT_MAX_ENTRIES);

/// Why an image was refused; `Display` gives the one-line message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ElfError {
    /// Not an ELF64 little-endian x86_64 executable, or truncated header.
    Header,
    /// Program headers run past the end of the file.
    ProgramHeaders,
    /// Entry point outside [GUEST_MIN_BASE, mem_size).
    Entry { entry: u64, mem_size: u64 },
    /// A loadable segment breaks a rule; the text says which.
    Segment { index: usize, what: String },
    /// A segment asks for write and execute.
    WriteExec { index: usize },
    /// No Solo5 ABI note.
    NoAbiNote,
    /// ABI note for another target.
    WrongTarget(u32),
    /// ABI note with an unsupported version.
    WrongAbiVersion(u32),
    /// No manifest note.
    NoManifest,
    /// A note's sizes are inconsistent.
    BadNote { index: usize },
    /// The manifest does not validate.
    BadManifest(gitns_abi::manifest::MftError),
}

impl std::fmt::Display for ElfError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const INV: &str = "invalid executable";
        match self {
            ElfError::Header => write!(f, "invalid or unsupported executable (elf header invalid)"),
            ElfError::ProgramHeaders => write!(f, "{INV}: program header does not match the expected size"),
            ElfError::Entry { entry, mem_size } => write!(
                f,
                "{INV}: e_entry does not fall within the memory allocation range ({entry:#x} < {GUEST_MIN_BASE:#x} || {entry:#x} >= {mem_size:#x})"
            ),
            ElfError::Segment { index, what } => write!(f, "{INV}: phdr[{index}] {what}"),
            ElfError::WriteExec { index } => write!(f, "{INV}: phdr[{index}] requests WRITE and EXEC permissions"),
            ElfError::NoAbiNote => write!(f, "No Solo5 ABI information found in executable"),
            ElfError::WrongTarget(t) => write!(f, "Executable is not for the solo5-hvt target (ABI target {t})"),
            ElfError::WrongAbiVersion(v) => write!(f, "Executable requests unsupported ABI version {v}"),
            ElfError::NoManifest => write!(f, "No Solo5 manifest found in executable"),
            ElfError::BadNote { index } => write!(f, "{INV}: phdr[{index}] note does not fall within valid size"),
            ElfError::BadManifest(e) => write!(f, "Solo5 manifest is invalid ({e:?})"),
        }
    }
}

/// A loadable segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    pub vaddr: u64,
    pub offset: u64,
    pub filesz: u64,
    pub memsz: u64,
    /// Page-aligned extent [start, end).
    pub start: u64,
    pub end: u64,
    pub writable: bool,
    pub executable: bool,
}

/// A validated image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Image {
    pub entry: u64,
    /// First page after the highest segment.
    pub end: u64,
    pub segments: Vec<Segment>,
    /// The manifest (without the note's alignment padding).
    pub manifest: Vec<u8>,
}

fn u16_at(b: &[u8], o: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(o..o + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], o: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(o..o + 4)?.try_into().ok()?))
}

fn u64_at(b: &[u8], o: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(o..o + 8)?.try_into().ok()?))
}

/// One program header.
#[derive(Clone, Copy, Debug)]
struct Phdr {
    kind: u32,
    flags: u32,
    offset: u64,
    vaddr: u64,
    filesz: u64,
    memsz: u64,
    align: u64,
}

fn header(b: &[u8]) -> Result<(u64, Vec<Phdr>), ElfError> {
    let ok = b.len() >= EHDR_SIZE
        && b[..4] == *b"\x7fELF"
        && b[4] == 2 // ELFCLASS64
        && b[5] == 1 // little endian
        && u32_at(b, 20) == Some(1) // EV_CURRENT
        && u16_at(b, 16) == Some(2) // ET_EXEC
        && u16_at(b, 18) == Some(62) // EM_X86_64
        && u16_at(b, 52) == Some(EHDR_SIZE as u16)
        && u16_at(b, 54) == Some(PHDR_SIZE as u16)
        && u16_at(b, 56).is_some_and(|n| n >= 1);
    if !ok {
        return Err(ElfError::Header);
    }
    let entry = u64_at(b, 24).ok_or(ElfError::Header)?;
    let phoff = u64_at(b, 32).ok_or(ElfError::Header)? as usize;
    let phnum = u16_at(b, 56).ok_or(ElfError::Header)? as usize;
    let mut phdrs = Vec::with_capacity(phnum);
    for i in 0..phnum {
        let o = phoff
            .checked_add(i * PHDR_SIZE)
            .ok_or(ElfError::ProgramHeaders)?;
        let p = b
            .get(o..o.checked_add(PHDR_SIZE).ok_or(ElfError::ProgramHeaders)?)
            .ok_or(ElfError::ProgramHeaders)?;
        phdrs.push(Phdr {
            kind: u32_at(p, 0).ok_or(ElfError::ProgramHeaders)?,
            flags: u32_at(p, 4).ok_or(ElfError::ProgramHeaders)?,
            offset: u64_at(p, 8).ok_or(ElfError::ProgramHeaders)?,
            vaddr: u64_at(p, 16).ok_or(ElfError::ProgramHeaders)?,
            filesz: u64_at(p, 32).ok_or(ElfError::ProgramHeaders)?,
            memsz: u64_at(p, 40).ok_or(ElfError::ProgramHeaders)?,
            align: u64_at(p, 48).ok_or(ElfError::ProgramHeaders)?,
        });
    }
    Ok((entry, phdrs))
}

/// The descriptor of the Solo5 note of type `kind`, with `align` padding removed.
fn note(
    b: &[u8],
    phdrs: &[Phdr],
    kind: u32,
    align: usize,
    max: usize,
) -> Result<Option<Vec<u8>>, ElfError> {
    for (index, p) in phdrs.iter().enumerate().filter(|(_, p)| p.kind == PT_NOTE) {
        if p.filesz < 12 {
            return Err(ElfError::BadNote { index });
        }
        if p.filesz < NOTE_HEADER_SIZE as u64 {
            continue;
        }
        let off = p.offset as usize;
        let h = b
            .get(off..off.saturating_add(NOTE_HEADER_SIZE))
            .ok_or(ElfError::BadNote { index })?;
        if u32_at(h, 0) != Some(NOTE_NAMESZ) || h[12..20] != NOTE_NAME || u32_at(h, 8) != Some(kind)
        {
            continue;
        }
        let descsz = u32_at(h, 4).ok_or(ElfError::BadNote { index })? as usize;
        if descsz < 1 || descsz > max || (p.filesz as usize) < NOTE_HEADER_SIZE + descsz {
            return Err(ElfError::BadNote { index });
        }
        let desc_off = NOTE_HEADER_SIZE.div_ceil(align) * align;
        let pad = desc_off - NOTE_HEADER_SIZE;
        let size = descsz
            .checked_sub(pad)
            .filter(|s| *s > 0)
            .ok_or(ElfError::BadNote { index })?;
        let start = off + desc_off;
        let d = b
            .get(start..start + size)
            .ok_or(ElfError::BadNote { index })?;
        return Ok(Some(d.to_vec()));
    }
    Ok(None)
}

/// Validate the ABI note: hvt target, ABI version 2.
fn check_abi(b: &[u8], phdrs: &[Phdr]) -> Result<(), ElfError> {
    let d = note(b, phdrs, ABI1_NOTE_TYPE, 4, 32)?.ok_or(ElfError::NoAbiNote)?;
    let target = u32_at(&d, 0).ok_or(ElfError::NoAbiNote)?;
    let version = u32_at(&d, 4).ok_or(ElfError::NoAbiNote)?;
    if target != gitns_abi::HVT_ABI_TARGET {
        return Err(ElfError::WrongTarget(target));
    }
    if version != gitns_abi::HVT_ABI_VERSION {
        return Err(ElfError::WrongAbiVersion(version));
    }
    Ok(())
}

fn seg_err(index: usize, what: &str) -> ElfError {
    ElfError::Segment {
        index,
        what: what.to_string(),
    }
}

/// Check one loadable segment; returns its page-aligned end.
fn check_segment(
    index: usize,
    p: &Phdr,
    last_vaddr: u64,
    end_so_far: u64,
    mem_size: u64,
    file_len: u64,
) -> Result<u64, ElfError> {
    if p.vaddr < GUEST_MIN_BASE {
        return Err(seg_err(index, "p_vaddr outside of valid memory range"));
    }
    if p.vaddr < last_vaddr {
        return Err(seg_err(index, "p_vaddr is not in ascending order"));
    }
    if p.align == 0 || !p.align.is_power_of_two() {
        return Err(seg_err(index, "p_align is not a power of two"));
    }
    let start = p.vaddr & !(p.align - 1);
    if start < GUEST_MIN_BASE || start < end_so_far {
        return Err(seg_err(index, "p_vaddr_start is outside of memory range"));
    }
    if p.vaddr >= mem_size || p.vaddr.checked_add(p.filesz).is_none_or(|e| e > mem_size) {
        return Err(seg_err(
            index,
            "program file segment falls outside of valid range (p_vaddr + p_filesz > mem_size: give more --mem)",
        ));
    }
    if p.memsz < p.filesz {
        return Err(seg_err(
            index,
            "program memory segment falls outside of valid range (p_memsz < p_filesz)",
        ));
    }
    let end = p
        .vaddr
        .checked_add(p.memsz)
        .and_then(|e| e.checked_add(p.align - 1))
        .map(|e| e & !(p.align - 1))
        .ok_or_else(|| seg_err(index, "program memory segment falls outside of valid range"))?;
    if end > mem_size {
        return Err(seg_err(
            index,
            "program memory segment falls outside of valid range (p_vaddr + p_memsz > mem_size)",
        ));
    }
    if p.offset.checked_add(p.filesz).is_none_or(|e| e > file_len) {
        return Err(seg_err(index, "host file segment mismatched"));
    }
    if !start.is_multiple_of(PAGE_SIZE) || !end.is_multiple_of(PAGE_SIZE) {
        return Err(seg_err(
            index,
            "p_vaddr_start not aligned with architectural page size",
        ));
    }
    if p.flags & PF_W != 0 && p.flags & PF_X != 0 {
        return Err(ElfError::WriteExec { index });
    }
    Ok(end)
}

/// Validate an image for a guest of `mem_size` bytes.
pub fn parse(b: &[u8], mem_size: u64) -> Result<Image, ElfError> {
    let (entry, phdrs) = header(b)?;
    check_abi(b, &phdrs)?;
    let manifest = note(b, &phdrs, MFT1_NOTE_TYPE, MFT1_NOTE_ALIGN, MFT_NOTE_MAX)?
        .ok_or(ElfError::NoManifest)?;
    gitns_abi::manifest::MftView::parse(&manifest).map_err(ElfError::BadManifest)?;
    if entry < GUEST_MIN_BASE || entry >= mem_size {
        return Err(ElfError::Entry { entry, mem_size });
    }
    let mut segments = Vec::new();
    let (mut last, mut end) = (0u64, 0u64);
    for (index, p) in phdrs.iter().enumerate() {
        if p.kind != PT_LOAD || p.filesz == 0 {
            continue;
        }
        let seg_end = check_segment(index, p, last, end, mem_size, b.len() as u64)?;
        end = end.max(seg_end);
        last = p.vaddr;
        segments.push(Segment {
            vaddr: p.vaddr,
            offset: p.offset,
            filesz: p.filesz,
            memsz: p.memsz,
            start: p.vaddr & !(p.align - 1),
            end: seg_end,
            writable: p.flags & PF_W != 0,
            executable: p.flags & PF_X != 0,
        });
    }
    if segments.is_empty() {
        return Err(seg_err(0, "no loadable segment"));
    }
    Ok(Image {
        entry,
        end,
        segments,
        manifest,
    })
}

/// Hand-made images for tests and fuzz seeds.
#[doc(hidden)]
pub mod sample {
    use super::{PT_LOAD, PT_NOTE};

    /// A minimal valid image: one RX text segment at 1 MiB holding `code`,
    /// the ABI note and a manifest with a `service` net device.
    pub fn tiny_image(code: &[u8]) -> Vec<u8> {
        tiny_image_with(code, true)
    }

    /// As [`tiny_image`], with or without the `service` device.
    pub fn tiny_image_with(code: &[u8], with_net: bool) -> Vec<u8> {
        let mut b = vec![0u8; 0x3000];
        b[..4].copy_from_slice(b"\x7fELF");
        b[4] = 2;
        b[5] = 1;
        b[6] = 1;
        b[16..18].copy_from_slice(&2u16.to_le_bytes());
        b[18..20].copy_from_slice(&62u16.to_le_bytes());
        b[20..24].copy_from_slice(&1u32.to_le_bytes());
        b[24..32].copy_from_slice(&0x100000u64.to_le_bytes());
        b[32..40].copy_from_slice(&64u64.to_le_bytes());
        b[52..54].copy_from_slice(&64u16.to_le_bytes());
        b[54..56].copy_from_slice(&56u16.to_le_bytes());
        b[56..58].copy_from_slice(&3u16.to_le_bytes());
        let ph = |b: &mut Vec<u8>,
                  i: usize,
                  kind: u32,
                  flags: u32,
                  off: u64,
                  vaddr: u64,
                  filesz: u64,
                  memsz: u64,
                  align: u64| {
            let o = 64 + i * 56;
            b[o..o + 4].copy_from_slice(&kind.to_le_bytes());
            b[o + 4..o + 8].copy_from_slice(&flags.to_le_bytes());
            b[o + 8..o + 16].copy_from_slice(&off.to_le_bytes());
            b[o + 16..o + 24].copy_from_slice(&vaddr.to_le_bytes());
            b[o + 24..o + 32].copy_from_slice(&vaddr.to_le_bytes());
            b[o + 32..o + 40].copy_from_slice(&filesz.to_le_bytes());
            b[o + 40..o + 48].copy_from_slice(&memsz.to_le_bytes());
            b[o + 48..o + 56].copy_from_slice(&align.to_le_bytes());
        };
        ph(
            &mut b,
            0,
            PT_LOAD,
            5,
            0x1000,
            0x100000,
            code.len() as u64,
            code.len() as u64,
            0x1000,
        );
        b[0x1000..0x1000 + code.len()].copy_from_slice(code);
        // ABI note at 0x2000.
        let abi = gitns_abi::note::AbiNote::hvt();
        // SAFETY: AbiNote is repr(C) plain data.
        let abi_bytes = unsafe { std::slice::from_raw_parts(&abi as *const _ as *const u8, 36) };
        b[0x2000..0x2024].copy_from_slice(abi_bytes);
        ph(&mut b, 1, PT_NOTE, 4, 0x2000, 0, 36, 36, 4);
        // Manifest note at 0x2100.
        use gitns_abi::manifest::MftEntry;
        use gitns_abi::note::MftNote;
        let m2 = MftNote::new([MftEntry::reserved_first(), MftEntry::net("service")]);
        let m1 = MftNote::new([MftEntry::reserved_first()]);
        // SAFETY: MftNote is repr(C) plain data.
        let m_bytes = unsafe {
            if with_net {
                std::slice::from_raw_parts(&m2 as *const _ as *const u8, std::mem::size_of_val(&m2))
            } else {
                std::slice::from_raw_parts(&m1 as *const _ as *const u8, std::mem::size_of_val(&m1))
            }
        };
        let n = m_bytes.len();
        b[0x2100..0x2100 + n].copy_from_slice(m_bytes);
        ph(&mut b, 2, PT_NOTE, 4, 0x2100, 0, n as u64, n as u64, 8);
        b
    }
}

#[cfg(test)]
mod tests {
    use super::sample::*;
    use super::*;

    const MEM: u64 = 64 << 20;

    #[test]
    fn tiny_image_is_valid() {
        let img = parse(&tiny_image(&[0xf4]), MEM).unwrap();
        assert_eq!(img.entry, 0x100000);
        assert_eq!(img.end, 0x101000);
        assert_eq!(img.segments.len(), 1);
        assert_eq!(img.manifest.len(), 8 + 2 * 104);
    }

    #[test]
    fn truncated_and_garbage_are_rejected() {
        let good = tiny_image(&[0xf4]);
        assert_eq!(parse(&good[..40], MEM), Err(ElfError::Header));
        assert!(parse(&good[..200], MEM).is_err());
        assert_eq!(parse(&[0x55; 4096], MEM), Err(ElfError::Header));
        assert_eq!(parse(&[], MEM), Err(ElfError::Header));
    }

    #[test]
    fn entry_out_of_range() {
        let mut b = tiny_image(&[0xf4]);
        b[24..32].copy_from_slice(&0x1000u64.to_le_bytes());
        assert!(matches!(
            parse(&b, MEM),
            Err(ElfError::Entry { entry: 0x1000, .. })
        ));
        b[24..32].copy_from_slice(&MEM.to_le_bytes());
        assert!(matches!(parse(&b, MEM), Err(ElfError::Entry { .. })));
    }

    #[test]
    fn write_exec_is_rejected() {
        let mut b = tiny_image(&[0xf4]);
        b[64 + 4..64 + 8].copy_from_slice(&7u32.to_le_bytes());
        assert_eq!(parse(&b, MEM), Err(ElfError::WriteExec { index: 0 }));
        assert!(parse(&b, MEM)
            .unwrap_err()
            .to_string()
            .contains("WRITE and EXEC"));
    }

    #[test]
    fn wrong_abi_is_rejected() {
        let mut b = tiny_image(&[0xf4]);
        b[0x2000 + 24..0x2000 + 28].copy_from_slice(&3u32.to_le_bytes());
        assert_eq!(parse(&b, MEM), Err(ElfError::WrongAbiVersion(3)));
        b[0x2000 + 20..0x2000 + 24].copy_from_slice(&2u32.to_le_bytes());
        assert_eq!(parse(&b, MEM), Err(ElfError::WrongTarget(2)));
        b[0x2000 + 8] = 0; // note type no longer ABI1
        assert_eq!(parse(&b, MEM), Err(ElfError::NoAbiNote));
    }

    #[test]
    fn segment_rules() {
        let mut b = tiny_image(&[0xf4]);
        // Segment beyond memory.
        assert!(matches!(
            parse(&b, 0x100800),
            Err(ElfError::Entry { .. }) | Err(ElfError::Segment { .. })
        ));
        // File offset past the end of the file.
        b[64 + 8..64 + 16].copy_from_slice(&0xffff_0000u64.to_le_bytes());
        assert!(matches!(
            parse(&b, MEM),
            Err(ElfError::Segment { index: 0, .. })
        ));
        // Below 1 MiB.
        let mut b = tiny_image(&[0xf4]);
        b[64 + 16..64 + 24].copy_from_slice(&0x1000u64.to_le_bytes());
        assert!(matches!(
            parse(&b, MEM),
            Err(ElfError::Segment { index: 0, .. })
        ));
        // memsz < filesz.
        let mut b = tiny_image(&[0xf4, 0xf4]);
        b[64 + 40..64 + 48].copy_from_slice(&1u64.to_le_bytes());
        assert!(matches!(
            parse(&b, MEM),
            Err(ElfError::Segment { index: 0, .. })
        ));
        // Huge memsz overflowing.
        let mut b = tiny_image(&[0xf4]);
        b[64 + 40..64 + 48].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(matches!(
            parse(&b, MEM),
            Err(ElfError::Segment { index: 0, .. })
        ));
    }

    #[test]
    fn bad_manifest_is_rejected() {
        let mut b = tiny_image(&[0xf4]);
        b[0x2100 + 24] = 9; // manifest version
        assert!(matches!(parse(&b, MEM), Err(ElfError::BadManifest(_))));
        let mut b = tiny_image(&[0xf4]);
        b[0x2100 + 8] = 0; // not a manifest note any more
        assert_eq!(parse(&b, MEM), Err(ElfError::NoManifest));
    }
}
