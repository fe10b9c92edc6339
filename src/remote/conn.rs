//! One TCP connection to the git remote carrying one [`Session`]: connect,
//! move bytes between the smoltcp socket and the session, close.

use alloc::boxed::Box;
use alloc::vec::Vec;
use gitns_git::remote::Remote;
use gitns_git::session::{Op, Outcome, Session, SessionError, Timeouts};
use gitns_git::ssh::{Credential, SshExec};
use gitns_net::smoltcp::iface::SocketHandle;
use gitns_net::smoltcp::socket::tcp;
use gitns_net::smoltcp::wire::{IpAddress, IpEndpoint, Ipv4Address};
use gitns_net::Net;

/// Receive window: a clone of a large zone streams in at this many bytes
/// per round trip.
const RX_BYTES: usize = 256 * 1024;
const TX_BYTES: usize = 64 * 1024;

/// A connection with its session.
pub struct Conn {
    handle: SocketHandle,
    session: Session,
    unsent: Vec<u8>,
    established: bool,
    running: bool,
    target: IpEndpoint,
    /// Runs on a kept connection (see [`Idle`]).
    pub reused: bool,
    /// Its command was started ahead (see [`Warm`]).
    pub ahead: bool,
}

/// A connection kept between commands: authenticated, no command of ours
/// running. Its bytes still move (the server closing the last channel,
/// keepalives) until the next command or until it is closed.
///
/// With protocol v2 the next fetch's upload-pack is started ahead
/// ([`Warm`]): sshd's fork and exec of it was ~100 ms of a NOTIFY's fetch
/// here. A v2 upload-pack reads no ref before its first command (the
/// capability advertisement is static), so the ls-refs sent at NOTIFY time
/// sees the refs of that time; one started ahead serves one fetch and is
/// ended after it like any other.
pub struct Idle {
    handle: SocketHandle,
    ssh: SshExec,
    unsent: Vec<u8>,
    target: IpEndpoint,
    warm: Warm,
    /// Bytes of a lone flush-pkt still owed to the running command (it
    /// ends a v2 upload-pack). The channel takes stdin only once its exec
    /// went out, so a command started ahead moments ago cannot take it
    /// yet: dropping it left the upload-pack waiting and a push stalled
    /// for WARM_END_NS (2 s) behind it.
    flush_owed: usize,
}

/// A lone flush-pkt (gitprotocol-v2 "Command Request": a request without
/// command ends the server's serve loop).
const FLUSH: &[u8] = b"0000";

/// The command started ahead on an [`Idle`] connection.
enum Warm {
    /// None wanted (protocol v0: its upload-pack advertises refs as it
    /// starts, so one started ahead would offer stale refs).
    Off,
    /// Start this command once the last channel is closed.
    Wanted(alloc::string::String),
    /// This command runs; its output waits unread for the fetch.
    Running(alloc::string::String),
    /// Told to end (another command is wanted) at this time.
    Ending(u64),
}

/// Session channels one SSH connection has (sunset's MAX_CHANNELS).
const CHANNELS: usize = 4;

/// How long a push waits for an upload-pack started ahead to end before
/// it gives up on the kept connection and opens another.
const WARM_END_NS: u64 = 2_000_000_000;

/// How a connection attempt or session ended badly, for the log.
pub fn describe(e: &SessionError, target: IpEndpoint, established: bool) -> alloc::string::String {
    match e {
        SessionError::Closed if !established => alloc::format!("cannot connect to {target}"),
        e => alloc::format!("{target}: {e}"),
    }
}

impl Conn {
    /// Open a connection to `remote` and run `command` (git-upload-pack or
    /// git-receive-pack with the repository path) driving `op`.
    #[allow(clippy::too_many_arguments)]
    pub fn open(
        net: &mut Net,
        remote: &Remote,
        ip: Ipv4Address,
        cred: &Credential,
        pin: Option<&str>,
        command: &str,
        op: Op,
        local_port: u16,
        now: u64,
        timeouts: Timeouts,
    ) -> Result<Conn, alloc::string::String> {
        let target = IpEndpoint::new(IpAddress::Ipv4(ip), remote.port);
        let handle = net.connect_tcp(target, local_port, RX_BYTES, TX_BYTES)?;
        let ssh = SshExec::new(&remote.user, cred.clone(), command, pin);
        Ok(Conn {
            handle,
            session: Session::new(ssh, op, now, timeouts),
            unsent: Vec::new(),
            established: false,
            running: false,
            target,
            reused: false,
            ahead: false,
        })
    }

