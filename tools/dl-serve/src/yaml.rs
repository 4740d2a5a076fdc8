//! YAML as dripline-python reads its configs: PyYAML's `safe_load`, YAML 1.1.
//!
//! The syntax is parsed by `saphyr-parser` (events with the scalar's style and position);
//! the meaning of a scalar is resolved here, by PyYAML's rules, because no maintained Rust
//! YAML crate keeps YAML 1.1's: a **plain** (unquoted) scalar is a boolean when it is
//! `yes`/`no`/`on`/`off`/`true`/`false` (lower, Capitalised or UPPER case), null for `~`,
//! `null` or nothing, an int for `12`, `0x1f`, `017` (octal), `0b101`, `1_000` or
//! `1:30` (sexagesimal), a float for `1.5`, `1.`, `.5`, `1.0e+3`, `.inf`, `.nan`; anything
//! else, and every quoted or block scalar, is a string (`"on"` stays the text `on`). As in
//! PyYAML, `1e3` (no dot) is a string, and so are `y` and `n`.
//!
//! Anchors, aliases and `<<` merge keys work as in PyYAML. Every node keeps its line, so
//! errors can point at it. Limits, since a config is a door too: nesting depth
//! [`MAX_DEPTH`], [`MAX_NODES`] nodes after alias expansion (a "billion laughs" file is
//! refused), one document.

use saphyr_parser::{Event, Parser, ScalarStyle, Span};
use std::collections::HashMap;
use std::fmt;

/// The deepest nesting of sequences and mappings.
pub const MAX_DEPTH: usize = 64;

/// The most nodes in a document, aliases expanded.
pub const MAX_NODES: usize = 100_000;

/// A YAML node and the line (1-based) where it starts.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// Where the node starts (1-based line).
    pub line: usize,
    /// What it holds.
    pub value: Yaml,
}

/// A resolved YAML value.
#[derive(Clone, Debug, PartialEq)]
pub enum Yaml {
    /// `~`, `null`, nothing.
    Null,
    /// A YAML 1.1 boolean.
    Bool(bool),
    /// An int (PyYAML's are unbounded; ours stop at 128 bits, beyond is a string).
    Int(i128),
    /// A float.
    Float(f64),
    /// A string: every quoted or block scalar, and plain text that is nothing else.
    Str(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in file order.
    Map(Vec<(Key, Node)>),
}

/// A mapping key: the text Python's `str()` gives the key (`1`, `2.5`, `True`, `peaches`),
/// and its line.
#[derive(Clone, Debug, PartialEq)]
pub struct Key {
    /// `str(key)`.
    pub text: String,
    /// Where the key is (1-based line).
    pub line: usize,
}

/// YAML that cannot be read: what and where.
#[derive(Clone, Debug, PartialEq)]
pub struct YamlError {
    /// The line (1-based).
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for YamlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

impl Node {
    /// The node as JSON (mapping keys as their `str()`); `Err` names the line and why: an
    /// int beyond 64 bits or a float JSON cannot hold (`.inf`, `.nan`).
    pub fn to_json(&self) -> Result<serde_json::Value, YamlError> {
        use serde_json::{Number, Value};
        let fail = |reason: String| YamlError {
            line: self.line,
            reason,
        };
        Ok(match &self.value {
            Yaml::Null => Value::Null,
            Yaml::Bool(flag) => Value::Bool(*flag),
            Yaml::Int(int) => i64::try_from(*int)
                .map(Number::from)
                .or_else(|_| u64::try_from(*int).map(Number::from))
                .map(Value::Number)
                .map_err(|_| fail(format!("{int} is too large (64 bits at most)")))?,
            Yaml::Float(float) => Number::from_f64(*float)
                .map(Value::Number)
                .ok_or_else(|| fail(format!("{float} cannot be used (only finite numbers)")))?,
            Yaml::Str(text) => Value::String(text.clone()),
            Yaml::Seq(items) => {
                Value::Array(items.iter().map(Node::to_json).collect::<Result<_, _>>()?)
            }
            Yaml::Map(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(key, value)| Ok((key.text.clone(), value.to_json()?)))
                    .collect::<Result<_, YamlError>>()?,
            ),
        })
    }
}

/// Parse one YAML document; `Ok(None)` for an empty file.
pub fn parse(text: &str) -> Result<Option<Node>, YamlError> {
    let mut builder = Builder {
        parser: Parser::new_from_str(text),
        anchors: HashMap::new(),
        nodes: 0,
        last_line: 1,
    };
    builder.document()
}

struct Builder<'a> {
    parser: Parser<'a, saphyr_parser::StrInput<'a>>,
    anchors: HashMap<usize, Node>,
    nodes: usize,
    last_line: usize,
}

