//! Where things lie on the device and how a slot header reads: the two
//! slots and their headers, the checksums, the digest of a file set.
//! The whole format is described in docs/design.md ("Crash-safe storage").

use crate::archive::File;
use crate::device::SECTOR;
use sha2::{Digest, Sha256};

const SLOT_MAGIC: &[u8; 8] = b"gitnsSH1";
/// The journal header of the single-slot format (before 2026-12-07).
pub(crate) const BARE_MAGIC: &[u8; 8] = b"gitnsJH1";
pub(crate) const CHECKSUM: usize = 16;
/// Magic, generation, archive length, digest: the checksummed part of a
/// slot header.
const SLOT_HEAD: usize = 8 + 8 + 8 + 32;

/// Where the two slots and their headers lie on a device: slot 0 at
/// `0 .. S`, slot 1 at `S .. 2S`, the header of slot 0 at `C - 1024`, of
/// slot 1 at `C - 512` (C the capacity rounded down to a sector, S half
/// of what is before the headers, rounded down to a sector).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Layout {
    /// Bytes of a slot.
    pub(crate) slot: u64,
    /// Offset of slot 0's header; slot 1's follows it.
    pub(crate) headers: u64,
}

impl Layout {
    pub(crate) fn of(capacity: u64) -> Option<Layout> {
        let s = SECTOR as u64;
        let headers = (capacity / s).checked_sub(2)? * s;
        let slot = headers / 2 / s * s;
        (slot >= 2 * s).then_some(Layout { slot, headers })
    }

    pub(crate) fn start(&self, slot: usize) -> u64 {
        slot as u64 * self.slot
    }

    pub(crate) fn header(&self, slot: usize) -> u64 {
        self.headers + (slot * SECTOR) as u64
    }
}

/// The digest of a file set, as the header holds it.
pub(crate) fn digest(files: &[File]) -> [u8; 32] {
    let mut h = Sha256::new();
    for (name, data) in files {
        h.update((name.len() as u64).to_le_bytes());
        h.update(name.as_bytes());
        h.update((data.len() as u64).to_le_bytes());
        h.update(data);
    }
    h.finalize().into()
}

/// The checksum of a header or record: SHA-256 cut to 16 bytes.
pub(crate) fn checksum(b: &[u8]) -> [u8; CHECKSUM] {
    let d: [u8; 32] = Sha256::digest(b).into();
    let mut c = [0u8; CHECKSUM];
    c.copy_from_slice(&d[..CHECKSUM]);
    c
}

pub(crate) fn u64_at(b: &[u8], i: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[i..i + 8]);
    u64::from_le_bytes(a)
}

pub(crate) fn u32_at(b: &[u8], i: usize) -> u32 {
    u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
}

/// A slot header: magic, generation, archive length, digest of the
/// files, checksum; one sector, so it is written (switched to) at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SlotHeader {
    pub(crate) generation: u64,
    pub(crate) archive: u64,
    pub(crate) digest: [u8; 32],
}

impl SlotHeader {
    pub(crate) fn encode(&self) -> [u8; SECTOR] {
        let mut s = [0u8; SECTOR];
        s[..8].copy_from_slice(SLOT_MAGIC);
        s[8..16].copy_from_slice(&self.generation.to_le_bytes());
        s[16..24].copy_from_slice(&self.archive.to_le_bytes());
        s[24..SLOT_HEAD].copy_from_slice(&self.digest);
        let c = checksum(&s[..SLOT_HEAD]);
        s[SLOT_HEAD..SLOT_HEAD + CHECKSUM].copy_from_slice(&c);
        s
    }

    /// The header in `s`, if whole (a torn or foreign sector is None).
    pub(crate) fn decode(s: &[u8; SECTOR]) -> Option<SlotHeader> {
        if &s[..8] != SLOT_MAGIC || s[SLOT_HEAD..SLOT_HEAD + CHECKSUM] != checksum(&s[..SLOT_HEAD])
        {
            return None;
        }
        let mut digest = [0u8; 32];
        digest.copy_from_slice(&s[24..SLOT_HEAD]);
        Some(SlotHeader {
            generation: u64_at(s, 8),
            archive: u64_at(s, 16),
            digest,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_header_reads_back_and_a_torn_one_does_not() {
        let h = SlotHeader {
            generation: 7,
            archive: 4096,
            digest: [3; 32],
        };
        let mut s = h.encode();
        assert_eq!(SlotHeader::decode(&s), Some(h));
        s[20] ^= 1;
        assert_eq!(SlotHeader::decode(&s), None);
    }

    #[test]
    fn the_layout_leaves_two_sectors_for_the_headers() {
        let l = Layout::of(64 * 1024 + 100).unwrap();
        assert_eq!(l.headers, 64 * 1024 - 1024);
        assert_eq!(l.slot, 63 * 512);
        assert_eq!((l.start(1), l.header(1)), (63 * 512, 64 * 1024 - 512));
        assert_eq!(Layout::of(5 * 512), None);
    }
}
