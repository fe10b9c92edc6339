//! Zone checks (like ozone, kzonecheck and nsd-checkzone): errors reject
//! the zone, warnings are reported and the zone loads. Which is which,
//! decided against what Knot's and NSD's loaders do, is the table in
//! docs/design.md (2026-12-07, "Zone files as operators write them").

use super::finding::{Notes, Src};
use super::parser::{parse_each, ParseError, Parsed, RecordRef};
use super::store::{Node, Zone, ZoneBuilder};
use crate::name::Name;
use crate::rdata;
use crate::rtype::*;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

pub use super::finding::Finding;

/// Largest TTL (RFC 2181 8).
const MAX_TTL: u32 = 0x7fff_ffff;

/// A zone that loads and its warnings, or the first error.
pub type Checked = Result<(Zone, Vec<Finding>), Finding>;

/// Build the zone and check it. Ok((zone, warnings)) or the first error.
pub fn build(origin: &Name, p: &Parsed) -> Checked {
    let mut l = Loader::new(origin);
    for r in &p.records {
        l.take(r.borrow());
    }
    l.finish(&p.files)
}

/// As [`build`], consuming the parse.
pub fn build_owned(origin: &Name, p: Parsed) -> Checked {
    build(origin, &p)
}

/// Parse a zone's master file straight into the zone and check it: no
/// record list is held, so a large zone peaks at its text and the zone.
/// The outer error is the parse's (it comes first, as with [`parse`] then
/// [`build`]), the inner one the checks'.
///
/// [`parse`]: super::parser::parse
pub fn parse_and_build(
    file: &str,
    text: &str,
    origin: &Name,
    include: &dyn Fn(&str) -> Option<alloc::string::String>,
) -> Result<Checked, ParseError> {
    let mut l = Loader::new(origin);
    let files = parse_each(file, text, origin, include, &mut |r| l.take(r))?;
    Ok(l.finish(&files))
}

/// What the checks of one record decide.
enum Verdict {
    Keep,
    /// Kept with this TTL, and a warning.
    Clamp(u32, String),
    /// Left out, with a warning.
    Drop(String),
    Reject(String),
}

/// Records in, the checked zone out: the record checks as they come, the
/// node checks at the end.
struct Loader {
    origin: Name,
    b: ZoneBuilder,
    bad: Option<(Src, String)>,
    notes: Notes,
}

impl Loader {
    fn new(origin: &Name) -> Loader {
        Loader {
            origin: origin.clone(),
            b: ZoneBuilder::new(origin.clone()),
            bad: None,
            notes: Notes::default(),
        }
    }

    fn take(&mut self, r: RecordRef<'_>) {
        if self.bad.is_some() {
            return;
        }
        let src = Src::new(r.file, r.line, r.col);
        let ttl = match record_check(&self.origin, &r) {
            Verdict::Keep => r.ttl,
            Verdict::Clamp(ttl, what) => {
                self.notes.push(src, || what);
                ttl
            }
            Verdict::Drop(what) => return self.notes.push(src, || what),
            Verdict::Reject(what) => return self.bad = Some((src, what)),
        };
        if !self.b.add(r.name, r.rtype, ttl, r.rdata, src) {
            // The parser refuses such RDATA first; a caller that did not
            // gets the error here, never a truncated length.
            let n = r.rdata.len();
            self.bad = Some((
                src,
                format!("{n} octets of RDATA: more than 65535 (RFC 1035 3.2.1)"),
            ));
        }
    }

    fn finish(self, files: &[String]) -> Checked {
        if let Some((src, what)) = self.bad {
            return Err(Finding::at(files, src, what));
        }
        let (zone, built) = self.b.finish_noted();
        let mut notes = self.notes;
        notes.extend(built);
        node_checks(&self.origin, files, &zone, &mut notes)?;
        Ok((zone, notes.into_findings(files)))
    }
}

