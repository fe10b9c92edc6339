//! One connection to the git remote, kept between commands, sans-I/O:
//! transport bytes in, transport bytes out, time passed in. It runs one
//! [`Session`] at a time; between them it rests ([`Conn::rest`]) with no
//! command of ours running, its bytes still moving (the server closing the
//! last channel, keepalives), until the next command ([`Conn::run`]).
//!
//! With protocol v2 the next fetch's upload-pack is started ahead while
//! the connection rests: sshd's fork and exec of it was ~100 ms of a
//! NOTIFY's fetch here. A v2 upload-pack reads no ref before its first
//! command (the capability advertisement is static, gitprotocol-v2
//! "Capability Advertisement"), so the ls-refs sent at NOTIFY time sees the
//! refs of that time; one started ahead serves one fetch and is ended
//! after it like any other.

use crate::exec::Exec;
use crate::session::{Op, Outcome, Session, SessionError, Timeouts};
use crate::ssh::SshExec;
use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;

/// A lone flush-pkt (gitprotocol-v2 "Command Request": a request without
/// command ends the server's serve loop).
const FLUSH: &[u8] = b"0000";

/// Session channels one SSH connection has (sunset's MAX_CHANNELS).
const CHANNELS: usize = 4;

/// How long a command waits for an upload-pack started ahead to end
/// before it gives up on the kept connection and asks for another.
pub const WARM_END_NS: u64 = 2_000_000_000;

/// A connection and what runs on it.
pub struct Conn<E: Exec = SshExec> {
    state: State<E>,
    /// Bytes for the transport it has not taken yet.
    out: Vec<u8>,
    /// The transport was established.
    connected: bool,
    /// The transport was closed under us.
    closed: bool,
    /// The command runs on a kept connection.
    reused: bool,
    /// The command was started ahead (see the module text).
    ahead: bool,
    /// The remote took the command (login done, exec sent).
    started: bool,
}

enum State<E: Exec> {
    Busy(Box<Session<E>>),
    Resting(Rest<E>),
    /// Not usable any more.
    Over,
}

/// A connection with no command of ours running.
struct Rest<E: Exec> {
    ssh: E,
    warm: Warm,
    /// Bytes of a lone flush-pkt still owed to the running command (it
    /// ends a v2 upload-pack). The channel takes stdin only once its exec
    /// went out, so a command started ahead moments ago cannot take it
    /// yet: dropping it left the upload-pack waiting and a push stalled
    /// for [`WARM_END_NS`] behind it.
    flush_owed: usize,
}

/// The command started ahead on a resting connection.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Warm {
    /// None wanted (protocol v0: its upload-pack advertises refs as it
    /// starts, so one started ahead would offer stale refs).
    Off,
    /// Start this command once the last channel is closed.
    Wanted(String),
    /// This command runs; its output waits unread for the fetch.
    Running(String),
    /// Told to end (another command is wanted) at this time.
    Ending(u64),
}

/// A command the resting connection did not take, handed back.
pub struct Refused {
    pub op: Op,
    /// It will take it shortly (the command started ahead is ending):
    /// ask again rather than open another connection.
    pub wait: bool,
}

impl<E: Exec> Conn<E> {
    /// A new connection (its transport is being opened) that runs the
    /// command `ssh` was made with, driving `op`.
    pub fn new(ssh: E, op: Op, now: u64, timeouts: Timeouts) -> Conn<E> {
        Conn {
            state: State::Busy(Box::new(Session::new(ssh, op, now, timeouts))),
            out: Vec::new(),
            connected: false,
            closed: false,
            reused: false,
            ahead: false,
            started: false,
        }
    }

    /// The transport is established.
    pub fn transport_up(&mut self) {
        self.connected = true;
    }

    /// Was the transport ever established?
    pub fn was_connected(&self) -> bool {
        self.connected
    }

    /// Bytes received on the transport.
    pub fn input(&mut self, now: u64, data: &[u8]) {
        match &mut self.state {
            State::Busy(s) => s.input(now, data),
            // A failure marks the connection dead: `resting` says so.
            State::Resting(r) => drop(r.ssh.input(data)),
            State::Over => {}
        }
    }

    /// The transport was closed (by the server or under us).
    pub fn transport_closed(&mut self) {
        self.closed = true;
        if let State::Busy(s) = &mut self.state {
            s.closed();
        }
    }

