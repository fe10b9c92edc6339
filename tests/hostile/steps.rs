//! The steps of the hostile-traffic probe. Each step sends its traffic,
//! calls `check` once while whatever it holds open is still open (the
//! normal client must be answered then), and may verify more after.

use super::wire::*;
use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, TcpStream, UdpSocket};
use std::time::{Duration, Instant};

/// Where the probe sends and from which addresses.
pub struct Ctx {
    pub server: Ipv4Addr,
    /// Extra source addresses of the namespace (routed by the server
    /// through its gateway, so one neighbour entry serves them all).
    pub sources: Vec<Ipv4Addr>,
}

pub type Check<'a> = &'a mut dyn FnMut() -> Result<(), String>;

pub struct Step {
    pub name: &'static str,
    pub run: fn(&Ctx, Check) -> Result<(), String>,
}

pub const STEPS: &[Step] = &[
    Step {
        name: "malformed headers",
        run: malformed_headers,
    },
    Step {
        name: "malformed names",
        run: malformed_names,
    },
    Step {
        name: "UDP flood (1 s)",
        run: udp_flood,
    },
    Step {
        name: "mutated queries",
        run: mutated,
    },
    Step {
        name: "64 idle TCP connections from one address",
        run: idle_one_source,
    },
    Step {
        name: "200 idle TCP connections",
        run: idle_200,
    },
    Step {
        name: "1000 idle TCP connections",
        run: idle_1000,
    },
    Step {
        name: "slowloris (40 connections, byte by byte)",
        run: slowloris,
    },
    Step {
        name: "zero-window readers",
        run: zero_window,
    },
    Step {
        name: "pipelines never read",
        run: pipelines_never_read,
    },
    Step {
        name: "TCP garbage",
        run: tcp_garbage,
    },
    Step {
        name: "connect churn",
        run: connect_churn,
    },
    Step {
        name: "oversized length prefixes",
        run: length_prefixes,
    },
    Step {
        name: "EDNS edge cases",
        run: edns_edges,
    },
];

fn www() -> String {
    format!("www.{ZONE}")
}

/// Send every message over UDP, then framed on TCP connections (a new
/// one whenever the server closed the last).
fn send_both(ctx: &Ctx, msgs: &[Vec<u8>]) -> Result<(), String> {
    let u = udp_from(ctx.sources[0]);
    for m in msgs {
        let _ = u.send_to(m, (ctx.server, 53));
    }
    let mut conn: Option<TcpStream> = None;
    for m in msgs {
        if conn.is_none() {
            conn = Some(
                tcp_from(ctx.sources[0], ctx.server, None).map_err(|e| format!("connect: {e}"))?,
            );
        }
        if conn
            .as_mut()
            .is_some_and(|c| c.write_all(&framed(m)).is_err())
        {
            conn = None;
        }
    }
    Ok(())
}

fn malformed_headers(ctx: &Ctx, check: Check) -> Result<(), String> {
    let q = query(7, &www(), 1);
    let mut msgs: Vec<Vec<u8>> = (0..12).map(|n| q[..n].to_vec()).collect();
    msgs.push(vec![0xff; 12]);
    msgs.push(header(1, 0, [1, 0, 0, 0])); // a question promised, none there
    let mut m = header(2, 0, [0xffff, 0xffff, 0xffff, 0xffff]);
    m.extend_from_slice(&q[12..]);
    msgs.push(m);
    let mut resp = q.clone();
    resp[2] |= 0x80; // QR: a response sent to a server
    msgs.push(resp);
    for opcode in 0..16u16 {
        let mut m = q.clone();
        m[2] = (m[2] & 0x87) | ((opcode as u8) << 3);
        msgs.push(m);
    }
    let mut rng = Rng::new(1);
    for _ in 0..200 {
        let n = 12 + rng.below(48);
        msgs.push(rng.bytes(n));
    }
    send_both(ctx, &msgs)?;
    check()
}

