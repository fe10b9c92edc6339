//! [`TlsClient`]: a sans-I/O TLS client over rustls's unbuffered API.
//!
//! It owns four byte queues: ciphertext received but not yet processed,
//! ciphertext to send, plaintext the application wrote (held back until
//! the handshake is done), and plaintext decrypted for the application.
//! rustls does the protocol (RFC 8446 for TLS 1.3, RFC 5246 for 1.2);
//! this type only moves bytes between its states and those queues.
//!
//! # Calling loop
//!
//! ```text
//! let mut tls = TlsClient::new("acme.example", &anchors, now)?;  // ClientHello queued
//! tls.write(request_bytes)?;               // held until the handshake is done
//! loop {
//!     let out = tls.pending_output();       // 1. send what is pending
//!     let n = socket.send(out);             //    (partial sends are fine)
//!     tls.consume_output(n);
//!     match socket.recv() {                 // 2. feed what arrived
//!         Data(bytes) => tls.receive(now, bytes)?,
//!         Eof => tls.transport_closed(),
//!         Nothing => wait_for_socket_or_timeout(),
//!     }
//!     let plain = tls.take_received();      // 3. use the plaintext
//!     match tls.state() {                   // 4. decide
//!         TlsState::Failed(e) => { flush pending_output (an alert), close socket }
//!         TlsState::Closed => { flush pending_output, close socket }
//!         _ => {}
//!     }
//! }
//! tls.close();                              // close_notify (RFC 8446 §6.1)
//! ```
//!
//! Timeouts are the caller's: this type never waits. `now` (unix seconds)
//! is the time certificates are checked against.

use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;

use pki_types::ServerName;
use rustls::client::UnbufferedClientConnection;
use rustls::unbuffered::{ConnectionState, EncodeError, EncryptError, ReadTraffic};
use rustls::ClientConfig;

use crate::clock::Clock;
use crate::roots::Anchors;
use crate::tls_error::TlsError;

/// Ciphertext held while waiting for the rest of a record or handshake
/// message: a handshake message is at most 2^16 bytes in rustls, a record
/// at most 2^14 + 2048 (RFC 8446 §5.2), so this is never reached honestly.
pub const MAX_PENDING_CIPHERTEXT: usize = 128 * 1024;
/// Decrypted plaintext the application has not taken yet.
pub const MAX_PENDING_PLAINTEXT: usize = 4 * 1024 * 1024;
/// Bound on rustls state transitions per call (each makes progress, so
/// reaching it means a bug, reported as [`TlsError::Internal`]).
const MAX_STEPS: usize = 4096;

/// Where a connection is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TlsState {
    /// Handshake in progress; written plaintext is held back.
    Handshaking,
    /// Handshake done: plaintext flows both ways.
    Open,
    /// The server sent close_notify: no more plaintext will arrive.
    PeerClosed,
    /// We sent close_notify (or both sides are done): flush
    /// [`TlsClient::pending_output`], then close the transport.
    Closed,
    /// The connection failed; [`TlsClient::pending_output`] may hold an alert.
    Failed(TlsError),
}

/// A sans-I/O TLS client connection.
pub struct TlsClient {
    conn: UnbufferedClientConnection,
    clock: Arc<Clock>,
    incoming: Vec<u8>,
    outgoing: Vec<u8>,
    to_send: Vec<u8>,
    received: Vec<u8>,
    handshake_done: bool,
    want_close: bool,
    sent_close: bool,
    peer_closed: bool,
    transport_eof: bool,
    error: Option<TlsError>,
}

/// What one rustls state asks of the loop in [`TlsClient::drive`].
enum Step {
    Continue,
    Stop,
    Fail(TlsError),
}

impl TlsClient {
    /// Start a connection to `server_name` (a DNS name, an IPv4 literal or
    /// an IPv6 literal with or without brackets), verifying the server's
    /// chain against `anchors` at time `now`. The ClientHello is pending
    /// output when this returns.
    pub fn new(server_name: &str, anchors: &Anchors, now: u64) -> Result<TlsClient, TlsError> {
        if anchors.is_empty() {
            return Err(TlsError::NoAnchors);
        }
        let name = parse_server_name(server_name)?;
        let clock = Arc::new(Clock::new(now));
        let config = client_config(anchors, clock.clone())?;
        let conn = UnbufferedClientConnection::new(config, name).map_err(|e| TlsError::from(&e))?;
        let mut client = TlsClient {
            conn,
            clock,
            incoming: Vec::new(),
            outgoing: Vec::new(),
            to_send: Vec::new(),
            received: Vec::new(),
            handshake_done: false,
            want_close: false,
            sent_close: false,
            peer_closed: false,
            transport_eof: false,
            error: None,
        };
        client.drive();
        match client.error.clone() {
            Some(e) => Err(e),
            None => Ok(client),
        }
    }

