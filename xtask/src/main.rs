//! cargo xtask: build, run, demo, test, bench and the operator tools.

mod run;

use xtask::build;

const USAGE: &str = "usage: cargo xtask <command> [args]

commands:
  build                 build the image (target/image/gitns.hvt) and the tender
  run [--tap TAP] [--mem MiB] [--block NAME=FILE] [--unix] -- ARGS
                        boot the image (in its own netns + tap unless --tap)
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
