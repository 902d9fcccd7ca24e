//! The parser: tokens to an expression tree, with every literal checked against the type
//! of the path it is compared with (so `duration > 5` is an error, not a silent miss) and
//! every regex compiled once.

use regex::Regex;

use super::lex::{CmpOp, Tok, Token, tokenize};
use super::{Context, ParseError};

/// How deep `(` and `not` may nest; deeper conditions are refused rather than risking
/// the plugin's stack.
const MAX_DEPTH: usize = 64;

/// A field a condition reads.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Path {
    Severity,
    SeverityText,
    Body,
    EventName,
    TraceId,
    SpanId,
    ParentSpanId,
    TraceState,
    Name,
    Kind,
    Status,
    StatusMessage,
    Duration,
    Type,
    Unit,
    Description,
    ScopeName,
    ScopeVersion,
    Attribute(String),
    ResourceAttribute(String),
}

/// What values a path holds, which decides the literals and operators it takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PathType {
    /// Severity numbers, compared with numbers or severity names.
    Severity,
    /// Strings.
    Text,
    /// Bytes shown as lowercase hex (trace and span ids).
    Id,
    /// Anything: attributes and the body.
    Any,
    /// Span kinds, by name.
    Kind,
    /// Status codes, by name.
    Status,
    /// Nanoseconds, compared with durations.
    Duration,
    /// Metric types, by name.
    MetricType,
}

impl Path {
    fn kind(&self) -> PathType {
        match self {
            Path::Severity => PathType::Severity,
            Path::TraceId | Path::SpanId | Path::ParentSpanId => PathType::Id,
            Path::Body | Path::Attribute(_) | Path::ResourceAttribute(_) => PathType::Any,
            Path::Kind => PathType::Kind,
            Path::Status => PathType::Status,
            Path::Duration => PathType::Duration,
            Path::Type => PathType::MetricType,
            _ => PathType::Text,
        }
    }

    /// Whether a condition bound to `context` may read this path.
    pub(crate) fn valid_in(&self, context: Context) -> bool {
        use Path::*;
        match context {
            Context::Log => matches!(
                self,
                Severity
                    | SeverityText
                    | Body
                    | EventName
                    | TraceId
                    | SpanId
                    | Attribute(_)
                    | ResourceAttribute(_)
                    | ScopeName
                    | ScopeVersion
            ),
            Context::Span => matches!(
                self,
                Name | Kind
                    | Status
                    | StatusMessage
                    | Duration
                    | TraceId
                    | SpanId
                    | ParentSpanId
                    | TraceState
                    | Attribute(_)
                    | ResourceAttribute(_)
                    | ScopeName
                    | ScopeVersion
            ),
            Context::Metric => {
                matches!(self, Name | Type | Unit | Description | ResourceAttribute(_) | ScopeName | ScopeVersion)
            }
            Context::DataPoint => matches!(
                self,
                Name | Type | Unit | Description | Attribute(_) | ResourceAttribute(_) | ScopeName | ScopeVersion
            ),
            Context::Resource => matches!(self, ResourceAttribute(_)),
        }
    }
}

/// The paths each context offers, for error messages.
fn paths_of(context: Context) -> &'static str {
    match context {
        Context::Log => {
            "severity, severity_text, body, event_name, trace_id, span_id, attributes[\"k\"], \
             resource.attributes[\"k\"], scope.name, scope.version"
        }
        Context::Span => {
            "name, kind, status, status.message, duration, trace_id, span_id, parent_span_id, trace_state, \
             attributes[\"k\"], resource.attributes[\"k\"], scope.name, scope.version"
        }
        Context::Metric => "name, type, unit, description, resource.attributes[\"k\"], scope.name, scope.version",
        Context::DataPoint => {
            "name, type, unit, description, attributes[\"k\"], resource.attributes[\"k\"], scope.name, \
             scope.version"
        }
        Context::Resource => "resource.attributes[\"k\"]",
    }
}

/// A literal, resolved against the path it is compared with.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Lit {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    /// An inclusive range of integers: a severity name stands for its four numbers
    /// (`ERROR` is 17 to 20).
    Range(i64, i64),
}