/// The checks of one record.
fn record_check(origin: &Name, r: &RecordRef<'_>) -> Verdict {
    if !r.name.is_at_or_below(origin) {
        // Knot: "ignoring out-of-zone data"; seed 000's own zone file has
        // the address of its outside name server in it.
        return Verdict::Drop(format!(
            "{} is outside the zone {}: left out, never served nor transferred",
            r.name, origin
        ));
    }
    if matches!(r.rtype, OPT | TSIG | AXFR | IXFR | ANY) {
        return Verdict::Reject(format!(
            "{} is not a record type for zone data",
            to_text(r.rtype)
        ));
    }
    if r.rtype == SOA && *r.name != *origin {
        return Verdict::Reject(format!("SOA at {} is not at the apex {}", r.name, origin));
    }
    if r.ttl > MAX_TTL {
        // RFC 8767 4: a TTL with the top bit set is capped at 2^31-1.
        return Verdict::Clamp(
            MAX_TTL,
            format!(
                "TTL {} is above 2^31-1 (RFC 2181 8): served as {MAX_TTL} (RFC 8767 4)",
                r.ttl
            ),
        );
    }
    Verdict::Keep
}

/// What a walk in canonical order knows of the names above the node: the
/// highest delegation and DNAME whose subtree it is in (every name below
/// a name comes right after it).
#[derive(Default)]
struct Above<'z> {
    cut: Option<Node<'z>>,
    dname: Option<Node<'z>>,
}

impl<'z> Above<'z> {
    /// Leave the subtrees `key` is not in.
    fn enter(&mut self, key: &[u8]) {
        let below = |n: &Option<Node<'_>>| {
            n.is_some_and(|c| key.starts_with(c.key()) && key.len() > c.key().len())
        };
        if !below(&self.cut) {
            self.cut = None;
        }
        if !below(&self.dname) {
            self.dname = None;
        }
    }
}

/// The types at one node, from one walk over its RRsets.
#[derive(Default)]
struct Kinds {
    first: u16,
    cnames: usize,
    dnames: usize,
    ns: bool,
    targets: bool,
    beside_cname: bool,
    not_glue: bool,
    not_at_cut: bool,
}

impl Kinds {
    fn of(node: Node<'_>) -> Kinds {
        let mut k = Kinds::default();
        for (i, s) in node.rrsets().enumerate() {
            let t = s.rtype;
            if i == 0 {
                k.first = t;
            }
            match t {
                CNAME => k.cnames = s.rdatas.len(),
                DNAME => k.dnames = s.rdatas.len(),
                NS => k.ns = true,
                _ => {}
            }
            k.targets |= matches!(t, NS | MX);
            k.beside_cname |= !matches!(t, CNAME | RRSIG | NSEC);
            k.not_glue |= !matches!(t, A | AAAA);
            k.not_at_cut |= !matches!(t, NS | DS | A | AAAA | RRSIG | NSEC);
        }
        k
    }
}

/// Checks of the assembled zone: errors out, warnings into `notes`.
fn node_checks(
    origin: &Name,
    files: &[String],
    zone: &Zone,
    notes: &mut Notes,
) -> Result<(), Finding> {
    let whole = |what: String| Finding {
        file: files.first().cloned().unwrap_or_default(),
        line: 0,
        col: 0,
        what,
    };
    let at = |node: Node<'_>, t: u16| node.get(t).map(|s| s.src).unwrap_or_default();
    match zone.soa().map(|s| s.rdatas.len()) {
        None => return Err(whole(format!("no SOA record at the apex {origin}"))),
        Some(n) if n > 1 => {
            return Err(whole(format!(
                "more than one SOA record at the apex {origin}"
            )))
        }
        _ => {}
    }
    if zone.node(origin).and_then(|n| n.get(NS)).is_none() {
        // Knot warns, NSD says nothing; either serves the zone.
        notes.push(Src::default(), || {
            format!("no NS records at the apex {origin} (RFC 1035 5.2)")
        });
    }
    let mut above = Above::default();
    for node in zone.nodes() {
        let k = Kinds::of(node);
        let err = |t: u16, what: String| Err(Finding::at(files, at(node, t), what));
        if k.cnames > 0 && k.beside_cname {
            return err(
                CNAME,
                format!(
                    "{} has a CNAME and other data (RFC 1034 3.6.2)",
                    node.name()
                ),
            );
        }
        if k.cnames > 1 {
            return err(CNAME, format!("{} has more than one CNAME", node.name()));
        }
        if k.dnames > 1 {
            return err(
                DNAME,
                format!("{} has more than one DNAME (RFC 6672 2.4)", node.name()),
            );
        }
        let key = node.key();
        above.enter(key);
        if let Some(d) = above.dname {
            // RFC 6672 2.3: no data below a DNAME; Knot and NSD refuse it.
            return err(
                k.first,
                format!(
                    "{} lies below the DNAME at {} (RFC 6672 2.3)",
                    node.name(),
                    d.name()
                ),
            );
        }
        if k.dnames > 0 {
            above.dname = Some(node);
        }
        if !key.is_empty() {
            delegation_checks(node, &k, &mut above, notes);
        }
        if k.targets {
            target_checks(origin, zone, node, notes);
        }
    }
    Ok(())
}