    /// Bytes to write to the transport; call [`Conn::consume_output`] with
    /// how many it took.
    pub fn pending_output(&mut self) -> &[u8] {
        let more = match &mut self.state {
            State::Busy(s) => s.output(),
            State::Resting(r) => r.step(),
            State::Over => Vec::new(),
        };
        self.out.extend_from_slice(&more);
        &self.out
    }

    pub fn consume_output(&mut self, n: usize) {
        self.out.drain(..n.min(self.out.len()));
    }

    /// Check the clocks; the running command's result once it is over
    /// (then [`Conn::rest`] or drop the connection).
    pub fn poll(&mut self, now: u64) -> Option<Result<Outcome, SessionError>> {
        let State::Busy(s) = &mut self.state else {
            return None;
        };
        if !self.started && s.command_running() {
            log::debug!("git: logged in, remote command running");
            self.started = true;
        }
        s.poll(now).cloned()
    }

    /// The command is over: keep the connection for the next one (true),
    /// or not (false: close the transport). `ahead`: the command to start
    /// ahead for the next fetch (protocol v2 only).
    pub fn rest(&mut self, ahead: Option<String>) -> bool {
        let state = core::mem::replace(&mut self.state, State::Over);
        let State::Busy(s) = state else {
            self.state = state;
            return self.resting();
        };
        let v2 = s.fetch_v2() == Some(true);
        let ssh = (*s).into_ssh();
        if self.closed || ssh.is_dead() {
            log::debug!(
                "git: not keeping the connection (transport closed {}, ssh over {})",
                self.closed,
                ssh.is_dead()
            );
            return false;
        }
        let mut rest = Rest {
            ssh,
            warm: ahead.map_or(Warm::Off, Warm::Wanted),
            // A v2 server serves commands until a lone flush-pkt: end it,
            // so it exits and the channel's exit status frees the
            // connection for the next.
            flush_owed: if v2 { FLUSH.len() } else { 0 },
        };
        rest.pay_flush();
        self.state = State::Resting(rest);
        true
    }

    /// Resting and alive: it may take a command.
    pub fn resting(&self) -> bool {
        match &self.state {
            State::Resting(r) => !self.closed && !r.ssh.is_dead(),
            _ => false,
        }
    }

    /// Run `command` driving `op` on the resting connection; handed back
    /// when it cannot take a command now.
    pub fn run(
        &mut self,
        command: &str,
        op: Op,
        now: u64,
        timeouts: Timeouts,
    ) -> Result<(), Box<Refused>> {
        let alive = self.resting();
        let State::Resting(r) = &mut self.state else {
            return Err(Box::new(Refused { op, wait: false }));
        };
        if !alive {
            return Err(Box::new(Refused { op, wait: false }));
        }
        let ahead = match r.take(command, now) {
            Ok(ahead) => ahead,
            Err(wait) => return Err(Box::new(Refused { op, wait })),
        };
        let State::Resting(r) = core::mem::replace(&mut self.state, State::Over) else {
            unreachable!("checked above");
        };
        self.state = State::Busy(Box::new(Session::new(r.ssh, op, now, timeouts)));
        self.reused = true;
        self.ahead = ahead;
        self.started = false;
        Ok(())
    }

    /// The command runs on a kept connection.
    pub fn reused(&self) -> bool {
        self.reused
    }

    /// The command was started ahead.
    pub fn ahead(&self) -> bool {
        self.ahead
    }

    /// Did the remote take the command (login done, exec sent)?
    pub fn started(&self) -> bool {
        self.started
    }

    /// For a fetch: whether the server spoke protocol v2.
    pub fn fetch_v2(&self) -> Option<bool> {
        match &self.state {
            State::Busy(s) => s.fetch_v2(),
            _ => None,
        }
    }

    /// When [`Conn::poll`] must run next at the latest.
    pub fn next_deadline(&self) -> u64 {
        match &self.state {
            State::Busy(s) => s.next_deadline(),
            _ => u64::MAX,
        }
    }

    /// The server's host key fingerprint, once seen.
    pub fn observed_host_key(&self) -> Option<&str> {
        match &self.state {
            State::Busy(s) => s.observed_host_key(),
            State::Resting(r) => r.ssh.observed(),
            State::Over => None,
        }
    }
}

