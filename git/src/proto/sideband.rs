//! side-band-64k demultiplexing: band 1 data, 2 progress, 3 fatal error.

use super::ProtoError;
use alloc::string::String;
use alloc::vec::Vec;

/// Route one side-band packet: data is appended to `data`.
pub fn demux(pkt: &[u8], data: &mut Vec<u8>) -> Result<(), ProtoError> {
    match pkt.first() {
        Some(1) => {
            data.extend_from_slice(&pkt[1..]);
            Ok(())
        }
        Some(2) => Ok(()),
        Some(3) => Err(ProtoError::Remote(
            String::from_utf8_lossy(&pkt[1..]).trim().into(),
        )),
        _ => Err(ProtoError::Malformed("bad side-band packet".into())),
    }
}
