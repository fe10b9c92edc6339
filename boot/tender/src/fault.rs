//! Block-device fault injection for tests (`--block-fault`): a leaf the
//! command line and the devices both use.

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
}
