//! The appliance's counters as Prometheus text lines, handed to the tender
//! (METRICS hypercall) about once a second when they changed; the tender
//! serves them (`gitns-hvt --metrics`). Names and counts only, no secrets.

use crate::dns::Dns;
use crate::remote::GitStats;
use crate::server::Stats;
use alloc::string::String;
use core::fmt::Write;

const RCODES: [&str; 11] = [
    "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN", "YXRRSET",
    "NXRRSET", "NOTAUTH", "NOTZONE",
];

fn rcode(i: usize) -> String {
    RCODES
        .get(i)
        .map_or_else(|| alloc::format!("{i}"), |s| String::from(*s))
}

/// Label values: `\`, `"` and newlines escaped (text exposition format).
fn label(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn head(o: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(o, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// Render every counter.
pub fn render(
    dns: &Dns,
    transport: &Stats,
    notify_out: (u64, u64),
    heap: Option<(usize, usize)>,
    failed_writes: u64,
    acme: Option<&crate::acme::Acme>,
) -> String {
    let mut o = String::new();
    if let Some(a) = acme {
        acme_lines(&mut o, a);
    }
    if let Some((used, free)) = heap {
        head(
            &mut o,
            "gitns_heap_bytes",
            "gauge",
            "Guest heap bytes in use and free.",
        );
        let _ = writeln!(
            o,
            "gitns_heap_bytes{{state=\"used\"}} {used}\ngitns_heap_bytes{{state=\"free\"}} {free}"
        );
    }
    head(
        &mut o,
        "gitns_storage_write_failures_total",
        "counter",
        "Storage device writes that failed (UPDATEs answered SERVFAIL, archives not switched to).",
    );
    let _ = writeln!(o, "gitns_storage_write_failures_total {failed_writes}");
    head(
        &mut o,
        "gitns_dns_responses_total",
        "counter",
        "DNS responses by transport and RCODE.",
    );
    for (t, name) in [(0, "udp"), (1, "tcp")] {
        for (i, n) in dns.stats.rcodes[t]
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
        {
            let _ = writeln!(
                o,
                "gitns_dns_responses_total{{transport=\"{name}\",rcode=\"{}\"}} {n}",
                rcode(i)
            );
        }
    }
    head(
        &mut o,
        "gitns_dns_dropped_total",
        "counter",
        "Requests dropped without an answer.",
    );
    let _ = writeln!(o, "gitns_dns_dropped_total {}", dns.stats.dropped);
    if let Some(r) = &dns.rrl {
        rrl_lines(&mut o, &r.counters);
    }
    for (metric, what, counts) in [
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
        head(&mut o, metric, "counter", what);
        for (i, n) in counts.iter().enumerate().filter(|(_, n)| **n > 0) {
            let _ = writeln!(o, "{metric}{{rcode=\"{}\"}} {n}", rcode(i));
        }
    }
    head(
        &mut o,
        "gitns_notify_out_total",
        "counter",
        "Outgoing NOTIFYs sent (with retransmissions) and answered.",
    );
    let _ = writeln!(
        o,
        "gitns_notify_out_total{{result=\"sent\"}} {}\ngitns_notify_out_total{{result=\"answered\"}} {}",
        notify_out.0, notify_out.1
    );
    head(
        &mut o,
        "gitns_notify_out_pending",
        "gauge",
        "Outgoing NOTIFYs not yet answered.",
    );
    let _ = writeln!(o, "gitns_notify_out_pending {}", dns.notifier.pending());
    head(
        &mut o,
        "gitns_tcp_connections_total",
        "counter",
        "DNS TCP connections accepted.",
    );
    let _ = writeln!(o, "gitns_tcp_connections_total {}", transport.tcp_conns);
    head(&mut o, "gitns_zones", "gauge", "Zones served.");
    let _ = writeln!(o, "gitns_zones {}", dns.zones.zones().count());
    head(
        &mut o,
        "gitns_zone_serial",
        "gauge",
        "SOA serial of each zone served.",
    );
    for z in dns.zones.zones() {
        let _ = writeln!(
            o,
            "gitns_zone_serial{{zone=\"{}\"}} {}",
            label(&z.origin.to_text()),
            z.serial().unwrap_or(0)
        );
    }
    zone_status(&mut o, dns);
    o
}

/// The git remote's lines: fetches, pushes, the last sync, the head.
pub fn git(o: &mut String, s: &GitStats, head_commit: Option<gitns_git::oid::Oid>) {
    head(
        o,
        "gitns_git_fetches_total",
        "counter",
        "Fetches from the git remote by result.",
    );
    let _ = writeln!(o, "gitns_git_fetches_total{{result=\"ok\"}} {}\ngitns_git_fetches_total{{result=\"error\"}} {}", s.fetches, s.fetch_failures);
    head(
        o,
        "gitns_git_pushes_total",
        "counter",
        "Pushes to the git remote by result.",
    );
    let _ = writeln!(
        o,
        "gitns_git_pushes_total{{result=\"ok\"}} {}\ngitns_git_pushes_total{{result=\"rejected\"}} {}\ngitns_git_pushes_total{{result=\"error\"}} {}",
        s.pushes, s.push_rejections, s.push_failures
    );
    head(
        o,
        "gitns_git_last_sync_timestamp_seconds",
        "gauge",
        "Wall-clock time of the last successful fetch.",
    );
    let _ = writeln!(o, "gitns_git_last_sync_timestamp_seconds {}", s.last_sync_s);
    if let Some(h) = head_commit {
        head(
            o,
            "gitns_git_head_info",
            "gauge",
            "The commit the zones come from.",
        );
        let _ = writeln!(o, "gitns_git_head_info{{commit=\"{h}\"}} 1");
    }
}

/// Certificates (ACME): expiry per name, orders by result.
fn acme_lines(o: &mut String, a: &crate::acme::Acme) {
    head(
        o,
        "gitns_certificate_expiry_seconds",
        "gauge",
        "notAfter (unix time) of the certificate served at each _letsencrypt._tcp name.",
    );
    for (name, t) in &a.expiry {
        let _ = writeln!(
            o,
            "gitns_certificate_expiry_seconds{{name=\"{}\"}} {t}",
            label(name)
        );
    }
    head(
        o,
        "gitns_acme_orders_total",
        "counter",
        "ACME orders by result.",
    );
    let _ = writeln!(
        o,
        "gitns_acme_orders_total{{result=\"issued\"}} {}\ngitns_acme_orders_total{{result=\"failed\"}} {}",
        a.issued, a.failed
    );
}

/// Per zone: when it last changed, and why its file was last rejected.
fn zone_status(o: &mut String, dns: &Dns) {
    head(
        o,
        "gitns_zone_last_change_seconds",
        "gauge",
        "Unix time each zone last changed (new serial loaded, UPDATE).",
    );
    for (zone, st) in &dns.zone_status {
        let _ = writeln!(
            o,
            "gitns_zone_last_change_seconds{{zone=\"{}\"}} {}",
            label(zone),
            st.changed
        );
    }
    head(
        o,
        "gitns_zone_rejected",
        "gauge",
        "1 for a zone whose file was last rejected (the last good version is served), with the error.",
    );
    for (zone, st) in &dns.zone_status {
        if let Some(e) = &st.error {
            let _ = writeln!(
                o,
                "gitns_zone_rejected{{zone=\"{}\",error=\"{}\"}} 1",
                label(zone),
                label(e)
            );
        }
    }
}

/// Response rate limiting: what happened to answers over the rate.
fn rrl_lines(o: &mut String, c: &gitns_dns::rrl::Counters) {
    head(
        o,
        "gitns_rrl_responses_total",
        "counter",
        "UDP answers over the rate limit (slipped: sent truncated or BADCOOKIE; dropped: not sent), and answers to exempt networks.",
    );
    for (action, n) in [
        ("slipped", c.slipped),
        ("dropped", c.dropped),
        ("exempt", c.exempt),
    ] {
        let _ = writeln!(o, "gitns_rrl_responses_total{{action=\"{action}\"}} {n}");
    }
}
