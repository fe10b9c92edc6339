//! The DNS service's families in the appliance's metrics text: responses
//! by transport and RCODE, drops, rate limiting, NOTIFYs and UPDATEs by
//! RCODE, outgoing NOTIFYs, and per zone its serial, last change and last
//! rejection. Names and counts only, no secrets.

use super::Dns;
use alloc::string::{String, ToString};
use gitns_net::metrics::Text;

const RCODES: [&str; 11] = [
    "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN", "YXRRSET",
    "NXRRSET", "NOTAUTH", "NOTZONE",
];

fn rcode(i: usize) -> String {
    RCODES
        .get(i)
        .map_or_else(|| i.to_string(), |s| String::from(*s))
}

impl Dns {
    /// Write the service's counters; `notify_out`: outgoing NOTIFYs sent
    /// (with retransmissions) and answered, counted by their socket.
    pub fn metrics(&self, t: &mut Text, notify_out: (u64, u64)) {
        answers(t, self);
        let v = [("sent", notify_out.0), ("answered", notify_out.1)];
        let help = "Outgoing NOTIFYs sent (with retransmissions) and answered.";
        t.by("gitns_notify_out_total", "counter", help, "result", &v);
        let help = "Outgoing NOTIFYs not yet answered.";
        t.single(
            "gitns_notify_out_pending",
            "gauge",
            help,
            self.notifier.pending(),
        );
        zones(t, self);
        super::dnssec::keys(t, self);
    }
}

/// Responses by transport and RCODE, drops, rate limiting, NOTIFYs and
/// UPDATEs by RCODE.
fn answers(t: &mut Text, dns: &Dns) {
    let name = "gitns_dns_responses_total";
    t.head(name, "counter", "DNS responses by transport and RCODE.");
    for (i, transport) in ["udp", "tcp"].into_iter().enumerate() {
        for (r, n) in dns.stats.rcodes[i]
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
        {
            t.sample(name, &[("transport", transport), ("rcode", &rcode(r))], n);
        }
    }
    let help = "Requests dropped without an answer.";
    t.single(
        "gitns_dns_dropped_total",
        "counter",
        help,
        dns.stats.dropped,
    );
    if let Some(r) = &dns.rrl {
        let c = &r.counters;
        let v = [
            ("slipped", c.slipped),
            ("dropped", c.dropped),
            ("exempt", c.exempt),
        ];
        let help = "UDP answers over the rate limit (slipped: sent truncated or BADCOOKIE; dropped: not sent), and answers to exempt networks.";
        t.by("gitns_rrl_responses_total", "counter", help, "action", &v);
    }
    for (name, help, counts) in [
        (
            "gitns_notify_in_total",
            "Incoming NOTIFYs by RCODE answered.",
            &dns.stats.notify,
        ),
        (
            "gitns_update_total",
            "UPDATEs by RCODE answered.",
            &dns.stats.update,
        ),
    ] {
        t.head(name, "counter", help);
        for (r, n) in counts.iter().enumerate().filter(|(_, n)| **n > 0) {
            t.sample(name, &[("rcode", &rcode(r))], n);
        }
    }
}

/// Per zone: the serial, when it last changed, why its file was last
/// rejected.
fn zones(t: &mut Text, dns: &Dns) {
    t.single(
        "gitns_zones",
        "gauge",
        "Zones served.",
        dns.zones.zones().count(),
    );
    let name = "gitns_zone_serial";
    t.head(name, "gauge", "SOA serial of each zone served.");
    for z in dns.zones.zones() {
        t.sample(
            name,
            &[("zone", &z.origin.to_text())],
            z.serial().unwrap_or(0),
        );
    }
    let name = "gitns_zone_last_change_seconds";
    let help = "Unix time each zone last changed (new serial loaded, UPDATE).";
    t.head(name, "gauge", help);
    for (zone, st) in &dns.zone_status {
        t.sample(name, &[("zone", zone)], st.changed);
    }
    let name = "gitns_zone_rejected";
    let help = "1 for a zone whose file was last rejected (the last good version is served), with the error.";
    t.head(name, "gauge", help);
    for (zone, st) in &dns.zone_status {
        if let Some(e) = &st.error {
            t.sample(name, &[("zone", zone), ("error", e)], 1);
        }
    }
}
