//! The manifest copy the tender leaves at boot info `mft`, with each device
//! it attached marked `attached` and filled in (MAC/MTU, capacity).

use gitns_abi::manifest::{MftEntry, MFT_MAX_ENTRIES, MFT_NAME_SIZE};

/// The attached entry named `name` of type `kind`, with its index (handle).
pub(crate) fn find(mft: u64, name: &str, kind: u32) -> Option<(u64, MftEntry)> {
    if mft == 0 {
        return None;
    }
    // SAFETY: the tender places the manifest copy (u32 version, u32 count,
    // then entries) at this address, inside guest memory, before entry.
    let count = unsafe { core::ptr::read((mft as *const u32).add(1)) } as usize;
    let entries = (mft + 8) as *const MftEntry;
    (1..count.min(MFT_MAX_ENTRIES)).find_map(|i| {
        // SAFETY: i < count, and the tender copied `count` entries.
        let e = unsafe { core::ptr::read(entries.add(i)) };
        (e.kind == kind && e.attached && name_is(&e.name, name)).then_some((i as u64, e))
    })
}

fn name_is(raw: &[u8; MFT_NAME_SIZE], name: &str) -> bool {
    let end = raw.iter().position(|&b| b == 0).unwrap_or(MFT_NAME_SIZE);
    &raw[..end] == name.as_bytes()
}
