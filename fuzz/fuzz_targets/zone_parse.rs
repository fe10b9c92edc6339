//! The zone parser on arbitrary text: never panics; a zone that passes the
//! checks prints canonically, and the printed form parses to the same zone.
#![no_main]

use gitns_dns::name::Name;
use gitns_dns::zone::{check, parser, printer, Zone};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let origin = Name::parse("example.org.", &Name::root()).unwrap();
    let Ok(parsed) = parser::parse_str("fuzz", text, &origin) else { return };
    let Ok((zone, _)) = check::build(&origin, &parsed) else { return };
    let printed = printer::print(&zone);
    let again = parser::parse_str("printed", &printed, &origin).expect("printed zone parses");
    assert_eq!(Zone::from_records(origin.clone(), &again.records), zone, "{printed}");
});
