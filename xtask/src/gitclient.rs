//! gitns's git client (the same sans-I/O session the image runs) driven
//! over a std TCP stream, for benchmarks and host-side tools.

use gitns_git::session::{Op, Outcome, Session, SessionError, Timeouts};
use gitns_git::ssh::{Credential, SshExec};
use std::io::{Read, Write};
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
