//! DNS messages of the operator tools: keys in the seeds' and dig's
//! syntax, NOTIFY and UPDATE requests (signed with TSIG), queries, and
//! reading the answers (RCODE, records, the server's TSIG).
//!
//! Keys: `NAME:ALG:SECRET` (the seeds' form, ALG SHA1/SHA224/SHA256/
//! SHA384/SHA512) or `hmac-sha256:NAME:SECRET` (dig's form).

use gitns_dns::key_text::KeyTextError;
use gitns_dns::keys::Key;
use gitns_dns::message::Header;
use gitns_dns::name::Name;
use gitns_dns::rtype::SOA;
use gitns_dns::tsig::{self, Op, TsigError};
use gitns_dns::wire::{Reader, WireError};

/// Parse a key in either accepted form (`gitns_dns::key_text`).
pub fn parse_key(s: &str) -> Result<Key, String> {
    gitns_dns::key_text::parse(s).map_err(|e| match e {
        // The text may hold the secret: not echoed.
        KeyTextError::Form => format!("key: {e}"),
        e => e.to_string(),
    })
}

/// The first of `keys` whose name grants `op` on `zone` (`x._update.Z`,
/// `x._transfer.Z` or `x._notify.Z` with `zone` at or below Z, or a root
/// key `x._update.`), else the first key: the server decides.
pub fn key_for<'k>(keys: &'k [Key], zone: &Name, op: Op) -> Option<&'k Key> {
    keys.iter()
        .find(|k| tsig::allows(&k.name, op, zone))
        .or(keys.first())
}

/// The zone a key's name grants rights on (`personal._update.mirage` ->
/// `mirage.`), as oupdate takes it.
pub fn key_zone(key: &Name) -> Option<Name> {
    tsig::permission(key).map(|(_, zone)| zone)
}

/// Seconds since the epoch.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// A header with one question; `flags` is the second 16-bit word.
fn header(id: u16, flags: u16) -> Vec<u8> {
    let mut h = vec![0u8; 12];
    h[0..2].copy_from_slice(&id.to_be_bytes());
    h[2..4].copy_from_slice(&flags.to_be_bytes());
    h[5] = 1;
    h
}

/// Opcode bits of the second header word.
const NOTIFY: u16 = 4 << 11;
const UPDATE: u16 = 5 << 11;
/// Authoritative answer: a primary sets it on NOTIFY (RFC 1996 3.7).
const AA: u16 = 0x0400;

/// The SOA of a zone as the server answered it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Soa {
    pub owner: Name,
    pub mname: Name,
    pub rname: Name,
    /// serial, refresh, retry, expire, minimum.
    pub times: [u32; 5],
}

impl Soa {
    pub fn serial(&self) -> u32 {
        self.times[0]
    }

    /// The record in wire form (uncompressed), TTL 0.
    fn wire(&self) -> Vec<u8> {
        let mut rd = self.mname.wire().to_vec();
        rd.extend_from_slice(self.rname.wire());
        for t in self.times {
            rd.extend_from_slice(&t.to_be_bytes());
        }
        let mut rr = self.owner.wire().to_vec();
        rr.extend_from_slice(&SOA.to_be_bytes());
        rr.extend_from_slice(&gitns_dns::rtype::IN.to_be_bytes());
        rr.extend_from_slice(&0u32.to_be_bytes());
        rr.extend_from_slice(&(rd.len() as u16).to_be_bytes());
        rr.extend_from_slice(&rd);
        rr
    }
}

/// An unsigned NOTIFY for `zone` (RFC 1996 3.6: SOA question, AA set),
/// with the zone's SOA in the answer section when known (3.7).
pub fn notify_msg(id: u16, zone: &Name, soa: Option<&Soa>) -> Vec<u8> {
    let mut m = header(id, NOTIFY | AA);
    m.extend_from_slice(zone.wire());
    m.extend_from_slice(&[0, 6, 0, 1]);
    if let Some(s) = soa {
        m[7] = 1;
        m.extend_from_slice(&s.wire());
    }
    m
}

