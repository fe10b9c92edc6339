//! The git smart protocol, client side, sans-I/O: feed the server's bytes
//! in, take the bytes to send out. Fetch speaks protocol v2 (ls-refs,
//! fetch) or v0; push speaks receive-pack (v0, which receive-pack uses).

pub mod fetch;
pub mod push;
pub mod sideband;

use crate::oid::Oid;
use crate::pktline::{self, Pkt};
use alloc::string::String;
use alloc::vec::Vec;

/// A protocol failure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProtoError {
    /// A pkt-line or line the protocol does not allow here.
    Malformed(String),
    /// The branch is not on the server.
    NoSuchBranch(String),
    /// The server reported an error (ERR line or side-band 3).
    Remote(String),
    /// A pack larger than the limit.
    TooLarge,
}

/// Refs as advertised: (id, name).
pub type Refs = Vec<(Oid, String)>;

/// Parse a v0 ref advertisement line `<oid> <name>[\0caps]`.
pub fn parse_ref_line(line: &[u8]) -> Option<(Oid, String, Option<String>)> {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let (main, caps) = match line.iter().position(|&b| b == 0) {
        Some(p) => (
            &line[..p],
            Some(String::from_utf8_lossy(&line[p + 1..]).into_owned()),
        ),
        None => (line, None),
    };
    let id = Oid::from_hex(main.get(..40)?)?;
    let name = core::str::from_utf8(main.get(41..)?).ok()?;
    Some((id, String::from(name), caps))
}

/// Append `data` to `buf`, then hand each complete pkt-line at its front to
/// `f` (which returns true to stop) and drop the ones handled; an
/// incomplete packet stays in `buf` for the next call.
pub(crate) fn drain_pkts(
    buf: &mut Vec<u8>,
    data: &[u8],
    mut f: impl FnMut(Pkt<'_>) -> Result<bool, ProtoError>,
) -> Result<(), ProtoError> {
    buf.extend_from_slice(data);
    let mut used = 0;
    while let Some((pkt, n)) = pktline::decode(&buf[used..])
        .map_err(|_| ProtoError::Malformed("bad pkt-line length".into()))?
    {
        used += n;
        if f(pkt)? {
            break;
        }
    }
    buf.drain(..used);
    Ok(())
}
