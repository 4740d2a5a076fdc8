//! Conditions on a reply payload, the one implementation `dl-watch --until` and
//! `dl-set --wait-until` share: `value_cal >= 49.5`, `status == 'on' || value_raw < 0.1`.
//!
//! Grammar: comparisons `PATH OP VALUE` joined by `&&` and `||` (`&&` binds tighter), with
//! parentheses. PATH is a dotted path into the payload (`value_cal`, `values.0`); OP one of
//! `< <= == != >= >`; VALUE a number, a quoted string (`'on'` or `"on"`), `true`, `false`,
//! `null`, or a bare word taken as a string.
//!
//! Meaning: a number compares with a number, or with a string that reads as one (dripline-python
//! often sends `value_raw` as `"3.5"`); `==` and `!=` on numbers allow the tolerance given to
//! [`Condition::holds`]. Strings, booleans and null compare with `==` and `!=` only (an
//! ordering against them is refused when parsed). A path the payload does not have makes its
//! comparison false (`!=` too): a condition holds only on values that are there.
//!
//! Parsing refuses, with the column, anything else, and anything over [`MAX_LENGTH`] bytes or
//! [`MAX_DEPTH`] parentheses deep, so that a condition that can never parse fails at start.

use crate::output::select_field;
use serde_json::Value;
use std::fmt;
use std::time::{Duration, Instant};

/// The longest condition accepted, in bytes.
pub const MAX_LENGTH: usize = 4096;
/// The deepest nesting of parentheses accepted.
pub const MAX_DEPTH: usize = 32;

/// A parsed condition.
#[derive(Clone, Debug, PartialEq)]
pub struct Condition {
    text: String,
    tree: Node,
}

/// Why a condition text is not one.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("condition '{text}': {reason} at column {column}")]
pub struct ConditionError {
    /// The condition as given.
    pub text: String,
    /// What is wrong.
    pub reason: String,
    /// Where (1-based, in characters).
    pub column: usize,
}

#[derive(Clone, Debug, PartialEq)]
enum Node {
    Or(Box<Node>, Box<Node>),
    And(Box<Node>, Box<Node>),
    Compare {
        path: String,
        op: Op,
        value: Literal,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Less,
    LessEqual,
    Equal,
    NotEqual,
    GreaterEqual,
    Greater,
}

#[derive(Clone, Debug, PartialEq)]
enum Literal {
    Number(f64),
    Text(String),
    Bool(bool),
    Null,
}

impl Condition {
    /// Parse `text`.
    pub fn parse(text: &str) -> Result<Self, ConditionError> {
        let fail = |reason: &str, column: usize| ConditionError {
            text: text.chars().take(80).collect(),
            reason: reason.to_string(),
            column,
        };
        if text.len() > MAX_LENGTH {
            return Err(fail(&format!("longer than {MAX_LENGTH} bytes"), 1));
        }
        let tokens = tokenize(text).map_err(|(reason, column)| fail(&reason, column))?;
        let mut parser = Parser {
            tokens: &tokens,
            at: 0,
            depth: 0,
            end: text.chars().count() + 1,
        };
        let tree = parser
            .or()
            .map_err(|(reason, column)| fail(&reason, column))?;
        if let Some((token, column)) = parser.peek() {
            return Err(fail(&format!("unexpected {}", token.describe()), column));
        }
        Ok(Condition {
            text: text.to_string(),
            tree,
        })
    }

    /// True when the condition holds for `payload`; `tolerance` is the most two numbers may
    /// differ and still be `==`.
    pub fn holds(&self, payload: &Value, tolerance: f64) -> bool {
        self.tree.holds(payload, tolerance)
    }

