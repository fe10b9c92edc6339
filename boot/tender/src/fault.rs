//! Block-device fault injection for tests (`--block-fault`): a leaf the
//! command line and the devices both use, and the unix platform too
//! (boot/unix: the same option, the same meaning).

use std::fs::File;
use std::os::unix::fs::FileExt;

/// What happens at a block device's write number `at` (test-only,
/// `--block-fault`): the crashes and full disks storage must survive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fault {
    pub at: u64,
    pub mode: FaultMode,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultMode {
    /// That write and every later one fail (a full or failing host disk).
    Fail,
    /// Half of that write reaches the file, then the VM stops (a crash
    /// inside a write, a torn sector).
    Tear,
    /// The VM stops before that write (a crash between two writes).
    Stop,
}

impl Fault {
    /// `N:fail`, `N:tear` or `N:stop`.
    pub fn parse(v: &str) -> Option<Fault> {
        let (at, mode) = v.split_once(':')?;
        let mode = match mode {
            "fail" => FaultMode::Fail,
            "tear" => FaultMode::Tear,
            "stop" => FaultMode::Stop,
            _ => return None,
        };
        Some(Fault {
            at: at.parse().ok()?,
            mode,
        })
    }

    /// The fault at write number `n` (counted from 0), if it has come.
    pub fn at_write(self, n: u64) -> Option<Fault> {
        (n >= self.at).then_some(self)
    }

    /// Do write number `n` (the fault has come) of `data` at `offset` in
    /// `file` as the fault says: `Ok(())` when the write fails (the caller
    /// reports the error to the guest), `Err(why)` when the machine stops
    /// here, a torn write having put its first half (synced) in the file.
    pub fn inject(self, file: &File, n: u64, data: &[u8], offset: u64) -> Result<(), String> {
        match self.mode {
            FaultMode::Fail => Ok(()),
            FaultMode::Stop => Err(format!("--block-fault: stopped before block write {n}")),
            FaultMode::Tear => {
                let half = &data[..data.len().div_ceil(2)];
                let _ = file
                    .write_all_at(half, offset)
                    .and_then(|()| file.sync_data());
                Err(format!(
                    "--block-fault: block write {n} torn after {} of {} bytes",
                    half.len(),
                    data.len()
                ))
            }
        }
    }
}
