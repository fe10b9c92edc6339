//! `gitns notify` (the MirageOS `onotify`): tell the appliance to fetch
//! its git remote with a TSIG-signed NOTIFY.
//!
//! ```text
//! gitns notify SERVER ZONE --key=NAME:ALG:SECRET [--serial=N]
//! gitns notify --server=IP[:PORT] --zone=ZONE --key=K      (cargo xtask's form)
//! ```
//!
//! The serial it names is the one the server serves now (an unsigned SOA
//! query first), or `--serial`; the NOTIFY carries that SOA in its answer
//! section (RFC 1996 3.7). Several `--key`s may be given: the one whose
//! name covers the zone signs. Success needs NOERROR and the server's
//! answer signed with the same key.

use crate::cli::{self, usage, Opt, ToolResult};
use crate::dnstool::{self, Soa};
use gitns_dns::name::Name;
use gitns_dns::rtype::SOA;
use gitns_dns::tsig::Op;

pub const USAGE: &str =
    "usage: gitns notify SERVER ZONE --key=NAME:ALG:SECRET [--key=...] [--serial=N]
       gitns notify --server=IP[:PORT] --zone=ZONE [--key=K]

Send a TSIG-signed NOTIFY for ZONE to SERVER (IP or IP:PORT, port 53):
the appliance fetches its git remote and serves the new zones.
  --key=K       NAME:ALG:SECRET (ALG SHA1, SHA224, SHA256, SHA384, SHA512) or
                hmac-ALG:NAME:SECRET; with several, the one covering ZONE signs
  --serial=N    the serial to name (default: the one the server serves now)
Prints `notifying to SERVER zone ZONE serial N`, then
`successful TSIG signed notify!`; exits 1 with the RCODE or TSIG error.";

const SPEC: &[Opt] = &[
    Opt("--key", true),
    Opt("--serial", true),
    Opt("--server", true),
    Opt("--zone", true),
];

/// `gitns notify ARGS`.
pub fn main(args: &[String]) -> ToolResult {
    let p = cli::parse(args, SPEC, usize::MAX)?;
    if p.help {
        println!("{USAGE}");
        return Ok(());
    }
    let (server, zone) = match (&p.pos[..], p.get("--server"), p.get("--zone")) {
        ([s, z], None, None) => (s.as_str(), z.as_str()),
        ([], Some(s), Some(z)) => (s, z),
        _ => return Err(usage("expected SERVER ZONE (or --server= and --zone=)")),
    };
    if !p.rest.is_empty() {
        return Err(usage(format!("unexpected argument `{}`", p.rest[0])));
    }
    let server = cli::server_addr(server)?;
    let zone =
        Name::parse(zone, &Name::root()).map_err(|e| usage(format!("zone `{zone}`: {e}")))?;
    let keys = p
        .all("--key")
        .into_iter()
        .map(dnstool::parse_key)
        .collect::<Result<Vec<_>, _>>()
        .map_err(usage)?;
    let serial: Option<u32> = match p.get("--serial") {
        Some(s) => Some(
            s.parse()
                .map_err(|_| usage(format!("--serial {s}: not a number")))?,
        ),
        None => None,
    };
    let soa = current_soa(server, &zone).map(|mut s| {
        if let Some(n) = serial {
            s.times[0] = n;
        }
        s
    });
    let serial_text = match (&soa, serial) {
        (Some(s), _) => s.serial().to_string(),
        (None, Some(n)) => n.to_string(),
        (None, None) => "unknown (no SOA served)".into(),
    };
    let shown = zone.to_text();
    let shown = shown.trim_end_matches('.');
    println!("notifying to {server} zone {shown} serial {serial_text}");
    let key = dnstool::key_for(&keys, &zone, Op::Notify);
    let id = (std::process::id() as u16) ^ 0x4e4f;
    let mut msg = dnstool::notify_msg(id, &zone, soa.as_ref());
    if let Some(k) = key {
        msg = gitns_dns::tsig::sign_request(&msg, k, dnstool::now());
    }
    let resp = crate::net::udp_exchange(server, &msg)?;
    dnstool::check_answer(&resp, &msg, key)
        .map_err(|e| format!("notify of {shown} at {server}: {e}"))?;
    println!(
        "successful {}notify!",
        if key.is_some() { "TSIG signed " } else { "" }
    );
    Ok(())
}

/// The SOA the server serves for `zone` now (unsigned: a signed SOA query
/// would make us a NOTIFY target), or None.
fn current_soa(server: std::net::SocketAddr, zone: &Name) -> Option<Soa> {
    let resp = crate::net::udp_exchange(server, &dnstool::query(zone, SOA)).ok()?;
    dnstool::soa(&resp).filter(|s| dnstool::rcode(&resp) == 0 && s.owner == *zone)
}
