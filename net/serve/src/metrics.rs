//! The appliance's counters as Prometheus text lines, handed to the tender
//! (METRICS hypercall) about once a second when they changed; the tender
//! serves them (`gitns-hvt --metrics`). Names and counts only, no secrets.
//! Each room writes its own families with [`gitns_net::metrics::Text`]:
//! the parts above this crate first (ACME), then the heap and storage
//! lines, the transport and the DNS service here, the zone sources after.

use crate::service::Dns;
use crate::sockets::Sockets;
use crate::Stats;
use alloc::string::String;
use gitns_net::metrics::Text;
use gitns_net::Net;

/// What the appliance counts beside its rooms.
pub struct Own {
    /// Guest heap bytes in use and free, where the platform knows.
    pub heap: Option<(usize, usize)>,
    /// Storage device writes that failed.
    pub failed_writes: u64,
}

/// The families of this crate's rooms, after those already in `t`.
pub fn render(mut t: Text, dns: &Dns, sockets: &Sockets, transport: &Stats, own: Own) -> String {
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
    let n = &sockets.notify;
    dns.metrics(&mut t, (n.sent, n.answered));
    t.into_string()
}

/// The transport's and the service's counters, at debug level (the zone
/// sources log theirs after).
pub fn log_counters(net: &Net, sockets: &Sockets, st: &Stats, d: &Dns) {
    log::debug!(
        "counters: udp in {} out {} dropped {}, tcp conns {} open {} in {} out {} timeouts {} evicted {} refused {} stalled {}, answered {} dropped {}, frames in {} out {}, notifies pending {}",
        st.udp_in, st.udp_out, st.udp_dropped, st.tcp_conns, sockets.tcp.open(), st.tcp_in, st.tcp_out, st.tcp_timeouts, st.tcp_evicted, st.tcp_refused, st.tcp_stalled,
        d.stats.answered, d.stats.dropped, net.frames_in, net.frames_out, d.notifier.pending()
    );
}