    /// The condition as given.
    pub fn text(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::str::FromStr for Condition {
    type Err = ConditionError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Condition::parse(text)
    }
}

impl Node {
    fn holds(&self, payload: &Value, tolerance: f64) -> bool {
        match self {
            Node::Or(left, right) => {
                left.holds(payload, tolerance) || right.holds(payload, tolerance)
            }
            Node::And(left, right) => {
                left.holds(payload, tolerance) && right.holds(payload, tolerance)
            }
            Node::Compare { path, op, value } => match select_field(payload, path) {
                Some(found) => compare(found, *op, value, tolerance),
                None => false,
            },
        }
    }
}

/// True when `found` equals `wanted` as `==` in a condition means it: numbers within
/// `tolerance` (a string that reads as a number counts as one), strings, booleans and null
/// exactly; arrays and objects exactly. What `dl-set --verify` compares the value read back
/// with.
pub fn equals(found: &Value, wanted: &Value, tolerance: f64) -> bool {
    let literal = match wanted {
        Value::Number(number) => match number.as_f64() {
            Some(number) => Literal::Number(number),
            None => return found == wanted,
        },
        Value::String(text) => match text.trim().parse::<f64>() {
            Ok(number) if number.is_finite() => Literal::Number(number),
            _ => Literal::Text(text.clone()),
        },
        Value::Bool(value) => Literal::Bool(*value),
        Value::Null => Literal::Null,
        Value::Array(_) | Value::Object(_) => return found == wanted,
    };
    compare(found, Op::Equal, &literal, tolerance)
}

/// A `--tolerance` flag's value: a finite number, zero or more (a clap value parser).
pub fn parse_tolerance(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(x) if x.is_finite() && x >= 0.0 => Ok(x),
        _ => Err(format!(
            "'{text}' is not a tolerance: a number, zero or more"
        )),
    }
}

/// Whether a condition has held long enough: fed each verdict as it comes, it says yes once
/// the condition held without a break for the stable time (at once when that is zero).
#[derive(Clone, Debug)]
pub struct Hold {
    stable: Duration,
    since: Option<Instant>,
}

impl Hold {
    /// A hold that needs `stable` without a break.
    pub fn new(stable: Duration) -> Self {
        Hold {
            stable,
            since: None,
        }
    }

    /// Record whether the condition holds now; true once it held for the stable time.
    pub fn update(&mut self, holds: bool) -> bool {
        if !holds {
            self.since = None;
            return false;
        }
        let since = *self.since.get_or_insert_with(Instant::now);
        since.elapsed() >= self.stable
    }
}

fn compare(found: &Value, op: Op, literal: &Literal, tolerance: f64) -> bool {
    match literal {
        Literal::Number(wanted) => {
            let number = match found {
                Value::Number(number) => number.as_f64(),
                Value::String(text) => text.trim().parse::<f64>().ok(),
                _ => None,
            };
            let Some(number) = number.filter(|n| n.is_finite()) else {
                return false;
            };
            let equal = (number - wanted).abs() <= tolerance;
            match op {
                Op::Less => number < *wanted,
                Op::LessEqual => number <= *wanted || equal,
                Op::Equal => equal,
                Op::NotEqual => !equal,
                Op::GreaterEqual => number >= *wanted || equal,
                Op::Greater => number > *wanted,
            }
        }
        Literal::Text(wanted) => {
            let equal = found.as_str() == Some(wanted.as_str());
            matches!((op, equal), (Op::Equal, true) | (Op::NotEqual, false))
        }
        Literal::Bool(wanted) => {
            let equal = found.as_bool() == Some(*wanted);
            matches!((op, equal), (Op::Equal, true) | (Op::NotEqual, false))
        }
        Literal::Null => {
            let equal = found.is_null();
            matches!((op, equal), (Op::Equal, true) | (Op::NotEqual, false))
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Word(String),
    Quoted(String),
    Op(Op),
    And,
    Or,
    Open,
    Close,
}

impl Token {
    fn describe(&self) -> String {
        match self {
            Token::Word(word) => format!("'{word}'"),
            Token::Quoted(text) => format!("string '{text}'"),
            Token::Op(_) => "comparison".to_string(),
            Token::And => "'&&'".to_string(),
            Token::Or => "'||'".to_string(),
            Token::Open => "'('".to_string(),
            Token::Close => "')'".to_string(),
        }
    }
}

type Failure = (String, usize);

fn tokenize(text: &str) -> Result<Vec<(Token, usize)>, Failure> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let column = i + 1;
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let two = |token: Token| (token, 2);
        let (token, width) = match (c, next) {
            (c, _) if c.is_whitespace() => {
                i += 1;
                continue;
            }
            ('&', Some('&')) => two(Token::And),
            ('|', Some('|')) => two(Token::Or),
            ('<', Some('=')) => two(Token::Op(Op::LessEqual)),
            ('>', Some('=')) => two(Token::Op(Op::GreaterEqual)),
            ('=', Some('=')) => two(Token::Op(Op::Equal)),
            ('!', Some('=')) => two(Token::Op(Op::NotEqual)),
            ('<', _) => (Token::Op(Op::Less), 1),
            ('>', _) => (Token::Op(Op::Greater), 1),
            ('(', _) => (Token::Open, 1),
            (')', _) => (Token::Close, 1),
            ('\'' | '"', _) => {
                let end = chars[i + 1..]
                    .iter()
                    .position(|&d| d == c)
                    .ok_or_else(|| ("unterminated string".to_string(), column))?;
                let quoted: String = chars[i + 1..i + 1 + end].iter().collect();
                (Token::Quoted(quoted), end + 2)
            }
            (c, _) if is_word_char(c) => {
                let length = chars[i..].iter().take_while(|&&d| is_word_char(d)).count();
                (Token::Word(chars[i..i + length].iter().collect()), length)
            }
            ('=', _) => return Err(("'=' is not a comparison (use '==')".into(), column)),
            (c, _) => return Err((format!("unexpected character '{c}'"), column)),
        };
        tokens.push((token, column));
        i += width;
    }
    Ok(tokens)
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '+')
}

