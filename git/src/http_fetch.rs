//! One fetch over HTTPS, sans-I/O: the requests [`SmartHttp`] makes, sent
//! over [`HttpsExchange`] connections (kept alive between requests of the
//! same origin, a new one when the server closed it or a redirect leads
//! elsewhere), with the fetch's timers. The server's certificate is checked
//! against the [`Anchors`] given (the compiled-in roots, or `--remote-ca=`).

use crate::proto::fetch::{Fetch, Fetched};
use crate::smart_http::{Auth, SmartHttp};
use crate::transfer::{FetchError, Now, Outcome, Transfer};
use alloc::string::String;
use gitns_https::{Anchors, HttpsExchange, Limits, Url};

/// A fetch over HTTPS.
pub struct HttpFetch {
    http: SmartHttp,
    anchors: Anchors,
    limits: Limits,
    ex: Option<HttpsExchange>,
    endpoint: (String, u16),
    generation: u64,
    connected: bool,
    end: Outcome,
}

impl HttpFetch {
    /// Run `fetch` (its pack at most `max_pack` bytes) against the
    /// repository at `url`.
    pub fn new(
        url: &Url,
        auth: Auth,
        fetch: Fetch,
        anchors: Anchors,
        max_pack: usize,
        now: Now,
    ) -> HttpFetch {
        let mut f = HttpFetch {
            http: SmartHttp::new(url, auth, fetch),
            anchors,
            limits: Limits {
                // The pack in side-band packets, and progress lines.
                max_body_bytes: max_pack + max_pack / 8 + 64 * 1024,
                ..Limits::default()
            },
            ex: None,
            endpoint: (url.host.clone(), url.port),
            generation: 0,
            connected: false,
            end: Outcome::new(now.ns),
        };
        f.next_request(now);
        f
    }

    /// The repository URL, after redirects.
    pub fn url(&self) -> &str {
        self.http.url()
    }

    fn fail(&mut self, e: FetchError) {
        self.end.fail(e);
        self.ex = None;
    }

    /// Send the request [`SmartHttp`] has next: on the connection when it
    /// can take it, else on a new one.
    fn next_request(&mut self, now: Now) {
        let Some(req) = self.http.take_request() else {
            return;
        };
        if let Some(ex) = self.ex.as_mut() {
            let same = Url::parse(&req.url).is_ok_and(|u| u.same_origin(ex.url()));
            if same && ex.can_reuse() {
                if let Err(e) = ex.send(&req) {
                    self.fail(FetchError::Https(e));
                }
                return;
            }
        }
        match HttpsExchange::start_with_limits(&req, &self.anchors, now.unix, self.limits) {
            Ok(ex) => {
                self.endpoint = (ex.url().host.clone(), ex.url().port);
                self.ex = Some(ex);
                self.generation += 1;
                self.connected = false;
            }
            Err(e) => self.fail(FetchError::Https(e)),
        }
    }

    /// Hand a complete response to [`SmartHttp`]; then the next request,
    /// or the result.
    fn answered(&mut self, now: Now) {
        let Some(resp) = self.ex.as_mut().and_then(|ex| ex.take_response()) else {
            return;
        };
        if let Err(e) = self.http.response(resp) {
            return self.fail(FetchError::Http(e));
        }
        if let Some(r) = self.http.result() {
            self.end.result = Some(Ok(r.clone()));
            if let Some(ex) = self.ex.as_mut() {
                ex.close();
            }
            return;
        }
        self.next_request(now);
    }
}

impl Transfer for HttpFetch {
    fn endpoint(&self) -> (&str, u16) {
        (&self.endpoint.0, self.endpoint.1)
    }

    fn generation(&self) -> u64 {
        self.generation
    }

    fn transport_up(&mut self) {
        self.connected = true;
    }

    fn was_connected(&self) -> bool {
        self.connected
    }

    fn input(&mut self, now: Now, data: &[u8]) {
        if self.end.result.is_some() || data.is_empty() {
            return;
        }
        self.end.timer.touch(now.ns);
        let Some(ex) = self.ex.as_mut() else { return };
        if let Err(e) = ex.receive(now.unix, data) {
            return self.fail(FetchError::Https(e));
        }
        self.answered(now);
    }

    fn transport_closed(&mut self, now: Now) {
        if self.end.result.is_some() {
            return;
        }
        let generation = self.generation;
        let Some(ex) = self.ex.as_mut() else { return };
        if let Err(e) = ex.transport_closed() {
            return self.fail(FetchError::Https(e));
        }
        self.answered(now);
        if self.end.result.is_none() && self.generation == generation {
            self.fail(FetchError::Closed);
        }
    }

    fn pending_output(&self) -> &[u8] {
        self.ex.as_ref().map_or(&[], |ex| ex.pending_output())
    }

    fn consume_output(&mut self, n: usize) {
        if let Some(ex) = self.ex.as_mut() {
            ex.consume_output(n);
        }
    }

    fn poll(&mut self, now: Now) -> Option<&Result<Fetched, FetchError>> {
        self.end.poll(now.ns)
    }

    fn protocol_v2(&self) -> bool {
        self.http.protocol_v2()
    }

    fn next_deadline(&self) -> u64 {
        self.end.next_deadline()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;

    const NOW: Now = Now {
        ns: 1_000,
        unix: 1_750_000_000,
    };

    fn start(anchors: Anchors) -> HttpFetch {
        let url = Url::parse("https://git.test:8443/zones.git").unwrap();
        let fetch = Fetch::new("main", Vec::new(), true, 1 << 20);
        HttpFetch::new(&url, Auth::None, fetch, anchors, 1 << 20, NOW)
    }

    #[test]
    fn connects_to_the_url_and_says_hello() {
        let mut f = start(Anchors::lets_encrypt());
        assert_eq!(f.endpoint(), ("git.test", 8443));
        assert_eq!(f.generation(), 1);
        assert_eq!(f.pending_output()[0], 22, "a TLS handshake record");
        assert!(f.poll(NOW).is_none());
        f.transport_up();
        assert!(f.was_connected());
    }

    #[test]
    fn garbage_a_close_and_silence_are_errors() {
        let mut f = start(Anchors::lets_encrypt());
        f.input(NOW, b"HTTP/1.1 200 OK\r\n\r\n");
        assert!(matches!(f.poll(NOW), Some(Err(FetchError::Https(_)))));
        let mut f = start(Anchors::lets_encrypt());
        f.transport_closed(NOW);
        assert!(matches!(f.poll(NOW), Some(Err(FetchError::Https(_)))));
        let mut f = start(Anchors::lets_encrypt());
        let at = f.next_deadline();
        let later = Now { ns: at, ..NOW };
        assert_eq!(f.poll(later), Some(&Err(FetchError::Stalled)));
        assert_eq!(f.next_deadline(), u64::MAX);
    }

    #[test]
    fn no_anchor_fails_at_once() {
        let mut f = start(Anchors::empty());
        assert!(matches!(f.poll(NOW), Some(Err(FetchError::Https(_)))));
    }
}
