//! A Linux tap device opened by name (it must exist, as with solo5-hvt).

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;

const IFF_TAP: libc::c_short = 0x0002;
const IFF_NO_PI: libc::c_short = 0x1000;
const TUNSETIFF: libc::c_ulong = 0x4004_54ca;

/// An open, non-blocking tap device.
pub struct Tap {
    file: File,
}

impl Tap {
    /// Attach to the existing tap interface `name`.
    pub fn open(name: &str) -> io::Result<Tap> {
        if name.is_empty() || name.len() >= libc::IFNAMSIZ {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "bad interface name"));
        }
        // Check first: TUNSETIFF would create a missing tap, and the operator
        // must name one that exists (as with solo5-hvt).
        if !exists(name)? {
            return Err(io::Error::new(io::ErrorKind::NotFound, "no such tap interface"));
        }
        let file = OpenOptions::new().read(true).write(true).custom_flags(libc::O_NONBLOCK).open("/dev/net/tun")?;
        let mut req = [0u8; 40];
        req[..name.len()].copy_from_slice(name.as_bytes());
        req[16..18].copy_from_slice(&(IFF_TAP | IFF_NO_PI).to_ne_bytes());
        // SAFETY: TUNSETIFF reads a struct ifreq (40 bytes) from `req`, which
        // is live and large enough; the fd is open.
        let rc = unsafe { libc::ioctl(file.as_raw_fd(), TUNSETIFF, req.as_mut_ptr()) };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Tap { file })
    }

    /// Raw descriptor, for poll(2).
    pub fn fd(&self) -> i32 {
        self.file.as_raw_fd()
    }

    /// Read one frame; Ok(None) when nothing is pending.
    pub fn read(&self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        // SAFETY: buf is valid for buf.len() bytes; the fd is open.
        let n = unsafe { libc::read(self.fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if n >= 0 {
            return Ok(Some(n as usize));
        }
        let e = io::Error::last_os_error();
        if e.kind() == io::ErrorKind::WouldBlock {
            Ok(None)
        } else {
            Err(e)
        }
    }

    /// Write one frame.
    pub fn write(&self, frame: &[u8]) -> io::Result<()> {
        // SAFETY: frame is valid for frame.len() bytes; the fd is open.
        let n = unsafe { libc::write(self.fd(), frame.as_ptr().cast(), frame.len()) };
        if n < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    }
}

/// Whether interface `name` exists in the calling thread's network namespace.
fn exists(name: &str) -> io::Result<bool> {
    let c = std::ffi::CString::new(name).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: c is a valid NUL-terminated string.
    Ok(unsafe { libc::if_nametoindex(c.as_ptr()) } != 0)
}