impl<'a> Builder<'a> {
    fn next(&mut self) -> Result<(Event<'a>, Span), YamlError> {
        match self.parser.next() {
            Some(Ok((event, span))) => {
                self.last_line = span.start.line();
                Ok((event, span))
            }
            Some(Err(error)) => Err(YamlError {
                line: error.marker().line(),
                reason: format!("not valid YAML: {}", error.info()),
            }),
            None => Err(self.fail("not valid YAML: the text ends too early")),
        }
    }

    fn fail(&self, reason: impl Into<String>) -> YamlError {
        YamlError {
            line: self.last_line,
            reason: reason.into(),
        }
    }

    fn document(&mut self) -> Result<Option<Node>, YamlError> {
        let mut root = None;
        loop {
            match self.next()?.0 {
                Event::StreamStart | Event::DocumentEnd => {}
                Event::DocumentStart(_) if root.is_some() => {
                    return Err(self.fail("a config holds one YAML document, not several"));
                }
                Event::DocumentStart(_) => {
                    let (event, span) = self.next()?;
                    root = Some(self.node(event, span, 0)?);
                }
                Event::StreamEnd => return Ok(root),
                _ => return Err(self.fail("not valid YAML: unexpected event")),
            }
        }
    }

    fn count(&mut self, added: usize) -> Result<(), YamlError> {
        self.nodes += added;
        if self.nodes > MAX_NODES {
            return Err(self.fail(format!(
                "more than {MAX_NODES} nodes (aliases expanded); a config is not that big"
            )));
        }
        Ok(())
    }

    fn node(&mut self, event: Event<'a>, span: Span, depth: usize) -> Result<Node, YamlError> {
        let line = span.start.line();
        if depth > MAX_DEPTH {
            return Err(self.fail(format!("nested more than {MAX_DEPTH} levels deep")));
        }
        let (value, anchor) = match event {
            Event::Scalar(text, style, anchor, tag) => {
                let plain = style == ScalarStyle::Plain
                    && !tag.is_some_and(|tag| tag.is_yaml_core_schema() && tag.suffix == "str");
                let value = if plain {
                    resolve_plain(&text)
                } else {
                    Yaml::Str(text.into_owned())
                };
                (value, anchor)
            }
            Event::SequenceStart(anchor, _) => (self.sequence(depth)?, anchor),
            Event::MappingStart(anchor, _) => (self.mapping(depth)?, anchor),
            Event::Alias(id) => {
                let node = self
                    .anchors
                    .get(&id)
                    .cloned()
                    .ok_or_else(|| self.fail("an alias to an unknown anchor"))?;
                self.count(size(&node))?;
                return Ok(node);
            }
            _ => return Err(self.fail("not valid YAML: unexpected event")),
        };
        self.count(1)?;
        let node = Node { line, value };
        if anchor > 0 {
            self.anchors.insert(anchor, node.clone());
        }
        Ok(node)
    }

    fn sequence(&mut self, depth: usize) -> Result<Yaml, YamlError> {
        let mut items = Vec::new();
        loop {
            match self.next()? {
                (Event::SequenceEnd, _) => return Ok(Yaml::Seq(items)),
                (event, span) => items.push(self.node(event, span, depth + 1)?),
            }
        }
    }

