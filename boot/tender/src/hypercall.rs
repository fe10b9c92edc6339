//! The hypercalls (Solo5 hvt ABI 2, DESIGN.md "Boot ABI"). Every guest
//! address goes through [`GuestMem`]; a guest passing an address outside its
//! memory is stopped with an error, as solo5-hvt does.

use crate::devices::{Backend, Devices};
use crate::guestmem::GuestMem;
use gitns_abi::hypercall::{
    self as hc, Nr, RESULT_AGAIN, RESULT_EINVAL, RESULT_EUNSPEC, RESULT_OK,
};
use std::io::Write;
use std::os::unix::fs::FileExt;

/// What the vCPU loop does next.
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    Resume,
    Halt(i32),
}

/// Counters of what the guest did.
#[derive(Debug)]
pub struct Counters {
    pub calls: [u64; 34],
    pub frames_out: u64,
    pub frames_in: u64,
    pub bytes_out: u64,
    pub bytes_in: u64,
    /// The guest's last METRICS report.
    pub guest_metrics: Option<String>,
}

impl Default for Counters {
    fn default() -> Self {
        Counters {
            calls: [0; 34],
            frames_out: 0,
            frames_in: 0,
            bytes_out: 0,
            bytes_in: 0,
            guest_metrics: None,
        }
    }
}

/// Handle the `out` of `gpa` to `port`.
pub fn dispatch(
    port: u16,
    gpa: u64,
    mem: &mut GuestMem,
    devs: &mut Devices,
    counters: &mut Counters,
) -> Result<Next, String> {
    let nr =
        Nr::from_port(port).ok_or_else(|| format!("guest wrote to unknown I/O port {port:#x}"))?;
    counters.calls[nr as usize] += 1;
    let r = match nr {
        Nr::Walltime => walltime(gpa, mem),
        Nr::Puts => puts(gpa, mem),
        Nr::Poll => poll(gpa, mem, devs),
        Nr::NetWrite => net_write(gpa, mem, devs, counters),
        Nr::NetRead => net_read(gpa, mem, devs, counters),
        Nr::BlockWrite => block_write(gpa, mem, devs),
        Nr::BlockRead => block_read(gpa, mem, devs),
        Nr::NetExchange => net_exchange(gpa, mem, devs, counters),
        Nr::Metrics => metrics(gpa, mem, counters),
        Nr::Halt => {
            return Ok(Next::Halt(
                mem.read::<hc::Halt>(gpa)
                    .map_err(|e| e.to_string())?
                    .exit_status,
            ))
        }
    };
    r.map(|()| Next::Resume)
        .map_err(|e| format!("hypercall {nr:?}: {e}"))
}

type R = Result<(), String>;

/// METRICS: keep the guest's Prometheus lines for the metrics endpoint.
fn metrics(gpa: u64, mem: &mut GuestMem, counters: &mut Counters) -> R {
    let mut a: hc::MetricsReport = mem.read(gpa).map_err(|e| e.to_string())?;
    a.ret = if a.len > hc::METRICS_MAX {
        RESULT_EINVAL
    } else {
        let data = mem.slice(a.data, a.len).map_err(|e| e.to_string())?;
        match std::str::from_utf8(data) {
            Ok(t) => {
                counters.guest_metrics = Some(t.to_string());
                RESULT_OK
            }
            Err(_) => RESULT_EINVAL,
        }
    };
    mem.write(gpa, &a).map_err(|e| e.to_string())
}

fn walltime(gpa: u64, mem: &mut GuestMem) -> R {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    mem.write(gpa, &hc::Walltime { nsecs: now })
        .map_err(|e| e.to_string())
}

fn puts(gpa: u64, mem: &mut GuestMem) -> R {
    let a: hc::Puts = mem.read(gpa).map_err(|e| e.to_string())?;
    let s = mem.slice(a.data, a.len).map_err(|e| e.to_string())?;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(s);
    let _ = out.flush();
    Ok(())
}

