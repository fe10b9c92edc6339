//! Hypercall numbers, argument structs and results (Solo5 `hvt_abi.h`).
//!
//! The guest writes an argument struct into its memory and executes
//! `out dx, eax` with `dx = 0x500 + nr` and `eax` = the struct's 32-bit
//! guest-physical address. The tender reads the struct, acts, writes the
//! OUT fields back and resumes the guest.

/// Hypercall numbers.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Nr {
    Walltime = 1,
    Puts = 2,
    Poll = 3,
    BlockWrite = 4,
    BlockRead = 5,
    NetWrite = 6,
    NetRead = 7,
    Halt = 8,
    /// gitns extension (host feature [`crate::FEATURE_NET_EXCHANGE`]): send
    /// many frames, then receive many, waiting up to a timeout, in one exit.
    NetExchange = 32,
    /// gitns extension (host feature [`crate::FEATURE_METRICS`]): the guest
    /// hands the tender its counters as Prometheus text lines.
    Metrics = 33,
}

impl Nr {
    /// The hypercall for an I/O port, if it is one.
    pub fn from_port(port: u16) -> Option<Nr> {
        Some(match port.checked_sub(crate::HYPERCALL_PIO_BASE)? {
            1 => Nr::Walltime,
            2 => Nr::Puts,
            3 => Nr::Poll,
            4 => Nr::BlockWrite,
            5 => Nr::BlockRead,
            6 => Nr::NetWrite,
            7 => Nr::NetRead,
            8 => Nr::Halt,
            32 => Nr::NetExchange,
            33 => Nr::Metrics,
            _ => return None,
        })
    }

    /// The I/O port of this hypercall.
    pub const fn port(self) -> u16 {
        crate::HYPERCALL_PIO_BASE + self as u16
    }
}

/// Solo5 result codes (`solo5_result_t`).
pub const RESULT_OK: i32 = 0;
pub const RESULT_AGAIN: i32 = 1;
pub const RESULT_EINVAL: i32 = 2;
pub const RESULT_EUNSPEC: i32 = 3;

/// WALLTIME: OUT nsecs since the Unix epoch.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct Walltime {
    pub nsecs: u64,
}

/// PUTS: IN data, len.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct Puts {
    pub data: u64,
    pub len: u64,
}

/// POLL: IN timeout (relative, ns); OUT ready_set (bit per handle), ret
/// (1 if any device is ready, 0 on timeout).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct Poll {
    pub timeout_nsecs: u64,
    pub ready_set: u64,
    pub ret: i32,
}

/// BLOCK_WRITE: IN handle, offset, data, len; OUT ret.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct BlockWrite {
    pub handle: u64,
    pub offset: u64,
    pub data: u64,
    pub len: u64,
    pub ret: i32,
}

/// BLOCK_READ: IN handle, offset, data; IN/OUT len; OUT ret.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct BlockRead {
    pub handle: u64,
    pub offset: u64,
    pub data: u64,
    pub len: u64,
    pub ret: i32,
}

/// NET_WRITE: IN handle, data, len; OUT ret.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct NetWrite {
    pub handle: u64,
    pub data: u64,
    pub len: u64,
    pub ret: i32,
}

/// NET_READ: IN handle, data; IN/OUT len (buffer size in, frame size out);
/// OUT ret (OK, or AGAIN when nothing is pending).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct NetRead {
    pub handle: u64,
    pub data: u64,
    pub len: u64,
    pub ret: i32,
}

/// HALT: IN cookie (guest address of up to [`HALT_COOKIE_MAX`] bytes, or 0),
/// exit_status.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct Halt {
    pub cookie: u64,
    pub exit_status: i32,
}

/// One frame buffer of [`NetExchange`]: guest address and length (for
/// receive buffers: capacity in, frame length out).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct IoVec {
    pub data: u64,
    pub len: u64,
}

/// NET_EXCHANGE (gitns extension): IN handle; `tx_count` frames described by
/// the IoVec array at `tx`; `rx_count` receive buffers at `rx`; and
/// `timeout_nsecs`. The tender writes every tx frame, then reads pending
/// frames into the rx buffers; if none was pending it waits up to the timeout
/// for one. OUT `tx_done` (frames written), `rx_done` (frames read, their
/// lengths written back into the rx IoVecs), `ret` (OK or EINVAL).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct NetExchange {
    pub handle: u64,
    pub tx: u64,
    pub rx: u64,
    pub timeout_nsecs: u64,
    pub tx_count: u32,
    pub rx_count: u32,
    pub tx_done: u32,
    pub rx_done: u32,
    pub ret: i32,
}

/// Most frames one NET_EXCHANGE may carry each way.
pub const NET_EXCHANGE_MAX: u32 = 256;

/// Largest cookie a guest may pass to HALT.
pub const HALT_COOKIE_MAX: usize = 512;

const _: () = assert!(core::mem::size_of::<Poll>() == 24);
const _: () = assert!(core::mem::size_of::<NetWrite>() == 32);
const _: () = assert!(core::mem::size_of::<BlockRead>() == 40);
const _: () = assert!(core::mem::size_of::<Halt>() == 16);
const _: () = assert!(core::mem::size_of::<NetExchange>() == 56);

/// METRICS: IN `len` bytes at guest address `data`, Prometheus text
/// exposition lines (`name{label="v"} value`), at most
/// [`METRICS_MAX`] bytes, no secrets; replaces the previous report. OUT
/// `ret` (EINVAL when too long or not UTF-8). The guest sends it at most
/// once a second, when something changed.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct MetricsReport {
    pub data: u64,
    pub len: u64,
    pub ret: i32,
    pub _pad: u32,
}

/// Largest METRICS report.
pub const METRICS_MAX: u64 = 64 * 1024;

const _: () = assert!(core::mem::size_of::<MetricsReport>() == 24);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_round_trip() {
        for nr in [
            Nr::Walltime,
            Nr::Puts,
            Nr::Poll,
            Nr::NetWrite,
            Nr::NetRead,
            Nr::Halt,
        ] {
            assert_eq!(Nr::from_port(nr.port()), Some(nr));
        }
        assert_eq!(Nr::from_port(0x500), None);
        assert_eq!(Nr::from_port(0x509), None);
        assert_eq!(Nr::from_port(0x4ff), None);
    }

    #[test]
    fn net_read_offsets_match_solo5() {
        let r = NetRead::default();
        let base = &r as *const _ as usize;
        assert_eq!(&r.data as *const _ as usize - base, 8);
        assert_eq!(&r.len as *const _ as usize - base, 16);
        assert_eq!(&r.ret as *const _ as usize - base, 24);
    }
}
