//! `cargo xtask bench query`: the cost of the query path itself, on the
//! host, with no network: the `bench dns` zone and query mix answered by
//! `authority::serve` in a loop (the code the image runs per UDP query,
//! minus smoltcp and the platform). Nanoseconds per query, best and
//! median of several passes; the figure to watch when changing lookups,
//! the zone index or the writer (issue 9: query path cost).

use super::report;
use super::stats::summary;
use gitns_dns::authority::{serve, Ctx, Policy, Transport};
use gitns_dns::cookie::Secrets;
use gitns_dns::name::Name;
use gitns_dns::rrl::{self, Rrl};
use gitns_dns::zoneset::ZoneSet;
use std::time::Instant;

/// Cookies and rate limiting for the "on" passes: the secrets and a
/// limiter at a rate the passes never reach (bookkeeping, no limiting).
struct Protect {
    secrets: Secrets,
    rrl: Rrl,
}

impl Protect {
    fn new() -> Protect {
        let cfg = rrl::Config {
            rate: 1_000_000_000,
            ..Default::default()
        };
        Protect {
            secrets: Secrets::new([1; 16], 0),
            rrl: Rrl::new(cfg, rrl::DEFAULT_SLOTS, [2; 16]),
        }
    }
}

/// The `bench dns` queries in wire form; `cookie`: each with an OPT
/// carrying a client cookie (as the "on" row of `bench dns`).
fn wire_queries(cookie: bool) -> Result<Vec<Vec<u8>>, String> {
    let mut out = Vec::new();
    for (i, line) in super::dns::queries().lines().enumerate() {
        let (name, ty) = line.split_once(' ').ok_or("bad query line")?;
        let qtype: u16 = match ty {
            "A" => 1,
            "AAAA" => 28,
            "MX" => 15,
            "TXT" => 16,
            other => return Err(format!("query type {other}")),
        };
        let name = Name::parse(&format!("{name}."), &Name::root())
            .map_err(|e| format!("{name}: {e:?}"))?;
        let mut m = vec![(i >> 8) as u8, i as u8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        m.extend_from_slice(name.wire());
        m.extend_from_slice(&qtype.to_be_bytes());
        m.extend_from_slice(&1u16.to_be_bytes());
        if cookie {
            m[11] = 1;
            m.extend_from_slice(&[0, 0, 41, 4, 0xd0, 0, 0, 0, 0, 0, 12, 0, 10, 0, 8]);
            m.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]);
        }
        out.push(m);
    }
    Ok(out)
}

/// One pass over every query: nanoseconds per query. Never inlined:
/// callgrind counts the instructions inside it by name.
#[inline(never)]
fn pass(
    zs: &mut ZoneSet,
    queries: &[Vec<u8>],
    out: &mut [u8],
    mut on: Option<&mut Protect>,
) -> f64 {
    let mut bytes = 0usize;
    let policy = Policy::default();
    let client = std::net::IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1));
    let t0 = Instant::now();
    for q in queries {
        let mut ctx = Ctx::new(Transport::Udp, 0, &policy);
        if let Some(p) = on.as_deref_mut() {
            ctx.client = client;
            ctx.cookies = Some(&p.secrets);
            ctx.rrl = Some(&mut p.rrl);
        }
        serve(zs, q, &mut ctx, out, &mut |m| bytes += m.len());
    }
    let ns = t0.elapsed().as_nanos() as f64 / queries.len() as f64;
    std::hint::black_box(bytes);
    ns
}

/// The `bench dns` zone, loaded.
fn zone() -> Result<ZoneSet, String> {
    let files = vec![(
        super::dns::ZONE.to_string(),
        super::dns::zone_text().into_bytes(),
    )];
    let (zs, rep) = ZoneSet::load(&files, None);
    if zs.is_empty() {
        return Err(format!("bench query: the zone did not load: {rep:?}"));
    }
    Ok(zs)
}

/// What the queries of a counted pass carry and what the server does
/// with it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// No OPT; cookies and rate limiting off.
    Off,
    /// An OPT with a client cookie in every query; cookies and rate
    /// limiting off (the EDNS part of the cost alone).
    Edns,
    /// The same queries with cookies and rate limiting on.
    On,
}

impl Mode {
    fn arg(self) -> Option<&'static str> {
        match self {
            Mode::Off => None,
            Mode::Edns => Some("--edns"),
            Mode::On => Some("--on"),
        }
    }
}