    fn mapping(&mut self, depth: usize) -> Result<Yaml, YamlError> {
        let mut entries: Vec<(Key, Node)> = Vec::new();
        let mut merged: Vec<(Key, Node)> = Vec::new();
        loop {
            let (event, span) = match self.next()? {
                (Event::MappingEnd, _) => break,
                other => other,
            };
            let merge =
                matches!(&event, Event::Scalar(text, ScalarStyle::Plain, _, _) if text == "<<");
            let key = self.node(event, span, depth + 1)?;
            let (event, span) = self.next()?;
            let value = self.node(event, span, depth + 1)?;
            if merge {
                merged.extend(self.merge_entries(value)?);
                continue;
            }
            let text = key_text(&key).ok_or_else(|| YamlError {
                line: key.line,
                reason: "a mapping key must be a plain value, not a list or mapping".into(),
            })?;
            if let Some((first, _)) = entries.iter().find(|(k, _)| k.text == text) {
                return Err(YamlError {
                    line: key.line,
                    reason: format!(
                        "key '{text}' appears twice (lines {} and {})",
                        first.line, key.line
                    ),
                });
            }
            entries.push((
                Key {
                    text,
                    line: key.line,
                },
                value,
            ));
        }
        // PyYAML: keys of the mapping itself win over merged ones.
        for (key, value) in merged {
            if !entries.iter().any(|(k, _)| k.text == key.text) {
                entries.push((key, value));
            }
        }
        Ok(Yaml::Map(entries))
    }

    /// The entries a `<<` value brings: a mapping, or a list of mappings (earlier wins).
    fn merge_entries(&self, value: Node) -> Result<Vec<(Key, Node)>, YamlError> {
        let fail = || YamlError {
            line: value.line,
            reason: "'<<' (merge) takes a mapping or a list of mappings".into(),
        };
        let maps = match value.value.clone() {
            Yaml::Map(entries) => vec![entries],
            Yaml::Seq(items) => items
                .into_iter()
                .map(|item| match item.value {
                    Yaml::Map(entries) => Ok(entries),
                    _ => Err(fail()),
                })
                .collect::<Result<_, _>>()?,
            _ => return Err(fail()),
        };
        let mut out: Vec<(Key, Node)> = Vec::new();
        for (key, node) in maps.into_iter().flatten() {
            if !out.iter().any(|(k, _)| k.text == key.text) {
                out.push((key, node));
            }
        }
        Ok(out)
    }
}

/// How many nodes `node` holds (itself included).
fn size(node: &Node) -> usize {
    1 + match &node.value {
        Yaml::Seq(items) => items.iter().map(size).sum(),
        Yaml::Map(entries) => entries.iter().map(|(_, value)| 1 + size(value)).sum(),
        _ => 0,
    }
}

/// Python's `str()` of a scalar key.
fn key_text(key: &Node) -> Option<String> {
    Some(match &key.value {
        Yaml::Null => "None".into(),
        Yaml::Bool(true) => "True".into(),
        Yaml::Bool(false) => "False".into(),
        Yaml::Int(int) => int.to_string(),
        Yaml::Float(float) => crate::python::float_repr(*float),
        Yaml::Str(text) => text.clone(),
        Yaml::Seq(_) | Yaml::Map(_) => return None,
    })
}

/// A plain scalar by PyYAML's implicit resolvers (YAML 1.1).
pub fn resolve_plain(text: &str) -> Yaml {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Yaml::Null,
        "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            return Yaml::Bool(true)
        }
        "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return Yaml::Bool(false)
        }
        _ => {}
    }
    if let Some(int) = yaml11_int(text) {
        return Yaml::Int(int);
    }
    if let Some(float) = yaml11_float(text) {
        return Yaml::Float(float);
    }
    Yaml::Str(text.to_string())
}

fn split_sign(text: &str) -> (i128, &str) {
    match text.as_bytes().first() {
        Some(b'-') => (-1, &text[1..]),
        Some(b'+') => (1, &text[1..]),
        _ => (1, text),
    }
}

/// PyYAML's int: `0b…`, `0x…`, `0…` (octal), decimal, `1:30` (base 60); `_` allowed.
fn yaml11_int(text: &str) -> Option<i128> {
    let (sign, body) = split_sign(text);
    let digits = |rest: &str, radix: u32| -> Option<i128> {
        let clean: String = rest.chars().filter(|&c| c != '_').collect();
        if clean.is_empty() || !rest.chars().all(|c| c == '_' || c.is_digit(radix)) {
            return None;
        }
        i128::from_str_radix(&clean, radix).ok()
    };
    let magnitude = if let Some(rest) = body.strip_prefix("0b") {
        digits(rest, 2)?
    } else if let Some(rest) = body.strip_prefix("0x") {
        digits(rest, 16)?
    } else if body.contains(':') {
        sexagesimal_int(body)?
    } else if body.len() > 1 && body.starts_with('0') {
        digits(&body[1..], 8)?
    } else if body == "0" {
        0
    } else if body.starts_with(|c: char| c.is_ascii_digit() && c != '0') {
        digits(body, 10)?
    } else {
        return None;
    };
    magnitude.checked_mul(sign)
}

