//! The DNS side of ACME in a zone set: CSRs found as TLSA records, the
//! DNS-01 TXT records (RFC 8555 8.4) served from memory, and the UPDATE
//! (RFC 2136) that writes a certificate back (the seed flow of the MirageOS
//! letsencrypt unikernel). Pure: zones in, zones or a message out.
//!
//! TLSA usages at `_letsencrypt._tcp.<host>` (RFC 6698 2.1 fields, used as
//! the seeds do): `3 255 0` a DER CSR, `3 0 0` the certificate (DER), `0 0
//! 0` each further certificate of the chain.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use gitns_dns::name::Name;
use gitns_dns::notify_out::{Notifier, Target};
use gitns_dns::rtype::{SOA, TLSA, TXT};
use gitns_dns::zoneset::ZoneSet;

pub const CSR: [u8; 3] = [3, 255, 0];
pub const CERT: [u8; 3] = [3, 0, 0];
pub const CHAIN: [u8; 3] = [0, 0, 0];
/// TTL of the written TLSA records and of the challenge TXT records.
const TLSA_TTL: u32 = 3600;
const TXT_TTL: u32 = 60;

/// One `_letsencrypt._tcp` name holding a CSR.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CsrSite {
    pub zone: Name,
    pub owner: Name,
    pub csr: Vec<u8>,
    /// `3 0 0` certificates there (DER), normally one.
    pub certs: Vec<Vec<u8>>,
    /// `0 0 0` chain certificates there (DER).
    pub chain: Vec<Vec<u8>>,
}

/// Every CSR in our zones (one site per CSR record).
pub fn scan(zs: &ZoneSet) -> Vec<CsrSite> {
    let mut out = Vec::new();
    for zone in zs.zones() {
        for node in zone.nodes() {
            // The type first: the name is built only for TLSA owners.
            let Some(set) = node.get(TLSA) else { continue };
            if !is_site(node.name().wire()) {
                continue;
            }
            let with = |usage: [u8; 3]| -> Vec<Vec<u8>> {
                set.rdatas
                    .iter()
                    .filter(|r| r.len() > 3 && r[..3] == usage)
                    .map(|r| r[3..].to_vec())
                    .collect()
            };
            for csr in with(CSR) {
                out.push(CsrSite {
                    zone: zone.origin.clone(),
                    owner: node.name(),
                    csr,
                    certs: with(CERT),
                    chain: with(CHAIN),
                });
            }
        }
    }
    out
}

/// Does the owner name start with `_letsencrypt._tcp.`? (On the wire
/// form: no allocation per node of a large zone.)
fn is_site(wire: &[u8]) -> bool {
    const L: &[u8] = b"\x0c_letsencrypt\x04_tcp";
    wire.len() > L.len() && wire[..L.len()].eq_ignore_ascii_case(L)
}

/// Does a zone of ours hold `name` (text, absolute or not)?
pub fn inside(zs: &ZoneSet, name: &str) -> bool {
    Name::parse(name, &Name::root()).is_ok_and(|n| zs.zone_for(&n).is_some())
}

/// TXT RDATA of one string (RFC 1035 3.3.14); values are short base64url.
fn txt_rdata(value: &str) -> Vec<u8> {
    let v = &value.as_bytes()[..value.len().min(255)];
    let mut r = Vec::with_capacity(v.len() + 1);
    r.push(v.len() as u8);
    r.extend_from_slice(v);
    r
}

/// Add (or remove) a challenge TXT record in memory, with the zone's
/// serial raised so that secondaries transfer it. Returns the zone changed.
pub fn set_txt(zs: &mut ZoneSet, name: &str, value: &str, add: bool) -> Result<Name, String> {
    let owner = Name::parse(name, &Name::root()).map_err(|_| format!("bad name {name}"))?;
    let zone = zs
        .zone_for(&owner)
        .ok_or_else(|| format!("{name} is outside our zones"))?;
    let mut z = zone.clone();
    let rdata = txt_rdata(value);
    if add {
        z.add_rr(&owner, TXT, TXT_TTL, &rdata, false);
    } else {
        z.delete_rr(&owner, TXT, &rdata);
    }
    let serial = z.serial().ok_or("zone without SOA")?;
    z.set_serial(serial.wrapping_add(1))
        .ok_or("zone without SOA")?;
    let origin = z.origin.clone();
    zs.replace(z);
    Ok(origin)
}

