//! The network device named in the manifest, through NET_WRITE / NET_READ.

use crate::hypercall;
use gitns_abi::hypercall::{NetRead, NetWrite, Nr, RESULT_AGAIN, RESULT_OK};
use gitns_abi::manifest::MFT_DEV_NET_BASIC;

/// The MTU of a device whose tender reports none (0 or below IPv4's
/// minimum of 68, RFC 791), and of virtio-net.
pub const DEFAULT_MTU: u16 = 1500;

/// An attached network device.
#[derive(Clone, Copy, Debug)]
pub struct NetDevice {
    pub handle: u64,
    pub mac: [u8; 6],
    /// The MTU the tender reported (the host tap's, as solo5-hvt reads it).
    pub mtu: u16,
}

/// Find the attached net device called `name` in the manifest copy at `mft`.
pub(crate) fn find(mft: u64, name: &str) -> Option<NetDevice> {
    let (handle, e) = crate::manifest::find(mft, name, MFT_DEV_NET_BASIC)?;
    let u = e.u[0].to_le_bytes();
    Some(NetDevice {
        handle,
        mac: [u[0], u[1], u[2], u[3], u[4], u[5]],
        mtu: Some(u16::from_le_bytes([u[6], u[7]]))
            .filter(|m| *m >= 68)
            .unwrap_or(DEFAULT_MTU),
    })
}

impl NetDevice {
    /// Send one frame.
    pub fn write(&self, frame: &[u8]) -> bool {
        let mut arg = NetWrite {
            handle: self.handle,
            data: frame.as_ptr() as u64,
            len: frame.len() as u64,
            ret: 0,
        };
        hypercall::call(Nr::NetWrite, &mut arg);
        arg.ret == RESULT_OK
    }

    /// Receive one frame into `buf`: Ok(Some(len)), Ok(None) when nothing is
    /// pending, Err(()) on a device error.
    pub fn read(&self, buf: &mut [u8]) -> Result<Option<usize>, ()> {
        let mut arg = NetRead {
            handle: self.handle,
            data: buf.as_mut_ptr() as u64,
            len: buf.len() as u64,
            ret: 0,
        };
        hypercall::call(Nr::NetRead, &mut arg);
        match arg.ret {
            RESULT_OK => Ok(Some((arg.len as usize).min(buf.len()))),
            RESULT_AGAIN => Ok(None),
            _ => Err(()),
        }
    }
}
