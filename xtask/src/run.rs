//! `cargo xtask run [--zones DIR] [--tap TAP] [--mem MiB] [--block NAME=FILE] [--unix] [--qemu [--tcg]] [--no-restart] -- ARGS`
//!
//! Under gitns-hvt the guest runs with `--restart-on-fail` (a crash, heap
//! exhaustion included, boots it again with backoff, as the seeds run
//! under albatross); `--no-restart` turns that off.
//!
//! `--zones DIR` packs the zone files of DIR onto the `storage` block device
//! and boots the image variant that declares it.
//!
//! With `--tap` the guest attaches to an existing tap (as operators and
//! tests do). Without, xtask makes its own network namespace with tap0 at
//! 10.0.0.1/24 and tells how to reach the guest at 10.0.0.2.
//!
//! `--qemu` boots the same image under qemu-system-x86_64 (PVH entry,
//! virtio-net on the tap), with KVM when QEMU can use it and TCG otherwise
//! (`--tcg` forces TCG); it says which.

use std::process::Command;
use xtask::build;
use xtask::netns::Netns;

struct Opts {
    zones: Option<String>,
    tap: Option<String>,
    mem: Option<u32>,
    blocks: Vec<String>,
    unix: bool,
    qemu: bool,
    tcg: bool,
    no_restart: bool,
    args: Vec<String>,
}

fn parse(args: &[String]) -> Result<Opts, String> {
    let mut o = Opts {
        zones: None,
        tap: None,
        mem: None,
        blocks: vec![],
        unix: false,
        qemu: false,
        tcg: false,
        no_restart: false,
        args: vec![],
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--tap" => o.tap = Some(it.next().ok_or("--tap needs a name")?.clone()),
            "--mem" => {
                o.mem = Some(
                    it.next()
                        .ok_or("--mem needs MiB")?
                        .parse()
                        .map_err(|_| "--mem needs MiB")?,
                )
            }
            "--block" => o
                .blocks
                .push(it.next().ok_or("--block needs NAME=FILE")?.clone()),
            "--unix" => o.unix = true,
            "--qemu" => o.qemu = true,
            "--tcg" => o.tcg = true,
            "--no-restart" => o.no_restart = true,
            "--zones" => o.zones = Some(it.next().ok_or("--zones needs a directory")?.clone()),
            "--" => {
                o.args = it.cloned().collect();
                break;
            }
            other => return Err(format!("run: unknown option `{other}`")),
        }
    }
    Ok(o)
}

/// Forward Ctrl-C to the guest only: xtask waits and then cleans up.
fn ignore_sigint_here() {
    extern "C" fn nothing(_: libc::c_int) {}
    // SAFETY: installs a handler that does nothing; handlers (unlike SIG_IGN)
    // are reset in the child at exec, so the guest still gets SIGINT.
    unsafe {
        libc::signal(libc::SIGINT, nothing as *const () as libc::sighandler_t);
    }
}

/// The command that boots the image (or the unix platform) on `tap`.
pub fn guest_command(
    unix: bool,
    tap: &str,
    mem: Option<u32>,
    blocks: &[String],
    args: &[String],
) -> Result<Command, String> {
    let storage = blocks.iter().any(|b| b.starts_with("storage="));
    let mut c = Command::new(if unix {
        build::unix(true)?
    } else {
        build::tender(true)?
    });
    if let (false, Some(m)) = (unix, mem) {
        c.arg(format!("--mem={m}"));
    }
    c.arg(format!("--net:service={tap}"));
    for b in blocks {
        c.arg(format!("--block:{b}"));
    }
    if unix {
        c.arg("--");
    } else {
        c.arg(if storage {
            build::image_storage(true)?
        } else {
            build::image(true)?
        });
    }
    c.args(args);
    Ok(c)
}

pub fn main(args: &[String]) -> Result<(), String> {
    let o = parse(args)?;
    check(&o)?;
    let unix = !o.qemu && (o.unix || !xtask::util::have_kvm());
    if unix && !o.unix {
        eprintln!("xtask run: /dev/kvm is not usable here; running the unix platform instead");
    }
    let (ns, tap) = match &o.tap {
        Some(t) => (None, t.clone()),
        None => {
            let ns = Netns::create(&format!("gitns-run-{}", std::process::id()))?;
            let tap = ns.tap.clone();
            (Some(ns), tap)
        }
    };
    let mut blocks = o.blocks.clone();
    if let Some(dir) = &o.zones {
        let cache = std::env::temp_dir().join(format!("gitns-zones-{}.tar", std::process::id()));
        xtask::zones::pack(std::path::Path::new(dir), &cache)?;
        blocks.push(format!("storage={}", cache.display()));
    }
    let inner = vm_command(&o, unix, &tap, &blocks)?;
    let mut cmd = match &ns {
        Some(ns) => in_namespace(ns, &inner)?,
        None => inner,
    };
    ignore_sigint_here();
    let status = cmd.status().map_err(|e| format!("{cmd:?}: {e}"))?;
    drop(ns);
    let code = match (o.qemu, status.code()) {
        (true, Some(c)) => match xtask::qemu::guest_status(c) {
            Some(s) => Some(s),
            None => return Err(format!("qemu failed with exit code {c}")),
        },
        (_, c) => c,
    };
    match code {
        Some(0) => Ok(()),
        Some(c) => std::process::exit(c),
        None => Err(format!("guest ended by {status}")),
    }
}

/// Options that do not go together.
fn check(o: &Opts) -> Result<(), String> {
    if o.tcg && !o.qemu {
        return Err("run: --tcg goes with --qemu".to_string());
    }
    if o.qemu && (o.unix || o.blocks.iter().any(|b| !b.starts_with("storage="))) {
        return Err(
            "run: --qemu takes only the storage device (--zones, --block storage=FILE); no --unix"
                .to_string(),
        );
    }
    Ok(())
}

/// The guest's command: QEMU, the unix platform, or the tender (restarting
/// the guest on failure unless --no-restart).
fn vm_command(o: &Opts, unix: bool, tap: &str, blocks: &[String]) -> Result<Command, String> {
    if o.qemu {
        let image = build::image(true)?;
        let storage = blocks
            .iter()
            .find_map(|b| b.strip_prefix("storage=").map(str::to_string));
        let (accel, why) = xtask::qemu::choose(o.tcg);
        eprintln!("xtask run: QEMU with {why}");
        return Ok(xtask::qemu::command(&xtask::qemu::Vm {
            image: &image,
            accel,
            tap: Some(tap),
            mem_mib: o.mem.unwrap_or(256),
            storage: storage.as_deref().map(std::path::Path::new),
            args: &o.args,
        }));
    }
    let c = guest_command(unix, tap, o.mem, blocks, &o.args)?;
    if unix || o.no_restart {
        return Ok(c);
    }
    let mut r = Command::new(c.get_program());
    r.arg("--restart-on-fail").args(c.get_args());
    Ok(r)
}

/// `inner` run inside the namespace `ns`.
fn in_namespace(ns: &Netns, inner: &Command) -> Result<Command, String> {
    eprintln!(
        "xtask run: guest in network namespace {} at 10.0.0.2 (host side 10.0.0.1 on tap0)",
        ns.name
    );
    eprintln!(
        "xtask run: try `ip netns exec {} ping 10.0.0.2`; Ctrl-C stops the guest",
        ns.name
    );
    let program = inner
        .get_program()
        .to_str()
        .ok_or("program path is not UTF-8")?;
    let mut c = ns.command(program);
    c.args(inner.get_args());
    Ok(c)
}
