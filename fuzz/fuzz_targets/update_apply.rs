//! UPDATE processing on arbitrary messages: never panics, and an applied
//! update leaves a zone whose serial rose and that still has its SOA and
//! an apex NS.
#![no_main]

use gitns_dns::update;
use gitns_dns::zoneset::ZoneSet;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn zs() -> &'static ZoneSet {
    static Z: OnceLock<ZoneSet> = OnceLock::new();
    Z.get_or_init(|| {
        let zone = "$TTL 60\n@ SOA ns hm 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\nwww A 192.0.2.2\nc CNAME www\n";
        ZoneSet::load(&[("example.org".to_string(), zone.as_bytes().to_vec())], None).0
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(m) = update::parse(data) else { return };
    let Some(zone) = zs().zone(&m.zone) else { return };
    if update::check_prereqs(zone, &m).is_err() || update::prescan(zone, &m).is_err() {
        return;
    }
    if let Some(new) = update::apply(zone, &m) {
        assert!(gitns_dns::serial::gt(new.serial().unwrap(), zone.serial().unwrap()));
        assert!(new.node(&new.origin).and_then(|n| n.get(gitns_dns::rtype::NS)).is_some());
    }
});
