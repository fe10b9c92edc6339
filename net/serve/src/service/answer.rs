//! Answering one request through the DNS core, and the events it raises
//! that the service keeps (secondaries that asked, NOTIFYs held until a
//! fetch) or logs (zone transfers).

use super::{Ask, Dns, Reply};
use crate::{Handled, Transport};
use alloc::vec::Vec;
use gitns_dns::authority::Event;
use gitns_dns::notify_hold::Held;
use gitns_net::smoltcp::wire::IpEndpoint;

impl Dns {
    /// Answer `msg` now (UPDATEs are queued before: see [`Dns::prepare`]).
    pub(super) fn answer(
        &mut self,
        msg: &[u8],
        ask: Ask,
        internal: bool,
        reply: &mut dyn FnMut(&[u8]),
    ) -> Handled {
        let Ask {
            peer, transport, ..
        } = ask;
        let mut sent = false;
        let mut first = None;
        let mut pending = None;
        let event = self.serve(msg, ask, internal, &mut pending, &mut |m| {
            if !sent {
                first = m.get(..4).map(|h| [h[0], h[1], h[2], h[3]]);
            }
            sent = true;
            reply(m);
        });
        if !sent && pending.is_some() {
            // A zone transfer: its messages follow; the first is NOERROR.
            (sent, first) = (true, Some([0, 0, 0x84, 0]));
        }
        if let Some(h) = first {
            self.stats.count(transport, &h);
        }
        if sent {
            self.stats.answered += 1;
        } else if !matches!(event, Some(Event::Held { .. })) {
            self.stats.dropped += 1;
        }
        match event {
            Some(Event::Secondary { zone, key }) => {
                let new =
                    target(peer).is_some_and(|t| self.notifier.remember(t, zone.clone(), key));
                if new {
                    log::info!(
                        "{} asked for the SOA of {zone} with a transfer key: NOTIFY goes there too",
                        peer.addr
                    );
                }
            }
            Some(Event::SecondaryOfAll { key }) => {
                log::info!(
                    "{} asked for the root SOA with {}: NOTIFY for every zone it may transfer",
                    peer.addr,
                    key.name
                );
                self.asked.push((peer, key));
            }
            Some(Event::Held { zone, key }) => {
                return self.hold(msg, ask, zone, key, reply);
            }
            Some(Event::Prepared(mut p)) => {
                // Not reached: UPDATEs are queued, never answered here.
                p.withdraw(&mut self.zones);
                reply(&p.fail);
            }
            Some(Event::Transferred { zone, serial, kind }) => {
                use gitns_dns::transfer::Kind;
                let how = match kind {
                    Kind::Full => alloc::string::String::from("the whole zone"),
                    Kind::Incremental(n) => alloc::format!("incremental, {n} version(s)"),
                    Kind::Current => alloc::string::String::from("already current"),
                };
                log::info!("transfer of {zone} serial {serial} to {}: {how}", peer.addr);
            }
            Some(e) => self.events.push(e),
            None => {}
        }
        match pending {
            Some(t) => Handled::Transfer(alloc::boxed::Box::new(t)),
            None => Handled::Done,
        }
    }

    /// A NOTIFY for `zone` (not served) whose key `key` is not known yet:
    /// kept until the next fetch (or reload) when the gate lets it force
    /// one or others already wait, answered now otherwise.
    fn hold(
        &mut self,
        msg: &[u8],
        ask: Ask,
        zone: gitns_dns::name::Name,
        key: gitns_dns::name::Name,
        reply: &mut dyn FnMut(&[u8]),
    ) -> Handled {
        let now = ask.hold.unwrap_or(0);
        let joins = self.holds.waiting();
        let kept = (joins || self.gate.allow(&key, now))
            && self
                .holds
                .hold(msg.to_vec(), (ask.peer, ask.transport), now);
        if !kept {
            log::warn!(
                "NOTIFY for {zone} (not served) from {} with unknown key {key}: no fetch for it now",
                ask.peer.addr
            );
            let ask = Ask { hold: None, ..ask };
            return self.answer(msg, ask, false, reply);
        }
        log::info!(
            "NOTIFY for {zone} (not served) from {} with key {key} not known yet: answered after the next fetch or reload",
            ask.peer.addr
        );
        if !joins {
            self.events.push(Event::Resync(zone));
        }
        Handled::Later
    }

    /// Answer held NOTIFYs with the zones and keys as they are now.
    pub fn release(&mut self, held: Vec<Held<(IpEndpoint, Transport)>>) -> Vec<Reply> {
        let mut out = Vec::new();
        for h in held {
            let (peer, transport) = h.peer;
            let ask = Ask {
                peer,
                transport,
                hold: None,
                now_ns: 0,
            };
            let mut first = None;
            // Its fetch (or reload) is done: the Resync it raises again
            // would only fetch once more.
            let events = self.events.len();
            self.answer(&h.msg, ask, false, &mut |m| {
                first.get_or_insert_with(|| m.to_vec());
            });
            self.events.truncate(events);
            out.extend(first.map(|msg| Reply {
                peer,
                transport,
                msg,
                internal: false,
            }));
        }
        out
    }
}

/// Where a NOTIFY to `peer` goes (port 53; IPv4 only for now).
pub(super) fn target(peer: IpEndpoint) -> Option<gitns_dns::notify_out::Target> {
    let gitns_net::smoltcp::wire::IpAddress::Ipv4(a) = peer.addr else {
        return None;
    };
    Some(gitns_dns::notify_out::Target {
        addr: a.octets(),
        port: 53,
    })
}
