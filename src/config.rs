//! The command line of the appliance.
//!
//! Compatible with the MirageOS dns-primary-git unikernel: `--key=value` or
//! `--key value`, `-l LEVEL`. Options of later features are added here as
//! those features land; an option the image does not know is an error, never
//! silently ignored.

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;
use gitns_net::smoltcp::wire::{Ipv4Address, Ipv4Cidr, Ipv6Address, Ipv6Cidr};
use gitns_net::NetConfig;

/// Everything the command line sets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    pub net: NetConfig,
    pub log_level: log::LevelFilter,
    /// UDP port of the echo service (network bring-up check).
    pub udp_echo: Option<u16>,
    /// Port of the DNS service (UDP and TCP).
    pub dns_port: u16,
    /// Allow zone transfers without TSIG (`--axfr`).
    pub axfr: bool,
    /// Print the help text and exit.
    pub help: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            net: NetConfig::default(),
            log_level: log::LevelFilter::Info,
            udp_echo: None,
            dns_port: 53,
            axfr: false,
            help: false,
        }
    }
}

/// A command-line error: which option and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigError {
    Unknown(String),
    MissingValue(&'static str),
    BadValue {
        option: &'static str,
        value: String,
        expected: &'static str,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Unknown(o) => write!(f, "unknown option `{o}` (see --help)"),
            ConfigError::MissingValue(o) => write!(f, "option `{o}` needs a value"),
            ConfigError::BadValue {
                option,
                value,
                expected,
            } => {
                write!(f, "option `{option}`: `{value}` is not {expected}")
            }
        }
    }
}

/// The help text, every option.
pub const HELP: &str = "gitns: authoritative DNS primary with zones in git

options:
  --ipv4=A.B.C.D/N        address of the service interface (default 10.0.0.2/24)
  --ipv4-gateway=A.B.C.D  default IPv4 gateway
  --ipv6=ADDR/N           IPv6 address of the service interface
  --ipv6-gateway=ADDR     default IPv6 gateway
  -l, --logs=LEVEL        log level: error, warn, info, debug, trace (default info)
  --axfr                  allow zone transfers (AXFR/IXFR) without TSIG
  --dns-port=PORT         port of the DNS service, UDP and TCP (default 53)
  --udp-echo=PORT         run a UDP echo service on PORT (network bring-up)
  --help                  print this text
";

/// The known options: (names, takes a value).
const OPTIONS: &[(&[&str], &str)] = &[
    (&["--ipv4"], "--ipv4"),
    (&["--ipv4-gateway"], "--ipv4-gateway"),
    (&["--ipv6"], "--ipv6"),
    (&["--ipv6-gateway"], "--ipv6-gateway"),
    (&["-l", "--logs"], "--logs"),
    (&["--udp-echo"], "--udp-echo"),
    (&["--dns-port"], "--dns-port"),
];

/// Parse a command line (arguments separated by spaces).
pub fn parse(cmdline: &str) -> Result<Config, ConfigError> {
    let mut cfg = Config::default();
    let words: Vec<&str> = cmdline.split_ascii_whitespace().collect();
    let mut i = 0;
    while i < words.len() {
        let word = words[i];
        i += 1;
        if word == "--help" || word == "-h" {
            cfg.help = true;
            continue;
        }
        if word == "--axfr" {
            cfg.axfr = true;
            continue;
        }
        let (name, inline) = match word.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (word, None),
        };
        let Some(&(_, canonical)) = OPTIONS.iter().find(|(names, _)| names.contains(&name)) else {
            return Err(ConfigError::Unknown(word.to_string()));
        };
        let value = match inline {
            Some(v) => v,
            None => {
                let v = words.get(i).ok_or(ConfigError::MissingValue(canonical))?;
                i += 1;
                v
            }
        };
        apply(&mut cfg, canonical, value)?;
    }
    Ok(cfg)
}

