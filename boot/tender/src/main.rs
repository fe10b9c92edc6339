//! gitns-hvt: a Solo5-hvt-compatible KVM tender.
//!
//! Boots an hvt image (ELF with the Solo5 ABI and manifest notes), attaches
//! the devices its manifest declares to host taps and files, serves its
//! hypercalls and exits with the guest's exit status. On PVM hosts it
//! applies the setup that lets the guest run natively.

use gitns_tender::{cli, devices, elf, hypercall, metrics, pvm, sandbox, vm};

use cli::Early;

fn fail(msg: impl std::fmt::Display) -> ! {
    eprintln!("gitns-hvt: {msg}");
    std::process::exit(1);
}

fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let cli = match cli::parse(&argv) {
        Ok(c) => c,
        Err(Early::Help) => {
            eprint!("{}", cli::USAGE);
            std::process::exit(0)
        }
        Err(Early::Version) => {
            eprintln!(
                "gitns-hvt tender, version {}\nABI version {}",
                env!("CARGO_PKG_VERSION"),
                gitns_abi::HVT_ABI_VERSION
            );
            std::process::exit(0)
        }
        Err(Early::Error(e)) => {
            eprintln!("gitns-hvt: {e}");
            eprint!("{}", cli::USAGE);
            std::process::exit(1)
        }
    };
    let mut host = setup(&cli).unwrap_or_else(|e| fail(e));
    let listener = cli
        .metrics
        .map(|a| metrics::bind(a).unwrap_or_else(|e| fail(e)));
    sandbox::confine(&cli.jail).unwrap_or_else(|e| fail(e));
    let shared = listener.map(|l| {
        let s = metrics::Shared::default();
        metrics::serve(l, s.clone()).unwrap_or_else(|e| fail(e));
        s
    });
    sandbox::lock(sandbox::Role::Vcpu).unwrap_or_else(|e| fail(e));
    if cli.restart_on_fail {
        std::process::exit(supervise(
            &cli,
            &mut host,
            std::time::Duration::from_secs(1),
            None,
            shared.as_ref(),
        ));
    }
    std::process::exit(boot(&cli, &mut host, shared.as_ref()).unwrap_or_else(|e| fail(e)));
}

/// Why a boot failed: before the guest ran (image, devices, memory: never
/// retried) or while it ran (a VM failure: a crash for --restart-on-fail).
#[derive(Debug, PartialEq, Eq)]
enum BootError {
    Setup(String),
    Run(String),
}

impl std::fmt::Display for BootError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BootError::Setup(e) | BootError::Run(e) => f.write_str(e),
        }
    }
}

impl From<String> for BootError {
    fn from(e: String) -> Self {
        BootError::Setup(e)
    }
}

/// `--restart-on-fail`: boot again after a crash exit status (or a VM
/// failure such as a triple fault), waiting 1 s, doubling up to 60 s; a run
/// that lasted over a minute resets the wait. A configuration error or a
/// normal exit ends the tender with that status.
fn supervise(
    cli: &cli::Cli,
    host: &mut Host,
    first_wait: std::time::Duration,
    max_restarts: Option<u32>,
    shared: Option<&metrics::Shared>,
) -> i32 {
    let mut wait = first_wait;
    let mut restarts = 0;
    loop {
        let started = std::time::Instant::now();
        let status = match boot(cli, host, shared) {
            Ok(s) => s,
            Err(BootError::Setup(e)) => fail(e),
            Err(BootError::Run(e)) => {
                eprintln!("gitns-hvt: {e}");
                gitns_abi::exit::ABORT
            }
        };
        if !gitns_abi::exit::is_crash(status) || max_restarts.is_some_and(|m| restarts >= m) {
            return status;
        }
        restarts += 1;
        if let Some(Ok(mut m)) = shared.map(|s| s.lock()) {
            m.restarts += 1;
        }
        if started.elapsed() > std::time::Duration::from_secs(60) {
            wait = first_wait;
        }
        eprintln!(
            "gitns-hvt: guest crashed with status {status}; restarting in {} s",
            wait.as_secs()
        );
        std::thread::sleep(wait);
        wait = (wait * 2).min(std::time::Duration::from_secs(60));
    }
}

