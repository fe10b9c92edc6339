//! A hostile guest without a VM: hypercalls through the real dispatcher
//! ([`crate::hypercall::dispatch`]) on plain guest memory, with a net device
//! on a socket pair and a block device on a memfd. For the unit tests below
//! and the `hypercall` fuzz target: whatever the guest writes, the tender
//! answers with a result code (EINVAL, AGAIN, EUNSPEC), or stops the VM with
//! an error (an address outside guest memory, an unknown port), never panics.

use crate::devices::{Backend, Devices};
use crate::guestmem::GuestMem;
use crate::hypercall::{dispatch, Counters, Next};
use crate::tap::Tap;
use std::os::fd::{FromRawFd, IntoRawFd, OwnedFd};

/// Guest memory of the harness.
pub const MEM: usize = 1 << 20;
/// Capacity of its block device (handle 2; the net device is handle 1).
pub const BLOCK: u64 = 64 << 10;

/// The machine a hostile guest talks to.
pub struct Machine {
    pub mem: GuestMem,
    pub devs: Devices,
    pub counters: Counters,
    /// Our end of the net device's socket pair.
    _peer: OwnedFd,
}

impl Machine {
    pub fn new() -> std::io::Result<Machine> {
        let mut fds = [0; 2];
        // SAFETY: fds has room for the two descriptors socketpair writes.
        let rc = unsafe {
            libc::socketpair(
                libc::AF_UNIX,
                libc::SOCK_DGRAM | libc::SOCK_CLOEXEC,
                0,
                fds.as_mut_ptr(),
            )
        };
        if rc != 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: both fds were just created and are owned here.
        let (ours, theirs) =
            unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        let tap = Tap::attach(&format!("@{}", theirs.into_raw_fd()))?;
        // SAFETY: a NUL-terminated name and flags; checked below.
        let memfd = unsafe { libc::memfd_create(c"gitns-harness".as_ptr(), libc::MFD_CLOEXEC) };
        if memfd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: memfd was just created and is owned by the File.
        let file = unsafe { std::fs::File::from_raw_fd(memfd) };
        file.set_len(BLOCK)?;
        let by_index = vec![
            None,
            Some(Backend::Net(tap)),
            Some(Backend::Block {
                file,
                capacity: BLOCK,
                sector: 512,
                writes: std::cell::Cell::new(0),
                fault: None,
            }),
        ];
        Ok(Machine {
            mem: GuestMem::new(MEM)?,
            devs: Devices {
                by_index,
                manifest: Vec::new(),
            },
            counters: Counters::default(),
            _peer: ours,
        })
    }

    /// One `out` of `gpa` to `port`. POLL and NET_EXCHANGE timeouts are
    /// zeroed first so that the harness never sleeps.
    pub fn call(&mut self, port: u16, gpa: u64) -> Result<Next, String> {
        use gitns_abi::hypercall::Nr;
        let timeout_at = match Nr::from_port(port) {
            Some(Nr::Poll) => Some(gpa),
            Some(Nr::NetExchange) => gpa.checked_add(24),
            _ => None,
        };
        if let Some(at) = timeout_at {
            let _ = self.mem.write(at, &0u64);
        }
        dispatch(port, gpa, &mut self.mem, &mut self.devs, &mut self.counters)
    }