/// What a test checks of its path's value.
#[derive(Clone, Debug)]
pub(crate) enum Check {
    Exists,
    Cmp(CmpOp, Lit),
    Matches(Regex),
    Contains(String),
    StartsWith(String),
    In(Vec<Lit>),
}

/// An expression tree.
#[derive(Clone, Debug)]
pub(crate) enum Expr {
    Or(Vec<Expr>),
    And(Vec<Expr>),
    Not(Box<Expr>),
    Test(Path, Check),
}

/// Parses `text` into an expression; with a context, every path must be valid in it.
pub(crate) fn parse(text: &str, context: Option<Context>) -> Result<Expr, ParseError> {
    let tokens = tokenize(text)?;
    let mut parser = Parser { text, tokens, pos: 0, context };
    if parser.peek().tok == Tok::End {
        return Err(ParseError::new(0, "the condition is empty"));
    }
    let expr = parser.expr(0)?;
    let next = parser.peek();
    if next.tok != Tok::End {
        let message = match next.tok {
            Tok::RParen => "found \")\" without a matching \"(\"".to_owned(),
            _ => format!("expected \"and\", \"or\" or the end, found {}", found(next)),
        };
        return Err(ParseError::new(next.at, message));
    }
    Ok(expr)
}

/// How a token reads in a message: `"foo"`, a string as written, or `the end`.
fn found(token: &Token) -> String {
    match token.tok {
        Tok::End => "the end".to_owned(),
        Tok::Str(_) => token.text.clone(),
        _ => format!("\"{}\"", token.text),
    }
}

/// `expected X`, plus `, found Y` unless the text simply ended there.
fn expected(what: &str, token: &Token) -> ParseError {
    match token.tok {
        Tok::End => ParseError::new(token.at, format!("expected {what}")),
        _ => ParseError::new(token.at, format!("expected {what}, found {}", found(token))),
    }
}

fn is_keyword(word: &str) -> bool {
    matches!(word, "and" | "or" | "not" | "exists" | "matches" | "contains" | "starts_with" | "in" | "true" | "false")
}

struct Parser<'t> {
    text: &'t str,
    tokens: Vec<Token>,
    pos: usize,
    context: Option<Context>,
}

