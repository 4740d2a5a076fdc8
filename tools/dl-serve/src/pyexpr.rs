//! A small, safe evaluator of Python arithmetic expressions, standing in for the `asteval`
//! interpreter dripline-python runs calibration strings through.
//!
//! Supported: int and float literals (`2`, `1.`, `.5`, `1e-3`), `True`/`False`/`None`, the
//! constants `pi` and `e`, `+ - * / // % **`, unary `+`/`-`, parentheses, and the functions
//! `abs`, `min`, `max`, `round`, `pow`, `int`, `float`, `sqrt`, `exp`, `log`, `log10`, `log2`,
//! `sin`, `cos`, `tan`, `asin`, `acos`, `atan`.
//!
//! Python semantics: ints stay ints (`2*3` is `6`, not `6.0`); `/` is true division; `//`
//! and `%` floor towards −∞; `**` is right-associative and binds tighter than a unary minus
//! on its left (`-2**2` is `-4`); `round` rounds half to even and returns an int; a bool in
//! arithmetic is 0/1. Errors carry Python's exception text (`NameError: name 'times3' is not
//! defined`, `ZeroDivisionError: division by zero`, …); like asteval, callers treat an error
//! as "no result".
//!
//! Limits: calibration strings come from a config file, but the raw value pasted into them
//! comes from any request on the mesh, so evaluation is bounded. A source longer than
//! [`MAX_SOURCE_CHARS`] or nested deeper than [`MAX_DEPTH`] (parentheses, unary signs, `**`
//! chains, calls) is refused with [`EvalError::Limit`] before any deep recursion; the work is
//! linear in the source length (one pass over the tokens, `pow(a, b, m)` capped at 100 000
//! steps). dripline-python's asteval would overflow its stack on 50 000 `(`; we refuse.

use std::fmt;

/// The longest expression evaluated, in characters: room for a calibration string with its
/// placeholders filled by the longest raw value a calibration admits (1 Mi characters each).
pub const MAX_SOURCE_CHARS: usize = 8 << 20;

/// The deepest nesting evaluated: parentheses, call arguments, unary `+`/`-` and `**`
/// exponents each count one level. Python's own parser stops at 200 parentheses.
pub const MAX_DEPTH: usize = 100;

/// A Python value produced by an expression.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum PyValue {
    /// `int` (ours are 128-bit; beyond that is an OverflowError).
    Int(i128),
    /// `float`.
    Float(f64),
    /// `bool`.
    Bool(bool),
    /// `None`.
    None,
}

/// Why an expression has no value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EvalError {
    /// A Python exception, name and message: `NameError: name 'x' is not defined`. Like
    /// asteval, callers treat it as "no result".
    Python(String),
    /// The expression is beyond the evaluator's limits ([`MAX_SOURCE_CHARS`],
    /// [`MAX_DEPTH`]); callers refuse the value that made it so.
    Limit(String),
}

impl fmt::Display for EvalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EvalError::Python(text) | EvalError::Limit(text) => f.write_str(text),
        }
    }
}

impl std::error::Error for EvalError {}

fn error(kind: &str, message: impl fmt::Display) -> EvalError {
    EvalError::Python(format!("{kind}: {message}"))
}

fn syntax() -> EvalError {
    error("SyntaxError", "invalid syntax")
}

/// Evaluate `source`.
pub fn evaluate(source: &str) -> Result<PyValue, EvalError> {
    let length = source.chars().count();
    if length > MAX_SOURCE_CHARS {
        return Err(EvalError::Limit(format!(
            "the expression is {length} characters long (at most {MAX_SOURCE_CHARS})"
        )));
    }
    let tokens = tokenize(source)?;
    let mut parser = Parser {
        tokens,
        pos: 0,
        depth: 0,
    };
    if parser.tokens.is_empty() {
        return Ok(PyValue::None);
    }
    let value = parser.expression()?;
    if parser.pos != parser.tokens.len() {
        return Err(syntax());
    }
    Ok(value)
}

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Int(i128),
    Float(f64),
    Name(String),
    Op(&'static str),
}