fn malformed_names(ctx: &Ctx, check: Check) -> Result<(), String> {
    let mut long = Vec::new();
    for _ in 0..130 {
        long.extend_from_slice(&[1, b'a']);
    }
    long.push(0);
    let mut label64 = vec![64];
    label64.extend_from_slice(&[b'a'; 64]);
    label64.push(0);
    let names: Vec<Vec<u8>> = vec![
        vec![5, b'a', b'b'],       // label past the end
        vec![0xc0, 12],            // pointer to itself
        vec![1, b'a', 0xc0, 12],   // loop through a label
        vec![0xc0, 0xff],          // pointer past the end
        vec![0xc0],                // half a pointer
        vec![0x40, 0],             // extended label type
        vec![0x80, 0],             // reserved label type
        long,                      // longer than 255 octets
        label64,                   // 64-octet label
        vec![3, b'w', 0, b'w', 0], // NUL inside a label
    ];
    let msgs: Vec<Vec<u8>> = names
        .iter()
        .map(|n| {
            let mut m = header(3, 0x0100, [1, 0, 0, 0]);
            m.extend_from_slice(n);
            m.extend_from_slice(&[0, 1, 0, 1]);
            m
        })
        .collect();
    send_both(ctx, &msgs)?;
    check()
}

fn udp_flood(ctx: &Ctx, check: Check) -> Result<(), String> {
    let socks: Vec<UdpSocket> = ctx.sources[..4].iter().map(|s| udp_from(*s)).collect();
    for s in &socks {
        s.set_nonblocking(true).map_err(|e| e.to_string())?;
    }
    let q = query(9, &www(), 1);
    let mut rng = Rng::new(3);
    let (start, mut sent) = (Instant::now(), 0u64);
    while start.elapsed() < Duration::from_secs(1) {
        for s in &socks {
            let junk;
            let m: &[u8] = if sent % 4 == 3 {
                junk = rng.bytes(30);
                &junk
            } else {
                &q
            };
            if s.send_to(m, (ctx.server, 53)).is_ok() {
                sent += 1;
            }
        }
    }
    eprintln!("    {sent} datagrams in 1 s");
    check()
}

fn mutated(ctx: &Ctx, check: Check) -> Result<(), String> {
    let bases = [
        query(11, &www(), 1),
        query_opts(12, &format!("big.{ZONE}"), 16, &[Opt::plain(1232)]),
        query(13, ZONE, 6),
    ];
    let mut rng = Rng::new(5);
    let mut msgs = Vec::new();
    for i in 0..3000 {
        let mut m = bases[i % bases.len()].clone();
        match rng.below(3) {
            0 => {
                for _ in 0..1 + rng.below(4) {
                    let at = rng.below(m.len());
                    m[at] ^= 1 << rng.below(8);
                }
            }
            1 => m.truncate(rng.below(m.len())),
            _ => {
                let at = rng.below(m.len());
                let k = 1 + rng.below(8);
                let extra = rng.bytes(k);
                m.splice(at..at, extra);
            }
        }
        msgs.push(m);
    }
    send_both(ctx, &msgs[..300])?;
    let u = udp_from(ctx.sources[1]);
    for m in &msgs {
        let _ = u.send_to(m, (ctx.server, 53));
    }
    check()
}

/// `n` connections spread over `sources`, each from the next address.
fn open_many(ctx: &Ctx, n: usize, sources: &[Ipv4Addr]) -> Result<Vec<TcpStream>, String> {
    (0..n)
        .map(|i| {
            let src = sources[i % sources.len()];
            tcp_from(src, ctx.server, None).map_err(|e| format!("connection {i} from {src}: {e}"))
        })
        .collect()
}

fn idle_one_source(ctx: &Ctx, check: Check) -> Result<(), String> {
    let held = open_many(ctx, 64, &ctx.sources[..1])?;
    check()?;
    drop(held);
    Ok(())
}

