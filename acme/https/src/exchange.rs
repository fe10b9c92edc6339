//! [`HttpsExchange`]: an [`HttpRequest`] in, an [`HttpResponse`] out, over
//! one [`TlsClient`], sans I/O.
//!
//! ```text
//! let mut x = HttpsExchange::start(&request, &anchors, now)?;
//! connect a TCP socket to (x.url().host, x.url().port)   // DNS: the caller's
//! loop {
//!     send x.pending_output(), then x.consume_output(sent)
//!     on bytes:  x.receive(now, bytes)?      on EOF: x.transport_closed()?
//!     if let Some(resp) = x.take_response() { break resp }
//!     on timeout: give up (drop x, close the socket)
//! }
//! // then either x.send(&next)? when x.can_reuse() and the next URL
//! // has the same origin, or x.close(), flush x.pending_output(), close TCP.
//! ```

use alloc::vec::Vec;
use core::fmt;

use crate::http::{encode_request, HttpError, HttpRequest, HttpResponse};
use crate::response::{Limits, ResponseParser};
use crate::roots::Anchors;
use crate::tls::{TlsClient, TlsState};
use crate::tls_error::TlsError;
use crate::url::{Url, UrlError};

/// Ciphertext handed to TLS per step: a maximal TLS record (RFC 8446 §5.2).
const RECEIVE_PIECE: usize = 16 * 1024 + 256;

/// Why an exchange failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExchangeError {
    /// The request URL.
    Url(UrlError),
    /// The TLS layer.
    Tls(TlsError),
    /// The HTTP layer.
    Http(HttpError),
    /// A request is already waiting for its response.
    Busy,
    /// The connection cannot carry another request (closed, failed, or
    /// another origin).
    NotReusable,
}

impl fmt::Display for ExchangeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExchangeError::Url(e) => write!(f, "url: {e}"),
            ExchangeError::Tls(e) => write!(f, "tls: {e}"),
            ExchangeError::Http(e) => write!(f, "http: {e}"),
            ExchangeError::Busy => f.write_str("a request is already in flight"),
            ExchangeError::NotReusable => f.write_str("connection cannot be reused"),
        }
    }
}

impl From<UrlError> for ExchangeError {
    fn from(e: UrlError) -> Self {
        ExchangeError::Url(e)
    }
}

impl From<TlsError> for ExchangeError {
    fn from(e: TlsError) -> Self {
        ExchangeError::Tls(e)
    }
}

impl From<HttpError> for ExchangeError {
    fn from(e: HttpError) -> Self {
        ExchangeError::Http(e)
    }
}

/// Requests and responses over one HTTPS connection, one at a time.
pub struct HttpsExchange {
    tls: TlsClient,
    origin: Url,
    limits: Limits,
    parser: Option<ResponseParser>,
    response: Option<HttpResponse>,
    reusable: bool,
    error: Option<ExchangeError>,
}

impl HttpsExchange {
    /// Open a TLS connection to the request's origin and queue the request
    /// (sent once the handshake is done). Default [`Limits`].
    pub fn start(req: &HttpRequest, anchors: &Anchors, now: u64) -> Result<Self, ExchangeError> {
        Self::start_with_limits(req, anchors, now, Limits::default())
    }

    /// [`HttpsExchange::start`] with explicit response limits.
    pub fn start_with_limits(
        req: &HttpRequest,
        anchors: &Anchors,
        now: u64,
        limits: Limits,
    ) -> Result<Self, ExchangeError> {
        let origin = Url::parse(&req.url)?;
        let tls = TlsClient::new(&origin.host, anchors, now)?;
        let mut x = HttpsExchange {
            tls,
            origin,
            limits,
            parser: None,
            response: None,
            reusable: true,
            error: None,
        };
        x.send(req)?;
        Ok(x)
    }

    /// Queue another request on this connection: only once the previous
    /// response was taken, when [`HttpsExchange::can_reuse`], and for the
    /// same origin.
    pub fn send(&mut self, req: &HttpRequest) -> Result<(), ExchangeError> {
        if self.parser.is_some() || self.response.is_some() {
            return Err(ExchangeError::Busy);
        }
        let url = Url::parse(&req.url)?;
        if !self.can_reuse() || !url.same_origin(&self.origin) {
            return Err(ExchangeError::NotReusable);
        }
        let bytes = encode_request(req, &url)?;
        self.tls.write(&bytes)?;
        self.parser = Some(ResponseParser::new(req.method, self.limits));
        Ok(())
    }

    /// The origin this connection goes to (host and port for the socket).
    pub fn url(&self) -> &Url {
        &self.origin
    }

    /// Feed ciphertext received at time `now`.
    pub fn receive(&mut self, now: u64, ciphertext: &[u8]) -> Result<(), ExchangeError> {
        self.check()?;
        // One TLS record's worth at a time, so the HTTP limits apply
        // before much plaintext piles up.
        for piece in ciphertext.chunks(RECEIVE_PIECE) {
            let tls = self.tls.receive(now, piece);
            let parsed = self.parse_received();
            if let Err(e) = tls {
                return Err(self.fail(e.into()));
            }
            parsed?;
        }
        if self.tls.peer_closed() {
            self.reusable = false;
            self.end_of_stream(false)?;
        }
        Ok(())
    }