fn tokenize(source: &str) -> Result<Vec<Token>, EvalError> {
    let chars: Vec<char> = source.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c.is_ascii_digit() || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit)) {
            let (token, end) = number(&chars, i)?;
            tokens.push(token);
            i = end;
            continue;
        }
        if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            tokens.push(Token::Name(chars[start..i].iter().collect()));
            continue;
        }
        let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
        let op = match two.as_str() {
            "**" => Some("**"),
            "//" => Some("//"),
            _ => None,
        };
        if let Some(op) = op {
            tokens.push(Token::Op(op));
            i += 2;
            continue;
        }
        let op = match c {
            '+' => "+",
            '-' => "-",
            '*' => "*",
            '/' => "/",
            '%' => "%",
            '(' => "(",
            ')' => ")",
            ',' => ",",
            _ => return Err(syntax()),
        };
        tokens.push(Token::Op(op));
        i += 1;
    }
    Ok(tokens)
}

/// The number literal starting at `chars[start]`, and where it ends.
fn number(chars: &[char], start: usize) -> Result<(Token, usize), EvalError> {
    let digits_from = |mut i: usize| {
        while i < chars.len() && chars[i].is_ascii_digit() {
            i += 1;
        }
        i
    };
    let mut i = digits_from(start);
    let mut is_float = false;
    if chars.get(i) == Some(&'.') {
        is_float = true;
        i = digits_from(i + 1);
    }
    if matches!(chars.get(i), Some('e' | 'E')) {
        let mut j = i + 1;
        if matches!(chars.get(j), Some('+' | '-')) {
            j += 1;
        }
        if !chars.get(j).is_some_and(char::is_ascii_digit) {
            return Err(syntax());
        }
        is_float = true;
        i = digits_from(j);
    }
    if chars
        .get(i)
        .is_some_and(|&c| c.is_alphanumeric() || c == '_')
    {
        return Err(syntax());
    }
    let text: String = chars[start..i].iter().collect();
    if is_float {
        let value: f64 = text.parse().map_err(|_| syntax())?;
        return Ok((Token::Float(value), i));
    }
    if text.len() > 1 && text.starts_with('0') && text.chars().any(|d| d != '0') {
        return Err(error(
            "SyntaxError",
            "leading zeros in decimal integer literals are not permitted",
        ));
    }
    let value: i128 = text
        .parse()
        .map_err(|_| error("OverflowError", "integer too large"))?;
    Ok((Token::Int(value), i))
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    /// How many `factor`s are open: every recursive path of the grammar passes through one.
    depth: usize,
}

impl Parser {
    fn peek_op(&self) -> Option<&'static str> {
        match self.tokens.get(self.pos) {
            Some(Token::Op(op)) => Some(op),
            _ => None,
        }
    }

    fn eat(&mut self, op: &str) -> bool {
        if self.peek_op() == Some(op) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// arith: term (('+' | '-') term)*
    fn expression(&mut self) -> Result<PyValue, EvalError> {
        let mut left = self.term()?;
        loop {
            if self.eat("+") {
                left = add(left, self.term()?)?;
            } else if self.eat("-") {
                left = sub(left, self.term()?)?;
            } else {
                return Ok(left);
            }
        }
    }

    /// term: factor (('*' | '/' | '//' | '%') factor)*
    fn term(&mut self) -> Result<PyValue, EvalError> {
        let mut left = self.factor()?;
        loop {
            if self.eat("*") {
                left = mul(left, self.factor()?)?;
            } else if self.eat("/") {
                left = true_div(left, self.factor()?)?;
            } else if self.eat("//") {
                left = floor_div(left, self.factor()?)?;
            } else if self.eat("%") {
                left = modulo(left, self.factor()?)?;
            } else {
                return Ok(left);
            }
        }
    }

    /// factor: ('+' | '-') factor | power — and the depth guard, since every recursion of
    /// the grammar (parentheses, arguments, signs, exponents) comes through here.
    fn factor(&mut self) -> Result<PyValue, EvalError> {
        if self.depth >= MAX_DEPTH {
            return Err(EvalError::Limit(format!(
                "the expression is nested more than {MAX_DEPTH} levels deep"
            )));
        }
        self.depth += 1;
        let value = self.signed();
        self.depth -= 1;
        value
    }

    fn signed(&mut self) -> Result<PyValue, EvalError> {
        if self.eat("-") {
            return neg(self.factor()?);
        }
        if self.eat("+") {
            return pos(self.factor()?);
        }
        self.power()
    }

    /// power: call ['**' factor]
    fn power(&mut self) -> Result<PyValue, EvalError> {
        let base = self.call()?;
        if self.eat("**") {
            let exponent = self.factor()?;
            return power(base, exponent);
        }
        Ok(base)
    }

    /// call: atom | NAME '(' args ')'
    fn call(&mut self) -> Result<PyValue, EvalError> {
        match self.tokens.get(self.pos).cloned() {
            Some(Token::Int(value)) => {
                self.pos += 1;
                Ok(PyValue::Int(value))
            }
            Some(Token::Float(value)) => {
                self.pos += 1;
                Ok(PyValue::Float(value))
            }
            Some(Token::Name(name)) => {
                self.pos += 1;
                if self.eat("(") {
                    let mut args = Vec::new();
                    if !self.eat(")") {
                        loop {
                            args.push(self.expression()?);
                            if self.eat(")") {
                                break;
                            }
                            if !self.eat(",") {
                                return Err(syntax());
                            }
                            if self.eat(")") {
                                break;
                            }
                        }
                    }
                    call_function(&name, &args)
                } else {
                    if self.peek_op().is_none() && self.pos < self.tokens.len() {
                        return Err(syntax());
                    }
                    name_value(&name)
                }
            }
            Some(Token::Op("(")) => {
                self.pos += 1;
                let value = self.expression()?;
                if !self.eat(")") {
                    return Err(syntax());
                }
                Ok(value)
            }
            _ => Err(syntax()),
        }
    }
}

