//! The `dl-log-to-pg` program: see the crate library for what it does.

fn main() -> std::process::ExitCode {
    dl_log_to_pg::main()
}
