//! Zones with a DNSSEC policy (`ZONE._dnssec`, issue 26): signed as they
//! load, from the git remote or the storage cache (the core signs them
//! whole at the wall-clock time, gitns_dns::dnssec::zone_sign, with the
//! keys committed in `ZONE._dnssec_keys`, before the zones are compared
//! with those served); then kept signed by the core's signers
//! (gitns_dns::dnssec::keeper): an UPDATE is signed as it is kept
//! (gitns_dns::prepare), and the zone source `source::refresh::Refresh`
//! re-signs signatures before they expire, on the App's deadline.

use alloc::string::String;
use alloc::vec::Vec;
use gitns_dns::dnssec::zone_sign::sign_zones;
use gitns_dns::zoneset::ZoneSet;
use gitns_net::Platform;

/// Sign the zones of `zones` whose files (`files`) include a policy.
pub fn sign_loaded<P: Platform>(
    platform: &mut P,
    zones: &mut ZoneSet,
    files: &[(String, Vec<u8>)],
) {
    let now = platform.wall_clock_ns() / 1_000_000_000;
    let mut seed = [0u8; 8];
    platform.fill_random(&mut seed);
    for r in sign_zones(zones, files, now, u64::from_le_bytes(seed)) {
        match r {
            Ok(done) => log::info!("dnssec: {done}"),
            Err(e) => log::error!("dnssec: {e}"),
        }
    }
}
