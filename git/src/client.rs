//! The git remote's connection policy, sans-I/O: one connection at a time
//! (fetches and pushes are serialised), kept between commands up to
//! [`KEEP_NS`] so a NOTIFY's fetch or an UPDATE's push skips the TCP, key
//! exchange and login round trips; a command that found the kept
//! connection gone is made again on a new one; protocol v2 asked for
//! until the remote refuses the command form; the fetch timers.
//!
//! The byte pump under it opens a transport when [`Client::start`] says
//! [`Start::New`], and closes it when [`Client::conn`] is None or its
//! [`Client::generation`] changed.

use crate::checkout::Checkout;
use crate::conn::Conn;
use crate::exec::Exec;
use crate::remote::Remote;
use crate::schedule::Schedule;
use crate::session::{Op, Outcome, SessionError, Timeouts};
use crate::ssh::SshExec;
use alloc::string::String;

/// A kept connection is closed after this long without a command.
pub const KEEP_NS: u64 = 300_000_000_000;

/// What a command is for.
pub enum Job {
    /// Fetch number n (NOTIFYs held for it wait for its end).
    Fetch(u64),
    /// A push that makes this checkout the remote's head.
    Push(Checkout),
}

/// How [`Client::start`] took a command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    /// On the kept connection.
    Reused,
    /// On a new connection: open its transport.
    New,
    /// The kept connection takes it in a moment (the upload-pack started
    /// ahead is ending): the command was dropped; a fetch is due again at
    /// once, a push is to be made again.
    Wait,
}

/// A command that ended.
pub struct Done {
    pub job: Job,
    pub outcome: Result<Outcome, SessionError>,
    /// Its transport was established (an error before is "cannot connect").
    pub connected: bool,
}

/// The connection policy and the fetch timers.
pub struct Client<E: Exec = SshExec> {
    remote: Remote,
    pinned: bool,
    conn: Option<Conn<E>>,
    /// The command on `conn`; None while it rests.
    job: Option<Job>,
    /// A resting connection is closed at this time.
    rest_until: u64,
    generation: u64,
    pub schedule: Schedule,
    /// Ask for protocol v2 (until the remote refuses the command form).
    v2: bool,
    /// The protocol of the last fetch, for the log when it changes.
    spoke_v2: Option<bool>,
    host_key_logged: bool,
}

impl<E: Exec> Client<E> {
    /// A clone due at `now`, then a fetch every `sync_ns` (0: none).
    /// `pinned`: the host key is checked (else its fingerprint is logged).
    pub fn new(remote: Remote, pinned: bool, now: u64, sync_ns: u64) -> Client<E> {
        Client {
            remote,
            pinned,
            conn: None,
            job: None,
            rest_until: 0,
            generation: 0,
            schedule: Schedule::new(now, sync_ns),
            v2: true,
            spoke_v2: None,
            host_key_logged: false,
        }
    }

    pub fn remote(&self) -> &Remote {
        &self.remote
    }

    /// The connection (running a command or resting), for the byte pump.
    pub fn conn(&mut self) -> Option<&mut Conn<E>> {
        self.conn.as_mut()
    }

    /// Changes whenever a new connection replaces the last one.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// A command runs.
    pub fn busy(&self) -> bool {
        self.job.is_some()
    }

    /// The command that runs a fetch, in the protocol asked for.
    pub fn fetch_command(&self) -> String {
        if self.v2 {
            self.remote.upload_pack_v2()
        } else {
            self.remote.command("git-upload-pack")
        }
    }

    /// Ask for protocol v2 in a fetch?
    pub fn v2(&self) -> bool {
        self.v2
    }

    /// Run `command` driving `op` for `job`: on the kept connection, or on
    /// a new one `connect` makes (an [`Exec`] that runs `command`).
    pub fn start(
        &mut self,
        command: &str,
        op: Op,
        job: Job,
        now: u64,
        connect: impl FnOnce() -> E,
    ) -> Start {
        let timeouts = Timeouts::default();
        let mut op = op;
        if let Some(conn) = self.conn.as_mut() {
            match conn.run(command, op, now, timeouts) {
                Ok(()) => {
                    log::debug!(
                        "git: {command} on the kept connection{}",
                        if conn.ahead() { " (started ahead)" } else { "" }
                    );
                    self.job = Some(job);
                    return Start::Reused;
                }
                Err(back) if back.wait => {
                    self.again(&job, now);
                    return Start::Wait;
                }
                Err(back) => op = back.op,
            }
        }
        self.conn = Some(Conn::new(connect(), op, now, timeouts));
        self.generation += 1;
        self.job = Some(job);
        Start::New
    }

    /// The transport of a new connection could not even be opened: its
    /// command's job, to be failed by the caller.
    pub fn abandon(&mut self) -> Option<Job> {
        self.conn = None;
        self.job.take()
    }

