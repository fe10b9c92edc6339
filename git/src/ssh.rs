//! The SSH transport (feature `ssh`): an exec channel over sunset's
//! sans-I/O `Runner`, with ed25519 user keys from a 32-byte seed (the
//! `--ssh-key=ed25519:<base64 seed>` form) or a password, and the host key
//! checked against a pinned `SHA256:<unpadded base64>` fingerprint (as
//! `ssh-keygen -lf` prints it). No pin: accept and report the fingerprint.

use alloc::string::String;

use alloc::vec::Vec;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};
use sunset::{ChanData, ChanHandle, CliEvent, Event, PubKey, Runner, SignKey};

/// Why the SSH session failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SshError {
    /// The server's host key does not match the pinned fingerprint.
    HostKeyMismatch { expected: String, observed: String },
    /// Authentication failed or the connection ended.
    Closed,
    /// sunset reported an error.
    Protocol(String),
}

/// How to log in.
#[derive(Clone)]
pub enum Credential {
    Ed25519Seed([u8; 32]),
    Password(String),
}

/// `SHA256:` fingerprint of an ed25519 public key (SHA-256 of its SSH wire
/// encoding, unpadded base64).
pub fn fingerprint_ed25519(key: &[u8; 32]) -> String {
    let mut blob = Vec::with_capacity(51);
    blob.extend_from_slice(&11u32.to_be_bytes());
    blob.extend_from_slice(b"ssh-ed25519");
    blob.extend_from_slice(&32u32.to_be_bytes());
    blob.extend_from_slice(key);
    let d = Sha256::digest(&blob);
    let mut s = String::from("SHA256:");
    s.push_str(&STANDARD_NO_PAD.encode(d));
    s
}

/// The ed25519 public key of a seed.
pub fn ed25519_public(seed: &[u8; 32]) -> [u8; 32] {
    sunset::ed25519_dalek::SigningKey::from_bytes(seed)
        .verifying_key()
        .to_bytes()
}

/// The OpenSSH public key line of a seed (`ssh-ed25519 BASE64 comment`).
pub fn public_key_line(seed: &[u8; 32], comment: &str) -> String {
    let k = ed25519_public(seed);
    let mut blob = Vec::with_capacity(51);
    blob.extend_from_slice(&11u32.to_be_bytes());
    blob.extend_from_slice(b"ssh-ed25519");
    blob.extend_from_slice(&32u32.to_be_bytes());
    blob.extend_from_slice(&k);
    let mut s = String::from("ssh-ed25519 ");
    s.push_str(&base64::engine::general_purpose::STANDARD.encode(blob));
    s.push(' ');
    s.push_str(comment);
    s
}

/// One SSH connection running one command at a time: after a command
/// ended, [`SshExec::next_command`] runs another on a new session channel
/// of the same connection (RFC 4254 6.1), with no key exchange or user
/// authentication again.
pub struct SshExec {
    runner: Runner<'static, sunset::Client>,
    user: String,
    cred: Option<Credential>,
    command: String,
    pin: Option<String>,
    /// The server's host key fingerprint, once seen.
    pub observed: Option<String>,
    chan: Option<ChanHandle>,
    /// Bytes from the network sunset has not taken yet.
    pending: Vec<u8>,
    exec_sent: bool,
    /// The remote command exited (or the connection ended).
    pub finished: bool,
    failed: Option<SshError>,
    /// The tail of what the remote command wrote to stderr.
    stderr: Vec<u8>,
    /// User authentication succeeded.
    authenticated: bool,
    /// The connection is over (sunset says Defunct).
    dead: bool,
    /// Session channels opened on this connection so far.
    pub channels_opened: usize,
}

/// Bytes of the remote's stderr kept for error messages.
const STDERR_KEEP: usize = 2048;

impl SshExec {
    pub fn new(user: &str, cred: Credential, command: &str, pin: Option<&str>) -> SshExec {
        SshExec {
            runner: Runner::new_client_owned(),
            user: String::from(user),
            cred: Some(cred),
            command: String::from(command),
            pin: pin.map(String::from),
            observed: None,
            chan: None,
            pending: Vec::new(),
            exec_sent: false,
            finished: false,
            failed: None,
            stderr: Vec::new(),
            authenticated: false,
            dead: false,
            channels_opened: 0,
        }
    }

