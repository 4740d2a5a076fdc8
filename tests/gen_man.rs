//! `gen-man DIR`: write `DIR/<program>.1` for every dl-* program, rendered with clap_mangen
//! from the very clap definition the program parses its flags with, so a page cannot describe
//! a flag the program does not have. `make man` runs it on `man/`; `tests/man_pages.rs` runs it
//! on a temporary directory and fails when a committed page differs.
//!
//! The program's `after_help` text (what `--help` prints below the flags) becomes man-page
//! sections: each paragraph that starts with a heading line ending in `:` (`Examples:`,
//! `Exit status (…):`) becomes a section of that name (EXAMPLES, EXIT STATUS); its indented
//! lines `term  description` (two or more spaces apart) become tagged paragraphs.
//!
//! The list of programs is tests/programs.rs, shared with gen-completions.
//!
//! This binary belongs to the tests package and is never installed.

mod programs;

use programs::programs;
use roff::{bold, roman, Roff};
use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir] = args.as_slice() else {
        eprintln!("usage: gen-man DIR   (writes DIR/<program>.1 for every dl-* program)");
        return ExitCode::from(64);
    };
    match write_pages(Path::new(dir)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gen-man: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Render every program's page into `dir` (created if missing).
fn write_pages(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let commands = programs();
    let names: Vec<String> = commands.iter().map(|c| c.get_name().to_owned()).collect();
    for command in commands {
        let path = dir.join(format!("{}.1", command.get_name()));
        let page = render(command, &names)?;
        std::fs::write(&path, page)
            .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
    }
    Ok(())
}

/// One man page: clap_mangen's NAME, SYNOPSIS, DESCRIPTION and OPTIONS, then the sections
/// found in `after_help`, then SEE ALSO naming the other programs.
fn render(command: clap::Command, all_programs: &[String]) -> std::io::Result<Vec<u8>> {
    let mut command = command;
    command.build();
    let after_help = command
        .get_after_long_help()
        .or_else(|| command.get_after_help())
        .map(|text| text.to_string());
    let name = command.get_name().to_owned();
    let version = command.get_version().unwrap_or_default().to_owned();
    let command = command
        .after_help(None::<&str>)
        .after_long_help(None::<&str>);
    let has_options = command.get_arguments().any(|arg| !arg.is_hide_set());
    let subcommands: Vec<clap::Command> = command
        .get_subcommands()
        .filter(|sub| !sub.is_hide_set() && sub.get_name() != "help")
        .cloned()
        .collect();

    let man = clap_mangen::Man::new(command)
        .source(format!("dripline-tools {version}"))
        .manual("dripline-tools");
    let mut out = Vec::new();
    man.render_title(&mut out)?;
    man.render_name_section(&mut out)?;
    man.render_synopsis_section(&mut out)?;
    man.render_description_section(&mut out)?;
    if has_options {
        man.render_options_section(&mut out)?;
    }

    let mut roff = Roff::new();
    render_subcommands(&mut roff, &subcommands);
    if let Some(text) = after_help {
        render_after_help(&mut roff, &text);
    }
    let others: Vec<String> = all_programs
        .iter()
        .filter(|other| **other != name)
        .map(|other| format!("{other}(1)"))
        .collect();
    if !others.is_empty() {
        roff.control("SH", ["SEE ALSO"]);
        roff.text([roman(others.join(", "))]);
    }
    roff.to_writer(&mut out)?;
    Ok(without_repeated_preamble(&out))
}

/// A program with subcommands (`dl-history migrate …`): a section per subcommand with its
/// description and its own flags, then the flags every subcommand shares under their help
/// heading (e.g. DATABASE CONNECTION), once.
fn render_subcommands(roff: &mut Roff, subcommands: &[clap::Command]) {
    let mut shared: Vec<(String, Vec<clap::Arg>)> = Vec::new();
    for sub in subcommands {
        roff.control("SH", [format!("COMMAND {}", sub.get_name()).as_str()]);
        if let Some(about) = sub.get_long_about().or_else(|| sub.get_about()) {
            roff.text([roman(about.to_string())]);
        }
        for arg in sub
            .get_arguments()
            .filter(|arg| !arg.is_hide_set() && !arg.is_global_set())
        {
            match arg.get_help_heading() {
                Some(heading) => {
                    let heading = heading.to_uppercase();
                    match shared.iter_mut().find(|(h, _)| *h == heading) {
                        Some((_, args)) if args.iter().any(|a| a.get_id() == arg.get_id()) => {}
                        Some((_, args)) => args.push(arg.clone()),
                        None => shared.push((heading, vec![arg.clone()])),
                    }
                }
                None => render_arg(roff, arg),
            }
        }
    }
    for (heading, args) in shared {
        roff.control("SH", [format!("{heading} (every command)").as_str()]);
        for arg in &args {
            render_arg(roff, arg);
        }
    }
}

/// One flag as a tagged paragraph: `--name VALUE` (or `-x, --name`), its help, its default
/// and its environment variable.
fn render_arg(roff: &mut Roff, arg: &clap::Arg) {
    let mut term = Vec::new();
    if let Some(short) = arg.get_short() {
        term.push(format!("-{short}"));
    }
    if let Some(long) = arg.get_long() {
        term.push(format!("--{long}"));
    }
    let mut term = if term.is_empty() {
        arg.get_value_names()
            .map(|names| {
                names
                    .iter()
                    .map(|n| format!("<{n}>"))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_else(|| arg.get_id().to_string())
    } else {
        term.join(", ")
    };
    let named = arg.get_long().is_some() || arg.get_short().is_some();
    if named && arg.get_action().takes_values() {
        for name in arg.get_value_names().unwrap_or_default() {
            term.push_str(&format!(" {name}"));
        }
    }
    let mut help = arg
        .get_long_help()
        .or_else(|| arg.get_help())
        .map(|help| help.to_string())
        .unwrap_or_default();
    let defaults: Vec<String> = arg
        .get_default_values()
        .iter()
        .map(|value| value.to_string_lossy().into_owned())
        .collect();
    if !defaults.is_empty() && arg.get_action().takes_values() {
        help.push_str(&format!(" [default: {}]", defaults.join(",")));
    }
    if let Some(env) = arg.get_env() {
        help.push_str(&format!(" [env: {}]", env.to_string_lossy()));
    }
    roff.control("TP", []);
    roff.text([bold(term)]);
    roff.text([roman(help)]);
}

/// clap_mangen and roff start every rendered piece with the same two-line definition of the
/// `Aq` string; keep the first one only.
fn without_repeated_preamble(page: &[u8]) -> Vec<u8> {
    const PREAMBLE: [&str; 2] = [".ie \\n(.g .ds Aq \\(aq", ".el .ds Aq '"];
    let text = String::from_utf8_lossy(page);
    let mut seen = false;
    let mut out = String::with_capacity(text.len());
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        if line == PREAMBLE[0] && lines.peek() == Some(&PREAMBLE[1]) {
            lines.next();
            if seen {
                continue;
            }
            seen = true;
            out.push_str(PREAMBLE[0]);
            out.push('\n');
            out.push_str(PREAMBLE[1]);
            out.push('\n');
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out.into_bytes()
}

/// Turn `after_help` paragraphs into sections (see the crate docs for the layout expected).
fn render_after_help(roff: &mut Roff, text: &str) {
    let mut in_section = false;
    for paragraph in text.split("\n\n") {
        let mut lines = paragraph.lines().filter(|line| !line.trim().is_empty());
        let Some(first) = lines.clone().next() else {
            continue;
        };
        if let Some(heading) = first
            .trim_end()
            .strip_suffix(':')
            .filter(|_| !indented(first))
        {
            lines.next();
            let (title, note) = match heading.split_once(" (") {
                Some((title, note)) => (title, note.strip_suffix(')')),
                None => (heading, None),
            };
            roff.control("SH", [title.to_uppercase().as_str()]);
            if let Some(note) = note {
                roff.text([roman(format!("({note})"))]);
            }
        } else if !in_section {
            roff.control("SH", ["NOTES"]);
        } else {
            roff.control("PP", []);
        }
        in_section = true;
        render_lines(roff, lines);
    }
}

/// Indented lines become tagged paragraphs: `term  description`, split at the first run of two
/// or more spaces, or, for a one-word term followed by one space (`10+ application codes`), at
/// the column where the other descriptions of the paragraph start. Lines indented deeper than
/// the term continue the description above them; unindented lines are plain text.
fn render_lines<'a>(roff: &mut Roff, lines: impl Iterator<Item = &'a str>) {
    let lines = join_continued(lines);
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    let column = description_column(&lines);
    if column.is_none() {
        return render_untabled(roff, &lines);
    }
    let mut item_indent: Option<usize> = None;
    for line in lines {
        let indent = line.len() - line.trim_start().len();
        if matches!(item_indent, Some(item) if indent > item) {
            roff.text([roman(line.trim())]);
            continue;
        }
        if indent == 0 {
            item_indent = None;
            roff.control("PP", []);
            roff.text([roman(line.trim())]);
            continue;
        }
        item_indent = Some(indent);
        match split_item(line, column) {
            (term, Some(description)) => {
                roff.control("TP", []);
                roff.text([bold(term)]);
                roff.text([roman(description)]);
            }
            (term, None) => {
                roff.control("PP", []);
                roff.text([bold(term)]);
            }
        }
    }
}

/// Shell commands continued with a trailing backslash become one line (`a \` + `b` → `a b`).
fn join_continued<'a>(lines: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut joined: Vec<String> = Vec::new();
    let mut continued = false;
    for line in lines {
        match joined.last_mut() {
            Some(last) if continued => {
                last.push(' ');
                last.push_str(line.trim_start());
            }
            _ => joined.push(line.to_owned()),
        }
        let last = joined.last_mut().expect("just pushed");
        continued = last.trim_end().ends_with(" \\");
        if continued {
            let keep = last.trim_end().len() - 2;
            last.truncate(keep);
        }
    }
    joined
}

/// A paragraph without any `term  description` line. When its indented lines all share one
/// indentation it is prose, filled as usual; otherwise (a config file sample, say) runs of
/// indented lines are shown as they are.
fn render_untabled(roff: &mut Roff, lines: &[&str]) {
    let indents: std::collections::BTreeSet<usize> = lines
        .iter()
        .filter(|line| indented(line))
        .map(|line| line.len() - line.trim_start().len())
        .collect();
    if indents.len() <= 1 {
        roff.control("PP", []);
        for line in lines {
            roff.text([roman(line.trim())]);
        }
        return;
    }
    render_verbatim(roff, lines);
}

/// Unindented lines are text, runs of indented lines are shown as they are, indented.
fn render_verbatim(roff: &mut Roff, lines: &[&str]) {
    let mut run: Vec<&str> = Vec::new();
    let flush = |roff: &mut Roff, run: &mut Vec<&str>| {
        if run.is_empty() {
            return;
        }
        let margin = run
            .iter()
            .map(|line| line.len() - line.trim_start().len())
            .min()
            .unwrap_or(0);
        roff.control("PP", [])
            .control("RS", ["4"])
            .control("nf", []);
        for line in run.drain(..) {
            roff.text([roman(line[margin..].trim_end())]);
        }
        roff.control("fi", []).control("RE", []);
    };
    for line in lines {
        if indented(line) {
            run.push(line);
        } else {
            flush(roff, &mut run);
            roff.control("PP", []);
            roff.text([roman(line.trim())]);
        }
    }
    flush(roff, &mut run);
}

/// The column (byte offset) where most descriptions in these lines start, if any line has one.
fn description_column(lines: &[&str]) -> Option<usize> {
    let mut counts = std::collections::BTreeMap::<usize, usize>::new();
    for line in lines.iter().filter(|line| indented(line)) {
        let body = line.trim_start();
        if let Some(gap) = body.find("  ") {
            let after = body[gap..].len() - body[gap..].trim_start().len();
            *counts
                .entry(line.len() - body.len() + gap + after)
                .or_default() += 1;
        }
    }
    counts
        .into_iter()
        .max_by_key(|&(column, count)| (count, std::cmp::Reverse(column)))
        .map(|(column, _)| column)
}

/// `(term, description)` of one indented line (see [`render_lines`]).
fn split_item(line: &str, column: Option<usize>) -> (&str, Option<&str>) {
    let body = line.trim();
    if let Some((term, description)) = body.split_once("  ") {
        return (term.trim_end(), Some(description.trim()));
    }
    if let Some(column) = column {
        let start = line.len() - line.trim_start().len();
        if column > start + 1 && column < line.len() && line.is_char_boundary(column) {
            let (term, description) = line.split_at(column);
            let term = term.trim();
            if term.len() == column - start - 1
                && !term.contains(' ')
                && !description.starts_with(' ')
            {
                return (term, Some(description.trim()));
            }
        }
    }
    (body, None)
}

fn indented(line: &str) -> bool {
    line.starts_with(char::is_whitespace)
}
