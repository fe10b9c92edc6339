//! Zone directories packed as the ustar image of the `storage` block device.

use crate::util::run_ok;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Minimum size of the block device file (room for the cache to grow).
const MIN_DEVICE: u64 = 16 << 20;

/// Pack the root-level regular files of `dir` into a ustar archive at `out`,
/// the start of a device of [`device_size`] bytes, zeroed and allocated.
pub fn pack(dir: &Path, out: &Path) -> Result<PathBuf, String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(Result::ok)
        .filter(|e| e.file_type().map(|t| t.is_file()).unwrap_or(false))
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| !n.starts_with('.'))
        .collect();
    names.sort();
    if names.is_empty() {
        return Err(format!("{}: no zone files", dir.display()));
    }
    run_ok(
        Command::new("tar")
            .args([
                "--format=ustar",
                "--owner=0",
                "--group=0",
                "--numeric-owner",
                "-cf",
            ])
            .arg(out)
            .arg("-C")
            .arg(dir)
            .args(&names),
    )?;
    let len = std::fs::metadata(out).map_err(|e| e.to_string())?.len();
    let size = device_size(len);
    preallocate(out, len, size)?;
    Ok(out.to_path_buf())
}

/// The device for an archive of `len` bytes: two slots (the archive is
/// written again beside the one in use, so a crash keeps one whole; see
/// src/cache.rs), each room for the archive printed again and its journal
/// (up to the archive's size, 1 MiB at least), and the two slot headers;
/// 16 MiB at least.
pub fn device_size(len: u64) -> u64 {
    let slot = 2 * len + (1 << 20);
    (2 * slot + 1024).max(MIN_DEVICE).div_ceil(512) * 512
}

/// Grow `path` from `len` to `size` bytes with zeros actually written:
/// the slot headers at the end read as empty, and a full host disk shows
/// now rather than at the first UPDATE (a sparse file would defer it).
fn preallocate(path: &Path, len: u64, size: u64) -> Result<(), String> {
    use std::io::{Seek, SeekFrom, Write};
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    f.seek(SeekFrom::Start(len)).map_err(|e| e.to_string())?;
    let zeros = vec![0u8; 1 << 20];
    let mut left = size.saturating_sub(len);
    while left > 0 {
        let n = left.min(zeros.len() as u64) as usize;
        f.write_all(&zeros[..n])
            .map_err(|e| format!("{}: {e}", path.display()))?;
        left -= n as u64;
    }
    f.sync_all().map_err(|e| format!("{}: {e}", path.display()))
}

/// Zones at and past the RDATA limits, for tests (with `check`'s).
pub use gitns_tools::check::txt_of_size;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_packed_device_is_allocated_and_sized_for_two_slots() {
        let dir = std::env::temp_dir().join(format!("gitns-pack-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("example.org"), "@ SOA ns hm 1 2 3 4 5\n").unwrap();
        let out = dir.with_extension("img");
        pack(&dir, &out).unwrap();
        let meta = std::fs::metadata(&out).unwrap();
        assert_eq!(meta.len(), MIN_DEVICE);
        use std::os::unix::fs::MetadataExt;
        assert!(meta.blocks() * 512 >= meta.len(), "not sparse");
        assert_eq!(device_size(10 << 20) % 512, 0);
        assert!(device_size(10 << 20) >= 4 * (10 << 20) + (2 << 20));
        std::fs::remove_dir_all(&dir).unwrap();
        std::fs::remove_file(&out).unwrap();
    }
}