struct Parser<'a> {
    tokens: &'a [(Token, usize)],
    at: usize,
    depth: usize,
    end: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<(&Token, usize)> {
        self.tokens
            .get(self.at)
            .map(|(token, column)| (token, *column))
    }

    fn take(&mut self) -> Option<(Token, usize)> {
        let token = self.tokens.get(self.at).cloned();
        self.at += 1;
        token
    }

    fn or(&mut self) -> Result<Node, Failure> {
        let mut node = self.and()?;
        while let Some((Token::Or, _)) = self.peek() {
            self.at += 1;
            node = Node::Or(Box::new(node), Box::new(self.and()?));
        }
        Ok(node)
    }

    fn and(&mut self) -> Result<Node, Failure> {
        let mut node = self.comparison()?;
        while let Some((Token::And, _)) = self.peek() {
            self.at += 1;
            node = Node::And(Box::new(node), Box::new(self.comparison()?));
        }
        Ok(node)
    }

    fn comparison(&mut self) -> Result<Node, Failure> {
        match self.take() {
            Some((Token::Open, column)) => {
                self.depth += 1;
                if self.depth > MAX_DEPTH {
                    return Err((format!("more than {MAX_DEPTH} parentheses deep"), column));
                }
                let node = self.or()?;
                match self.take() {
                    Some((Token::Close, _)) => {
                        self.depth -= 1;
                        Ok(node)
                    }
                    Some((token, column)) => {
                        Err((format!("expected ')', found {}", token.describe()), column))
                    }
                    None => Err(("expected ')'".into(), self.end)),
                }
            }
            Some((Token::Word(word), column)) => {
                if word.parse::<f64>().is_ok() {
                    return Err((
                        format!("expected a field name (value_cal, value_raw, a.b), found {word}"),
                        column,
                    ));
                }
                if word.split('.').any(str::is_empty) {
                    return Err((format!("'{word}' is not a dotted path"), column));
                }
                let path = word;
                let op = match self.take() {
                    Some((Token::Op(op), _)) => op,
                    Some((token, column)) => {
                        return Err((
                            format!(
                                "expected a comparison (< <= == != >= >), found {}",
                                token.describe()
                            ),
                            column,
                        ))
                    }
                    None => {
                        return Err(("expected a comparison (< <= == != >= >)".into(), self.end))
                    }
                };
                let (value, column) = match self.take() {
                    Some((Token::Word(word), column)) => (literal_of(&word), column),
                    Some((Token::Quoted(text), column)) => (Literal::Text(text), column),
                    Some((token, column)) => {
                        return Err((
                            format!("expected a value, found {}", token.describe()),
                            column,
                        ))
                    }
                    None => return Err(("expected a value".into(), self.end)),
                };
                let ordering = !matches!(op, Op::Equal | Op::NotEqual);
                if ordering && !matches!(value, Literal::Number(_)) {
                    return Err(("only numbers can be ordered (< <= >= >)".into(), column));
                }
                Ok(Node::Compare { path, op, value })
            }
            Some((token, column)) => Err((
                format!("expected a field name, found {}", token.describe()),
                column,
            )),
            None => Err((
                "expected a comparison such as value_cal >= 1".into(),
                self.end,
            )),
        }
    }
}