    /// Feed ciphertext received from the server at time `now`.
    pub fn receive(&mut self, now: u64, ciphertext: &[u8]) -> Result<(), TlsError> {
        self.clock.set(now);
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        if self.peer_closed {
            // RFC 8446 §6.1: data after close_notify is ignored.
            return Ok(());
        }
        // Take the input in pieces that fit the buffer; rustls consumes
        // every complete record, so only a record or handshake message
        // bigger than the buffer can fill it.
        let mut rest = ciphertext;
        while !rest.is_empty() && self.error.is_none() && !self.peer_closed {
            let room = MAX_PENDING_CIPHERTEXT - self.incoming.len();
            if room == 0 {
                self.fail(TlsError::TooMuchData);
                break;
            }
            let (now_part, later) = rest.split_at(room.min(rest.len()));
            self.incoming.extend_from_slice(now_part);
            rest = later;
            self.drive();
        }
        self.result()
    }

    /// Queue plaintext for the server; it is encrypted as soon as the
    /// handshake allows.
    pub fn write(&mut self, plaintext: &[u8]) -> Result<(), TlsError> {
        self.result()?;
        if self.want_close {
            return Err(TlsError::Closed);
        }
        self.to_send.extend_from_slice(plaintext);
        self.drive();
        self.result()
    }

    /// Send close_notify (RFC 8446 §6.1) after any plaintext still queued.
    pub fn close(&mut self) {
        if !self.want_close {
            self.want_close = true;
            self.drive();
        }
    }

    /// The transport (TCP) reached end of stream.
    pub fn transport_closed(&mut self) {
        self.transport_eof = true;
        if self.error.is_none() && !self.peer_closed && !self.sent_close {
            self.fail(TlsError::Truncated);
        }
    }

    /// Ciphertext waiting to be sent, oldest first.
    pub fn pending_output(&self) -> &[u8] {
        &self.outgoing
    }

    /// `n` bytes of [`TlsClient::pending_output`] were sent.
    pub fn consume_output(&mut self, n: usize) {
        self.outgoing.drain(..n.min(self.outgoing.len()));
    }

    /// All pending ciphertext, taken.
    pub fn take_output(&mut self) -> Vec<u8> {
        core::mem::take(&mut self.outgoing)
    }

    /// Plaintext received and not yet consumed.
    pub fn received(&self) -> &[u8] {
        &self.received
    }

    /// `n` bytes of [`TlsClient::received`] were used.
    pub fn consume_received(&mut self, n: usize) {
        self.received.drain(..n.min(self.received.len()));
    }

    /// All received plaintext, taken.
    pub fn take_received(&mut self) -> Vec<u8> {
        core::mem::take(&mut self.received)
    }

    /// Where the connection is.
    pub fn state(&self) -> TlsState {
        if let Some(e) = &self.error {
            TlsState::Failed(e.clone())
        } else if self.sent_close || (self.peer_closed && self.transport_eof) {
            TlsState::Closed
        } else if self.peer_closed {
            TlsState::PeerClosed
        } else if self.handshake_done {
            TlsState::Open
        } else {
            TlsState::Handshaking
        }
    }

    /// True until the handshake is done (or failed).
    pub fn is_handshaking(&self) -> bool {
        self.state() == TlsState::Handshaking
    }

    /// True when the server sent close_notify.
    pub fn peer_closed(&self) -> bool {
        self.peer_closed
    }

    /// The error the connection failed with, if any.
    pub fn error(&self) -> Option<&TlsError> {
        self.error.as_ref()
    }

