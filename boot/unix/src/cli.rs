//! The device options of `gitns-unix` (the same spelling as gitns-hvt's,
//! for the one network device `service` and the one block device
//! `storage`), then the image's arguments.

use gitns_tender::fault::Fault;
use gitns_tender::tap;

/// The usage line.
pub const USAGE: &str =
    "usage: gitns-unix --net:service=TAP [--net-mac:service=MAC] [--block:storage=FILE] \
     [--block-fault:storage=N:fail|tear|stop] [--] ARGS...";

/// What the command line asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cli {
    /// The host tap interface behind `service`.
    pub tap: String,
    pub mac: Option<[u8; 6]>,
    /// The file behind `storage`.
    pub block: Option<String>,
    /// Test-only, as gitns-hvt's `--block-fault`: the storage device's
    /// write number N on fails, or the process stops before it or after
    /// half of it.
    pub fault: Option<Fault>,
    /// The image's arguments.
    pub args: Vec<String>,
}

/// Device options up to the first other argument (or `--`); the rest are
/// the image's. `--help` and every mistake are an `Err` with the message.
pub fn parse(argv: &[String]) -> Result<Cli, String> {
    let mut tap = None;
    let mut mac = None;
    let mut block = None;
    let mut fault = None;
    let mut i = 0;
    while i < argv.len() {
        let a = &argv[i];
        if a == "--" {
            i += 1;
            break;
        } else if let Some(v) = a.strip_prefix("--net:service=") {
            tap = Some(v.to_string());
        } else if let Some(v) = a.strip_prefix("--net-mac:service=") {
            mac = Some(tap::parse_mac(v).ok_or_else(|| format!("bad MAC address `{v}`"))?);
        } else if let Some(v) = a.strip_prefix("--block:storage=") {
            block = Some(v.to_string());
        } else if let Some(v) = a.strip_prefix("--block-fault:storage=") {
            let f = Fault::parse(v);
            fault = Some(f.ok_or_else(|| format!("Malformed argument to --block-fault: `{v}'"))?);
        } else if a.starts_with("--block:") || a.starts_with("--block-fault:") {
            return Err(format!("{a}: the only block device is `storage`"));
        } else if a.starts_with("--net:") || a.starts_with("--net-mac:") {
            return Err(format!(
                "{a}: the image declares only the network device `service`"
            ));
        } else if a == "--help" || a == "-h" {
            return Err(USAGE.to_string());
        } else {
            break;
        }
        i += 1;
    }
    let tap = tap.ok_or_else(|| format!("missing --net:service=TAP\n{USAGE}"))?;
    Ok(Cli {
        tap,
        mac,
        block,
        fault,
        args: argv[i..].to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn device_options_then_image_args() {
        let c = parse(&s(&[
            "--net:service=tap0",
            "--net-mac:service=02:00:00:00:00:01",
            "--ipv4=10.0.0.2/24",
        ]))
        .unwrap();
        assert_eq!(c.tap, "tap0");
        assert_eq!(c.mac, Some([2, 0, 0, 0, 0, 1]));
        assert_eq!(c.args, s(&["--ipv4=10.0.0.2/24"]));
        let c = parse(&s(&["--net:service=t", "--block-fault:storage=3:tear"])).unwrap();
        let tear = gitns_tender::fault::FaultMode::Tear;
        assert_eq!(c.fault, Some(Fault { at: 3, mode: tear }));
        let c = parse(&s(&["--net:service=t", "--", "--help"])).unwrap();
        assert_eq!(c.args, s(&["--help"]));
    }

    #[test]
    fn errors() {
        assert!(parse(&s(&[])).is_err());
        assert!(parse(&s(&["--net:other=t"])).is_err());
        assert!(parse(&s(&["--block:other=f", "--net:service=t"])).is_err());
        assert!(parse(&s(&["--net:service=t", "--net-mac:service=zz"])).is_err());
        assert!(parse(&s(&["--block-fault:other=1:tear", "--net:service=t"])).is_err());
        for bad in ["x:tear", "1:melt", "1"] {
            let e = parse(&s(&[
                &format!("--block-fault:storage={bad}"),
                "--net:service=t",
            ]));
            assert!(e.is_err_and(|e| e.contains("--block-fault")), "{bad}");
        }
        assert_eq!(parse(&s(&["--help"])), Err(USAGE.to_string()));
        assert_eq!(tap::parse_mac("02:00:00:00:00"), None);
    }
}
