//! gitns: the appliance. Command-line configuration and the main loop that
//! moves bytes between the network stack and the protocol cores. Generic over
//! [`gitns_net::Platform`], so the same code runs in the hvt image and as a
//! Linux process (boot/unix).
#![no_std]
extern crate alloc;

pub mod acme;
mod app;
pub use gitns_config as config;
pub use gitns_serve::logger;
use gitns_serve::peers;
pub use gitns_serve::service as dns;
pub mod remote;
pub use gitns_serve::resolve;
mod signing;
pub use gitns_serve as server;
pub mod source;

use gitns_abi::exit;
use gitns_net::Platform;

pub use app::App;

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
    logger::init(
        cfg.log_level,
        platform.console_fn(),
        platform.wall_clock_fn(),
    );
    let mut app = match App::new(platform, &cfg) {
        Ok(app) => app,
        Err(status) => return status,
    };
    loop {
        let now = app.platform().monotonic_ns();
        app.turn(now);
        let deadline = app.next_deadline();
        app.platform().poll(deadline);
    }
}
