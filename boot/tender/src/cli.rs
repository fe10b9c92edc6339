//! The command line, as solo5-hvt takes it.

use std::path::PathBuf;

/// What the command line asks for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cli {
    pub mem_mib: u64,
    /// (device name, tap interface)
    pub nets: Vec<(String, String)>,
    /// (device name, MAC)
    pub macs: Vec<(String, [u8; 6])>,
    /// (device name, file)
    pub blocks: Vec<(String, PathBuf)>,
    /// (device name, sector size): `--block-sector-size:NAME=N`.
    pub sector_sizes: Vec<(String, u16)>,
    /// (device name, fault): `--block-fault:NAME=N:MODE`, for tests.
    pub block_faults: Vec<(String, crate::fault::Fault)>,
    pub quiet: bool,
    /// Offer no gitns extensions (behave exactly like solo5-hvt).
    pub no_extensions: bool,
    /// Restart the guest after a crash (not after a configuration error).
    pub restart_on_fail: bool,
    /// Serve metrics and status over HTTP on this address.
    pub metrics: Option<std::net::SocketAddr>,
    /// `--user=` and `--chroot=`: applied after setup.
    pub jail: crate::sandbox::Jail,
    pub image: PathBuf,
    pub args: Vec<String>,
}

/// The usage text.
pub const USAGE: &str =
    "usage: gitns-hvt [ CORE OPTIONS ] [ MODULE OPTIONS ] [ -- ] KERNEL [ ARGS ]
KERNEL is the filename of the unikernel to run.
ARGS are optional arguments passed to the unikernel.
Core options:
  [ --mem=512 ] (guest memory in MB)
    --quiet (no tender messages)
    --no-extensions (offer no gitns extensions, like plain solo5-hvt)
    --restart-on-fail (restart the guest after a crash, with backoff;
                       not after exit status 0, 64 (configuration) or 69)
    --metrics=ADDR:PORT (serve /metrics (Prometheus), /status (JSON) and /
                       over HTTP on that address only)
    --user=NAME|UID[:GID] (run as this user once the devices are open)
    --chroot=DIR (chroot to DIR, best empty, once the devices are open)
    --help (display this help)
    --version (display version information)
Module options:
    --net:NAME=IFACE | @NN (host tap device or open fd for guest network interface NAME)
    --net-mac:NAME=HWADDR (guest MAC address for NAME)
    --block:NAME=PATH (attach block device/file at PATH as block storage NAME)
  [ --block-sector-size:NAME=SECTORSIZE ] (set sector size for block device NAME;
                       must be a power of two greater than or equal 512)
Testing options:
  [ --block-fault:NAME=N:fail|tear|stop ] (block device NAME's write number N,
                       from 0, and every later one fail (the guest gets an
                       error); or write N is half done and the VM stops; or
                       the VM stops before write N)
";

/// solo5-hvt's message for a bad `--block-sector-size` (operators' scripts
/// and upstream's tests match it).
pub const SECTOR_SIZE_MESSAGE: &str =
    "Block size must be a multiple of 2 greater than or equal 512";

/// A sector size: a power of two of at least 512 that fits the manifest's
/// 16-bit field.
fn sector_size(v: &str) -> Option<Result<u16, Early>> {
    let n: u64 = v.parse().ok()?;
    Some(
        u16::try_from(n)
            .ok()
            .filter(|n| *n >= 512 && n.is_power_of_two())
            .ok_or_else(|| Early::Error(SECTOR_SIZE_MESSAGE.into())),
    )
}

/// What to do instead of booting.
#[derive(Debug, PartialEq, Eq)]
pub enum Early {
    Help,
    Version,
    Error(String),
}

fn split_dev<'a>(rest: &'a str, opt: &str) -> Result<(&'a str, &'a str), Early> {
    match rest.split_once('=') {
        Some((name, v)) if !name.is_empty() && !v.is_empty() => Ok((name, v)),
        _ => Err(Early::Error(format!("Malformed argument to {opt}"))),
    }
}

