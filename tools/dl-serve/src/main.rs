fn main() -> std::process::ExitCode {
    dl_serve::main()
}
