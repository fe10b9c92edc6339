//! gitns-store: the zone cache on the `storage` block device, as no_std
//! code that knows no platform, only a [`Device`] of 512-byte sectors.
//!
//! What the appliance asks of it:
//! - read what is there: [`read`] the device, then [`load`] its zones
//!   (the journal replayed on them) into a zone set and a [`Cache`];
//! - append this record: [`Cache::commit`] makes an acknowledged UPDATE
//!   durable (a journal record, or the archive written again);
//! - rewrite these files: [`Cache::rewrite`] after the files changed (a
//!   git fetch or push).
//!
//! The files, one job each, leaves first: `device` (the block-device
//! trait), `archive` (ustar), `naming` (zone file names), `format` (slot
//! layout, headers, checksums), `journal` (records, and the archive
//! written into a slot), `read` (the newest valid state on a device),
//! `cache` (commit, rewrite, load and replay), `local` (records kept over
//! a read-only remote's files). The format and its
//! invariants are described in docs/design.md ("Crash-safe storage").
#![no_std]
#![forbid(unsafe_code)]
extern crate alloc;

pub mod archive;
mod cache;
mod device;
mod format;
mod journal;
pub mod local;
mod naming;
mod read;

pub use cache::{load, replay, Cache};
pub use device::{Device, DeviceError, Memory, SECTOR};
pub use journal::{write_archive, AppendError, Journal, Record};
pub use naming::zone_file_name;
pub use read::{read, Contents};
