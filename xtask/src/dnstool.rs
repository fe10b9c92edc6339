//! `cargo xtask notify` and `cargo xtask update` (like the MirageOS
//! `onotify` / `oupdate`): send a TSIG-signed NOTIFY or UPDATE, print the
//! result, exit non-zero on failure.
//!
//! Keys: `--key=NAME:ALG:SECRET` (the seeds' form, ALG SHA1/SHA224/SHA256/
//! SHA384/SHA512) or `--key=hmac-sha256:NAME:SECRET` (dig's form).

use gitns_dns::keys::{Algorithm, Key};
use gitns_dns::name::Name;
use std::net::UdpSocket;
use std::time::Duration;

fn algorithm(s: &str) -> Option<Algorithm> {
    Some(match s.to_ascii_lowercase().trim_start_matches("hmac-") {
        "sha1" => Algorithm::Sha1,
        "sha224" => Algorithm::Sha224,
        "sha256" => Algorithm::Sha256,
        "sha384" => Algorithm::Sha384,
        "sha512" => Algorithm::Sha512,
        _ => return None,
    })
}

/// Parse a key in either accepted form.
pub fn parse_key(s: &str) -> Result<Key, String> {
    let parts: Vec<&str> = s.splitn(3, ':').collect();
    let [a, b, c] = parts[..] else {
        return Err(format!(
            "key `{s}`: expected NAME:ALG:SECRET or hmac-ALG:NAME:SECRET"
        ));
    };
    let (name, alg, secret) = if a.to_ascii_lowercase().starts_with("hmac-") {
        (b, a, c)
    } else {
        (a, b, c)
    };
    let algorithm = algorithm(alg).ok_or_else(|| {
        format!("key `{name}`: unsupported algorithm {alg} (hmac-md5 is refused)")
    })?;
    let secret = gitns_dns::base64::decode(secret)
        .ok_or_else(|| format!("key `{name}`: secret is not base64"))?;
    let name = Name::parse(name, &Name::root()).map_err(|e| format!("key name `{name}`: {e}"))?;
    Ok(Key {
        name,
        algorithm,
        secret,
    })
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

pub fn exchange(server: &str, msg: &[u8]) -> Result<Vec<u8>, String> {
    let sock = UdpSocket::bind(if server.contains('[') {
        "[::]:0"
    } else {
        "0.0.0.0:0"
    })
    .map_err(|e| e.to_string())?;
    sock.set_read_timeout(Some(Duration::from_secs(2)))
        .map_err(|e| e.to_string())?;
    for _ in 0..3 {
        sock.send_to(msg, server)
            .map_err(|e| format!("{server}: {e}"))?;
        let mut buf = [0u8; 4096];
        if let Ok((n, _)) = sock.recv_from(&mut buf) {
            if buf[..2] == msg[..2] {
                return Ok(buf[..n].to_vec());
            }
        }
    }
    Err(format!("{server}: no answer"))
}

fn rcode_text(resp: &[u8]) -> String {
    let rc = resp.get(3).map(|b| b & 0x0f).unwrap_or(255);
    let names = [
        "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN", "YXRRSET",
        "NXRRSET", "NOTAUTH", "NOTZONE",
    ];
    names
        .get(rc as usize)
        .map(|s| s.to_string())
        .unwrap_or(format!("RCODE{rc}"))
}

struct Common {
    server: String,
    zone: Name,
    key: Option<Key>,
    rest: Vec<String>,
}

fn common(args: &[String]) -> Result<Common, String> {
    let mut server = None;
    let mut zone = None;
    let mut key = None;
    let mut rest = Vec::new();
    for a in args {
        if let Some(v) = a.strip_prefix("--server=") {
            server = Some(if v.contains(':') {
                v.to_string()
            } else {
                format!("{v}:53")
            });
        } else if let Some(v) = a.strip_prefix("--zone=") {
            zone = Some(Name::parse(v, &Name::root()).map_err(|e| format!("zone `{v}`: {e}"))?);
        } else if let Some(v) = a.strip_prefix("--key=") {
            key = Some(parse_key(v)?);
        } else {
            rest.push(a.clone());
        }
    }
    Ok(Common {
        server: server.ok_or("--server=IP[:PORT] is required")?,
        zone: zone.ok_or("--zone=ZONE is required")?,
        key,
        rest,
    })
}

fn header(id: u16, opcode: u8) -> Vec<u8> {
    vec![
        (id >> 8) as u8,
        id as u8,
        opcode << 3,
        0,
        0,
        1,
        0,
        0,
        0,
        0,
        0,
        0,
    ]
}

fn send(c: &Common, mut msg: Vec<u8>) -> Result<(), String> {
    if let Some(k) = &c.key {
        msg = gitns_dns::tsig::sign_request(&msg, k, now());
    }
    let resp = exchange(&c.server, &msg)?;
    let rc = rcode_text(&resp);
    println!("{}: {rc}", c.server);
    if rc == "NOERROR" {
        Ok(())
    } else {
        Err(format!("server answered {rc}"))
    }
}

/// `cargo xtask notify --server=IP --zone=ZONE [--key=...]`
pub fn notify(args: &[String]) -> Result<(), String> {
    let c = common(args)?;
    send(&c, notify_msg(std::process::id() as u16, &c.zone))
}

/// An unsigned NOTIFY for `zone` (RFC 1996 3.6: SOA question).
pub fn notify_msg(id: u16, zone: &Name) -> Vec<u8> {
    let mut m = header(id, 4);
    m.extend_from_slice(zone.wire());
    m.extend_from_slice(&[0, 6, 0, 1]);
    m
}

/// A TSIG-signed NOTIFY for `zone`, signed now.
pub fn signed_notify(id: u16, zone: &Name, key: &Key) -> Vec<u8> {
    gitns_dns::tsig::sign_request(&notify_msg(id, zone), key, now())
}

/// `cargo xtask update --server=IP --zone=ZONE --key=... (add NAME TTL TYPE RDATA | delete NAME [TYPE [RDATA]])...`
/// Several operations are separated by `,`.
pub fn update(args: &[String]) -> Result<(), String> {
    let c = common(args)?;
    let m = update_msg(std::process::id() as u16, &c.zone, &c.rest.join(" "))?;
    send(&c, m)
}

/// An unsigned UPDATE of `zone` from `ops` (`add NAME TTL TYPE RDATA` and
/// `delete NAME [TYPE [RDATA]]`, separated by `,`), RFC 2136 2.5.
pub fn update_msg(id: u16, zone: &Name, ops: &str) -> Result<Vec<u8>, String> {
    let mut rrs: Vec<u8> = Vec::new();
    let mut count = 0u16;
    for op in ops.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let w: Vec<&str> = op.split_whitespace().collect();
        let name = Name::parse(w.get(1).ok_or("operation needs a name")?, zone)
            .map_err(|e| e.to_string())?;
        let (ttl, rtype, class, rd): (u32, u16, u16, Vec<u8>) = match w[0] {
            "add" => {
                let ttl: u32 = w
                    .get(2)
                    .and_then(|t| t.parse().ok())
                    .ok_or("add NAME TTL TYPE RDATA")?;
                let t = gitns_dns::rtype::from_text(w.get(3).ok_or("add NAME TTL TYPE RDATA")?)
                    .ok_or("unknown type")?;
                let toks: Vec<gitns_dns::rdata::Tok> = w[4..]
                    .iter()
                    .map(|s| gitns_dns::rdata::Tok {
                        text: s,
                        quoted: false,
                    })
                    .collect();
                (
                    ttl,
                    t,
                    gitns_dns::rtype::IN,
                    gitns_dns::rdata::from_text(t, &toks, zone).map_err(|e| e.what)?,
                )
            }
            "delete" => match (w.get(2), w.len()) {
                (None, _) => (
                    0,
                    gitns_dns::rtype::ANY,
                    gitns_dns::rtype::CLASS_ANY,
                    vec![],
                ),
                (Some(t), 3) => (
                    0,
                    gitns_dns::rtype::from_text(t).ok_or("unknown type")?,
                    gitns_dns::rtype::CLASS_ANY,
                    vec![],
                ),
                (Some(t), _) => {
                    let t = gitns_dns::rtype::from_text(t).ok_or("unknown type")?;
                    let toks: Vec<gitns_dns::rdata::Tok> = w[3..]
                        .iter()
                        .map(|s| gitns_dns::rdata::Tok {
                            text: s,
                            quoted: false,
                        })
                        .collect();
                    (
                        0,
                        t,
                        gitns_dns::rtype::NONE,
                        gitns_dns::rdata::from_text(t, &toks, zone).map_err(|e| e.what)?,
                    )
                }
            },
            other => return Err(format!("unknown operation `{other}` (add, delete)")),
        };
        rrs.extend_from_slice(name.wire());
        rrs.extend_from_slice(&rtype.to_be_bytes());
        rrs.extend_from_slice(&class.to_be_bytes());
        rrs.extend_from_slice(&ttl.to_be_bytes());
        rrs.extend_from_slice(&(rd.len() as u16).to_be_bytes());
        rrs.extend_from_slice(&rd);
        count += 1;
    }
    if count == 0 {
        return Err("nothing to update".into());
    }
    let mut m = header(id, 5);
    m.extend_from_slice(zone.wire());
    m.extend_from_slice(&[0, 6, 0, 1]);
    m[8..10].copy_from_slice(&count.to_be_bytes());
    m.extend_from_slice(&rrs);
    Ok(m)
}

/// The same, signed with `key` now.
pub fn signed_update(id: u16, zone: &Name, ops: &str, key: &Key) -> Result<Vec<u8>, String> {
    Ok(gitns_dns::tsig::sign_request(
        &update_msg(id, zone, ops)?,
        key,
        now(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_key_forms() {
        let a = parse_key(
            "personal._update.x25519.net:SHA256:PAPPkecDvEBnhqTzG5Xsbrbi7W0QY7TpVaEMxndMv2M=",
        )
        .unwrap();
        let b = parse_key(
            "hmac-sha256:personal._update.x25519.net:PAPPkecDvEBnhqTzG5Xsbrbi7W0QY7TpVaEMxndMv2M=",
        )
        .unwrap();
        assert_eq!(a, b);
        assert!(parse_key("hmac-md5:k:AAAA")
            .unwrap_err()
            .contains("hmac-md5"));
        assert!(parse_key("k:SHA256").is_err());
    }
}