fn name_value(name: &str) -> Result<PyValue, EvalError> {
    match name {
        "True" => Ok(PyValue::Bool(true)),
        "False" => Ok(PyValue::Bool(false)),
        "None" => Ok(PyValue::None),
        "pi" => Ok(PyValue::Float(std::f64::consts::PI)),
        "e" => Ok(PyValue::Float(std::f64::consts::E)),
        _ => Err(error("NameError", format!("name '{name}' is not defined"))),
    }
}

/// A number as Python arithmetic sees it: bools are ints.
#[derive(Clone, Copy)]
enum Num {
    Int(i128),
    Float(f64),
}

fn type_name(value: PyValue) -> &'static str {
    match value {
        PyValue::Int(_) => "int",
        PyValue::Float(_) => "float",
        PyValue::Bool(_) => "bool",
        PyValue::None => "NoneType",
    }
}

fn num(value: PyValue, op: &str, other: PyValue) -> Result<Num, EvalError> {
    match value {
        PyValue::Int(int) => Ok(Num::Int(int)),
        PyValue::Bool(flag) => Ok(Num::Int(i128::from(flag))),
        PyValue::Float(float) => Ok(Num::Float(float)),
        PyValue::None => Err(error(
            "TypeError",
            format!(
                "unsupported operand type(s) for {op}: '{}' and '{}'",
                type_name(value),
                type_name(other)
            ),
        )),
    }
}

fn pair(a: PyValue, b: PyValue, op: &str) -> Result<(Num, Num), EvalError> {
    Ok((num(a, op, b)?, num(b, op, a)?))
}

fn as_f64(n: Num) -> f64 {
    match n {
        Num::Int(int) => int as f64,
        Num::Float(float) => float,
    }
}

fn overflow() -> EvalError {
    error("OverflowError", "integer result too large")
}

fn float_result(x: f64) -> Result<PyValue, EvalError> {
    Ok(PyValue::Float(x))
}

fn add(a: PyValue, b: PyValue) -> Result<PyValue, EvalError> {
    match pair(a, b, "+")? {
        (Num::Int(x), Num::Int(y)) => x.checked_add(y).map(PyValue::Int).ok_or_else(overflow),
        (x, y) => float_result(as_f64(x) + as_f64(y)),
    }
}

fn sub(a: PyValue, b: PyValue) -> Result<PyValue, EvalError> {
    match pair(a, b, "-")? {
        (Num::Int(x), Num::Int(y)) => x.checked_sub(y).map(PyValue::Int).ok_or_else(overflow),
        (x, y) => float_result(as_f64(x) - as_f64(y)),
    }
}

