//! `cargo xtask certify` (like the MirageOS `ocertify`): get a certificate
//! for a host name from the appliance's ACME client, through DNS only.
//!
//! 1. make an ECDSA P-256 key and a CSR for the host name (rcgen);
//! 2. place the CSR as `_letsencrypt._tcp.HOST. 3600 IN TLSA 3 255 0 <hex
//!    DER>` with a TSIG-signed UPDATE, removing earlier CSRs (only the
//!    `3 255 0` records: the certificate `3 0 0` and the chain `0 0 0`
//!    records share the owner name);
//! 3. poll the TLSA RRset over TCP (certificates do not fit a UDP answer)
//!    until a `3 0 0` certificate holds our public key;
//! 4. write HOST.key, HOST.pem (leaf) and HOST.chain.pem (leaf + the
//!    `0 0 0` certificates, in issuing order).
//!
//! The key is written before the UPDATE: a CSR in the zone never loses its
//! key.
//!
//! `--direct` skips 2-3: the host orders the certificate itself with
//! instant-acme, answering DNS-01 through signed UPDATEs of the appliance
//! (see `certify_direct`), and writes the same files.

use gitns_dns::keys::Key;
use gitns_dns::message::Header;
use gitns_dns::name::Name;
use gitns_dns::rtype::{SOA, TLSA};
use gitns_dns::wire::Reader;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use xtask::dnstool;

const USAGE: &str = "usage: cargo xtask certify --server IP[:PORT] --key NAME:ALG:SECRET \
--hostname HOST [--zone ZONE] [--out DIR] [--wait SECS] \
[--direct [--acme-server URL] [--acme-ca PEMFILE] [--email ADDR]]";
/// Bound on one DNS exchange; an UPDATE is answered after the git push.
const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(30);
const POLL_INTERVAL: Duration = Duration::from_secs(1);

struct Opts {
    server: SocketAddr,
    key: Key,
    hostname: String,
    zone: Option<Name>,
    out: PathBuf,
    wait: Duration,
    direct: bool,
    acme_server: String,
    acme_ca: Option<PathBuf>,
    email: Option<String>,
}

fn parse_args(args: &[String]) -> Result<Opts, String> {
    let mut server = None;
    let mut key = None;
    let mut hostname = None;
    let mut zone = None;
    let mut out = PathBuf::from(".");
    let mut wait = Duration::from_secs(120);
    let mut direct = false;
    let mut acme_server = crate::certify_direct::STAGING.to_string();
    let mut acme_ca = None;
    let mut email = None;
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        i += 1;
        if a == "--direct" {
            direct = true;
            continue;
        }
        let (opt, value) = match a.split_once('=') {
            Some((o, v)) if o.starts_with("--") => (o, v.to_string()),
            _ => {
                let v = args
                    .get(i)
                    .ok_or_else(|| format!("{a} needs a value\n{USAGE}"))?;
                i += 1;
                (a.as_str(), v.clone())
            }
        };
        match opt {
            "--server" => {
                let with_port = if value.contains(':') {
                    value.clone()
                } else {
                    format!("{value}:53")
                };
                server = Some(
                    with_port
                        .to_socket_addrs()
                        .ok()
                        .and_then(|mut a| a.next())
                        .ok_or_else(|| format!("--server {value}: not IP[:PORT]"))?,
                );
            }
            "--key" => key = Some(dnstool::parse_key(&value)?),
            "--hostname" => hostname = Some(value.trim_end_matches('.').to_ascii_lowercase()),
            "--zone" => {
                zone = Some(
                    Name::parse(&value, &Name::root())
                        .map_err(|e| format!("zone `{value}`: {e}"))?,
                )
            }
            "--out" => out = PathBuf::from(value),
            "--wait" => {
                wait = Duration::from_secs(
                    value
                        .parse()
                        .map_err(|_| format!("--wait {value}: a number of seconds"))?,
                )
            }
            "--acme-server" => acme_server = value,
            "--acme-ca" => acme_ca = Some(PathBuf::from(value)),
            "--email" => email = Some(value),
            other => return Err(format!("unknown option `{other}`\n{USAGE}")),
        }
    }
    Ok(Opts {
        server: server.ok_or_else(|| format!("--server is required\n{USAGE}"))?,
        key: key.ok_or_else(|| format!("--key is required\n{USAGE}"))?,
        hostname: hostname.ok_or_else(|| format!("--hostname is required\n{USAGE}"))?,
        zone,
        out,
        wait,
        direct,
        acme_server,
        acme_ca,
        email,
    })
}

