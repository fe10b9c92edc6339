//! `cargo xtask bench [boot|size|dns|flood|query|zone|appliance|git|ops|acme|secondary|dnssec] [--quick]`: measured figures, written to
//! docs/bench.md (a section per benchmark) and docs/bench.json.
//! `cargo xtask bench soak [--minutes N] [--qps Q]` (not part of the
//! default set: it runs for N minutes).

mod acme;
pub mod allocs;
mod appliance;
mod boot;
mod dns;
mod dnssec;
mod dnssec_qps;
mod dnssec_update;
mod flood;
mod git;
mod git_https;
mod guest;
pub mod icmp;
mod idle;
mod ops;
mod query;
pub mod report;
mod sec_catalog;
mod secondary;
mod servemem;
mod size;
mod soak;
mod soak_load;
pub mod stats;
pub mod zone;

/// A process a benchmark started: killed (by its handle) when dropped.
struct Kill(std::process::Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn main(args: &[String]) -> Result<(), String> {
    let quick = args.iter().any(|a| a == "--quick");
    let (minutes, args) = take_value(args, "--minutes")?;
    let (qps, args) = take_value(&args, "--qps")?;
    let which: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .filter(|a| !a.starts_with("--"))
        .collect();
    if which.contains(&"soak") {
        return soak::run(&soak::Options {
            minutes: minutes.unwrap_or(3),
            qps,
        });
    }
    if which.first() == Some(&"axfr-read") {
        // Internal: `bench axfr-read SERVER ZONE [RUNS]`, the bare AXFR
        // reader of `bench ops` on its own (run it inside the namespace).
        return ops::read_main(&which[1..]);
    }
    let all = which.is_empty();
    if all || which.contains(&"boot") {
        boot::run(quick)?;
    }
    if all || which.contains(&"size") {
        size::run(quick)?;
    }
    if all || which.contains(&"dns") {
        dns::run(quick)?;
    }
    if all || which.contains(&"flood") {
        flood::run(quick)?;
    }
    if all || which.contains(&"query") {
        query::run(quick)?;
    }
    if which.contains(&"query-child") {
        // Internal: the one pass `bench query` counts under callgrind.
        let mode = if args.iter().any(|a| a == "--on") {
            query::Mode::On
        } else if args.iter().any(|a| a == "--edns") {
            query::Mode::Edns
        } else {
            query::Mode::Off
        };
        return query::child(mode);
    }
    if all || which.contains(&"zone") {
        zone::run(quick)?;
    }
    if all || which.contains(&"appliance") {
        appliance::run(quick)?;
    }
    if all || which.contains(&"git") {
        git::run(quick)?;
    }
    if all || which.contains(&"ops") {
        ops::run(quick)?;
    }
    if all || which.contains(&"acme") {
        acme::run(quick)?;
    }
    if all || which.contains(&"secondary") {
        secondary::run(quick, &args)?;
    }
    if all || which.contains(&"dnssec") {
        dnssec::run(quick)?;
    }
    for w in &which {
        if !matches!(
            *w,
            "boot"
                | "size"
                | "dns"
                | "flood"
                | "query"
                | "zone"
                | "appliance"
                | "git"
                | "ops"
                | "acme"
                | "secondary"
                | "dnssec"
        ) {
            return Err(format!(
                "bench: unknown benchmark `{w}` (known: boot, size, dns, flood, query, zone, appliance, git, ops, acme, secondary, dnssec, soak)"
            ));
        }
    }
    Ok(())
}

/// `OPTION N` or `OPTION=N` taken out of `args`: (N, the rest).
fn take_value(args: &[String], option: &str) -> Result<(Option<u32>, Vec<String>), String> {
    let (mut value, mut rest, mut it) = (None, Vec::new(), args.iter());
    while let Some(a) = it.next() {
        let v = if a == option {
            it.next().map(String::as_str)
        } else if let Some(v) = a.strip_prefix(option).and_then(|v| v.strip_prefix('=')) {
            Some(v)
        } else {
            rest.push(a.clone());
            continue;
        };
        let v = v.ok_or_else(|| format!("bench: {option} needs a number"))?;
        value = Some(
            v.parse()
                .map_err(|_| format!("bench: {option} {v}: not a number"))?,
        );
    }
    Ok((value, rest))
}