/// A TSIG-signed NOTIFY for `zone`, signed now.
pub fn signed_notify(id: u16, zone: &Name, key: &Key) -> Vec<u8> {
    tsig::sign_request(&notify_msg(id, zone, None), key, now())
}

/// A query (no recursion) for `name`/`qtype` IN.
pub fn query(name: &Name, qtype: u16) -> Vec<u8> {
    let id = (std::process::id() as u16) ^ (qtype << 3);
    let mut m = header(id, 0);
    m.extend_from_slice(name.wire());
    m.extend_from_slice(&qtype.to_be_bytes());
    m.extend_from_slice(&gitns_dns::rtype::IN.to_be_bytes());
    m
}

fn tokens<'a>(w: &[&'a str]) -> Vec<gitns_dns::rdata::Tok<'a>> {
    w.iter()
        .map(|s| gitns_dns::rdata::Tok {
            text: s,
            quoted: false,
        })
        .collect()
}

/// One update operation as (name, ttl, type, class, rdata), RFC 2136 2.5.
type UpdateRr = (Name, u32, u16, u16, Vec<u8>);

fn update_op(op: &str, zone: &Name) -> Result<UpdateRr, String> {
    use gitns_dns::rtype::{from_text, ANY, CLASS_ANY, IN, NONE};
    let w: Vec<&str> = op.split_whitespace().collect();
    let name =
        Name::parse(w.get(1).ok_or("operation needs a name")?, zone).map_err(|e| e.to_string())?;
    let rdata = |t: u16, toks: &[&str]| {
        gitns_dns::rdata::from_text(t, &tokens(toks), zone).map_err(|e| e.what.to_string())
    };
    match (w[0], w.len()) {
        ("add", 5..) => {
            let ttl: u32 = w[2].parse().map_err(|_| "add NAME TTL TYPE RDATA")?;
            let t = from_text(w[3]).ok_or_else(|| format!("unknown type {}", w[3]))?;
            Ok((name, ttl, t, IN, rdata(t, &w[4..])?))
        }
        ("add", _) => Err("add NAME TTL TYPE RDATA".into()),
        ("delete", 2) => Ok((name, 0, ANY, CLASS_ANY, vec![])),
        ("delete", n) => {
            let t = from_text(w[2]).ok_or_else(|| format!("unknown type {}", w[2]))?;
            if n == 3 {
                Ok((name, 0, t, CLASS_ANY, vec![]))
            } else {
                Ok((name, 0, t, NONE, rdata(t, &w[3..])?))
            }
        }
        (other, _) => Err(format!("unknown operation `{other}` (add, delete)")),
    }
}

/// An unsigned UPDATE of `zone` from `ops` (`add NAME TTL TYPE RDATA` and
/// `delete NAME [TYPE [RDATA]]`, separated by `,`), RFC 2136 2.5.
pub fn update_msg(id: u16, zone: &Name, ops: &str) -> Result<Vec<u8>, String> {
    let mut m = header(id, UPDATE);
    m.extend_from_slice(zone.wire());
    m.extend_from_slice(&[0, 6, 0, 1]);
    let mut count = 0u16;
    for op in ops.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (name, ttl, rtype, class, rd) = update_op(op, zone)?;
        m.extend_from_slice(name.wire());
        m.extend_from_slice(&rtype.to_be_bytes());
        m.extend_from_slice(&class.to_be_bytes());
        m.extend_from_slice(&ttl.to_be_bytes());
        m.extend_from_slice(&(rd.len() as u16).to_be_bytes());
        m.extend_from_slice(&rd);
        count += 1;
    }
    if count == 0 {
        return Err("nothing to update".into());
    }
    m[8..10].copy_from_slice(&count.to_be_bytes());
    Ok(m)
}

/// The same, signed with `key` now.
pub fn signed_update(id: u16, zone: &Name, ops: &str, key: &Key) -> Result<Vec<u8>, String> {
    Ok(tsig::sign_request(&update_msg(id, zone, ops)?, key, now()))
}

