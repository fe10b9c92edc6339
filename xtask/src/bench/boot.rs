//! `cargo xtask bench boot`: launch-to-halt and launch-to-first-ping-reply
//! of the image under gitns-hvt and, beside it, of the same image under
//! QEMU q35 (TCG here: QEMU cannot use this host's PVM KVM) with the host
//! CPU an idle QEMU guest costs, and the image size.
//!
//! The guest runs in a network namespace of our own; processes are started
//! from a thread that entered it, so no `ip netns exec` sits in the timing.

use super::icmp;
use super::report;
use super::stats::{json, summary, Summary};
use crate::build;
use crate::netns::Netns;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn runs(quick: bool) -> usize {
    if quick {
        10
    } else {
        30
    }
}

pub fn run(quick: bool) -> Result<(), String> {
    if !crate::util::have_kvm() {
        return Err("bench boot needs /dev/kvm".to_string());
    }
    let image = build::image(true)?;
    let hvt = build::tender(true)?;
    let size = std::fs::metadata(&image).map_err(|e| e.to_string())?.len();
    let ns = Netns::create(&format!("gitns-bench-{}", std::process::id()))?;
    let n = runs(quick);
    let halt = measure(&ns, &hvt, &image, n, halt_ms)?;
    let ping = measure(&ns, &hvt, &image, n, ping_ms)?;
    let (accel, why) = crate::qemu::choose(false);
    let qemu = if std::process::Command::new(crate::qemu::QEMU)
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok()
    {
        let qn = n.min(10);
        // The host's first ARP for 10.0.0.2 goes out before QEMU's guest is
        // up, and the kernel retries only after retrans_time (1 s): every
        // QEMU figure would be ~1.05 s. 10 ms measures the guest instead.
        crate::util::run_ok(ns.command("sysctl").args([
            "-q",
            "-w",
            "net.ipv4.neigh.tap0.retrans_time_ms=10",
        ]))?;
        let h = measure_qemu(&ns, &image, accel, qn, qemu_halt_ms)?;
        let p = measure_qemu(&ns, &image, accel, qn, qemu_ping_ms)?;
        let i = measure_qemu(&ns, &image, accel, IDLE_RUNS, qemu_idle_cpu)?;
        Some((qn, h, p, i))
    } else {
        None
    };
    drop(ns);
    let cmd = format!(
        "cargo xtask bench boot{}",
        if quick { " --quick" } else { "" }
    );
    let body = format!(
        "## Boot\n\nCommand: `{cmd}`. Machine: {}.\n{n} runs each; times in ms from spawning gitns-hvt.\n\n\
| figure | min | median | max | goal |\n|---|---|---|---|---|\n\
| launch to halt (`--help`) | {:.2} | {:.2} | {:.2} | median <= 5 ms |\n\
| launch to first ping reply | {:.2} | {:.2} | {:.2} | |\n\
| image size (bytes) | | {size} | | <= 300 KB at the boot stage |\n\n\
No peer is measured here: solo5-hvt is not packaged for Debian and cannot be fetched on this host.\n{}",
        report::machine(), halt.min, halt.median, halt.max, ping.min, ping.median, ping.max,
        match qemu {
            Some((qn, h, p, i)) => format!(
                "\nThe same image under QEMU ({}, q35, SeaBIOS, PVH entry, virtio-net): {qn} runs each; ms from spawning qemu-system-x86_64.\n\n\
| figure | min | median | max |\n|---|---|---|---|\n\
| QEMU launch to halt (`--help`) | {:.1} | {:.1} | {:.1} |\n\
| QEMU launch to first ping reply | {:.1} | {:.1} | {:.1} |\n\
| QEMU idle: host CPU, % of one core ({IDLE_RUNS} runs) | {:.1} | {:.1} | {:.1} |\n\n\
The idle row is QEMU's user+system CPU time over {IDLE_S} s, starting 1 s after the guest's first ping reply, with no traffic (the guest halts in `hlt` between its timers and virtio-net interrupts).\n\n\
For the QEMU rows the namespace's ARP retransmit time is 10 ms (default 1 s): the host's first ARP for the guest leaves before the guest is up, and with the default every QEMU first ping lands at ~1.05 s.\n",
                why, h.min, h.median, h.max, p.min, p.median, p.max, i.min, i.median, i.max
            ),
            None => "\nQEMU: not installed, not measured.\n".to_string(),
        }
    );
    print!("{body}");
    report::write_section("boot", &body)?;
    report::write_json(
        "boot",
        &format!(
            "{{\"runs\": {n}, \"halt_ms\": {}, \"ping_ms\": {}, \"image_bytes\": {size}{}}}",
            json(halt),
            json(ping),
            match qemu {
                Some((qn, h, p, i)) => format!(
                    ", \"qemu\": {{\"accel\": \"{accel:?}\", \"runs\": {qn}, \"halt_ms\": {}, \"ping_ms\": {}, \"idle_cpu_percent\": {}}}",
                    json(h),
                    json(p),
                    json(i)
                ),
                None => String::new(),
            }
        ),
    )
}

fn tender_cmd(hvt: &Path, image: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(hvt);
    c.arg("--quiet")
        .arg("--net:service=tap0")
        .arg(image)
        .args(args);
    c.stdout(Stdio::null())
        .stderr(Stdio::null())
        .stdin(Stdio::null());
    c
}

