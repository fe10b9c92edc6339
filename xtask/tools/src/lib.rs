//! The gitns operator tools, one binary `gitns` (`cargo install --path
//! xtask/tools`), in the argument forms of the MirageOS tools the seeds
//! use (onotify, oupdate, ocertify, ozone, awa_gen_key) and of
//! `cargo xtask`, which calls the same code.
#![forbid(unsafe_code)]

pub mod certify;
mod certify_direct;
mod certify_opts;
mod certkey;
pub mod check;
pub mod cli;
pub mod dnstool;
pub mod gitread;
pub mod keygen;
pub mod net;
pub mod notify;
pub mod run;
pub mod sign;
pub mod update;
pub mod x509;

use cli::{usage, ToolResult};

pub const USAGE: &str = "usage: gitns <command> [args]   (gitns <command> --help for each)

commands:
  notify SERVER ZONE --key=NAME:ALG:SECRET    signed NOTIFY: the appliance fetches git (onotify)
  update SERVER KEY NAME ADDRESS              signed UPDATE: NAME's A/AAAA becomes ADDRESS (oupdate)
  certify SERVER HOSTNAME --key=K             a certificate through the appliance's ACME client (ocertify)
  check FILE | check --old OLDFILE FILE | check DIR|REPO [--rev R] [--old R]
                                              check zone files; the serial must rise (ozone)
  keygen                                      an ed25519 key for --ssh-key= (awa_gen_key)
  sign FILE [--policy P] [--keys K] [--now T]  sign a zone as the appliance does (DNSSEC)
  run --net=TAP IMAGE [ARGS...]               boot the image under gitns-hvt on a tap

Exit status: 0 done, 1 failed, 64 bad command line.";

/// Run the tool `cmd` with `args`.
pub fn dispatch(cmd: &str, args: &[String]) -> ToolResult {
    match cmd {
        "notify" => notify::main(args),
        "update" => update::main(args),
        "certify" => certify::main(args),
        "check" => check::main(args),
        "keygen" => keygen::main(args),
        "run" => run::main(args),
        "sign" => sign::main(args),
        "help" | "--help" | "-h" => {
            println!("{USAGE}");
            Ok(())
        }
        other => Err(usage(format!(
            "unknown command `{other}` (gitns --help lists them)"
        ))),
    }
}