/// Hold `n` idle connections (25 per address), check, then the first
/// connection of every address must still answer.
fn idle_n(ctx: &Ctx, n: usize, check: Check) -> Result<(), String> {
    let srcs = &ctx.sources[..n / 25];
    let mut held = open_many(ctx, n, srcs)?;
    // Long enough for gitns to park them outside its socket set (1 s).
    std::thread::sleep(Duration::from_millis(1500));
    check()?;
    for (i, c) in held.iter_mut().take(srcs.len()).enumerate() {
        ask_on(c, 100 + i as u16, Duration::from_secs(1))
            .map_err(|e| format!("held connection {i} (of {n}) no longer answers: {e}"))?;
    }
    Ok(())
}

fn idle_200(ctx: &Ctx, check: Check) -> Result<(), String> {
    idle_n(ctx, 200, check)
}

fn idle_1000(ctx: &Ctx, check: Check) -> Result<(), String> {
    idle_n(ctx, 1000, check)
}

fn slowloris(ctx: &Ctx, check: Check) -> Result<(), String> {
    let mut conns = open_many(ctx, 40, &ctx.sources[..5])?;
    let msg = framed(&query(21, &www(), 1));
    for (i, b) in msg.iter().enumerate() {
        for c in &mut conns {
            c.write_all(&[*b]).map_err(|e| format!("slow write: {e}"))?;
        }
        if i == msg.len() / 2 {
            check()?;
        }
        std::thread::sleep(Duration::from_millis(30));
    }
    for (i, c) in conns.iter_mut().enumerate() {
        let r = read_framed(c, Duration::from_secs(2))
            .map_err(|e| format!("slow client {i} got no answer: {e}"))?;
        if r.get(..2) != Some(&21u16.to_be_bytes()[..]) {
            return Err(format!("slow client {i}: wrong answer {r:02x?}"));
        }
    }
    Ok(())
}

/// Write framed copies of `msg` without blocking until the connection
/// takes no more or `limit` passes; returns the bytes written.
fn stuff(c: &mut TcpStream, msg: &[u8], copies: usize, limit: Duration) -> usize {
    let _ = c.set_nonblocking(true);
    let block: Vec<u8> = framed(msg).repeat(copies);
    let (start, mut off) = (Instant::now(), 0);
    while off < block.len() && start.elapsed() < limit {
        match c.write(&block[off..]) {
            Ok(n) => off += n,
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(5))
            }
            Err(_) => break,
        }
    }
    off
}

fn zero_window(ctx: &Ctx, check: Check) -> Result<(), String> {
    let big = query(31, &format!("big.{ZONE}"), 16);
    let mut held = Vec::new();
    for i in 0..20 {
        let mut c = tcp_from(ctx.sources[i % 4], ctx.server, Some(2048))
            .map_err(|e| format!("connect: {e}"))?;
        stuff(&mut c, &big, 300, Duration::from_millis(50));
        held.push(c);
    }
    std::thread::sleep(Duration::from_millis(300));
    check()
}

fn pipelines_never_read(ctx: &Ctx, check: Check) -> Result<(), String> {
    let q = query(41, &www(), 1);
    let mut held = open_many(ctx, 8, &ctx.sources[..4])?;
    let mut total = 0;
    for c in &mut held {
        total += stuff(c, &q, 50_000, Duration::from_millis(120));
    }
    eprintln!("    {total} bytes of queries written, none read");
    check()
}

fn tcp_garbage(ctx: &Ctx, check: Check) -> Result<(), String> {
    let mut rng = Rng::new(7);
    for i in 0..50 {
        let Ok(mut c) = tcp_from(ctx.sources[i % 4], ctx.server, None) else {
            continue;
        };
        let _ = c.write_all(&rng.bytes(4096));
    }
    let mut c = tcp_from(ctx.sources[0], ctx.server, None).map_err(|e| e.to_string())?;
    let start = Instant::now();
    while start.elapsed() < Duration::from_millis(500) {
        if stuff(&mut c, &rng.bytes(512), 1, Duration::from_millis(20)) == 0 {
            break;
        }
    }
    check()
}

