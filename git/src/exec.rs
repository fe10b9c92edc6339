//! What a [`Session`](crate::session::Session) and a
//! [`Conn`](crate::conn::Conn) need from the transport under them: remote
//! commands run one after another on one connection, their stdin and
//! stdout as byte streams. [`SshExec`] is the real one; the unit tests
//! drive the same code over a scripted fake (see `crate::fake`).

use crate::ssh::{SshError, SshExec};
use alloc::vec::Vec;

/// A connection that runs remote commands (RFC 4254 6.5 "exec"), one at a
/// time, each on its own session channel.
pub trait Exec {
    /// Bytes received from the network.
    fn input(&mut self, data: &[u8]) -> Result<(), SshError>;
    /// Bytes to write to the network.
    fn output(&mut self) -> Vec<u8>;
    /// Do what the bytes so far allow (key exchange, login, channel
    /// requests).
    fn progress(&mut self) -> Result<(), SshError>;
    /// The command runs: its stdin can be written.
    fn ready(&self) -> bool;
    /// The command exited (its exit status came) or the connection ended.
    fn finished(&self) -> bool;
    /// The command's stdout is at its end.
    fn eof(&self) -> bool;
    /// Read the command's stdout.
    fn read(&mut self, buf: &mut [u8]) -> usize;
    /// Write to the command's stdin; how much was taken.
    fn write(&mut self, data: &[u8]) -> usize;
    /// The tail of the command's stderr.
    fn stderr(&self) -> &[u8];
    /// The server's host key fingerprint, once seen.
    fn observed(&self) -> Option<&str>;
    /// Nothing more can run on the connection.
    fn is_dead(&self) -> bool;
    /// Another command can start now (see [`SshExec::reusable`]).
    fn reusable(&self) -> bool;
    /// The last command's channel is closed both ways.
    fn channel_closed(&self) -> bool;
    /// Session channels opened on the connection so far.
    fn channels_opened(&self) -> usize;
    /// Start `command` on a new channel.
    fn next_command(&mut self, command: &str) -> Result<(), SshError>;
}

impl Exec for SshExec {
    fn input(&mut self, data: &[u8]) -> Result<(), SshError> {
        SshExec::input(self, data)
    }
    fn output(&mut self) -> Vec<u8> {
        SshExec::output(self)
    }
    fn progress(&mut self) -> Result<(), SshError> {
        SshExec::progress(self)
    }
    fn ready(&self) -> bool {
        SshExec::ready(self)
    }
    fn finished(&self) -> bool {
        self.finished
    }
    fn eof(&self) -> bool {
        SshExec::eof(self)
    }
    fn read(&mut self, buf: &mut [u8]) -> usize {
        SshExec::read(self, buf)
    }
    fn write(&mut self, data: &[u8]) -> usize {
        SshExec::write(self, data)
    }
    fn stderr(&self) -> &[u8] {
        SshExec::stderr(self)
    }
    fn observed(&self) -> Option<&str> {
        self.observed.as_deref()
    }
    fn is_dead(&self) -> bool {
        SshExec::is_dead(self)
    }
    fn reusable(&self) -> bool {
        SshExec::reusable(self)
    }
    fn channel_closed(&self) -> bool {
        SshExec::channel_closed(self)
    }
    fn channels_opened(&self) -> usize {
        self.channels_opened
    }
    fn next_command(&mut self, command: &str) -> Result<(), SshError> {
        SshExec::next_command(self, command)
    }
}