impl<E: Exec> Rest<E> {
    /// Write what is owed of the flush-pkt, as far as the channel takes it.
    fn pay_flush(&mut self) {
        if self.ssh.eof() {
            self.flush_owed = 0; // the command ended without it
        }
        if self.flush_owed > 0 {
            let from = FLUSH.len() - self.flush_owed;
            self.flush_owed -= self.ssh.write(&FLUSH[from..]).min(self.flush_owed);
        }
    }

    /// Do what the connection allows while resting; the bytes to send.
    fn step(&mut self) -> Vec<u8> {
        if let Warm::Running(_) = self.warm {
            if self.ssh.eof() || self.ssh.finished() {
                log::debug!("git: the upload-pack started ahead ended by itself");
                self.warm = Warm::Off;
            }
        }
        if !matches!(self.warm, Warm::Running(_)) {
            // What the last command still wrote (a fetch may stop reading
            // at its last packet) is dropped: sunset hands the channel's
            // exit status out only after its data.
            let mut scratch = [0u8; 2048];
            while self.ssh.read(&mut scratch) > 0 {}
        }
        let _ = self.ssh.progress();
        self.pay_flush();
        self.start_ahead();
        self.ssh.output()
    }

    /// Start the wanted command once the last channel is closed. sunset
    /// 0.6 never reuses a channel the server closed before we were done
    /// with it, so a connection runs [`CHANNELS`] commands in all; the
    /// last one too is started ahead (a push finding it there asks for a
    /// new connection rather than wait for it).
    fn start_ahead(&mut self) {
        let Warm::Wanted(cmd) = &self.warm else {
            return;
        };
        let ssh = &mut self.ssh;
        if !(ssh.reusable() && ssh.channel_closed() && ssh.channels_opened() < CHANNELS) {
            return;
        }
        let cmd = cmd.clone();
        self.warm = match ssh.next_command(&cmd) {
            Ok(()) => {
                log::debug!("git: {cmd} started ahead on the kept connection");
                self.flush_owed = 0; // owed to the last command only
                Warm::Running(cmd)
            }
            Err(e) => {
                log::debug!("git: could not start {cmd} ahead: {e:?}");
                Warm::Off
            }
        };
    }

