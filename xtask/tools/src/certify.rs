//! `gitns certify` (the MirageOS `ocertify`): get a certificate for a host
//! name from the appliance's ACME client, through DNS only.
//!
//! 1. the certificate key: `--key-file` (default OUT/HOST.key) when it
//!    exists, else derived from `--key-seed` or made fresh, and written
//!    there (mode 0600) before any CSR names it;
//! 2. when the TLSA RRset at `_letsencrypt._tcp.HOST` already holds a
//!    `3 0 0` certificate for that key that is valid now, it is used: no
//!    new CSR, no new order;
//! 3. else the CSR goes in as `_letsencrypt._tcp.HOST. 3600 IN TLSA 3 255 0
//!    <hex DER>` by a TSIG-signed UPDATE, removing earlier CSRs (only the
//!    `3 255 0` records: the certificate `3 0 0` and the chain `0 0 0`
//!    records share the owner name), and the RRset is polled over TCP
//!    until a `3 0 0` certificate holds the key;
//! 4. HOST.pem (leaf) and HOST.chain.pem (leaf + the `0 0 0` certificates
//!    in issuing order) are written to OUT.
//!
//! `--direct` replaces 2-3: the host orders the certificate itself with
//! instant-acme, answering DNS-01 through signed UPDATEs of the appliance
//! (see `certify_direct`).

use crate::certify_opts::{parse_args, Opts, SPEC};
use crate::cli::{self, usage, ToolResult};
use crate::dnstool;
use crate::net::tcp_exchange;
use crate::x509::{cert_fields, certificate_for, hex, pem, Tlsa};
use gitns_dns::name::Name;
use gitns_dns::rtype::{SOA, TLSA};
use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

pub const USAGE: &str = "usage: gitns certify SERVER HOSTNAME --key=NAME:ALG:SECRET [OPTIONS]
       gitns certify --server IP[:PORT] --hostname HOST --key K [OPTIONS]

Get a certificate for HOSTNAME from the appliance at SERVER: a CSR goes in
as a TLSA 3 255 0 record by signed UPDATE, the appliance's ACME client puts
the certificate next to it. A valid certificate already served for the
same key is used without a new order.
  --key=K          TSIG key: NAME:ALG:SECRET or hmac-ALG:NAME:SECRET
  --key-file=PATH  the certificate key (PEM); made there when missing
                   (default OUT/HOSTNAME.key)
  --key-seed=SEED  derive the certificate key from SEED (16+ bytes)
  --out=DIR        where HOSTNAME.key/.pem/.chain.pem go (default .)
  --zone=ZONE      the zone to UPDATE (default: asked from SERVER)
  --wait=SECS      how long to wait for the certificate (default 120)
  --direct         order from this host with instant-acme instead
    [--acme-server=URL] [--acme-ca=PEMFILE] [--email=ADDR]";

const POLL_INTERVAL: Duration = Duration::from_secs(1);

/// `gitns certify ARGS`.
pub fn main(args: &[String]) -> ToolResult {
    let p = cli::parse(args, SPEC, usize::MAX)?;
    if p.help {
        println!("{USAGE}");
        return Ok(());
    }
    let o = parse_args(&p)?;
    let host = &o.hostname;
    let owner = Name::parse(&format!("_letsencrypt._tcp.{host}."), &Name::root())
        .map_err(|e| usage(format!("host name `{host}`: {e}")))?;
    let key = crate::certkey::load_or_make(&o.key_file, o.key_seed.as_deref().map(str::as_bytes))?;
    eprintln!(
        "certify: certificate key from {} ({})",
        key.origin,
        o.key_file.display()
    );
    let public_key = key.pair.public_key_raw().to_vec();
    let csr = crate::certkey::csr(host, &key.pair)?;
    let zone = match &o.zone {
        Some(z) => z.clone(),
        None => find_zone(o.server, &owner)?,
    };
    if o.direct {
        eprintln!(
            "certify: ordering for {host} from {} (instant-acme)",
            o.acme_server
        );
        let mut chain = crate::certify_direct::order(&o, &zone, host, &csr)?;
        let leaf = chain.remove(0);
        return write_certificate(&o, &leaf, &chain);
    }
    let rrs = query_tlsa(o.server, &owner)?;
    if let Some((leaf, chain)) = served_and_valid(&rrs, &public_key) {
        eprintln!(
            "certify: {owner} already holds a valid certificate for this key; not ordering again",
            owner = owner.to_text()
        );
        return write_certificate(&o, &leaf, &chain);
    }
    place_csr(&o, &zone, &owner, &rrs, &csr)?;
    let (leaf, chain) = wait_for_certificate(&o, &owner, &public_key)?;
    write_certificate(&o, &leaf, &chain)
}

/// The certificate for `public_key` in `rrs` when it is valid now.
fn served_and_valid(rrs: &[Tlsa], public_key: &[u8]) -> Option<(Vec<u8>, Vec<Vec<u8>>)> {
    let (leaf, chain) = certificate_for(rrs, public_key)?;
    let (from, until) = cert_fields(&leaf)?.validity;
    let now = dnstool::now();
    (from <= now && now < until).then_some((leaf, chain))
}

