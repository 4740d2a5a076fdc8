//! The one list of dl-* programs whose clap definitions the generators render: gen-man
//! (man pages) and gen-completions (bash, zsh and fish completions) both include this file
//! (`mod programs;`), so a program cannot get a man page without completions or the other way
//! round. tests/packaging.rs checks that the list names every tools/dl-* crate.
//!
//! Adding a program is one line here, plus its crate as a dependency in tests/Cargo.toml; the
//! program must expose its clap `Args` from its library.

use clap::CommandFactory;

/// Every program, as the clap command it parses its flags with.
pub fn programs() -> Vec<clap::Command> {
    vec![
        dl_get::Args::command(),
        dl_set::Args::command(),
        dl_cmd::Args::command(),
        dl_serve::args::Args::command(),
        dl_export::Args::command(),
        dl_listen::Args::command(),
        dl_alert::Args::command(),
        dl_log_to_pg::Args::command(),
        dl_metrics::Args::command(),
        dl_list::Args::command(),
        dl_watch::Args::command(),
        dl_plot::Args::command(),
        dl_top::Args::command(),
        dl_history::Args::command(),
    ]
}
