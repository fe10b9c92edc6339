//! Zone checks (like ozone and kzonecheck): errors reject the zone,
//! warnings are reported and the zone loads.

use super::parser::{parse_each, ParseError, Parsed, RecordRef};
use super::store::{Zone, ZoneBuilder};
use crate::name::Name;
use crate::rdata;
use crate::rtype::*;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// A finding, with where the record came from when known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub file: String,
    pub line: u32,
    pub what: String,
}

impl core::fmt::Display for Finding {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.what)
    }
}

/// Largest TTL (RFC 2181 8).
const MAX_TTL: u32 = 0x7fff_ffff;

/// Build the zone and check it. Ok((zone, warnings)) or the first error.
pub fn build(origin: &Name, p: &Parsed) -> Result<(Zone, Vec<Finding>), Finding> {
    pre_check(origin, p)?;
    let zone = Zone::from_records(origin.clone(), &p.records);
    node_checks(origin, &p.files, zone)
}

/// As [`build`], consuming the parse.
pub fn build_owned(origin: &Name, p: Parsed) -> Result<(Zone, Vec<Finding>), Finding> {
    build(origin, &p)
}

/// Parse a zone's master file straight into the zone and check it: no
/// record list is held, so a large zone peaks at its text and the zone.
/// The outer error is the parse's (it comes first, as with [`parse`] then
/// [`build`]), the inner one the checks'.
pub fn parse_and_build(
    file: &str,
    text: &str,
    origin: &Name,
    include: &dyn Fn(&str) -> Option<alloc::string::String>,
) -> Result<Result<(Zone, Vec<Finding>), Finding>, ParseError> {
    let mut b = ZoneBuilder::new(origin.clone());
    let mut first_bad: Option<(u16, u32, String)> = None;
    let files = parse_each(file, text, origin, include, &mut |r| {
        if first_bad.is_none() {
            if let Err(what) = record_check(origin, &r) {
                first_bad = Some((r.file, r.line, what));
            }
        }
        b.add(r.name, r.rtype, r.ttl, r.rdata, (r.file, r.line));
    })?;
    if let Some((f, line, what)) = first_bad {
        return Ok(Err(Finding {
            file: files.get(f as usize).cloned().unwrap_or_default(),
            line,
            what,
        }));
    }
    Ok(node_checks(origin, &files, b.finish()))
}

/// Checks of single records.
fn pre_check(origin: &Name, p: &Parsed) -> Result<(), Finding> {
    for r in &p.records {
        let rr = RecordRef {
            name: &r.name,
            rtype: r.rtype,
            class: r.class,
            ttl: r.ttl,
            rdata: &r.rdata,
            file: r.file,
            line: r.line,
        };
        if let Err(what) = record_check(origin, &rr) {
            return Err(Finding {
                file: p.files.get(r.file as usize).cloned().unwrap_or_default(),
                line: r.line,
                what,
            });
        }
    }
    Ok(())
}

/// The checks of one record.
fn record_check(origin: &Name, r: &RecordRef<'_>) -> Result<(), String> {
    if !r.name.is_at_or_below(origin) {
        return Err(format!("{} is outside the zone {}", r.name, origin));
    }
    if r.ttl > MAX_TTL {
        return Err(format!("TTL {} is above 2^31-1 (RFC 2181 8)", r.ttl));
    }
    if r.rtype == SOA && *r.name != *origin {
        return Err(format!("SOA at {} is not at the apex {}", r.name, origin));
    }
    if matches!(r.rtype, OPT | TSIG | AXFR | IXFR | ANY) {
        return Err(format!(
            "{} is not a record type for zone data",
            to_text(r.rtype)
        ));
    }
    Ok(())
}

