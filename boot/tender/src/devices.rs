//! Attaching the manifest's devices to host taps and files, and the
//! manifest copy the guest sees (Solo5 hvt_module_net / hvt_module_blk).

use crate::cli::Cli;
use crate::tap::{random_mac, Tap};
use gitns_abi::manifest::{
    MftView, MFT_DEV_BLOCK_BASIC, MFT_DEV_NET_BASIC, MFT_ENTRY_ATTACHED_OFFSET, MFT_ENTRY_SIZE,
    MFT_ENTRY_UNION_OFFSET,
};
use std::fs::File;

/// Sector size of block devices.
pub const BLOCK_SIZE: u16 = 512;
/// MTU of network devices.
pub const MTU: u16 = 1500;

/// A host object behind a guest device.
pub enum Backend {
    Net(Tap),
    Block { file: File, capacity: u64 },
}

/// Devices by manifest index (0 is the reserved entry: None).
pub struct Devices {
    pub by_index: Vec<Option<Backend>>,
    /// The manifest copy for the guest, with attachments filled in.
    pub manifest: Vec<u8>,
}

fn kind_name(kind: u32) -> &'static str {
    match kind {
        MFT_DEV_NET_BASIC => "NET_BASIC",
        MFT_DEV_BLOCK_BASIC => "BLOCK_BASIC",
        _ => "UNKNOWN",
    }
}

fn open_block(path: &std::path::Path) -> Result<(File, u64), String> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| format!("Could not open block device: {}: {e}", path.display()))?;
    let capacity = file
        .metadata()
        .map_err(|e| format!("{}: Could not determine capacity: {e}", path.display()))?
        .len();
    if capacity % BLOCK_SIZE as u64 != 0 || capacity == 0 {
        return Err(format!(
            "{}: size {capacity} is not a positive multiple of the block size {BLOCK_SIZE}",
            path.display()
        ));
    }
    Ok((file, capacity))
}

/// Attach every device; errors are the one-line messages of solo5-hvt.
pub fn attach(cli: &Cli, manifest: &[u8]) -> Result<Devices, String> {
    let view =
        MftView::parse(manifest).map_err(|e| format!("Solo5 manifest is invalid ({e:?})"))?;
    for name in cli
        .nets
        .iter()
        .map(|(n, _)| n)
        .chain(cli.macs.iter().map(|(n, _)| n))
    {
        if !view
            .devices()
            .any(|d| d.name == name && d.kind == MFT_DEV_NET_BASIC)
        {
            return Err(format!("Resource not declared in manifest: '{name}'"));
        }
    }
    for (name, _) in &cli.blocks {
        if !view
            .devices()
            .any(|d| d.name == name && d.kind == MFT_DEV_BLOCK_BASIC)
        {
            return Err(format!("Resource not declared in manifest: '{name}'"));
        }
    }
    let mut copy = manifest.to_vec();
    let mut by_index: Vec<Option<Backend>> = (0..view.len()).map(|_| None).collect();
    let mut missing = Vec::new();
    for d in view.devices() {
        let entry = 8 + d.index * MFT_ENTRY_SIZE;
        let u = entry + MFT_ENTRY_UNION_OFFSET;
        let backend = match d.kind {
            MFT_DEV_NET_BASIC => cli
                .nets
                .iter()
                .find(|(n, _)| n == d.name)
                .map(|(_, iface)| {
                    let tap = Tap::attach(iface)
                        .map_err(|e| format!("Could not attach interface: {iface}: {e}"))?;
                    let mac = cli
                        .macs
                        .iter()
                        .find(|(n, _)| n == d.name)
                        .map(|(_, m)| *m)
                        .unwrap_or_else(random_mac);
                    copy[u..u + 6].copy_from_slice(&mac);
                    copy[u + 6..u + 8].copy_from_slice(&MTU.to_le_bytes());
                    Ok::<_, String>(Backend::Net(tap))
                }),
            MFT_DEV_BLOCK_BASIC => cli
                .blocks
                .iter()
                .find(|(n, _)| n == d.name)
                .map(|(_, path)| {
                    let (file, capacity) = open_block(path)?;
                    copy[u..u + 8].copy_from_slice(&capacity.to_le_bytes());
                    copy[u + 8..u + 10].copy_from_slice(&BLOCK_SIZE.to_le_bytes());
                    Ok(Backend::Block { file, capacity })
                }),
            _ => None,
        };
        match backend {
            Some(b) => {
                by_index[d.index] = Some(b?);
                copy[entry + MFT_ENTRY_ATTACHED_OFFSET] = 1;
            }
            None => missing.push(format!(
                "Device '{}' of type {} declared but not attached.",
                d.name,
                kind_name(d.kind)
            )),
        }
    }
    if !missing.is_empty() {
        let opts: Vec<String> = view
            .devices()
            .map(|d| {
                if d.kind == MFT_DEV_BLOCK_BASIC {
                    format!("--block:{}=PATH", d.name)
                } else {
                    format!("--net:{}=TAP", d.name)
                }
            })
            .collect();
        return Err(format!(
            "{} All declared devices must be attached (use {}).",
            missing.join(" "),
            opts.join(" ")
        ));
    }
    Ok(Devices {
        by_index,
        manifest: copy,
    })
}