    /// Take `command`: Ok(true) when it is the one started ahead,
    /// Ok(false) when started now; Err(wait) when it cannot run now.
    fn take(&mut self, command: &str, now: u64) -> Result<bool, bool> {
        match &self.warm {
            Warm::Running(c) if c == command => {
                self.warm = Warm::Off;
                return Ok(true);
            }
            Warm::Running(_) if self.ssh.channels_opened() >= CHANNELS => {
                // No channel left once it ends: a new connection at once.
                log::debug!("git: the kept connection has no channel left for {command}");
                return Err(false);
            }
            Warm::Running(_) => {
                // A v2 upload-pack ends on a lone flush-pkt.
                self.flush_owed = FLUSH.len();
                self.pay_flush();
                self.warm = Warm::Ending(now);
                return Err(true);
            }
            _ => {}
        }
        if let Err(e) = self.ssh.next_command(command) {
            let wait = matches!(self.warm, Warm::Ending(t) if now < t + WARM_END_NS)
                && !self.ssh.is_dead();
            if !wait {
                log::debug!("git: the kept connection cannot run a command: {e:?}");
            }
            return Err(wait);
        }
        self.warm = Warm::Off;
        self.flush_owed = 0; // owed to the last command only
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake::{head, receive_pack_says, upload_pack_says, FakeExec, Script, Shared};
    use crate::proto::fetch::{Fetch, Fetched};
    use crate::proto::push::{Push, Pushed};
    use alloc::vec;

    const SEC: u64 = 1_000_000_000;
    const UPLOAD: &str = "env GIT_PROTOCOL=version=2 git-upload-pack 'zones'";
    const RECEIVE: &str = "git-receive-pack 'zones'";

    fn fetch() -> Op {
        Op::Fetch(Fetch::new("main", vec![head()], true, 1 << 20))
    }

    fn push() -> Op {
        let new = crate::oid::Oid::from_hex(b"2222222222222222222222222222222222222222").unwrap();
        Op::Push(Push::new("main", head(), new, b"PACK".to_vec()))
    }

    /// A connection logged in and running its first command.
    fn open(script: &Shared, command: &str, op: Op) -> Conn<FakeExec> {
        let mut c = Conn::new(FakeExec::new(script), op, 0, Timeouts::default());
        c.transport_up();
        script.borrow_mut().login(command);
        c
    }

    /// Feed the server's bytes and move ours, as the byte pump does.
    fn turn(
        c: &mut Conn<FakeExec>,
        now: u64,
        server: &[u8],
    ) -> Option<Result<Outcome, SessionError>> {
        if !server.is_empty() {
            c.input(now, server);
        }
        let n = c.pending_output().len();
        c.consume_output(n);
        c.poll(now)
    }

    /// Not resting: a command is handed back, not to wait for.
    fn takes_none(c: &mut Conn<FakeExec>) {
        assert!(!c.resting());
        let back = c.run(RECEIVE, push(), SEC, Timeouts::default());
        assert!(!back.unwrap_err().wait);
    }

    fn up_to_date() -> Option<Result<Outcome, SessionError>> {
        Some(Ok(Outcome::Fetched(Fetched::UpToDate(head()))))
    }

    #[test]
    fn a_fetch_rests_ends_its_upload_pack_and_the_next_runs_started_ahead() {
        let s = Script::new(true);
        let mut c = open(&s, UPLOAD, fetch());
        assert_eq!(turn(&mut c, 0, &upload_pack_says()), up_to_date());
        assert!(c.started() && !c.reused());
        assert!(c.rest(Some(String::from(UPLOAD))));
        // The lone flush-pkt ends the v2 serve loop.
        assert!(s.borrow().written(0).ends_with(b"0000"));
        turn(&mut c, SEC, b"");
        assert_eq!(
            s.borrow().commands.len(),
            1,
            "nothing started before the channel closed"
        );
        s.borrow_mut().exit();
        turn(&mut c, 2 * SEC, b"");
        assert_eq!(s.borrow().commands, [UPLOAD, UPLOAD]);
        // Its capabilities wait unread for the fetch while it rests.
        turn(&mut c, 3 * SEC, &upload_pack_says());
        assert!(c.run(UPLOAD, fetch(), 4 * SEC, Timeouts::default()).is_ok());
        assert!(c.reused() && c.ahead());
        assert_eq!(s.borrow().commands.len(), 2, "no third command");
        assert_eq!(turn(&mut c, 4 * SEC, b""), up_to_date());
    }

    #[test]
    fn a_push_waits_for_the_command_started_ahead_to_end_and_pays_its_flush_once_it_runs() {
        let s = Script::new(true);
        let mut c = open(&s, UPLOAD, fetch());
        assert_eq!(turn(&mut c, 0, &upload_pack_says()), up_to_date());
        c.rest(Some(String::from(UPLOAD)));
        s.borrow_mut().auto_open = false;
        s.borrow_mut().exit();
        turn(&mut c, SEC, b"");
        assert_eq!(s.borrow().commands.len(), 2);
        // The push finds the upload-pack started ahead; its exec has not
        // gone out yet, so the flush-pkt ending it stays owed.
        let back = c
            .run(RECEIVE, push(), 2 * SEC, Timeouts::default())
            .unwrap_err();
        assert!(back.wait);
        assert_eq!(s.borrow().written(1), b"");
        s.borrow_mut().open();
        turn(&mut c, 2 * SEC, b"");
        assert_eq!(s.borrow().written(1), b"0000");
        s.borrow_mut().exit();
        turn(&mut c, 3 * SEC, b"");
        assert!(c
            .run(RECEIVE, back.op, 3 * SEC, Timeouts::default())
            .is_ok());
        assert!(c.reused() && !c.ahead());
        s.borrow_mut().open();
        assert_eq!(
            turn(&mut c, 3 * SEC, &receive_pack_says()),
            Some(Ok(Outcome::Pushed(Pushed::Ok)))
        );
        assert!(
            s.borrow().written(2).ends_with(b"PACK"),
            "the pack went to receive-pack"
        );
    }

    #[test]
    fn an_upload_pack_started_ahead_that_never_ends_is_given_up_after_warm_end() {
        let s = Script::new(true);
        let mut c = open(&s, UPLOAD, fetch());
        turn(&mut c, 0, &upload_pack_says());
        c.rest(Some(String::from(UPLOAD)));
        s.borrow_mut().exit();
        turn(&mut c, SEC, b"");
        let back = c
            .run(RECEIVE, push(), SEC, Timeouts::default())
            .unwrap_err();
        assert!(back.wait);
        let back = c
            .run(RECEIVE, back.op, SEC + WARM_END_NS - 1, Timeouts::default())
            .unwrap_err();
        assert!(back.wait, "still within the wait");
        let back = c
            .run(RECEIVE, back.op, SEC + WARM_END_NS, Timeouts::default())
            .unwrap_err();
        assert!(!back.wait, "a new connection now");
    }

    #[test]
    fn the_last_channel_started_ahead_sends_another_command_to_a_new_connection() {
        let s = Script::new(true);
        let mut c = open(&s, UPLOAD, fetch());
        turn(&mut c, 0, &upload_pack_says());
        for n in 1..CHANNELS - 1 {
            c.rest(Some(String::from(UPLOAD)));
            s.borrow_mut().exit();
            turn(&mut c, n as u64 * SEC, b"");
            assert!(c
                .run(UPLOAD, fetch(), n as u64 * SEC, Timeouts::default())
                .is_ok());
            assert_eq!(
                turn(&mut c, n as u64 * SEC, &upload_pack_says()),
                up_to_date()
            );
        }
        c.rest(Some(String::from(UPLOAD)));
        s.borrow_mut().exit();
        turn(&mut c, 9 * SEC, b"");
        assert_eq!(
            s.borrow().commands.len(),
            CHANNELS,
            "the last one started ahead"
        );
        let back = c
            .run(RECEIVE, push(), 9 * SEC, Timeouts::default())
            .unwrap_err();
        assert!(
            !back.wait,
            "no channel left once it ends: a new connection at once"
        );
        // The fetch it was started for still takes it.
        assert!(c.run(UPLOAD, fetch(), 9 * SEC, Timeouts::default()).is_ok());
        assert!(c.ahead());
    }

    #[test]
    fn v0_and_push_rest_without_flush_and_nothing_started_ahead() {
        let s = Script::new(true);
        let mut c = open(&s, RECEIVE, push());
        assert_eq!(
            turn(&mut c, 0, &receive_pack_says()),
            Some(Ok(Outcome::Pushed(Pushed::Ok)))
        );
        assert!(c.rest(None));
        assert!(
            s.borrow().written(0).ends_with(b"PACK"),
            "no flush-pkt after a push"
        );
        s.borrow_mut().exit();
        turn(&mut c, SEC, b"");
        assert_eq!(s.borrow().commands.len(), 1);
        assert!(c.resting());
        assert!(c.run(RECEIVE, push(), 2 * SEC, Timeouts::default()).is_ok());
        assert!(!c.ahead());
    }

    #[test]
    fn a_connection_closed_under_its_command_fails_it_and_is_not_kept() {
        let s = Script::new(true);
        let mut c = open(&s, RECEIVE, push());
        turn(&mut c, 0, b"");
        c.transport_closed();
        assert_eq!(c.poll(SEC), Some(Err(SessionError::Closed)));
        assert!(!c.rest(None));
        takes_none(&mut c);
    }

    #[test]
    fn a_resting_connection_the_server_ended_takes_no_command() {
        let s = Script::new(true);
        let mut c = open(&s, RECEIVE, push());
        turn(&mut c, 0, &receive_pack_says());
        assert!(c.rest(None));
        s.borrow_mut().dead = true;
        turn(&mut c, SEC, b"");
        takes_none(&mut c);
    }

    #[test]
    fn a_silent_server_stalls_the_command_at_the_idle_timeout() {
        let s = Script::new(true);
        let t = Timeouts {
            idle_ns: 5 * SEC,
            total_ns: 60 * SEC,
        };
        let mut c = Conn::new(FakeExec::new(&s), push(), 0, t);
        assert!(!c.was_connected());
        assert_eq!(c.next_deadline(), 5 * SEC);
        assert_eq!(turn(&mut c, 5 * SEC - 1, b""), None);
        assert!(!c.started(), "never logged in");
        assert_eq!(turn(&mut c, 5 * SEC, b""), Some(Err(SessionError::Stalled)));
    }
}