    /// Run fuzz input: records of [selector u8][gpa u32 LE][n u8][n bytes],
    /// the bytes written at gpa (when inside memory), then the hypercall.
    /// Returns how many calls were made before a halt or a stop.
    pub fn run(&mut self, mut input: &[u8]) -> usize {
        let mut calls = 0;
        while input.len() >= 6 {
            let sel = input[0];
            let gpa = u32::from_le_bytes([input[1], input[2], input[3], input[4]]) as u64;
            let n = (input[5] as usize).min(input.len() - 6);
            let bytes = &input[6..6 + n];
            input = &input[6 + n..];
            if let Ok(dst) = self.mem.slice_mut(gpa, n as u64) {
                dst.copy_from_slice(bytes);
            }
            // Mostly hypercall ports (0x500..0x528: known and unknown
            // numbers), sometimes any port.
            let port = if sel < 0xF0 {
                0x500 + (sel % 40) as u16
            } else {
                u16::from_le_bytes([sel, input.first().copied().unwrap_or(0)])
            };
            calls += 1;
            match self.call(port, gpa) {
                Ok(Next::Resume) => {}
                Ok(Next::Halt(_)) | Err(_) => break,
            }
        }
        calls
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gitns_abi::hypercall::{self as hc, Nr, RESULT_EINVAL, RESULT_OK};

    fn m() -> Machine {
        Machine::new().unwrap()
    }

    const ARGS: u64 = 0x1000;
    const DATA: u64 = 0x8000;

    #[test]
    fn arguments_outside_memory_stop_the_vm() {
        let all = [
            Nr::Walltime,
            Nr::Puts,
            Nr::Poll,
            Nr::BlockWrite,
            Nr::BlockRead,
            Nr::NetWrite,
            Nr::NetRead,
            Nr::Halt,
            Nr::NetExchange,
            Nr::Metrics,
        ];
        for nr in all {
            for gpa in [MEM as u64, MEM as u64 - 4, u32::MAX as u64] {
                let e = m().call(nr.port(), gpa).unwrap_err();
                assert!(
                    e.contains("outside guest memory"),
                    "{nr:?} at {gpa:#x}: {e}"
                );
            }
        }
        let e = m().call(0x5ff, ARGS).unwrap_err();
        assert!(e.contains("unknown I/O port"), "{e}");
        let e = m().call(0x4ff, ARGS).unwrap_err();
        assert!(e.contains("unknown I/O port"), "{e}");
    }

    #[test]
    fn data_pointers_and_lengths_that_wrap_or_overrun_stop_the_vm() {
        for (data, len) in [
            (u64::MAX - 10, 100),
            (DATA, u64::MAX),
            (MEM as u64 - 10, 11),
            (DATA, MEM as u64),
        ] {
            let mut g = m();
            g.mem.write(ARGS, &hc::Puts { data, len }).unwrap();
            assert!(
                g.call(Nr::Puts.port(), ARGS).is_err(),
                "puts {data:#x}+{len:#x}"
            );
            let r = hc::NetWrite {
                handle: 1,
                data,
                len,
                ret: 0,
            };
            g.mem.write(ARGS, &r).unwrap();
            // Too long for a frame: EINVAL before the data is looked at.
            let res = g.call(Nr::NetWrite.port(), ARGS);
            let ret = g.mem.read::<hc::NetWrite>(ARGS).unwrap().ret;
            assert!(
                res.is_err() || ret == RESULT_EINVAL,
                "net write {data:#x}+{len:#x}"
            );
            let r = hc::NetRead {
                handle: 1,
                data,
                len,
                ret: 0,
            };
            g.mem.write(ARGS, &r).unwrap();
            assert!(
                g.call(Nr::NetRead.port(), ARGS).is_err(),
                "net read {data:#x}+{len:#x}"
            );
        }
    }

    #[test]
    fn iovec_arrays_past_the_address_space_stop_the_vm() {
        for (tx, rx) in [
            (u64::MAX - 8, DATA),
            (DATA, u64::MAX - 8),
            (MEM as u64 - 8, DATA),
        ] {
            let mut g = m();
            // A frame pending so that the rx array is walked too.
            let peer = std::os::fd::AsRawFd::as_raw_fd(&g._peer);
            // SAFETY: a valid fd and a 60-byte buffer.
            unsafe { libc::write(peer, [0u8; 60].as_ptr().cast(), 60) };
            let x = hc::NetExchange {
                handle: 1,
                tx,
                rx,
                tx_count: 2,
                rx_count: 2,
                ..Default::default()
            };
            g.mem.write(ARGS, &x).unwrap();
            let e = g.call(Nr::NetExchange.port(), ARGS).unwrap_err();
            assert!(
                e.contains("wraps") || e.contains("outside guest memory"),
                "{e}"
            );
        }
    }

    #[test]
    fn bad_handles_counts_and_offsets_get_einval() {
        let mut g = m();
        for handle in [0, 2, 3, u64::MAX] {
            let r = hc::NetWrite {
                handle,
                data: DATA,
                len: 60,
                ret: 0,
            };
            g.mem.write(ARGS, &r).unwrap();
            assert_eq!(g.call(Nr::NetWrite.port(), ARGS), Ok(Next::Resume));
            assert_eq!(g.mem.read::<hc::NetWrite>(ARGS).unwrap().ret, RESULT_EINVAL);
        }
        let x = hc::NetExchange {
            handle: 1,
            tx: DATA,
            rx: DATA,
            tx_count: u32::MAX,
            rx_count: 1,
            ..Default::default()
        };
        g.mem.write(ARGS, &x).unwrap();
        assert_eq!(g.call(Nr::NetExchange.port(), ARGS), Ok(Next::Resume));
        assert_eq!(
            g.mem.read::<hc::NetExchange>(ARGS).unwrap().ret,
            RESULT_EINVAL
        );
        // Block: unaligned, past the end, wrapping, wrong handle.
        for (handle, offset, len) in [
            (2, 1, 512),
            (2, 0, 100),
            (2, BLOCK, 512),
            (2, u64::MAX - 511, 1024),
            (1, 0, 512),
        ] {
            let w = hc::BlockWrite {
                handle,
                offset,
                data: DATA,
                len,
                ret: 0,
            };
            g.mem.write(ARGS, &w).unwrap();
            assert_eq!(g.call(Nr::BlockWrite.port(), ARGS), Ok(Next::Resume));
            assert_eq!(
                g.mem.read::<hc::BlockWrite>(ARGS).unwrap().ret,
                RESULT_EINVAL
            );
        }
        let w = hc::BlockWrite {
            handle: 2,
            offset: 512,
            data: DATA,
            len: 1024,
            ret: 9,
        };
        g.mem.write(ARGS, &w).unwrap();
        assert_eq!(g.call(Nr::BlockWrite.port(), ARGS), Ok(Next::Resume));
        assert_eq!(g.mem.read::<hc::BlockWrite>(ARGS).unwrap().ret, RESULT_OK);
        let r = hc::MetricsReport {
            data: DATA,
            len: u64::MAX,
            ..Default::default()
        };
        g.mem.write(ARGS, &r).unwrap();
        assert_eq!(g.call(Nr::Metrics.port(), ARGS), Ok(Next::Resume));
        assert_eq!(
            g.mem.read::<hc::MetricsReport>(ARGS).unwrap().ret,
            RESULT_EINVAL
        );
    }

    #[test]
    fn random_hypercalls_never_crash_the_tender() {
        let mut g = m();
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut calls = 0;
        for _ in 0..3000 {
            let mut input = Vec::new();
            for _ in 0..8 {
                let r = next();
                input.push((r % 41) as u8);
                // Arguments near the start of memory, inside or past its end.
                let gpa = if r & 0x100 == 0 {
                    (r >> 16) % 0x2000
                } else {
                    r >> 32
                } as u32;
                input.extend_from_slice(&gpa.to_le_bytes());
                input.push(64);
                for _ in 0..8 {
                    // Small numbers, addresses near the end, huge values.
                    let v = match next() % 4 {
                        0 => next() % 4096,
                        1 => MEM as u64 - next() % 4096,
                        2 => u64::MAX - next() % 4096,
                        _ => next(),
                    };
                    input.extend_from_slice(&v.to_le_bytes());
                }
            }
            calls += g.run(&input);
        }
        assert!(calls > 3000, "{calls}");
    }
}