/// `[1-9][0-9_]*(:[0-5]?[0-9])+`
fn sexagesimal_int(body: &str) -> Option<i128> {
    let mut parts = body.split(':');
    let first = parts.next()?;
    if !first.starts_with(|c: char| c.is_ascii_digit() && c != '0')
        || !first.chars().all(|c| c == '_' || c.is_ascii_digit())
    {
        return None;
    }
    let mut value: i128 = first.replace('_', "").parse().ok()?;
    for part in parts {
        value = value
            .checked_mul(60)?
            .checked_add(base60_digit(part)? as i128)?;
    }
    Some(value)
}

/// `[0-5]?[0-9]`
fn base60_digit(part: &str) -> Option<u32> {
    let ok = match part.as_bytes() {
        [d] => d.is_ascii_digit(),
        [t, d] => (b'0'..=b'5').contains(t) && d.is_ascii_digit(),
        _ => false,
    };
    ok.then(|| part.parse().ok()).flatten()
}

/// PyYAML's float: `1.5`, `1.`, `.5`, `1.0e+3` (the exponent needs a dot and a sign),
/// `1:30.5`, `.inf`, `-.Inf`, `.nan`; `_` allowed.
fn yaml11_float(text: &str) -> Option<f64> {
    let body = text.trim_start_matches(['-', '+']);
    let signed = body.len() != text.len();
    if text.len() - body.len() > 1 {
        return None;
    }
    let magnitude = match body {
        ".inf" | ".Inf" | ".INF" => f64::INFINITY,
        ".nan" | ".NaN" | ".NAN" if !signed => f64::NAN,
        _ => {
            let (mantissa, exponent) = match body.find(['e', 'E']) {
                Some(at) => (&body[..at], Some(&body[at + 1..])),
                None => (body, None),
            };
            if exponent.is_some_and(|e| {
                e.len() < 2 || !e.starts_with(['-', '+']) || !is_digits(&e[1..], false)
            }) {
                return None;
            }
            let (whole, fraction) = mantissa.split_once('.')?;
            if !is_digits(fraction, true) {
                return None;
            }
            let fraction = fraction.replace('_', "");
            let fraction = if fraction.is_empty() {
                "0".into()
            } else {
                fraction
            };
            let whole = if whole.is_empty() {
                // '\.[0-9][0-9_]*': no sign, a digit right after the dot.
                if signed || !fraction_starts_with_digit(mantissa) {
                    return None;
                }
                "0".to_string()
            } else if whole.contains(':') {
                if exponent.is_some() {
                    return None;
                }
                sexagesimal_int(whole)?.to_string()
            } else if whole.starts_with(|c: char| c.is_ascii_digit()) && is_digits(whole, true) {
                whole.replace('_', "")
            } else {
                return None;
            };
            let exponent = exponent.map(|e| format!("e{e}")).unwrap_or_default();
            format!("{whole}.{fraction}{exponent}")
                .parse::<f64>()
                .ok()?
        }
    };
    Some(if text.starts_with('-') {
        -magnitude
    } else {
        magnitude
    })
}

fn fraction_starts_with_digit(mantissa: &str) -> bool {
    mantissa[1..].starts_with(|c: char| c.is_ascii_digit())
}