    /// The TCP connection reached end of stream.
    pub fn transport_closed(&mut self) -> Result<(), ExchangeError> {
        self.check()?;
        self.reusable = false;
        let clean = self.tls.peer_closed();
        self.tls.transport_closed();
        self.end_of_stream(!clean)
    }

    /// Ciphertext to send, oldest first.
    pub fn pending_output(&self) -> &[u8] {
        self.tls.pending_output()
    }

    /// `n` bytes of [`HttpsExchange::pending_output`] were sent.
    pub fn consume_output(&mut self, n: usize) {
        self.tls.consume_output(n)
    }

    /// All pending ciphertext, taken.
    pub fn take_output(&mut self) -> Vec<u8> {
        self.tls.take_output()
    }

    /// The response, once complete.
    pub fn take_response(&mut self) -> Option<HttpResponse> {
        self.response.take()
    }

    /// True when a response is ready or the exchange failed.
    pub fn is_done(&self) -> bool {
        self.response.is_some() || self.error.is_some()
    }

    /// The error the exchange failed with.
    pub fn error(&self) -> Option<&ExchangeError> {
        self.error.as_ref()
    }

    /// True when another request may be sent on this connection.
    pub fn can_reuse(&self) -> bool {
        self.reusable
            && self.error.is_none()
            && matches!(self.tls.state(), TlsState::Handshaking | TlsState::Open)
    }

    /// The TLS connection's state.
    pub fn tls_state(&self) -> TlsState {
        self.tls.state()
    }

    /// Send close_notify; flush [`HttpsExchange::pending_output`], then
    /// close the socket.
    pub fn close(&mut self) {
        self.reusable = false;
        self.tls.close();
    }

    fn check(&self) -> Result<(), ExchangeError> {
        match &self.error {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }

    fn fail(&mut self, e: ExchangeError) -> ExchangeError {
        self.reusable = false;
        self.parser = None;
        self.error.get_or_insert(e).clone()
    }

    /// Give decrypted bytes to the parser of the request in flight.
    fn parse_received(&mut self) -> Result<(), ExchangeError> {
        let plain = self.tls.take_received();
        if plain.is_empty() {
            return Ok(());
        }
        let Some(parser) = self.parser.as_mut() else {
            // Bytes nobody asked for: this connection is out of step.
            self.reusable = false;
            return Ok(());
        };
        let used = match parser.feed(&plain) {
            Ok(n) => n,
            Err(e) => return Err(self.fail(e.into())),
        };
        if parser.is_done() {
            self.reusable &= used == plain.len() && !parser.connection_close();
            self.response = parser.take_response();
            self.parser = None;
        }
        Ok(())
    }

    /// The byte stream ended (`truncated`: without close_notify).
    fn end_of_stream(&mut self, truncated: bool) -> Result<(), ExchangeError> {
        let Some(parser) = self.parser.as_mut() else {
            return Ok(());
        };
        if truncated {
            return Err(self.fail(ExchangeError::Tls(TlsError::Truncated)));
        }
        if let Err(e) = parser.finish_eof() {
            return Err(self.fail(e.into()));
        }
        self.response = parser.take_response();
        self.parser = None;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::Method;
    use alloc::string::ToString;
    use alloc::vec;

    const NOW: u64 = 1_750_000_000;

    fn get(url: &str) -> HttpRequest {
        HttpRequest {
            method: Method::Get,
            url: url.to_string(),
            headers: vec![],
            body: vec![],
        }
    }

    #[test]
    fn start_queues_a_client_hello_and_refuses_bad_urls() {
        let a = Anchors::lets_encrypt();
        let x = HttpsExchange::start(&get("https://acme.example:8443/dir"), &a, NOW).unwrap();
        assert_eq!(x.pending_output()[0], 22);
        assert_eq!(x.url().port, 8443);
        assert!(!x.is_done());
        let e = HttpsExchange::start(&get("http://acme.example/"), &a, NOW).err();
        assert_eq!(e, Some(ExchangeError::Url(UrlError::NotHttps)));
        let mut bad = get("https://a.example/");
        bad.headers.push(("Bad Name".to_string(), "v".to_string()));
        let e = HttpsExchange::start(&bad, &a, NOW).err();
        assert_eq!(e, Some(ExchangeError::Http(HttpError::BadHeader)));
    }

    #[test]
    fn one_request_at_a_time_same_origin() {
        let a = Anchors::lets_encrypt();
        let mut x = HttpsExchange::start(&get("https://a.example/"), &a, NOW).unwrap();
        assert_eq!(
            x.send(&get("https://a.example/2")),
            Err(ExchangeError::Busy)
        );
        x.close();
        assert!(!x.can_reuse());
    }

    #[test]
    fn garbage_and_eof_are_errors() {
        let a = Anchors::lets_encrypt();
        let mut x = HttpsExchange::start(&get("https://a.example/"), &a, NOW).unwrap();
        let e = x.receive(NOW, b"garbage garbage garbage").unwrap_err();
        assert_eq!(e, ExchangeError::Tls(TlsError::Protocol));
        assert!(x.is_done());
        let mut x = HttpsExchange::start(&get("https://a.example/"), &a, NOW).unwrap();
        assert_eq!(
            x.transport_closed(),
            Err(ExchangeError::Tls(TlsError::Truncated))
        );
    }
}
