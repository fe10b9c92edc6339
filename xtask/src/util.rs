//! Small helpers shared by the xtask commands.

use std::path::PathBuf;
use std::process::Command;

/// The workspace root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

/// Run a command, failing with its description when it does not succeed.
pub fn run_ok(cmd: &mut Command) -> Result<(), String> {
    let status = cmd.status().map_err(|e| format!("{cmd:?}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{cmd:?} failed: {status}"))
    }
}

/// A cargo command pinned to the workspace's toolchain.
///
/// Cargo started outside the rustup proxy would let the proxy pick a
/// toolchain per crate directory, and some registry crates ship a
/// `rust-toolchain` file naming nightly; pin rustc by absolute path.
pub fn cargo() -> Command {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| env!("CARGO").to_string());
    let mut cmd = Command::new(cargo);
    if let Some(rustc) = pinned_rustc() {
        cmd.env("RUSTC", rustc);
    }
    cmd.current_dir(root());
    cmd
}

fn pinned_rustc() -> Option<PathBuf> {
    let out = Command::new("rustc")
        .current_dir(root())
        .args(["--print", "sysroot"])
        .output()
        .ok()?;
    let sysroot = String::from_utf8(out.stdout).ok()?;
    let path = PathBuf::from(sysroot.trim()).join("bin/rustc");
    path.exists().then_some(path)
}

/// True when /dev/kvm can be opened read-write.
pub fn have_kvm() -> bool {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
        .is_ok()
}

/// Read `child`'s stdout and stderr line by line on two threads, calling
/// `on_line` for each line (the pipes must have been set to piped).
pub fn follow_output(
    child: &mut std::process::Child,
    on_line: impl Fn(String) + Clone + Send + 'static,
) {
    use std::io::{BufRead, BufReader, Read};
    let out = child
        .stdout
        .take()
        .map(|p| Box::new(p) as Box<dyn Read + Send>);
    let err = child
        .stderr
        .take()
        .map(|p| Box::new(p) as Box<dyn Read + Send>);
    for pipe in [out, err].into_iter().flatten() {
        let on_line = on_line.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                on_line(line);
            }
        });
    }
}