/// What the tender opens once, before the sandbox closes the filesystem:
/// the image, /dev/kvm, the devices. Restarts boot from it again.
struct Host {
    name: String,
    file: Vec<u8>,
    image: elf::Image,
    mem_size: u64,
    cmdline: Vec<u8>,
    devs: devices::Devices,
    kvm: kvm_ioctls::Kvm,
    pvm: bool,
}

fn setup(cli: &cli::Cli) -> Result<Host, String> {
    let name = cli.image.display().to_string();
    let file = std::fs::read(&cli.image).map_err(|e| format!("{name}: Could not open: {e}"))?;
    let mem_size = vm::mem_size(cli.mem_mib)?;
    let image = elf::parse(&file, mem_size).map_err(|e| format!("{name}: {e}"))?;
    let cmdline = cli::cmdline(&cli.args, gitns_abi::CMDLINE_SIZE)?;
    if image.end + (1 << 20) > mem_size {
        return Err(format!("{name}: guest memory too small: the image ends at {:#x}, --mem={} MiB leaves no room for its stack", image.end, cli.mem_mib));
    }
    let devs = devices::attach(cli, &image.manifest)?;
    let kvm = vm::kvm_open()?;
    Ok(Host {
        name,
        file,
        image,
        mem_size,
        cmdline,
        devs,
        kvm,
        pvm: pvm::detect(),
    })
}