/// `bench query-child [--edns|--on]`: one pass, for callgrind to count.
pub fn child(mode: Mode) -> Result<(), String> {
    let mut zs = zone()?;
    let queries = wire_queries(mode != Mode::Off)?;
    let mut out = vec![0u8; 65535];
    let mut p = Protect::new();
    pass(
        &mut zs,
        &queries,
        &mut out,
        (mode == Mode::On).then_some(&mut p),
    );
    Ok(())
}

/// Instructions per query: callgrind counts the instructions executed
/// inside `pass` by `bench query-child` (exact and repeatable, unlike
/// time; this host's PVM exposes no PMU to `perf stat`).
fn instructions(queries: usize, mode: Mode) -> Result<f64, String> {
    crate::deps::install(&[("valgrind", "valgrind")])?;
    let out = std::env::temp_dir().join(format!("gitns-callgrind-{}.out", std::process::id()));
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let st = std::process::Command::new("valgrind")
        .args(["--tool=callgrind", "--collect-atstart=no"])
        .arg("--toggle-collect=xtask::bench::query::pass*")
        .arg(format!("--callgrind-out-file={}", out.display()))
        .arg(&exe)
        .args(["bench", "query-child"])
        .args(mode.arg())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .map_err(|e| format!("valgrind: {e}"))?;
    let text = std::fs::read_to_string(&out).map_err(|e| format!("{}: {e}", out.display()));
    let _ = std::fs::remove_file(&out);
    if !st.success() {
        return Err(format!("valgrind --tool=callgrind failed: {st}"));
    }
    let total: u64 = text?
        .lines()
        .find_map(|l| {
            l.strip_prefix("totals:")
                .or_else(|| l.strip_prefix("summary:"))
        })
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .ok_or("callgrind output without totals")?;
    if total == 0 {
        return Err("callgrind counted nothing in `pass` (symbol not matched?)".into());
    }
    Ok(total as f64 / queries as f64)
}

pub fn run(quick: bool) -> Result<(), String> {
    let mut zs = zone()?;
    let queries = wire_queries(false)?;
    let mut out = vec![0u8; 65535];
    // Warm up (caches, the allocator), then measure.
    pass(&mut zs, &queries, &mut out, None);
    let before = super::allocs::count();
    pass(&mut zs, &queries, &mut out, None);
    let allocs = (super::allocs::count() - before) as f64 / queries.len() as f64;
    let passes = if quick { 5 } else { 21 };
    let ns: Vec<f64> = (0..passes)
        .map(|_| pass(&mut zs, &queries, &mut out, None))
        .collect();
    let s = summary(&ns);
    let ir = instructions(queries.len(), Mode::Off)?;
    let ir_edns = instructions(queries.len(), Mode::Edns)?;
    let ir_on = instructions(queries.len(), Mode::On)?;
    let body = format!(
        "## Query path (host, no network)\n\n\
Command: `cargo xtask bench query{}`. Machine: {}.\n\
The `bench dns` zone (10,000 hosts) and its {} queries answered by `authority::serve` (UDP, no EDNS) in one thread, {passes} passes after a warm-up; what the image spends per query besides smoltcp and the device.\n\n\
| figure | min | median | max |\n|---|---|---|---|\n\
| ns per query | {:.0} | {:.0} | {:.0} |\n\n\
Instructions per query (callgrind, one pass: `valgrind --tool=callgrind --toggle-collect='xtask::bench::query::pass*' target/release/xtask bench query-child`): {ir:.0}.\n\n\
Heap allocations per query (counting allocator, one pass): {allocs:.2}.\n\n\
With DNS Cookies and rate limiting on (`bench query-child --on`: every query has an OPT with a client cookie, so every answer computes a server cookie; a rate limiter at a rate never reached): {ir_on:.0} instructions per query, {:.3} of off. The same queries (OPT and client cookie) with cookies and rate limiting off (`--edns`): {ir_edns:.0}; so cookies and rate limiting themselves cost {:.3} of a query that carries EDNS.\n",
        if quick { " --quick" } else { "" },
        report::machine(),
        queries.len(),
        s.min,
        s.median,
        s.max,
        ir_on / ir,
        ir_on / ir_edns
    );
    print!("{body}");
    report::write_section("query", &body)?;
    report::write_json(
        "query",
        &format!(
            "{{\"queries\": {}, \"passes\": {passes}, \"allocs_per_query\": {allocs:.2}, \"instructions_per_query\": {ir:.0}, \"instructions_per_query_rrl_cookies\": {ir_on:.0}, \"instructions_per_query_edns_only\": {ir_edns:.0}, \"ns_per_query\": {{\"min\": {:.1}, \"median\": {:.1}, \"max\": {:.1}}}}}",
            queries.len(),
            s.min,
            s.median,
            s.max
        ),
    )
}
