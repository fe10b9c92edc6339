//! Zones with a DNSSEC policy (`ZONE._dnssec`, issue 26): signed as they
//! load, from the git remote or the storage cache (the core signs them
//! whole at the wall-clock time, gitns_dns::dnssec::zone_sign, with the
//! keys of `ZONE._dnssec_keys` under the rollover machine: keys it asks
//! for are made from the platform's CSPRNG), before the zones are compared
//! with those served; then kept signed by the core's signers
//! (gitns_dns::dnssec::keeper): an UPDATE is signed as it is kept
//! (gitns_dns::prepare), and the zone source `source::refresh::Refresh`
//! takes key steps and re-signs signatures before they expire, on the
//! App's deadline.

use alloc::string::String;
use alloc::vec::Vec;
use gitns_dns::dnssec::signers::Signers;
use gitns_dns::dnssec::zone_sign::{sign_zones, Env};
use gitns_dns::zoneset::ZoneSet;
use gitns_net::Platform;

/// Sign the zones of `zones` whose files (`files`) include a policy
/// (`prev`: the signers before this load). The key files whose text
/// changed (name, text), to commit.
pub fn sign_loaded<P: Platform>(
    platform: &mut P,
    zones: &mut ZoneSet,
    files: &[(String, Vec<u8>)],
    prev: Option<&Signers>,
) -> Vec<(String, String)> {
    let now = platform.wall_clock_ns() / 1_000_000_000;
    let mut seed = [0u8; 8];
    platform.fill_random(&mut seed);
    let mut random = |b: &mut [u8]| platform.fill_random(b);
    let mut env = Env {
        now,
        seed: u64::from_le_bytes(seed),
        random: &mut random,
        prev,
    };
    let done = sign_zones(zones, files, &mut env);
    for r in done.lines {
        match r {
            Ok(done) => log::info!("dnssec: {done}"),
            Err(e) => log::error!("dnssec: {e}"),
        }
    }
    done.key_files
}

/// Queue the key files `files` changed (keys made, key steps taken) for
/// the zone source to make durable (a file queued again is replaced).
pub fn queue(unsaved: &mut Vec<(String, Vec<u8>)>, files: Vec<(String, String)>) {
    for (name, text) in files {
        log::info!("dnssec: {name} changed (keys made, or a key step)");
        unsaved.retain(|(n, _)| *n != name);
        unsaved.push((name, text.into_bytes()));
    }
}
