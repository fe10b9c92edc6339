//! One fetch from a git daemon (`git://`, gitprotocol-pack "git://
//! Transport"), sans-I/O: a TCP connection that starts with one pkt-line
//! naming the service and the repository, `git-upload-pack /path\0host=
//! HOST\0\0version=2\0` (the extra parameter asks for protocol v2,
//! gitprotocol-v2 "git:// Transport"); then it is upload-pack's stdin and
//! stdout, driven by [`Fetch`] as over SSH. Read-only: the daemon does not
//! take pushes unless told to, and the appliance never asks.

use crate::location::{DaemonRemote, DAEMON_PORT};
use crate::pktline;
use crate::proto::fetch::{Fetch, Fetched};
use crate::transfer::{FetchError, Now, Outcome, Transfer};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// The request line that opens the connection.
pub fn request_line(r: &DaemonRemote, v2: bool) -> Vec<u8> {
    let host = if r.host.contains(':') {
        format!("[{}]", r.host)
    } else {
        r.host.clone()
    };
    let port = if r.port == DAEMON_PORT {
        String::new()
    } else {
        format!(":{}", r.port)
    };
    let mut line = format!("git-upload-pack {}\0host={host}{port}\0", r.path);
    if v2 {
        line.push_str("\0version=2\0");
    }
    let mut out = Vec::new();
    pktline::encode(&mut out, line.as_bytes());
    out
}

/// A fetch over one connection to a git daemon.
pub struct DaemonFetch {
    fetch: Fetch,
    endpoint: (String, u16),
    out: Vec<u8>,
    connected: bool,
    end: Outcome,
}

impl DaemonFetch {
    /// Run `fetch` against `remote` (v2 asked for when the fetch asks).
    pub fn new(remote: &DaemonRemote, fetch: Fetch, now: Now) -> DaemonFetch {
        DaemonFetch {
            out: request_line(remote, fetch.protocol_v2()),
            fetch,
            endpoint: (remote.host.clone(), remote.port),
            connected: false,
            end: Outcome::new(now.ns),
        }
    }

    fn fail(&mut self, e: FetchError) {
        self.end.fail(e);
    }
}

impl Transfer for DaemonFetch {
    fn endpoint(&self) -> (&str, u16) {
        (&self.endpoint.0, self.endpoint.1)
    }

    /// One connection for the whole fetch.
    fn generation(&self) -> u64 {
        1
    }

    fn transport_up(&mut self) {
        self.connected = true;
    }

    fn was_connected(&self) -> bool {
        self.connected
    }

    fn input(&mut self, now: Now, data: &[u8]) {
        if self.end.result.is_some() || data.is_empty() {
            return;
        }
        self.end.timer.touch(now.ns);
        if let Err(e) = self.fetch.input(data) {
            return self.fail(FetchError::Proto(e));
        }
        if let Some(r) = self.fetch.result() {
            // A v0 "nothing wanted" flush may be owed: the connection
            // closes anyway.
            self.end.result = Some(Ok(r.clone()));
            return;
        }
        let more = self.fetch.take_output();
        self.out.extend_from_slice(&more);
    }

    fn transport_closed(&mut self, _now: Now) {
        self.fail(FetchError::Closed);
    }

    fn pending_output(&self) -> &[u8] {
        if self.end.result.is_some() {
            return &[];
        }
        &self.out
    }

    fn consume_output(&mut self, n: usize) {
        self.out.drain(..n.min(self.out.len()));
    }

    fn poll(&mut self, now: Now) -> Option<&Result<Fetched, FetchError>> {
        self.end.poll(now.ns)
    }

    fn protocol_v2(&self) -> bool {
        self.fetch.protocol_v2()
    }

    fn next_deadline(&self) -> u64 {
        self.end.next_deadline()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::location::Location;
    use crate::oid::Oid;
    use crate::proto::ProtoError;

    const NOW: Now = Now { ns: 0, unix: 0 };

    fn remote(s: &str) -> DaemonRemote {
        match Location::parse(s).unwrap() {
            Location::Daemon(r) => r,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_request_line() {
        let r = remote("git://git.test/srv/zones.git");
        assert_eq!(
            request_line(&r, true),
            b"003cgit-upload-pack /srv/zones.git\0host=git.test\0\0version=2\0"
        );
        let r = remote("git://[::1]:9999/z");
        assert_eq!(
            request_line(&r, false),
            b"0027git-upload-pack /z\0host=[::1]:9999\0"
        );
    }

    #[test]
    fn a_v2_fetch_up_to_date_and_an_err_line() {
        let head = Oid::from_hex(b"2222222222222222222222222222222222222222").unwrap();
        let r = remote("git://git.test/z");
        let mut d = DaemonFetch::new(
            &r,
            Fetch::new("main", alloc::vec![head], true, 1 << 20),
            NOW,
        );
        let n = d.pending_output().len();
        d.consume_output(n);
        let mut caps = Vec::new();
        for l in ["version 2\n", "ls-refs\n", "fetch=shallow\n"] {
            pktline::encode(&mut caps, l.as_bytes());
        }
        pktline::flush(&mut caps);
        d.input(NOW, &caps);
        assert!(d.pending_output().starts_with(b"0014command=ls-refs\n"));
        let mut refs = Vec::new();
        pktline::encode(&mut refs, format!("{head} refs/heads/main\n").as_bytes());
        pktline::flush(&mut refs);
        d.input(NOW, &refs);
        assert_eq!(d.poll(NOW), Some(&Ok(Fetched::UpToDate(head))));
        assert!(d.protocol_v2());

        let mut d = DaemonFetch::new(&r, Fetch::new("main", Vec::new(), true, 1 << 20), NOW);
        let mut err = Vec::new();
        pktline::encode(
            &mut err,
            b"ERR access denied or repository not exported: /z\n",
        );
        d.input(NOW, &err);
        let want = ProtoError::Remote("access denied or repository not exported: /z".into());
        assert_eq!(d.poll(NOW), Some(&Err(FetchError::Proto(want))));
        let mut d = DaemonFetch::new(&r, Fetch::new("main", Vec::new(), true, 1 << 20), NOW);
        d.transport_closed(NOW);
        assert_eq!(d.poll(NOW), Some(&Err(FetchError::Closed)));
    }
}