impl Parser<'_> {
    fn peek(&self) -> &Token {
        // `tokenize` always ends with `End`, and `bump` never moves past it.
        &self.tokens[self.pos.min(self.tokens.len() - 1)]
    }

    fn bump(&mut self) -> Token {
        let token = self.peek().clone();
        if self.pos + 1 < self.tokens.len() {
            self.pos += 1;
        }
        token
    }

    fn at_word(&self, word: &str) -> bool {
        matches!(&self.peek().tok, Tok::Word(w) if w == word)
    }

    fn expr(&mut self, depth: usize) -> Result<Expr, ParseError> {
        let mut any = vec![self.and(depth)?];
        while self.at_word("or") {
            self.bump();
            any.push(self.and(depth)?);
        }
        Ok(if any.len() == 1 { any.remove(0) } else { Expr::Or(any) })
    }

    fn and(&mut self, depth: usize) -> Result<Expr, ParseError> {
        let mut all = vec![self.unary(depth)?];
        while self.at_word("and") {
            self.bump();
            all.push(self.unary(depth)?);
        }
        Ok(if all.len() == 1 { all.remove(0) } else { Expr::And(all) })
    }

    fn unary(&mut self, depth: usize) -> Result<Expr, ParseError> {
        if depth >= MAX_DEPTH {
            return Err(ParseError::new(self.peek().at, format!("nested more than {MAX_DEPTH} levels deep")));
        }
        if self.at_word("not") {
            self.bump();
            return Ok(Expr::Not(Box::new(self.unary(depth + 1)?)));
        }
        if self.peek().tok == Tok::LParen {
            let open = self.bump();
            let inner = self.expr(depth + 1)?;
            let close = self.peek();
            if close.tok != Tok::RParen {
                let col = super::column(self.text, open.at);
                return Err(expected(&format!("\")\" to close the \"(\" at column {col}"), close));
            }
            self.bump();
            return Ok(inner);
        }
        self.test()
    }

    fn path(&mut self) -> Result<(Path, Token), ParseError> {
        let token = self.peek().clone();
        let Tok::Word(word) = &token.tok else {
            return Err(expected("a field such as severity or attributes[\"key\"]", &token));
        };
        if is_keyword(word) {
            return Err(expected("a field such as severity or attributes[\"key\"]", &token));
        }
        self.bump();
        let keyed = |prefix: &str| word.strip_prefix(prefix).and_then(|rest| rest.strip_prefix('.'));
        let path = match word.as_str() {
            "severity" => Path::Severity,
            "severity_text" => Path::SeverityText,
            "body" => Path::Body,
            "event_name" => Path::EventName,
            "trace_id" => Path::TraceId,
            "span_id" => Path::SpanId,
            "parent_span_id" => Path::ParentSpanId,
            "trace_state" => Path::TraceState,
            "name" => Path::Name,
            "kind" => Path::Kind,
            "status" | "status.code" => Path::Status,
            "status.message" => Path::StatusMessage,
            "duration" => Path::Duration,
            "type" => Path::Type,
            "unit" => Path::Unit,
            "description" => Path::Description,
            "scope.name" => Path::ScopeName,
            "scope.version" => Path::ScopeVersion,
            "attributes" => Path::Attribute(self.bracket_key(&token)?),
            "resource.attributes" => Path::ResourceAttribute(self.bracket_key(&token)?),
            _ => match (keyed("resource.attributes"), keyed("attributes")) {
                (Some(key), _) if !key.is_empty() => Path::ResourceAttribute(key.to_owned()),
                (_, Some(key)) if !key.is_empty() => Path::Attribute(key.to_owned()),
                _ => {
                    let known = match self.context {
                        Some(context) => paths_of(context),
                        None => {
                            "severity, severity_text, body, event_name, name, kind, status, status.message, \
                             duration, trace_id, span_id, parent_span_id, trace_state, type, unit, description, \
                             attributes[\"k\"], resource.attributes[\"k\"], scope.name, scope.version"
                        }
                    };
                    return Err(ParseError::new(
                        token.at,
                        format!("unknown field {}; expected one of {known}", found(&token)),
                    ));
                }
            },
        };
        if let Some(context) = self.context
            && !path.valid_in(context)
        {
            return Err(ParseError::new(
                token.at,
                format!("{} is not a field of {}; use {}", found(&token), context.items(), paths_of(context)),
            ));
        }
        Ok((path, token))
    }

    /// `["key"]` after `attributes`.
    fn bracket_key(&mut self, path: &Token) -> Result<String, ParseError> {
        if self.peek().tok != Tok::LBracket {
            return Err(expected(&format!("[\"key\"] or .key after \"{}\"", path.text), self.peek()));
        }
        self.bump();
        let key = match self.peek().tok.clone() {
            Tok::Str(key) => key,
            _ => return Err(expected("a quoted attribute key", self.peek())),
        };
        self.bump();
        if self.peek().tok != Tok::RBracket {
            return Err(expected("\"]\"", self.peek()));
        }
        self.bump();
        Ok(key)
    }

    fn test(&mut self) -> Result<Expr, ParseError> {
        let (path, path_token) = self.path()?;
        let op = self.bump();
        let check = match &op.tok {
            Tok::Op(cmp) => {
                let cmp = *cmp;
                let value = self.bump();
                if value.tok == Tok::End {
                    return Err(expected(&format!("a value after \"{}\"", cmp.as_str()), &value));
                }
                let lit = literal(&path, &path_token, &value)?;
                check_operator(&path, &path_token, &op, cmp, &lit)?;
                Check::Cmp(cmp, lit)
            }
            Tok::Word(w) if w == "exists" => Check::Exists,
            Tok::Word(w) if matches!(w.as_str(), "matches" | "contains" | "starts_with") => {
                text_only(&path, &path_token, &op)?;
                let value = self.bump();
                let Tok::Str(text) = value.tok.clone() else {
                    let what = if w == "matches" { "a quoted regex" } else { "a quoted string" };
                    return Err(expected(&format!("{what} after \"{w}\""), &value));
                };
                let text = if path.kind() == PathType::Id && w != "matches" { text.to_ascii_lowercase() } else { text };
                match w.as_str() {
                    "matches" => Check::Matches(compile(&text, &value)?),
                    "contains" => Check::Contains(text),
                    _ => Check::StartsWith(text),
                }
            }
            Tok::Word(w) if w == "in" => {
                if self.peek().tok != Tok::LBracket {
                    return Err(expected("\"[\" after \"in\"", self.peek()));
                }
                self.bump();
                let mut list = Vec::new();
                loop {
                    let value = self.bump();
                    if value.tok == Tok::RBracket && list.is_empty() {
                        return Err(ParseError::new(value.at, "the list after \"in\" is empty"));
                    }
                    if value.tok == Tok::End {
                        return Err(expected("a value", &value));
                    }
                    list.push(literal(&path, &path_token, &value)?);
                    let next = self.bump();
                    match next.tok {
                        Tok::Comma => continue,
                        Tok::RBracket => break,
                        _ => return Err(expected("\",\" or \"]\"", &next)),
                    }
                }
                Check::In(list)
            }
            _ => {
                return Err(expected(
                    &format!(
                        "an operator (==, !=, <, <=, >, >=, exists, matches, contains, starts_with, in) after \"{}\"",
                        path_token.text
                    ),
                    &op,
                ));
            }
        };
        Ok(Expr::Test(path, check))
    }
}

