//! cargo xtask: build, run, demo, test, bench and the operator tools.

mod demo;
mod run;
mod test;

use xtask::build;

/// Counts allocations so `bench query` can report them per query.
#[global_allocator]
static ALLOC: xtask::bench::allocs::Counting = xtask::bench::allocs::Counting;

const USAGE: &str = "usage: cargo xtask <command> [args]

commands:
  demo                  the main job: boot the appliance in its own netns and show it working
  build                 build the image (target/image/gitns.hvt) and the tender
  run [--zones DIR] [--tap TAP] [--mem MiB] [--block NAME=FILE] [--unix] [--qemu [--tcg]] -- ARGS
                        boot the image (in its own netns + tap unless --tap);
                        --qemu: under qemu-system-x86_64 (KVM if usable, else TCG)
  notify, update, certify, keygen, check
                        the operator tools of the `gitns` binary (xtask/tools; `cargo install
                        --path xtask/tools`), same code and arguments: `cargo xtask notify --help`
  bench [boot|size|dns|query|zone|appliance|git|ops|acme] [--quick] measure; results go to docs/bench.md and docs/bench.json
  bench soak [--minutes N] [--qps Q]
                        both VMs under every load at once for N minutes (3): memory per minute, UPDATEs lost
  test [ARGS]           install test needs, build, run every test (ARGS go to cargo test),
                        then every fuzz target for 20 s (GITNS_FUZZ_SECONDS: other time, 0 skips)
  audit DB              the dependencies' RustSec advisories, offline, against DB (a git clone
                        of rustsec/advisory-db: CI cannot reach its host, so the test command
                        checks licences, bans and sources only)
  fuzz [TARGET...] [--seconds N|--minutes N] [--jobs N] [--list]
                        build the fuzz targets instrumented (stable) and run them
";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(cmd) = args.first() else {
        eprint!("{USAGE}");
        std::process::exit(2);
    };
    let rest = &args[1..];
    let result = match cmd.as_str() {
        "build" => build::main(rest),
        "run" => run::main(rest),
        "demo" => demo::main(rest),
        "test" => test::main(rest),
        "keygen" | "certify" | "notify" | "update" | "check" => {
            if let Err(e) = gitns_tools::dispatch(cmd, rest) {
                eprintln!("xtask {cmd}: {e}");
                std::process::exit(e.status());
            }
            Ok(())
        }
        "zone-parse" => xtask::bench::zone::parse_main(rest),
        "bench" => xtask::bench::main(rest),
        "fuzz" => xtask::fuzz::main(rest),
        "audit" => xtask::deny::audit(rest),
        "help" | "--help" | "-h" => {
            print!("{USAGE}");
            Ok(())
        }
        other => Err(format!("unknown command `{other}`\n{USAGE}")),
    };
    if let Err(e) = result {
        eprintln!("xtask: {e}");
        std::process::exit(1);
    }
}