/// Only ASCII digits (and `_` where allowed).
fn is_digits(text: &str, underscores: bool) -> bool {
    text.chars()
        .all(|c| c.is_ascii_digit() || (underscores && c == '_'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(text: &str) -> Yaml {
        parse(text).unwrap().unwrap().value
    }

    fn map(text: &str) -> Vec<(String, Yaml)> {
        match value(text) {
            Yaml::Map(entries) => entries
                .into_iter()
                .map(|(k, v)| (k.text, v.value))
                .collect(),
            other => panic!("not a mapping: {other:?}"),
        }
    }

    #[test]
    fn plain_scalars_resolve_like_pyyaml() {
        for (text, expected) in [
            ("on", Yaml::Bool(true)),
            ("Off", Yaml::Bool(false)),
            ("YES", Yaml::Bool(true)),
            ("no", Yaml::Bool(false)),
            ("True", Yaml::Bool(true)),
            ("y", Yaml::Str("y".into())),
            ("n", Yaml::Str("n".into())),
            ("~", Yaml::Null),
            ("null", Yaml::Null),
            ("12", Yaml::Int(12)),
            ("-12", Yaml::Int(-12)),
            ("1_000", Yaml::Int(1000)),
            ("0x1f", Yaml::Int(31)),
            ("017", Yaml::Int(15)),
            ("0b101", Yaml::Int(5)),
            ("1:30", Yaml::Int(90)),
            ("0", Yaml::Int(0)),
            ("1.5", Yaml::Float(1.5)),
            ("1.", Yaml::Float(1.0)),
            (".5", Yaml::Float(0.5)),
            ("-2.5", Yaml::Float(-2.5)),
            ("1.0e+3", Yaml::Float(1000.0)),
            ("4.00", Yaml::Float(4.0)),
            ("1e3", Yaml::Str("1e3".into())),
            ("1.0e3", Yaml::Str("1.0e3".into())),
            (".inf", Yaml::Float(f64::INFINITY)),
            ("-.Inf", Yaml::Float(f64::NEG_INFINITY)),
            ("2*{}", Yaml::Str("2*{}".into())),
            ("a.#", Yaml::Str("a.#".into())),
            ("08", Yaml::Str("08".into())),
            ("1.2.3", Yaml::Str("1.2.3".into())),
        ] {
            assert_eq!(resolve_plain(text), expected, "{text}");
        }
        assert!(matches!(resolve_plain(".nan"), Yaml::Float(x) if x.is_nan()));
    }

    #[test]
    fn quoted_scalars_stay_strings() {
        let entries = map("a: on\nb: \"on\"\nc: 'off'\nd: !!str yes\ne: |\n  on\nf: '12'\n");
        assert_eq!(
            entries,
            [
                ("a".into(), Yaml::Bool(true)),
                ("b".into(), Yaml::Str("on".into())),
                ("c".into(), Yaml::Str("off".into())),
                ("d".into(), Yaml::Str("yes".into())),
                ("e".into(), Yaml::Str("on\n".into())),
                ("f".into(), Yaml::Str("12".into())),
            ]
        );
    }

    #[test]
    fn keys_are_python_str_and_order_and_lines_are_kept() {
        let entries = map("z: 1\n1: a\n2.50: b\non: c\n'on': d\n");
        let keys: Vec<&str> = entries.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["z", "1", "2.5", "True", "on"]);
        let Yaml::Map(entries) = value("a: 1\n\nb:\n  - x\n") else {
            panic!()
        };
        assert_eq!((entries[0].0.line, entries[1].0.line), (1, 3));
    }

    #[test]
    fn anchors_aliases_and_merge_keys() {
        let text = "base: &b {get_on_set: true, log_interval: 5}\nep:\n  <<: *b\n  log_interval: 10\nlist: [*b, *b]\n";
        let entries = map(text);
        let Yaml::Map(ep) = &entries[1].1 else {
            panic!()
        };
        let ep: Vec<(&str, &Yaml)> = ep
            .iter()
            .map(|(k, v)| (k.text.as_str(), &v.value))
            .collect();
        assert_eq!(
            ep,
            [
                ("log_interval", &Yaml::Int(10)),
                ("get_on_set", &Yaml::Bool(true))
            ]
        );
    }

    #[test]
    fn hostile_and_broken_documents_are_refused() {
        let laughs = "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n";
        assert!(parse(laughs).unwrap_err().reason.contains("nodes"));
        let deep = format!("{}1{}", "[".repeat(100), "]".repeat(100));
        assert!(parse(&deep)
            .unwrap_err()
            .reason
            .contains("nested more than 64"));
        // saphyr-parser has a recursion limit of its own, deeper than ours.
        let deeper = format!("{}1{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(parse(&deeper)
            .unwrap_err()
            .reason
            .contains("recursion limit"));
        let error = parse("a: 1\nb: [unclosed\n").unwrap_err();
        assert!(error.reason.starts_with("not valid YAML"), "{error}");
        let error = parse("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert_eq!(error.line, 3);
        assert!(error.reason.contains("appears twice (lines 1 and 3)"));
        assert!(parse("a: 1\n---\nb: 2\n")
            .unwrap_err()
            .reason
            .contains("one YAML document"));
        assert_eq!(parse("").unwrap(), None);
        assert_eq!(parse("# only a comment\n").unwrap(), None);
    }
}
