//! One pass over one connection: read and answer complete messages,
//! stream a zone transfer, send, and close what is done, idle or stalled.

use super::config::{TcpConfig, CLOSE_GRACE_NS, IN_BUDGET, OUT_BUDGET, SMALL_IN};
use super::conn::{flush, frame, shrink, state_open, Budget, Conn};
use crate::{Handled, Handler, Stats, Transport};
use alloc::vec::Vec;
use gitns_net::smoltcp::socket::tcp;

/// One pass over the connections.
pub(super) struct Turn<'a> {
    pub(super) cfg: &'a TcpConfig,
    pub(super) budget: &'a mut Budget,
    pub(super) handler: &'a mut dyn Handler,
    pub(super) now: u64,
    pub(super) stats: &'a mut Stats,
}

impl Turn<'_> {
    /// Serve one connection: (did anything, its next deadline), or None
    /// once its socket may go.
    pub(super) fn serve(&mut self, c: &mut Conn, sock: &mut tcp::Socket) -> Option<(bool, u64)> {
        let state = sock.state();
        let gone = state == tcp::State::TimeWait
            || state == tcp::State::Listen
            || (state == tcp::State::Closed && sock.remote_endpoint().is_none());
        if gone {
            return None;
        }
        if let Some(at) = c.closing_ns {
            if self.now.saturating_sub(at) >= CLOSE_GRACE_NS {
                sock.abort();
            }
            return Some((false, at + CLOSE_GRACE_NS));
        }
        let (in0, out0) = (c.inbuf.len(), c.pending());
        let mut busy = self.read(c, sock);
        busy |= flush(c, sock);
        busy |= self.stream(c, sock);
        self.budget.held_in = self.budget.held_in + c.inbuf.len() - in0;
        self.budget.held_out = self.budget.held_out + c.pending() - out0;
        shrink(c);
        if busy {
            c.touched_ns = self.now;
        }
        Some((busy, self.timeouts(c, sock)))
    }

    /// Close what is done, idle or stalled; returns the next deadline.
    fn timeouts(&mut self, c: &mut Conn, sock: &mut tcp::Socket) -> u64 {
        let now = self.now;
        let queued = sock.send_queue();
        let acked = c.taken - queued as u64;
        if acked > c.acked {
            c.progress_ns = now; // the client acknowledged some
        }
        c.acked = acked;
        let owes = c.pending() > 0 || c.transfer.is_some();
        let waiting = owes || queued > 0;
        if !waiting {
            c.progress_ns = now;
        }
        c.idle = !owes && c.later == 0;
        let close = |c: &mut Conn, sock: &mut tcp::Socket| {
            sock.close();
            c.closing_ns = Some(now);
            now + CLOSE_GRACE_NS
        };
        if waiting && now.saturating_sub(c.progress_ns) >= self.cfg.stall_ns {
            // RFC 7766 6.2.3: a client that does not read its answers.
            self.stats.tcp_stalled += 1;
            sock.abort();
            c.closing_ns = Some(now);
            return now + CLOSE_GRACE_NS;
        }
        if owes {
            return c.progress_ns + self.cfg.stall_ns;
        }
        let done = c.finish || (!sock.may_recv() && state_open(sock));
        if done && c.later == 0 {
            return close(c, sock); // all answered, client done sending
        }
        if now.saturating_sub(c.last_query_ns) >= self.cfg.idle_ns {
            self.stats.tcp_timeouts += 1;
            return close(c, sock);
        }
        c.last_query_ns + self.cfg.idle_ns
    }

    /// Answer the complete messages in the connection's input, taking more
    /// bytes from the socket while output and budgets allow.
    fn read(&mut self, c: &mut Conn, sock: &mut tcp::Socket) -> bool {
        let mut busy = false;
        let mut start = 0;
        while !c.finish
            && c.transfer.is_none()
            && c.pending() < self.cfg.max_pending
            && self.budget.held_out < OUT_BUDGET
        {
            let have = c.inbuf.len() - start;
            let need = match c.inbuf[start..] {
                [a, b, ..] => 2 + u16::from_be_bytes([a, b]) as usize,
                _ => 2,
            };
            if have >= need {
                self.answer(c, start + 2, need - 2);
                start += need;
                busy = true;
                continue;
            }
            if !sock.can_recv() {
                break;
            }
            // Room for the rest of this message and some pipelined ones;
            // past SMALL_IN only within the budget.
            let room = need.max(SMALL_IN) - have;
            if have + room > SMALL_IN && self.budget.held_in + room > IN_BUDGET {
                break; // paused: the bytes stay in the socket
            }
            let inbuf = &mut c.inbuf;
            let got = sock
                .recv(|d| {
                    let n = d.len().min(room);
                    inbuf.extend_from_slice(&d[..n]);
                    (n, n)
                })
                .unwrap_or(0);
            if got == 0 {
                break;
            }
            busy = true;
        }
        c.inbuf.drain(..start);
        busy
    }

    /// Hand the message at `inbuf[at..at + len]` to the handler.
    fn answer(&mut self, c: &mut Conn, at: usize, len: usize) {
        self.stats.tcp_in += 1;
        c.last_query_ns = self.now;
        let msg = &c.inbuf[at..at + len];
        let out = &mut c.outbuf;
        let stats = &mut *self.stats;
        let handled = self
            .handler
            .handle(msg, c.peer, Transport::Tcp, self.now, &mut |resp| {
                stats.tcp_out += 1;
                frame(out, resp);
            });
        match handled {
            Handled::Done => {}
            Handled::Transfer(t) => c.transfer = Some(*t),
            Handled::Later => c.later += 1,
        }
        if c.probation {
            c.probation = false;
            c.finish = c.transfer.is_none();
        }
    }

    /// Add a zone transfer's next messages while little output waits, and
    /// send them; once it ends, the queries behind it are read again.
    fn stream(&mut self, c: &mut Conn, sock: &mut tcp::Socket) -> bool {
        let Some(mut t) = c.transfer.take() else {
            return false;
        };
        let mut busy = false;
        while c.pending() < self.cfg.max_pending
            && self.budget.held_out < OUT_BUDGET
            && sock.can_send()
        {
            let Some(m) = t.next(&mut c.scratch) else {
                c.scratch = Vec::new();
                c.last_query_ns = self.now;
                return true;
            };
            self.stats.tcp_out += 1;
            frame(&mut c.outbuf, m);
            busy |= flush(c, sock);
        }
        c.transfer = Some(t);
        busy
    }
}
