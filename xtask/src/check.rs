//! `cargo xtask check DIR`: validate a directory of zones like `ozone`:
//! every root-level zone file parses and passes the zone checks; key files
//! parse. Errors print as file:line:col and make the exit status non-zero.

use gitns_dns::zoneset::ZoneSet;

/// Read the root-level regular files of `dir`.
pub fn read_dir(dir: &std::path::Path) -> Result<Vec<(String, Vec<u8>)>, String> {
    let mut files = Vec::new();
    for e in std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))? {
        let e = e.map_err(|e| e.to_string())?;
        if !e.file_type().map(|t| t.is_file()).unwrap_or(false) {
            continue;
        }
        let Ok(name) = e.file_name().into_string() else {
            continue;
        };
        if name.starts_with('.') {
            continue;
        }
        files.push((
            name,
            std::fs::read(e.path()).map_err(|err| err.to_string())?,
        ));
    }
    files.sort();
    Ok(files)
}

pub fn main(args: &[String]) -> Result<(), String> {
    let dir = args.first().ok_or("usage: cargo xtask check DIR")?;
    let files = read_dir(std::path::Path::new(dir))?;
    let (zs, rep) = ZoneSet::load(&files, None);
    for (name, serial, records) in &rep.loaded {
        println!("ok    {name} serial {serial}, {records} records");
    }
    println!("keys  {}", zs.keys.len());
    for w in &rep.warnings {
        println!("warn  {w}");
    }
    for e in &rep.errors {
        println!("error {e}");
    }
    if rep.errors.is_empty() {
        Ok(())
    } else {
        Err(format!("{} file(s) rejected", rep.errors.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_fails_on_a_broken_zone_and_passes_a_good_one() {
        let dir = std::env::temp_dir().join(format!("gitns-check-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("example.org"),
            "$TTL 60\n@ SOA ns hm 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n",
        )
        .unwrap();
        assert!(main(&[dir.display().to_string()]).is_ok());
        std::fs::write(
            dir.join("bad.net"),
            "$TTL 60\n@ SOA ns hm 1 2 3 4 5\n@ NS ns\nwww A 1.2.3\n",
        )
        .unwrap();
        assert_eq!(
            main(&[dir.display().to_string()]),
            Err("1 file(s) rejected".to_string())
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