/// 3: the CSR as TLSA 3 255 0, replacing earlier CSRs, by signed UPDATE.
fn place_csr(o: &Opts, zone: &Name, owner: &Name, rrs: &[Tlsa], csr: &[u8]) -> Result<(), String> {
    let owner_text = owner.to_text();
    let mut ops: Vec<String> = rrs
        .iter()
        .filter(|r| (r.usage, r.selector, r.matching) == (3, 255, 0))
        .map(|r| format!("delete {owner_text} TLSA 3 255 0 {}", hex(&r.data)))
        .collect();
    let replaced = ops.len();
    ops.push(format!("add {owner_text} 3600 TLSA 3 255 0 {}", hex(csr)));
    let id = std::process::id() as u16;
    let update = dnstool::signed_update(id, zone, &ops.join(", "), &o.key)?;
    let resp = tcp_exchange(o.server, &update)?;
    dnstool::check_answer(&resp, &update, Some(&o.key))
        .map_err(|e| format!("UPDATE of {} at {}: {e}", zone.to_text(), o.server))?;
    eprintln!(
        "certify: CSR for {} placed at {owner_text} TLSA 3 255 0 ({} bytes{})",
        o.hostname,
        csr.len(),
        if replaced > 0 {
            format!(", replacing {replaced} earlier")
        } else {
            String::new()
        },
    );
    Ok(())
}

/// Poll the TLSA RRset until a certificate holds `public_key`.
fn wait_for_certificate(
    o: &Opts,
    owner: &Name,
    public_key: &[u8],
) -> Result<(Vec<u8>, Vec<Vec<u8>>), String> {
    let end = Instant::now() + o.wait;
    loop {
        match query_tlsa(o.server, owner) {
            Ok(rrs) => {
                if let Some(found) = certificate_for(&rrs, public_key) {
                    return Ok(found);
                }
            }
            Err(e) => eprintln!("certify: {e} (retrying)"),
        }
        if Instant::now() >= end {
            return Err(format!(
                "no certificate for {} within {} s: no TLSA 3 0 0 at {} \
                 holds the CSR's key (is the appliance's ACME client configured? see its log)",
                o.hostname,
                o.wait.as_secs(),
                owner.to_text()
            ));
        }
        std::thread::sleep(POLL_INTERVAL);
    }
}

/// 4: the files: HOST.pem (leaf) and HOST.chain.pem (leaf and chain).
fn write_certificate(o: &Opts, leaf: &[u8], chain: &[Vec<u8>]) -> ToolResult {
    let host = &o.hostname;
    std::fs::create_dir_all(&o.out).map_err(|e| format!("{}: {e}", o.out.display()))?;
    let pem_path = o.out.join(format!("{host}.pem"));
    let chain_path = o.out.join(format!("{host}.chain.pem"));
    write_file(&pem_path, &pem("CERTIFICATE", leaf))?;
    let mut text = pem("CERTIFICATE", leaf);
    for c in chain {
        text.push_str(&pem("CERTIFICATE", c));
    }
    write_file(&chain_path, &text)?;
    println!("{}", o.key_file.display());
    println!("{}", pem_path.display());
    println!("{}", chain_path.display());
    eprintln!(
        "certify: certificate for {host} with {} chain certificate(s)",
        chain.len()
    );
    Ok(())
}

/// The zone holding `name`: the owner of the SOA the server returns for
/// it (answer or authority section, RFC 2308 3).
fn find_zone(server: SocketAddr, name: &Name) -> Result<Name, String> {
    let resp = tcp_exchange(server, &dnstool::query(name, SOA))?;
    let rc = dnstool::rcode(&resp);
    if rc != 0 && rc != 3 {
        return Err(format!(
            "SOA query for {} at {server}: {} (not a zone of this server? pass --zone)",
            name.to_text(),
            dnstool::rcode_name(rc)
        ));
    }
    dnstool::soa(&resp)
        .map(|s| s.owner)
        .ok_or_else(|| format!("{server} names no zone for {}; pass --zone", name.to_text()))
}

/// The TLSA RRset at `name` (empty when there is none).
fn query_tlsa(server: SocketAddr, name: &Name) -> Result<Vec<Tlsa>, String> {
    let resp = tcp_exchange(server, &dnstool::query(name, TLSA))?;
    match dnstool::rcode(&resp) {
        0 => {}
        3 => return Ok(Vec::new()),
        rc => {
            return Err(format!(
                "TLSA query for {} at {server}: {}",
                name.to_text(),
                dnstool::rcode_name(rc)
            ))
        }
    }
    let want = name.to_lowercase();
    Ok(dnstool::records(&resp)
        .map_err(|e| format!("answer from {server}: {e}"))?
        .into_iter()
        .filter(|(owner, t, rd)| *t == TLSA && owner.to_lowercase() == want && rd.len() >= 3)
        .map(|(_, _, rd)| Tlsa {
            usage: rd[0],
            selector: rd[1],
            matching: rd[2],
            data: rd[3..].to_vec(),
        })
        .collect())
}

fn write_file(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}
