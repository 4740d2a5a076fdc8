//! The committed generated files must be exactly what the generators write from the current
//! clap definitions: man pages (`man/*.1`, `make man`, tests/gen_man.rs) and shell completions
//! (`completions/{bash,zsh,fish}/…`, `make completions`, tests/gen_completions.rs). Each test
//! runs its generator into a temporary directory and compares, both ways. Every page must also
//! have EXAMPLES and EXIT STATUS sections, and every program of the shared list
//! (tests/programs.rs) a page and a completion file for each shell.

#[path = "programs.rs"]
mod programs;

use dripline_e2e::{files_under, repo_path};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

/// A generator's output in a fresh temporary directory, removed on drop.
struct Fresh {
    dir: PathBuf,
}

impl Fresh {
    fn generate(generator: &str, program: &str) -> Self {
        let dir = std::env::temp_dir().join(dripline_e2e::unique_name(generator));
        let status = Command::new(program)
            .arg(&dir)
            .status()
            .unwrap_or_else(|e| panic!("running {generator}: {e}"));
        assert!(status.success(), "{generator} failed: {status}");
        Fresh { dir }
    }

    fn man() -> Self {
        Fresh::generate("gen-man", env!("CARGO_BIN_EXE_gen-man"))
    }

    fn completions() -> Self {
        Fresh::generate("gen-completions", env!("CARGO_BIN_EXE_gen-completions"))
    }

    fn files(&self) -> BTreeSet<String> {
        files_under(&self.dir)
    }
}

impl Drop for Fresh {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Differences between the committed `committed/` (only the files `keep` selects) and `fresh`,
/// each a line telling what to run.
fn staleness(
    fresh: &Fresh,
    committed: &str,
    keep: impl Fn(&str) -> bool,
    remedy: &str,
) -> Vec<String> {
    let committed_dir = repo_path(committed);
    let mut problems = Vec::new();
    for file in fresh.files() {
        let want = std::fs::read_to_string(fresh.dir.join(&file)).expect("reading generated file");
        match std::fs::read_to_string(committed_dir.join(&file)) {
            Err(_) => problems.push(format!("{committed}/{file} is missing: run {remedy}")),
            Ok(have) if have != want => {
                let line = have
                    .lines()
                    .zip(want.lines())
                    .position(|(a, b)| a != b)
                    .unwrap_or_else(|| have.lines().count().min(want.lines().count()))
                    + 1;
                problems.push(format!(
                    "{committed}/{file} is stale: run {remedy} (first difference at line {line})"
                ));
            }
            Ok(_) => {}
        }
    }
    let committed_files: BTreeSet<String> = files_under(&committed_dir)
        .into_iter()
        .filter(|file| keep(file))
        .collect();
    for file in committed_files.difference(&fresh.files()) {
        problems.push(format!(
            "{committed}/{file} is not generated: add its program to tests/programs.rs, or delete it"
        ));
    }
    problems
}

#[test]
fn committed_man_pages_are_current() {
    let fresh = Fresh::man();
    let problems = staleness(&fresh, "man", |file| file.ends_with(".1"), "make man");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn committed_completions_are_current() {
    let fresh = Fresh::completions();
    let problems = staleness(&fresh, "completions", |_| true, "make completions");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The program names the man generator wrote pages for.
fn programs_with_pages(fresh: &Fresh) -> BTreeSet<String> {
    fresh
        .files()
        .iter()
        .filter_map(|file| file.strip_suffix(".1").map(str::to_owned))
        .collect()
}

/// Every tools/dl-* crate: the programs that must have a page and completions.
fn tool_crates() -> BTreeSet<String> {
    std::fs::read_dir(repo_path("tools"))
        .expect("reading tools/")
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("dl-"))
        .collect()
}

#[test]
fn every_program_has_a_page_and_completions_for_each_shell() {
    let tools = tool_crates();
    assert!(tools.len() >= 8, "tools/ holds only {tools:?}");
    let man = Fresh::man();
    assert_eq!(
        programs_with_pages(&man),
        tools,
        "tests/programs.rs must list exactly the tools/dl-* programs"
    );
    let completions = Fresh::completions();
    let mut want = BTreeSet::new();
    for tool in &tools {
        want.insert(format!("bash/{tool}"));
        want.insert(format!("zsh/_{tool}"));
        want.insert(format!("fish/{tool}.fish"));
    }
    assert_eq!(completions.files(), want);
    for file in &want {
        let text = std::fs::read_to_string(completions.dir.join(file)).unwrap();
        let program = file
            .rsplit('/')
            .next()
            .unwrap()
            .trim_start_matches('_')
            .trim_end_matches(".fish");
        assert!(
            text.contains(program) && text.contains("--help"),
            "{file} does not complete {program}'s flags:\n{text}"
        );
    }
}

#[test]
fn every_page_has_examples_and_exit_status() {
    let fresh = Fresh::man();
    let pages = fresh.files();
    assert!(!pages.is_empty(), "gen-man wrote no pages");
    let mut problems = Vec::new();
    for page in pages {
        let text = std::fs::read_to_string(fresh.dir.join(&page)).expect("reading generated page");
        for section in [".SH EXAMPLES", ".SH \"EXIT STATUS\""] {
            if !text.lines().any(|line| line == section) {
                problems.push(format!(
                    "man/{page} has no `{section}`: give the program's after_help an `Examples:` \
                     and an `Exit status:` paragraph"
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Clap's own consistency checks (conflicting ids, bad defaults, …) for every program, in one
/// place rather than a copy of this test in each program's crate.
#[test]
fn every_programs_clap_definition_is_consistent() {
    for command in programs::programs() {
        command.debug_assert();
    }
}