fn mul(a: PyValue, b: PyValue) -> Result<PyValue, EvalError> {
    match pair(a, b, "*")? {
        (Num::Int(x), Num::Int(y)) => x.checked_mul(y).map(PyValue::Int).ok_or_else(overflow),
        (x, y) => float_result(as_f64(x) * as_f64(y)),
    }
}

fn zero_division(what: &str) -> EvalError {
    error("ZeroDivisionError", what)
}

fn true_div(a: PyValue, b: PyValue) -> Result<PyValue, EvalError> {
    let (x, y) = pair(a, b, "/")?;
    let (x, y) = (as_f64(x), as_f64(y));
    if y == 0.0 {
        return Err(zero_division(match (a, b) {
            (PyValue::Float(_), _) | (_, PyValue::Float(_)) => "float division by zero",
            _ => "division by zero",
        }));
    }
    float_result(x / y)
}

/// Python's float divmod (Objects/floatobject.c).
fn float_divmod(vx: f64, wx: f64) -> (f64, f64) {
    let mut m = vx % wx;
    let mut div = (vx - m) / wx;
    if m != 0.0 {
        if (wx < 0.0) != (m < 0.0) {
            m += wx;
            div -= 1.0;
        }
    } else {
        m = 0.0f64.copysign(wx);
    }
    let floordiv = if div != 0.0 {
        let mut f = div.floor();
        if div - f > 0.5 {
            f += 1.0;
        }
        f
    } else {
        0.0f64.copysign(vx / wx)
    };
    (floordiv, m)
}

fn int_divmod(x: i128, y: i128) -> Result<(i128, i128), EvalError> {
    let mut q = x.checked_div(y).ok_or_else(overflow)?;
    let mut r = x % y;
    if r != 0 && ((r < 0) != (y < 0)) {
        q -= 1;
        r += y;
    }
    Ok((q, r))
}

fn floor_div(a: PyValue, b: PyValue) -> Result<PyValue, EvalError> {
    match pair(a, b, "//")? {
        (Num::Int(_), Num::Int(0)) => Err(zero_division("integer division or modulo by zero")),
        (Num::Int(x), Num::Int(y)) => Ok(PyValue::Int(int_divmod(x, y)?.0)),
        (x, y) => {
            let (x, y) = (as_f64(x), as_f64(y));
            if y == 0.0 {
                return Err(zero_division("float floor division by zero"));
            }
            float_result(float_divmod(x, y).0)
        }
    }
}

fn modulo(a: PyValue, b: PyValue) -> Result<PyValue, EvalError> {
    match pair(a, b, "%")? {
        (Num::Int(_), Num::Int(0)) => Err(zero_division("integer modulo by zero")),
        (Num::Int(x), Num::Int(y)) => Ok(PyValue::Int(int_divmod(x, y)?.1)),
        (x, y) => {
            let (x, y) = (as_f64(x), as_f64(y));
            if y == 0.0 {
                return Err(zero_division("float modulo"));
            }
            float_result(float_divmod(x, y).1)
        }
    }
}

fn power(a: PyValue, b: PyValue) -> Result<PyValue, EvalError> {
    match pair(a, b, "** or pow()")? {
        (Num::Int(x), Num::Int(y)) if y >= 0 => {
            let exponent = u32::try_from(y).map_err(|_| overflow())?;
            x.checked_pow(exponent)
                .map(PyValue::Int)
                .ok_or_else(overflow)
        }
        (x, y) => {
            let (x, y) = (as_f64(x), as_f64(y));
            if x == 0.0 && y < 0.0 {
                return Err(zero_division("0.0 cannot be raised to a negative power"));
            }
            if x < 0.0 && y.fract() != 0.0 && y.is_finite() {
                return Err(error(
                    "ValueError",
                    "complex result from a negative number raised to a fractional power",
                ));
            }
            let result = x.powf(y);
            if result.is_infinite() && x.is_finite() && y.is_finite() {
                return Err(error(
                    "OverflowError",
                    "(34, 'Numerical result out of range')",
                ));
            }
            float_result(result)
        }
    }
}

