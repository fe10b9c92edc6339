//! Zone directories packed as the ustar image of the `storage` block device.

use crate::util::run_ok;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Minimum size of the block device file (room for the cache to grow).
const MIN_DEVICE: u64 = 16 << 20;

/// Pack the root-level regular files of `dir` into a ustar archive at `out`,
/// padded to a whole number of 512-byte sectors: twice the archive and 1 MiB,
/// at least 16 MiB.
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
    // Room for the archive written again (UPDATEs print their zones) and
    // for its journal, which may grow to the archive's size.
    let size = (2 * len + (1 << 20)).max(MIN_DEVICE).div_ceil(512) * 512;
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(out)
        .map_err(|e| e.to_string())?;
    f.set_len(size).map_err(|e| e.to_string())?;
    Ok(out.to_path_buf())
}