pub fn rcode(resp: &[u8]) -> u8 {
    resp.get(3).map(|b| b & 0x0f).unwrap_or(255)
}

pub fn rcode_name(rc: u8) -> String {
    const NAMES: [&str; 11] = [
        "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN", "YXRRSET",
        "NXRRSET", "NOTAUTH", "NOTZONE",
    ];
    NAMES
        .get(rc as usize)
        .map(|s| s.to_string())
        .unwrap_or(format!("RCODE{rc}"))
}

/// A TSIG error code by its name (RFC 8945 3).
fn tsig_error_name(e: u16) -> String {
    match e {
        tsig::BADSIG => "BADSIG".into(),
        tsig::BADKEY => "BADKEY".into(),
        tsig::BADTIME => "BADTIME".into(),
        tsig::BADTRUNC => "BADTRUNC".into(),
        e => format!("TSIG error {e}"),
    }
}

/// One resource record of an answer: owner, type, and where its RDATA
/// starts and ends in the message (names in it may be compressed).
struct Rr {
    owner: Name,
    rtype: u16,
    at: usize,
    len: usize,
}

/// The header, the answer and authority records, and where the additional
/// section starts.
fn walk(msg: &[u8]) -> Result<(Header, Vec<Rr>, usize), WireError> {
    let mut r = Reader::message(msg, 0);
    let h = Header::parse(&mut r)?;
    for _ in 0..h.qdcount {
        r.name()?;
        r.u32()?;
    }
    let mut out = Vec::new();
    for _ in 0..(h.ancount as u32 + h.nscount as u32) {
        let owner = r.name()?;
        let rtype = r.u16()?;
        let _class_ttl = (r.u16()?, r.u32()?);
        let len = r.u16()? as usize;
        let at = r.pos();
        r.bytes(len)?;
        out.push(Rr {
            owner,
            rtype,
            at,
            len,
        });
    }
    Ok((h, out, r.pos()))
}

/// (owner, type, rdata) of the answer and authority records of `msg`.
pub fn records(msg: &[u8]) -> Result<Vec<(Name, u16, Vec<u8>)>, String> {
    let (_, rrs, _) = walk(msg).map_err(|e| format!("malformed message: {e:?}"))?;
    Ok(rrs
        .into_iter()
        .map(|rr| (rr.owner, rr.rtype, msg[rr.at..rr.at + rr.len].to_vec()))
        .collect())
}

/// The SOA among the answer and authority records of `msg`.
pub fn soa(msg: &[u8]) -> Option<Soa> {
    let (_, rrs, _) = walk(msg).ok()?;
    let rr = rrs.into_iter().find(|rr| rr.rtype == SOA)?;
    let mut r = Reader::message(msg, rr.at);
    let (mname, rname) = (r.name().ok()?, r.name().ok()?);
    let mut times = [0u32; 5];
    for t in &mut times {
        *t = r.u32().ok()?;
    }
    Some(Soa {
        owner: rr.owner,
        mname,
        rname,
        times,
    })
}

/// Judge the answer to `request` (signed with `key` when given): NOERROR
/// with a valid TSIG of the server, or why not ("NOTAUTH (TSIG BADSIG)").
pub fn check_answer(resp: &[u8], request: &[u8], key: Option<&Key>) -> Result<(), String> {
    let (h, _, additional_at) = walk(resp).map_err(|e| format!("malformed answer: {e:?}"))?;
    let rc = rcode_name(rcode(resp));
    let signed = match key {
        None => Ok(()),
        Some(k) => {
            let req_mac = request_mac(request).ok_or("the request is not signed")?;
            tsig::verify_response(resp, &h, additional_at, k, &req_mac)
        }
    };
    match (rc.as_str(), signed) {
        ("NOERROR", Ok(())) => Ok(()),
        (_, Err(TsigError::NotAuth { error, .. })) => {
            Err(format!("{rc} (TSIG {})", tsig_error_name(error)))
        }
        ("NOERROR", Err(TsigError::Unsigned)) => Err("NOERROR but the answer is not signed".into()),
        ("NOERROR", Err(_)) => Err("NOERROR but the answer's TSIG is malformed".into()),
        (_, _) => Err(rc),
    }
}

