//! One TCP connection to the git remote carrying one [`Session`]: connect,
//! move bytes between the smoltcp socket and the session, close.

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
}

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
        })
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
        net.sockets.get_mut::<tcp::Socket>(self.handle).close();
        closing.push(self.handle);
        if closing.len() > 8 {
            let h = closing.remove(0);
            net.sockets.get_mut::<tcp::Socket>(h).abort();
            net.sockets.remove(h);
        }
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
