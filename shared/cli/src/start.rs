//! The one start-up path every program's `main` goes through.
//!
//! [`Program::run`] parses the command line, sets up logging, installs the panic hook and the
//! signal handlers, builds the async runtime, runs the program's body on it and turns the
//! outcome into the process exit status, printing any error as one line on stderr
//! ([`crate::report`]). So every program fails the same way for the same reason:
//!
//! - a bad command line: clap's message, status 64 (`--help`/`--version`: 0);
//! - the runtime or the signal handlers cannot be set up: status 70 (a bug or a broken host);
//! - a panic (a bug): one line naming it, status 70, never a stack trace;
//! - SIGINT, SIGTERM or SIGHUP: see [`OnSignal`]; a second signal ends the program at once
//!   with status 130;
//! - an error from the body: its [`crate::ExitFailure`] status (1 when it carries none).

use crate::exit_status::{self, ExitFailure, INTERRUPTED, SOFTWARE, USAGE};
use crate::logging::{init_logging, LogArgs, LogFormat};
use crate::report;
use std::future::Future;
use std::process::ExitCode;
use tokio::sync::watch;

/// The command line of a program: clap's parser plus access to the logging flags.
pub trait ProgramArgs: clap::Parser {
    /// The `-v`/`-q`/`--log-format` flags.
    fn log_args(&self) -> &LogArgs;
}

/// How many threads the program's runtime has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Threads {
    /// One thread: a program that mostly waits on one connection (every hand-over between
    /// threads costs a wake-up on the critical path).
    One,
    /// A multi-threaded runtime with this many workers.
    Workers(usize),
}

/// What the first SIGINT, SIGTERM or SIGHUP means to a program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnSignal {
    /// Drop the work in hand, say "interrupted" and exit with status 130 (one-shot tools: a
    /// request, a batch, an export). Lines already printed stay printed; buffered stdout is
    /// flushed; what the work held is dropped (a half-written output file is removed).
    Interrupt,
    /// Tell the body through its [`Shutdown`]; it stops in its own way (commits what it
    /// holds, closes connections) and returns its own status: 0 for a program whose normal
    /// end is a signal (a service, a listener), 130 for a job cut short.
    Stop,
}

/// A program's name and how it runs.
#[derive(Clone, Copy, Debug)]
pub struct Program {
    /// The name in every stderr line (`dl-get: …`).
    pub name: &'static str,
    /// The runtime's threads.
    pub threads: Threads,
    /// What a signal means.
    pub on_signal: OnSignal,
}

/// Tells a running body that a stop signal came. Cheap to clone; every clone sees it.
#[derive(Clone, Debug)]
pub struct Shutdown {
    requested: watch::Receiver<bool>,
}

impl Shutdown {
    /// Completes when a stop signal comes (at once if one came already). Cancel-safe, so it
    /// can stand in a `select!` loop.
    pub async fn requested(&mut self) {
        // An error means the sender is gone, which happens only when the program ends.
        let _ = self.requested.wait_for(|requested| *requested).await;
    }

    /// The underlying channel, for code that passes a `watch::Receiver<bool>` around.
    pub fn receiver(&self) -> watch::Receiver<bool> {
        self.requested.clone()
    }
}

impl Program {
    /// Parse the command line into `A`, then run `body` with it to the process exit status.
    pub fn run<A, F, Fut>(self, body: F) -> ExitCode
    where
        A: ProgramArgs,
        F: FnOnce(A, Shutdown) -> Fut,
        Fut: Future<Output = anyhow::Result<u8>>,
    {
        let args: A = parse_args(self.name);
        let log = args.log_args().clone();
        init_logging(&log);
        report::set_program(self.name, log.log_format);
        report::install_panic_hook();
        let outcome =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.run_body(args, body)));
        match outcome {
            Ok(Ok(status)) => ExitCode::from(status),
            Ok(Err(error)) if exit_status::is_broken_pipe(&error) => ExitCode::SUCCESS,
            Ok(Err(error)) => {
                report::error(format_args!("{error:#}"));
                ExitCode::from(exit_status::status_of(&error))
            }
            // The panic hook has printed the one line already.
            Err(_) => ExitCode::from(SOFTWARE),
        }
    }

    fn run_body<A, F, Fut>(self, args: A, body: F) -> anyhow::Result<u8>
    where
        F: FnOnce(A, Shutdown) -> Fut,
        Fut: Future<Output = anyhow::Result<u8>>,
    {
        let runtime = match self.threads {
            Threads::One => tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build(),
            Threads::Workers(workers) => tokio::runtime::Builder::new_multi_thread()
                .worker_threads(workers.max(1))
                .enable_all()
                .build(),
        }
        .map_err(|e| ExitFailure::new(SOFTWARE, format!("cannot start the async runtime: {e}")))?;
        runtime.block_on(async {
            let (sender, requested) = watch::channel(false);
            watch_signals(sender)?;
            let mut shutdown = Shutdown { requested };
            match self.on_signal {
                OnSignal::Stop => body(args, shutdown).await,
                OnSignal::Interrupt => {
                    let work = body(args, shutdown.clone());
                    tokio::select! {
                        outcome = work => outcome,
                        _ = shutdown.requested() => {
                            report::error("interrupted");
                            Ok(INTERRUPTED)
                        }
                    }
                }
            }
        })
    }
}

/// Install the handlers for SIGINT, SIGTERM and SIGHUP: the first one sets `sender`, a second
/// one ends the process at once with status 130. Needs the runtime.
fn watch_signals(sender: watch::Sender<bool>) -> anyhow::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let install = |kind: SignalKind, name: &str| {
        signal(kind).map_err(|e| ExitFailure::new(SOFTWARE, format!("cannot handle {name}: {e}")))
    };
    let mut interrupt = install(SignalKind::interrupt(), "SIGINT")?;
    let mut terminate = install(SignalKind::terminate(), "SIGTERM")?;
    let mut hangup = install(SignalKind::hangup(), "SIGHUP")?;
    tokio::spawn(async move {
        let mut received = 0;
        loop {
            let name = tokio::select! {
                Some(()) = interrupt.recv() => "SIGINT",
                Some(()) = terminate.recv() => "SIGTERM",
                Some(()) = hangup.recv() => "SIGHUP",
                else => return,
            };
            received += 1;
            if received == 1 {
                tracing::info!("{name} received; stopping");
                let _ = sender.send(true);
            } else {
                report::error(format_args!("{name} received again; stopping now"));
                std::process::exit(i32::from(INTERRUPTED));
            }
        }
    });
    Ok(())
}

/// Parse the command line; on a usage error print clap's message (as one JSON object with
/// `--log-format json`) and exit with status 64; `--help` and `--version` exit 0.
fn parse_args<A: clap::Parser>(program: &'static str) -> A {
    match A::try_parse() {
        Ok(args) => args,
        Err(error) if !error.use_stderr() => {
            let _ = error.print();
            std::process::exit(i32::from(exit_status::SUCCESS));
        }
        Err(error) => {
            if json_logs_asked() {
                report::set_program(program, LogFormat::Json);
                report::error(format_args!("{}", error.render().to_string().trim_end()));
            } else {
                let _ = error.print();
            }
            std::process::exit(i32::from(USAGE));
        }
    }
}

/// `--log-format json` (or `=json`) on the raw command line, for errors found before the
/// command line could be parsed.
fn json_logs_asked() -> bool {
    let args: Vec<String> = std::env::args().collect();
    args.windows(2)
        .any(|pair| pair[0] == "--log-format" && pair[1] == "json")
        || args.iter().any(|arg| arg == "--log-format=json")
}