/// Checks of the assembled zone.
fn node_checks(
    origin: &Name,
    files: &[String],
    zone: Zone,
) -> Result<(Zone, Vec<Finding>), Finding> {
    let whole = |what: String| Finding {
        file: files.first().cloned().unwrap_or_default(),
        line: 0,
        what,
    };
    let at_set = |node: crate::zone::Node<'_>, t: u16, what: String| {
        let (file, line) = node.get(t).map(|s| s.src).unwrap_or((0, 0));
        Finding {
            file: files.get(file as usize).cloned().unwrap_or_default(),
            line,
            what,
        }
    };
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
        return Err(whole(format!("no NS records at the apex {origin}")));
    }
    let mut warnings = Vec::new();
    // The highest delegation whose subtree the walk is in: canonical order
    // puts every name below a cut right after it.
    let mut cut: Option<crate::zone::Node<'_>> = None;
    for node in zone.nodes() {
        // One walk over the node's types.
        let (mut first, mut cnames, mut ns, mut targets) = (None, None, false, false);
        let (mut beside_cname, mut not_glue, mut not_at_cut) = (false, false, false);
        for s in node.rrsets() {
            let t = s.rtype;
            first = first.or(Some(t));
            match t {
                CNAME => cnames = Some(s.rdatas.len()),
                NS => ns = true,
                _ => {}
            }
            targets |= matches!(t, NS | MX);
            beside_cname |= !matches!(t, CNAME | RRSIG | NSEC);
            not_glue |= !matches!(t, A | AAAA);
            not_at_cut |= !matches!(t, NS | DS | A | AAAA | RRSIG | NSEC);
        }
        let first = first.unwrap_or(0);
        if cnames.is_some() && beside_cname {
            return Err(at_set(
                node,
                CNAME,
                format!(
                    "{} has a CNAME and other data (RFC 1034 3.6.2)",
                    node.name()
                ),
            ));
        }
        if cnames.is_some_and(|n| n > 1) {
            return Err(at_set(
                node,
                CNAME,
                format!("{} has more than one CNAME", node.name()),
            ));
        }
        // Keys are relative to the apex: empty there.
        let key = node.key();
        if !key.is_empty() {
            if cut.is_some_and(|c| !key.starts_with(c.key())) {
                cut = None;
            }
            if let Some(c) = cut {
                if not_glue {
                    return Err(at_set(
                        node,
                        first,
                        format!(
                            "{} lies below the delegation {} and is not glue",
                            node.name(),
                            c.name()
                        ),
                    ));
                }
            }
            if ns {
                if not_at_cut {
                    return Err(at_set(
                        node,
                        NS,
                        format!(
                            "the delegation {} has data other than NS, DS and glue",
                            node.name()
                        ),
                    ));
                }
                cut = cut.or(Some(node));
            }
        }
        for set in node
            .rrsets()
            .filter(|s| targets && matches!(s.rtype, NS | MX))
        {
            for rd in set.rdatas {
                let Some(target) = rdata::target(set.rtype, rd) else {
                    continue;
                };
                if target.is_at_or_below(origin) {
                    let has_addr = zone
                        .node(&target)
                        .is_some_and(|n| n.get(A).is_some() || n.get(AAAA).is_some());
                    if !has_addr {
                        warnings.push(at_set(
                            node,
                            set.rtype,
                            format!(
                                "{} target {} has no address in the zone",
                                to_text(set.rtype),
                                target
                            ),
                        ));
                    }
                }
            }
        }
    }
    Ok((zone, warnings))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zone::parser::parse_str;
    use alloc::string::ToString;

    /// Both ways to a zone (a record list, then the zone; or straight
    /// from the text) give the same result.
    fn check(text: &str) -> Result<(Zone, Vec<Finding>), Finding> {
        let o = Name::parse("example.org.", &Name::root()).unwrap();
        let listed = build(&o, &parse_str("z", text, &o).unwrap());
        let direct = parse_and_build("z", text, &o, &|_| None).unwrap();
        assert_eq!(listed, direct);
        listed
    }

    #[test]
    fn parse_errors_come_before_check_errors() {
        let o = Name::parse("example.org.", &Name::root()).unwrap();
        let text = "$TTL 60\nx.other. A 192.0.2.1\n@ SOA ns hm 1 2 3 4 5\nbad A 1\n";
        let e = parse_and_build("z", text, &o, &|_| None).unwrap_err();
        assert_eq!(e.line, 4);
        let e = parse_and_build("z", &text[..text.len() - 8], &o, &|_| None)
            .unwrap()
            .unwrap_err();
        assert_eq!(
            (e.line, e.what.as_str()),
            (2, "x.other. is outside the zone example.org.")
        );
    }

    const HEAD: &str = "$TTL 60\n@ SOA ns hm 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n";

    #[test]
    fn a_good_zone_passes() {
        let (z, w) = check(&format!(
            "{HEAD}www A 192.0.2.2\nsub NS ns.sub\nns.sub A 192.0.2.3\n"
        ))
        .unwrap();
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(z.record_count(), 6);
    }

    #[test]
    fn errors() {
        assert_eq!(
            check("$TTL 60\n@ NS ns\n").unwrap_err().what,
            "no SOA record at the apex example.org."
        );
        assert_eq!(
            check("$TTL 60\n@ SOA ns hm 1 2 3 4 5\n").unwrap_err().what,
            "no NS records at the apex example.org."
        );
        assert_eq!(
            check(&format!("{HEAD}@ SOA ns hm 2 2 3 4 5\n"))
                .unwrap_err()
                .what,
            "more than one SOA record at the apex example.org."
        );
        let e = check(&format!("{HEAD}www CNAME x.\nwww A 192.0.2.9\n")).unwrap_err();
        assert_eq!(
            (e.line, e.what.as_str()),
            (
                5,
                "www.example.org. has a CNAME and other data (RFC 1034 3.6.2)"
            )
        );
        let e = check(&format!("{HEAD}other.net. A 192.0.2.9\n")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "z:5: other.net. is outside the zone example.org."
        );
        let e = check(&format!("{HEAD}sub NS ns.x.\nwww.sub TXT \"hidden\"\n")).unwrap_err();
        assert_eq!(
            e.what,
            "www.sub.example.org. lies below the delegation sub.example.org. and is not glue"
        );
        let e = check(&format!("{HEAD}www SOA ns hm 1 2 3 4 5\n")).unwrap_err();
        assert_eq!(
            e.what,
            "SOA at www.example.org. is not at the apex example.org."
        );
        let e = check(&format!("{HEAD}www 4294967295 A 192.0.2.1\n")).unwrap_err();
        assert!(e.what.starts_with("TTL 4294967295 is above"));
    }

    #[test]
    fn warnings() {
        let (_, w) = check(&format!("{HEAD}@ MX 10 mail\n")).unwrap();
        assert_eq!(w.len(), 1);
        assert_eq!(
            w[0].what,
            "MX target mail.example.org. has no address in the zone"
        );
    }
}
