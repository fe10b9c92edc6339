//! The challenge TXT records of the order (RFC 8555 8.4): served from the
//! zones in memory (serial raised, so secondaries transfer them), put back
//! when a reload lost them, and reported to the client once every
//! secondary serves them (asked directly) or the wait is over.

use alloc::format;
use alloc::string::String;

use super::{Driver, Effect, Turn};
use crate::client::Input;
use crate::records;
use crate::txt_wait::Stage;
use gitns_dns::probe::TxtProbe;
use log::Level;

impl Driver {
    /// Serve (or stop serving) a challenge TXT.
    pub(super) fn txt(&mut self, t: &mut Turn, name: String, value: String, add: bool) {
        if let (false, Some(o)) = (add, self.order.as_mut()) {
            // Not kept alive by `keep_txt` any more, whatever happens here.
            o.txt.removed(&name, &value);
        }
        match records::set_txt(t.zones, &name, &value, add) {
            Ok(zone) => {
                let what = if add { "serving" } else { "removed" };
                self.log(Level::Info, format!("acme: {what} TXT {name} {value}"));
                self.effects.push(Effect::ZoneChanged(zone));
                if let (true, Some(o)) = (add, self.order.as_mut()) {
                    o.txt.published(name, value, t.now);
                    o.probe = None;
                }
            }
            Err(e) => self.log(Level::Error, format!("acme: TXT {name}: {e}")),
        }
    }

    /// Put back a published TXT the zone lost (reloaded from git during
    /// the order).
    pub(super) fn keep_txt(&mut self, t: &mut Turn) -> bool {
        let Some(o) = self.order.as_mut() else {
            return false;
        };
        if !o.txt.check_due(t.now) {
            return false;
        }
        let lost: alloc::vec::Vec<(String, String)> = o
            .txt
            .records()
            .iter()
            .filter(|(name, value)| !records::has_txt(t.zones, name, value))
            .cloned()
            .collect();
        let mut busy = false;
        for (name, value) in lost {
            match records::set_txt(t.zones, &name, &value, true) {
                Ok(zone) => {
                    let line =
                        format!("acme: the zone was reloaded; serving TXT {name} {value} again");
                    self.log(Level::Info, line);
                    self.effects.push(Effect::ZoneChanged(zone));
                    busy = true;
                }
                Err(e) => self.log(Level::Error, format!("acme: TXT {name}: {e}")),
            }
        }
        busy
    }

    /// Start the probe once the records settled; tell the client when
    /// every secondary serves them or the wait is over.
    pub(super) fn txt_ready(&mut self, t: &mut Turn) -> bool {
        let Some(o) = self.order.as_mut() else {
            return false;
        };
        let Stage::Asking { overdue } = o.txt.stage(t.now) else {
            return false;
        };
        let mut started = None;
        if o.probe.is_none() {
            let (targets, recs) =
                records::txt_probe_targets(t.zones, t.notifier, t.own, o.txt.records());
            o.probe = Some(TxtProbe::new(&targets, &recs, t.now, &mut *t.ids));
            started = Some(targets.len());
        }
        let probe = o.probe.as_ref().expect("set above");
        let ready = probe.done() || overdue;
        if let Some(n @ 1..) = started {
            let s = if n == 1 { "y" } else { "ies" };
            let line = format!("acme: waiting for {n} secondar{s} to serve the challenge TXT");
            self.log(Level::Info, line);
        }
        if !ready {
            return started.is_some();
        }
        let o = self.order.as_mut().expect("checked above");
        let probe = o.probe.as_ref().expect("set above");
        let missing = if probe.done() {
            alloc::vec::Vec::new()
        } else {
            probe.missing()
        };
        o.txt.told();
        o.probe = None;
        for (s, name) in missing {
            let [a, b, c, d] = s.addr;
            let name = name.to_text();
            let line = format!(
                "acme: {a}.{b}.{c}.{d} does not serve the TXT at {name} yet; asking for validation anyway"
            );
            self.log(Level::Warn, line);
        }
        self.client.handle(t.unix, Input::TxtReady);
        true
    }
}
