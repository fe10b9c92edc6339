//! Incremental HTTP/1.1 response parser (RFC 9112).
//!
//! Feed it bytes as they arrive, in pieces of any size; it keeps at most
//! one partial line plus the body, both bounded by [`Limits`]. The message
//! length follows RFC 9112 §6.3: no body for HEAD, 204 and 304; chunked
//! when Transfer-Encoding says so; else Content-Length; else up to the end
//! of the connection ([`ResponseParser::finish_eof`]).

use alloc::string::String;
use alloc::vec::Vec;

use crate::http::{is_tchar, HttpError, HttpResponse, Method};

/// Size limits on what a server may send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Status line + header fields (and, separately, trailer fields).
    pub max_head_bytes: usize,
    /// Number of header fields.
    pub max_headers: usize,
    /// Decoded body.
    pub max_body_bytes: usize,
}

impl Default for Limits {
    /// 16 KiB of head, 100 fields, 1 MiB of body: ACME responses are small
    /// (a certificate chain is a few KiB).
    fn default() -> Limits {
        Limits {
            max_head_bytes: 16 * 1024,
            max_headers: 100,
            max_body_bytes: 1024 * 1024,
        }
    }
}

/// A chunk-size line is short; extensions (ignored) get some room.
const MAX_CHUNK_LINE: usize = 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Status line and header fields.
    Head,
    /// Content-Length body: bytes still to come.
    Length(usize),
    /// Body delimited by the end of the connection.
    UntilClose,
    /// Chunked: a chunk-size line.
    ChunkSize,
    /// Chunked: chunk data still to come.
    ChunkData(usize),
    /// Chunked: the CRLF after chunk data.
    ChunkEnd,
    /// Chunked: trailer fields up to an empty line.
    Trailers,
    /// The response is complete.
    Done,
}

/// Parses one response (skipping interim 1xx responses).
#[derive(Debug)]
pub struct ResponseParser {
    limits: Limits,
    method: Method,
    phase: Phase,
    line: Vec<u8>,
    line_budget: usize,
    status: Option<(u16, u8)>,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    close: bool,
    error: Option<HttpError>,
}

impl ResponseParser {
    /// A parser for the response to a `method` request.
    pub fn new(method: Method, limits: Limits) -> ResponseParser {
        ResponseParser {
            limits,
            method,
            phase: Phase::Head,
            line: Vec::new(),
            line_budget: limits.max_head_bytes,
            status: None,
            headers: Vec::new(),
            body: Vec::new(),
            close: false,
            error: None,
        }
    }

