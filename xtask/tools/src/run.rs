//! `gitns run`: boot an image under gitns-hvt on an existing tap, with
//! image arguments, what the seeds do with `albatross-client-local create
//! ... --restart-on-fail --arg=...` or `solo5-hvt --net:service=tap0 --
//! IMAGE ARGS`. The tender restarts a crashed guest by default.
//!
//! ```text
//! gitns run --net=TAP [--mem=MiB] [--block=NAME=FILE]... [--hvt=PATH]
//!           [--no-restart-on-fail] [--arg=ARG]... IMAGE [ARGS...]
//! ```
//!
//! gitns-hvt is `--hvt`, else `$GITNS_HVT`, else next to this binary, else
//! on PATH (`cargo install --path boot/tender` puts it there). The tender
//! replaces this process, so signals and the exit status are its own.

use crate::cli::{self, usage, Opt, ToolError, ToolResult};
use std::path::{Path, PathBuf};
use std::process::Command;

pub const USAGE: &str = "usage: gitns run --net=TAP [OPTIONS] IMAGE [ARGS...]

Boot IMAGE (gitns.hvt from `cargo xtask build`) under gitns-hvt on the
existing tap TAP, as its device `service`, passing ARGS to the image.
  --net=TAP            the tap interface (also NAME:TAP, albatross style)
  --mem=MiB            guest memory (default: the tender's, 512)
  --block=NAME=FILE    a block device (e.g. storage=zones.tar)
  --arg=ARG            an image argument before ARGS (albatross style)
  --no-restart-on-fail do not restart a crashed guest (default: restart,
                       with backoff; never after a configuration error)
  --hvt=PATH           the tender (default: $GITNS_HVT, next to gitns, PATH)
Example (seed 000):
  gitns run --net=tap100 gitns.hvt --axfr --ipv4=10.0.0.3/24 \\
      --ipv4-gateway=10.0.0.1 --ssh-key=ed25519:SEED --remote=git@10.0.0.1:zone.git";

const SPEC: &[Opt] = &[
    Opt("--net", true),
    Opt("--tap", true),
    Opt("--mem", true),
    Opt("--block", true),
    Opt("--arg", true),
    Opt("--hvt", true),
    Opt("--no-restart-on-fail", false),
    Opt("--restart-on-fail", false),
];

/// `gitns run ARGS`: replaces this process with the tender.
pub fn main(args: &[String]) -> ToolResult {
    let p = cli::parse(args, SPEC, 1)?;
    if p.help {
        println!("{USAGE}");
        return Ok(());
    }
    let mut cmd = command(&p)?;
    use std::os::unix::process::CommandExt;
    let e = cmd.exec();
    Err(ToolError::Failed(format!(
        "{}: {e}",
        cmd.get_program().to_string_lossy()
    )))
}

/// The tender command line of `p`.
fn command(p: &cli::Parsed) -> Result<Command, ToolError> {
    let image = p.pos.first().ok_or_else(|| usage("IMAGE is required"))?;
    if !Path::new(image).is_file() {
        return Err(usage(format!("{image}: no such image file")));
    }
    let net = p
        .get("--net")
        .or(p.get("--tap"))
        .ok_or_else(|| usage("--net=TAP is required"))?;
    let tap = net.rsplit(':').next().unwrap_or(net);
    if tap.is_empty() || !Path::new("/sys/class/net").join(tap).exists() {
        return Err(usage(format!(
            "--net={net}: no network interface `{tap}` (create the tap first, e.g. \
             `ip tuntap add {tap} mode tap`)"
        )));
    }
    let mut image_args = p.all("--arg");
    image_args.extend(p.rest.iter().map(String::as_str));
    check_image_args(&image_args)?;
    let mut cmd = Command::new(tender(p.get("--hvt"))?);
    if let Some(m) = p.get("--mem") {
        let mib: u32 = m
            .parse()
            .map_err(|_| usage(format!("--mem={m}: MiB, a number")))?;
        cmd.arg(format!("--mem={mib}"));
    }
    cmd.arg(format!("--net:service={tap}"));
    for b in p.all("--block") {
        if !b.contains('=') {
            return Err(usage(format!("--block={b}: NAME=FILE")));
        }
        cmd.arg(format!("--block:{b}"));
    }
    if !p.flag("--no-restart-on-fail") {
        cmd.arg("--restart-on-fail");
    }
    cmd.arg("--").arg(image);
    cmd.args(p.all("--arg")).args(&p.rest);
    Ok(cmd)
}

/// The image's own parser (gitns-config) on its arguments: a bad one is a
/// bad command line here, before anything boots.
fn check_image_args(args: &[&str]) -> Result<(), ToolError> {
    gitns_config::parse(&args.join(" "))
        .map(drop)
        .map_err(|e| usage(format!("image argument: {e}")))
}

/// Where gitns-hvt is.
fn tender(given: Option<&str>) -> Result<PathBuf, ToolError> {
    if let Some(h) = given
        .map(str::to_string)
        .or_else(|| std::env::var("GITNS_HVT").ok())
    {
        return if Path::new(&h).is_file() {
            Ok(PathBuf::from(h))
        } else {
            Err(usage(format!("gitns-hvt `{h}`: no such file")))
        };
    }
    let beside = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(|d| d.join("gitns-hvt")))
        .filter(|p| p.is_file());
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("gitns-hvt"))
            .find(|p| p.is_file())
    });
    beside.or(on_path).ok_or_else(|| {
        ToolError::Failed(
            "gitns-hvt not found (--hvt=PATH, $GITNS_HVT, or `cargo install --path boot/tender`)"
                .into(),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(a: &[&str]) -> Result<Vec<String>, ToolError> {
        let a: Vec<String> = a.iter().map(|s| s.to_string()).collect();
        let c = command(&cli::parse(&a, SPEC, 1)?)?;
        Ok(std::iter::once(c.get_program())
            .chain(c.get_args())
            .map(|s| s.to_string_lossy().into_owned())
            .collect())
    }

    #[test]
    fn the_tender_command_line() {
        // Any existing file serves as image and tender; `lo` as the tap.
        let f = std::env::current_exe().unwrap();
        let f = f.to_str().unwrap();
        let got = cmd(&[
            "--net=service:lo",
            "--hvt",
            f,
            "--arg=--axfr",
            f,
            "--ipv4=10.0.0.3/24",
        ])
        .unwrap();
        assert_eq!(
            got,
            [
                f,
                "--net:service=lo",
                "--restart-on-fail",
                "--",
                f,
                "--axfr",
                "--ipv4=10.0.0.3/24"
            ]
        );
        let got = cmd(&[
            "--tap=lo",
            "--mem=256",
            "--no-restart-on-fail",
            "--block=storage=/x",
            "--hvt",
            f,
            f,
        ])
        .unwrap();
        assert_eq!(
            got,
            [
                f,
                "--mem=256",
                "--net:service=lo",
                "--block:storage=/x",
                "--",
                f
            ]
        );
        for bad in [
            &["--net=lo", "--hvt", f][..],
            &["--hvt", f, f],
            &["--net=nosuchtap0", "--hvt", f, f],
            &["--net=lo", "--hvt", "/nonexistent", f],
            &["--net=lo", "--hvt", f, "/nonexistent.hvt"],
            &["--net=lo", "--hvt", f, "--mem=lots", f],
            &["--net=lo", "--hvt", f, f, "--ipv4=10.0.0.300/24"],
            &["--net=lo", "--hvt", f, "--arg=--frobnicate", f],
            &["--net=lo", "--hvt", f, f, "--remote=git@10.0.0.1:z"],
        ] {
            assert_eq!(cmd(bad).err().unwrap().status(), cli::EX_USAGE, "{bad:?}");
        }
    }
}