/// The MAC of a request we signed.
fn request_mac(request: &[u8]) -> Option<Vec<u8>> {
    let (h, _, additional_at) = walk(request).ok()?;
    let t = tsig::find(request, &h, additional_at).ok()??;
    Some(t.mac)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "PAPPkecDvEBnhqTzG5Xsbrbi7W0QY7TpVaEMxndMv2M=";

    #[test]
    fn both_key_forms() {
        let a = parse_key(&format!("personal._update.x25519.net:SHA256:{SECRET}")).unwrap();
        let b = parse_key(&format!("hmac-sha256:personal._update.x25519.net:{SECRET}")).unwrap();
        assert_eq!(a, b);
        for alg in ["SHA1", "SHA224", "SHA384", "SHA512", "sha512"] {
            assert!(parse_key(&format!("k:{alg}:{SECRET}")).is_ok(), "{alg}");
        }
        assert!(parse_key("hmac-md5:k:AAAA")
            .unwrap_err()
            .contains("unsupported"));
        assert!(parse_key("k:SHA256").is_err());
        assert!(parse_key("k:SHA256:!!").unwrap_err().contains("base64"));
    }

    #[test]
    fn the_key_that_covers_a_zone() {
        let keys: Vec<Key> = [
            "a._update.other.net:SHA256:",
            "b._notify.x25519.net:SHA256:",
            "c._update:SHA256:",
        ]
        .iter()
        .map(|k| parse_key(&format!("{k}{SECRET}")).unwrap())
        .collect();
        let zone = |z: &str| Name::parse(z, &Name::root()).unwrap();
        let pick = |z: &str| key_for(&keys, &zone(z), Op::Notify).unwrap().name.to_text();
        assert_eq!(pick("x25519.net"), "b._notify.x25519.net.");
        assert_eq!(pick("sub.other.net"), "a._update.other.net.");
        assert_eq!(pick("third.org"), "c._update.");
        assert_eq!(
            key_zone(&keys[0].name).map(|z| z.to_text()),
            Some("other.net.".into())
        );
    }

    #[test]
    fn notify_carries_the_soa_and_answers_are_judged() {
        let zone = Name::parse("x25519.net", &Name::root()).unwrap();
        let soa = Soa {
            owner: zone.clone(),
            mname: Name::parse("ns1.x25519.net", &Name::root()).unwrap(),
            rname: Name::parse("hostmaster.x25519.net", &Name::root()).unwrap(),
            times: [1, 86400, 7200, 1048576, 3600],
        };
        let m = notify_msg(7, &zone, Some(&soa));
        assert_eq!(&m[2..4], &[0x24, 0x00], "NOTIFY, AA");
        assert_eq!(super::soa(&m), Some(soa));
        let key = parse_key(&format!("personal._update.x25519.net:SHA256:{SECRET}")).unwrap();
        let req = tsig::sign_request(&m, &key, now());
        let mut unsigned_answer = m.clone();
        unsigned_answer[2] |= 0x80;
        assert_eq!(
            check_answer(&unsigned_answer, &req, Some(&key)),
            Err("NOERROR but the answer is not signed".into())
        );
        assert_eq!(check_answer(&unsigned_answer, &m, None), Ok(()));
        unsigned_answer[3] = 9;
        assert_eq!(
            check_answer(&unsigned_answer, &m, None),
            Err("NOTAUTH".into())
        );
    }

    #[test]
    fn updates_in_the_nsupdate_like_form() {
        let zone = Name::parse("mirage", &Name::root()).unwrap();
        let m = update_msg(1, &zone, "delete my-other A, add my-other 3600 A 1.2.3.4").unwrap();
        assert_eq!(&m[8..10], &[0, 2]);
        for bad in ["", "add x", "add x 60 A", "frob x", "add x 60 NOPE 1"] {
            assert!(update_msg(1, &zone, bad).is_err(), "{bad}");
        }
    }
}
