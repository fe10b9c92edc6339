//! docs/bench.md sections and docs/bench.json entries.

use crate::util::root;

/// Replace (or append) the section between `<!-- bench:NAME -->` markers.
pub fn write_section(name: &str, body: &str) -> Result<(), String> {
    let path = root().join("docs/bench.md");
    let old = std::fs::read_to_string(&path).unwrap_or_else(|_| "# gitns benchmarks\n\nWritten by `cargo xtask bench`; each section says the command that made it.\n".to_string());
    let begin = format!("<!-- bench:{name} -->");
    let end = format!("<!-- /bench:{name} -->");
    let section = format!("{begin}\n{}\n{end}", body.trim_end());
    let new = match (old.find(&begin), old.find(&end)) {
        (Some(a), Some(b)) if b > a => format!("{}{}{}", &old[..a], section, &old[b + end.len()..]),
        _ => format!("{}\n{}\n", old.trim_end(), section),
    };
    std::fs::write(&path, new).map_err(|e| format!("{}: {e}", path.display()))
}

/// Replace the entry `name` of docs/bench.json (an object of objects).
pub fn write_json(name: &str, json_object: &str) -> Result<(), String> {
    let path = root().join("docs/bench.json");
    let old = std::fs::read_to_string(&path).unwrap_or_default();
    let mut entries: Vec<(String, String)> = parse_top(&old);
    entries.retain(|(k, _)| k != name);
    entries.push((name.to_string(), json_object.to_string()));
    let body: Vec<String> = entries
        .iter()
        .map(|(k, v)| format!("  \"{k}\": {v}"))
        .collect();
    std::fs::write(&path, format!("{{\n{}\n}}\n", body.join(",\n")))
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// Split a file written by `write_json` back into (key, raw value) lines.
fn parse_top(s: &str) -> Vec<(String, String)> {
    s.lines()
        .filter_map(|l| {
            let l = l.trim().trim_end_matches(',');
            let rest = l.strip_prefix('"')?;
            let (k, v) = rest.split_once("\": ")?;
            Some((k.to_string(), v.to_string()))
        })
        .collect()
}

/// Machine facts for a report header.
pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default();
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let pvm = std::path::Path::new("/sys/module/kvm_pvm").exists();
    format!(
        "{cpu}, {} cores, kernel {}, KVM {}",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0),
        kernel.trim(),
        if pvm { "PVM" } else { "VMX/SVM" }
    )
}
