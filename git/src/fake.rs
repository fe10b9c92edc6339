//! A scripted [`Exec`] for unit tests: the test plays the server through a
//! shared [`Script`] (log in, open a channel, exit, close, die), and the
//! transport bytes the code under test feeds in become the running
//! command's stdout, so a test sends git's own pkt-lines as the server.

use crate::exec::Exec;
use crate::oid::Oid;
use crate::pktline;
use crate::ssh::SshError;
use alloc::rc::Rc;
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::RefCell;

/// The server's side, shared between the test and the [`FakeExec`].
#[derive(Default)]
pub struct Script {
    pub logged_in: bool,
    /// Confirm channel opens at once (else [`Script::open`] does).
    pub auto_open: bool,
    /// The command's exec went out: its stdin is writable.
    pub exec_sent: bool,
    pub exited: bool,
    pub eof: bool,
    pub closed: bool,
    pub dead: bool,
    /// Commands started, in order.
    pub commands: Vec<String>,
    /// What the client wrote to each command's stdin.
    pub stdin: Vec<Vec<u8>>,
    /// The running command's output not read yet.
    pub stdout: Vec<u8>,
    /// What the running command wrote to stderr.
    pub stderr: Vec<u8>,
    /// Bytes for the network (what was written to stdin, as a stand-in).
    pub wire: Vec<u8>,
}

pub type Shared = Rc<RefCell<Script>>;

impl Script {
    pub fn new(auto_open: bool) -> Shared {
        Rc::new(RefCell::new(Script {
            auto_open,
            ..Script::default()
        }))
    }

    /// Login done, the first command's channel open and its exec sent.
    pub fn login(&mut self, command: &str) {
        self.logged_in = true;
        self.commands.push(String::from(command));
        self.stdin.push(Vec::new());
        self.exec_sent = true;
    }

    /// The server confirms the pending channel: the exec goes out.
    pub fn open(&mut self) {
        self.exec_sent = true;
    }

    /// The command exits and its channel closes (what sshd does).
    pub fn exit(&mut self) {
        self.exited = true;
        self.eof = true;
        self.closed = true;
    }

    /// What the client wrote to the command number `n` (from 0).
    pub fn written(&self, n: usize) -> &[u8] {
        &self.stdin[n]
    }
}

pub struct FakeExec {
    s: Shared,
    /// The script's stderr as of the last call that could copy it.
    stderr: Vec<u8>,
}

impl FakeExec {
    pub fn new(s: &Shared) -> FakeExec {
        FakeExec {
            s: s.clone(),
            stderr: Vec::new(),
        }
    }
}

impl Exec for FakeExec {
    fn input(&mut self, data: &[u8]) -> Result<(), SshError> {
        let mut s = self.s.borrow_mut();
        if s.dead {
            return Err(SshError::Closed);
        }
        s.stdout.extend_from_slice(data);
        Ok(())
    }
    fn output(&mut self) -> Vec<u8> {
        core::mem::take(&mut self.s.borrow_mut().wire)
    }
    fn progress(&mut self) -> Result<(), SshError> {
        let mut s = self.s.borrow_mut();
        self.stderr.clone_from(&s.stderr);
        if s.auto_open && s.logged_in {
            s.exec_sent = true;
        }
        Ok(())
    }
    fn ready(&self) -> bool {
        let s = self.s.borrow();
        s.exec_sent && s.logged_in
    }
    fn finished(&self) -> bool {
        let s = self.s.borrow();
        s.exited || s.dead
    }
    fn eof(&self) -> bool {
        let s = self.s.borrow();
        s.eof || s.closed || (s.dead && !s.logged_in)
    }
    fn read(&mut self, buf: &mut [u8]) -> usize {
        let mut s = self.s.borrow_mut();
        let n = buf.len().min(s.stdout.len());
        buf[..n].copy_from_slice(&s.stdout[..n]);
        s.stdout.drain(..n);
        n
    }
    fn write(&mut self, data: &[u8]) -> usize {
        let mut s = self.s.borrow_mut();
        if !s.exec_sent || s.closed || s.dead {
            return 0;
        }
        s.stdin
            .last_mut()
            .expect("a command")
            .extend_from_slice(data);
        s.wire.extend_from_slice(data);
        data.len()
    }
    fn stderr(&self) -> &[u8] {
        &self.stderr
    }
    fn observed(&self) -> Option<&str> {
        None
    }
    fn is_dead(&self) -> bool {
        self.s.borrow().dead
    }
    fn reusable(&self) -> bool {
        let s = self.s.borrow();
        s.logged_in && !s.dead && s.exited
    }
    fn channel_closed(&self) -> bool {
        self.s.borrow().closed
    }
    fn channels_opened(&self) -> usize {
        self.s.borrow().commands.len()
    }
    fn next_command(&mut self, command: &str) -> Result<(), SshError> {
        if !self.reusable() {
            return Err(SshError::Protocol(String::from("not reusable")));
        }
        let mut s = self.s.borrow_mut();
        if s.commands.len() >= 4 {
            // sunset 0.6 has 4 channels and does not reuse closed ones.
            return Err(SshError::Protocol(String::from("no channel")));
        }
        s.commands.push(String::from(command));
        s.stdin.push(Vec::new());
        s.stdout.clear();
        s.stderr.clear();
        s.exec_sent = s.auto_open;
        s.exited = false;
        s.eof = false;
        s.closed = false;
        Ok(())
    }
}

/// The branch head the transcripts name.
pub fn head() -> Oid {
    Oid::from_hex(b"1111111111111111111111111111111111111111").expect("hex")
}

/// A v2 upload-pack: capabilities, then the ls-refs answer naming
/// [`head`] on main (gitprotocol-v2 "ls-refs").
pub fn upload_pack_says() -> Vec<u8> {
    let mut b = Vec::new();
    pktline::encode(&mut b, b"version 2\n");
    pktline::encode(&mut b, b"ls-refs\n");
    pktline::encode(&mut b, b"fetch\n");
    pktline::flush(&mut b);
    let line = alloc::format!("{} refs/heads/main\n", head());
    pktline::encode(&mut b, line.as_bytes());
    pktline::flush(&mut b);
    b
}

/// receive-pack's advertisement ([`head`] on main) and its report
/// accepting the push (report-status in side-band 1).
pub fn receive_pack_says() -> Vec<u8> {
    let mut b = Vec::new();
    let advert = alloc::format!("{} refs/heads/main\0report-status side-band-64k\n", head());
    pktline::encode(&mut b, advert.as_bytes());
    pktline::flush(&mut b);
    let mut report = alloc::vec![1u8];
    pktline::encode(&mut report, b"unpack ok\n");
    pktline::encode(&mut report, b"ok refs/heads/main\n");
    pktline::flush(&mut report);
    pktline::encode(&mut b, &report);
    pktline::flush(&mut b);
    b
}
