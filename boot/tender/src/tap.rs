//! Host tap devices for guest network interfaces (Solo5 tap_attach rules:
//! the interface must exist and be up; `@NN` uses an inherited open fd).

use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd};

const IFF_TAP: libc::c_short = 0x0002;
const IFF_NO_PI: libc::c_short = 0x1000;
const TUNSETIFF: libc::c_ulong = 0x4004_54ca;
const TUNGETIFF: libc::c_ulong = 0x8004_54d2;

/// The MTU assumed for an inherited fd that is not a tap (a socket pair).
pub const DEFAULT_MTU: u16 = 1500;

/// An attached, non-blocking tap.
pub struct Tap {
    file: File,
    mtu: u16,
}

/// The MTU of interface `name` (SIOCGIFMTU, in the calling thread's network
/// namespace), as solo5-hvt reports it to the guest.
pub fn interface_mtu(name: &str) -> io::Result<u16> {
    let mut req = [0u8; 40];
    req[..name.len()].copy_from_slice(name.as_bytes());
    ifreq_ioctl(libc::SIOCGIFMTU, &mut req)?;
    let mtu = i32::from_ne_bytes([req[16], req[17], req[18], req[19]]);
    u16::try_from(mtu)
        .ok()
        .filter(|m| *m >= 68)
        .ok_or_else(|| io::Error::other(format!("{name}: unusable MTU {mtu}")))
}

/// Run an interface ioctl on a throwaway datagram socket with `req` as the
/// 40-byte struct ifreq (name first).
fn ifreq_ioctl(op: libc::c_ulong, req: &mut [u8; 40]) -> io::Result<()> {
    // SAFETY: plain socket(2); closed below.
    let sock = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if sock < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the interface ioctls used here read the name from and write
    // their result into a 40-byte struct ifreq.
    let rc = unsafe { libc::ioctl(sock, op, req.as_mut_ptr()) };
    let err = io::Error::last_os_error();
    // SAFETY: sock is ours.
    unsafe { libc::close(sock) };
    if rc < 0 {
        return Err(if err.raw_os_error() == Some(libc::ENODEV) {
            io::Error::new(io::ErrorKind::NotFound, "No such device")
        } else {
            err
        });
    }
    Ok(())
}

/// Whether interface `name` exists and is up, asked of the calling thread's
/// network namespace (SIOCGIFFLAGS; /sys may belong to another namespace).
pub fn interface_up(name: &str) -> io::Result<bool> {
    let mut req = [0u8; 40];
    req[..name.len()].copy_from_slice(name.as_bytes());
    ifreq_ioctl(libc::SIOCGIFFLAGS, &mut req)?;
    let flags = i16::from_ne_bytes([req[16], req[17]]) as i32;
    Ok(flags & libc::IFF_UP != 0)
}

impl Tap {
    /// Attach to `iface` (or `@FD`).
    pub fn attach(iface: &str) -> io::Result<Tap> {
        if let Some(fd) = iface.strip_prefix('@') {
            let fd: i32 = fd
                .parse()
                .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
            // SAFETY: the operator passed this inherited fd to us for the guest's use.
            let file = unsafe { File::from_raw_fd(fd) };
            set_nonblocking(&file)?;
            let mtu = tap_name(&file)
                .and_then(|n| interface_mtu(&n))
                .unwrap_or(DEFAULT_MTU);
            return Ok(Tap { file, mtu });
        }
        if iface.is_empty() || iface.len() >= libc::IFNAMSIZ || iface.contains('/') {
            return Err(io::Error::from_raw_os_error(libc::ENAMETOOLONG));
        }
        if !interface_up(iface)? {
            return Err(io::Error::from_raw_os_error(libc::ENETDOWN));
        }
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/net/tun")?;
        let mut req = [0u8; 40];
        req[..iface.len()].copy_from_slice(iface.as_bytes());
        req[16..18].copy_from_slice(&(IFF_TAP | IFF_NO_PI).to_ne_bytes());
        // SAFETY: TUNSETIFF reads a 40-byte struct ifreq from `req`; fd is open.
        if unsafe { libc::ioctl(file.as_raw_fd(), TUNSETIFF, req.as_mut_ptr()) } < 0 {
            return Err(io::Error::last_os_error());
        }
        set_nonblocking(&file)?;
        let mtu = interface_mtu(iface)?;
        Ok(Tap { file, mtu })
    }

    /// The interface's MTU at attach time (IP bytes per frame).
    pub fn mtu(&self) -> u16 {
        self.mtu
    }

    /// The longest frame the guest may send: the MTU plus an Ethernet
    /// header with a VLAN tag.
    pub fn max_frame(&self) -> usize {
        self.mtu as usize + 18
    }

    pub fn fd(&self) -> i32 {
        self.file.as_raw_fd()
    }

    /// Read one frame into `buf`: Ok(None) when nothing is pending.
    pub fn read(&self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        // SAFETY: buf is valid for buf.len() bytes.
        let n = unsafe { libc::read(self.fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if n >= 0 {
            return Ok(Some(n as usize));
        }
        let e = io::Error::last_os_error();
        match e.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted => Ok(None),
            _ => Err(e),
        }
    }

    /// Write one frame.
    pub fn write(&self, frame: &[u8]) -> io::Result<usize> {
        // SAFETY: frame is valid for frame.len() bytes.
        let n = unsafe { libc::write(self.fd(), frame.as_ptr().cast(), frame.len()) };
        if n < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(n as usize)
        }
    }
}

/// The interface name of a tap fd (TUNGETIFF), for an inherited `@FD`.
fn tap_name(f: &File) -> io::Result<String> {
    let mut req = [0u8; 40];
    // SAFETY: TUNGETIFF writes a 40-byte struct ifreq into `req`.
    if unsafe { libc::ioctl(f.as_raw_fd(), TUNGETIFF, req.as_mut_ptr()) } < 0 {
        return Err(io::Error::last_os_error());
    }
    let end = req[..16].iter().position(|&b| b == 0).unwrap_or(16);
    Ok(String::from_utf8_lossy(&req[..end]).into_owned())
}

fn set_nonblocking(f: &File) -> io::Result<()> {
    // SAFETY: fcntl on an open fd.
    let flags = unsafe { libc::fcntl(f.as_raw_fd(), libc::F_GETFL) };
    // SAFETY: as above.
    if flags < 0
        || unsafe { libc::fcntl(f.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK) } < 0
    {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// A random locally administered unicast MAC.
pub fn random_mac() -> [u8; 6] {
    let mut mac = [0u8; 6];
    // SAFETY: mac is valid for 6 bytes.
    let n = unsafe { libc::getrandom(mac.as_mut_ptr().cast(), 6, 0) };
    if n != 6 {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        mac.copy_from_slice(&t.to_le_bytes()[..6]);
    }
    mac[0] = (mac[0] & 0xfe) | 0x02;
    mac
}

/// Parse a MAC address like `02:00:00:00:00:01`.
pub fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let mut out = [0u8; 6];
    let mut it = s.split(':');
    for b in out.iter_mut() {
        let p = it.next()?;
        if p.len() != 2 {
            return None;
        }
        *b = u8::from_str_radix(p, 16).ok()?;
    }
    it.next().is_none().then_some(out)
}