/// Data a delegation hides: not served (a referral is), but kept and
/// transferred, as Knot and NSD do.
fn delegation_checks<'z>(node: Node<'z>, k: &Kinds, above: &mut Above<'z>, notes: &mut Notes) {
    let src = |t: u16| node.get(t).map(|s| s.src).unwrap_or_default();
    if let Some(c) = above.cut {
        if k.not_glue {
            notes.push(src(k.first), || {
                format!(
                    "{} lies below the delegation {} and is not glue: not served",
                    node.name(),
                    c.name()
                )
            });
        } else if !names_target(c, &node.name()) {
            notes.push(src(k.first), || {
                format!(
                    "{} lies below the delegation {} and no NS there names it: not served",
                    node.name(),
                    c.name()
                )
            });
        }
    }
    if k.ns && above.cut.is_none() {
        if k.not_at_cut {
            notes.push(src(NS), || {
                format!(
                    "the delegation {} has data other than NS, DS and glue: only the referral is served",
                    node.name()
                )
            });
        }
        above.cut = Some(node);
    }
}

/// True when an NS record of `cut` names `name`.
fn names_target(cut: Node<'_>, name: &Name) -> bool {
    cut.get(NS).is_some_and(|s| {
        s.rdatas
            .iter()
            .any(|rd| rdata::target(NS, rd).is_some_and(|t| t == *name))
    })
}