    /// Can [`SshExec::next_command`] run a command now: authenticated, the
    /// connection alive, and the last command's exit status received (a
    /// channel sends one at most, RFC 4254 6.10, so it cannot be taken
    /// for the next command's).
    pub fn reusable(&self) -> bool {
        self.authenticated
            && !self.dead
            && self.failed.is_none()
            && self.finished
            && self.chan.is_some()
    }

    /// The last command's channel is closed both ways (its CLOSE came):
    /// a new channel opens without waiting on it.
    pub fn channel_closed(&self) -> bool {
        self.chan
            .as_ref()
            .is_some_and(|c| self.runner.is_channel_closed(c))
    }

    /// Run `command` on a new session channel; see [`SshExec::reusable`].
    pub fn next_command(&mut self, command: &str) -> Result<(), SshError> {
        if !self.reusable() {
            return Err(SshError::Protocol(alloc::format!(
                "not reusable: authenticated {} dead {} failed {:?} finished {} chan {}",
                self.authenticated,
                self.dead,
                self.failed,
                self.finished,
                self.chan.is_some()
            )));
        }
        if let Some(old) = self.chan.take() {
            self.runner
                .channel_done(old)
                .map_err(|e| SshError::Protocol(alloc::format!("{e:?}")))?;
        }
        self.command = String::from(command);
        self.exec_sent = false;
        self.finished = false;
        self.stderr.clear();
        self.chan = Some(
            self.runner
                .open_client_session()
                .inspect(|_| self.channels_opened += 1)
                .map_err(|e| SshError::Protocol(alloc::format!("{e:?}")))?,
        );
        self.pump()
    }

    /// The connection ended (or failed): nothing more can run on it.
    pub fn is_dead(&self) -> bool {
        self.dead || self.failed.is_some()
    }

    /// The tail of the remote command's stderr (git's "fatal: ..." lines).
    pub fn stderr(&self) -> &[u8] {
        &self.stderr
    }

    /// Feed bytes from the TCP connection (all are kept; sunset takes them
    /// as it has room).
    pub fn input(&mut self, data: &[u8]) -> Result<(), SshError> {
        self.pending.extend_from_slice(data);
        self.pump()
    }

    fn pump(&mut self) -> Result<(), SshError> {
        for _ in 0..1024 {
            self.progress()?;
            if self.pending.is_empty() || !self.runner.is_input_ready() {
                return Ok(());
            }
            let n = self
                .runner
                .input(&self.pending)
                .map_err(|e| SshError::Protocol(alloc::format!("{e:?}")))?;
            self.pending.drain(..n);
            if n == 0 {
                return self.progress();
            }
        }
        Ok(())
    }

    /// Bytes to write to the TCP connection.
    pub fn output(&mut self) -> Vec<u8> {
        let _ = self.pump();
        let b = self.runner.output_buf().to_vec();
        self.runner.consume_output(b.len());
        b
    }

    /// True once the command runs (its stdin can be written).
    pub fn ready(&self) -> bool {
        self.exec_sent && self.chan.is_some()
    }

    /// Read the command's stdout. Stderr data in the way is taken into
    /// [`SshExec::stderr`]: sunset hands channel data out in arrival
    /// order, so unread stderr would block stdout and the channel's end.
    pub fn read(&mut self, buf: &mut [u8]) -> usize {
        let _ = self.pump();
        loop {
            let Some(c) = self.chan.as_ref() else {
                return 0;
            };
            if !matches!(
                self.runner.read_channel_ready(),
                Some((_, ChanData::Stderr, _))
            ) {
                return self
                    .runner
                    .read_channel(c, ChanData::Normal, buf)
                    .unwrap_or(0);
            }
            let mut tmp = [0u8; 512];
            let n = self
                .runner
                .read_channel(c, ChanData::Stderr, &mut tmp)
                .unwrap_or(0);
            if n == 0 {
                let _ = self.runner.discard_read_channel(c);
            }
            self.stderr.extend_from_slice(&tmp[..n]);
            if self.stderr.len() > STDERR_KEEP {
                let cut = self.stderr.len() - STDERR_KEEP;
                self.stderr.drain(..cut);
            }
            let _ = self.pump();
        }
    }