/// Is the challenge TXT `value` at `name` served from our zones now? (A
/// zone reloaded from git during an order comes without it.)
pub fn has_txt(zs: &ZoneSet, name: &str, value: &str) -> bool {
    let Ok(owner) = Name::parse(name, &Name::root()) else {
        return false;
    };
    let rdata = txt_rdata(value);
    zs.zone_for(&owner)
        .and_then(|z| z.node(&owner))
        .and_then(|n| n.get(TXT))
        .is_some_and(|set| set.rdatas.contains(&rdata))
}

/// An RR of an UPDATE's update section (RFC 2136 2.5).
fn update_rr(m: &mut Vec<u8>, owner: &Name, class: u16, ttl: u32, rdata: &[u8]) {
    m.extend_from_slice(owner.wire());
    m.extend_from_slice(&TLSA.to_be_bytes());
    m.extend_from_slice(&class.to_be_bytes());
    m.extend_from_slice(&ttl.to_be_bytes());
    m.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
    m.extend_from_slice(rdata);
}

fn tlsa(usage: [u8; 3], der: &[u8]) -> Vec<u8> {
    let mut r = usage.to_vec();
    r.extend_from_slice(der);
    r
}

/// The UPDATE that replaces the certificate and chain at `site` with
/// `chain_der` (leaf first), leaving the CSR: delete each old `3 0 0` and
/// `0 0 0` RR (class NONE, RFC 2136 2.5.4), add the new ones (2.5.1).
/// None when it would not fit one message.
pub fn certificate_update(site: &CsrSite, chain_der: &[Vec<u8>], id: u16) -> Option<Vec<u8>> {
    const NONE: u16 = 254;
    const IN: u16 = 1;
    let (leaf, rest) = chain_der.split_first()?;
    let mut m = Vec::with_capacity(8192);
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(&(5u16 << 11).to_be_bytes()); // opcode UPDATE
    let old = site.certs.iter().map(|c| tlsa(CERT, c));
    let old: Vec<Vec<u8>> = old
        .chain(site.chain.iter().map(|c| tlsa(CHAIN, c)))
        .collect();
    let new: Vec<Vec<u8>> = core::iter::once(tlsa(CERT, leaf))
        .chain(rest.iter().map(|c| tlsa(CHAIN, c)))
        .collect();
    for count in [1, 0, (old.len() + new.len()) as u16, 0] {
        m.extend_from_slice(&count.to_be_bytes());
    }
    m.extend_from_slice(site.zone.wire());
    m.extend_from_slice(&SOA.to_be_bytes());
    m.extend_from_slice(&IN.to_be_bytes());
    for r in &old {
        update_rr(&mut m, &site.owner, NONE, 0, r);
    }
    for r in &new {
        update_rr(&mut m, &site.owner, IN, TLSA_TTL, r);
    }
    (m.len() <= 65_535).then_some(m)
}

