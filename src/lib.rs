//! gitns: the appliance. Command-line configuration and the main loop that
//! moves bytes between the network stack and the protocol cores. Generic over
//! [`gitns_net::Platform`], so the same code runs in the hvt image and as a
//! Linux process (boot/unix).
#![no_std]
extern crate alloc;

pub mod config;
mod echo;
pub mod server;
pub mod tar;
pub mod logger;

use gitns_abi::exit;
use gitns_net::{Net, Platform};

/// Longest sleep of the main loop when nothing is scheduled.
const IDLE_POLL_NS: u64 = 1_000_000_000;

/// Run the appliance; returns the exit status.
pub fn run<P: Platform>(platform: &mut P, cmdline: &str) -> i32 {
    let cfg = match config::parse(cmdline) {
        Ok(cfg) => cfg,
        Err(e) => {
            let console = platform.console_fn();
            console(b"gitns: ");
            console(alloc::format!("{e}\n").as_bytes());
            return exit::CONFIG;
        }
    };
    if cfg.help {
        platform.console_write(config::HELP.as_bytes());
        return exit::SUCCESS;
    }
    logger::init(cfg.log_level, platform.console_fn(), platform.wall_clock_fn());
    log::info!("gitns {} starting: {} (mac {})", env!("CARGO_PKG_VERSION"), cfg.net.ipv4, Mac(platform.mac()));
    let mut net = Net::new(platform, &cfg.net);
    let mut echo = match cfg.udp_echo.map(|port| echo::Echo::bind(&mut net, port)) {
        None => None,
        Some(Ok(e)) => Some(e),
        Some(Err(e)) => {
            log::error!("udp echo: cannot bind: {e}");
            return exit::CONFIG;
        }
    };
    if let Some(port) = cfg.udp_echo {
        log::info!("udp echo listening on port {port}");
    }
    log::info!("ready");
    loop {
        let now = platform.monotonic_ns();
        net.poll(platform, now);
        if let Some(e) = echo.as_mut() {
            if e.serve(&mut net) > 0 {
                let now = platform.monotonic_ns();
                net.poll(platform, now);
            }
        }
        let now = platform.monotonic_ns();
        let deadline = net.poll_at_ns(now).unwrap_or(u64::MAX).min(now + IDLE_POLL_NS);
        platform.poll(deadline);
    }
}

/// A MAC address as `aa:bb:cc:dd:ee:ff`.
struct Mac([u8; 6]);

impl core::fmt::Display for Mac {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let m = self.0;
        write!(f, "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", m[0], m[1], m[2], m[3], m[4], m[5])
    }
}
