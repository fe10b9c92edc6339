//! `cargo xtask bench size`: the image's size and where it goes, by crate.
//!
//! The image is built once more with its symbol table (same profile, only
//! `strip` differs) and every defined symbol's size (`nm -S`) is charged to
//! the crate its demangled path starts with. Fat LTO inlines across crates,
//! so a function is charged to the crate whose name it kept: a guide to
//! what to shrink, not an exact split (as with cargo-bloat).

use super::report;
use crate::build;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::process::Command;

/// Crates listed by name; the rest are summed in one row.
const TOP: usize = 16;

pub fn run(_quick: bool) -> Result<(), String> {
    let image = build::image(true)?;
    let size = std::fs::metadata(&image).map_err(|e| e.to_string())?.len();
    let symbols = build::image_with_symbols(true)?;
    let out = Command::new("nm")
        .args(["-S", "--size-sort", "-C", "--defined-only"])
        .arg(&symbols)
        .output()
        .map_err(|e| format!("nm: {e}"))?;
    if !out.status.success() {
        return Err(format!("nm: {}", String::from_utf8_lossy(&out.stderr)));
    }
    let by_crate = charge(&String::from_utf8_lossy(&out.stdout));
    let total: u64 = by_crate.values().sum();
    let mut rows: Vec<(&str, u64)> = by_crate.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r.1));
    let mut body = format!(
        "## Image size\n\nCommand: `cargo xtask bench size`. Image `target/image/gitns.hvt`: \
{size} bytes ({:.2} MB; goal <= 3 MB). Symbols: {total} bytes in all, charged to the crate \
named by each symbol's path (`nm -S -C` of the same build with symbols; fat LTO inlines \
across crates, so read it as a guide).\n\n| crate | KiB | share |\n|---|---|---|\n",
        size as f64 / 1e6
    );
    let rest: u64 = rows.iter().skip(TOP).map(|r| r.1).sum();
    for (name, bytes) in rows.iter().take(TOP) {
        let _ = writeln!(
            body,
            "| {name} | {:.1} | {:.1}% |",
            *bytes as f64 / 1024.0,
            100.0 * *bytes as f64 / total.max(1) as f64
        );
    }
    if rest > 0 {
        let _ = writeln!(
            body,
            "| {} others | {:.1} | {:.1}% |",
            rows.len() - TOP,
            rest as f64 / 1024.0,
            100.0 * rest as f64 / total.max(1) as f64
        );
    }
    print!("{body}");
    report::write_section("size", &body)?;
    let json: Vec<String> = rows
        .iter()
        .map(|(n, b)| format!("{{\"crate\": \"{n}\", \"bytes\": {b}}}"))
        .collect();
    report::write_json(
        "size",
        &format!(
            "{{\"image_bytes\": {size}, \"crates\": [{}]}}",
            json.join(", ")
        ),
    )
}

/// Bytes per crate from `nm -S --size-sort -C` lines (`ADDR SIZE TYPE NAME`).
fn charge(nm: &str) -> BTreeMap<String, u64> {
    let mut out: BTreeMap<String, u64> = BTreeMap::new();
    for line in nm.lines() {
        let mut w = line.splitn(4, ' ');
        let (Some(_), Some(size), Some(_), Some(name)) = (w.next(), w.next(), w.next(), w.next())
        else {
            continue;
        };
        let Ok(size) = u64::from_str_radix(size, 16) else {
            continue;
        };
        *out.entry(crate_of(name)).or_default() += size;
    }
    out
}

/// The crate a demangled symbol belongs to: the first path segment, after
/// `<` of an impl (`<rustls::x::Y as core::fmt::Debug>::fmt` is rustls's);
/// C symbols of ring are named `ring_core_*`; other symbols without a
/// path are C or assembly (here almost all ring's: its P-256 table,
/// AES/GHASH and bignum code) and memcpy and friends.
fn crate_of(name: &str) -> String {
    let n = name.trim_start_matches(['<', '&', '*', ' ']);
    let n = n.strip_prefix("mut ").unwrap_or(n);
    let n = n.strip_prefix("dyn ").unwrap_or(n);
    if n.starts_with("ring_core_") {
        return "ring".into();
    }
    match n.split_once("::") {
        Some((head, _))
            if !head.is_empty() && head.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') =>
        {
            // Workspace crates are named by their package (`gitns-dns`).
            match head.strip_prefix("gitns_") {
                Some(rest) => format!("gitns-{rest}"),
                None => head.to_string(),
            }
        }
        _ => "[C/asm without a path: ring's, mem*]".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbols_are_charged_to_their_crate() {
        assert_eq!(crate_of("gitns_dns::zone::parser::parse"), "gitns-dns");
        assert_eq!(
            crate_of("<rustls::msgs::Foo as core::fmt::Debug>::fmt"),
            "rustls"
        );
        assert_eq!(crate_of("<&mut smoltcp::iface::Iface as x>::y"), "smoltcp");
        assert_eq!(crate_of("ring_core_0_17_14__p256_point_mul"), "ring");
        assert!(crate_of("memcpy").starts_with("[C/asm"));
        assert_eq!(crate_of("gitns::main"), "gitns");
        let nm = "0000000000401000 0000000000000010 T gitns_dns::a\n\
                  0000000000401010 0000000000000020 t gitns_dns::b\n\
                  0000000000401030 0000000000000008 r ring_core_x\n\
                  garbage line\n";
        let c = charge(nm);
        assert_eq!(c["gitns-dns"], 0x30);
        assert_eq!(c["ring"], 8);
    }
}
