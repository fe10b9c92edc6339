//! `gitns update` (the MirageOS `oupdate`, and an nsupdate-like form):
//! a TSIG-signed dynamic UPDATE (RFC 2136), over TCP since the appliance
//! answers only once the change is pushed to git.
//!
//! ```text
//! gitns update SERVER KEY NAME ADDRESS
//!     oupdate: NAME's A (or AAAA for an IPv6 ADDRESS) becomes ADDRESS,
//!     replacing the old value; the zone is the one KEY's name covers
//!     (personal._update.mirage -> mirage)
//! gitns update --server=IP[:PORT] --zone=ZONE --key=K OP[, OP]...
//!     OP: add NAME TTL TYPE RDATA | delete NAME [TYPE [RDATA]]
//! ```

use crate::cli::{self, usage, Opt, ToolError, ToolResult};
use crate::dnstool;
use gitns_dns::keys::Key;
use gitns_dns::name::Name;
use std::net::{IpAddr, SocketAddr};

pub const USAGE: &str = "usage: gitns update SERVER KEY NAME ADDRESS
       gitns update --server=IP[:PORT] --zone=ZONE --key=K OP[, OP]...

Send a TSIG-signed UPDATE to SERVER (IP or IP:PORT, port 53).
First form (oupdate): NAME's A record (AAAA for an IPv6 ADDRESS) becomes
ADDRESS, replacing the old ones, TTL 3600; the zone is the one KEY covers
(personal._update.mirage:SHA256:SECRET updates the zone mirage).
Second form: OP is `add NAME TTL TYPE RDATA` or `delete NAME [TYPE [RDATA]]`,
several separated by `,`; NAME is relative to ZONE unless it ends in `.`.
KEY/K: NAME:ALG:SECRET or hmac-ALG:NAME:SECRET.";

/// TTL of the record the oupdate form writes.
const TTL: u32 = 3600;

const SPEC: &[Opt] = &[
    Opt("--server", true),
    Opt("--zone", true),
    Opt("--key", true),
];

/// What to send where.
struct Request {
    server: SocketAddr,
    zone: Name,
    key: Option<Key>,
    ops: String,
}

/// `gitns update ARGS`.
pub fn main(args: &[String]) -> ToolResult {
    let nsupdate_like = args.iter().any(|a| a.starts_with("--server"));
    let p = cli::parse(args, SPEC, if nsupdate_like { usize::MAX } else { 4 })?;
    if p.help {
        println!("{USAGE}");
        return Ok(());
    }
    let req = if nsupdate_like {
        nsupdate_form(&p)?
    } else {
        oupdate_form(&p)?
    };
    let id = (std::process::id() as u16) ^ 0x5550;
    let msg = match &req.key {
        Some(k) => dnstool::signed_update(id, &req.zone, &req.ops, k),
        None => dnstool::update_msg(id, &req.zone, &req.ops),
    }
    .map_err(usage)?;
    let zone = req.zone.to_text();
    let zone = zone.trim_end_matches('.');
    println!("updating to {} zone {zone}: {}", req.server, req.ops);
    let resp = crate::net::tcp_exchange(req.server, &msg)?;
    dnstool::check_answer(&resp, &msg, req.key.as_ref())
        .map_err(|e| format!("update of {zone} at {}: {e}", req.server))?;
    println!(
        "successful {}update!",
        if req.key.is_some() {
            "TSIG signed "
        } else {
            ""
        }
    );
    Ok(())
}

fn oupdate_form(p: &cli::Parsed) -> Result<Request, ToolError> {
    if !p.rest.is_empty() || p.pos.len() != 4 {
        return Err(usage(
            "expected SERVER KEY NAME ADDRESS (or --server= ... OP)",
        ));
    }
    let [server, key, name, addr] = [&p.pos[0], &p.pos[1], &p.pos[2], &p.pos[3]];
    let key = dnstool::parse_key(key).map_err(usage)?;
    let zone = dnstool::key_zone(&key.name).ok_or_else(|| {
        usage(format!(
            "key `{}`: its name names no zone (NAME._update.ZONE)",
            key.name.to_text()
        ))
    })?;
    let ip: IpAddr = addr
        .parse()
        .map_err(|_| usage(format!("`{addr}`: not an IPv4 or IPv6 address")))?;
    let owner = Name::parse(name, &Name::root()).map_err(|e| usage(format!("`{name}`: {e}")))?;
    if !owner.is_at_or_below(&zone) {
        return Err(usage(format!(
            "{name} is not in the zone {} of the key",
            zone.to_text()
        )));
    }
    let t = if ip.is_ipv4() { "A" } else { "AAAA" };
    let o = owner.to_text();
    Ok(Request {
        server: cli::server_addr(server)?,
        zone,
        key: Some(key),
        ops: format!("delete {o} {t}, add {o} {TTL} {t} {ip}"),
    })
}

fn nsupdate_form(p: &cli::Parsed) -> Result<Request, ToolError> {
    let server = p
        .get("--server")
        .ok_or_else(|| usage("--server=IP[:PORT] is required"))?;
    let zone = p
        .get("--zone")
        .ok_or_else(|| usage("--zone=ZONE is required"))?;
    let key = p
        .get("--key")
        .map(dnstool::parse_key)
        .transpose()
        .map_err(usage)?;
    let mut words = p.pos.clone();
    words.extend(p.rest.iter().cloned());
    if words.is_empty() {
        return Err(usage(
            "nothing to update: add NAME TTL TYPE RDATA | delete NAME [TYPE [RDATA]]",
        ));
    }
    Ok(Request {
        server: cli::server_addr(server)?,
        zone: Name::parse(zone, &Name::root()).map_err(|e| usage(format!("zone `{zone}`: {e}")))?,
        key,
        ops: words.join(" "),
    })
}