/// Run `one` (milliseconds of one measurement) `n` times on a thread inside
/// `ns`, so no `ip netns exec` sits in the timing.
fn measure(
    ns: &Netns,
    hvt: &Path,
    image: &Path,
    n: usize,
    one: fn(&Path, &Path) -> Result<f64, String>,
) -> Result<Summary, String> {
    let (hvt, image) = (hvt.to_path_buf(), image.to_path_buf());
    let times = ns.run_in(move || {
        (0..n)
            .map(|_| one(&hvt, &image))
            .collect::<Result<Vec<f64>, String>>()
    })??;
    Ok(summary(&times))
}

/// Spawn to exit of a guest that prints its help and halts.
fn halt_ms(hvt: &Path, image: &Path) -> Result<f64, String> {
    let t0 = Instant::now();
    let st = tender_cmd(hvt, image, &["--help"])
        .status()
        .map_err(|e| e.to_string())?;
    let ms = t0.elapsed().as_secs_f64() * 1e3;
    if !st.success() {
        return Err(format!("guest exited with {st}"));
    }
    Ok(ms)
}

/// Spawn to the first ICMP echo reply of a guest.
fn ping_ms(hvt: &Path, image: &Path) -> Result<f64, String> {
    let t0 = Instant::now();
    let mut child = tender_cmd(hvt, image, &["--ipv4=10.0.0.2/24"])
        .spawn()
        .map_err(|e| e.to_string())?;
    let r = icmp::first_reply(
        [10, 0, 0, 2],
        Duration::from_millis(1),
        Duration::from_secs(5),
    );
    let _ = child.kill();
    let _ = child.wait();
    Ok(r?.duration_since(t0).as_secs_f64() * 1e3)
}

/// Like [`measure`], for QEMU.
fn measure_qemu(
    ns: &Netns,
    image: &Path,
    accel: crate::qemu::Accel,
    n: usize,
    one: fn(&Path, crate::qemu::Accel) -> Result<f64, String>,
) -> Result<Summary, String> {
    let image = image.to_path_buf();
    let times = ns.run_in(move || {
        (0..n)
            .map(|_| one(&image, accel))
            .collect::<Result<Vec<f64>, String>>()
    })??;
    Ok(summary(&times))
}

fn qemu_cmd(image: &Path, accel: crate::qemu::Accel, args: &[&str]) -> Command {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let mut c = crate::qemu::command(&crate::qemu::Vm {
        image,
        accel,
        tap: Some("tap0"),
        mem_mib: 256,
        storage: None,
        args: &args,
    });
    c.stdout(Stdio::null())
        .stderr(Stdio::null())
        .stdin(Stdio::null());
    c
}

/// Spawn to exit of QEMU running the image's `--help`.
fn qemu_halt_ms(image: &Path, accel: crate::qemu::Accel) -> Result<f64, String> {
    let t0 = Instant::now();
    let st = qemu_cmd(image, accel, &["--help"])
        .status()
        .map_err(|e| e.to_string())?;
    let ms = t0.elapsed().as_secs_f64() * 1e3;
    if st.code().and_then(crate::qemu::guest_status) != Some(0) {
        return Err(format!("qemu exited with {st}"));
    }
    Ok(ms)
}

/// Spawn to the first ICMP echo reply of the image under QEMU.
fn qemu_ping_ms(image: &Path, accel: crate::qemu::Accel) -> Result<f64, String> {
    let t0 = Instant::now();
    let mut child = qemu_cmd(image, accel, &["--ipv4=10.0.0.2/24"])
        .spawn()
        .map_err(|e| e.to_string())?;
    let r = icmp::first_reply(
        [10, 0, 0, 2],
        Duration::from_millis(1),
        Duration::from_secs(30),
    );
    let _ = child.kill();
    let _ = child.wait();
    Ok(r?.duration_since(t0).as_secs_f64() * 1e3)
}

/// Runs of the idle-CPU figure, and the seconds each one measures.
const IDLE_RUNS: usize = 3;
const IDLE_S: u64 = 3;

/// User + system CPU time of process `pid` in seconds (/proc, USER_HZ 100).
fn cpu_seconds(pid: u32) -> Result<f64, String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).map_err(|e| e.to_string())?;
    // After the command name in parentheses: state (field 3) first, so
    // utime (14) and stime (15) are at 11 and 12.
    let rest = stat.rsplit_once(") ").ok_or("bad /proc stat")?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        f.get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .ok_or("bad /proc stat")
    };
    Ok((ticks(11)? + ticks(12)?) as f64 / 100.0)
}

/// Percent of one host core QEMU uses while the guest idles: the image
/// under QEMU, up (first ping reply), then no traffic for IDLE_S seconds.
fn qemu_idle_cpu(image: &Path, accel: crate::qemu::Accel) -> Result<f64, String> {
    let mut child = qemu_cmd(image, accel, &["--ipv4=10.0.0.2/24"])
        .spawn()
        .map_err(|e| e.to_string())?;
    let up = icmp::first_reply(
        [10, 0, 0, 2],
        Duration::from_millis(1),
        Duration::from_secs(30),
    );
    let figure = up.and_then(|_| {
        std::thread::sleep(Duration::from_secs(1));
        let (c0, t0) = (cpu_seconds(child.id())?, Instant::now());
        std::thread::sleep(Duration::from_secs(IDLE_S));
        let (c1, t1) = (cpu_seconds(child.id())?, Instant::now());
        Ok((c1 - c0) / t1.duration_since(t0).as_secs_f64() * 100.0)
    });
    let _ = child.kill();
    let _ = child.wait();
    figure
}
