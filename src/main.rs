//! The gitns image: Solo5 notes and the entry into the appliance.
#![no_std]
#![no_main]

use gitns_abi::manifest::MftEntry;
use gitns_abi::note::{AbiNote, MftNote};

/// The Solo5 ABI note: hvt target, ABI version 2.
#[used]
#[link_section = ".note.solo5.abi"]
static ABI_NOTE: AbiNote = AbiNote::hvt();

/// The manifest: one network device named `service`.
#[used]
#[link_section = ".note.solo5.manifest"]
static MFT_NOTE: MftNote<2> = MftNote::new([MftEntry::reserved_first(), MftEntry::net("service")]);

gitns_guest::main!(image_main);

fn image_main(platform: &mut gitns_guest::Hvt, cmdline: &str) -> i32 {
    gitns::run(platform, cmdline)
}
