//! The `dl-top` program: see the crate library for what it does.

fn main() -> std::process::ExitCode {
    dl_top::main()
}
