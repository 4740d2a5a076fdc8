//! The `dl-get` program: see the crate library for what it does.

fn main() -> std::process::ExitCode {
    dl_get::main()
}
