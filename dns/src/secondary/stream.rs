//! One TCP exchange with a primary, without the socket: the request goes
//! out with its two-byte length (RFC 1035 4.2.2), the answer's bytes come
//! back as whole messages (RFC 7766 8). The caller moves the bytes.

use alloc::vec::Vec;

/// Most bytes held that are not yet taken as messages: past one whole
/// message of the largest size (two length bytes and 65535), so a message
/// always fits, and small enough that parsing what one turn took is short.
/// The primary waits on the TCP window meanwhile, and a primary gives up
/// on a secondary that does not take a message within its timeout (Knot:
/// `tcp-io-timeout`, 500 ms per message): taking everything the socket
/// held (256 KiB) and parsing it before the window could be advertised
/// again took longer than that on a loaded machine (issue 23).
pub const HELD: usize = 128 * 1024;

/// The framing state of one connection.
#[derive(Clone, Debug, Default)]
pub struct Stream {
    /// The request, framed.
    request: Vec<u8>,
    sent: usize,
    /// Bytes received not yet making a whole message.
    rx: Vec<u8>,
    /// The connection is gone (closed by the peer, reset, never up).
    closed: bool,
}

impl Stream {
    /// A connection that will send `msg`.
    pub fn new(msg: &[u8]) -> Stream {
        let mut request = (msg.len() as u16).to_be_bytes().to_vec();
        request.extend_from_slice(msg);
        Stream {
            request,
            sent: 0,
            rx: Vec::new(),
            closed: false,
        }
    }

    /// What is still to be sent.
    pub fn unsent(&self) -> &[u8] {
        &self.request[self.sent..]
    }

    /// `n` bytes of [`Stream::unsent`] went out.
    pub fn sent(&mut self, n: usize) {
        self.sent = (self.sent + n).min(self.request.len());
    }

    /// How many more bytes to take now ([`HELD`] at most held).
    pub fn room(&self) -> usize {
        HELD.saturating_sub(self.rx.len())
    }

    /// Bytes that arrived.
    pub fn received(&mut self, data: &[u8]) {
        self.rx.extend_from_slice(data);
    }

    /// The connection is gone.
    pub fn closed(&mut self) {
        self.closed = true;
    }

    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// The whole messages received so far, in order (a partial one stays).
    pub fn messages(&mut self) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut at = 0;
        while let Some(len) = self.rx.get(at..at + 2) {
            let len = u16::from_be_bytes([len[0], len[1]]) as usize;
            let Some(m) = self.rx.get(at + 2..at + 2 + len) else {
                break;
            };
            out.push(m.to_vec());
            at += 2 + len;
        }
        self.rx.drain(..at);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_out_and_whole_messages_in() {
        let mut s = Stream::new(b"abc");
        assert_eq!(s.unsent(), b"\x00\x03abc");
        s.sent(2);
        assert_eq!(s.unsent(), b"abc");
        s.sent(10);
        assert!(s.unsent().is_empty());
        // Two messages and a half, in pieces that cut the length too.
        s.received(b"\x00\x02hi\x00");
        assert_eq!(s.messages(), [b"hi".to_vec()]);
        s.received(b"\x01x\x00\x03ab");
        assert_eq!(s.messages(), [b"x".to_vec()]);
        assert!(s.messages().is_empty(), "half a message waits");
        s.received(b"c");
        assert_eq!(s.messages(), [b"abc".to_vec()]);
        s.received(b"\x00\x00");
        assert_eq!(s.messages(), [Vec::new()], "an empty message is one");
        // The largest message fits in what is held; then nothing more.
        assert_eq!(s.room(), HELD);
        s.received(&[0xff; HELD - 1]);
        assert_eq!(s.room(), 1);
        assert_eq!(s.messages().len(), 1, "65535 bytes taken, the rest waits");
        assert_eq!(s.room(), 65_538);
        s.received(&[0; 65_538]);
        assert_eq!(s.room(), 0);
        assert!(!s.is_closed());
        s.closed();
        assert!(s.is_closed());
    }
}
