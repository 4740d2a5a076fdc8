//! The `dl-history` program: see the crate library for what it does.

fn main() -> std::process::ExitCode {
    dl_history::main()
}