pub fn main(args: &[String]) -> Result<(), String> {
    let o = parse_args(args)?;
    let host = &o.hostname;
    let owner = Name::parse(&format!("_letsencrypt._tcp.{host}."), &Name::root())
        .map_err(|e| format!("host name `{host}`: {e}"))?;
    let owner_text = owner.to_text();

    // 1-2: key and CSR; the key is on disk before the CSR is published.
    let (key_pem, public_key, csr) = make_csr(host)?;
    std::fs::create_dir_all(&o.out).map_err(|e| format!("{}: {e}", o.out.display()))?;
    let key_path = o.out.join(format!("{host}.key"));
    write_private(&key_path, &key_pem)?;
    let zone = match &o.zone {
        Some(z) => z.clone(),
        None => find_zone(o.server, &owner)?,
    };
    if o.direct {
        let d = crate::certify_direct::Direct {
            server: o.server,
            key: o.key.clone(),
            zone,
            acme_server: o.acme_server.clone(),
            acme_ca: o.acme_ca.clone(),
            email: o.email.clone(),
            wait: o.wait,
        };
        eprintln!(
            "certify: ordering for {host} from {} (instant-acme)",
            o.acme_server
        );
        let mut chain = crate::certify_direct::order(&d, host, &csr)?;
        let leaf = chain.remove(0);
        return write_certificate(&o, host, &key_path, &leaf, &chain);
    }
    let mut ops = Vec::new();
    for r in query_tlsa(o.server, &owner)? {
        if (r.usage, r.selector, r.matching) == (3, 255, 0) {
            ops.push(format!("delete {owner_text} TLSA 3 255 0 {}", hex(&r.data)));
        }
    }
    let replaced = ops.len();
    ops.push(format!("add {owner_text} 3600 TLSA 3 255 0 {}", hex(&csr)));
    let id = std::process::id() as u16;
    let update = dnstool::signed_update(id, &zone, &ops.join(", "), &o.key)?;
    let resp = tcp_exchange(o.server, &update)?;
    let rc = rcode(&resp);
    if rc != 0 {
        return Err(format!(
            "UPDATE of {} at {}: {}",
            zone.to_text(),
            o.server,
            rcode_name(rc)
        ));
    }
    eprintln!(
        "certify: CSR for {host} placed at {owner_text} TLSA 3 255 0 ({} bytes{}), key in {}",
        csr.len(),
        if replaced > 0 {
            format!(", replacing {replaced} earlier")
        } else {
            String::new()
        },
        key_path.display()
    );

    // 3: wait for the certificate of our key.
    let end = Instant::now() + o.wait;
    let (leaf, chain) = loop {
        match query_tlsa(o.server, &owner) {
            Ok(rrs) => {
                if let Some(found) = certificate_for(&rrs, &public_key) {
                    break found;
                }
            }
            Err(e) => eprintln!("certify: {e} (retrying)"),
        }
        if Instant::now() >= end {
            return Err(format!(
                "no certificate for {host} within {} s: no TLSA 3 0 0 at {owner_text} \
                 holds the CSR's key (is the appliance's ACME client configured? see its log)",
                o.wait.as_secs()
            ));
        }
        std::thread::sleep(POLL_INTERVAL);
    };

    write_certificate(&o, host, &key_path, &leaf, &chain)
}

/// 4: the files: HOST.pem (leaf) and HOST.chain.pem (leaf and chain).
fn write_certificate(
    o: &Opts,
    host: &str,
    key_path: &Path,
    leaf: &[u8],
    chain: &[Vec<u8>],
) -> Result<(), String> {
    let pem_path = o.out.join(format!("{host}.pem"));
    let chain_path = o.out.join(format!("{host}.chain.pem"));
    write_file(&pem_path, &pem("CERTIFICATE", leaf))?;
    let mut text = pem("CERTIFICATE", leaf);
    for c in chain {
        text.push_str(&pem("CERTIFICATE", c));
    }
    write_file(&chain_path, &text)?;
    println!("{}", key_path.display());
    println!("{}", pem_path.display());
    println!("{}", chain_path.display());
    eprintln!(
        "certify: certificate for {host} with {} chain certificate(s)",
        chain.len()
    );
    Ok(())
}