fn poll(gpa: u64, mem: &mut GuestMem, devs: &Devices) -> R {
    let mut a: hc::Poll = mem.read(gpa).map_err(|e| e.to_string())?;
    let mut fds: Vec<libc::pollfd> = Vec::new();
    let mut idx: Vec<usize> = Vec::new();
    for (i, b) in devs.by_index.iter().enumerate() {
        if let Some(Backend::Net(tap)) = b {
            fds.push(libc::pollfd {
                fd: tap.fd(),
                events: libc::POLLIN,
                revents: 0,
            });
            idx.push(i);
        }
    }
    let ts = libc::timespec {
        tv_sec: (a.timeout_nsecs / 1_000_000_000) as libc::time_t,
        tv_nsec: (a.timeout_nsecs % 1_000_000_000) as libc::c_long,
    };
    // SAFETY: fds is a valid array of fds.len() pollfds; ts is a valid timespec.
    let n = unsafe {
        libc::ppoll(
            fds.as_mut_ptr(),
            fds.len() as libc::nfds_t,
            &ts,
            std::ptr::null(),
        )
    };
    a.ready_set = 0;
    if n > 0 {
        for (f, i) in fds.iter().zip(&idx) {
            if f.revents & libc::POLLIN != 0 {
                a.ready_set |= 1 << i;
            }
        }
    }
    a.ret = (a.ready_set != 0) as i32;
    mem.write(gpa, &a).map_err(|e| e.to_string())
}

fn net(devs: &Devices, handle: u64) -> Option<&crate::tap::Tap> {
    match devs.by_index.get(handle as usize) {
        Some(Some(Backend::Net(t))) => Some(t),
        _ => None,
    }
}

fn net_write(gpa: u64, mem: &mut GuestMem, devs: &Devices, c: &mut Counters) -> R {
    let mut a: hc::NetWrite = mem.read(gpa).map_err(|e| e.to_string())?;
    a.ret = match net(devs, a.handle) {
        None => RESULT_EINVAL,
        Some(tap) if a.len > tap.max_frame() as u64 => RESULT_EINVAL,
        Some(tap) => {
            let frame = mem.slice(a.data, a.len).map_err(|e| e.to_string())?;
            match tap.write(frame) {
                Ok(n) if n == frame.len() => {
                    c.frames_out += 1;
                    c.bytes_out += n as u64;
                    RESULT_OK
                }
                _ => RESULT_EUNSPEC,
            }
        }
    };
    mem.write(gpa, &a).map_err(|e| e.to_string())
}

fn net_read(gpa: u64, mem: &mut GuestMem, devs: &Devices, c: &mut Counters) -> R {
    let mut a: hc::NetRead = mem.read(gpa).map_err(|e| e.to_string())?;
    match net(devs, a.handle) {
        None => a.ret = RESULT_EINVAL,
        Some(tap) => {
            let buf = mem.slice_mut(a.data, a.len).map_err(|e| e.to_string())?;
            match tap.read(buf) {
                Ok(Some(n)) => {
                    c.frames_in += 1;
                    c.bytes_in += n as u64;
                    a.len = n as u64;
                    a.ret = RESULT_OK;
                }
                Ok(None) => a.ret = RESULT_AGAIN,
                Err(_) => a.ret = RESULT_EUNSPEC,
            }
        }
    }
    mem.write(gpa, &a).map_err(|e| e.to_string())
}

/// NET_EXCHANGE: write every tx frame, read pending frames, and when none
/// was pending wait up to the timeout for one.
fn net_exchange(gpa: u64, mem: &mut GuestMem, devs: &Devices, c: &mut Counters) -> R {
    let mut a: hc::NetExchange = mem.read(gpa).map_err(|e| e.to_string())?;
    let Some(tap) = net(devs, a.handle)
        .filter(|_| a.tx_count <= hc::NET_EXCHANGE_MAX && a.rx_count <= hc::NET_EXCHANGE_MAX)
    else {
        a.ret = RESULT_EINVAL;
        return mem.write(gpa, &a).map_err(|e| e.to_string());
    };
    a.tx_done = 0;
    for i in 0..a.tx_count as u64 {
        let v: hc::IoVec = mem.read(iov_at(a.tx, i)?).map_err(|e| e.to_string())?;
        if v.len > tap.max_frame() as u64 {
            continue;
        }
        let frame = mem.slice(v.data, v.len).map_err(|e| e.to_string())?;
        if tap.write(frame).is_ok_and(|n| n == frame.len()) {
            a.tx_done += 1;
            c.frames_out += 1;
            c.bytes_out += v.len;
        }
    }
    a.rx_done = read_frames(&mut a, tap, mem, c)?;
    if a.rx_done == 0 && a.timeout_nsecs > 0 && a.rx_count > 0 {
        wait_readable(tap.fd(), a.timeout_nsecs);
        a.rx_done = read_frames(&mut a, tap, mem, c)?;
    }
    a.ret = RESULT_OK;
    mem.write(gpa, &a).map_err(|e| e.to_string())
}

