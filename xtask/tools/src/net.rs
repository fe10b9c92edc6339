//! One DNS exchange with a server, over UDP (RFC 1035 4.2.1, retried) or
//! TCP (4.2.2, length-prefixed), bounded in time.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::time::Duration;

/// Bound on one TCP exchange; an UPDATE is answered after the git push.
const TCP_TIMEOUT: Duration = Duration::from_secs(30);
const UDP_WAIT: Duration = Duration::from_secs(2);
const UDP_TRIES: usize = 3;

/// Send `msg` over UDP and return the answer with the same ID.
pub fn exchange(server: &str, msg: &[u8]) -> Result<Vec<u8>, String> {
    let server: SocketAddr = server
        .parse()
        .map_err(|_| format!("{server}: not IP:PORT"))?;
    udp_exchange(server, msg)
}

/// [`exchange`] with a parsed address.
pub fn udp_exchange(server: SocketAddr, msg: &[u8]) -> Result<Vec<u8>, String> {
    let any = if server.is_ipv6() {
        "[::]:0"
    } else {
        "0.0.0.0:0"
    };
    let sock = UdpSocket::bind(any).map_err(|e| e.to_string())?;
    sock.set_read_timeout(Some(UDP_WAIT))
        .map_err(|e| e.to_string())?;
    for _ in 0..UDP_TRIES {
        sock.send_to(msg, server)
            .map_err(|e| format!("{server}: {e}"))?;
        let mut buf = [0u8; 65535];
        while let Ok((n, from)) = sock.recv_from(&mut buf) {
            if from == server && n >= 12 && buf[..2] == msg[..2] {
                return Ok(buf[..n].to_vec());
            }
        }
    }
    Err(format!(
        "{server}: no answer ({UDP_TRIES} tries, {} s each)",
        UDP_WAIT.as_secs()
    ))
}

/// One DNS exchange over TCP, bounded.
pub fn tcp_exchange(server: SocketAddr, msg: &[u8]) -> Result<Vec<u8>, String> {
    let e = |e: std::io::Error| format!("{server} (TCP): {e}");
    let mut s = TcpStream::connect_timeout(&server, Duration::from_secs(5)).map_err(e)?;
    s.set_read_timeout(Some(TCP_TIMEOUT)).map_err(e)?;
    s.set_write_timeout(Some(TCP_TIMEOUT)).map_err(e)?;
    let mut framed = (msg.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(msg);
    s.write_all(&framed).map_err(e)?;
    let mut len = [0u8; 2];
    s.read_exact(&mut len).map_err(e)?;
    let mut resp = vec![0u8; u16::from_be_bytes(len) as usize];
    s.read_exact(&mut resp).map_err(e)?;
    if resp.len() < 12 || resp[..2] != msg[..2] {
        return Err(format!("{server}: an answer to another message"));
    }
    Ok(resp)
}