/// A fresh P-256 key (PKCS#8 PEM), its public point, and a DER CSR for
/// `host` (subject CN and the only SAN).
pub fn make_csr(host: &str) -> Result<(String, Vec<u8>, Vec<u8>), String> {
    use rcgen::{CertificateParams, DnType, KeyPair, PKCS_ECDSA_P256_SHA256};
    let e = |e: rcgen::Error| format!("CSR for {host}: {e}");
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(e)?;
    let mut params = CertificateParams::new(vec![host.to_string()]).map_err(e)?;
    params.distinguished_name.push(DnType::CommonName, host);
    let csr = params.serialize_request(&key).map_err(e)?;
    Ok((
        key.serialize_pem(),
        key.public_key_raw().to_vec(),
        csr.der().to_vec(),
    ))
}

/// One TLSA record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tlsa {
    pub usage: u8,
    pub selector: u8,
    pub matching: u8,
    pub data: Vec<u8>,
}

/// The leaf (`3 0 0` holding `public_key`) and the `0 0 0` certificates
/// that chain from it, in issuing order.
fn certificate_for(rrs: &[Tlsa], public_key: &[u8]) -> Option<(Vec<u8>, Vec<Vec<u8>>)> {
    let leaf = rrs
        .iter()
        .filter(|r| (r.usage, r.selector, r.matching) == (3, 0, 0))
        .find(|r| cert_fields(&r.data).and_then(|f| spki_key(f.spki)) == Some(public_key))?;
    let others: Vec<&[u8]> = rrs
        .iter()
        .filter(|r| (r.usage, r.selector, r.matching) == (0, 0, 0))
        .map(|r| r.data.as_slice())
        .collect();
    Some((leaf.data.clone(), order_chain(&leaf.data, &others)))
}

/// From `leaf`, follow issuer -> subject through `pool`; certificates that
/// do not chain (left from an older certificate) are left out.
pub fn order_chain(leaf: &[u8], pool: &[&[u8]]) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = Vec::new();
    let mut cur = leaf.to_vec();
    while out.len() < pool.len() {
        let Some(f) = cert_fields(&cur) else { break };
        if f.issuer == f.subject {
            break; // self-signed: the root, nothing above it
        }
        let next = pool.iter().find(|c| {
            !out.iter().any(|o| o.as_slice() == **c)
                && cert_fields(c).map(|g| g.subject) == Some(f.issuer)
        });
        let Some(next) = next else { break };
        out.push(next.to_vec());
        cur = next.to_vec();
    }
    out
}

/// The parts of a certificate this tool needs (raw DER of each).
pub struct CertFields<'a> {
    pub issuer: &'a [u8],
    pub subject: &'a [u8],
    pub spki: &'a [u8],
}

/// One DER TLV: (tag, contents, whole TLV, rest of the input).
type Tlv<'a> = (u8, &'a [u8], &'a [u8], &'a [u8]);

fn tlv(input: &[u8]) -> Option<Tlv<'_>> {
    let tag = *input.first()?;
    let first = *input.get(1)? as usize;
    let (len, hdr) = if first < 0x80 {
        (first, 2)
    } else {
        let n = first & 0x7f;
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | *input.get(2 + i)? as usize;
        }
        (len, 2 + n)
    };
    let end = hdr.checked_add(len)?;
    if end > input.len() {
        return None;
    }
    Some((tag, &input[hdr..end], &input[..end], &input[end..]))
}

/// RFC 5280 4.1: Certificate ::= SEQUENCE { tbsCertificate SEQUENCE {
/// [0] version OPTIONAL, serialNumber, signature, issuer, validity,
/// subject, subjectPublicKeyInfo, ... }, ... }
pub fn cert_fields(der: &[u8]) -> Option<CertFields<'_>> {
    let (0x30, cert, _, _) = tlv(der)? else {
        return None;
    };
    let (0x30, tbs, _, _) = tlv(cert)? else {
        return None;
    };
    let mut rest = tbs;
    let mut next = || {
        let (tag, _, raw, r) = tlv(rest)?;
        rest = r;
        Some((tag, raw))
    };
    let mut field = next()?;
    if field.0 == 0xa0 {
        field = next()?; // explicit version
    }
    let _serial = field;
    let _sig_alg = next()?;
    let issuer = next()?.1;
    let _validity = next()?;
    let subject = next()?.1;
    let (0x30, spki) = next()? else {
        return None;
    };
    Some(CertFields {
        issuer,
        subject,
        spki,
    })
}

