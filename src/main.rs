//! The gitns image: Solo5 notes and the entry into the appliance.
#![no_std]
#![no_main]

use gitns_abi::manifest::MftEntry;
use gitns_abi::note::{AbiNote, MftNote};

/// The Solo5 ABI note: hvt target, ABI version 2.
#[used]
#[link_section = ".note.solo5.abi"]
static ABI_NOTE: AbiNote = AbiNote::hvt();

/// The manifest: one network device named `service`. Solo5 tenders insist
/// that every declared device is attached, so the block device `storage`
/// (the persistent zone cache) is only declared by the `gitns-storage.hvt`
/// variant (feature "storage"); see docs/design.md.
#[cfg(not(feature = "storage"))]
#[used]
#[link_section = ".note.solo5.manifest"]
static MFT_NOTE: MftNote<2> = MftNote::new([MftEntry::reserved_first(), MftEntry::net("service")]);

/// The manifest of the storage variant: `service` and the block device `storage`.
#[cfg(feature = "storage")]
#[used]
#[link_section = ".note.solo5.manifest"]
static MFT_NOTE: MftNote<3> = MftNote::new([
    MftEntry::reserved_first(),
    MftEntry::net("service"),
    MftEntry::block("storage"),
]);

gitns_guest::main!(image_main);

fn image_main(platform: &mut gitns_guest::Hvt, cmdline: &str) -> i32 {
    gitns::run(platform, cmdline)
}
