//! The application manifest (Solo5 `mft_abi.h`, version 1).
//!
//! The image declares its devices in an ELF note; the tender copies the
//! manifest to [`crate::MFT_BASE`], attaches each device and marks it
//! attached. A device's handle is its index in the entry array.

/// Manifest format version.
pub const MFT_VERSION: u32 = 1;
/// Most entries a manifest may hold.
pub const MFT_MAX_ENTRIES: usize = 64;
/// Bytes of an entry's name, terminator included.
pub const MFT_NAME_SIZE: usize = 68;
/// Longest device name.
pub const MFT_NAME_MAX: usize = 67;

/// Entry types (`mft_type_t`).
pub const MFT_DEV_BLOCK_BASIC: u32 = 1;
pub const MFT_DEV_NET_BASIC: u32 = 2;
/// Type of the mandatory, nameless first entry.
pub const MFT_RESERVED_FIRST: u32 = 1 << 30;

/// Byte size of one entry on x86_64.
pub const MFT_ENTRY_SIZE: usize = 104;
/// Offsets inside an entry.
pub const MFT_ENTRY_TYPE_OFFSET: usize = 68;
pub const MFT_ENTRY_UNION_OFFSET: usize = 72;
pub const MFT_ENTRY_HOSTFD_OFFSET: usize = 88;
pub const MFT_ENTRY_ATTACHED_OFFSET: usize = 96;

/// One manifest entry (`struct mft_entry`).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct MftEntry {
    pub name: [u8; MFT_NAME_SIZE],
    pub kind: u32,
    /// net: mac[6] + mtu (u16); block: capacity (u64) + block_size (u16).
    pub u: [u64; 2],
    /// Host-side backing descriptor; the tender may write it, the guest ignores it.
    pub b: u64,
    pub attached: bool,
}

const _: () = assert!(core::mem::size_of::<MftEntry>() == MFT_ENTRY_SIZE);

impl MftEntry {
    /// The reserved first entry.
    pub const fn reserved_first() -> MftEntry {
        MftEntry {
            name: [0; MFT_NAME_SIZE],
            kind: MFT_RESERVED_FIRST,
            u: [0; 2],
            b: 0,
            attached: false,
        }
    }

    /// A network device entry with the given name (checked at compile time
    /// when used in a const context).
    pub const fn net(name: &str) -> MftEntry {
        MftEntry {
            name: name_bytes(name),
            kind: MFT_DEV_NET_BASIC,
            u: [0; 2],
            b: 0,
            attached: false,
        }
    }

    /// A block device entry with the given name.
    pub const fn block(name: &str) -> MftEntry {
        MftEntry {
            name: name_bytes(name),
            kind: MFT_DEV_BLOCK_BASIC,
            u: [0; 2],
            b: 0,
            attached: false,
        }
    }
}

const fn name_bytes(name: &str) -> [u8; MFT_NAME_SIZE] {
    let src = name.as_bytes();
    assert!(
        !src.is_empty() && src.len() <= MFT_NAME_MAX,
        "manifest device name length"
    );
    let mut out = [0u8; MFT_NAME_SIZE];
    let mut i = 0;
    while i < src.len() {
        assert!(
            src[i].is_ascii_alphanumeric(),
            "manifest device names are alphanumeric"
        );
        out[i] = src[i];
        i += 1;
    }
    out
}

/// A manifest with `N` entries (`struct mft`).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Mft<const N: usize> {
    pub version: u32,
    pub entries: u32,
    pub e: [MftEntry; N],
}

/// Byte size of a manifest with `n` entries.
pub const fn mft_size(n: usize) -> usize {
    8 + n * MFT_ENTRY_SIZE
}

/// Why a manifest read from an image was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MftError {
    TooShort,
    BadVersion,
    TooManyEntries,
    SizeMismatch,
    BadFirstEntry,
    NameNotTerminated,
    AlreadyAttached,
}

/// A validated view of a manifest held in a byte buffer.
#[derive(Clone, Copy, Debug)]
pub struct MftView<'a> {
    bytes: &'a [u8],
}

/// One device of a validated manifest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Device<'a> {
    pub index: usize,
    pub name: &'a str,
    pub kind: u32,
}

