//! gitns-unix: the appliance as a Linux process on an existing tap device,
//! for development (gdb, valgrind, perf) and hosts without /dev/kvm.
//!
//! `gitns-unix --net:service=TAP [--net-mac:service=MAC] [--block:storage=FILE] [--] ARGS...`
//! (the same device options as gitns-hvt).

mod platform;

use gitns_tender::tap;

use gitns_abi::exit;

const USAGE: &str =
    "usage: gitns-unix --net:service=TAP [--net-mac:service=MAC] [--block:storage=FILE] [--] ARGS...";

struct Cli {
    tap: String,
    mac: Option<[u8; 6]>,
    block: Option<String>,
    args: Vec<String>,
}

fn parse_cli(argv: &[String]) -> Result<Cli, String> {
    let mut tap = None;
    let mut mac = None;
    let mut block = None;
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
        } else if a.starts_with("--block:") {
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
        args: argv[i..].to_vec(),
    })
}

fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let cli = match parse_cli(&argv) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("gitns-unix: {e}");
            std::process::exit(exit::CONFIG);
        }
    };
    let tap = match tap::Tap::attach(&cli.tap) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("gitns-unix: cannot attach tap `{}`: {e}", cli.tap);
            std::process::exit(exit::FAILURE);
        }
    };
    let block = match cli
        .block
        .as_deref()
        .map(|f| std::fs::OpenOptions::new().read(true).write(true).open(f))
    {
        None => None,
        Some(Ok(f)) => Some(f),
        Some(Err(e)) => {
            eprintln!(
                "gitns-unix: cannot open block device file `{}`: {e}",
                cli.block.as_deref().unwrap_or("")
            );
            std::process::exit(exit::FAILURE);
        }
    };
    let mut p = platform::Unix::new(tap, cli.mac.unwrap_or_else(tap::random_mac), block);
    let status = gitns::run(&mut p, &cli.args.join(" "));
    std::process::exit(status);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn cli_takes_device_options_then_image_args() {
        let c = parse_cli(&s(&[
            "--net:service=tap0",
            "--net-mac:service=02:00:00:00:00:01",
            "--ipv4=10.0.0.2/24",
        ]))
        .unwrap();
        assert_eq!(c.tap, "tap0");
        assert_eq!(c.mac, Some([2, 0, 0, 0, 0, 1]));
        assert_eq!(c.args, s(&["--ipv4=10.0.0.2/24"]));
        let c = parse_cli(&s(&["--net:service=t", "--", "--help"])).unwrap();
        assert_eq!(c.args, s(&["--help"]));
    }

    #[test]
    fn cli_errors() {
        assert!(parse_cli(&s(&[])).is_err());
        assert!(parse_cli(&s(&["--net:other=t"])).is_err());
        assert!(parse_cli(&s(&["--net:service=t", "--net-mac:service=zz"])).is_err());
        assert_eq!(tap::parse_mac("02:00:00:00:00"), None);
    }
}
