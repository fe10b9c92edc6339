//! Attaching the manifest's devices to host taps and files, and the
//! manifest copy the guest sees (Solo5 hvt_module_net / hvt_module_blk).

use crate::cli::Cli;
use crate::fault::Fault;
use crate::tap::{random_mac, Tap};
use gitns_abi::manifest::{
    MftView, MFT_DEV_BLOCK_BASIC, MFT_DEV_NET_BASIC, MFT_ENTRY_ATTACHED_OFFSET, MFT_ENTRY_SIZE,
    MFT_ENTRY_UNION_OFFSET,
};
use std::fs::File;

/// Sector size of a block device without `--block-sector-size`.
pub const BLOCK_SIZE: u16 = 512;

/// A host object behind a guest device.
pub enum Backend {
    Net(Tap),
    /// A file of `capacity` bytes read and written in whole sectors.
    Block {
        file: File,
        capacity: u64,
        sector: u64,
        /// Writes so far, and the fault a test asked for.
        writes: std::cell::Cell<u64>,
        fault: Option<Fault>,
    },
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

/// Open the file behind block device `name`: its capacity must be a
/// positive multiple of the sector size (solo5-hvt's checks and messages).
fn open_block(name: &str, path: &std::path::Path, sector: u16) -> Result<(File, u64), String> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| format!("Could not open block device: {}: {e}", path.display()))?;
    let capacity = file
        .metadata()
        .map_err(|e| format!("{}: Could not determine capacity: {e}", path.display()))?
        .len();
    check_capacity(name, capacity, sector)?;
    Ok((file, capacity))
}

fn check_capacity(name: &str, capacity: u64, sector: u16) -> Result<(), String> {
    if !capacity.is_multiple_of(sector as u64) {
        return Err(format!(
            "{name}: Backing storage size must be block aligned ({sector} bytes)"
        ));
    }
    if capacity < sector as u64 {
        return Err(format!(
            "{name}: Backing storage must be at least 1 block ({sector} bytes) in size"
        ));
    }
    Ok(())
}

/// Every named device option must name a manifest device of its kind.
fn check_declared(cli: &Cli, view: &MftView) -> Result<(), String> {
    let nets = cli.nets.iter().map(|(n, _)| n);
    let nets = nets.chain(cli.macs.iter().map(|(n, _)| n));
    let blocks = cli.blocks.iter().map(|(n, _)| n);
    let blocks = blocks.chain(cli.sector_sizes.iter().map(|(n, _)| n));
    let blocks = blocks.chain(cli.block_faults.iter().map(|(n, _)| n));
    let named = nets
        .map(|n| (n, MFT_DEV_NET_BASIC))
        .chain(blocks.map(|n| (n, MFT_DEV_BLOCK_BASIC)));
    for (name, kind) in named {
        if !view.devices().any(|d| d.name == name && d.kind == kind) {
            return Err(format!("Resource not declared in manifest: '{name}'"));
        }
    }
    Ok(())
}

/// Attach every device; errors are the one-line messages of solo5-hvt.
pub fn attach(cli: &Cli, manifest: &[u8]) -> Result<Devices, String> {
    let view =
        MftView::parse(manifest).map_err(|e| format!("Solo5 manifest is invalid ({e:?})"))?;
    check_declared(cli, &view)?;
    let mut copy = manifest.to_vec();
    let mut by_index: Vec<Option<Backend>> = (0..view.len()).map(|_| None).collect();
    let mut missing = Vec::new();
    for d in view.devices() {
        let entry = 8 + d.index * MFT_ENTRY_SIZE;
        let union = &mut copy[entry + MFT_ENTRY_UNION_OFFSET..];
        let backend = match d.kind {
            MFT_DEV_NET_BASIC => net_backend(cli, d.name, union),
            MFT_DEV_BLOCK_BASIC => block_backend(cli, d.name, union),
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
        return Err(not_attached(&view, &missing));
    }
    Ok(Devices {
        by_index,
        manifest: copy,
    })
}

/// The tap given for net device `name` (None: not given), its MAC and MTU
/// written into the manifest entry's union `u`.
fn net_backend(cli: &Cli, name: &str, u: &mut [u8]) -> Option<Result<Backend, String>> {
    let (_, iface) = cli.nets.iter().find(|(n, _)| n == name)?;
    let tap = match Tap::attach(iface) {
        Ok(t) => t,
        Err(e) => return Some(Err(format!("Could not attach interface: {iface}: {e}"))),
    };
    let mac = cli
        .macs
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, m)| *m)
        .unwrap_or_else(random_mac);
    u[..6].copy_from_slice(&mac);
    u[6..8].copy_from_slice(&tap.mtu().to_le_bytes());
    Some(Ok(Backend::Net(tap)))
}

/// The file given for block device `name` (None: not given), its capacity
/// and sector size written into the manifest entry's union `u`.
fn block_backend(cli: &Cli, name: &str, u: &mut [u8]) -> Option<Result<Backend, String>> {
    let (_, path) = cli.blocks.iter().find(|(n, _)| n == name)?;
    let sector = cli
        .sector_sizes
        .iter()
        .rfind(|(n, _)| n == name)
        .map_or(BLOCK_SIZE, |(_, s)| *s);
    let (file, capacity) = match open_block(name, path, sector) {
        Ok(f) => f,
        Err(e) => return Some(Err(e)),
    };
    u[..8].copy_from_slice(&capacity.to_le_bytes());
    u[8..10].copy_from_slice(&sector.to_le_bytes());
    let fault = cli.block_faults.iter().rfind(|(n, _)| n == name);
    Some(Ok(Backend::Block {
        file,
        capacity,
        sector: sector.into(),
        writes: std::cell::Cell::new(0),
        fault: fault.map(|(_, f)| *f),
    }))
}

/// solo5-hvt's message for declared devices left unattached.
fn not_attached(view: &MftView, missing: &[String]) -> String {
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
    format!(
        "{} All declared devices must be attached (use {}).",
        missing.join(" "),
        opts.join(" ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capacity_checks_say_what_solo5_hvt_says() {
        // tests.bats "blk misaligned hvt": 6 KiB with 4096-byte sectors.
        assert_eq!(
            check_capacity("storage", 6144, 4096),
            Err("storage: Backing storage size must be block aligned (4096 bytes)".into())
        );
        assert_eq!(
            check_capacity("storage", 0, 512),
            Err("storage: Backing storage must be at least 1 block (512 bytes) in size".into())
        );
        assert_eq!(check_capacity("storage", 4 << 20, 4096), Ok(()));
        assert_eq!(check_capacity("storage", 512, 512), Ok(()));
        assert!(check_capacity("storage", 1000, 512).is_err());
    }
}
