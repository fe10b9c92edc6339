//! gitns-hvt: a Solo5-hvt-compatible KVM tender.
//!
//! Boots an hvt image (ELF with the Solo5 ABI and manifest notes), attaches
//! the devices its manifest declares to host taps and files, serves its
//! hypercalls and exits with the guest's exit status. On PVM hosts it
//! applies the setup that lets the guest run natively.

mod cli;
mod devices;
mod elf;
mod guestmem;
mod hypercall;
mod pvm;
mod tap;
mod vm;
mod x86;

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
            eprintln!("gitns-hvt tender, version {}\nABI version {}", env!("CARGO_PKG_VERSION"), gitns_abi::HVT_ABI_VERSION);
            std::process::exit(0)
        }
        Err(Early::Error(e)) => {
            eprintln!("gitns-hvt: {e}");
            eprint!("{}", cli::USAGE);
            std::process::exit(1)
        }
    };
    std::process::exit(boot(&cli).unwrap_or_else(|e| fail(e)));
}

fn boot(cli: &cli::Cli) -> Result<i32, String> {
    let name = cli.image.display().to_string();
    let file = std::fs::read(&cli.image).map_err(|e| format!("{name}: Could not open: {e}"))?;
    let mem_size = vm::mem_size(cli.mem_mib)?;
    let image = elf::parse(&file, mem_size).map_err(|e| format!("{name}: {e}"))?;
    let cmdline = cli::cmdline(&cli.args, gitns_abi::CMDLINE_SIZE)?;
    if image.end + (1 << 20) > mem_size {
        return Err(format!("{name}: guest memory too small: the image ends at {:#x}, --mem={} MiB leaves no room for its stack", image.end, cli.mem_mib));
    }
    let mut devs = devices::attach(cli, &image.manifest)?;
    let mut vm = vm::Vm::new(mem_size, &image, &file)?;
    vm.write_boot_info(image.end, &devs.manifest, &cmdline)?;
    if !cli.quiet {
        eprintln!(
            "gitns-hvt: {name}: booting, {} MiB{}",
            mem_size >> 20,
            if vm.pvm { ", PVM native mode" } else { "" }
        );
    }
    let mut counters = hypercall::Counters::default();
    let status = vm.run(&mut devs, &mut counters)?;
    if !cli.quiet {
        eprintln!("gitns-hvt: guest exited with status {status}");
    }
    Ok(status)
}
