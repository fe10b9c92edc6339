//! The zone parser on arbitrary text: never panics; a zone that passes the
//! checks prints canonically, and the printed form parses to the same zone;
//! building straight from the text gives what the record list gives.
#![no_main]

use gitns_dns::name::Name;
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
    let Ok((zone, _)) = built else { return };
    let printed = printer::print(&zone);
    let again = parser::parse_str("printed", &printed, &origin).expect("printed zone parses");
    assert_eq!(Zone::from_records(origin.clone(), &again.records), zone, "{printed}");
});
