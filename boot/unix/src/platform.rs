//! [`Unix`]: the platform trait as a Linux process.

use gitns_net::{BlockError, NetError, Platform};
use gitns_tender::fault::Fault;
use gitns_tender::tap::Tap;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// The appliance's machine when it runs as a process on a tap device.
pub struct Unix {
    tap: Tap,
    block: Option<std::fs::File>,
    /// Writes to `block` so far, and the fault a test asked for.
    writes: u64,
    fault: Option<Fault>,
    mac: [u8; 6],
    start: Instant,
}

impl Unix {
    pub fn new(tap: Tap, mac: [u8; 6], block: Option<std::fs::File>) -> Unix {
        Unix {
            tap,
            block,
            writes: 0,
            fault: None,
            mac,
            start: Instant::now(),
        }
    }

    /// Test-only (`--block-fault:storage=N:MODE`): the storage device's
    /// write number N on fails, or the process stops there, as under
    /// gitns-hvt.
    pub fn with_fault(self, fault: Option<Fault>) -> Unix {
        Unix { fault, ..self }
    }
}

/// Console output: standard output, unbuffered per call.
pub fn console(bytes: &[u8]) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(bytes);
    let _ = out.flush();
}

/// Wall clock in ns since the epoch.
pub fn wall_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// Fill with kernel randomness (getrandom(2)); aborts when the kernel refuses.
pub fn random(buf: &mut [u8]) {
    let mut done = 0;
    while done < buf.len() {
        // SAFETY: the range [done, len) of buf is valid for writing.
        let n = unsafe { libc::getrandom(buf[done..].as_mut_ptr().cast(), buf.len() - done, 0) };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            eprintln!("gitns-unix: getrandom failed: {e}; refusing to run without entropy");
            std::process::exit(gitns_abi::exit::UNSUPPORTED);
        }
        done += n as usize;
    }
}

impl Platform for Unix {
    fn wall_clock_ns(&mut self) -> u64 {
        wall_ns()
    }

    fn monotonic_ns(&mut self) -> u64 {
        self.start.elapsed().as_nanos() as u64
    }

    fn fill_random(&mut self, buf: &mut [u8]) {
        random(buf)
    }

    fn console_write(&mut self, bytes: &[u8]) {
        console(bytes)
    }

    fn mac(&self) -> [u8; 6] {
        self.mac
    }

    fn mtu(&self) -> usize {
        self.tap.mtu() as usize
    }

    fn net_send(&mut self, frame: &[u8]) -> Result<(), NetError> {
        if frame.len() > self.tap.max_frame() {
            return Err(NetError::TooBig);
        }
        self.tap
            .write(frame)
            .map(|_| ())
            .map_err(|_| NetError::Device)
    }

    fn net_flush(&mut self) {}

    fn net_recv(&mut self, buf: &mut [u8]) -> Result<Option<usize>, NetError> {
        self.tap.read(buf).map_err(|_| NetError::Device)
    }

    fn poll(&mut self, deadline_ns: u64) -> bool {
        let now = self.monotonic_ns();
        let timeout_ms = deadline_ns
            .saturating_sub(now)
            .div_ceil(1_000_000)
            .min(i32::MAX as u64) as i32;
        let mut pfd = libc::pollfd {
            fd: self.tap.fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd, count 1.
        let n = unsafe { libc::poll(&mut pfd, 1, timeout_ms) };
        n > 0
    }

    fn block_capacity(&self) -> Option<u64> {
        self.block
            .as_ref()
            .and_then(|f| f.metadata().ok())
            .map(|m| m.len())
    }

    fn block_read(&mut self, offset: u64, buf: &mut [u8]) -> Result<(), BlockError> {
        let cap = self.block_capacity().ok_or(BlockError::Absent)?;
        if offset
            .checked_add(buf.len() as u64)
            .is_none_or(|end| end > cap)
        {
            return Err(BlockError::OutOfRange);
        }
        let f = self.block.as_ref().ok_or(BlockError::Absent)?;
        f.read_exact_at(buf, offset).map_err(|_| BlockError::Device)
    }

    fn block_write(&mut self, offset: u64, data: &[u8]) -> Result<(), BlockError> {
        let cap = self.block_capacity().ok_or(BlockError::Absent)?;
        if offset
            .checked_add(data.len() as u64)
            .is_none_or(|end| end > cap)
        {
            return Err(BlockError::OutOfRange);
        }
        let f = self.block.as_ref().ok_or(BlockError::Absent)?;
        let n = self.writes;
        self.writes += 1;
        if let Some(fault) = self.fault.and_then(|x| x.at_write(n)) {
            if let Err(why) = fault.inject(f, n, data, offset) {
                eprintln!("gitns-unix: {why}");
                std::process::exit(gitns_abi::exit::ABORT);
            }
            return Err(BlockError::Device);
        }
        f.write_all_at(data, offset)
            .and_then(|()| f.sync_data())
            .map_err(|_| BlockError::Device)
    }

    fn console_fn(&self) -> fn(&[u8]) {
        console
    }

    fn wall_clock_fn(&self) -> fn() -> u64 {
        wall_ns
    }

    fn exit(&mut self, status: i32) -> ! {
        std::process::exit(status)
    }
}