fn neg(a: PyValue) -> Result<PyValue, EvalError> {
    match num(a, "unary -", a)? {
        Num::Int(x) => x.checked_neg().map(PyValue::Int).ok_or_else(overflow),
        Num::Float(x) => float_result(-x),
    }
}

fn pos(a: PyValue) -> Result<PyValue, EvalError> {
    match num(a, "unary +", a)? {
        Num::Int(x) => Ok(PyValue::Int(x)),
        Num::Float(x) => float_result(x),
    }
}

fn arity(name: &str, args: &[PyValue], min: usize, max: usize) -> Result<(), EvalError> {
    if args.len() < min || args.len() > max {
        let expected = if min == max {
            format!("exactly {min}")
        } else {
            format!("{min} to {max}")
        };
        return Err(error(
            "TypeError",
            format!("{name}() takes {expected} arguments ({} given)", args.len()),
        ));
    }
    Ok(())
}

fn float_arg(name: &str, value: PyValue) -> Result<f64, EvalError> {
    match num(value, name, value) {
        Ok(n) => Ok(as_f64(n)),
        Err(_) => Err(error(
            "TypeError",
            format!("must be real number, not {}", type_name(value)),
        )),
    }
}

fn math_domain() -> EvalError {
    error("ValueError", "math domain error")
}

fn unary_math(name: &str, args: &[PyValue], f: fn(f64) -> f64) -> Result<PyValue, EvalError> {
    arity(name, args, 1, 1)?;
    let x = float_arg(name, args[0])?;
    let result = f(x);
    if result.is_nan() && !x.is_nan() {
        return Err(math_domain());
    }
    if result.is_infinite() && x.is_finite() {
        return Err(error("OverflowError", "math range error"));
    }
    float_result(result)
}

fn compare(a: PyValue, b: PyValue, name: &str) -> Result<std::cmp::Ordering, EvalError> {
    let (x, y) = pair(a, b, name)?;
    let ordering = match (x, y) {
        (Num::Int(x), Num::Int(y)) => x.cmp(&y),
        (x, y) => as_f64(x)
            .partial_cmp(&as_f64(y))
            .unwrap_or(std::cmp::Ordering::Equal),
    };
    Ok(ordering)
}

fn round_half_even(x: f64) -> f64 {
    let rounded = x.round();
    if (x - x.trunc()).abs() == 0.5 {
        2.0 * (x / 2.0).round()
    } else {
        rounded
    }
}

fn float_to_int(x: f64) -> Result<i128, EvalError> {
    if x.is_nan() {
        return Err(error("ValueError", "cannot convert float NaN to integer"));
    }
    if x.is_infinite() || x.abs() >= 1.7e38 {
        return Err(error(
            "OverflowError",
            "cannot convert float infinity to integer",
        ));
    }
    Ok(x as i128)
}

/// A call of one of the supported functions (the module doc lists them).
fn call_function(name: &str, args: &[PyValue]) -> Result<PyValue, EvalError> {
    match name {
        "abs" => abs(args),
        "min" | "max" => min_max(name, args),
        "round" => round(args),
        "pow" => pow(args),
        "int" => int(args),
        "float" => {
            arity(name, args, 0, 1)?;
            match args.first() {
                None => float_result(0.0),
                Some(&value) => float_result(float_arg(name, value)?),
            }
        }
        "sqrt" => unary_math(name, args, f64::sqrt),
        "exp" => unary_math(name, args, f64::exp),
        "log" => log(args),
        "log10" | "log2" => {
            arity(name, args, 1, 1)?;
            let x = positive(name, args[0])?;
            float_result(if name == "log10" { x.log10() } else { x.log2() })
        }
        "sin" => unary_math(name, args, f64::sin),
        "cos" => unary_math(name, args, f64::cos),
        "tan" => unary_math(name, args, f64::tan),
        "asin" => unary_math(name, args, f64::asin),
        "acos" => unary_math(name, args, f64::acos),
        "atan" => unary_math(name, args, f64::atan),
        "True" | "False" | "None" | "pi" | "e" => Err(error(
            "TypeError",
            format!("'{}' object is not callable", type_name(name_value(name)?)),
        )),
        _ => Err(error("NameError", format!("name '{name}' is not defined"))),
    }
}

