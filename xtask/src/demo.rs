//! `cargo xtask demo`: the main job. Builds the image, makes its own network
//! namespace + tap, starts an embedded git-over-SSH remote (russh, in this
//! process, inside the namespace) holding a demo zone repository, boots the
//! appliance with a fresh ed25519 key and the remote's host key pinned, and
//! shows the operator flow of the seeds: dig answers, a new commit + signed
//! NOTIFY -> the new answer, a signed UPDATE -> a new commit in the remote.
//! Then it shuts everything down. Without /dev/kvm the same flow runs on
//! the unix platform.

use base64::Engine;
use gitns_git::object::Signature;
use std::process::Stdio;
use std::sync::mpsc;
use std::time::Duration;
use xtask::netns::Netns;
use xtask::sshremote::repo::Repo;
use xtask::sshremote::{Faults, SshRemote};

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

fn operator(time: u64) -> Signature {
    Signature {
        name: "Demo Operator".into(),
        email: "operator@example.org".into(),
        time,
        tz: "+0000".into(),
    }
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

pub fn main(_args: &[String]) -> Result<(), String> {
    let kvm = xtask::util::have_kvm();
    if !kvm {
        eprintln!("demo: /dev/kvm is not usable here: running the same flow on the unix platform");
    }
    xtask::deps::install(&[("ip", "iproute2"), ("dig", "dnsutils")])?;
    step("building the image and the tender");
    let ns = Netns::create(&format!("gitns-demo-{}", std::process::id()))?;
    let (remote, seed) = start_remote(&ns)?;
    let started = std::time::Instant::now();
    let (mut child, rx) = boot(&ns, kvm, &remote, &seed)?;
    let result = (|| -> Result<(), String> {
        wait_line(&rx, "git: main is at")?;
        wait_answer(&ns, &["www.example.org", "A", "+short"], "10.0.0.80")?;
        step(&format!(
            "cloned over SSH and answering {:.1} ms after launch",
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
        commit_and_notify(&ns, &remote)?;
        update_and_history(&ns, &remote)?;
        show(&ns, &["mail2.example.org", "A"], &["NOERROR"])?;
        show(&ns, &["example.org", "SOA"], &["NOERROR"])?;
        if kvm {
            show_metrics(&ns)?;
        }
        Ok(())
    })();
    step("shutting down");
    let _ = child.kill();
    let _ = child.wait();
    drop(remote);
    drop(ns);
    result?;
    step("demo done");
    Ok(())
}

/// The remote: a repository with the zone and its key file, served by the
/// embedded SSH server in the namespace; the appliance's key seed.
fn start_remote(ns: &Netns) -> Result<(SshRemote, [u8; 32]), String> {
    let keys = format!("personal._update.example.org. DNSKEY 0 3 163 {DEMO_SECRET}\n");
    let mut repo = Repo::new("main");
    repo.commit(
        &[
            ("example.org", DEMO_ZONE.as_bytes()),
            ("example.org._keys", keys.as_bytes()),
        ],
        &operator(now()),
        "demo zones",
    );
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| e.to_string())?;
    let listener = ns
        .run_in(|| std::net::TcpListener::bind("10.0.0.1:22"))?
        .map_err(|e| format!("bind 10.0.0.1:22 in the namespace: {e}"))?;
    let remote = SshRemote::start(
        listener,
        repo,
        gitns_git::ssh::ed25519_public(&seed),
        Faults::default(),
    )?;
    step(&format!(
        "git remote (embedded, russh) at git@10.0.0.1:zones.git, host key {}",
        remote.fingerprint()
    ));
    step(&format!("zone example.org in the remote:\n{DEMO_ZONE}"));
    Ok((remote, seed))
}

/// Boot the appliance (VM, or the unix platform) in the namespace with the
/// remote, the key and the remote's host key; its output lines are printed
/// and sent to the returned channel.
fn boot(
    ns: &Netns,
    kvm: bool,
    remote: &SshRemote,
    seed: &[u8; 32],
) -> Result<(std::process::Child, mpsc::Receiver<String>), String> {
    let args = [
        "--ipv4=10.0.0.2/24".to_string(),
        "--ipv4-gateway=10.0.0.1".to_string(),
        "--remote=git@10.0.0.1:zones.git#main".to_string(),
        format!(
            "--ssh-key=ed25519:{}",
            base64::engine::general_purpose::STANDARD.encode(seed)
        ),
        format!("--ssh-authenticator={}", remote.fingerprint()),
    ];
    let inner = crate::run::guest_command(!kvm, &ns.tap, None, &[], &args)?;
    let mut cmd = ns.command(inner.get_program().to_str().ok_or("path is not UTF-8")?);
    if kvm {
        cmd.arg(format!("--metrics={METRICS}"));
    }
    cmd.args(inner.get_args())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    step(&format!(
        "booting {:?} in network namespace {} with --remote, --ssh-key (new ed25519 key) and --ssh-authenticator",
        inner.get_program(),
        ns.name
    ));
    let mut child = cmd.spawn().map_err(|e| format!("spawn: {e}"))?;
    let (tx, rx) = mpsc::channel();
    xtask::util::follow_output(&mut child, move |line| {
        println!("   guest | {}", redact(&line));
        let _ = tx.send(line);
    });
    Ok((child, rx))
}

/// The operator pushes a commit and sends the seeds' signed NOTIFY (short
/// key name); gitns fetches and answers the new data.
fn commit_and_notify(ns: &Netns, remote: &SshRemote) -> Result<(), String> {
    step("the operator commits serial 2026112402 (www -> 10.0.0.81) to the remote, then a signed NOTIFY");
    let edited = DEMO_ZONE
        .replace("2026112401", "2026112402")
        .replace("10.0.0.80", "10.0.0.81");
    remote.repo.lock().map_err(|_| "remote lock")?.commit(
        &[("example.org", edited.as_bytes())],
        &operator(now()),
        "www moves to .81",
    );
    show(
        ns,
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
    wait_answer(ns, &["www.example.org", "A", "+short"], "10.0.0.81")?;
    show(ns, &["www.example.org", "A"], &["NOERROR"])
}

/// A signed UPDATE, as nsupdate or `cargo xtask update` send it:
/// acknowledged once gitns pushed it as a commit, which the remote's
/// history then shows.
fn update_and_history(ns: &Netns, remote: &SshRemote) -> Result<(), String> {
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
        let why = String::from_utf8_lossy(&out.stderr);
        return Err(format!("UPDATE failed ({}): {}", out.status, why.trim()));
    }
    step("the remote's history now:");
    let repo = remote.repo.lock().map_err(|_| "remote lock")?;
    for (id, author, msg) in repo.log(3) {
        println!("   {} {author}: {msg}", &id.to_string()[..10]);
    }
    let file = repo.read_file("example.org").unwrap_or_default();
    let text = String::from_utf8_lossy(&file);
    for l in text
        .lines()
        .filter(|l| l.contains("mail2") || l.contains("SOA"))
    {
        println!("   example.org | {l}");
    }
    if !text.contains("10.0.0.26") {
        return Err("the UPDATE is not in the remote".into());
    }
    Ok(())
}

/// Where the tender serves metrics inside the namespace.
const METRICS: &str = "127.0.0.1:9100";

/// Print the counters the flow moved, from the tender's endpoint.
fn show_metrics(ns: &Netns) -> Result<(), String> {
    step(&format!(
        "metrics (gitns-hvt --metrics={METRICS}; status page: ip netns exec {} curl http://{METRICS}/):",
        ns.name
    ));
    let pushed = "gitns_git_pushes_total{result=\"ok\"} 1";
    // The guest reports about once a second: wait (bounded) for the push.
    let end = std::time::Instant::now() + Duration::from_secs(5);
    let body = loop {
        let body = ns.run_in(|| -> Result<String, String> {
            use std::io::{Read, Write};
            let mut s = std::net::TcpStream::connect(METRICS).map_err(|e| e.to_string())?;
            s.set_read_timeout(Some(Duration::from_secs(5)))
                .map_err(|e| e.to_string())?;
            s.write_all(b"GET /metrics HTTP/1.1\r\nHost: gitns\r\nConnection: close\r\n\r\n")
                .map_err(|e| e.to_string())?;
            let mut out = String::new();
            s.read_to_string(&mut out).map_err(|e| e.to_string())?;
            Ok(out)
        })??;
        if body.contains(pushed) || std::time::Instant::now() > end {
            break body;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let wanted = [
        "gitns_dns_responses_total",
        "gitns_notify_in_total",
        "gitns_update_total",
        "gitns_git_",
        "gitns_zone_serial",
        "gitns_tender_net_frames_total",
    ];
    for l in body
        .lines()
        .filter(|l| !l.starts_with('#') && wanted.iter().any(|w| l.starts_with(w)))
    {
        println!("   {l}");
    }
    if !body.contains(pushed) {
        return Err("the metrics do not show the pushed UPDATE".into());
    }
    Ok(())
}

/// The guest's command line is logged; keep the key out of the demo's output.
fn redact(line: &str) -> String {
    match line.find("ed25519:") {
        Some(i) => format!(
            "{}ed25519:<secret>{}",
            &line[..i],
            line[i..].find(' ').map_or("", |j| &line[i + j..])
        ),
        None => line.to_string(),
    }
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

fn wait_line(rx: &mpsc::Receiver<String>, needle: &str) -> Result<(), String> {
    let end = std::time::Instant::now() + Duration::from_secs(30);
    while let Some(left) = end.checked_duration_since(std::time::Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(line) if line.contains(needle) => return Ok(()),
            Ok(_) => {}
            Err(_) => break,
        }
    }
    Err(format!("the guest did not log `{needle}`"))
}
