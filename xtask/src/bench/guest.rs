//! A gitns guest of the benches: the tender pinned to a core, on a tap of a
//! bench namespace, the plain or the storage image (shared by `bench
//! secondary`, its catalog part and `bench dnssec`'s UPDATE part).

use super::dns::pinned;
use super::Kill;
use crate::build;
use crate::netns::Netns;
use std::path::Path;

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
    let mut c = pinned(core, &ns.name, &build::tender(true)?);
    c.arg(format!("--mem={}", vm.mem))
        .arg(format!("--net:service={}", vm.tap));
    if vm.metrics {
        c.arg("--metrics=127.0.0.1:9100");
    }
    match vm.dev {
        Some(d) => c
            .arg(format!("--block:storage={}", d.display()))
            .arg(build::image_storage(true)?),
        None => c.arg(build::image(true)?),
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