fn apply(cfg: &mut Config, option: &'static str, value: &str) -> Result<(), ConfigError> {
    let bad = |expected| ConfigError::BadValue {
        option,
        value: value.to_string(),
        expected,
    };
    match option {
        "--ipv4" => {
            cfg.net.ipv4 =
                parse_v4_cidr(value).ok_or(bad("an IPv4 address with prefix, like 10.0.0.2/24"))?
        }
        "--ipv4-gateway" => {
            cfg.net.ipv4_gateway = Some(
                value
                    .parse::<Ipv4Address>()
                    .map_err(|_| bad("an IPv4 address"))?,
            )
        }
        "--ipv6" => {
            cfg.net.ipv6 = Some(
                parse_v6_cidr(value).ok_or(bad("an IPv6 address with prefix, like fd00::2/64"))?,
            )
        }
        "--ipv6-gateway" => {
            cfg.net.ipv6_gateway = Some(
                value
                    .parse::<Ipv6Address>()
                    .map_err(|_| bad("an IPv6 address"))?,
            )
        }
        "--logs" => {
            cfg.log_level =
                parse_level(value).ok_or(bad("one of error, warn, info, debug, trace"))?
        }
        "--dns-port" => {
            cfg.dns_port = value
                .parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or(bad("a port 1-65535"))?
        }
        "--udp-echo" => {
            cfg.udp_echo = Some(
                value
                    .parse::<u16>()
                    .ok()
                    .filter(|p| *p != 0)
                    .ok_or(bad("a port 1-65535"))?,
            )
        }
        _ => return Err(ConfigError::Unknown(option.to_string())),
    }
    Ok(())
}

fn parse_v4_cidr(s: &str) -> Option<Ipv4Cidr> {
    let (a, p) = s.split_once('/')?;
    let prefix: u8 = p.parse().ok().filter(|p| *p <= 32)?;
    Some(Ipv4Cidr::new(a.parse().ok()?, prefix))
}

fn parse_v6_cidr(s: &str) -> Option<Ipv6Cidr> {
    let (a, p) = s.split_once('/')?;
    let prefix: u8 = p.parse().ok().filter(|p| *p <= 128)?;
    Some(Ipv6Cidr::new(a.parse().ok()?, prefix))
}

/// Log levels as the MirageOS unikernels spell them (`-l debug`, also `*:debug`).
fn parse_level(s: &str) -> Option<log::LevelFilter> {
    let s = s.rsplit(':').next().unwrap_or(s);
    Some(match s.to_ascii_lowercase().as_str() {
        "quiet" | "off" => log::LevelFilter::Off,
        "error" => log::LevelFilter::Error,
        "warn" | "warning" => log::LevelFilter::Warn,
        "info" | "app" => log::LevelFilter::Info,
        "debug" => log::LevelFilter::Debug,
        "trace" => log::LevelFilter::Trace,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let c = parse("").unwrap();
        assert_eq!(c.net.ipv4, Ipv4Cidr::new(Ipv4Address::new(10, 0, 0, 2), 24));
        assert_eq!(c.log_level, log::LevelFilter::Info);
        assert!(!c.help);
    }

    #[test]
    fn both_spellings_of_values() {
        let c = parse("--ipv4=10.0.0.3/24 --ipv4-gateway 10.0.0.1 -l debug --udp-echo=7").unwrap();
        assert_eq!(c.net.ipv4, Ipv4Cidr::new(Ipv4Address::new(10, 0, 0, 3), 24));
        assert_eq!(c.net.ipv4_gateway, Some(Ipv4Address::new(10, 0, 0, 1)));
        assert_eq!(c.log_level, log::LevelFilter::Debug);
        assert_eq!(c.udp_echo, Some(7));
    }

    #[test]
    fn errors_name_the_option() {
        assert_eq!(
            parse("--frobnicate=1"),
            Err(ConfigError::Unknown("--frobnicate=1".into()))
        );
        assert_eq!(parse("--ipv4"), Err(ConfigError::MissingValue("--ipv4")));
        let e = parse("--ipv4=10.0.0.300/24").unwrap_err();
        assert!(
            matches!(
                e,
                ConfigError::BadValue {
                    option: "--ipv4",
                    ..
                }
            ),
            "{e:?}"
        );
        assert!(parse("--ipv4=10.0.0.3").is_err());
        assert!(parse("--udp-echo=0").is_err());
        assert!(parse("-l loud").is_err());
    }
}