fn literal_of(word: &str) -> Literal {
    match word {
        "true" => Literal::Bool(true),
        "false" => Literal::Bool(false),
        "null" => Literal::Null,
        _ => match word.parse::<f64>() {
            Ok(number) if number.is_finite() => Literal::Number(number),
            _ => Literal::Text(word.to_string()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn holds(text: &str, payload: Value) -> bool {
        Condition::parse(text).unwrap().holds(&payload, 0.0)
    }

    #[test]
    fn comparisons_on_numbers_and_numeric_strings() {
        let payload = json!({"value_cal": 49.6, "value_raw": "3.5"});
        assert!(holds("value_cal >= 49.5", payload.clone()));
        assert!(!holds("value_cal < 49.5", payload.clone()));
        assert!(holds("value_raw == 3.5", payload.clone()));
        assert!(holds("value_raw > 3", payload.clone()));
        assert!(holds("value_cal != 1", payload.clone()));
        assert!(!holds("missing == 1", payload.clone()));
        assert!(!holds("missing != 1", payload));
    }

    #[test]
    fn tolerance_widens_equality() {
        let condition = Condition::parse("value_cal == 50").unwrap();
        assert!(!condition.holds(&json!({"value_cal": 49.9}), 0.0));
        assert!(condition.holds(&json!({"value_cal": 49.9}), 0.2));
        let unequal = Condition::parse("value_cal != 50").unwrap();
        assert!(!unequal.holds(&json!({"value_cal": 49.9}), 0.2));
    }

    #[test]
    fn strings_booleans_paths_and_logic() {
        let payload = json!({"value_cal": "on", "values": [1, {"ok": true}], "n": null});
        assert!(holds("value_cal == on", payload.clone()));
        assert!(holds("value_cal == 'on'", payload.clone()));
        assert!(holds("value_cal != \"off\"", payload.clone()));
        assert!(holds("values.1.ok == true", payload.clone()));
        assert!(holds("n == null", payload.clone()));
        assert!(holds("values.0 == 2 || values.0 == 1", payload.clone()));
        assert!(!holds("values.0 == 1 && value_cal == off", payload.clone()));
        // && binds tighter than ||.
        assert!(holds(
            "values.0 == 1 || values.0 == 2 && n == 1",
            payload.clone()
        ));
        assert!(!holds(
            "(values.0 == 1 || values.0 == 2) && n == 1",
            payload
        ));
    }

    #[test]
    fn bad_conditions_name_the_column() {
        let error = Condition::parse("value_cal >= ").unwrap_err();
        assert_eq!(error.reason, "expected a value");
        assert_eq!(error.column, 14);
        assert_eq!(Condition::parse("value_cal = 1").unwrap_err().column, 11);
        assert!(Condition::parse("value_cal >= on")
            .unwrap_err()
            .reason
            .contains("numbers"));
        assert!(Condition::parse("").is_err());
        assert!(Condition::parse("1 < value_cal").is_err());
        assert!(Condition::parse("a == 'b")
            .unwrap_err()
            .reason
            .contains("unterminated"));
        assert!(Condition::parse("a == 1 b == 2").is_err());
        assert!(Condition::parse("(a == 1").is_err());
        assert!(Condition::parse("a..b == 1").is_err());
    }

    #[test]
    fn equality_of_a_value_set_and_read_back() {
        assert!(equals(&json!(3.5), &json!(3.5), 0.0));
        assert!(equals(&json!("3.5"), &json!(3.5), 0.0));
        assert!(equals(&json!(3.5), &json!("3.5"), 0.0));
        assert!(equals(&json!(49.9), &json!(50), 0.2));
        assert!(!equals(&json!(49.9), &json!(50), 0.0));
        assert!(equals(&json!("on"), &json!("on"), 0.0));
        assert!(!equals(&json!("on"), &json!("off"), 0.0));
        assert!(equals(&json!(true), &json!(true), 0.0));
        assert!(equals(&json!([1, 2]), &json!([1, 2]), 0.0));
    }

    #[test]
    fn a_hold_needs_the_stable_time_without_a_break() {
        let mut hold = Hold::new(Duration::ZERO);
        assert!(!hold.update(false));
        assert!(hold.update(true));
        let mut hold = Hold::new(Duration::from_millis(50));
        assert!(!hold.update(true));
        std::thread::sleep(Duration::from_millis(60));
        assert!(!hold.update(false), "a break starts over");
        assert!(!hold.update(true));
        std::thread::sleep(Duration::from_millis(60));
        assert!(hold.update(true));
    }

    #[test]
    fn hostile_conditions_are_refused_not_overflowed() {
        let deep = format!("{}a == 1{}", "(".repeat(100_000), ")".repeat(100_000));
        assert!(Condition::parse(&deep)
            .unwrap_err()
            .reason
            .contains("longer"));
        let nested = format!("{}a == 1{}", "(".repeat(40), ")".repeat(40));
        assert!(Condition::parse(&nested)
            .unwrap_err()
            .reason
            .contains("deep"));
        let error = Condition::parse("a == 1 \u{1b}").unwrap_err();
        assert!(error.reason.contains("unexpected character"));
    }
}