    /// Check the clocks and the connection; the command's end once over.
    pub fn poll(&mut self, now: u64) -> Option<Done> {
        if self.job.is_none() {
            self.check_rest(now);
            return None;
        }
        let conn = self.conn.as_mut()?;
        let outcome = conn.poll(now)?;
        let job = self.job.take()?;
        let mut conn = self.conn.take()?;
        self.log_host_key(&conn);
        let ahead_failed = conn.ahead() && matches!(job, Job::Fetch(_));
        if conn.reused() && (!conn.started() || ahead_failed) && outcome.is_err() {
            // The kept connection was gone before the command started (or
            // the upload-pack started ahead was): nothing happened
            // remotely; it is made again on a new one.
            log::info!(
                "git: the kept connection to {} is gone; opening a new one",
                self.remote.host
            );
            self.again(&job, now);
            return None;
        }
        let outcome = match self.note_protocol(conn.fetch_v2(), outcome) {
            Some(o) => o,
            None => {
                // The v2 command form was refused: again at once, plainly.
                self.schedule.now(now);
                return None;
            }
        };
        let connected = conn.was_connected();
        if outcome.is_ok() && conn.rest(self.ahead(&job)) {
            self.conn = Some(conn);
            self.rest_until = now.saturating_add(KEEP_NS);
        }
        Some(Done {
            job,
            outcome,
            connected,
        })
    }

    /// The next fetch's upload-pack is started ahead after a fetch (v2
    /// only). Not after a push: pushes come in bursts (UPDATEs, ACME) and
    /// the next one would wait for it to end (~200 ms here, 4.2 -> 5+
    /// pushes/s).
    fn ahead(&self, job: &Job) -> Option<String> {
        (matches!(job, Job::Fetch(_)) && self.v2 && self.spoke_v2 == Some(true))
            .then(|| self.remote.upload_pack_v2())
    }

    /// A command that did not run: a fetch is due again at once; a push's
    /// UPDATE is still held by the caller, who makes it again.
    fn again(&mut self, job: &Job, now: u64) {
        if matches!(job, Job::Fetch(_)) {
            self.schedule.now(now);
        }
    }

    /// Close the resting connection when the remote did or when it has
    /// rested too long.
    fn check_rest(&mut self, now: u64) {
        let Some(conn) = self.conn.as_ref() else {
            return;
        };
        let alive = conn.resting();
        if alive && now < self.rest_until {
            return;
        }
        log::debug!(
            "git: closing the idle connection to {} ({})",
            self.remote.host,
            if alive {
                "idle too long"
            } else {
                "closed by the remote"
            }
        );
        self.conn = None;
    }

    /// When [`Client::poll`] (or a fetch) is due at the latest.
    pub fn next_deadline(&self) -> u64 {
        let t = match (&self.conn, &self.job) {
            (Some(c), Some(_)) => return c.next_deadline(),
            (Some(_), None) => self.rest_until,
            (None, _) => u64::MAX,
        };
        t.min(self.schedule.next_deadline())
    }

    fn log_host_key(&mut self, c: &Conn<E>) {
        if self.host_key_logged || self.pinned {
            return;
        }
        if let Some(fp) = c.observed_host_key() {
            log::warn!(
                "git remote {}: host key {fp} ACCEPTED WITHOUT CHECK; pin it with --ssh-authenticator={fp}",
                self.remote.host
            );
            self.host_key_logged = true;
        }
    }

    /// Log the protocol a fetch spoke when it changes. A remote that
    /// refused the v2 command form (git-shell) gets the plain command from
    /// now on: None.
    fn note_protocol(
        &mut self,
        fetch_v2: Option<bool>,
        outcome: Result<Outcome, SessionError>,
    ) -> Option<Result<Outcome, SessionError>> {
        match (&outcome, fetch_v2) {
            (Err(SessionError::RemoteExit(why)), Some(_)) if self.v2 && refused_command(why) => {
                log::info!(
                    "git: the remote refused `env GIT_PROTOCOL=version=2 ...` ({why}); using protocol v0"
                );
                self.v2 = false;
                None
            }
            (Ok(_), Some(v2)) if self.spoke_v2 != Some(v2) => {
                log::info!(
                    "git: the remote speaks protocol {}",
                    if v2 { "v2" } else { "v0" }
                );
                self.spoke_v2 = Some(v2);
                Some(outcome)
            }
            _ => Some(outcome),
        }
    }
}