    /// Keep the connection once its session is over, if another command
    /// may follow on it; otherwise close it.
    /// `ahead`: the command to start ahead for the next fetch (v2 only).
    pub fn keep(
        self,
        net: &mut Net,
        closing: &mut Vec<SocketHandle>,
        ahead: Option<alloc::string::String>,
    ) -> Option<Idle> {
        let open = net.sockets.get_mut::<tcp::Socket>(self.handle).may_send();
        let v2 = self.session.fetch_v2() == Some(true);
        let ssh = self.session.into_ssh();
        if open && !ssh.is_dead() {
            let mut idle = Idle {
                handle: self.handle,
                ssh,
                unsent: self.unsent,
                target: self.target,
                warm: ahead.map_or(Warm::Off, Warm::Wanted),
                // A v2 server serves commands until a lone flush-pkt: end
                // it, so it exits and the channel's exit status frees the
                // connection for the next.
                flush_owed: if v2 { FLUSH.len() } else { 0 },
            };
            idle.pay_flush();
            return Some(idle);
        }
        log::debug!(
            "git: not keeping the connection (socket open {open}, ssh over {})",
            ssh.is_dead()
        );
        close_socket(net, self.handle, closing);
        None
    }

    /// Did the command start (the remote took it)?
    pub fn running(&self) -> bool {
        self.running
    }

    /// Move bytes both ways; the outcome once the session is over.
    /// Returns (moved anything, outcome).
    pub fn pump(
        &mut self,
        net: &mut Net,
        now: u64,
    ) -> (bool, Option<Result<Outcome, SessionError>>) {
        let sock = net.sockets.get_mut::<tcp::Socket>(self.handle);
        let mut busy = false;
        if !self.established && sock.state() == tcp::State::Established {
            log::debug!("git: connected to {}", self.target);
            self.established = true;
        }
        while sock.can_recv() {
            let session = &mut self.session;
            let n = sock
                .recv(|d| {
                    session.input(now, d);
                    (d.len(), d.len())
                })
                .unwrap_or(0);
            if n == 0 {
                break;
            }
            busy = true;
        }
        self.unsent.extend_from_slice(&self.session.output());
        if sock.can_send() && !self.unsent.is_empty() {
            let n = sock.send_slice(&self.unsent).unwrap_or(0);
            self.unsent.drain(..n);
            busy |= n > 0;
        }
        if !sock.is_open() || sock.state() == tcp::State::CloseWait {
            self.session.closed();
        }
        if !self.running && self.session.command_running() {
            log::debug!("git: logged in, remote command running");
            self.running = true;
        }
        (busy, self.session.poll(now).cloned())
    }

    /// Describe a failure of this connection for the log.
    pub fn describe(&self, e: &SessionError) -> alloc::string::String {
        describe(e, self.target, self.established)
    }

    /// For a fetch: whether the server spoke protocol v2.
    pub fn fetch_v2(&self) -> Option<bool> {
        self.session.fetch_v2()
    }

    /// When the connection needs a pump at the latest.
    pub fn next_deadline(&self) -> u64 {
        self.session.next_deadline()
    }

    /// The server's host key fingerprint, once seen.
    pub fn observed_host_key(&self) -> Option<&str> {
        self.session.observed_host_key()
    }

    /// Close the connection; the socket is reaped by [`reap`] once done.
    pub fn close(self, net: &mut Net, closing: &mut Vec<SocketHandle>) {
        close_socket(net, self.handle, closing);
    }
}

impl Idle {
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

