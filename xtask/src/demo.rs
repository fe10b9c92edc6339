//! `cargo xtask demo`: the main job. Builds the image, makes its own network
//! namespace + tap, boots the appliance and shows it working, then shuts
//! everything down.
//!
//! Today the appliance answers ping and a UDP echo; DNS, git and the
//! operator flow of issue 7 replace these steps as they land.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::Duration;
use xtask::netns::Netns;

pub fn main(_args: &[String]) -> Result<(), String> {
    let kvm = xtask::util::have_kvm();
    if !kvm {
        eprintln!("demo: /dev/kvm is not usable here: running the same flow on the unix platform");
    }
    xtask::deps::install(&[("ip", "iproute2"), ("ping", "iputils-ping")])?;
    step("building the image and the tender");
    let ns = Netns::create(&format!("gitns-demo-{}", std::process::id()))?;
    let args = ["--ipv4=10.0.0.2/24", "--udp-echo=7"].map(String::from);
    let inner = crate::run::guest_command(!kvm, &ns.tap, None, &[], &args)?;
    let mut cmd = ns.command(inner.get_program().to_str().ok_or("path is not UTF-8")?);
    cmd.args(inner.get_args()).stdout(Stdio::piped()).stderr(Stdio::piped());
    step(&format!("booting {:?} in network namespace {}", inner.get_program(), ns.name));
    let started = std::time::Instant::now();
    let mut child = cmd.spawn().map_err(|e| format!("spawn: {e}"))?;
    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().ok_or("no stdout")?;
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            println!("   guest | {line}");
            let _ = tx.send(line);
        }
    });
    let result = (|| {
        wait_ready(&rx)?;
        step(&format!("ready {:.1} ms after launch", started.elapsed().as_secs_f64() * 1e3));
        step("ping 10.0.0.2 from the namespace");
        let ok = ns.command("ping").args(["-c", "3", "-i", "0.2", "10.0.0.2"]).status().map_err(|e| e.to_string())?;
        if !ok.success() {
            return Err("no ping reply".to_string());
        }
        step("UDP echo on port 7");
        let reply = ns.run_in(|| {
            let s = std::net::UdpSocket::bind("10.0.0.1:0").ok()?;
            s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
            s.send_to(b"hello from the demo", ("10.0.0.2", 7)).ok()?;
            let mut buf = [0u8; 512];
            let (n, _) = s.recv_from(&mut buf).ok()?;
            Some(String::from_utf8_lossy(&buf[..n]).into_owned())
        })?;
        println!("   echo reply: {reply:?}");
        reply.map(|_| ()).ok_or_else(|| "no UDP echo reply".to_string())
    })();
    step("shutting down");
    let _ = child.kill();
    let _ = child.wait();
    drop(ns);
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
