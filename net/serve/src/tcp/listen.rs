//! The listening sockets: made, replaced as soon as one is taken, grown
//! to big send buffers on idle turns, listening again after a connection.

use super::config::{TcpConfig, BIG_SEND_BUF, RX_BUF, TX_BUF};
use super::conn::Listener;
use super::TcpServer;
use alloc::vec;
use gitns_net::smoltcp::iface::{SocketHandle, SocketSet};
use gitns_net::smoltcp::socket::tcp;
use gitns_net::smoltcp::time::Duration;
use gitns_net::Net;

fn new_socket(cfg: &TcpConfig, send_buf: usize) -> tcp::Socket<'static> {
    let mut s = tcp::Socket::new(
        tcp::SocketBuffer::new(vec![0; RX_BUF]),
        tcp::SocketBuffer::new(vec![0; send_buf]),
    );
    // smoltcp's own timeout aborts a connection without a segment from the
    // peer for this long: above ours, which decide.
    let ours = cfg.idle_ns.max(cfg.stall_ns) / 1_000_000 + 5_000;
    s.set_timeout(Some(Duration::from_millis(ours.max(30_000))));
    s.set_nagle_enabled(false);
    s
}

impl TcpServer {
    pub(super) fn add_listener(
        &mut self,
        sockets: &mut SocketSet<'static>,
        send_buf: usize,
    ) -> Result<(), tcp::ListenError> {
        let mut s = new_socket(&self.cfg, send_buf);
        s.listen(self.cfg.port)?;
        self.ready.push(Listener {
            handle: sockets.add(s),
            big: send_buf == BIG_SEND_BUF,
        });
        Ok(())
    }

    /// Call after each received frame: a listener that got a client is
    /// set aside for [`TcpServer::serve`] and replaced at once.
    pub fn on_frame(&mut self, sockets: &mut SocketSet<'static>) {
        let mut i = 0;
        while i < self.ready.len() {
            let l = self.ready[i];
            if sockets.get::<tcp::Socket>(l.handle).state() == tcp::State::Listen {
                i += 1;
                continue;
            }
            self.ready.swap_remove(i);
            self.taken.push(l);
            if !l.big {
                // The port was valid at bind: listen cannot fail.
                let _ = self.add_listener(sockets, TX_BUF);
            }
        }
    }

    /// Give the first listeners their big send buffers, one per call,
    /// while they only listen; call when idle. False once there is
    /// nothing left.
    pub fn grow(&mut self, net: &mut Net) -> bool {
        if self.to_grow == 0 {
            return false;
        }
        self.on_frame(&mut net.sockets);
        // The lowest slot of the set is the listener smoltcp tries first.
        let Some(i) = (0..self.ready.len())
            .filter(|&i| !self.ready[i].big)
            .min_by_key(|&i| self.ready[i].handle)
        else {
            return true; // none listening now: later
        };
        let old = self.ready.swap_remove(i);
        net.sockets.remove(old.handle);
        // The freed slot is the first free one, so the new socket takes
        // the same place in the set (and in smoltcp's accept order).
        if self.add_listener(&mut net.sockets, BIG_SEND_BUF).is_err() {
            self.to_grow = 0;
            return false;
        }
        self.to_grow -= 1;
        self.to_grow > 0
    }

    /// A socket whose connection ended: big ones listen again, the others
    /// go.
    pub(super) fn release(
        &mut self,
        sockets: &mut SocketSet<'static>,
        handle: SocketHandle,
        big: bool,
    ) {
        if big {
            let s = sockets.get_mut::<tcp::Socket>(handle);
            if s.listen(self.cfg.port).is_ok() {
                self.ready.push(Listener { handle, big });
                return;
            }
        }
        sockets.remove(handle);
    }
}
