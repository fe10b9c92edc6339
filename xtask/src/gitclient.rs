//! gitns's git client (the same sans-I/O session the image runs, and the
//! read-only HTTPS and git:// fetches) driven over std TCP streams, for
//! benchmarks, tests and host-side tools.

use gitns_git::proto::fetch::Fetched;
use gitns_git::session::{Op, Outcome, Session, SessionError, Timeouts};
use gitns_git::ssh::{Credential, SshExec};
use gitns_git::transfer::{FetchError, Now, Transfer};
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// Run `op` through `command` on `addr` as `user`; time limits from
/// `timeouts` (the session enforces them).
pub fn run(
    addr: SocketAddr,
    user: &str,
    cred: Credential,
    pin: Option<&str>,
    command: &str,
    op: Op,
    timeouts: Timeouts,
) -> Result<Outcome, SessionError> {
    let t0 = Instant::now();
    let now = || t0.elapsed().as_nanos() as u64;
    let mut tcp = TcpStream::connect(addr).map_err(|_| SessionError::Closed)?;
    tcp.set_nodelay(true).map_err(|_| SessionError::Closed)?;
    tcp.set_read_timeout(Some(Duration::from_millis(2)))
        .map_err(|_| SessionError::Closed)?;
    let ssh = SshExec::new(user, cred, command, pin);
    let mut s = Session::new(ssh, op, now(), timeouts);
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let out = s.output();
        if !out.is_empty() && tcp.write_all(&out).is_err() {
            s.closed();
        }
        match tcp.read(&mut buf) {
            Ok(0) => s.closed(),
            Ok(n) => s.input(now(), &buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => s.closed(),
        }
        if let Some(r) = s.poll(now()) {
            return r.clone();
        }
    }
}

/// The two clocks of a [`Transfer`], counted from `t0`.
pub fn clock(t0: Instant) -> Now {
    Now {
        ns: t0.elapsed().as_nanos() as u64,
        unix: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
    }
}

/// Drive a read-only fetch (HTTPS, git://) made at `t0` over std TCP
/// streams: one per generation it asks for, its host mapped to an address
/// by `to_ip` (the tests' stand-in for a resolver); `limit` bounds it.
pub fn drive(
    t: &mut dyn Transfer,
    t0: Instant,
    to_ip: &dyn Fn(&str) -> String,
    limit: Duration,
) -> Result<Fetched, FetchError> {
    let mut generation = 0;
    let mut tcp: Option<TcpStream> = None;
    let mut buf = vec![0u8; 256 * 1024];
    while t0.elapsed() < limit {
        if t.generation() != generation {
            generation = t.generation();
            let (host, port) = t.endpoint();
            tcp = TcpStream::connect((to_ip(host).as_str(), port)).ok();
            match &tcp {
                Some(s) => {
                    let _ = s.set_nodelay(true);
                    let _ = s.set_read_timeout(Some(Duration::from_millis(2)));
                    t.transport_up();
                }
                None => t.transport_closed(clock(t0)),
            }
        }
        if let Some(s) = tcp.as_mut() {
            let out = t.pending_output().to_vec();
            if !out.is_empty() && s.write_all(&out).is_ok() {
                t.consume_output(out.len());
            }
            match s.read(&mut buf) {
                Ok(n) if n > 0 => t.input(clock(t0), &buf[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                    ) => {}
                _ => {
                    tcp = None;
                    t.transport_closed(clock(t0));
                }
            }
        }
        if let Some(r) = t.poll(clock(t0)) {
            return r.clone();
        }
    }
    Err(FetchError::Deadline)
}