/// NS and MX targets inside the zone should have an address there.
fn target_checks(origin: &Name, zone: &Zone, node: Node<'_>, notes: &mut Notes) {
    for set in node.rrsets().filter(|s| matches!(s.rtype, NS | MX)) {
        for rd in set.rdatas {
            let Some(target) = rdata::target(set.rtype, rd) else {
                continue;
            };
            if !target.is_at_or_below(origin) {
                continue;
            }
            let has_addr = zone
                .node(&target)
                .is_some_and(|n| n.get(A).is_some() || n.get(AAAA).is_some());
            if !has_addr {
                notes.push(set.src, || {
                    format!(
                        "{} target {} has no address in the zone",
                        to_text(set.rtype),
                        target
                    )
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zone::parser::parse_str;
    use alloc::string::ToString;
    use alloc::vec;

    fn o() -> Name {
        Name::parse("example.org.", &Name::root()).unwrap()
    }

    /// Both ways to a zone (a record list, then the zone; or straight
    /// from the text) give the same result.
    fn check(text: &str) -> Checked {
        let listed = build(&o(), &parse_str("z", text, &o()).unwrap());
        let direct = parse_and_build("z", text, &o(), &|_| None).unwrap();
        assert_eq!(listed, direct);
        listed
    }

    /// The error line of a zone that is rejected.
    fn rejected(text: &str) -> String {
        check(text).unwrap_err().to_string()
    }

    /// The warning lines of a zone that loads, and the zone.
    fn loads(text: &str) -> (Zone, Vec<String>) {
        let (z, w) = check(text).unwrap();
        (z, w.iter().map(|f| f.to_string()).collect())
    }

    fn has(z: &Zone, name: &str, t: u16) -> bool {
        z.node(&Name::parse(name, &o()).unwrap())
            .is_some_and(|n| n.get(t).is_some())
    }

    #[test]
    fn parse_errors_come_before_check_errors() {
        let text =
            "$TTL 60\n@ SOA ns hm 1 2 3 4 5\n@ NS ns\nwww CNAME x.\nwww A 1.2.3.4\nbad A 1\n";
        let e = parse_and_build("z", text, &o(), &|_| None).unwrap_err();
        assert_eq!(e.line, 6);
        let e = parse_and_build("z", &text[..text.len() - 8], &o(), &|_| None)
            .unwrap()
            .unwrap_err();
        assert_eq!(e.line, 4);
    }

    const HEAD: &str = "$TTL 60\n@ SOA ns hm 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n";

    #[test]
    fn a_good_zone_passes() {
        let (z, w) = loads(&format!(
            "{HEAD}www A 192.0.2.2\nsub NS ns.sub\nns.sub A 192.0.2.3\n"
        ));
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(z.record_count(), 6);
    }

    /// Seed 000's own zone file, byte for byte (tabs included).
    const SEED_000: &str = "$ORIGIN\tx25519.net.\n$TTL\t3600\n@\t\tIN\tSOA\tns1\thostmaster\t1\t86400\t7200\t1048576\t3600\n@\t\tIN\tNS\tns1\n@\t\tIN\tNS\tns6.gandi.net.\n@\t\tIN\tA\t76.8.60.93\nns1\t\tIN\tA\t76.8.60.93\nns6.gandi.net.\tIN\tA\t217.70.177.40\n";

    #[test]
    fn seed_000_loads_without_its_out_of_zone_address() {
        let x = Name::parse("x25519.net.", &Name::root()).unwrap();
        let (z, w) = parse_and_build("x25519.net", SEED_000, &x, &|_| None)
            .unwrap()
            .unwrap();
        assert_eq!(
            w.iter().map(|f| f.to_string()).collect::<Vec<_>>(),
            ["x25519.net:8:1: ns6.gandi.net. is outside the zone x25519.net.: left out, never served nor transferred"]
        );
        assert_eq!(z.record_count(), 5, "SOA, 2 NS, 2 A");
        assert!(z
            .node(&Name::parse("ns6.gandi.net.", &x).unwrap())
            .is_none());
    }

    #[test]
    fn rejected_as_knot_and_nsd_reject() {
        assert_eq!(
            rejected("$TTL 60\n@ NS ns\n"),
            "z: no SOA record at the apex example.org."
        );
        assert_eq!(
            rejected(&format!("{HEAD}@ SOA ns hm 2 2 3 4 5\n")),
            "z: more than one SOA record at the apex example.org."
        );
        assert_eq!(
            rejected(&format!("{HEAD}www CNAME x.\nwww A 192.0.2.9\n")),
            "z:5:1: www.example.org. has a CNAME and other data (RFC 1034 3.6.2)"
        );
        assert_eq!(
            rejected(&format!("{HEAD}www CNAME x.\n  CNAME y.\n")),
            "z:5:1: www.example.org. has more than one CNAME"
        );
        assert_eq!(
            rejected(&format!("{HEAD}d DNAME x.\n  DNAME y.\n")),
            "z:5:1: d.example.org. has more than one DNAME (RFC 6672 2.4)"
        );
        assert_eq!(
            rejected(&format!("{HEAD}d DNAME x.\nd CNAME y.\n")),
            "z:6:1: d.example.org. has a CNAME and other data (RFC 1034 3.6.2)"
        );
        assert_eq!(
            rejected(&format!("{HEAD}d DNAME other.net.\nx.d A 192.0.2.7\n")),
            "z:6:1: x.d.example.org. lies below the DNAME at d.example.org. (RFC 6672 2.3)"
        );
        assert_eq!(
            rejected(&format!(
                "{HEAD}d DNAME other.net.\nx.y.d NS ns.other.net.\n"
            )),
            "z:6:1: x.y.d.example.org. lies below the DNAME at d.example.org. (RFC 6672 2.3)"
        );
        assert_eq!(
            rejected(&format!("{HEAD}www SOA ns hm 1 2 3 4 5\n")),
            "z:5:1: SOA at www.example.org. is not at the apex example.org."
        );
        assert_eq!(
            rejected(&format!("{HEAD}www TSIG \\# 0\n")),
            "z:5:1: TSIG is not a record type for zone data"
        );
    }

    #[test]
    fn a_dname_at_the_apex_hides_the_whole_zone() {
        let e = rejected(&format!("{HEAD}@ DNAME other.net.\n"));
        assert_eq!(
            e,
            "z:4:1: ns.example.org. lies below the DNAME at example.org. (RFC 6672 2.3)"
        );
        // A DNAME beside other names that are not below it is fine.
        let (z, w) = loads(&format!(
            "{HEAD}d DNAME other.net.\ne A 192.0.2.1\ndd A 192.0.2.2\n"
        ));
        assert!(w.is_empty(), "{w:?}");
        assert!(has(&z, "d", DNAME) && has(&z, "dd", A));
    }

    #[test]
    fn out_of_zone_data_is_left_out_with_a_warning() {
        let (z, w) = loads(&format!(
            "{HEAD}other.net. A 192.0.2.9\n@ NS ns.other.net.\nns.other.net. A 192.0.2.3\n  AAAA ::1\norg. TXT x\n"
        ));
        let out = |l: u32, c: u32, n: &str| {
            format!("z:{l}:{c}: {n} is outside the zone example.org.: left out, never served nor transferred")
        };
        assert_eq!(
            w,
            [
                out(5, 1, "other.net."),
                out(7, 1, "ns.other.net."),
                out(8, 3, "ns.other.net."),
                out(9, 1, "org.")
            ]
        );
        assert_eq!(z.node_count(), 2);
        assert_eq!(z.record_count(), 4, "SOA, 2 NS, A");
        assert!(z.node(&Name::parse("other.net.", &o()).unwrap()).is_none());
    }

    #[test]
    fn occluded_data_loads_with_a_warning_and_stays_in_the_zone() {
        let (z, w) = loads(&format!(
            "{HEAD}sub NS ns.x.\nwww.sub TXT \"hidden\"\nsub TXT \"at the cut\"\na.sub NS ns.x.\n"
        ));
        assert_eq!(
            w,
            [
                "z:5:1: the delegation sub.example.org. has data other than NS, DS and glue: only the referral is served",
                "z:8:1: a.sub.example.org. lies below the delegation sub.example.org. and is not glue: not served",
                "z:6:1: www.sub.example.org. lies below the delegation sub.example.org. and is not glue: not served",
            ]
        );
        // Kept (and transferred) as Knot and NSD keep them.
        assert!(has(&z, "www.sub", TXT) && has(&z, "sub", TXT) && has(&z, "a.sub", NS));
    }

    #[test]
    fn glue_is_checked_against_the_delegation() {
        // Glue named by the NS records: fine. Below the cut but named by
        // none (the NS is outside the zone): a warning.
        let (_, w) = loads(&format!(
            "{HEAD}sub NS ns.sub\nns.sub A 192.0.2.5\n  AAAA 2001:db8::5\nfar NS ns.other.net.\nns.far A 192.0.2.8\n"
        ));
        assert_eq!(
            w,
            ["z:9:1: ns.far.example.org. lies below the delegation far.example.org. and no NS there names it: not served"]
        );
    }

    #[test]
    fn duplicates_and_ttl_differences_load_with_warnings() {
        let (z, w) = loads(&format!(
            "{HEAD}www A 192.0.2.9\nwww A 192.0.2.9\nt 60 A 192.0.2.9\nt 120 A 192.0.2.10\nt 120 A 192.0.2.11\n"
        ));
        assert_eq!(
            w,
            [
                "z:6:1: www.example.org. A: duplicate record, one copy kept",
                "z:8:1: t.example.org. A: TTL 120 differs from 60 of the RRset's first record; all are served with 60 (RFC 2181 5.2)",
            ]
        );
        let t = z
            .node(&Name::parse("t", &o()).unwrap())
            .unwrap()
            .get(A)
            .unwrap();
        assert_eq!((t.ttl, t.rdatas.len()), (60, 3));
        // Records of one name apart in the file are found too.
        let (z, w) = loads(&format!(
            "{HEAD}www 30 A 192.0.2.9\nx A 192.0.2.1\nwww A 192.0.2.9\n"
        ));
        assert_eq!(
            w,
            [
                "z:7:1: www.example.org. A: TTL 60 differs from 30 of the RRset's first record; all are served with 30 (RFC 2181 5.2)",
                "z:7:1: www.example.org. A: duplicate record, one copy kept",
            ]
        );
        assert_eq!(z.record_count(), 5);
    }

    #[test]
    fn a_ttl_above_2_31_is_capped_with_a_warning() {
        let (z, w) = loads(&format!(
            "{HEAD}www 2147483647 A 192.0.2.1\nx 2147483648 A 192.0.2.1\n"
        ));
        assert_eq!(
            w,
            ["z:6:1: TTL 2147483648 is above 2^31-1 (RFC 2181 8): served as 2147483647 (RFC 8767 4)"]
        );
        let ttl = |n: &str| {
            z.node(&Name::parse(n, &o()).unwrap())
                .unwrap()
                .get(A)
                .unwrap()
                .ttl
        };
        assert_eq!((ttl("www"), ttl("x")), (MAX_TTL, MAX_TTL));
    }

    #[test]
    fn missing_ns_and_addresses_are_warnings() {
        let (_, w) = loads("$TTL 60\n@ SOA ns hm 1 2 3 4 5\n");
        assert_eq!(
            w,
            ["z: no NS records at the apex example.org. (RFC 1035 5.2)"]
        );
        let (_, w) = loads(&format!("{HEAD}@ MX 10 mail\n@ NS ns2\n"));
        assert_eq!(
            w,
            [
                // At the RRset's first record.
                "z:3:1: NS target ns2.example.org. has no address in the zone",
                "z:5:1: MX target mail.example.org. has no address in the zone",
            ]
        );
    }

    #[test]
    fn warnings_are_bounded() {
        let mut text = String::from(HEAD);
        for i in 0..1000 {
            text.push_str(&format!("h{i}.other.net. A 192.0.2.1\n"));
        }
        let (z, w) = loads(&text);
        assert_eq!(z.record_count(), 3);
        assert_eq!(w.len(), crate::zone::finding::MAX_WARNINGS + 1);
        assert_eq!(w.last().unwrap(), "z: 900 more warnings not shown");
    }

    #[test]
    fn a_record_list_with_oversized_rdata_is_an_error_not_a_panic() {
        let mut p = parse_str("z", HEAD, &o()).unwrap();
        let mut big = p.records[2].clone();
        big.rtype = TXT;
        big.rdata = vec![0; 65536];
        p.records.push(big);
        assert_eq!(
            build(&o(), &p).unwrap_err().to_string(),
            "z:4:1: 65536 octets of RDATA: more than 65535 (RFC 1035 3.2.1)"
        );
    }

    #[test]
    fn record_lists_keep_columns() {
        let p = parse_str("z", &format!("{HEAD}www A 192.0.2.1\n\tTXT x\n"), &o()).unwrap();
        let cols: Vec<(u32, u32)> = p.records.iter().map(|r| (r.line, r.col)).collect();
        assert_eq!(cols, vec![(2, 1), (3, 1), (4, 1), (5, 1), (6, 2)]);
        assert_eq!(build_owned(&o(), p).unwrap().1, vec![]);
    }
}
