//! `cargo xtask demo`: the main job. Builds the image, makes its own network
//! namespace + tap, boots the appliance with a demo zone on its storage
//! device, and shows it answering `dig` over UDP and TCP; then shuts
//! everything down.
//!
//! It then shows the operator flow of the seeds as far as it exists: the
//! zone source changes and a signed NOTIFY makes gitns reload; a signed
//! UPDATE adds a record. The git remote of issue 7 (an embedded SSH remote
//! holding the zone repository) replaces the storage-device source.

use std::process::Stdio;
use std::sync::mpsc;
use std::time::Duration;
use xtask::netns::Netns;

/// The demo's TSIG key (the seeds' example key).
const DEMO_SECRET: &str = "PAPPkecDvEBnhqTzG5Xsbrbi7W0QY7TpVaEMxndMv2M=";

/// The demo zone.
pub const DEMO_ZONE: &str = "$TTL 3600
@       IN SOA ns1 hostmaster 2026112401 7200 3600 1209600 300
@       NS    ns1
@       MX    10 mail
ns1     A     10.0.0.2
mail    A     10.0.0.25
www     A     10.0.0.80
        AAAA  fd00::80
blog    CNAME www
*.users TXT   \"served by gitns\"
";

pub fn main(_args: &[String]) -> Result<(), String> {
    let kvm = xtask::util::have_kvm();
    if !kvm {
        eprintln!("demo: /dev/kvm is not usable here: running the same flow on the unix platform");
    }
    xtask::deps::install(&[("ip", "iproute2"), ("dig", "dnsutils")])?;
    step("building the image and the tender");
    let ns = Netns::create(&format!("gitns-demo-{}", std::process::id()))?;
    let dir = std::env::temp_dir().join(format!("gitns-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("example.org"), DEMO_ZONE).map_err(|e| e.to_string())?;
    let dev = dir.join("storage.tar");
    let zones = dir.join("zones");
    std::fs::create_dir_all(&zones).map_err(|e| e.to_string())?;
    std::fs::write(zones.join("example.org"), DEMO_ZONE).map_err(|e| e.to_string())?;
    let keys = format!("personal._update.example.org. DNSKEY 0 3 163 {DEMO_SECRET}\n");
    std::fs::write(zones.join("example.org._keys"), &keys).map_err(|e| e.to_string())?;
    xtask::zones::pack(&zones, &dev)?;
    step(&format!("zone example.org:\n{DEMO_ZONE}"));
    let args = ["--ipv4=10.0.0.2/24"].map(String::from);
    let blocks = [format!("storage={}", dev.display())];
    let inner = crate::run::guest_command(!kvm, &ns.tap, None, &blocks, &args)?;
    let mut cmd = ns.command(inner.get_program().to_str().ok_or("path is not UTF-8")?);
    cmd.args(inner.get_args())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    step(&format!(
        "booting {:?} in network namespace {}",
        inner.get_program(),
        ns.name
    ));
    let started = std::time::Instant::now();
    let mut child = cmd.spawn().map_err(|e| format!("spawn: {e}"))?;
    let (tx, rx) = mpsc::channel();
    xtask::util::follow_output(&mut child, move |line| {
        println!("   guest | {line}");
        let _ = tx.send(line);
    });
    let result = (|| -> Result<(), String> {
        wait_ready(&rx)?;
        step(&format!(
            "serving {:.1} ms after launch",
            started.elapsed().as_secs_f64() * 1e3
        ));
        for q in [
            &["www.example.org", "A"][..],
            &["blog.example.org", "AAAA"],
            &["example.org", "MX", "+tcp"],
            &["alice.users.example.org", "TXT"],
            &["nope.example.org", "A"],
        ] {
            show(&ns, q, &["NOERROR", "NXDOMAIN"])?;
        }
        // The operator changes the zone source and sends the seeds' signed
        // NOTIFY (short key name); gitns reloads and answers the new data.
        step("edit the zone (serial 2026112402, www -> 10.0.0.81), then a signed NOTIFY");
        let edited = DEMO_ZONE
            .replace("2026112401", "2026112402")
            .replace("10.0.0.80", "10.0.0.81");
        std::fs::write(zones.join("example.org"), &edited).map_err(|e| e.to_string())?;
        xtask::zones::pack(&zones, &dev)?;
        show(
            &ns,
            &[
                "example.org",
                "SOA",
                "+opcode=notify",
                "+norec",
                "+noedns",
                "-y",
                &format!("hmac-sha256:personal._update:{DEMO_SECRET}"),
            ],
            &["NOERROR"],
        )?;
        wait_answer(&ns, &["www.example.org", "A", "+short"], "10.0.0.81")?;
        show(&ns, &["www.example.org", "A"], &["NOERROR"])?;
        // A signed UPDATE, as nsupdate or `cargo xtask update` send it.
        step("signed UPDATE: add mail2.example.org A 10.0.0.26 (cargo xtask update)");
        let me = std::env::current_exe().map_err(|e| e.to_string())?;
        let out = ns
            .command(me.to_str().ok_or("path")?)
            .args([
                "update",
                "--server=10.0.0.2",
                "--zone=example.org",
                &format!("--key=personal._update.example.org:SHA256:{DEMO_SECRET}"),
                "add",
                "mail2",
                "300",
                "A",
                "10.0.0.26",
            ])
            .output()
            .map_err(|e| e.to_string())?;
        println!("   {}", String::from_utf8_lossy(&out.stdout).trim());
        if !out.status.success() {
            return Err("UPDATE failed".into());
        }
        show(&ns, &["mail2.example.org", "A"], &["NOERROR"])?;
        show(&ns, &["example.org", "SOA"], &["NOERROR"])?;
        Ok(())
    })();
    step("shutting down");
    let _ = child.kill();
    let _ = child.wait();
    drop(ns);
    let _ = std::fs::remove_dir_all(&dir);
    result?;
    step("demo done");
    Ok(())
}

/// dig from the namespace, print the interesting lines; fine when the
/// status is one of `ok`.
fn show(ns: &Netns, q: &[&str], ok: &[&str]) -> Result<(), String> {
    step(&format!("dig @10.0.0.2 {}", q.join(" ")));
    let out = ns
        .command("dig")
        .arg("@10.0.0.2")
        .args([
            "+norec",
            "+noall",
            "+answer",
            "+authority",
            "+comments",
            "+tries=2",
            "+time=2",
        ])
        .args(q)
        .output()
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&out.stdout);
    for l in text.lines().filter(|l| {
        !l.trim().is_empty()
            && (!l.starts_with(';') || l.contains("status:") || l.contains("flags:"))
    }) {
        println!("   {l}");
    }
    if ok.iter().any(|s| text.contains(&format!("status: {s},"))) {
        Ok(())
    } else {
        Err(format!("unexpected answer:\n{text}"))
    }
}

/// Wait until `dig q` prints `want`.
fn wait_answer(ns: &Netns, q: &[&str], want: &str) -> Result<(), String> {
    let end = std::time::Instant::now() + Duration::from_secs(10);
    while std::time::Instant::now() < end {
        let out = ns
            .command("dig")
            .arg("@10.0.0.2")
            .args(q)
            .output()
            .map_err(|e| e.to_string())?;
        if String::from_utf8_lossy(&out.stdout).contains(want) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(format!("`{want}` not served in time"))
}

fn step(s: &str) {
    println!("==> {s}");
}

fn wait_ready(rx: &mpsc::Receiver<String>) -> Result<(), String> {
    let end = std::time::Instant::now() + Duration::from_secs(20);
    while let Some(left) = end.checked_duration_since(std::time::Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(line) if line.contains(" ready") => return Ok(()),
            Ok(_) => {}
            Err(_) => break,
        }
    }
    Err("the guest did not become ready".to_string())
}