    fn result(&self) -> Result<(), TlsError> {
        match &self.error {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }

    fn fail(&mut self, e: TlsError) {
        if self.error.is_none() {
            self.error = Some(e);
        }
    }

    /// Run rustls until it needs input from the network or the caller.
    fn drive(&mut self) {
        for _ in 0..MAX_STEPS {
            if self.error.is_some() {
                return;
            }
            match self.step() {
                Step::Continue => {}
                Step::Stop => return,
                Step::Fail(e) => {
                    self.fail(e);
                    self.flush_alert();
                    return;
                }
            }
        }
        self.fail(TlsError::Internal);
    }

    /// One call of `process_tls_records` and the handling of its state.
    fn step(&mut self) -> Step {
        let status = self.conn.process_tls_records(&mut self.incoming);
        let mut discard = status.discard;
        let step = match status.state {
            Err(e) => Step::Fail(TlsError::from(&e)),
            Ok(ConnectionState::ReadTraffic(mut traffic)) => {
                read_records(&mut traffic, &mut self.received, &mut discard)
            }
            Ok(ConnectionState::PeerClosed) => {
                self.peer_closed = true;
                Step::Continue
            }
            Ok(ConnectionState::Closed) => {
                self.peer_closed = true;
                Step::Stop
            }
            Ok(ConnectionState::EncodeTlsData(mut enc)) => {
                match append_with(&mut self.outgoing, 512, |buf| {
                    enc.encode(buf).map_err(|e| match e {
                        EncodeError::InsufficientSize(s) => Some(s.required_size),
                        _ => None,
                    })
                }) {
                    Ok(()) => Step::Continue,
                    Err(()) => Step::Fail(TlsError::Internal),
                }
            }
            Ok(ConnectionState::TransmitTlsData(tx)) => {
                // The encoded records are in `outgoing`, in order: for
                // rustls they count as sent.
                tx.done();
                Step::Continue
            }
            Ok(ConnectionState::BlockedHandshake) => Step::Stop,
            Ok(ConnectionState::WriteTraffic(mut w)) => {
                self.handshake_done = true;
                let mut step = Step::Stop;
                if !self.to_send.is_empty() {
                    let data = core::mem::take(&mut self.to_send);
                    let guess = data.len() + 64 * (data.len() / 16384 + 1);
                    if append_with(&mut self.outgoing, guess, |buf| {
                        w.encrypt(&data, buf).map_err(encrypt_size)
                    })
                    .is_err()
                    {
                        step = Step::Fail(TlsError::Internal);
                    }
                }
                if self.want_close && !self.sent_close {
                    self.sent_close = true;
                    if append_with(&mut self.outgoing, 64, |buf| {
                        w.queue_close_notify(buf).map_err(encrypt_size)
                    })
                    .is_err()
                    {
                        step = Step::Fail(TlsError::Internal);
                    }
                }
                step
            }
            Ok(_) => Step::Stop,
        };
        self.incoming.drain(..discard.min(self.incoming.len()));
        step
    }

    /// After a failure rustls may hold a fatal alert (RFC 8446 §6.2) for
    /// the server: move it to the output so the server learns why. Only
    /// when one is queued: `process_tls_records` hands queued records out
    /// before it looks at input, and the input that failed must not be
    /// parsed again.
    fn flush_alert(&mut self) {
        if !self.conn.wants_write() {
            return;
        }
        let status = self.conn.process_tls_records(&mut self.incoming);
        if let Ok(ConnectionState::EncodeTlsData(mut enc)) = status.state {
            let _ = append_with(&mut self.outgoing, 64, |buf| {
                enc.encode(buf).map_err(|e| match e {
                    EncodeError::InsufficientSize(s) => Some(s.required_size),
                    _ => None,
                })
            });
        }
    }
}

fn encrypt_size(e: EncryptError) -> Option<usize> {
    match e {
        EncryptError::InsufficientSize(s) => Some(s.required_size),
        _ => None,
    }
}

/// Let `f` write at the end of `out`, growing it to the size `f` asks for
/// when the first guess is too small.
fn append_with(
    out: &mut Vec<u8>,
    guess: usize,
    mut f: impl FnMut(&mut [u8]) -> Result<usize, Option<usize>>,
) -> Result<(), ()> {
    let start = out.len();
    out.resize(start + guess, 0);
    let mut result = f(&mut out[start..]);
    if let Err(Some(required)) = result {
        out.resize(start + required, 0);
        result = f(&mut out[start..]);
    }
    match result {
        Ok(n) => {
            out.truncate(start + n);
            Ok(())
        }
        Err(_) => {
            out.truncate(start);
            Err(())
        }
    }
}

/// A DNS name or IP literal (brackets around IPv6 allowed).
fn parse_server_name(s: &str) -> Result<ServerName<'static>, TlsError> {
    let bare = s
        .strip_prefix('[')
        .and_then(|v| v.strip_suffix(']'))
        .unwrap_or(s);
    ServerName::try_from(bare)
        .map(|n| n.to_owned())
        .map_err(|_| TlsError::BadServerName)
}

