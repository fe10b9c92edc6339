//! DNS messages for the hostile-traffic probe: well-formed queries to
//! mutate, the normal client that must keep getting answers, and a small
//! deterministic random generator (no crate, reproducible failures).

use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

pub const ZONE: &str = "hostile.test";

/// The zone both servers serve: a few names, and `big` with TXT records
/// enough for a multi-kilobyte answer (zero-window readers ask it).
pub fn zone_text() -> String {
    let mut z = String::from(
        "$TTL 300\n@ SOA ns1 hostmaster 1 7200 3600 1209600 300\n@ NS ns1\nns1 A 10.0.0.2\nwww A 192.0.2.1\n",
    );
    for i in 0..24 {
        z.push_str(&format!("big TXT \"{i:02}{}\"\n", "x".repeat(200)));
    }
    z
}

/// xorshift64*: deterministic bytes for mutations and garbage.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// A name in wire form.
pub fn name(n: &str) -> Vec<u8> {
    let mut w = Vec::new();
    for l in n.split('.').filter(|l| !l.is_empty()) {
        w.push(l.len() as u8);
        w.extend_from_slice(l.as_bytes());
    }
    w.push(0);
    w
}

/// A query header: id, RD off, `qd`/`an`/`ns`/`ar` counts.
pub fn header(id: u16, flags: u16, counts: [u16; 4]) -> Vec<u8> {
    let mut m = Vec::with_capacity(512);
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(&flags.to_be_bytes());
    for c in counts {
        m.extend_from_slice(&c.to_be_bytes());
    }
    m
}

/// A plain query for `qname` `qtype` (no EDNS).
pub fn query(id: u16, qname: &str, qtype: u16) -> Vec<u8> {
    let mut m = header(id, 0, [1, 0, 0, 0]);
    m.extend_from_slice(&name(qname));
    m.extend_from_slice(&qtype.to_be_bytes());
    m.extend_from_slice(&1u16.to_be_bytes());
    m
}

/// An OPT record (RFC 6891 6.1.2): owner, payload size, extended rcode,
/// version, flags (DO = 0x8000), raw RDATA with a declared length.
pub struct Opt<'a> {
    pub owner: &'a [u8],
    pub size: u16,
    pub version: u8,
    pub flags: u16,
    pub rdlen: u16,
    pub rdata: &'a [u8],
}

impl Opt<'_> {
    pub fn plain(size: u16) -> Opt<'static> {
        Opt {
            owner: &[0],
            size,
            version: 0,
            flags: 0,
            rdlen: 0,
            rdata: &[],
        }
    }
    pub fn write(&self, m: &mut Vec<u8>) {
        m.extend_from_slice(self.owner);
        m.extend_from_slice(&41u16.to_be_bytes());
        m.extend_from_slice(&self.size.to_be_bytes());
        m.push(0);
        m.push(self.version);
        m.extend_from_slice(&self.flags.to_be_bytes());
        m.extend_from_slice(&self.rdlen.to_be_bytes());
        m.extend_from_slice(self.rdata);
    }
}

/// A query with OPT records in the additional section.
pub fn query_opts(id: u16, qname: &str, qtype: u16, opts: &[Opt]) -> Vec<u8> {
    let mut m = query(id, qname, qtype);
    m[11] = opts.len() as u8;
    for o in opts {
        o.write(&mut m);
    }
    m
}

/// A 2-byte length prefix and the message.
pub fn framed(msg: &[u8]) -> Vec<u8> {
    let mut f = (msg.len() as u16).to_be_bytes().to_vec();
    f.extend_from_slice(msg);
    f
}

/// A UDP socket from `src`.
pub fn udp_from(src: Ipv4Addr) -> UdpSocket {
    UdpSocket::bind((src, 0)).expect("bind UDP probe socket")
}

/// A TCP connection from `src` to `server`:53, optionally with a small
/// receive buffer (set before connecting: it sets the window).
pub fn tcp_from(
    src: Ipv4Addr,
    server: Ipv4Addr,
    rcvbuf: Option<usize>,
) -> std::io::Result<TcpStream> {
    let s = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP))?;
    s.bind(&SockAddr::from(SocketAddrV4::new(src, 0)))?;
    if let Some(n) = rcvbuf {
        s.set_recv_buffer_size(n)?;
    }
    let to = SocketAddr::V4(SocketAddrV4::new(server, 53));
    s.connect_timeout(&SockAddr::from(to), Duration::from_secs(2))?;
    Ok(s.into())
}