/// The public key bits of a SubjectPublicKeyInfo (the EC point for P-256).
pub fn spki_key(spki: &[u8]) -> Option<&[u8]> {
    let (0x30, body, _, _) = tlv(spki)? else {
        return None;
    };
    let (_, _, _, rest) = tlv(body)?; // algorithm
    let (0x03, bits, _, _) = tlv(rest)? else {
        return None;
    };
    bits.get(1..) // skip the unused-bits octet
}

/// The zone holding `name`: the owner of the SOA the server returns for
/// it (answer or authority section, RFC 2308 3).
pub(crate) fn find_zone(server: SocketAddr, name: &Name) -> Result<Name, String> {
    let resp = tcp_exchange(server, &query(name, SOA))?;
    let rc = rcode(&resp);
    if rc != 0 && rc != 3 {
        return Err(format!(
            "SOA query for {} at {server}: {} (not a zone of this server? pass --zone)",
            name.to_text(),
            rcode_name(rc)
        ));
    }
    records(&resp)
        .map_err(|e| format!("answer from {server}: {e}"))?
        .into_iter()
        .find(|(_, t, _)| *t == SOA)
        .map(|(owner, _, _)| owner)
        .ok_or_else(|| format!("{server} names no zone for {}; pass --zone", name.to_text()))
}

