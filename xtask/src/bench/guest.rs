//! A gitns guest of the benches: the tender pinned to a core, on a tap of a
//! bench namespace, the plain or the storage image (shared by `bench
//! secondary`, its catalog part and `bench dnssec`'s UPDATE part).

use super::dns::pinned;
use super::Kill;
use crate::build;
use crate::netns::Netns;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// `build` once per bench process: a second cargo run (a no-op build that
/// still takes about half a second) must not count in a figure measured
/// from the tender's start, such as a secondary's seconds to serve.
fn built(
    cell: &'static OnceLock<PathBuf>,
    build: fn(bool) -> Result<PathBuf, String>,
) -> Result<PathBuf, String> {
    if let Some(p) = cell.get() {
        return Ok(p.clone());
    }
    let p = build(true)?;
    Ok(cell.get_or_init(|| p).clone())
}

/// Build the tender and the plain image now, before a timed boot.
pub(super) fn prebuild() -> Result<(), String> {
    tender().and(image()).map(|_| ())
}

/// The tender, the plain image and the storage image, each built once.
fn tender() -> Result<PathBuf, String> {
    static P: OnceLock<PathBuf> = OnceLock::new();
    built(&P, build::tender)
}

fn image() -> Result<PathBuf, String> {
    static P: OnceLock<PathBuf> = OnceLock::new();
    built(&P, build::image)
}

fn image_storage() -> Result<PathBuf, String> {
    static P: OnceLock<PathBuf> = OnceLock::new();
    built(&P, build::image_storage)
}

/// A guest of the bench: gitns-hvt on `tap` at `ip`, the storage image
/// when `dev` is given, `args` after the address.
pub(super) struct Vm<'a> {
    pub tap: &'a str,
    pub ip: &'a str,
    pub mem: u32,
    pub dev: Option<&'a Path>,
    /// The tender's `--metrics` on 127.0.0.1:9100 in the namespace.
    pub metrics: bool,
    /// The console at log level info into this file (else level warn, dropped).
    pub log: Option<&'a Path>,
    pub args: &'a [String],
}

/// Boot `vm` in `ns` pinned to `core`.
pub(super) fn boot(ns: &Netns, core: u32, vm: &Vm) -> Result<Kill, String> {
    let mut c = pinned(core, &ns.name, &tender()?);
    c.arg(format!("--mem={}", vm.mem))
        .arg(format!("--net:service={}", vm.tap));
    if vm.metrics {
        c.arg("--metrics=127.0.0.1:9100");
    }
    match vm.dev {
        Some(d) => c
            .arg(format!("--block:storage={}", d.display()))
            .arg(image_storage()?),
        None => c.arg(image()?),
    };
    let level = match vm.log {
        Some(l) => {
            let f = std::fs::File::create(l).map_err(|e| format!("{}: {e}", l.display()))?;
            c.stderr(f.try_clone().map_err(|e| e.to_string())?)
                .stdout(f);
            "info"
        }
        None => "warn",
    };
    c.args([&format!("--ipv4={}/24", vm.ip), "-l", level])
        .args(vm.args);
    Ok(Kill(c.spawn().map_err(|e| e.to_string())?))
}
