//! The DNSSEC part of /metrics and /status (issue 26): each key of the
//! zones signed here as the rollover machine sees it (role, algorithm,
//! tag, RFC 7583 state, whether it signs and has its CDS up; the value
//! the Unix time it entered the state), and when each zone's next key
//! step is due. Public key facts only: no private key is named.

use super::Dns;
use alloc::format;
use gitns_net::metrics::Text;

/// Write the keys' families.
pub(super) fn keys(t: &mut Text, dns: &Dns) {
    let name = "gitns_dnssec_key_state_since_seconds";
    let help = "Each DNSSEC key of a zone signed here, by role, algorithm, tag and state: Unix time it entered the state.";
    t.head(name, "gauge", help);
    for (zone, roll) in dns.zones.signers.rolls() {
        let zone = zone.to_text();
        for k in &roll.ring.keys {
            let tag = k
                .tag
                .map_or(alloc::string::String::from("?"), |t| format!("{t}"));
            let yes = |b: bool| if b { "yes" } else { "no" };
            let labels = [
                ("zone", zone.as_str()),
                ("tag", &tag),
                ("role", k.role.text()),
                ("algorithm", k.alg.mnemonic()),
                ("state", k.phase().text()),
                ("signing", yes(k.signing())),
                ("cds", yes(k.cds.is_some())),
            ];
            t.sample(name, &labels, k.since());
        }
    }
    let name = "gitns_dnssec_next_key_step_seconds";
    let help = "Unix time each signed zone's next key step is due (0: none due, waiting on the parent or nothing to do).";
    t.head(name, "gauge", help);
    for (zone, roll) in dns.zones.signers.rolls() {
        t.sample(name, &[("zone", &zone.to_text())], roll.next.unwrap_or(0));
    }
}
