//! Counters of a git remote (SSH or read-only) and their /metrics lines.

use alloc::string::{String, ToString};
use gitns_git::oid::Oid;
use gitns_git::push_queue::PushCounts;
use gitns_net::metrics::Text;

/// Counters of the git side.
#[derive(Clone, Copy, Debug, Default)]
pub struct GitStats {
    pub fetches: u64,
    pub fetch_failures: u64,
    /// Wall-clock seconds of the last successful fetch.
    pub last_sync_s: u64,
}

impl GitStats {
    /// The git remote's lines (appended to `o`): fetches, pushes, the last
    /// sync, the commit served.
    pub fn metrics(&self, o: &mut String, head_commit: Option<Oid>, pushes: PushCounts) {
        let mut t = Text::from(core::mem::take(o));
        let v = [("ok", self.fetches), ("error", self.fetch_failures)];
        let help = "Fetches from the git remote by result.";
        t.by("gitns_git_fetches_total", "counter", help, "result", &v);
        let v = [
            ("ok", pushes.ok),
            ("rejected", pushes.rejected),
            ("error", pushes.failed),
        ];
        let help = "Pushes to the git remote by result.";
        t.by("gitns_git_pushes_total", "counter", help, "result", &v);
        let help = "Wall-clock time of the last successful fetch.";
        t.single(
            "gitns_git_last_sync_timestamp_seconds",
            "gauge",
            help,
            self.last_sync_s,
        );
        if let Some(h) = head_commit {
            let name = "gitns_git_head_info";
            t.head(name, "gauge", "The commit the zones come from.");
            t.sample(name, &[("commit", &h.to_string())], 1);
        }
        *o = t.into_string();
    }
}
