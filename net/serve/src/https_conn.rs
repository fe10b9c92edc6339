//! One HTTPS request over one smoltcp TCP connection: connect, move bytes
//! between the socket and the sans-I/O [`HttpsExchange`], hand back the
//! response. A fresh connection per request keeps it simple; the ACME
//! client makes a handful of requests per certificate.

use alloc::format;
use alloc::string::String;
use gitns_https::{Anchors, HttpRequest, HttpResponse, HttpsExchange, Url};
use gitns_net::smoltcp::iface::SocketHandle;
use gitns_net::smoltcp::socket::tcp;
use gitns_net::smoltcp::wire::{IpAddress, IpEndpoint};
use gitns_net::Net;

const RX_BYTES: usize = 64 * 1024;
const TX_BYTES: usize = 16 * 1024;
/// A request taking longer than this fails (the caller's core retries).
const DEADLINE_NS: u64 = 30_000_000_000;

/// A request in flight.
pub struct HttpsConn {
    handle: SocketHandle,
    ex: HttpsExchange,
    deadline: u64,
    target: IpEndpoint,
}

/// The IP literal of a URL's host, if it is one.
pub fn ip_host(url: &str) -> Option<IpAddress> {
    let u = Url::parse(url).ok()?;
    u.host.trim_matches(|c| c == '[' || c == ']').parse().ok()
}

/// The host and port of a URL.
pub fn host_port(url: &str) -> Option<(String, u16)> {
    let u = Url::parse(url).ok()?;
    Some((u.host.clone(), u.port))
}

impl HttpsConn {
    /// Connect to `ip` (the URL's host resolved) and start `req`.
    pub fn open(
        net: &mut Net,
        req: &HttpRequest,
        ip: IpAddress,
        anchors: &Anchors,
        now_unix: u64,
        now_ns: u64,
        local_port: u16,
    ) -> Result<HttpsConn, String> {
        let (_, port) = host_port(&req.url).ok_or_else(|| format!("bad URL {}", req.url))?;
        let ex = HttpsExchange::start(req, anchors, now_unix)
            .map_err(|e| format!("{}: {e:?}", req.url))?;
        let target = IpEndpoint::new(ip, port);
        Ok(HttpsConn {
            handle: net.connect_tcp(target, local_port, RX_BYTES, TX_BYTES)?,
            ex,
            deadline: now_ns + DEADLINE_NS,
            target,
        })
    }

    /// Move bytes; the response (or why there is none) once done.
    /// Returns (moved anything, result).
    pub fn pump(
        &mut self,
        net: &mut Net,
        now_unix: u64,
        now_ns: u64,
    ) -> (bool, Option<Result<HttpResponse, String>>) {
        let sock = net.sockets.get_mut::<tcp::Socket>(self.handle);
        let mut busy = false;
        let mut buf = [0u8; 4096];
        while sock.can_recv() {
            let n = sock.recv_slice(&mut buf).unwrap_or(0);
            if n == 0 {
                break;
            }
            busy = true;
            if let Err(e) = self.ex.receive(now_unix, &buf[..n]) {
                return (true, Some(Err(format!("{}: {e:?}", self.target))));
            }
        }
        let out = self.ex.pending_output();
        if sock.can_send() && !out.is_empty() {
            let n = sock.send_slice(out).unwrap_or(0);
            self.ex.consume_output(n);
            busy |= n > 0;
        }
        if let Some(r) = self.ex.take_response() {
            return (true, Some(Ok(r)));
        }
        if !sock.is_open() || sock.state() == tcp::State::CloseWait {
            let _ = self.ex.transport_closed();
            if let Some(r) = self.ex.take_response() {
                return (true, Some(Ok(r)));
            }
            let why = match sock.state() {
                tcp::State::Closed if !busy => "cannot connect or connection reset",
                _ => "connection closed before the response",
            };
            return (true, Some(Err(format!("{}: {why}", self.target))));
        }
        if now_ns >= self.deadline {
            return (true, Some(Err(format!("{}: timed out", self.target))));
        }
        (busy, None)
    }

    /// Pump the request in `slot`, if any; once it is done its connection
    /// is closed and the slot emptied. Returns (moved anything, result).
    pub fn pump_slot(
        slot: &mut Option<HttpsConn>,
        net: &mut Net,
        now_unix: u64,
        now_ns: u64,
    ) -> (bool, Option<Result<HttpResponse, String>>) {
        let Some(c) = slot.as_mut() else {
            return (false, None);
        };
        let (moved, done) = c.pump(net, now_unix, now_ns);
        if let Some(c) = slot.take_if(|_| done.is_some()) {
            c.close(net);
        }
        (moved, done)
    }

    pub fn next_deadline(&self) -> u64 {
        self.deadline
    }

    /// Close and forget the socket.
    pub fn close(self, net: &mut Net) {
        net.sockets.get_mut::<tcp::Socket>(self.handle).abort();
        net.sockets.remove(self.handle);
    }
}
