//! The storage journal as the sink of the UPDATE pipeline (without a git
//! remote): each queued UPDATE is prepared by the core once, against the
//! zones as the previous one left them (RFC 2136 3.7), appended to the
//! journal synchronously, then kept and answered NOERROR, or withdrawn
//! and answered SERVFAIL when the write failed (an acknowledged UPDATE
//! survives a restart).

use crate::dns::{Dns, Prepare, Reply};
use alloc::vec::Vec;
use gitns_dns::authority::Event;
use gitns_store::{Device, DeviceError, Record};

/// Prepare, make durable and answer every queued UPDATE; `wall_ns` names
/// a new archive generation when the journal is full.
pub fn commit_queued(dns: &mut Dns, store: &mut dyn Device, wall_ns: u64) -> Vec<Reply> {
    let mut replies = Vec::new();
    while let Some(d) = dns.deferred.pop_front() {
        let mut p = match dns.prepare(&d) {
            Prepare::Answer(msg) => {
                replies.extend(msg.map(|m| dns.update_reply(&d, m)));
                continue;
            }
            Prepare::Change(p) => p,
        };
        let record = Record {
            from: p.from,
            to: p.to,
            message: d.msg.clone(),
        };
        let answer = match dns
            .cache
            .commit(store, &dns.zones, &p.zone, &record, wall_ns)
        {
            Ok(()) => {
                log::info!(
                    "UPDATE of {} by {} committed to the zone cache",
                    p.zone,
                    p.key
                );
                let ok = core::mem::take(&mut p.ok);
                dns.push_event(Event::Updated(p.keep()));
                ok
            }
            Err(DeviceError) => {
                p.withdraw(&mut dns.zones);
                p.fail
            }
        };
        replies.push(dns.update_reply(&d, answer));
    }
    replies
}