/// The guest address of element `i` of an IoVec array at `base` (an
/// array running past the end of the address space is outside memory).
fn iov_at(base: u64, i: u64) -> Result<u64, String> {
    let size = std::mem::size_of::<hc::IoVec>() as u64;
    base.checked_add(i * size)
        .ok_or_else(|| format!("IoVec array at {base:#x} wraps around the address space"))
}

/// Read pending frames into the rx buffers of `a`; returns how many.
fn read_frames(
    a: &mut hc::NetExchange,
    tap: &crate::tap::Tap,
    mem: &mut GuestMem,
    c: &mut Counters,
) -> Result<u32, String> {
    let mut n = 0;
    while n < a.rx_count {
        let at = iov_at(a.rx, n as u64)?;
        let mut v: hc::IoVec = mem.read(at).map_err(|e| e.to_string())?;
        let buf = mem.slice_mut(v.data, v.len).map_err(|e| e.to_string())?;
        match tap.read(buf) {
            Ok(Some(len)) => {
                v.len = len as u64;
                mem.write(at, &v).map_err(|e| e.to_string())?;
                c.frames_in += 1;
                c.bytes_in += len as u64;
                n += 1;
            }
            _ => break,
        }
    }
    Ok(n)
}

fn wait_readable(fd: i32, timeout_ns: u64) {
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    let ts = libc::timespec {
        tv_sec: (timeout_ns / 1_000_000_000) as libc::time_t,
        tv_nsec: (timeout_ns % 1_000_000_000) as libc::c_long,
    };
    // SAFETY: one valid pollfd and a valid timespec.
    unsafe { libc::ppoll(&mut p, 1, &ts, std::ptr::null()) };
}

/// Block device `handle` when [offset, offset + len) is inside it and
/// covers whole sectors (the manifest's block_size is the unit of I/O;
/// Solo5's bindings send exactly one aligned sector, ours one or more).
fn block(devs: &Devices, handle: u64, offset: u64, len: u64) -> Option<&Backend> {
    match devs.by_index.get(handle as usize) {
        Some(Some(
            b @ Backend::Block {
                capacity, sector, ..
            },
        )) if offset.checked_add(len).is_some_and(|e| e <= *capacity)
            && offset.is_multiple_of(*sector)
            && len.is_multiple_of(*sector) =>
        {
            Some(b)
        }
        _ => None,
    }
}

fn block_write(gpa: u64, mem: &mut GuestMem, devs: &Devices) -> R {
    let mut a: hc::BlockWrite = mem.read(gpa).map_err(|e| e.to_string())?;
    a.ret = match block(devs, a.handle, a.offset, a.len) {
        Some(Backend::Block {
            file,
            writes,
            fault,
            ..
        }) => {
            let data = mem.slice(a.data, a.len).map_err(|e| e.to_string())?;
            let n = writes.get();
            writes.set(n + 1);
            match fault.and_then(|f| f.at_write(n)) {
                Some(f) => {
                    f.inject(file, n, data, a.offset)?;
                    RESULT_EUNSPEC
                }
                None => write_synced(file, data, a.offset),
            }
        }
        _ => RESULT_EINVAL,
    };
    mem.write(gpa, &a).map_err(|e| e.to_string())
}

/// Write and sync before the guest goes on: it acknowledges UPDATEs on the
/// strength of this write (solo5-hvt does not sync). A failure (host disk
/// full, I/O error) is the guest's to handle (its UPDATE gets SERVFAIL and
/// it keeps serving), not the end of the VM as in solo5-hvt.
fn write_synced(file: &std::fs::File, data: &[u8], offset: u64) -> i32 {
    match file
        .write_all_at(data, offset)
        .and_then(|()| file.sync_data())
    {
        Ok(()) => RESULT_OK,
        Err(e) => {
            eprintln!(
                "gitns-hvt: block write of {} bytes at {offset} failed: {e}",
                data.len()
            );
            RESULT_EUNSPEC
        }
    }
}

fn block_read(gpa: u64, mem: &mut GuestMem, devs: &Devices) -> R {
    let mut a: hc::BlockRead = mem.read(gpa).map_err(|e| e.to_string())?;
    a.ret = match block(devs, a.handle, a.offset, a.len) {
        Some(Backend::Block { file, .. }) => {
            let buf = mem.slice_mut(a.data, a.len).map_err(|e| e.to_string())?;
            file.read_exact_at(buf, a.offset)
                .map_err(|e| format!("Fatal error when reading: {e}"))?;
            RESULT_OK
        }
        _ => RESULT_EINVAL,
    };
    mem.write(gpa, &a).map_err(|e| e.to_string())
}