/// The TLSA RRset at `name` (empty when there is none).
fn query_tlsa(server: SocketAddr, name: &Name) -> Result<Vec<Tlsa>, String> {
    let resp = tcp_exchange(server, &query(name, TLSA))?;
    let rc = rcode(&resp);
    if rc == 3 {
        return Ok(Vec::new());
    }
    if rc != 0 {
        return Err(format!(
            "TLSA query for {} at {server}: {}",
            name.to_text(),
            rcode_name(rc)
        ));
    }
    let want = name.to_lowercase();
    Ok(records(&resp)
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

/// A query (no recursion) for `name`/`qtype` IN.
pub(crate) fn query(name: &Name, qtype: u16) -> Vec<u8> {
    let id = (std::process::id() as u16) ^ (qtype << 3);
    let mut m = vec![(id >> 8) as u8, id as u8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    m.extend_from_slice(name.wire());
    m.extend_from_slice(&qtype.to_be_bytes());
    m.extend_from_slice(&1u16.to_be_bytes());
    m
}

pub(crate) fn rcode(resp: &[u8]) -> u8 {
    resp.get(3).map(|b| b & 0x0f).unwrap_or(255)
}

pub(crate) fn rcode_name(rc: u8) -> String {
    const NAMES: [&str; 11] = [
        "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN", "YXRRSET",
        "NXRRSET", "NOTAUTH", "NOTZONE",
    ];
    NAMES
        .get(rc as usize)
        .map(|s| s.to_string())
        .unwrap_or(format!("RCODE{rc}"))
}

/// (owner, type, rdata) of the answer and authority records of `msg`.
pub fn records(msg: &[u8]) -> Result<Vec<(Name, u16, Vec<u8>)>, String> {
    let bad = |e: gitns_dns::wire::WireError| format!("malformed message: {e:?}");
    let mut r = Reader::message(msg, 0);
    let h = Header::parse(&mut r).map_err(bad)?;
    for _ in 0..h.qdcount {
        r.name().map_err(bad)?;
        r.u32().map_err(bad)?;
    }
    let mut out = Vec::new();
    for _ in 0..(h.ancount as u32 + h.nscount as u32) {
        let owner = r.name().map_err(bad)?;
        let t = r.u16().map_err(bad)?;
        let _class = r.u16().map_err(bad)?;
        let _ttl = r.u32().map_err(bad)?;
        let len = r.u16().map_err(bad)? as usize;
        out.push((owner, t, r.bytes(len).map_err(bad)?.to_vec()));
    }
    Ok(out)
}

/// One DNS exchange over TCP (RFC 1035 4.2.2 length prefix), bounded.
pub(crate) fn tcp_exchange(server: SocketAddr, msg: &[u8]) -> Result<Vec<u8>, String> {
    let e = |e: std::io::Error| format!("{server} (TCP): {e}");
    let mut s = TcpStream::connect_timeout(&server, Duration::from_secs(5)).map_err(e)?;
    s.set_read_timeout(Some(EXCHANGE_TIMEOUT)).map_err(e)?;
    s.set_write_timeout(Some(EXCHANGE_TIMEOUT)).map_err(e)?;
    let mut framed = (msg.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(msg);
    s.write_all(&framed).map_err(e)?;
    let mut len = [0u8; 2];
    s.read_exact(&mut len).map_err(e)?;
    let mut resp = vec![0u8; u16::from_be_bytes(len) as usize];
    s.read_exact(&mut resp).map_err(e)?;
    if resp.len() < 12 || resp[..2] != msg[..2] {
        return Err(format!("{server}: an answer to another message"));
    }
    Ok(resp)
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// PEM with 64-column lines (RFC 7468 2).
pub fn pem(label: &str, der: &[u8]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut s = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        s.push_str(std::str::from_utf8(line).unwrap_or(""));
        s.push('\n');
    }
    s.push_str(&format!("-----END {label}-----\n"));
    s
}

fn write_file(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Write a private key readable by its owner only.
fn write_private(path: &Path, text: &str) -> Result<(), String> {
    use std::os::unix::fs::OpenOptionsExt;
    let e = |e: std::io::Error| format!("{}: {e}", path.display());
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(e)?;
    f.write_all(text.as_bytes()).map_err(e)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair,
        PKCS_ECDSA_P256_SHA256,
    };

    fn ca(
        name: &str,
        parent: Option<&CertifiedIssuer<'static, KeyPair>>,
    ) -> CertifiedIssuer<'static, KeyPair> {
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.distinguished_name.push(DnType::CommonName, name);
        let k = KeyPair::generate().unwrap();
        match parent {
            None => CertifiedIssuer::self_signed(p, k).unwrap(),
            Some(i) => CertifiedIssuer::signed_by(p, k, i).unwrap(),
        }
    }

    #[test]
    fn leaf_key_and_chain_order() {
        let root = ca("root", None);
        let inter = ca("intermediate", Some(&root));
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
        let leaf = CertificateParams::new(vec!["www.example.org".to_string()])
            .unwrap()
            .signed_by(&key, &inter)
            .unwrap();
        let leaf = leaf.der().to_vec();
        let f = cert_fields(&leaf).unwrap();
        assert_eq!(spki_key(f.spki), Some(key.public_key_raw()));
        let unrelated = ca("other", None);
        // The RRset order is arbitrary; the chain comes out in issuing order.
        let rrs = vec![
            Tlsa {
                usage: 0,
                selector: 0,
                matching: 0,
                data: root.der().to_vec(),
            },
            Tlsa {
                usage: 3,
                selector: 255,
                matching: 0,
                data: vec![1, 2, 3],
            },
            Tlsa {
                usage: 0,
                selector: 0,
                matching: 0,
                data: unrelated.der().to_vec(),
            },
            Tlsa {
                usage: 3,
                selector: 0,
                matching: 0,
                data: leaf.clone(),
            },
            Tlsa {
                usage: 0,
                selector: 0,
                matching: 0,
                data: inter.der().to_vec(),
            },
        ];
        let (got, chain) = certificate_for(&rrs, key.public_key_raw()).unwrap();
        assert_eq!(got, leaf);
        assert_eq!(chain, vec![inter.der().to_vec(), root.der().to_vec()]);
        let other = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
        assert!(certificate_for(&rrs, other.public_key_raw()).is_none());
    }

    #[test]
    fn csr_and_pem() {
        let (key_pem, point, csr) = make_csr("www.example.org").unwrap();
        assert!(key_pem.contains("BEGIN PRIVATE KEY"));
        assert_eq!(point.len(), 65);
        // The CSR carries the public point.
        assert!(csr.windows(point.len()).any(|w| w == point));
        let p = pem("CERTIFICATE", &[0u8; 100]);
        assert!(p.lines().all(|l| l.len() <= 64));
        assert_eq!(hex(&[0, 0xab, 0xff]), "00abff");
    }

    #[test]
    fn options_in_both_spellings() {
        let a: Vec<String> = [
            "--server",
            "10.0.0.2",
            "--key=k._update.example.org:SHA256:PAPPkecDvEBnhqTzG5Xsbrbi7W0QY7TpVaEMxndMv2M=",
            "--hostname",
            "WWW.example.org.",
            "--wait=5",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let o = parse_args(&a).unwrap();
        assert_eq!(o.server, "10.0.0.2:53".parse().unwrap());
        assert_eq!(o.hostname, "www.example.org");
        assert_eq!(o.wait, Duration::from_secs(5));
        assert!(parse_args(&a[..2]).err().unwrap().contains("--key"));
    }
}
