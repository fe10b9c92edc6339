//! The leniency table of docs/design.md ("Zone files as operators write
//! them", issue 22), row by row: each case file goes through Knot's loader
//! (`kzonecheck -v`), NSD's (`nsd-checkzone`) and `check`, and each must
//! do what the table says: load, load with a warning, or reject. When a
//! peer changes its mind (a new Debian release), this test says which row
//! to decide again.

mod common;
use common::*;
use std::process::Command;

/// What a loader did with a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Did {
    Load,
    Warn,
    Reject,
}
use Did::*;

const HEAD: &str = "$ORIGIN example.org.\n$TTL 3600\n@ SOA ns1 hm 1 86400 7200 1048576 3600\n@ NS ns1\nns1 A 192.0.2.1\n";

/// (case, zone text after HEAD (or whole when it starts with `$ORIGIN`),
/// Knot, NSD, gitns).
fn cases() -> Vec<(&'static str, String, Did, Did, Did)> {
    let h = |extra: &str| format!("{HEAD}{extra}");
    let long = format!("www TXT \"{}\"\n", "a".repeat(300));
    vec![
        (
            "out-of-zone data",
            h("ns6.gandi.net. A 217.70.177.40\n"),
            Warn,
            Reject,
            Warn,
        ),
        (
            "out-of-zone glue of an apex NS",
            h("@ NS ns.other.net.\nns.other.net. A 192.0.2.3\n"),
            Warn,
            Reject,
            Warn,
        ),
        (
            "data below a delegation",
            h("sub NS ns.other.net.\nwww.sub TXT hidden\n"),
            Load,
            Load,
            Warn,
        ),
        (
            "data at a delegation",
            h("sub NS ns.other.net.\nsub TXT cut\n"),
            Load,
            Load,
            Warn,
        ),
        (
            "NS below a delegation",
            h("sub NS ns.other.net.\na.sub NS ns.other.net.\n"),
            Load,
            Load,
            Warn,
        ),
        (
            "glue no NS names",
            h("sub NS ns.other.net.\nns.sub A 192.0.2.8\n"),
            Load,
            Load,
            Warn,
        ),
        (
            "data below a DNAME",
            h("d DNAME other.net.\nx.d A 192.0.2.7\n"),
            Reject,
            Reject,
            Reject,
        ),
        (
            "two DNAMEs",
            h("d DNAME other.net.\nd DNAME other2.net.\n"),
            Reject,
            Reject,
            Reject,
        ),
        (
            "duplicate records",
            h("www A 192.0.2.9\nwww A 192.0.2.9\n"),
            Load,
            Load,
            Warn,
        ),
        (
            "differing TTLs",
            h("www 60 A 192.0.2.9\nwww 120 A 192.0.2.10\n"),
            Warn,
            Warn,
            Warn,
        ),
        (
            "TTL above 2^31-1",
            h("www 4294967295 A 192.0.2.1\n"),
            Load,
            Load,
            Warn,
        ),
        (
            "no SOA",
            "$ORIGIN example.org.\n$TTL 3600\n@ NS ns1\nns1 A 192.0.2.1\n".into(),
            Reject,
            Reject,
            Reject,
        ),
        (
            "second SOA",
            h("@ SOA ns1 hm 2 2 3 4 5\n"),
            Load,
            Reject,
            Reject,
        ),
        (
            "SOA below the apex",
            h("www SOA ns1 hm 1 2 3 4 5\n"),
            Load,
            Reject,
            Reject,
        ),
        (
            "no NS at the apex",
            "$ORIGIN example.org.\n$TTL 3600\n@ SOA ns1 hm 1 2 3 4 5\n".into(),
            Warn,
            Load,
            Warn,
        ),
        (
            "NS target without address",
            h("@ NS ns2\n"),
            Warn,
            Load,
            Warn,
        ),
        (
            "CNAME beside other data",
            h("www CNAME x.other.net.\nwww A 192.0.2.11\n"),
            Reject,
            Reject,
            Reject,
        ),
        (
            "CNAME at the apex",
            h("@ CNAME other.net.\n"),
            Reject,
            Reject,
            Reject,
        ),
        (
            "CNAME beside a DNAME",
            h("d DNAME other.net.\nd CNAME other.net.\n"),
            Reject,
            Reject,
            Reject,
        ),
        (
            "two CNAMEs",
            h("www CNAME x.other.net.\nwww CNAME y.other.net.\n"),
            Reject,
            Reject,
            Reject,
        ),
        (
            "class CH",
            h("www CH A 192.0.2.1\n"),
            Reject,
            Reject,
            Reject,
        ),
        ("TXT string over 255", h(&long), Load, Reject, Reject),
    ]
}

fn run(program: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

/// kzonecheck: serious errors are what knotd refuses to load; other
/// errors (missing NS, missing glue), warnings and notices it loads with.
fn knot(file: &str) -> Did {
    let (ok, out) = run("kzonecheck", &["-v", "-o", "example.org.", file]);
    if out.contains("Serious semantic error") || out.contains("failed to load zone") {
        Reject
    } else if !ok || out.contains("warning:") || out.contains("notice:") {
        Warn
    } else {
        Load
    }
}

fn nsd(file: &str) -> Did {
    let (ok, out) = run("nsd-checkzone", &["example.org", file]);
    if !ok || out.contains(" errors") {
        Reject
    } else if out.contains("warning:") {
        Warn
    } else {
        Load
    }
}

/// `check DIR` (the directory holds the file as `example.org`).
fn gitns(dir: &str) -> Did {
    let bin = xtask_bin();
    let (ok, out) = run(bin.to_str().expect("utf-8"), &["check", dir]);
    if !ok {
        Reject
    } else if out.contains("\nwarn ") || out.starts_with("warn ") {
        Warn
    } else {
        Load
    }
}

#[test]
fn the_leniency_table_holds_against_knot_and_nsd() {
    let test = "the_leniency_table_holds_against_knot_and_nsd";
    let have = have_program("kzonecheck") && have_program("nsd-checkzone");
    if !needs(
        test,
        have,
        "kzonecheck (knot-dnssecutils) and nsd-checkzone (nsd)",
    ) {
        return;
    }
    let root = peer_dir("zone-leniency");
    let mut wrong = Vec::new();
    for (i, (case, text, k, n, g)) in cases().into_iter().enumerate() {
        let dir = root.join(i.to_string());
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("example.org");
        std::fs::write(&file, &text).unwrap();
        let f = file.to_str().expect("utf-8");
        let got = (knot(f), nsd(f), gitns(dir.to_str().expect("utf-8")));
        if got != (k, n, g) {
            wrong.push(format!(
                "{case}: (Knot, NSD, gitns) = {got:?}, the table says {:?}",
                (k, n, g)
            ));
        }
    }
    let _ = std::fs::remove_dir_all(&root);
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
