//! How the directory is printed: a table for people, JSON lines for machines.

use crate::directory::Entry;
use std::io::IsTerminal;

/// The output format.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// A table when stdout is a terminal, JSON lines otherwise.
    Auto,
    /// Aligned columns for people.
    Table,
    /// One JSON object per line.
    Jsonl,
}

impl Format {
    /// `Auto` decided by whether stdout is a terminal.
    pub fn resolve(self) -> Format {
        match self {
            Format::Auto if std::io::stdout().is_terminal() => Format::Table,
            Format::Auto => Format::Jsonl,
            chosen => chosen,
        }
    }
}

/// The widest a table cell grows; longer text ends in `…`.
const MAX_CELL: usize = 48;

/// Text fit for a table cell: control characters shown as `?`, at most [`MAX_CELL`] chars.
fn cell(text: &str) -> String {
    let mut shown: String = text
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .take(MAX_CELL)
        .collect();
    if text.chars().count() > MAX_CELL {
        shown.pop();
        shown.push('…');
    }
    shown
}

/// Rows aligned in columns (two spaces apart), the first row the header.
pub fn table(rows: &[Vec<String>]) -> Vec<String> {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|i| {
            rows.iter()
                .filter_map(|row| row.get(i))
                .map(|text| text.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    rows.iter()
        .map(|row| {
            let mut line = String::new();
            for (i, text) in row.iter().enumerate() {
                if i + 1 == row.len() {
                    line.push_str(text);
                } else {
                    let pad = widths[i] - text.chars().count();
                    line.push_str(text);
                    line.push_str(&" ".repeat(pad + 2));
                }
            }
            line
        })
        .collect()
}

/// `-` for what no source told.
fn or_dash<T>(value: Option<T>, show: impl FnOnce(T) -> String) -> String {
    value.map_or_else(|| "-".to_string(), show)
}

/// The program's file name, without its directory.
fn program(exe: &str) -> &str {
    exe.rsplit('/').next().unwrap_or(exe)
}

/// The implementation's version, e.g. `dripline-python 5.1.1`: the first package but
/// `dripline` (the standard's version, the same for all).
fn package_version(entry: &Entry) -> Option<String> {
    let versions = entry.versions.as_ref()?;
    let (package, version) = versions
        .iter()
        .find(|(package, _)| package.as_str() != "dripline")
        .or_else(|| versions.iter().next())?;
    Some(format!("{package} {}", version.version))
}

fn endpoints_cell(entry: &Entry) -> String {
    or_dash(entry.endpoints.as_ref(), |endpoints| {
        cell(&endpoints.join(","))
    })
}

/// The table of services: one row each.
pub fn services_table(entries: &[Entry]) -> Vec<String> {
    let mut rows = vec![[
        "SERVICE",
        "ENDPOINTS",
        "HOST",
        "PROGRAM",
        "VERSION",
        "PING",
        "HEARTBEAT",
        "CONSUMERS",
    ]
    .map(String::from)
    .to_vec()];
    for entry in entries {
        rows.push(vec![
            cell(&entry.service),
            endpoints_cell(entry),
            or_dash(entry.hostname.as_deref(), cell),
            or_dash(entry.exe.as_deref(), |exe| cell(program(exe))),
            or_dash(package_version(entry), |text| cell(&text)),
            or_dash(entry.ping_ms, |ms| format!("{ms}ms")),
            or_dash(entry.heartbeat_age_s, |age| format!("{age}s ago")),
            or_dash(entry.consumers, |n| n.to_string()),
        ]);
    }
    table(&rows)
}

/// The table of endpoints: one row each.
pub fn endpoints_table(entries: &[Entry]) -> Vec<String> {
    let mut rows = vec![vec!["ENDPOINT".to_string(), "SERVICE".to_string()]];
    for entry in entries {
        for endpoint in entry.endpoints.iter().flatten() {
            rows.push(vec![cell(endpoint), cell(&entry.service)]);
        }
    }
    table(&rows)
}

/// The JSON lines of endpoints: `{"endpoint": …, "service": …}` each.
pub fn endpoints_jsonl(entries: &[Entry]) -> Vec<String> {
    entries
        .iter()
        .flat_map(|entry| {
            entry.endpoints.iter().flatten().map(|endpoint| {
                serde_json::json!({"endpoint": endpoint, "service": entry.service}).to_string()
            })
        })
        .collect()
}

/// One service in detail, a `name  value` line per fact.
pub fn detail(entry: &Entry) -> Vec<String> {
    let versions = entry.versions.as_ref().map(|versions| {
        versions
            .iter()
            .map(|(package, version)| format!("{package} {}", version.version))
            .collect::<Vec<_>>()
            .join(", ")
    });
    let heartbeat = entry.heartbeat_age_s.map(|age| {
        let count = entry.heartbeats.unwrap_or(0);
        format!("{age}s ago ({count} heard)")
    });
    let rows: Vec<Vec<String>> = [
        ("service", Some(entry.service.clone())),
        ("sources", Some(entry.sources.join(", "))),
        ("host", entry.hostname.clone()),
        ("program", entry.exe.clone()),
        ("user", entry.username.clone()),
        ("versions", versions),
        ("ping", entry.ping_ms.map(|ms| format!("{ms}ms"))),
        ("heartbeat", heartbeat),
        ("consumers", entry.consumers.map(|n| n.to_string())),
        ("endpoints", entry.endpoints.as_ref().map(|e| e.join(", "))),
    ]
    .into_iter()
    .map(|(name, value)| {
        let value = value.map_or_else(|| "-".to_string(), |text| clean(&text));
        vec![name.to_string(), value]
    })
    .collect();
    table(&rows)
}

/// Control characters shown as `?` (no length limit).
fn clean(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_bounded_and_free_of_control_characters() {
        assert_eq!(cell("a\u{1b}[2Jb"), "a?[2Jb");
        let long = "x".repeat(500);
        let shown = cell(&long);
        assert_eq!(shown.chars().count(), MAX_CELL);
        assert!(shown.ends_with('…'));
    }

    #[test]
    fn columns_align() {
        let rows = vec![
            vec!["A".to_string(), "B".to_string()],
            vec!["long".to_string(), "x".to_string()],
        ];
        assert_eq!(table(&rows), ["A     B", "long  x"]);
    }
}