/// Refuses `matches`, `contains` and `starts_with` on paths that hold no text.
fn text_only(path: &Path, path_token: &Token, op: &Token) -> Result<(), ParseError> {
    match path.kind() {
        PathType::Text | PathType::Id | PathType::Any => Ok(()),
        _ => Err(ParseError::new(
            op.at,
            format!("\"{}\" takes ==, !=, in or exists, not \"{}\"", path_token.text, op.text),
        )),
    }
}

/// Refuses ordering operators on paths whose values have no order.
fn check_operator(path: &Path, path_token: &Token, op: &Token, cmp: CmpOp, lit: &Lit) -> Result<(), ParseError> {
    let ordered = !matches!(cmp, CmpOp::Eq | CmpOp::Ne);
    let unordered = matches!(path.kind(), PathType::Kind | PathType::Status | PathType::MetricType | PathType::Id)
        || matches!(lit, Lit::Bool(_));
    if ordered && unordered {
        return Err(ParseError::new(
            op.at,
            format!("\"{}\" takes == or !=, not \"{}\"", path_token.text, cmp.as_str()),
        ));
    }
    Ok(())
}

fn compile(pattern: &str, token: &Token) -> Result<Regex, ParseError> {
    Regex::new(pattern).map_err(|e| {
        // The regex crate's messages draw a caret under the pattern over several lines;
        // keep only the line that says what is wrong.
        let text = e.to_string();
        let reason = text
            .lines()
            .find_map(|line| line.trim().strip_prefix("error: "))
            .map_or_else(|| text.lines().last().unwrap_or("").trim().to_owned(), str::to_owned);
        ParseError::new(token.at, format!("invalid regex {}: {reason}", found(token)))
    })
}

/// Names of severities: the first number of each range of four.
fn severity(name: &str) -> Option<i64> {
    Some(match name.to_ascii_uppercase().as_str() {
        "TRACE" => 1,
        "DEBUG" => 5,
        "INFO" => 9,
        "WARN" | "WARNING" => 13,
        "ERROR" => 17,
        "FATAL" => 21,
        _ => return None,
    })
}

fn span_kind(name: &str) -> Option<i64> {
    Some(match name.to_ascii_uppercase().as_str() {
        "INTERNAL" => 1,
        "SERVER" => 2,
        "CLIENT" => 3,
        "PRODUCER" => 4,
        "CONSUMER" => 5,
        _ => return None,
    })
}

fn status_code(name: &str) -> Option<i64> {
    Some(match name.to_ascii_uppercase().as_str() {
        "UNSET" => 0,
        "OK" => 1,
        "ERROR" => 2,
        _ => return None,
    })
}

/// The number a metric type reads as (see `eval::metric_type`).
pub(crate) fn metric_type(name: &str) -> Option<i64> {
    Some(match name.to_ascii_lowercase().as_str() {
        "gauge" => 1,
        "sum" => 2,
        "histogram" => 3,
        "exponential_histogram" => 4,
        "summary" => 5,
        _ => return None,
    })
}