fn boot(
    cli: &cli::Cli,
    host: &mut Host,
    shared: Option<&metrics::Shared>,
) -> Result<i32, BootError> {
    let (name, mem_size) = (&host.name, host.mem_size);
    let mut vm = vm::Vm::new(&host.kvm, host.pvm, mem_size, &host.image, &host.file)?;
    let features = match (cli.no_extensions, shared.is_some()) {
        (true, _) => 0,
        (false, false) => gitns_abi::FEATURE_NET_EXCHANGE,
        (false, true) => gitns_abi::FEATURE_NET_EXCHANGE | gitns_abi::FEATURE_METRICS,
    };
    vm.write_boot_info(host.image.end, &host.devs.manifest, &host.cmdline, features)?;
    if !cli.quiet {
        eprintln!(
            "gitns-hvt: {name}: booting, {} MiB{}",
            mem_size >> 20,
            if vm.pvm { ", PVM native mode" } else { "" }
        );
    }
    let mut counters = hypercall::Counters::default();
    if let Some(Ok(mut m)) = shared.map(|s| s.lock()) {
        m.mem_bytes = mem_size;
    }
    let status = vm
        .run(&mut host.devs, &mut counters, shared)
        .map_err(BootError::Run)?;
    if !cli.quiet {
        eprintln!("gitns-hvt: guest exited with status {status}");
    }
    Ok(status)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hand-assembled hvt guest: uses SSE, prints "hello" with PUTS, then
    /// HALTs with status 7.
    fn hello_guest() -> Vec<u8> {
        guest_exiting_with(7)
    }

    /// The hello guest, halting with `status`.
    fn guest_exiting_with(status: u8) -> Vec<u8> {
        let mut c: Vec<u8> = vec![0x0f, 0x57, 0xc0, 0x66, 0x0f, 0xd4, 0xc0]; // xorps, paddq xmm0
        c.extend([0x48, 0x83, 0xec, 0x20]); // sub rsp, 32
        let lea_at = c.len();
        c.extend([0x48, 0x8d, 0x05, 0, 0, 0, 0]); // lea rax, [rip + msg]
        c.extend([0x48, 0x89, 0x04, 0x24]); // mov [rsp], rax
        c.extend([0x48, 0xc7, 0x44, 0x24, 0x08, 5, 0, 0, 0]); // mov qword [rsp+8], 5
        c.extend([0x48, 0x89, 0xe0, 0x66, 0xba, 0x02, 0x05, 0xef]); // mov rax, rsp; mov dx, 0x502; out
        c.extend([0x48, 0xc7, 0x04, 0x24, 0, 0, 0, 0]); // mov qword [rsp], 0
        c.extend([0xc7, 0x44, 0x24, 0x08, status, 0, 0, 0]); // mov dword [rsp+8], status
        c.extend([0x48, 0x89, 0xe0, 0x66, 0xba, 0x08, 0x05, 0xef, 0xf4]); // mov rax, rsp; mov dx, 0x508; out; hlt
        let msg_at = c.len();
        c.extend(b"hello");
        let disp = (msg_at - (lea_at + 7)) as u32;
        c[lea_at + 3..lea_at + 7].copy_from_slice(&disp.to_le_bytes());
        elf::sample::tiny_image_with(&c, false)
    }

    /// Set up and boot once, as `main` does without the sandbox.
    fn run_once(cli: &cli::Cli) -> Result<i32, BootError> {
        let mut host = setup(cli)?;
        boot(cli, &mut host, None)
    }

    fn kvm_or_skip() -> bool {
        if std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/kvm")
            .is_ok()
        {
            return true;
        }
        assert_ne!(
            std::env::var("GITNS_REQUIRE_KVM").as_deref(),
            Ok("1"),
            "/dev/kvm is not usable and GITNS_REQUIRE_KVM=1"
        );
        eprintln!("SKIP gitns-hvt VM unit test: /dev/kvm is not usable here");
        if let Some(path) = std::env::var_os("GITNS_SKIP_LOG") {
            use std::io::Write;
            if let Ok(mut f) = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
            {
                let _ = writeln!(
                    f,
                    "SKIP gitns-hvt VM unit test: /dev/kvm is not usable here"
                );
            }
        }
        false
    }

    #[test]
    fn boots_a_minimal_sse_guest_and_passes_its_exit_status() {
        if !kvm_or_skip() {
            return;
        }
        let path = std::env::temp_dir().join(format!("gitns-hvt-hello-{}", std::process::id()));
        std::fs::write(&path, hello_guest()).unwrap();
        let cli = cli::Cli {
            mem_mib: 8,
            quiet: true,
            image: path.clone(),
            ..Default::default()
        };
        let status = run_once(&cli);
        let _ = std::fs::remove_file(&path);
        assert_eq!(status, Ok(7));
    }

    #[test]
    fn restart_on_fail_restarts_crashes_but_not_configuration_errors() {
        if !kvm_or_skip() {
            return;
        }
        let dir = std::env::temp_dir();
        let crash = dir.join(format!("gitns-hvt-crash-{}", std::process::id()));
        let config = dir.join(format!("gitns-hvt-config-{}", std::process::id()));
        std::fs::write(&crash, guest_exiting_with(255)).unwrap();
        std::fs::write(&config, guest_exiting_with(64)).unwrap();
        let short = std::time::Duration::from_millis(5);
        let t = std::time::Instant::now();
        let cli = cli::Cli {
            mem_mib: 8,
            quiet: true,
            image: crash.clone(),
            restart_on_fail: true,
            ..Default::default()
        };
        let mut host = setup(&cli).unwrap();
        assert_eq!(supervise(&cli, &mut host, short, Some(3), None), 255);
        assert!(
            t.elapsed() >= short * (1 + 2 + 4),
            "three restarts with doubling waits"
        );
        let cli = cli::Cli {
            mem_mib: 8,
            quiet: true,
            image: config.clone(),
            restart_on_fail: true,
            ..Default::default()
        };
        let t = std::time::Instant::now();
        let mut host = setup(&cli).unwrap();
        assert_eq!(
            supervise(
                &cli,
                &mut host,
                std::time::Duration::from_secs(5),
                Some(3),
                None
            ),
            64
        );
        assert!(
            t.elapsed() < std::time::Duration::from_secs(5),
            "no restart after a configuration error"
        );
        let _ = (std::fs::remove_file(crash), std::fs::remove_file(config));
    }

    #[test]
    fn unattached_devices_are_refused() {
        if !kvm_or_skip() {
            return;
        }
        let path = std::env::temp_dir().join(format!("gitns-hvt-noattach-{}", std::process::id()));
        std::fs::write(&path, elf::sample::tiny_image(&[0xf4])).unwrap();
        let cli = cli::Cli {
            mem_mib: 8,
            quiet: true,
            image: path.clone(),
            ..Default::default()
        };
        let r = run_once(&cli);
        let _ = std::fs::remove_file(&path);
        let e = r.unwrap_err();
        assert!(
            e.to_string()
                .contains("Device 'service' of type NET_BASIC declared but not attached"),
            "{e}"
        );
        let cli = cli::Cli {
            mem_mib: 8,
            quiet: true,
            image: "/nonexistent/img".into(),
            ..Default::default()
        };
        assert!(run_once(&cli)
            .unwrap_err()
            .to_string()
            .contains("Could not open"));
    }
}