    /// Feed received bytes; returns how many were used. Fewer than given
    /// only once the response is complete: the rest belongs to no request.
    pub fn feed(&mut self, data: &[u8]) -> Result<usize, HttpError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let mut used = 0;
        while used < data.len() && self.phase != Phase::Done {
            match self.step(&data[used..]) {
                Ok(n) => used += n,
                Err(e) => {
                    self.error = Some(e);
                    return Err(e);
                }
            }
        }
        Ok(used)
    }

    /// The connection ended: completes a close-delimited body, else an
    /// unfinished response is [`HttpError::Truncated`].
    pub fn finish_eof(&mut self) -> Result<(), HttpError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        match self.phase {
            Phase::Done => Ok(()),
            Phase::UntilClose => {
                self.phase = Phase::Done;
                Ok(())
            }
            _ => {
                self.error = Some(HttpError::Truncated);
                Err(HttpError::Truncated)
            }
        }
    }

    /// True once a whole response has been parsed.
    pub fn is_done(&self) -> bool {
        self.phase == Phase::Done
    }

    /// True when the server will close the connection after this response
    /// (`Connection: close`, HTTP/1.0 without keep-alive, or a body
    /// delimited by the close; RFC 9112 §9.3, §9.6).
    pub fn connection_close(&self) -> bool {
        self.close
    }

    /// The response, once [`ResponseParser::is_done`].
    pub fn take_response(&mut self) -> Option<HttpResponse> {
        if self.phase != Phase::Done {
            return None;
        }
        let (status, _) = self.status?;
        Some(HttpResponse {
            status,
            headers: core::mem::take(&mut self.headers),
            body: core::mem::take(&mut self.body),
        })
    }

    /// Use some of `data` in the current phase; returns how much.
    fn step(&mut self, data: &[u8]) -> Result<usize, HttpError> {
        match self.phase {
            Phase::Length(left) | Phase::ChunkData(left) => {
                let n = left.min(data.len());
                self.body.extend_from_slice(&data[..n]);
                self.phase = match (self.phase, left - n) {
                    (Phase::Length(_), 0) => Phase::Done,
                    (Phase::Length(_), rest) => Phase::Length(rest),
                    (_, 0) => self.start_line(Phase::ChunkEnd, 2),
                    (_, rest) => Phase::ChunkData(rest),
                };
                Ok(n)
            }
            Phase::UntilClose => {
                self.grow_body(data.len())?;
                self.body.extend_from_slice(data);
                Ok(data.len())
            }
            Phase::Done => Ok(0),
            _ => self.take_line(data),
        }
    }

    /// Accumulate up to and including a LF; handle the line when whole.
    fn take_line(&mut self, data: &[u8]) -> Result<usize, HttpError> {
        let (part, complete) = match data.iter().position(|b| *b == b'\n') {
            Some(p) => (&data[..p], true),
            None => (data, false),
        };
        if self.line.len() + part.len() > self.line_budget {
            return Err(self.too_long());
        }
        self.line.extend_from_slice(part);
        if !complete {
            return Ok(part.len());
        }
        let mut line = core::mem::take(&mut self.line);
        // The budget covers every line of the phase, terminators included.
        self.line_budget = self.line_budget.saturating_sub(line.len() + 1);
        // RFC 9112 §2.2: CRLF ends a line; a bare LF is accepted; a bare CR
        // anywhere else makes the line invalid.
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        if line.contains(&b'\r') {
            return Err(self.bad_line());
        }
        self.on_line(&line)?;
        Ok(part.len() + 1)
    }

    fn too_long(&self) -> HttpError {
        match self.phase {
            Phase::Head | Phase::Trailers => HttpError::HeadTooLarge,
            _ => HttpError::BadChunk,
        }
    }

    fn bad_line(&self) -> HttpError {
        match self.phase {
            Phase::Head => HttpError::BadHeaderLine,
            _ => HttpError::BadChunk,
        }
    }

    /// Enter a line-reading phase whose lines may total `budget` bytes.
    fn start_line(&mut self, phase: Phase, budget: usize) -> Phase {
        self.line.clear();
        self.line_budget = budget;
        phase
    }

    fn on_line(&mut self, line: &[u8]) -> Result<(), HttpError> {
        match self.phase {
            Phase::Head if self.status.is_none() => {
                self.status = Some(parse_status_line(line)?);
                Ok(())
            }
            Phase::Head if line.is_empty() => self.end_of_head(),
            Phase::Head => self.header_line(line),
            Phase::ChunkSize => self.chunk_size(line),
            Phase::ChunkEnd if line.is_empty() => {
                self.phase = self.start_line(Phase::ChunkSize, MAX_CHUNK_LINE);
                Ok(())
            }
            Phase::ChunkEnd => Err(HttpError::BadChunk),
            // RFC 9112 §7.1.2: trailer fields are read and dropped (they
            // are not merged into the header section).
            Phase::Trailers if line.is_empty() => {
                self.phase = Phase::Done;
                Ok(())
            }
            Phase::Trailers => Ok(()),
            _ => Err(HttpError::BadChunk),
        }
    }

    /// RFC 9112 §5: `name ":" OWS value OWS`; obs-fold continuation lines
    /// are joined with a space (§5.2).
    fn header_line(&mut self, line: &[u8]) -> Result<(), HttpError> {
        if line[0] == b' ' || line[0] == b'\t' {
            let (_, last) = self.headers.last_mut().ok_or(HttpError::BadHeaderLine)?;
            last.push(' ');
            last.push_str(&field_text(trim_ows(line))?);
            return Ok(());
        }
        let colon = line
            .iter()
            .position(|b| *b == b':')
            .ok_or(HttpError::BadHeaderLine)?;
        let name = &line[..colon];
        // RFC 9112 §5.1: no whitespace between name and colon.
        if name.is_empty() || !name.iter().all(|b| is_tchar(*b)) {
            return Err(HttpError::BadHeaderLine);
        }
        if self.headers.len() >= self.limits.max_headers {
            return Err(HttpError::HeadTooLarge);
        }
        let value = field_text(trim_ows(&line[colon + 1..]))?;
        let name = String::from_utf8_lossy(name).into_owned();
        self.headers.push((name, value));
        Ok(())
    }

    /// The head is complete: skip an interim response, or pick how the
    /// body is delimited (RFC 9112 §6.3).
    fn end_of_head(&mut self) -> Result<(), HttpError> {
        let (status, minor) = self.status.ok_or(HttpError::BadStatusLine)?;
        if status == 101 {
            return Err(HttpError::UnexpectedUpgrade);
        }
        if status < 200 {
            // RFC 9110 §15.2: interim responses precede the final one.
            self.status = None;
            self.headers.clear();
            self.line_budget = self.limits.max_head_bytes;
            return Ok(());
        }
        self.close = self.has_token("connection", "close")
            || (minor == 0 && !self.has_token("connection", "keep-alive"));
        self.phase = self.body_phase(status)?;
        Ok(())
    }

    fn body_phase(&mut self, status: u16) -> Result<Phase, HttpError> {
        // §6.3 (1): no content for HEAD, 204 and 304.
        if self.method == Method::Head || status == 204 || status == 304 {
            return Ok(Phase::Done);
        }
        // §6.3 (3): Transfer-Encoding overrides Content-Length; chunked
        // must be the final (here: only) coding, or the length is unknown.
        if self.fields("transfer-encoding").next().is_some() {
            let chunked = self
                .fields("transfer-encoding")
                .all(|v| v.eq_ignore_ascii_case("chunked"));
            if !chunked {
                return Err(HttpError::UnsupportedTransferEncoding);
            }
            let also_length = self.fields("content-length").next().is_some();
            self.close |= also_length;
            return Ok(self.start_line(Phase::ChunkSize, MAX_CHUNK_LINE));
        }
        // §6.3 (5): one Content-Length value, possibly repeated.
        match self.content_length()? {
            Some(0) => Ok(Phase::Done),
            Some(n) => {
                self.grow_body(n)?;
                Ok(Phase::Length(n))
            }
            // §6.3 (8): the rest of the connection.
            None => {
                self.close = true;
                Ok(Phase::UntilClose)
            }
        }
    }

    /// All Content-Length values (fields and comma lists) must agree.
    fn content_length(&self) -> Result<Option<usize>, HttpError> {
        let mut length = None;
        for value in self.fields("content-length") {
            for item in value.split(',') {
                let n = parse_decimal(item.trim_matches([' ', '\t']))?;
                if length.is_some_and(|l| l != n) {
                    return Err(HttpError::BadContentLength);
                }
                length = Some(n);
            }
        }
        Ok(length)
    }

    /// RFC 9112 §7.1: `chunk-size [chunk-ext] CRLF`; size 0 is the last.
    fn chunk_size(&mut self, line: &[u8]) -> Result<(), HttpError> {
        let digits = line.iter().take_while(|b| b.is_ascii_hexdigit()).count();
        let rest = trim_ows(&line[digits..]);
        if digits == 0 || digits > 16 || !(rest.is_empty() || rest[0] == b';') {
            return Err(HttpError::BadChunk);
        }
        let mut size: u64 = 0;
        for d in &line[..digits] {
            size = size << 4 | (*d as char).to_digit(16).unwrap_or(0) as u64;
        }
        let size = usize::try_from(size).map_err(|_| HttpError::BodyTooLarge)?;
        self.phase = if size == 0 {
            self.start_line(Phase::Trailers, self.limits.max_head_bytes)
        } else {
            self.grow_body(size)?;
            Phase::ChunkData(size)
        };
        Ok(())
    }

    fn grow_body(&self, more: usize) -> Result<(), HttpError> {
        match self.body.len().checked_add(more) {
            Some(n) if n <= self.limits.max_body_bytes => Ok(()),
            _ => Err(HttpError::BodyTooLarge),
        }
    }

    fn fields<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// A comma-separated field (RFC 9110 §5.6.1) lists `token`.
    fn has_token(&self, name: &str, token: &str) -> bool {
        self.fields(name)
            .flat_map(|v| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    }
}

