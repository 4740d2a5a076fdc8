//! `gen-completions DIR`: write shell completions for every dl-* program, generated with
//! clap_complete from the very clap definition the program parses its flags with (the list in
//! tests/programs.rs, shared with gen-man):
//!
//! - `DIR/bash/<program>` (the name bash-completion's loader looks for),
//! - `DIR/zsh/_<program>` (a zsh `#compdef` function file for `$fpath`),
//! - `DIR/fish/<program>.fish` (for fish's `vendor_completions.d`).
//!
//! `make completions` runs it on `completions/`; tests/man_pages.rs runs it on a temporary
//! directory and fails when a committed file differs; `make install` installs the files.
//!
//! This binary belongs to the tests package and is never installed.

mod programs;

use clap_complete::Shell;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir] = args.as_slice() else {
        eprintln!(
            "usage: gen-completions DIR   (writes DIR/bash/<program>, DIR/zsh/_<program>, \
             DIR/fish/<program>.fish for every dl-* program)"
        );
        return ExitCode::from(64);
    };
    match write_completions(Path::new(dir)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gen-completions: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Where a program's completion file for `shell` goes under `dir`.
fn file_for(dir: &Path, shell: Shell, program: &str) -> PathBuf {
    match shell {
        Shell::Zsh => dir.join("zsh").join(format!("_{program}")),
        Shell::Fish => dir.join("fish").join(format!("{program}.fish")),
        _ => dir.join("bash").join(program),
    }
}

fn write_completions(dir: &Path) -> std::io::Result<()> {
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
        for mut command in programs::programs() {
            let name = command.get_name().to_owned();
            let path = file_for(dir, shell, &name);
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut command, &name, &mut script);
            let parent = path.parent().expect("a file under DIR");
            std::fs::create_dir_all(parent)
                .and_then(|()| std::fs::write(&path, script))
                .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        }
    }
    Ok(())
}
