//! gitns-unix: the gitns platform ([`gitns_net::Platform`]) as a Linux
//! process on an existing tap device, for development (gdb, valgrind,
//! perf) and hosts without /dev/kvm.
//!
//! A library, as boot/guest is: it knows nothing of the appliance. The
//! binary `gitns-unix` (src/main_unix.rs of the root package, beside the
//! image's src/main.rs) builds a [`Unix`] with [`setup`] and hands it to
//! `gitns::run`.
//!
//! `gitns-unix --net:service=TAP [--net-mac:service=MAC] [--block:storage=FILE]
//! [--block-fault:storage=N:fail|tear|stop] [--] ARGS...` (the same device
//! options as gitns-hvt; `--block-fault` is for tests).

pub mod cli;
pub mod platform;

pub use cli::{Cli, USAGE};
pub use platform::Unix;

use gitns_abi::exit;
use gitns_tender::tap::{self, Tap};

/// Why the platform could not be set up: what to print, and the exit
/// status (`exit::CONFIG` for the command line, `exit::FAILURE` for a
/// device that cannot be opened).
#[derive(Debug, PartialEq, Eq)]
pub struct SetupError {
    pub status: i32,
    pub message: String,
}

/// The platform the device options at the head of `argv` describe, and the
/// image's command line (the arguments after them, joined by spaces).
pub fn setup(argv: &[String]) -> Result<(Unix, String), SetupError> {
    let cli = cli::parse(argv).map_err(|message| SetupError {
        status: exit::CONFIG,
        message,
    })?;
    let failure = |message: String| SetupError {
        status: exit::FAILURE,
        message,
    };
    let tap = Tap::attach(&cli.tap)
        .map_err(|e| failure(format!("cannot attach tap `{}`: {e}", cli.tap)))?;
    let block = match &cli.block {
        None => None,
        Some(path) => Some(
            std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(path)
                .map_err(|e| failure(format!("cannot open block device file `{path}`: {e}")))?,
        ),
    };
    let mac = cli.mac.unwrap_or_else(tap::random_mac);
    let unix = Unix::new(tap, mac, block).with_fault(cli.fault);
    Ok((unix, cli.args.join(" ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line_mistakes_are_configuration_errors() {
        let e = setup(&["--net:other=t".to_string()]).err().unwrap();
        assert_eq!(e.status, exit::CONFIG);
        assert!(e.message.contains("only the network device `service`"));
    }

    #[test]
    fn a_missing_tap_is_a_failure() {
        let e = setup(&["--net:service=gitns-notap9".to_string()])
            .err()
            .unwrap();
        assert_eq!(e.status, exit::FAILURE);
        assert!(
            e.message.contains("cannot attach tap `gitns-notap9`"),
            "{}",
            e.message
        );
    }
}