pub use crate::tap::parse_mac;

/// Parse the arguments after the program name.
pub fn parse(argv: &[String]) -> Result<Cli, Early> {
    let mut cli = Cli {
        mem_mib: 512,
        ..Default::default()
    };
    let mut i = 0;
    while i < argv.len() {
        let a = argv[i].as_str();
        if a == "--" {
            i += 1;
            break;
        }
        if !a.starts_with("--") {
            break;
        }
        if a == "--help" {
            return Err(Early::Help);
        } else if a == "--version" {
            return Err(Early::Version);
        } else if a == "--quiet" {
            cli.quiet = true;
        } else if a == "--no-extensions" {
            cli.no_extensions = true;
        } else if a == "--restart-on-fail" {
            cli.restart_on_fail = true;
        } else if let Some(v) = a.strip_prefix("--metrics=") {
            cli.metrics = Some(v.parse().map_err(|_| {
                Early::Error(format!(
                    "Malformed argument to --metrics: `{v}' (ADDR:PORT)"
                ))
            })?);
        } else if let Some(v) = a.strip_prefix("--user=").filter(|v| !v.is_empty()) {
            cli.jail.user = Some(v.into());
        } else if let Some(v) = a.strip_prefix("--chroot=").filter(|v| !v.is_empty()) {
            cli.jail.chroot = Some(v.into());
        } else if let Some(v) = a.strip_prefix("--mem=") {
            cli.mem_mib = v
                .parse()
                .ok()
                .filter(|m| *m > 0)
                .ok_or_else(|| Early::Error("Malformed argument to --mem".into()))?;
        } else if let Some(rest) = a.strip_prefix("--net:") {
            let (n, v) = split_dev(rest, "--net")?;
            cli.nets.push((n.into(), v.into()));
        } else if let Some(rest) = a.strip_prefix("--net-mac:") {
            let (n, v) = split_dev(rest, "--net-mac")?;
            let mac =
                parse_mac(v).ok_or_else(|| Early::Error(format!("Malformed mac address: {v}")))?;
            cli.macs.push((n.into(), mac));
        } else if let Some(rest) = a.strip_prefix("--block-sector-size:") {
            let size = split_dev(rest, "--block-sector-size")
                .ok()
                .and_then(|(n, v)| Some((n, sector_size(v)?)));
            let Some((n, size)) = size else {
                return Err(Early::Error(format!("Invalid option: `{a}'")));
            };
            cli.sector_sizes.push((n.into(), size?));
        } else if let Some(rest) = a.strip_prefix("--block-fault:") {
            let (n, v) = split_dev(rest, "--block-fault")?;
            let fault = crate::fault::Fault::parse(v).ok_or_else(|| {
                Early::Error(format!("Malformed argument to --block-fault: `{v}'"))
            })?;
            cli.block_faults.push((n.into(), fault));
        } else if let Some(rest) = a.strip_prefix("--block:") {
            let (n, v) = split_dev(rest, "--block")?;
            cli.blocks.push((n.into(), v.into()));
        } else {
            return Err(Early::Error(format!("Invalid option: `{a}'")));
        }
        i += 1;
    }
    let image = argv
        .get(i)
        .ok_or_else(|| Early::Error("Missing KERNEL operand".into()))?;
    cli.image = image.into();
    cli.args = argv[i + 1..].to_vec();
    Ok(cli)
}