fn connect_churn(ctx: &Ctx, check: Check) -> Result<(), String> {
    let half = framed(&query(51, &www(), 1));
    let (start, mut n) = (Instant::now(), 0usize);
    while start.elapsed() < Duration::from_secs(2) {
        let Ok(mut c) = tcp_from(ctx.sources[n % 8], ctx.server, None) else {
            continue;
        };
        match n % 3 {
            0 => drop(c),
            1 => reset(c),
            _ => {
                let _ = c.write_all(&half[..half.len() / 2]);
            }
        }
        n += 1;
    }
    eprintln!("    {n} connections opened and dropped in 2 s");
    check()
}

fn length_prefixes(ctx: &Ctx, check: Check) -> Result<(), String> {
    let q = query(61, &www(), 1);
    let mut rng = Rng::new(9);
    let mut full = vec![0xff, 0xff];
    full.extend(rng.bytes(65535));
    let mut zero_then_query = vec![0, 0];
    zero_then_query.extend(framed(&q));
    let openers: Vec<Vec<u8>> = vec![
        [vec![0xff, 0xff], rng.bytes(100)].concat(), // promises 64 KiB, sends 100
        zero_then_query,                             // an empty message first
        vec![0, 1, 0],                               // one byte
        [vec![0, 11], q[..11].to_vec()].concat(),    // shorter than a header
        full,                                        // 64 KiB of garbage
    ];
    let mut held = Vec::new();
    for o in openers.iter().cycle().take(20) {
        let mut c = tcp_from(ctx.sources[held.len() % 4], ctx.server, None)
            .map_err(|e| format!("connect: {e}"))?;
        stuff(&mut c, o, 1, Duration::from_millis(200));
        held.push(c);
    }
    check()?;
    // Drain what came back so dropping does not reset mid-answer.
    for c in &mut held {
        let _ = c.set_nonblocking(true);
        let _ = c.read(&mut [0u8; 1024]);
    }
    Ok(())
}

fn edns_edges(ctx: &Ctx, check: Check) -> Result<(), String> {
    let w = www();
    let opt = |size, version, flags, rdlen, rdata| Opt {
        owner: &[0],
        size,
        version,
        flags,
        rdlen,
        rdata,
    };
    let mut msgs = vec![
        query_opts(
            71,
            &w,
            1,
            &[Opt {
                owner: &[1, b'x', 0],
                ..Opt::plain(1232)
            }],
        ),
        query_opts(72, &w, 1, &[Opt::plain(1232), Opt::plain(4096)]),
        query_opts(73, &w, 1, &[opt(1232, 1, 0, 0, &[])]),
        query_opts(74, &w, 1, &[opt(1232, 255, 0, 0, &[])]),
        query_opts(75, &w, 1, &[Opt::plain(0)]),
        query_opts(76, &w, 1, &[Opt::plain(1)]),
        query_opts(77, &w, 1, &[Opt::plain(65535)]),
        query_opts(78, &w, 1, &[opt(1232, 0, 0, 40, &[0, 3, 0, 4])]), // RDATA past the end
        query_opts(79, &w, 1, &[opt(1232, 0, 0, 7, &[0, 10, 0, 40, 1, 2, 3])]), // option past RDATA
        query_opts(80, &w, 1, &[opt(1232, 0, 0, 7, &[0, 10, 0, 3, 1, 2, 3])]), // 3-byte cookie
        query_opts(81, &w, 1, &[opt(1232, 0, 0x8000, 0, &[])]),       // DO
        query_opts(82, &w, 1, &[opt(1232, 0, 0, 6, &[0xfd, 0xe9, 0, 2, 1, 2])]), // unknown option
        query_opts(83, &w, 1, &[opt(1232, 0, 0, 4, &[0, 11, 0, 0])]), // keepalive on UDP
        query_opts(84, &format!("big.{ZONE}"), 16, &[Opt::plain(512)]), // answer > buffer: TC
    ];
    // OPT in the answer section.
    let mut m = query(85, &w, 1);
    m[7] = 1;
    Opt::plain(1232).write(&mut m);
    msgs.push(m);
    send_both(ctx, &msgs)?;
    check()
}