/// Who to ask whether the challenge TXT records `txt` (name, value) are
/// served: every secondary of their zones (`notifier`'s targets, without
/// our own addresses `own`), and the records as the probe wants them.
pub fn txt_probe_targets(
    zones: &ZoneSet,
    notifier: &Notifier,
    own: &[[u8; 4]],
    txt: &[(String, String)],
) -> (Vec<Target>, Vec<(Name, Vec<u8>)>) {
    let mut targets = Vec::new();
    let mut records = Vec::new();
    for (name, value) in txt {
        let Ok(owner) = Name::parse(name, &Name::root()) else {
            continue;
        };
        if let Some(zone) = zones.zone_for(&owner) {
            for (t, _key) in notifier.secondaries(zone, zones, own) {
                if !targets.contains(&t) {
                    targets.push(t);
                }
            }
        }
        records.push((owner, value.as_bytes().to_vec()));
    }
    (targets, records)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    const ZONE: &str = "$TTL 60\n@ SOA ns hm 7 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n_letsencrypt._tcp.www TLSA 3 255 0 3082\n_letsencrypt._tcp.www TLSA 3 0 0 3083\n";

    fn zs() -> ZoneSet {
        let files = [(String::from("example.org"), ZONE.as_bytes().to_vec())];
        ZoneSet::load(&files, None).0
    }

    #[test]
    fn finds_the_csr_and_the_certificate_beside_it() {
        let sites = scan(&zs());
        assert_eq!(sites.len(), 1);
        assert_eq!(
            sites[0].owner.to_text(),
            "_letsencrypt._tcp.www.example.org."
        );
        assert_eq!(
            (sites[0].csr.as_slice(), sites[0].certs.len()),
            (&[0x30, 0x82][..], 1)
        );
        assert!(inside(&zs(), "www.example.org"));
        assert!(!inside(&zs(), "www.example.com"));
    }

    #[test]
    fn the_txt_is_asked_of_every_secondary_but_us() {
        let text = "$TTL 60\n@ SOA ns hm 7 2 3 4 5\n@ NS ns\n@ NS ns2\n@ NS ns3\nns A 192.0.2.1\nns2 A 192.0.2.2\nns3 A 192.0.2.2\n";
        let files = [(String::from("example.org"), text.as_bytes().to_vec())];
        let z = ZoneSet::load(&files, None).0;
        let txt = [
            (
                String::from("_acme-challenge.www.example.org."),
                String::from("v1"),
            ),
            (
                String::from("_acme-challenge.example.org."),
                String::from("v2"),
            ),
            (
                String::from("_acme-challenge.example.com."),
                String::from("v3"),
            ),
            (String::from("bad..name"), String::from("v4")),
        ];
        let (targets, records) =
            txt_probe_targets(&z, &Notifier::default(), &[[192, 0, 2, 1]], &txt);
        // One target however many names and NS point at it; not ourselves.
        let want = Target {
            addr: [192, 0, 2, 2],
            port: 53,
        };
        assert_eq!(targets, vec![want]);
        // Records outside our zones are still probed for (nobody to ask);
        // an unparsable name is left out.
        let names: Vec<String> = records.iter().map(|(n, _)| n.to_text()).collect();
        assert_eq!(
            names,
            [
                "_acme-challenge.www.example.org.",
                "_acme-challenge.example.org.",
                "_acme-challenge.example.com."
            ]
        );
        assert_eq!(records[0].1, b"v1");
    }

    #[test]
    fn txt_records_come_and_go_with_the_serial_rising() {
        let mut z = zs();
        let name = "_acme-challenge.www.example.org.";
        set_txt(&mut z, name, "abc", true).unwrap();
        let n = Name::parse(name, &Name::root()).unwrap();
        let origin = Name::parse("example.org.", &Name::root()).unwrap();
        assert!(z.zone(&origin).unwrap().node(&n).is_some());
        assert_eq!(z.zone(&origin).unwrap().serial(), Some(8));
        assert!(has_txt(&z, name, "abc"));
        assert!(!has_txt(&z, name, "abd"));
        assert!(!has_txt(&z, "_acme-challenge.mail.example.org.", "abc"));
        set_txt(&mut z, name, "abc", false).unwrap();
        assert!(!has_txt(&z, name, "abc"));
        assert_eq!(z.zone(&origin).unwrap().serial(), Some(9));
        assert!(set_txt(&mut z, "x.example.com.", "abc", true).is_err());
    }

    #[test]
    fn the_update_replaces_certificates_and_keeps_the_csr() {
        let mut z = zs();
        let site = &scan(&z)[0];
        let msg = certificate_update(site, &[vec![0x30, 0x84], vec![0x30, 0x85]], 1).unwrap();
        let m = gitns_dns::update::parse(&msg).unwrap();
        let origin = Name::parse("example.org.", &Name::root()).unwrap();
        let new = gitns_dns::update::apply(z.zone(&origin).unwrap(), &m).unwrap();
        z.replace(new);
        let site = &scan(&z)[0];
        assert_eq!(site.certs, [vec![0x30, 0x84]]);
        assert_eq!(site.chain, [vec![0x30, 0x85]]);
        assert_eq!(site.csr, [0x30, 0x82]);
    }
}
