//! The zone parser on arbitrary text: never panics; a zone that passes the
//! checks (warnings or not) prints canonically, and the printed form
//! parses to the same zone; building straight from the text gives what the
//! record list gives; no stored RDATA is longer than a message can carry.
//! `cargo xtask fuzz` runs it with `-max_len=70000`, so records of 64 KiB
//! and more are reached (fuzz/corpus/zone_parse/big_txt.zone starts there).
#![no_main]

use gitns_dns::name::Name;
use gitns_dns::rdata;
use gitns_dns::zone::{check, parser, printer, Zone};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let origin = Name::parse("example.org.", &Name::root()).unwrap();
    let direct = check::parse_and_build("fuzz", text, &origin, &|_| None);
    let Ok(parsed) = parser::parse_str("fuzz", text, &origin) else {
        assert!(direct.is_err(), "both ways fail to parse");
        return;
    };
    let built = check::build(&origin, &parsed);
    assert_eq!(
        direct.as_ref().ok(),
        Some(&built),
        "straight from the text: the same result"
    );
    let Ok((zone, warnings)) = built else { return };
    assert!(warnings.len() <= gitns_dns::zone::finding::MAX_WARNINGS + 1);
    for node in zone.nodes() {
        let max = rdata::max_rdata(node.name().wire().len());
        for set in node.rrsets() {
            assert!(set.rdatas.iter().all(|rd| rd.len() <= max));
        }
    }
    let printed = printer::print(&zone);
    let again = parser::parse_str("printed", &printed, &origin).expect("printed zone parses");
    assert_eq!(Zone::from_records(origin.clone(), &again.records), zone, "{printed}");
});