fn abs(args: &[PyValue]) -> Result<PyValue, EvalError> {
    arity("abs", args, 1, 1)?;
    match num(args[0], "abs()", args[0])? {
        Num::Int(x) => x.checked_abs().map(PyValue::Int).ok_or_else(overflow),
        Num::Float(x) => float_result(x.abs()),
    }
}

/// `min`/`max` of two or more numbers (the first of equals wins, as in Python).
fn min_max(name: &str, args: &[PyValue]) -> Result<PyValue, EvalError> {
    match args {
        [] => {
            return Err(error(
                "TypeError",
                format!("{name} expected at least 1 argument, got 0"),
            ))
        }
        [only] => {
            return Err(error(
                "TypeError",
                format!("'{}' object is not iterable", type_name(*only)),
            ))
        }
        _ => {}
    }
    let mut best = args[0];
    for &candidate in &args[1..] {
        let ordering = compare(candidate, best, name)?;
        let better = if name == "min" {
            ordering.is_lt()
        } else {
            ordering.is_gt()
        };
        if better {
            best = candidate;
        }
    }
    Ok(best)
}

/// `round(x)` → int, half to even; `round(x, n)` → float for a float `x`.
fn round(args: &[PyValue]) -> Result<PyValue, EvalError> {
    arity("round", args, 1, 2)?;
    let digits = match args.get(1) {
        None | Some(PyValue::None) => None,
        Some(PyValue::Int(n)) => Some(*n),
        Some(PyValue::Bool(b)) => Some(i128::from(*b)),
        Some(other) => {
            return Err(error(
                "TypeError",
                format!(
                    "'{}' object cannot be interpreted as an integer",
                    type_name(*other)
                ),
            ))
        }
    };
    match (num(args[0], "round()", args[0])?, digits) {
        (Num::Int(x), _) => Ok(PyValue::Int(x)),
        (Num::Float(x), None) => Ok(PyValue::Int(float_to_int(round_half_even(x))?)),
        (Num::Float(x), Some(n)) => {
            let n = i32::try_from(n.clamp(-400, 400)).unwrap_or(0);
            let scale = 10f64.powi(n);
            let scaled = x * scale;
            if !scaled.is_finite() {
                return float_result(x);
            }
            float_result(round_half_even(scaled) / scale)
        }
    }
}

/// `pow(x, y)` is `x ** y`; `pow(x, y, m)` is modular, for ints only.
fn pow(args: &[PyValue]) -> Result<PyValue, EvalError> {
    arity("pow", args, 2, 3)?;
    let Some(&modulus) = args.get(2) else {
        return power(args[0], args[1]);
    };
    let ints_only = || {
        error(
            "TypeError",
            "pow() 3rd argument not allowed unless all arguments are integers",
        )
    };
    let (Num::Int(base), Num::Int(exponent)) = pair(args[0], args[1], "pow()")? else {
        return Err(ints_only());
    };
    if exponent < 0 {
        return Err(ints_only());
    }
    let m = match num(modulus, "pow()", modulus)? {
        Num::Int(0) => return Err(error("ValueError", "pow() 3rd argument cannot be 0")),
        Num::Int(m) => m,
        Num::Float(_) => return Err(ints_only()),
    };
    // Bounded work: at most 100 000 multiplications, whatever the exponent.
    let mut result: i128 = 1;
    for _ in 0..exponent.min(100_000) {
        result = int_divmod(result.checked_mul(base).ok_or_else(overflow)?, m)?.1;
    }
    Ok(PyValue::Int(int_divmod(result, m)?.1))
}

/// `int()`, `int(x)`: truncates a float towards zero.
fn int(args: &[PyValue]) -> Result<PyValue, EvalError> {
    arity("int", args, 0, 1)?;
    let Some(&value) = args.first() else {
        return Ok(PyValue::Int(0));
    };
    let number = num(value, "int()", value).map_err(|_| {
        error(
            "TypeError",
            "int() argument must be a string, a bytes-like object or a real number, not 'NoneType'",
        )
    })?;
    match number {
        Num::Int(x) => Ok(PyValue::Int(x)),
        Num::Float(x) => Ok(PyValue::Int(float_to_int(x.trunc())?)),
    }
}

