//! ICMP echo over a raw socket (root), for launch-to-first-ping timing.

use std::time::{Duration, Instant};

fn checksum(b: &[u8]) -> u16 {
    let mut sum = 0u32;
    for c in b.chunks(2) {
        sum += u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]) as u32;
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Send an echo request to `dst` every `interval` until a reply arrives or
/// `timeout` passes; returns when the reply came. Call it from a thread that
/// is inside the target's network namespace.
pub fn first_reply(dst: [u8; 4], interval: Duration, timeout: Duration) -> Result<Instant, String> {
    // SAFETY: plain socket(2) call; the fd is closed below.
    let fd = unsafe {
        libc::socket(
            libc::AF_INET,
            libc::SOCK_RAW | libc::SOCK_NONBLOCK,
            libc::IPPROTO_ICMP,
        )
    };
    if fd < 0 {
        return Err(format!("raw socket: {}", std::io::Error::last_os_error()));
    }
    let addr = libc::sockaddr_in {
        sin_family: libc::AF_INET as u16,
        sin_port: 0,
        sin_addr: libc::in_addr {
            s_addr: u32::from_ne_bytes(dst),
        },
        sin_zero: [0; 8],
    };
    let end = Instant::now() + timeout;
    let id = std::process::id() as u16;
    let mut seq = 0u16;
    let result = loop {
        if Instant::now() > end {
            break Err("no echo reply".to_string());
        }
        seq = seq.wrapping_add(1);
        let mut pkt = [
            8u8,
            0,
            0,
            0,
            (id >> 8) as u8,
            id as u8,
            (seq >> 8) as u8,
            seq as u8,
            b'g',
            b'i',
            b't',
            b'n',
            b's',
            0,
            0,
            0,
        ];
        let c = checksum(&pkt);
        pkt[2..4].copy_from_slice(&c.to_be_bytes());
        // SAFETY: pkt and addr are valid for the given lengths.
        unsafe {
            libc::sendto(
                fd,
                pkt.as_ptr().cast(),
                pkt.len(),
                0,
                (&addr as *const libc::sockaddr_in).cast(),
                std::mem::size_of::<libc::sockaddr_in>() as u32,
            );
        }
        let wait_until = Instant::now() + interval;
        let mut got = None;
        while Instant::now() < wait_until && got.is_none() {
            let mut buf = [0u8; 256];
            // SAFETY: buf is valid for its length.
            let n = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), 0) };
            if n >= 28 {
                let ihl = ((buf[0] & 0x0f) as usize) * 4;
                if buf[12..16] == dst
                    && buf.get(ihl) == Some(&0)
                    && buf.get(ihl + 4..ihl + 6) == Some(&id.to_be_bytes())
                {
                    got = Some(Instant::now());
                }
            } else {
                std::thread::sleep(Duration::from_micros(100));
            }
        }
        if let Some(t) = got {
            break Ok(t);
        }
    };
    // SAFETY: fd is ours and open.
    unsafe { libc::close(fd) };
    result
}
