//! Network namespaces with a tap, for `run`, `demo` and benchmarks.
//!
//! Traffic stays inside the namespace: the host side of the tap is
//! 10.0.0.1/24 in the namespace, the guest is 10.0.0.2.

use crate::util::run_ok;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Mutex;

/// A network namespace holding `tap0` at 10.0.0.1/24; deleted on drop,
/// with the scratch files and directories made for it (kept when the
/// thread is panicking, so a failed test leaves them to look at).
pub struct Netns {
    pub name: String,
    pub tap: String,
    scratch: Mutex<Vec<PathBuf>>,
}

impl Netns {
    /// Create namespace `name` with an up loopback and tap0 = 10.0.0.1/24.
    pub fn create(name: &str) -> Result<Netns, String> {
        let _ = Command::new("ip")
            .args(["netns", "del", name])
            .stderr(std::process::Stdio::null())
            .status();
        run_ok(Command::new("ip").args(["netns", "add", name]))
            .map_err(|e| format!("{e}\n(creating a network namespace needs root and iproute2)"))?;
        let ns = Netns {
            name: name.to_string(),
            tap: "tap0".to_string(),
            scratch: Mutex::new(Vec::new()),
        };
        ns.exec_ok(&["ip", "link", "set", "lo", "up"])?;
        ns.exec_ok(&["ip", "tuntap", "add", "dev", "tap0", "mode", "tap"])?;
        ns.exec_ok(&["ip", "addr", "add", "10.0.0.1/24", "dev", "tap0"])?;
        ns.exec_ok(&["ip", "link", "set", "tap0", "up"])?;
        Ok(ns)
    }

    /// A command run inside the namespace.
    pub fn command(&self, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name, program]);
        c
    }

    /// A path in the temporary directory named after the namespace and
    /// `what`, removed again on drop. The first time it is asked for,
    /// whatever an earlier run left there is removed; asked again, it is
    /// the same path untouched (a storage device a VM holds open is
    /// rewritten in place: unlinked, the VM would keep the old file).
    pub fn scratch(&self, what: &str) -> PathBuf {
        let path = std::env::temp_dir().join(format!("{}-{what}", self.name));
        let mut paths = self.scratch.lock().unwrap_or_else(|e| e.into_inner());
        if !paths.contains(&path) {
            remove_path(&path);
            paths.push(path.clone());
        }
        path
    }

    fn exec_ok(&self, argv: &[&str]) -> Result<(), String> {
        let mut c = self.command(argv[0]);
        c.args(&argv[1..]);
        run_ok(&mut c)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
        if !std::thread::panicking() {
            let scratch = self.scratch.get_mut().unwrap_or_else(|e| e.into_inner());
            scratch.iter().for_each(|p| remove_path(p));
        }
    }
}

fn remove_path(path: &std::path::Path) {
    let _ = std::fs::remove_dir_all(path).or_else(|_| std::fs::remove_file(path));
}

impl Netns {
    /// Run `f` on a thread that has entered this namespace (setns(2) moves
    /// only the calling thread), so std sockets made in `f` live inside it.
    pub fn run_in<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, String> {
        run_in_named(&self.name, f)
    }
}

/// [`Netns::run_in`] for a namespace known by name only.
pub fn run_in_named<T: Send + 'static>(
    name: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, String> {
    {
        let path = format!("/var/run/netns/{name}");
        let file = std::fs::File::open(&path).map_err(|e| format!("{path}: {e}"))?;
        std::thread::spawn(move || {
            use std::os::fd::AsRawFd;
            // SAFETY: setns on an open namespace fd affects only this thread.
            let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
            if rc != 0 {
                return Err(format!("setns: {}", std::io::Error::last_os_error()));
            }
            Ok(f())
        })
        .join()
        .map_err(|_| "namespace thread panicked".to_string())?
    }
}