/// `HTTP/1.x SP 3DIGIT [SP reason]` (RFC 9112 §4); (status, minor version).
fn parse_status_line(line: &[u8]) -> Result<(u16, u8), HttpError> {
    let bad = HttpError::BadStatusLine;
    let rest = line.strip_prefix(b"HTTP/1.").ok_or(bad)?;
    if rest.len() < 5 || !rest[0].is_ascii_digit() || rest[1] != b' ' {
        return Err(bad);
    }
    let code = &rest[2..5];
    if !code.iter().all(u8::is_ascii_digit) || !(rest.len() == 5 || rest[5] == b' ') {
        return Err(bad);
    }
    let status = code.iter().fold(0u16, |a, d| a * 10 + u16::from(d - b'0'));
    if !(100..=599).contains(&status) {
        return Err(bad);
    }
    Ok((status, rest[0] - b'0'))
}

fn parse_decimal(s: &str) -> Result<usize, HttpError> {
    if s.is_empty() || s.len() > 19 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(HttpError::BadContentLength);
    }
    s.parse().map_err(|_| HttpError::BadContentLength)
}

fn trim_ows(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// A field value: visible ASCII, SP, HTAB and obs-text (kept lossily as
/// UTF-8); NUL and other controls are refused (RFC 9110 §5.5).
fn field_text(v: &[u8]) -> Result<String, HttpError> {
    if v.iter().any(|b| (*b < b' ' && *b != b'\t') || *b == 0x7f) {
        return Err(HttpError::BadHeaderLine);
    }
    Ok(String::from_utf8_lossy(v).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn parse_all(method: Method, raw: &[u8]) -> Result<(HttpResponse, usize, bool), HttpError> {
        let mut p = ResponseParser::new(method, Limits::default());
        let used = p.feed(raw)?;
        if !p.is_done() {
            p.finish_eof()?;
        }
        let close = p.connection_close();
        Ok((p.take_response().unwrap(), used, close))
    }

    /// Every split of `raw` into two feeds gives the same result as one.
    fn parse_split(method: Method, raw: &[u8]) -> HttpResponse {
        let (whole, _, _) = parse_all(method, raw).unwrap();
        for cut in 0..=raw.len() {
            let mut p = ResponseParser::new(method, Limits::default());
            let a = p.feed(&raw[..cut]).unwrap();
            let b = p.feed(&raw[a..]).unwrap();
            assert!(a + b <= raw.len());
            if !p.is_done() {
                p.finish_eof().unwrap();
            }
            assert_eq!(p.take_response().unwrap(), whole, "cut at {cut}");
        }
        // And one byte at a time.
        let mut p = ResponseParser::new(method, Limits::default());
        for b in raw {
            p.feed(core::slice::from_ref(b)).unwrap();
        }
        if !p.is_done() {
            p.finish_eof().unwrap();
        }
        assert_eq!(p.take_response().unwrap(), whole);
        whole
    }

    const CL: &[u8] = b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n\
        Replay-Nonce: abc\r\nContent-Length: 11\r\n\r\n{\"ok\":true}";

    #[test]
    fn content_length_body_at_every_split() {
        let r = parse_split(Method::Post, CL);
        assert_eq!(r.status, 201);
        assert_eq!(r.header("replay-nonce"), Some("abc"));
        assert_eq!(r.body, b"{\"ok\":true}");
        let (_, used, close) = parse_all(Method::Post, CL).unwrap();
        assert_eq!(used, CL.len());
        assert!(!close);
    }

    const CHUNKED: &[u8] = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
        5\r\nhello\r\n7;ext=1\r\n, world\r\n00\r\nX-Trailer: t\r\n\r\n";

    #[test]
    fn chunked_body_at_every_split() {
        let r = parse_split(Method::Get, CHUNKED);
        assert_eq!(r.body, b"hello, world");
        assert_eq!(r.header("x-trailer"), None);
    }

    #[test]
    fn bare_lf_lines_and_obs_fold() {
        let raw = b"HTTP/1.1 200 OK\nX-A: one\n  two\nContent-Length: 2\n\nhi";
        let r = parse_split(Method::Get, raw);
        assert_eq!(r.header("x-a"), Some("one two"));
        assert_eq!(r.body, b"hi");
    }

    #[test]
    fn no_body_cases() {
        let head = b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n";
        let (r, used, _) = parse_all(Method::Head, head).unwrap();
        assert!(r.body.is_empty());
        assert_eq!(used, head.len());
        for s in [204, 304] {
            let raw = alloc::format!("HTTP/1.1 {s} X\r\nContent-Length: 5\r\n\r\n");
            let (r, _, _) = parse_all(Method::Get, raw.as_bytes()).unwrap();
            assert_eq!(r.status, s);
            assert!(r.body.is_empty());
        }
        let (r, _, _) =
            parse_all(Method::Get, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n").unwrap();
        assert!(r.body.is_empty());
    }

    #[test]
    fn interim_responses_are_skipped() {
        let raw = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early\r\nLink: x\r\n\r\n\
            HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nz";
        let r = parse_split(Method::Post, raw);
        assert_eq!(r.status, 200);
        assert_eq!(r.header("link"), None);
        assert_eq!(r.body, b"z");
    }

    #[test]
    fn close_delimited_and_connection_close() {
        let raw = b"HTTP/1.1 200 OK\r\nConnection: Keep-Alive, Close\r\n\r\nall of it";
        let (r, _, close) = parse_all(Method::Get, raw).unwrap();
        assert_eq!(r.body, b"all of it");
        assert!(close);
        let mut p = ResponseParser::new(Method::Get, Limits::default());
        p.feed(b"HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx")
            .unwrap();
        assert!(p.is_done() && p.connection_close());
        let mut p = ResponseParser::new(Method::Get, Limits::default());
        p.feed(b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nx")
            .unwrap();
        assert!(p.is_done() && !p.connection_close());
    }

    #[test]
    fn trailing_bytes_are_left() {
        let mut raw = CL.to_vec();
        raw.extend_from_slice(b"HTTP/1.1 200 OK\r\n");
        let mut p = ResponseParser::new(Method::Get, Limits::default());
        assert_eq!(p.feed(&raw).unwrap(), CL.len());
        assert!(p.is_done());
        assert_eq!(p.feed(b"more").unwrap(), 0);
    }

    #[test]
    fn truncation() {
        for raw in [
            &b"HTTP/1.1 200 OK\r\nContent-Len"[..],
            &CL[..CL.len() - 1],
            &CHUNKED[..60],
        ] {
            let mut p = ResponseParser::new(Method::Get, Limits::default());
            p.feed(raw).unwrap();
            assert_eq!(p.finish_eof(), Err(HttpError::Truncated));
            assert!(p.take_response().is_none());
        }
    }

    #[test]
    fn malformed_messages() {
        let cases: &[(&[u8], HttpError)] = &[
            (b"HTTP/2 200 OK\r\n", HttpError::BadStatusLine),
            (b"HTTP/1.1 20 OK\r\n", HttpError::BadStatusLine),
            (b"HTTP/1.1 2000 OK\r\n", HttpError::BadStatusLine),
            (b"HTTP/1.1 099 OK\r\n", HttpError::BadStatusLine),
            (b"HTTP/1.1 600 OK\r\n", HttpError::BadStatusLine),
            (b"\x16\x03\x03\x00\x02\x02\x28\n", HttpError::BadStatusLine),
            (b"HTTP/1.1 200 OK\r\nNo colon\r\n", HttpError::BadHeaderLine),
            (b"HTTP/1.1 200 OK\r\nName : v\r\n", HttpError::BadHeaderLine),
            (b"HTTP/1.1 200 OK\r\n: v\r\n", HttpError::BadHeaderLine),
            (b"HTTP/1.1 200 OK\r\nA: v\x00\r\n", HttpError::BadHeaderLine),
            (b"HTTP/1.1 200 OK\r\nA: v\rw\r\n", HttpError::BadHeaderLine),
            (b"HTTP/1.1 200 OK\r\n folded\r\n", HttpError::BadHeaderLine),
            (
                b"HTTP/1.1 101 Switching\r\n\r\n",
                HttpError::UnexpectedUpgrade,
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
                HttpError::BadContentLength,
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
                HttpError::BadContentLength,
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                HttpError::BadContentLength,
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 3, 4\r\n\r\n",
                HttpError::BadContentLength,
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n",
                HttpError::BadContentLength,
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
                HttpError::UnsupportedTransferEncoding,
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                HttpError::BadChunk,
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n",
                HttpError::BadChunk,
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1 x\r\n",
                HttpError::BadChunk,
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n",
                HttpError::BadChunk,
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n11111111111111111\r\n",
                HttpError::BadChunk,
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n",
                HttpError::BodyTooLarge,
            ),
        ];
        for (raw, e) in cases {
            let mut p = ResponseParser::new(Method::Get, Limits::default());
            assert_eq!(p.feed(raw), Err(*e), "{:?}", String::from_utf8_lossy(raw));
            assert_eq!(p.feed(b"x"), Err(*e), "errors are sticky");
        }
    }

    #[test]
    fn limits_are_enforced() {
        let small = Limits {
            max_head_bytes: 64,
            max_headers: 2,
            max_body_bytes: 8,
        };
        let long_head = vec![b'a'; 100];
        let mut p = ResponseParser::new(Method::Get, small);
        p.feed(b"HTTP/1.1 200 OK\r\nX: ").unwrap();
        assert_eq!(p.feed(&long_head), Err(HttpError::HeadTooLarge));

        // A never-ending line is refused without being stored.
        let mut p = ResponseParser::new(Method::Get, Limits::default());
        let mut res = Ok(0);
        for _ in 0..100 {
            res = p.feed(&[b'x'; 1024]);
            if res.is_err() {
                break;
            }
        }
        assert_eq!(res, Err(HttpError::HeadTooLarge));

        let mut p = ResponseParser::new(Method::Get, small);
        let three = b"HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\n";
        assert_eq!(p.feed(three), Err(HttpError::HeadTooLarge));

        let mut p = ResponseParser::new(Method::Get, small);
        assert_eq!(
            p.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n"),
            Err(HttpError::BodyTooLarge)
        );
        let mut p = ResponseParser::new(Method::Get, small);
        let chunks = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n12345\r\n4\r\n";
        assert_eq!(p.feed(chunks), Err(HttpError::BodyTooLarge));
        let mut p = ResponseParser::new(Method::Get, small);
        p.feed(b"HTTP/1.1 200 OK\r\n\r\n12345678").unwrap();
        assert_eq!(p.feed(b"9"), Err(HttpError::BodyTooLarge));
        // Endless trailers are bounded by the head limit.
        let mut p = ResponseParser::new(Method::Get, small);
        p.feed(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n")
            .unwrap();
        let mut res = Ok(0);
        for _ in 0..100 {
            res = p.feed(b"T: x\r\n");
            if res.is_err() {
                break;
            }
        }
        assert_eq!(res, Err(HttpError::HeadTooLarge));
    }
}