/// `log(x)`, `log(x, base)`.
fn log(args: &[PyValue]) -> Result<PyValue, EvalError> {
    arity("log", args, 1, 2)?;
    let x = positive("log", args[0])?;
    let Some(&base) = args.get(1) else {
        return float_result(x.ln());
    };
    let base = positive("log", base)?;
    if base == 1.0 {
        return Err(zero_division("float division by zero"));
    }
    float_result(x.ln() / base.ln())
}

/// A float argument > 0 (a logarithm's), else Python's "math domain error".
fn positive(name: &str, value: PyValue) -> Result<f64, EvalError> {
    let x = float_arg(name, value)?;
    if x <= 0.0 {
        return Err(math_domain());
    }
    Ok(x)
}

#[cfg(test)]
mod tests {
    use super::*;
    use PyValue::{Bool, Float, Int};

    fn eval(source: &str) -> PyValue {
        evaluate(source).unwrap_or_else(|e| panic!("{source}: {e}"))
    }

    fn fails(source: &str) -> String {
        match evaluate(source).unwrap_err() {
            EvalError::Python(text) => text,
            EvalError::Limit(text) => panic!("{source}: limit, not a Python error: {text}"),
        }
    }

    fn limit(source: &str) -> String {
        match evaluate(source) {
            Err(EvalError::Limit(text)) => text,
            other => panic!(
                "{}…: not refused: {other:?}",
                &source[..20.min(source.len())]
            ),
        }
    }

    #[test]
    fn deep_nesting_and_long_sources_are_refused_not_a_stack_overflow() {
        // The hostile set of issue 10: 50 000 '(' pasted into '2*{}'.
        let hostile = format!("2*{}", "(".repeat(50_000));
        assert!(limit(&hostile).contains("nested more than 100"));
        assert!(limit(&"1".repeat(MAX_SOURCE_CHARS + 1)).contains("characters long"));
        for (open, close) in [("(", ")"), ("-", ""), ("+", ""), ("abs(", ")")] {
            let deep = format!("{}1{}", open.repeat(1_000), close.repeat(1_000));
            assert!(limit(&deep).contains("nested more than 100"), "{open}");
        }
        let towers = format!("2{}", "**2".repeat(1_000));
        assert!(limit(&towers).contains("nested"));
        // Just inside the limits still works: 99 levels of parentheses around a factor.
        let fine = format!("{}1{}", "(".repeat(98), ")".repeat(98));
        assert_eq!(eval(&fine), Int(1));
        assert!(evaluate(&"1+".repeat(4_000).to_string()).is_err());
        assert_eq!(eval(&format!("0{}", "+1".repeat(4_000))), Int(4_000));
    }

    #[test]
    fn ints_stay_ints_floats_stay_floats() {
        assert_eq!(eval("2*3"), Int(6));
        assert_eq!(eval("2*0.75"), Float(1.5));
        assert_eq!(eval("2*3.5"), Float(7.0));
        assert_eq!(eval("1.*4.0"), Float(4.0));
        assert_eq!(eval("1.*4"), Float(4.0));
        assert_eq!(eval("2*500"), Int(1000));
        assert_eq!(eval(".5 + 1e-3"), Float(0.501));
        assert_eq!(eval("1e3"), Float(1000.0));
    }

    #[test]
    fn division_and_modulo_like_python() {
        assert_eq!(eval("7/2"), Float(3.5));
        assert_eq!(eval("6/3"), Float(2.0));
        assert_eq!(eval("7//2"), Int(3));
        assert_eq!(eval("-7//2"), Int(-4));
        assert_eq!(eval("7//-2"), Int(-4));
        assert_eq!(eval("-7%3"), Int(2));
        assert_eq!(eval("7%-3"), Int(-2));
        assert_eq!(eval("-7.5//2"), Float(-4.0));
        assert_eq!(eval("7.0//0.1"), Float(69.0));
        assert_eq!(eval("-7.5%2"), Float(0.5));
        assert_eq!(fails("1/0"), "ZeroDivisionError: division by zero");
        assert_eq!(fails("1.0/0"), "ZeroDivisionError: float division by zero");
        assert_eq!(
            fails("1//0"),
            "ZeroDivisionError: integer division or modulo by zero"
        );
        assert_eq!(fails("5%0"), "ZeroDivisionError: integer modulo by zero");
    }