impl<'a> MftView<'a> {
    /// Validate a manifest like Solo5's `mft_validate`.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, MftError> {
        if bytes.len() < 8 {
            return Err(MftError::TooShort);
        }
        if u32_at(bytes, 0) != MFT_VERSION {
            return Err(MftError::BadVersion);
        }
        let entries = u32_at(bytes, 4) as usize;
        if entries > MFT_MAX_ENTRIES {
            return Err(MftError::TooManyEntries);
        }
        if bytes.len() != mft_size(entries) {
            return Err(MftError::SizeMismatch);
        }
        let view = MftView { bytes };
        if entries < 1 || view.kind(0) != MFT_RESERVED_FIRST || view.raw_name(0)[0] != 0 {
            return Err(MftError::BadFirstEntry);
        }
        for i in 0..entries {
            if view.raw_name(i)[MFT_NAME_MAX] != 0 {
                return Err(MftError::NameNotTerminated);
            }
            if view.entry(i)[MFT_ENTRY_ATTACHED_OFFSET] != 0 {
                return Err(MftError::AlreadyAttached);
            }
        }
        Ok(view)
    }

    /// Number of entries, the reserved first one included.
    pub fn len(&self) -> usize {
        u32_at(self.bytes, 4) as usize
    }

    /// True when only the reserved entry is present.
    pub fn is_empty(&self) -> bool {
        self.len() <= 1
    }

    fn entry(&self, i: usize) -> &'a [u8] {
        let start = 8 + i * MFT_ENTRY_SIZE;
        &self.bytes[start..start + MFT_ENTRY_SIZE]
    }

    fn raw_name(&self, i: usize) -> &'a [u8] {
        &self.entry(i)[..MFT_NAME_SIZE]
    }

    fn kind(&self, i: usize) -> u32 {
        u32_at(self.entry(i), MFT_ENTRY_TYPE_OFFSET)
    }

    /// The devices (entries after the reserved one).
    pub fn devices(&self) -> impl Iterator<Item = Device<'a>> + '_ {
        (1..self.len()).map(move |i| {
            let raw = self.raw_name(i);
            let end = raw.iter().position(|&b| b == 0).unwrap_or(MFT_NAME_MAX);
            let name = core::str::from_utf8(&raw[..end]).unwrap_or("?");
            Device {
                index: i,
                name,
                kind: self.kind(i),
            }
        })
    }
}

fn u32_at(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(unsafe_code)]
    fn bytes_of<T>(v: &T) -> &[u8] {
        // SAFETY: T is a repr(C) plain-data struct without padding reads that matter for the test.
        unsafe {
            core::slice::from_raw_parts(v as *const T as *const u8, core::mem::size_of::<T>())
        }
    }

    #[test]
    fn parses_a_manifest_with_one_net_device() {
        let m = Mft {
            version: MFT_VERSION,
            entries: 2,
            e: [MftEntry::reserved_first(), MftEntry::net("service")],
        };
        let v = MftView::parse(bytes_of(&m)).unwrap();
        let mut devs = v.devices();
        assert_eq!(
            devs.next(),
            Some(Device {
                index: 1,
                name: "service",
                kind: MFT_DEV_NET_BASIC
            })
        );
        assert_eq!(devs.next(), None);
    }

    #[test]
    fn rejects_bad_manifests() {
        let mut m = Mft {
            version: MFT_VERSION,
            entries: 2,
            e: [MftEntry::reserved_first(), MftEntry::net("service")],
        };
        assert_eq!(
            MftView::parse(&bytes_of(&m)[..100]).unwrap_err(),
            MftError::SizeMismatch
        );
        m.e[1].attached = true;
        assert_eq!(
            MftView::parse(bytes_of(&m)).unwrap_err(),
            MftError::AlreadyAttached
        );
        m.e[1].attached = false;
        m.version = 2;
        assert_eq!(
            MftView::parse(bytes_of(&m)).unwrap_err(),
            MftError::BadVersion
        );
        m.version = 1;
        m.e[0] = MftEntry::net("x");
        assert_eq!(
            MftView::parse(bytes_of(&m)).unwrap_err(),
            MftError::BadFirstEntry
        );
        assert_eq!(MftView::parse(&[1, 0, 0]).unwrap_err(), MftError::TooShort);
    }
}
