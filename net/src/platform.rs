//! The platform trait: everything the appliance needs from below.
//!
//! boot/guest implements it over hvt hypercalls, boot/unix over a Linux tap
//! device. Nothing above boot/ talks to hardware any other way.

/// Errors of the network device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NetError {
    /// The frame is larger than the device MTU allows.
    TooBig,
    /// The device refused the operation.
    Device,
}

/// Errors of the block device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockError {
    /// No block device is attached.
    Absent,
    /// Offset or length outside the device.
    OutOfRange,
    /// The device refused the operation.
    Device,
}

/// What the appliance needs from the machine it runs on.
pub trait Platform {
    /// Wall-clock time in nanoseconds since the Unix epoch.
    fn wall_clock_ns(&mut self) -> u64;
    /// Monotonic time in nanoseconds since boot.
    fn monotonic_ns(&mut self) -> u64;
    /// Fill `buf` with cryptographically secure random bytes.
    fn fill_random(&mut self, buf: &mut [u8]);
    /// A random 16-bit value (DNS message IDs).
    fn random_u16(&mut self) -> u16 {
        let mut b = [0u8; 2];
        self.fill_random(&mut b);
        u16::from_le_bytes(b)
    }
    /// A random local port from the dynamic range (RFC 6335 6: 49152-65535).
    fn ephemeral_port(&mut self) -> u16 {
        49152 + self.random_u16() % 16384
    }
    /// Write bytes to the console.
    fn console_write(&mut self, bytes: &[u8]);
    /// MAC address of the service network device.
    fn mac(&self) -> [u8; 6];
    /// MTU of the service network device (IP payload bytes per frame).
    fn mtu(&self) -> usize;
    /// Send one Ethernet frame. The platform may buffer it until
    /// [`Platform::net_flush`] or [`Platform::poll`].
    fn net_send(&mut self, frame: &[u8]) -> Result<(), NetError>;
    /// Push out frames buffered by `net_send`.
    fn net_flush(&mut self);
    /// Receive one Ethernet frame into `buf`; `Ok(None)` when none is pending.
    fn net_recv(&mut self, buf: &mut [u8]) -> Result<Option<usize>, NetError>;
    /// Flush, then sleep until a frame is pending or the monotonic clock
    /// reaches `deadline_ns`. Returns true when the network is ready.
    fn poll(&mut self, deadline_ns: u64) -> bool;
    /// Capacity in bytes of the `storage` block device, if one is attached.
    fn block_capacity(&self) -> Option<u64> {
        None
    }
    /// Read `buf.len()` bytes of the block device at `offset`.
    fn block_read(&mut self, _offset: u64, _buf: &mut [u8]) -> Result<(), BlockError> {
        Err(BlockError::Absent)
    }
    /// Write `data` to the block device at `offset`.
    fn block_write(&mut self, _offset: u64, _data: &[u8]) -> Result<(), BlockError> {
        Err(BlockError::Absent)
    }
    /// True when the host takes metrics reports (gitns-hvt with
    /// `--metrics`); the appliance then reports about once a second.
    fn metrics_enabled(&self) -> bool {
        false
    }
    /// Hand the host the appliance's counters as Prometheus text lines.
    fn report_metrics(&mut self, _text: &[u8]) {}
    /// Heap bytes (in use, free), where the platform owns the allocator.
    fn heap_usage(&self) -> Option<(usize, usize)> {
        None
    }
    /// A free function writing to the console, for the global log backend
    /// (which cannot hold a borrow of the platform).
    fn console_fn(&self) -> fn(&[u8]);
    /// A free function reading the wall clock (ns since the epoch), for the
    /// log backend.
    fn wall_clock_fn(&self) -> fn() -> u64;
    /// End the program with an exit status.
    fn exit(&mut self, status: i32) -> !;
}
