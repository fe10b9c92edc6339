//! The command line of every tool: one small option parser, the two kinds
//! of failure and their exit statuses (sysexits.h: 64 for a bad command
//! line, 1 for a failure of the work itself).

use std::fmt;

/// `EX_USAGE` of sysexits.h: the command was used incorrectly.
pub const EX_USAGE: i32 = 64;

/// Why a tool stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ToolError {
    /// A bad command line: one line saying what, exit status 64.
    Usage(String),
    /// The work failed (the server said no, a file is bad): exit status 1.
    Failed(String),
}

impl ToolError {
    /// The process exit status for this error.
    pub fn status(&self) -> i32 {
        match self {
            ToolError::Usage(_) => EX_USAGE,
            ToolError::Failed(_) => 1,
        }
    }
}

impl fmt::Display for ToolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ToolError::Usage(m) | ToolError::Failed(m) => f.write_str(m),
        }
    }
}

impl From<String> for ToolError {
    fn from(s: String) -> Self {
        ToolError::Failed(s)
    }
}

impl From<&str> for ToolError {
    fn from(s: &str) -> Self {
        ToolError::Failed(s.to_string())
    }
}

/// Shorthand for a bad command line.
pub fn usage(msg: impl Into<String>) -> ToolError {
    ToolError::Usage(msg.into())
}

/// What a tool returns.
pub type ToolResult = Result<(), ToolError>;

/// One option a tool accepts: its name with the dashes, and whether it
/// takes a value (`--opt=V` or `--opt V`).
#[derive(Clone, Copy, Debug)]
pub struct Opt(pub &'static str, pub bool);

/// A parsed command line.
#[derive(Debug, Default)]
pub struct Parsed {
    opts: Vec<(&'static str, Option<String>)>,
    /// The positional arguments, in order.
    pub pos: Vec<String>,
    /// Everything after the positional arguments the tool stops at, or
    /// after `--` (passed on untouched, e.g. the image's arguments).
    pub rest: Vec<String>,
    /// `--help` or `-h` was given.
    pub help: bool,
}

impl Parsed {
    /// The last value of `name`, if given.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.opts
            .iter()
            .rev()
            .find(|(n, _)| *n == name)
            .and_then(|(_, v)| v.as_deref())
    }

    /// Every value of `name`, in order.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.opts
            .iter()
            .filter(|(n, _)| *n == name)
            .filter_map(|(_, v)| v.as_deref())
            .collect()
    }

    /// Whether the flag `name` was given.
    pub fn flag(&self, name: &str) -> bool {
        self.opts.iter().any(|(n, _)| *n == name)
    }
}

/// Parse `args` against `spec`. After `stop_after` positional arguments
/// (or at `--`), the remaining arguments go to [`Parsed::rest`] untouched.
pub fn parse(args: &[String], spec: &[Opt], stop_after: usize) -> Result<Parsed, ToolError> {
    let mut p = Parsed::default();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if p.pos.len() >= stop_after || a == "--" {
            if a != "--" {
                p.rest.push(a.clone());
            }
            p.rest.extend(it.cloned());
            break;
        }
        if a == "--help" || a == "-h" {
            p.help = true;
            continue;
        }
        if !a.starts_with('-') || a == "-" {
            p.pos.push(a.clone());
            continue;
        }
        let (name, inline) = match a.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (a.as_str(), None),
        };
        let Some(&Opt(known, takes)) = spec.iter().find(|o| o.0 == name) else {
            return Err(usage(format!("unknown option `{name}`")));
        };
        let value = match (takes, inline) {
            (true, Some(v)) => Some(v),
            (true, None) => Some(
                it.next()
                    .ok_or_else(|| usage(format!("{name} needs a value")))?
                    .clone(),
            ),
            (false, Some(_)) => return Err(usage(format!("{name} takes no value"))),
            (false, None) => None,
        };
        p.opts.push((known, value));
    }
    Ok(p)
}

/// `IP`, `IP:PORT`, `[v6]:PORT` or a bare IPv6 address as a socket
/// address, port 53 unless given. Host names are not resolved: the tools
/// talk to the appliance by address, as the seeds do.
pub fn server_addr(s: &str) -> Result<std::net::SocketAddr, ToolError> {
    use std::net::{IpAddr, SocketAddr};
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, 53));
    }
    s.parse::<SocketAddr>()
        .map_err(|_| usage(format!("server `{s}`: not an address (IP or IP:PORT)")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    const SPEC: &[Opt] = &[Opt("--key", true), Opt("--tcp", false)];

    #[test]
    fn options_positionals_and_rest() {
        let p = parse(&v(&["a", "--key=x", "b", "--tcp", "--key", "y"]), SPEC, 9).unwrap();
        assert_eq!(p.pos, ["a", "b"]);
        assert_eq!(p.get("--key"), Some("y"));
        assert_eq!(p.all("--key"), ["x", "y"]);
        assert!(p.flag("--tcp") && !p.help);
        let p = parse(&v(&["--tcp", "img", "--key=z", "-x"]), SPEC, 1).unwrap();
        assert_eq!((p.pos, p.rest), (v(&["img"]), v(&["--key=z", "-x"])));
        let p = parse(&v(&["--", "--key"]), SPEC, 9).unwrap();
        assert_eq!(p.rest, ["--key"]);
        assert!(parse(&v(&["-h"]), SPEC, 9).unwrap().help);
    }

    #[test]
    fn bad_command_lines_are_usage_errors() {
        for (a, want) in [
            (&["--nope"][..], "unknown option `--nope`"),
            (&["--key"], "--key needs a value"),
            (&["--tcp=1"], "--tcp takes no value"),
        ] {
            let e = parse(&v(a), SPEC, 9).unwrap_err();
            assert_eq!((e.status(), e.to_string()), (EX_USAGE, want.to_string()));
        }
    }

    #[test]
    fn server_addresses() {
        assert_eq!(server_addr("10.0.0.3").unwrap().to_string(), "10.0.0.3:53");
        assert_eq!(server_addr("10.0.0.3:5353").unwrap().port(), 5353);
        assert_eq!(server_addr("::1").unwrap().to_string(), "[::1]:53");
        assert_eq!(server_addr("[::1]:54").unwrap().port(), 54);
        assert_eq!(server_addr("not an ip").unwrap_err().status(), EX_USAGE);
    }
}
