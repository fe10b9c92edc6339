//! The Solo5 ELF notes (`elf_abi.h`, `mft_abi.h`).
//!
//! Each note lives in its own PT_NOTE program header (the tender reads the
//! note header at the segment's file offset). Name "Solo5" (namesz 6,
//! padded to 8). The manifest note's descriptor starts with 4 bytes of
//! padding so that the manifest is 8-byte aligned in the file.

use crate::manifest::{Mft, MftEntry, MFT_VERSION};

/// Note name shared by Solo5 notes, with its NUL and padding.
pub const NOTE_NAME: [u8; 8] = *b"Solo5\0\0\0";
/// `n_namesz` of a Solo5 note ("Solo5" plus NUL).
pub const NOTE_NAMESZ: u32 = 6;
/// ABI note type ("ABI1").
pub const ABI1_NOTE_TYPE: u32 = 0x3149_4241;
/// Manifest note type ("MFT1").
pub const MFT1_NOTE_TYPE: u32 = 0x3154_464d;
/// Alignment of the ABI note descriptor.
pub const ABI1_NOTE_ALIGN: usize = 4;
/// Alignment of the manifest note descriptor.
pub const MFT1_NOTE_ALIGN: usize = 8;
/// Byte size of a Solo5 note header (namesz, descsz, type, name[8]).
pub const NOTE_HEADER_SIZE: usize = 20;

/// Note header.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct NoteHeader {
    pub namesz: u32,
    pub descsz: u32,
    pub kind: u32,
    pub name: [u8; 8],
}

/// The ABI note: target and version.
#[repr(C, align(4))]
#[derive(Clone, Copy)]
pub struct AbiNote {
    pub h: NoteHeader,
    pub target: u32,
    pub version: u32,
    pub reserved: [u32; 2],
}

impl AbiNote {
    /// The note of an hvt image of this ABI version.
    pub const fn hvt() -> AbiNote {
        AbiNote {
            h: NoteHeader {
                namesz: NOTE_NAMESZ,
                descsz: 16,
                kind: ABI1_NOTE_TYPE,
                name: NOTE_NAME,
            },
            target: crate::HVT_ABI_TARGET,
            version: crate::HVT_ABI_VERSION,
            reserved: [0; 2],
        }
    }
}

/// The manifest note with `N` entries.
#[repr(C, align(8))]
#[derive(Clone, Copy)]
pub struct MftNote<const N: usize> {
    pub h: NoteHeader,
    pub pad: u32,
    pub m: Mft<N>,
}

impl<const N: usize> MftNote<N> {
    /// Build the note around the given entries (entry 0 must be reserved).
    pub const fn new(e: [MftEntry; N]) -> MftNote<N> {
        let descsz = (core::mem::size_of::<MftNote<N>>() - NOTE_HEADER_SIZE) as u32;
        MftNote {
            h: NoteHeader {
                namesz: NOTE_NAMESZ,
                descsz,
                kind: MFT1_NOTE_TYPE,
                name: NOTE_NAME,
            },
            pad: 0,
            m: Mft {
                version: MFT_VERSION,
                entries: N as u32,
                e,
            },
        }
    }
}

const _: () = assert!(core::mem::size_of::<NoteHeader>() == NOTE_HEADER_SIZE);
const _: () = assert!(core::mem::size_of::<AbiNote>() == 36);
const _: () = assert!(core::mem::size_of::<MftNote<2>>() == 24 + 8 + 2 * 104);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_note_descriptor_covers_padding_and_manifest() {
        let n = MftNote::new([MftEntry::reserved_first(), MftEntry::net("service")]);
        assert_eq!(n.h.descsz as usize, 4 + 8 + 2 * 104);
        assert_eq!(n.m.entries, 2);
    }
}
