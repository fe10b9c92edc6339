//! One git operation (fetch or push) over one SSH connection, sans-I/O:
//! TCP bytes in, TCP bytes out, time passed in. It runs the remote command
//! through [`SshExec`], feeds the command's output to the protocol state
//! machine and its requests back, and gives up on a stall or an overall
//! deadline.

use crate::exec::Exec;
use crate::proto::fetch::{Fetch, Fetched};
use crate::proto::push::{Push, Pushed};
use crate::proto::ProtoError;
use crate::ssh::{SshError, SshExec};
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::fmt;

/// The operation a session runs.
pub enum Op {
    Fetch(Fetch),
    Push(Push),
}

/// What a finished session produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Fetched(Fetched),
    Pushed(Pushed),
}

/// Why a session failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SessionError {
    Ssh(SshError),
    Proto(ProtoError),
    /// No byte from the server for the idle timeout.
    Stalled,
    /// The whole operation took longer than its deadline.
    Deadline,
    /// The connection or the remote command ended before the result.
    Closed,
    /// The remote command ended before the result, saying why on stderr
    /// (the last line of it).
    RemoteExit(String),
}

impl fmt::Display for SessionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SessionError::Ssh(SshError::HostKeyMismatch { expected, observed }) => write!(
                f,
                "host key mismatch: expected {expected}, the server has {observed}"
            ),
            SessionError::Ssh(SshError::Closed) => {
                write!(f, "ssh: connection closed (authentication refused?)")
            }
            SessionError::Ssh(SshError::Protocol(e)) => write!(f, "ssh: {e}"),
            SessionError::Proto(e) => write!(f, "git protocol: {e:?}"),
            SessionError::Stalled => write!(f, "the server stalled"),
            SessionError::Deadline => write!(f, "the operation took too long"),
            SessionError::Closed => write!(f, "the connection ended before the result"),
            SessionError::RemoteExit(why) => write!(f, "the remote command failed: {why}"),
        }
    }
}

/// Time limits, in nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    pub idle_ns: u64,
    pub total_ns: u64,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            idle_ns: 30_000_000_000,
            total_ns: 300_000_000_000,
        }
    }
}

/// A running session, over SSH ([`SshExec`]) or, in tests, a fake.
pub struct Session<E: Exec = SshExec> {
    ssh: E,
    op: Op,
    /// Protocol bytes the channel has not taken yet.
    unsent: Vec<u8>,
    idle_until: u64,
    deadline: u64,
    timeouts: Timeouts,
    result: Option<Result<Outcome, SessionError>>,
    scratch: Vec<u8>,
}

impl<E: Exec> Session<E> {
    /// The SSH connection, once the session is over: another command can
    /// run on it ([`Exec::next_command`]).
    pub fn into_ssh(self) -> E {
        self.ssh
    }

    /// The connection under the session.
    pub fn ssh(&self) -> &E {
        &self.ssh
    }

    pub fn new(ssh: E, op: Op, now: u64, timeouts: Timeouts) -> Session<E> {
        Session {
            ssh,
            op,
            unsent: Vec::new(),
            idle_until: now.saturating_add(timeouts.idle_ns),
            deadline: now.saturating_add(timeouts.total_ns),
            timeouts,
            result: None,
            scratch: vec![0; 16 * 1024],
        }
    }

    /// Bytes received from the server.
    pub fn input(&mut self, now: u64, data: &[u8]) {
        if self.result.is_some() || data.is_empty() {
            return;
        }
        self.idle_until = now.saturating_add(self.timeouts.idle_ns);
        if let Err(e) = self.ssh.input(data) {
            self.fail(SessionError::Ssh(e));
        }
        self.step();
    }

    /// The server closed the connection.
    pub fn closed(&mut self) {
        self.step();
        let e = self.ended();
        self.fail(e);
    }

    /// Bytes to send to the server now.
    pub fn output(&mut self) -> Vec<u8> {
        self.step();
        self.ssh.output()
    }

    /// Check the clocks; the result once the session is over.
    pub fn poll(&mut self, now: u64) -> Option<&Result<Outcome, SessionError>> {
        self.step();
        if now >= self.deadline {
            self.fail(SessionError::Deadline);
        } else if now >= self.idle_until {
            self.fail(SessionError::Stalled);
        }
        self.result.as_ref()
    }

    /// When [`Session::poll`] must run next at the latest.
    pub fn next_deadline(&self) -> u64 {
        self.idle_until.min(self.deadline)
    }

    /// For a fetch: whether the server speaks protocol v2.
    pub fn fetch_v2(&self) -> Option<bool> {
        match &self.op {
            Op::Fetch(f) => Some(f.protocol_v2()),
            Op::Push(_) => None,
        }
    }

    /// True once the remote command runs (SSH handshake and login done).
    pub fn command_running(&self) -> bool {
        self.ssh.ready()
    }

    /// The server's host key fingerprint, once seen.
    pub fn observed_host_key(&self) -> Option<&str> {
        self.ssh.observed()
    }

    fn fail(&mut self, e: SessionError) {
        if self.result.is_none() {
            self.result = Some(Err(e));
        }
    }

    /// Move bytes between the channel and the protocol until neither moves.
    fn step(&mut self) {
        if self.result.is_some() {
            return;
        }
        if let Err(e) = self.ssh.progress() {
            return self.fail(SessionError::Ssh(e));
        }
        if !self.ssh.ready() {
            if self.ssh.finished() {
                self.fail(self.ended());
            }
            return;
        }
        loop {
            let n = self.ssh.read(&mut self.scratch);
            if n == 0 {
                break;
            }
            let r = match &mut self.op {
                Op::Fetch(f) => f.input(&self.scratch[..n]),
                Op::Push(p) => p.input(&self.scratch[..n]),
            };
            if let Err(e) = r {
                return self.fail(SessionError::Proto(e));
            }
        }
        let (out, done) = match &mut self.op {
            Op::Fetch(f) => (f.take_output(), f.result().cloned().map(Outcome::Fetched)),
            Op::Push(p) => (p.take_output(), p.result().cloned().map(Outcome::Pushed)),
        };
        self.unsent.extend_from_slice(&out);
        while !self.unsent.is_empty() {
            let n = self.ssh.write(&self.unsent);
            if n == 0 {
                break;
            }
            self.unsent.drain(..n);
        }
        if let Some(r) = done {
            self.result = Some(Ok(r));
        } else if self.ssh.eof() {
            let e = self.ended();
            self.fail(e);
        }
    }

    /// Why the command ended without a result: its stderr, if it said.
    fn ended(&self) -> SessionError {
        let text = alloc::string::String::from_utf8_lossy(self.ssh.stderr()).into_owned();
        match text.lines().rev().find(|l| !l.trim().is_empty()) {
            Some(line) => SessionError::RemoteExit(alloc::string::String::from(line.trim())),
            None => SessionError::Closed,
        }
    }
}