/// Does the remote's message say it would not run the command form (as
/// git-shell says "unrecognized command"), rather than a repository error?
fn refused_command(why: &str) -> bool {
    let w = why.to_ascii_lowercase();
    w.contains("command") && !w.contains("repositor")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake::{head, upload_pack_says, FakeExec, Script, Shared};
    use crate::proto::fetch::{Fetch, Fetched};
    use alloc::vec;

    const SEC: u64 = 1_000_000_000;

    fn client() -> Client<FakeExec> {
        let remote = Remote::parse("git@192.0.2.1:zones.git").unwrap();
        Client::new(remote, true, 0, 0)
    }

    /// Start the due fetch the way the appliance does.
    fn fetch(c: &mut Client<FakeExec>, s: &Shared, n: u64, now: u64) -> Start {
        assert!(c.schedule.due(now));
        let op = Op::Fetch(Fetch::new("main", vec![head()], c.v2(), 1 << 20));
        let cmd = c.fetch_command();
        c.start(&cmd, op, Job::Fetch(n), now, || FakeExec::new(s))
    }

    /// The server's bytes in, ours out, then the client's poll.
    fn turn(c: &mut Client<FakeExec>, now: u64, server: &[u8]) -> Option<Done> {
        if let Some(conn) = c.conn() {
            conn.transport_up();
            if !server.is_empty() {
                conn.input(now, server);
            }
            let n = conn.pending_output().len();
            conn.consume_output(n);
        }
        c.poll(now)
    }

    fn fetched_ok(d: Option<Done>) {
        let d = d.expect("done");
        assert!(matches!(d.job, Job::Fetch(_)));
        assert_eq!(d.outcome, Ok(Outcome::Fetched(Fetched::UpToDate(head()))));
    }

    #[test]
    fn a_fetch_keeps_its_connection_for_the_next_until_keep_ns() {
        let s = Script::new(true);
        let mut c = client();
        assert_eq!(fetch(&mut c, &s, 1, 0), Start::New);
        assert_eq!(c.generation(), 1);
        s.borrow_mut().login(&c.fetch_command());
        fetched_ok(turn(&mut c, 0, &upload_pack_says()));
        c.schedule.succeeded();
        assert!(!c.busy() && c.conn().is_some(), "kept");
        s.borrow_mut().exit();
        turn(&mut c, SEC, b"");
        assert_eq!(
            s.borrow().commands.len(),
            2,
            "the next upload-pack started ahead"
        );
        c.schedule.now(2 * SEC);
        assert_eq!(fetch(&mut c, &s, 2, 2 * SEC), Start::Reused);
        assert_eq!(c.generation(), 1, "the same connection");
        fetched_ok(turn(&mut c, 2 * SEC, &upload_pack_says()));
        c.schedule.succeeded();
        assert_eq!(c.next_deadline(), 2 * SEC + KEEP_NS);
        turn(&mut c, 2 * SEC + KEEP_NS - 1, b"");
        assert!(c.conn().is_some());
        turn(&mut c, 2 * SEC + KEEP_NS, b"");
        assert!(c.conn().is_none(), "closed after resting KEEP_NS");
    }

    #[test]
    fn a_kept_connection_gone_before_the_command_started_makes_the_fetch_again_on_a_new_one() {
        let s = Script::new(true);
        let mut c = client();
        fetch(&mut c, &s, 1, 0);
        s.borrow_mut().login(&c.fetch_command());
        fetched_ok(turn(&mut c, 0, &upload_pack_says()));
        c.schedule.succeeded();
        // Its channel is not closed yet, so nothing was started ahead;
        // the fetch runs on the kept connection, whose transport closes
        // before the exec went out.
        s.borrow_mut().exited = true;
        s.borrow_mut().auto_open = false;
        c.schedule.now(SEC);
        assert_eq!(fetch(&mut c, &s, 2, SEC), Start::Reused);
        c.conn().unwrap().transport_closed();
        assert!(c.poll(SEC).is_none(), "not an outcome: made again");
        assert!(c.conn().is_none());
        assert!(c.schedule.due(SEC), "due again at once");
        assert_eq!(fetch(&mut c, &Script::new(true), 3, SEC), Start::New);
        assert_eq!(c.generation(), 2);
    }

    #[test]
    fn a_remote_refusing_the_v2_command_form_gets_the_plain_command() {
        let s = Script::new(true);
        let mut c = client();
        assert!(c.fetch_command().starts_with("env GIT_PROTOCOL=version=2 "));
        fetch(&mut c, &s, 1, 0);
        s.borrow_mut().login("env ...");
        s.borrow_mut().stderr = b"fatal: unrecognized command 'env GIT_PROTOCOL'\n".to_vec();
        s.borrow_mut().exit();
        assert!(
            turn(&mut c, 0, b"").is_none(),
            "not an outcome: again plainly"
        );
        assert!(!c.v2());
        assert_eq!(c.fetch_command(), "git-upload-pack 'zones.git'");
        assert!(c.conn().is_none());
        assert!(c.schedule.due(0));
    }

    #[test]
    fn a_failed_command_closes_its_connection() {
        let s = Script::new(true);
        let mut c = client();
        fetch(&mut c, &s, 1, 0);
        s.borrow_mut().login(&c.fetch_command());
        s.borrow_mut().exit();
        let d = turn(&mut c, 0, b"").expect("done");
        assert_eq!(d.outcome, Err(SessionError::Closed));
        assert!(d.connected);
        assert!(c.conn().is_none() && !c.busy());
        assert_eq!(c.next_deadline(), 0, "the fetch is still wanted");
    }
}