/// Close with RST (SO_LINGER 0).
pub fn reset(s: TcpStream) {
    let s = Socket::from(s);
    let _ = s.set_linger(Some(Duration::ZERO));
}

/// The RCODE of a response to `id`, or why there is none.
fn rcode_of(resp: &[u8], id: u16) -> Result<u8, String> {
    if resp.len() < 12 || resp[0..2] != id.to_be_bytes() || resp[2] & 0x80 == 0 {
        return Err(format!("not a response to id {id}: {resp:02x?}"));
    }
    Ok(resp[3] & 0x0f)
}

/// Ask `www` A over UDP from 10.0.0.1; the answer must come within `limit`.
/// The query is sent again every 200 ms, as a stub resolver with a short
/// timeout does: right after a burst the server's queues (the tap's, the
/// socket's) may still be full, and a datagram dropped there is UDP's
/// normal loss, not a server that stopped answering.
pub fn udp_answer(server: Ipv4Addr, id: u16, limit: Duration) -> Result<(), String> {
    const RESEND: Duration = Duration::from_millis(200);
    let s = udp_from(Ipv4Addr::new(10, 0, 0, 1));
    let start = Instant::now();
    let q = query(id, &format!("www.{ZONE}"), 1);
    let mut buf = [0u8; 4096];
    let mut sends = 0;
    loop {
        let since = start.elapsed();
        if since >= limit {
            return Err(format!("no UDP answer within {limit:?} ({sends} sends)"));
        }
        if since >= RESEND * sends {
            s.send_to(&q, (server, 53))
                .map_err(|e| format!("UDP send: {e}"))?;
            sends += 1;
        }
        let wait = (RESEND * sends).min(limit).saturating_sub(start.elapsed());
        s.set_read_timeout(Some(wait.max(Duration::from_millis(1))))
            .map_err(|e| e.to_string())?;
        match s.recv_from(&mut buf) {
            Ok((n, _)) => match rcode_of(&buf[..n], id) {
                Ok(0) => return Ok(()),
                Ok(r) => return Err(format!("rcode {r}")),
                Err(_) => continue, // not ours: wait on
            },
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(e) => return Err(format!("UDP receive: {e}")),
        }
    }
}

/// Ask `www` A over a new TCP connection from 10.0.0.1; connect, query
/// and answer within `limit`.
pub fn tcp_answer(server: Ipv4Addr, id: u16, limit: Duration) -> Result<(), String> {
    let start = Instant::now();
    let mut s = tcp_from(Ipv4Addr::new(10, 0, 0, 1), server, None)
        .map_err(|e| format!("TCP connect: {e}"))?;
    s.write_all(&framed(&query(id, &format!("www.{ZONE}"), 1)))
        .map_err(|e| format!("TCP write: {e}"))?;
    let resp = read_framed(&mut s, limit.saturating_sub(start.elapsed()))?;
    let r = rcode_of(&resp, id)?;
    if start.elapsed() > limit {
        return Err(format!("TCP answer after {:?}", start.elapsed()));
    }
    (r == 0).then_some(()).ok_or(format!("TCP rcode {r}"))
}

/// Read one length-prefixed message within `limit`.
pub fn read_framed(s: &mut TcpStream, limit: Duration) -> Result<Vec<u8>, String> {
    let end = Instant::now() + limit;
    let mut read = |buf: &mut [u8]| -> Result<(), String> {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(format!("no TCP answer within {limit:?}"));
        }
        s.set_read_timeout(Some(left)).map_err(|e| e.to_string())?;
        s.read_exact(buf).map_err(|e| format!("TCP read: {e}"))
    };
    let mut len = [0u8; 2];
    read(&mut len)?;
    let mut msg = vec![0u8; u16::from_be_bytes(len) as usize];
    read(&mut msg)?;
    Ok(msg)
}

/// Ask `www` A on an open connection and expect the answer within `limit`.
pub fn ask_on(s: &mut TcpStream, id: u16, limit: Duration) -> Result<(), String> {
    s.write_all(&framed(&query(id, &format!("www.{ZONE}"), 1)))
        .map_err(|e| format!("write: {e}"))?;
    let resp = read_framed(s, limit)?;
    match rcode_of(&resp, id)? {
        0 => Ok(()),
        r => Err(format!("rcode {r}")),
    }
}