/// Resolves a value token against the path it is compared with.
fn literal(path: &Path, path_token: &Token, value: &Token) -> Result<Lit, ParseError> {
    let name = path_token.text.as_str();
    let wrong =
        |wanted: &str| ParseError::new(value.at, format!("\"{name}\" compares with {wanted}, not {}", found(value)));
    let word = match &value.tok {
        Tok::Word(w) if w == "true" => return bool_literal(path, true, &wrong),
        Tok::Word(w) if w == "false" => return bool_literal(path, false, &wrong),
        Tok::Word(w) if !is_keyword(w) => Some(w.as_str()),
        Tok::Word(_)
        | Tok::End
        | Tok::LParen
        | Tok::RParen
        | Tok::LBracket
        | Tok::RBracket
        | Tok::Comma
        | Tok::Op(_) => {
            return Err(ParseError::new(value.at, format!("expected a value, found {}", found(value))));
        }
        _ => None,
    };
    match path.kind() {
        PathType::Severity => match (&value.tok, word) {
            (Tok::Int(n), _) => Ok(Lit::Int(*n)),
            (_, Some(w)) => severity(w)
                .map(|n| Lit::Range(n, n + 3))
                .ok_or_else(|| wrong("a severity name (TRACE, DEBUG, INFO, WARN, ERROR, FATAL) or an integer")),
            _ => Err(wrong("a severity name (TRACE, DEBUG, INFO, WARN, ERROR, FATAL) or an integer")),
        },
        PathType::Kind => match (&value.tok, word) {
            (Tok::Int(n), _) => Ok(Lit::Int(*n)),
            (_, Some(w)) => span_kind(w)
                .map(Lit::Int)
                .ok_or_else(|| wrong("a span kind (INTERNAL, SERVER, CLIENT, PRODUCER, CONSUMER)")),
            _ => Err(wrong("a span kind (INTERNAL, SERVER, CLIENT, PRODUCER, CONSUMER)")),
        },
        PathType::Status => match (&value.tok, word) {
            (Tok::Int(n), _) => Ok(Lit::Int(*n)),
            (_, Some(w)) => status_code(w).map(Lit::Int).ok_or_else(|| wrong("a status code (UNSET, OK, ERROR)")),
            _ => Err(wrong("a status code (UNSET, OK, ERROR)")),
        },
        PathType::MetricType => match word.and_then(metric_type) {
            Some(n) => Ok(Lit::Int(n)),
            None => Err(wrong("a metric type (gauge, sum, histogram, exponential_histogram, summary)")),
        },
        PathType::Duration => match value.tok {
            Tok::Duration(n) => Ok(Lit::Int(n)),
            _ => Err(wrong("a duration such as 250ms, 2s or 1m")),
        },
        PathType::Text => match &value.tok {
            Tok::Str(s) => Ok(Lit::Str(s.clone())),
            _ => Err(wrong("a quoted string")),
        },
        PathType::Id => match &value.tok {
            Tok::Str(s) if s.bytes().all(|b| b.is_ascii_hexdigit()) => Ok(Lit::Str(s.to_ascii_lowercase())),
            _ => Err(wrong("a quoted hex string such as \"5b8efff798038103\"")),
        },
        PathType::Any => match &value.tok {
            Tok::Str(s) => Ok(Lit::Str(s.clone())),
            Tok::Int(n) => Ok(Lit::Int(*n)),
            Tok::Float(f) => Ok(Lit::Float(*f)),
            Tok::Duration(_) => Err(wrong("a string, a number or true/false (durations are for `duration`)")),
            _ => Err(ParseError::new(
                value.at,
                format!("expected a value, found {}; quote it if it is a string", found(value)),
            )),
        },
    }
}

fn bool_literal(path: &Path, value: bool, wrong: &dyn Fn(&str) -> ParseError) -> Result<Lit, ParseError> {
    match path.kind() {
        PathType::Any => Ok(Lit::Bool(value)),
        PathType::Severity => Err(wrong("a severity name or a number")),
        PathType::Kind => Err(wrong("a span kind")),
        PathType::Status => Err(wrong("a status code")),
        PathType::MetricType => Err(wrong("a metric type")),
        PathType::Duration => Err(wrong("a duration")),
        PathType::Text | PathType::Id => Err(wrong("a quoted string")),
    }
}