    /// Write to the command's stdin; returns how much was taken.
    pub fn write(&mut self, data: &[u8]) -> usize {
        let n = match &self.chan {
            Some(c) if self.exec_sent => self
                .runner
                .write_channel(c, ChanData::Normal, data)
                .unwrap_or(0),
            _ => 0,
        };
        let _ = self.pump();
        n
    }

    /// Drive sunset until it has nothing more to do.
    pub fn progress(&mut self) -> Result<(), SshError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        for _ in 0..64 {
            let (mut open_session, mut defunct) = (false, false);
            {
                let ev = self.runner.progress().map_err(proto)?;
                let Event::Cli(ev) = ev else {
                    if matches!(ev, Event::None) {
                        return Ok(());
                    }
                    continue; // Progressed, or a server event
                };
                match ev {
                    CliEvent::Hostkey(h) => {
                        let key = match h.hostkey() {
                            Ok(PubKey::Ed25519(k)) => Some(k.key.0),
                            _ => None,
                        };
                        let fp = key.map(|k| fingerprint_ed25519(&k)).unwrap_or_default();
                        self.observed = Some(fp.clone());
                        match &self.pin {
                            Some(p) if *p != fp => {
                                let _ = h.reject();
                                self.failed = Some(SshError::HostKeyMismatch {
                                    expected: p.clone(),
                                    observed: fp,
                                });
                                return Err(self.failed.clone().unwrap_or(SshError::Closed));
                            }
                            _ => h.accept().map_err(proto)?,
                        }
                    }
                    CliEvent::Username(r) => r.username(&self.user).map_err(proto)?,
                    CliEvent::Pubkey(r) => match take_if(&mut self.cred, Credential::seed) {
                        Some(seed) => r
                            .pubkey(SignKey::Ed25519(
                                sunset::ed25519_dalek::SigningKey::from_bytes(&seed),
                            ))
                            .map_err(proto)?,
                        None => r.skip().map_err(proto)?,
                    },
                    CliEvent::Password(r) => match take_if(&mut self.cred, Credential::password) {
                        Some(p) => r.password(p).map_err(proto)?,
                        None => r.skip().map_err(proto)?,
                    },
                    CliEvent::AgentSign(r) => r.skip().map_err(proto)?,
                    CliEvent::Authenticated => {
                        self.authenticated = true;
                        open_session = true
                    }
                    CliEvent::SessionOpened(mut o) => {
                        o.exec(&self.command).map_err(proto)?;
                        self.exec_sent = true;
                    }
                    CliEvent::SessionExit(_) => self.finished = true,
                    CliEvent::Defunct => defunct = true,
                    CliEvent::Banner(_) | CliEvent::PollAgain => {}
                }
            }
            if defunct {
                return self.defunct();
            }
            if open_session {
                self.chan = Some(
                    self.runner
                        .open_client_session()
                        .inspect(|_| self.channels_opened += 1)
                        .map_err(proto)?,
                );
            }
        }
        Ok(())
    }

    /// The connection ended: an error unless the command was started.
    fn defunct(&mut self) -> Result<(), SshError> {
        self.finished = true;
        self.dead = true;
        if !self.exec_sent {
            self.failed = Some(SshError::Closed);
            return Err(SshError::Closed);
        }
        Ok(())
    }

    /// Is the remote command's output finished (EOF on its stdout)?
    pub fn eof(&self) -> bool {
        match &self.chan {
            Some(c) => self.runner.is_channel_eof(c) || self.runner.is_channel_closed(c),
            None => self.finished,
        }
    }
}

/// A sunset error as ours.
fn proto(e: impl core::fmt::Debug) -> SshError {
    SshError::Protocol(alloc::format!("{e:?}"))
}

/// The credential, taken (it is offered once) when `pick` finds the kind
/// asked for; left in place otherwise.
fn take_if<T>(cred: &mut Option<Credential>, pick: fn(&Credential) -> Option<T>) -> Option<T> {
    let got = cred.as_ref().and_then(pick)?;
    *cred = None;
    Some(got)
}

impl Credential {
    fn seed(&self) -> Option<[u8; 32]> {
        match self {
            Credential::Ed25519Seed(s) => Some(*s),
            Credential::Password(_) => None,
        }
    }

    fn password(&self) -> Option<String> {
        match self {
            Credential::Password(p) => Some(p.clone()),
            Credential::Ed25519Seed(_) => None,
        }
    }
}
