//! The sockets the appliance listens and sends on, bound as the
//! configuration says: DNS over UDP and TCP (the port of `--port`), the
//! socket outgoing NOTIFYs leave from, the UDP echo and the resolver's
//! socket when asked for. The App serves the traffic through them each
//! turn and sends the answers held back (an UPDATE pushed, a NOTIFY's
//! fetch done) on the transport their request came on.

use crate::echo::Echo;
use crate::notify::NotifySocket;
use crate::resolve::Resolver;
use crate::tcp::{TcpConfig, TcpServer};
use crate::udp::UdpServer;
use crate::{tcp_pool, Handler, Stats, Transport};
use alloc::format;
use alloc::string::String;
use gitns_config::Config;
use gitns_net::smoltcp::wire::IpEndpoint;
use gitns_net::Net;

/// Local UDP port outgoing NOTIFYs are sent from.
pub const NOTIFY_PORT: u16 = 40053;

/// The sockets the appliance listens and sends on.
pub struct Sockets {
    pub udp: UdpServer,
    pub tcp: TcpServer,
    pub notify: NotifySocket,
    pub echo: Option<Echo>,
    pub resolver: Option<Resolver>,
}

impl Sockets {
    /// Bind DNS over UDP and TCP, the NOTIFY socket, the echo and the
    /// resolver's socket (from a port of `ephemeral_port`) as `cfg` says.
    /// Err: what could not be bound, for the log.
    pub fn bind(
        net: &mut Net,
        cfg: &Config,
        ephemeral_port: &mut dyn FnMut() -> u16,
    ) -> Result<Sockets, String> {
        let echo = match cfg.udp_echo {
            None => None,
            Some(port) => {
                let e = Echo::bind(net, port).map_err(|e| format!("udp echo: cannot bind: {e}"))?;
                log::info!("udp echo listening on port {port}");
                Some(e)
            }
        };
        let port = cfg.dns_port;
        let udp = UdpServer::bind(net, port)
            .map_err(|e| format!("dns: cannot bind UDP port {port}: {e}"))?;
        let tcp = TcpServer::bind(net, tcp_config(cfg))
            .map_err(|e| format!("dns: cannot listen on TCP port {port}: {e}"))?;
        let notify = NotifySocket::bind(net, NOTIFY_PORT)
            .map_err(|e| format!("notify: cannot bind UDP port {NOTIFY_PORT}: {e}"))?;
        let resolver = match cfg.resolver {
            None => None,
            Some(ip) => {
                let port = ephemeral_port();
                let r = Resolver::bind(net, ip.into(), port)
                    .map_err(|e| format!("resolve: cannot bind UDP port {port}: {e}"))?;
                Some(r)
            }
        };
        Ok(Sockets {
            udp,
            tcp,
            notify,
            echo,
            resolver,
        })
    }

    /// Answer the DNS traffic that arrived through `handler` (and echo);
    /// true when any did.
    pub fn serve(
        &mut self,
        net: &mut Net,
        handler: &mut dyn Handler,
        now: u64,
        stats: &mut Stats,
    ) -> bool {
        let mut busy = self.udp.serve(net, handler, now, stats) > 0;
        busy |= self.tcp.serve(net, handler, now, stats);
        if let Some(e) = self.echo.as_mut() {
            busy |= e.serve(net) > 0;
        }
        busy
    }

    /// Send an answer held back to `peer` on the transport its request came
    /// on; false when it could not be sent (its connection gone).
    pub fn send_to(&mut self, net: &mut Net, t: Transport, peer: IpEndpoint, msg: &[u8]) -> bool {
        match t {
            Transport::Udp => self.udp.send_to(net, peer, msg),
            Transport::Tcp => self.tcp.send_to(net, peer, msg),
        }
    }
}

/// The DNS over TCP listener's settings from the configuration.
fn tcp_config(cfg: &Config) -> TcpConfig {
    TcpConfig {
        port: cfg.dns_port,
        limits: tcp_pool::Limits {
            clients: cfg.tcp.clients,
            per_source: cfg.tcp.per_source,
            ..TcpConfig::default().limits
        },
        idle_ns: cfg.tcp.idle_s * 1_000_000_000,
        ..Default::default()
    }
}
