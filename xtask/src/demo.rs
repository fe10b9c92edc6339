//! `cargo xtask demo`: the main job. Builds the image, makes its own network
//! namespace + tap, boots the appliance with a demo zone on its storage
//! device, and shows it answering `dig` over UDP and TCP; then shuts
//! everything down.
//!
//! The git remote of issue 7 (embedded SSH remote, NOTIFY, UPDATE) replaces
//! the storage-device step as it lands.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::Duration;
use xtask::netns::Netns;

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
    xtask::zones::pack(&zones, &dev)?;
    step(&format!("zone example.org:\n{DEMO_ZONE}"));
    let args = ["--ipv4=10.0.0.2/24"].map(String::from);
    let blocks = [format!("storage={}", dev.display())];
    let inner = crate::run::guest_command(!kvm, &ns.tap, None, &blocks, &args)?;
    let mut cmd = ns.command(inner.get_program().to_str().ok_or("path is not UTF-8")?);
    cmd.args(inner.get_args()).stdout(Stdio::piped()).stderr(Stdio::piped());
    step(&format!("booting {:?} in network namespace {}", inner.get_program(), ns.name));
    let started = std::time::Instant::now();
    let mut child = cmd.spawn().map_err(|e| format!("spawn: {e}"))?;
    let (tx, rx) = mpsc::channel();
    for pipe in [child.stdout.take().map(|p| Box::new(p) as Box<dyn std::io::Read + Send>), child.stderr.take().map(|p| Box::new(p) as Box<dyn std::io::Read + Send>)].into_iter().flatten() {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                println!("   guest | {line}");
                let _ = tx.send(line);
            }
        });
    }
    let result = (|| {
        wait_ready(&rx)?;
        step(&format!("serving {:.1} ms after launch", started.elapsed().as_secs_f64() * 1e3));
        for q in [&["www.example.org", "A"][..], &["blog.example.org", "AAAA"], &["example.org", "MX", "+tcp"], &["alice.users.example.org", "TXT"], &["nope.example.org", "A"]] {
            step(&format!("dig @10.0.0.2 {}", q.join(" ")));
            let out = ns.command("dig").arg("@10.0.0.2").args(["+norec", "+noall", "+answer", "+authority", "+comments", "+tries=2", "+time=2"]).args(q).output().map_err(|e| e.to_string())?;
            let text = String::from_utf8_lossy(&out.stdout);
            for l in text.lines().filter(|l| !l.trim().is_empty() && (!l.starts_with(';') || l.contains("status:"))) {
                println!("   {l}");
            }
            if !text.contains("status: NOERROR") && !text.contains("status: NXDOMAIN") {
                return Err(format!("unexpected answer:\n{text}"));
            }
        }
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