    #[test]
    fn powers_and_unary_minus() {
        assert_eq!(eval("2**10"), Int(1024));
        assert_eq!(eval("-2**2"), Int(-4));
        assert_eq!(eval("(-2)**2"), Int(4));
        assert_eq!(eval("2**3**2"), Int(512));
        assert_eq!(eval("2**-1"), Float(0.5));
        assert_eq!(eval("4**0.5"), Float(2.0));
        assert_eq!(eval("--3"), Int(3));
        assert_eq!(eval("-(1+2)*3"), Int(-9));
        assert!(fails("(-8)**(1/3)").starts_with("ValueError"));
        assert!(fails("10.0**400").starts_with("OverflowError"));
        assert!(fails("0**-1").starts_with("ZeroDivisionError"));
    }

    #[test]
    fn precedence() {
        assert_eq!(eval("1+2*3"), Int(7));
        assert_eq!(eval("(1+2)*3"), Int(9));
        assert_eq!(eval("10-4-3"), Int(3));
        assert_eq!(eval("2*3%4"), Int(2));
        assert_eq!(eval("100/10/5"), Float(2.0));
    }

    #[test]
    fn functions() {
        assert_eq!(eval("sqrt(16)"), Float(4.0));
        assert_eq!(eval("abs(-3)"), Int(3));
        assert_eq!(eval("abs(-3.5)"), Float(3.5));
        assert_eq!(eval("min(3, 1.5, 2)"), Float(1.5));
        assert_eq!(eval("max(1, 1.0)"), Int(1));
        assert_eq!(eval("round(2.5)"), Int(2));
        assert_eq!(eval("round(3.5)"), Int(4));
        assert_eq!(eval("round(-2.5)"), Int(-2));
        assert_eq!(eval("round(2.567, 2)"), Float(2.57));
        assert_eq!(eval("pow(2, 8)"), Int(256));
        assert_eq!(eval("pow(3, 4, 5)"), Int(1));
        assert_eq!(eval("log10(1000)"), Float(3.0));
        assert_eq!(eval("log(8, 2)"), Float(3.0));
        assert_eq!(eval("exp(0)"), Float(1.0));
        assert_eq!(eval("int(2.9)"), Int(2));
        assert_eq!(eval("int(-2.9)"), Int(-2));
        assert_eq!(eval("float(2)"), Float(2.0));
        assert_eq!(eval("sin(0)"), Float(0.0));
        assert_eq!(eval("cos(0)"), Float(1.0));
        assert_eq!(eval("tan(0)"), Float(0.0));
        assert_eq!(eval("2*pi"), Float(2.0 * std::f64::consts::PI));
        assert_eq!(fails("sqrt(-1)"), "ValueError: math domain error");
        assert_eq!(fails("log(0)"), "ValueError: math domain error");
        assert!(fails("sqrt(1, 2)").starts_with("TypeError"));
    }

    #[test]
    fn names_and_bools() {
        assert_eq!(
            fails("times3(1.75)"),
            "NameError: name 'times3' is not defined"
        );
        assert_eq!(fails("2*abc"), "NameError: name 'abc' is not defined");
        assert_eq!(eval("2*True"), Int(2));
        assert_eq!(eval("True"), Bool(true));
        assert_eq!(eval("None"), PyValue::None);
        assert!(fails("None + 1").starts_with("TypeError"));
    }

    #[test]
    fn syntax_errors() {
        for source in [
            "2*", "2 3", "(1", "1)", "2**", "1..2", "1e", "3x", "f(,)", "a b", "2 * 'x'", "007",
        ] {
            assert!(evaluate(source).is_err(), "{source}");
        }
        assert_eq!(eval(""), PyValue::None);
        assert_eq!(eval("  1 "), Int(1));
        assert_eq!(eval("max(1, 2,)"), Int(2));
    }

    #[test]
    fn integer_overflow_is_an_error_not_a_panic() {
        assert!(fails("2**200").starts_with("OverflowError"));
        assert!(fails("99999999999999999999999999999999999999999999").starts_with("OverflowError"));
        assert!(evaluate("-170141183460469231731687303715884105727 - 10").is_err());
    }
}