/// rustls configuration: our provider and clock, TLS 1.3 and 1.2, the
/// anchors, no client certificate, ALPN "http/1.1" (RFC 7301).
fn client_config(anchors: &Anchors, clock: Arc<Clock>) -> Result<Arc<ClientConfig>, TlsError> {
    let mut config = ClientConfig::builder_with_details(crate::provider::provider(), clock)
        .with_safe_default_protocol_versions()
        .map_err(|_| TlsError::Internal)?
        .with_root_certificates(anchors.store())
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Take the application data records rustls decrypted into `received`,
/// counting the input bytes they used up in `discard`.
fn read_records<D>(
    traffic: &mut ReadTraffic<'_, '_, D>,
    received: &mut Vec<u8>,
    discard: &mut usize,
) -> Step {
    let mut step = Step::Continue;
    while let Some(record) = traffic.next_record() {
        match record {
            Ok(r) => {
                *discard += r.discard;
                received.extend_from_slice(r.payload);
            }
            Err(e) => {
                step = Step::Fail(TlsError::from(&e));
                break;
            }
        }
    }
    if received.len() > MAX_PENDING_PLAINTEXT {
        step = Step::Fail(TlsError::TooMuchData);
    }
    step
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_750_000_000;

    #[test]
    fn new_queues_a_client_hello() {
        let tls = TlsClient::new(
            "acme-v02.api.letsencrypt.org",
            &Anchors::lets_encrypt(),
            NOW,
        )
        .unwrap();
        let out = tls.pending_output();
        // RFC 8446 §5.1: handshake(22) record, ClientHello(1) inside.
        assert_eq!(out[0], 22);
        assert_eq!(out[5], 1);
        assert_eq!(tls.state(), TlsState::Handshaking);
    }

    #[test]
    fn ip_literals_are_server_names() {
        let a = Anchors::lets_encrypt();
        assert!(TlsClient::new("127.0.0.1", &a, NOW).is_ok());
        assert!(TlsClient::new("::1", &a, NOW).is_ok());
        assert!(TlsClient::new("[::1]", &a, NOW).is_ok());
    }

    #[test]
    fn bad_names_and_no_anchors_are_refused() {
        let a = Anchors::lets_encrypt();
        for bad in ["", "a b", "exa mple.com", "[::1", "x..y"] {
            assert_eq!(
                TlsClient::new(bad, &a, NOW).err(),
                Some(TlsError::BadServerName),
                "{bad}"
            );
        }
        assert_eq!(
            TlsClient::new("example.com", &Anchors::empty(), NOW).err(),
            Some(TlsError::NoAnchors)
        );
    }

    #[test]
    fn garbage_from_the_server_fails_cleanly() {
        let mut tls = TlsClient::new("example.com", &Anchors::lets_encrypt(), NOW).unwrap();
        tls.take_output();
        let err = tls
            .receive(NOW, b"HTTP/1.1 400 Bad Request\r\n\r\n")
            .unwrap_err();
        assert_eq!(err, TlsError::Protocol);
        assert_eq!(tls.state(), TlsState::Failed(TlsError::Protocol));
        assert_eq!(tls.write(b"x"), Err(TlsError::Protocol));
        assert_eq!(tls.receive(NOW, b"more"), Err(TlsError::Protocol));
    }

    #[test]
    fn oversized_input_is_refused() {
        let mut tls = TlsClient::new("example.com", &Anchors::lets_encrypt(), NOW).unwrap();
        // A handshake record header announcing 16 KiB, then never finishing.
        let mut partial = vec![22u8, 3, 3, 0x40, 0x00];
        partial.resize(1000, 0);
        assert!(tls.receive(NOW, &partial).is_ok());
        let big = vec![0u8; MAX_PENDING_CIPHERTEXT];
        assert_eq!(tls.receive(NOW, &big), Err(TlsError::Protocol));
        // A record header announcing more than any record may hold.
        let mut tls = TlsClient::new("example.com", &Anchors::lets_encrypt(), NOW).unwrap();
        assert_eq!(
            tls.receive(NOW, &[22, 3, 3, 0xff, 0xff]),
            Err(TlsError::Protocol)
        );
    }

    #[test]
    fn writes_wait_for_the_handshake_and_eof_truncates() {
        let mut tls = TlsClient::new("example.com", &Anchors::lets_encrypt(), NOW).unwrap();
        let hello = tls.take_output().len();
        tls.write(b"GET / HTTP/1.1\r\n\r\n").unwrap();
        assert!(tls.pending_output().is_empty(), "{hello}");
        tls.transport_closed();
        assert_eq!(tls.state(), TlsState::Failed(TlsError::Truncated));
    }

    #[test]
    fn partial_consumption_of_output() {
        let mut tls = TlsClient::new("example.com", &Anchors::lets_encrypt(), NOW).unwrap();
        let all = tls.pending_output().to_vec();
        tls.consume_output(10);
        assert_eq!(tls.pending_output(), &all[10..]);
        tls.consume_output(usize::MAX);
        assert!(tls.pending_output().is_empty());
    }
}
