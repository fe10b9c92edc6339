//! The service's protection from its configuration: server cookies
//! (RFC 7873, RFC 9018) and response rate limiting, keyed from the
//! platform's CSPRNG.

use gitns_config::Config;
use gitns_net::Platform;

/// Cookie secrets and the rate limiter from the configuration (secrets
/// from the platform's CSPRNG).
pub(super) fn protect<P: Platform>(
    platform: &mut P,
    cfg: &Config,
) -> (
    Option<gitns_dns::cookie::Secrets>,
    Option<gitns_dns::rrl::Rrl>,
) {
    let wall = platform.wall_clock_ns() / 1_000_000_000;
    let mut key = [0u8; 16];
    let mut cookies = None;
    if cfg.cookies {
        platform.fill_random(&mut key);
        cookies = Some(gitns_dns::cookie::Secrets::new(key, wall));
    }
    let mut rrl = None;
    if cfg.rrl.rate > 0 {
        platform.fill_random(&mut key);
        let slots = gitns_dns::rrl::DEFAULT_SLOTS;
        rrl = Some(gitns_dns::rrl::Rrl::new(cfg.rrl.clone(), slots, key));
    }
    log::info!(
        "answers: UDP up to {} bytes (MTU {}), cookies {}, rate limit {}",
        cfg.answers.edns_udp_size,
        platform.mtu(),
        if cfg.cookies { "on" } else { "off" },
        match cfg.rrl.rate {
            0 => alloc::string::String::from("off"),
            r => alloc::format!("{r}/s slip {}", cfg.rrl.slip),
        }
    );
    (cookies, rrl)
}