    /// Move bytes both ways; false once the connection is gone.
    pub fn pump(&mut self, net: &mut Net) -> bool {
        let sock = net.sockets.get_mut::<tcp::Socket>(self.handle);
        let ssh = &mut self.ssh;
        while sock.can_recv() {
            let n = sock
                .recv(|d| {
                    let ok = ssh.input(d).is_ok();
                    (d.len(), (d.len(), ok))
                })
                .unwrap_or((0, true));
            if n.0 == 0 || !n.1 {
                break;
            }
        }
        if let Warm::Running(_) = self.warm {
            if ssh.eof() || ssh.finished {
                log::debug!("git: the upload-pack started ahead ended by itself");
                self.warm = Warm::Off;
            }
        }
        if !matches!(self.warm, Warm::Running(_)) {
            // What the last command still wrote (a fetch may stop reading
            // at its last packet) is dropped: sunset hands the channel's
            // exit status out only after its data.
            let mut scratch = [0u8; 2048];
            while ssh.read(&mut scratch) > 0 {}
        }
        let _ = ssh.progress();
        self.pay_flush();
        let ssh = &mut self.ssh;
        if let Warm::Wanted(cmd) = &self.warm {
            // sunset 0.6 never reuses a channel the server closed before
            // we were done with it, so a connection runs CHANNELS commands
            // in all; the last one too is started ahead (a push finding it
            // there opens a new connection rather than wait for it).
            if ssh.reusable() && ssh.channel_closed() && ssh.channels_opened < CHANNELS {
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
        }
        self.unsent.extend_from_slice(&ssh.output());
        if sock.can_send() && !self.unsent.is_empty() {
            let n = sock.send_slice(&self.unsent).unwrap_or(0);
            self.unsent.drain(..n);
        }
        sock.may_send() && sock.state() != tcp::State::CloseWait && !ssh.is_dead()
    }

    /// Run `command` driving `op` on this connection; back when it cannot
    /// take a command now (the last channel not closed yet), with true
    /// when it will shortly (the command started ahead is ending): wait
    /// and ask again rather than open another connection.
    pub fn run(
        mut self,
        command: &str,
        op: Op,
        now: u64,
        timeouts: Timeouts,
    ) -> Result<Conn, Box<(Idle, Op, bool)>> {
        match &self.warm {
            Warm::Running(c) if c == command => {
                self.warm = Warm::Off;
                let mut conn = self.into_conn(op, now, timeouts);
                conn.ahead = true;
                return Ok(conn);
            }
            Warm::Running(_) if self.ssh.channels_opened >= CHANNELS => {
                // No channel left once it ends: a new connection at once.
                log::debug!("git: the kept connection has no channel left for {command}");
                return Err(Box::new((self, op, false)));
            }
            Warm::Running(_) => {
                // A v2 upload-pack ends on a lone flush-pkt.
                self.flush_owed = FLUSH.len();
                self.pay_flush();
                self.warm = Warm::Ending(now);
                return Err(Box::new((self, op, true)));
            }
            _ => {}
        }
        if let Err(e) = self.ssh.next_command(command) {
            let wait = matches!(self.warm, Warm::Ending(t) if now < t + WARM_END_NS)
                && !self.ssh.is_dead();
            if !wait {
                log::debug!("git: the kept connection cannot run a command: {e:?}");
            }
            return Err(Box::new((self, op, wait)));
        }
        self.warm = Warm::Off;
        self.flush_owed = 0; // owed to the last command only
        Ok(self.into_conn(op, now, timeouts))
    }

    fn into_conn(self, op: Op, now: u64, timeouts: Timeouts) -> Conn {
        Conn {
            handle: self.handle,
            session: Session::new(self.ssh, op, now, timeouts),
            unsent: self.unsent,
            established: true,
            running: false,
            target: self.target,
            reused: true,
            ahead: false,
        }
    }

    pub fn close(self, net: &mut Net, closing: &mut Vec<SocketHandle>) {
        close_socket(net, self.handle, closing);
    }
}

/// Close `handle`; the socket is reaped by [`reap`] once done.
fn close_socket(net: &mut Net, handle: SocketHandle, closing: &mut Vec<SocketHandle>) {
    net.sockets.get_mut::<tcp::Socket>(handle).close();
    closing.push(handle);
    if closing.len() > 8 {
        let h = closing.remove(0);
        net.sockets.get_mut::<tcp::Socket>(h).abort();
        net.sockets.remove(h);
    }
}

/// Remove closed sockets from the set.
pub fn reap(net: &mut Net, closing: &mut Vec<SocketHandle>) {
    closing.retain(|&h| {
        let s = net.sockets.get_mut::<tcp::Socket>(h);
        let done = matches!(s.state(), tcp::State::Closed | tcp::State::TimeWait);
        if done {
            net.sockets.remove(h);
        }
        !done
    });
}
