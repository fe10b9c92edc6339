//! The appliance's counters as Prometheus text lines, handed to the tender
//! (METRICS hypercall) about once a second when they changed; the tender
//! serves them (`gitns-hvt --metrics`). Names and counts only, no secrets.
//! Each room writes its own families with [`gitns_net::metrics::Text`]
//! (the DNS service, the transport, ACME; the zone sources after these).

use crate::dns::Dns;
use crate::server::Stats;
use alloc::string::String;
use gitns_net::metrics::Text;

/// What the appliance itself counts beside its rooms.
pub struct Own {
    /// Guest heap bytes in use and free, where the platform knows.
    pub heap: Option<(usize, usize)>,
    /// Storage device writes that failed.
    pub failed_writes: u64,
    /// Outgoing NOTIFYs sent and answered (their socket's counters).
    pub notify_out: (u64, u64),
}

/// Render every counter.
pub fn render(dns: &Dns, transport: &Stats, own: Own, acme: Option<&crate::acme::Acme>) -> String {
    let mut t = Text::new();
    if let Some(a) = acme {
        a.metrics(&mut t);
    }
    if let Some((used, free)) = own.heap {
        let v = [("used", used), ("free", free)];
        let help = "Guest heap bytes in use and free.";
        t.by("gitns_heap_bytes", "gauge", help, "state", &v);
    }
    t.single(
        "gitns_storage_write_failures_total",
        "counter",
        "Storage device writes that failed (UPDATEs answered SERVFAIL, archives not switched to).",
        own.failed_writes,
    );
    transport.metrics(&mut t);
    dns.metrics(&mut t, own.notify_out);
    t.into_string()
}