/// The guest command line: arguments joined by spaces, NUL-terminated,
/// at most `max` bytes with the terminator.
pub fn cmdline(args: &[String], max: usize) -> Result<Vec<u8>, String> {
    let mut out = args.join(" ").into_bytes();
    if out.contains(&0) {
        return Err("guest arguments must not contain NUL bytes".into());
    }
    out.push(0);
    if out.len() > max {
        return Err(format!(
            "guest command line too long ({} > {} bytes with terminator)",
            out.len(),
            max
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn solo5_style_options() {
        let c = parse(&v(&[
            "--mem=64",
            "--net:service=tap0",
            "--net-mac:service=02:00:00:00:00:09",
            "--block:storage=/tmp/d",
            "img",
            "--ipv4=10.0.0.2/24",
            "-l",
            "debug",
        ]))
        .unwrap();
        assert_eq!(c.mem_mib, 64);
        assert_eq!(c.nets, vec![("service".into(), "tap0".into())]);
        assert_eq!(c.macs, vec![("service".into(), [2, 0, 0, 0, 0, 9])]);
        assert_eq!(c.blocks, vec![("storage".into(), PathBuf::from("/tmp/d"))]);
        assert_eq!(c.image, PathBuf::from("img"));
        assert_eq!(c.args, v(&["--ipv4=10.0.0.2/24", "-l", "debug"]));
        let c = parse(&v(&["--user=nobody", "--chroot=/var/empty", "img"])).unwrap();
        assert_eq!(c.jail.user.as_deref(), Some("nobody"));
        assert_eq!(c.jail.chroot, Some(PathBuf::from("/var/empty")));
        assert!(parse(&v(&["--user=", "img"])).is_err());
        let c = parse(&v(&["--", "--weird-image-name", "--x"])).unwrap();
        assert_eq!(c.image, PathBuf::from("--weird-image-name"));
        let c = parse(&v(&["--block-sector-size:storage=4096", "img"])).unwrap();
        assert_eq!(c.sector_sizes, vec![("storage".into(), 4096)]);
        let c = parse(&v(&["--block-sector-size:storage=32768", "img"])).unwrap();
        assert_eq!(c.sector_sizes, vec![("storage".into(), 32768)]);
    }

    #[test]
    fn errors() {
        assert_eq!(
            parse(&v(&[])),
            Err(Early::Error("Missing KERNEL operand".into()))
        );
        assert_eq!(
            parse(&v(&["--mem=x", "img"])),
            Err(Early::Error("Malformed argument to --mem".into()))
        );
        assert_eq!(
            parse(&v(&["--bogus", "img"])),
            Err(Early::Error("Invalid option: `--bogus'".into()))
        );
        assert!(matches!(
            parse(&v(&["--net:service", "img"])),
            Err(Early::Error(_))
        ));
        assert!(matches!(
            parse(&v(&["--net-mac:service=zz:00", "img"])),
            Err(Early::Error(_))
        ));
        assert_eq!(parse(&v(&["--help"])), Err(Early::Help));
        // solo5-hvt's own cases (tests.bats "blk odd", "blk too small").
        for bad in ["521", "256", "0", "65536", "1000"] {
            assert_eq!(
                parse(&v(&[&format!("--block-sector-size:storage={bad}"), "img"])),
                Err(Early::Error(SECTOR_SIZE_MESSAGE.into())),
                "{bad}"
            );
        }
        assert_eq!(
            parse(&v(&["--block-sector-size:storage=x", "img"])),
            Err(Early::Error(
                "Invalid option: `--block-sector-size:storage=x'".into()
            ))
        );
        assert!(matches!(
            parse(&v(&["--block-sector-size:=4096", "img"])),
            Err(Early::Error(_))
        ));
    }

    #[test]
    fn cmdline_is_bounded() {
        assert_eq!(cmdline(&v(&["a", "bc"]), 10).unwrap(), b"a bc\0");
        assert!(cmdline(&v(&["x".repeat(10).as_str()]), 10).is_err());
        assert!(cmdline(&v(&["a\0b"]), 10).is_err());
    }

    #[test]
    fn block_faults_for_tests() {
        use crate::fault::{Fault, FaultMode};
        let c = parse(&v(&["--block-fault:storage=3:tear", "img"])).unwrap();
        let f = Fault {
            at: 3,
            mode: FaultMode::Tear,
        };
        assert_eq!(c.block_faults, vec![("storage".to_string(), f)]);
        for bad in ["x:fail", "3:melt", "3"] {
            let e = parse(&v(&[&format!("--block-fault:storage={bad}"), "img"]));
            assert!(matches!(e, Err(Early::Error(_))), "{bad}");
        }
    }
}
