//! `dripline-tools`: every `dl-*` program in one binary, which runs the program it is called
//! as (`dl-get` is a link to it), like busybox and uutils' multi-call `coreutils`.
//!
//! Why one binary: each program statically links the same runtime, AMQP, PostgreSQL and TLS
//! code, so eight programs meant eight link-time-optimised links of it. Measured (issue 14,
//! 2 cores): a cold release build of the eight took 800 s of CPU, this binary 453 s; a rebuild
//! after a change in shared/protocol 619 s against 286 s; installed, 69 MB became 22 MB. The programs' own crates keep their binaries for development and tests.
//!
//! `dripline-tools dl-get ARGS…` runs a program without its link.
#![forbid(unsafe_code)]

use std::ffi::OsStr;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, ExitCode};

/// A program's `main`.
type Main = fn() -> ExitCode;

/// Every program: the name it is called by, and its `main`.
const PROGRAMS: &[(&str, Main)] = &[
    ("dl-alert", dl_alert::main),
    ("dl-cmd", dl_cmd::main),
    ("dl-export", dl_export::main),
    ("dl-get", dl_get::main),
    ("dl-history", dl_history::main),
    ("dl-list", dl_list::main),
    ("dl-listen", dl_listen::main),
    ("dl-log-to-pg", dl_log_to_pg::main),
    ("dl-metrics", dl_metrics::main),
    ("dl-plot", dl_plot::main),
    ("dl-serve", dl_serve::main),
    ("dl-set", dl_set::main),
    ("dl-top", dl_top::main),
    ("dl-watch", dl_watch::main),
];

/// Status of a call that names no program (EX_USAGE, as every program's bad command line).
const USAGE: u8 = 64;

fn program_named(name: &OsStr) -> Option<Main> {
    let name = Path::new(name).file_name()?.to_str()?;
    PROGRAMS
        .iter()
        .find(|(program, _)| *program == name)
        .map(|(_, main)| *main)
}

fn main() -> ExitCode {
    let mut args = std::env::args_os();
    let called_as = args.next().unwrap_or_default();
    if let Some(main) = program_named(&called_as) {
        return main();
    }
    let Some(first) = args.next() else {
        return usage(false);
    };
    if first == "--help" || first == "-h" || first == "--version" || first == "-V" {
        return usage(true);
    }
    if program_named(&first).is_none() {
        return usage(false);
    }
    // Run the program under its own name, so its messages and clap's usage name it.
    let error = match std::env::current_exe() {
        Ok(exe) => Command::new(exe).arg0(&first).args(args).exec(),
        Err(error) => error,
    };
    eprintln!(
        "dripline-tools: cannot run {}: {error}",
        first.to_string_lossy()
    );
    ExitCode::from(70)
}

fn usage(asked: bool) -> ExitCode {
    let names: Vec<&str> = PROGRAMS.iter().map(|(name, _)| *name).collect();
    let text = format!(
        "dripline-tools {}: run one of the programs through its link ({}) or as \
         `dripline-tools PROGRAM ARGS…`; `man PROGRAM` for each",
        env!("CARGO_PKG_VERSION"),
        names.join(", ")
    );
    if asked {
        println!("{text}");
        ExitCode::SUCCESS
    } else {
        eprintln!("{text}");
        ExitCode::from(USAGE)
    }
}
