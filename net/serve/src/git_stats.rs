//! Counters of a zone source's git remote (SSH or read-only), their
//! /metrics lines beside the DNS service's (src/remote/ keeps the
//! counters, this renders them) and their debug log line.

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
    /// A read-only remote's UPDATEs: refused, and the appliance's own kept
    /// in the storage cache (None: the remote takes pushes).
    pub read_only: Option<ReadOnlyUpdates>,
}

/// What became of the UPDATEs to a read-only remote's zones.
#[derive(Clone, Copy, Debug, Default)]
pub struct ReadOnlyUpdates {
    pub refused: u64,
    pub kept: u64,
}

impl GitStats {
    /// A fetch succeeded at wall-clock time `wall_ns`.
    pub fn fetched(&mut self, wall_ns: u64) {
        self.fetches += 1;
        self.last_sync_s = wall_ns / 1_000_000_000;
    }

    /// The git remote's lines (appended to `o`): fetches, pushes, the last
    /// sync, the commit served, a read-only remote's UPDATEs.
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
        if let Some(r) = self.read_only {
            let v = [("refused", r.refused), ("kept_locally", r.kept)];
            let help = "UPDATEs to the read-only remote's zones by what became of them.";
            let name = "gitns_read_only_updates_total";
            t.by(name, "counter", help, "result", &v);
        }
        *o = t.into_string();
    }

    /// The counters, at debug level with the appliance's others.
    pub fn log_counters(&self, p: PushCounts) {
        let (fetches, failed) = (self.fetches, self.fetch_failures);
        match self.read_only {
            None => log::debug!(
                "counters: git fetches {fetches} failed {failed}, pushes {} rejected {} failed {}",
                p.ok,
                p.rejected,
                p.failed
            ),
            Some(r) => log::debug!(
                "counters: git fetches {fetches} failed {failed}, UPDATEs refused (read-only) {} kept locally {}",
                r.refused,
                r.kept
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pushing_remote_counts_pushes_and_a_read_only_one_its_updates() {
        let mut s = GitStats::default();
        s.fetched(1_700_000_000_500_000_000);
        let pushes = PushCounts {
            ok: 2,
            rejected: 1,
            failed: 0,
        };
        let mut o = String::from("# earlier lines\n");
        s.metrics(&mut o, None, pushes);
        assert!(o.starts_with("# earlier lines\n"), "{o}");
        assert!(
            o.contains("gitns_git_fetches_total{result=\"ok\"} 1\n"),
            "{o}"
        );
        assert!(
            o.contains("gitns_git_pushes_total{result=\"ok\"} 2\n"),
            "{o}"
        );
        assert!(
            o.contains("gitns_git_pushes_total{result=\"rejected\"} 1\n"),
            "{o}"
        );
        assert!(
            o.contains("gitns_git_last_sync_timestamp_seconds 1700000000\n"),
            "{o}"
        );
        assert!(!o.contains("gitns_read_only"), "{o}");
        s.read_only = Some(ReadOnlyUpdates {
            refused: 3,
            kept: 1,
        });
        let mut o = String::new();
        s.metrics(&mut o, None, PushCounts::default());
        let refused = "gitns_read_only_updates_total{result=\"refused\"} 3\n";
        assert!(o.contains(refused), "{o}");
        let kept = "gitns_read_only_updates_total{result=\"kept_locally\"} 1\n";
        assert!(o.contains(kept), "{o}");
    }
}
