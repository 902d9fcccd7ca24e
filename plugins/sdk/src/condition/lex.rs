//! Splits a condition's text into tokens, each with the byte offset it starts at, so
//! that the parser can say at which column something unexpected was found.

use super::ParseError;

/// A comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }
}

/// What a token is.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Tok {
    /// A word: a keyword, a path (`severity`, `attributes.http.route`) or a name (`ERROR`).
    Word(String),
    /// A double-quoted string, unescaped.
    Str(String),
    /// An integer.
    Int(i64),
    /// A number with a fraction or an exponent.
    Float(f64),
    /// A duration such as `250ms` or `1m30s`, in nanoseconds.
    Duration(i64),
    Op(CmpOp),
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    End,
}

/// One token and where it starts.
#[derive(Clone, Debug)]
pub(crate) struct Token {
    pub(crate) tok: Tok,
    /// The byte offset of the token's first character.
    pub(crate) at: usize,
    /// The token as written, for messages.
    pub(crate) text: String,
}

fn is_word_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '.'
}

/// Nanoseconds per duration unit.
fn unit_nanos(unit: &str) -> Option<f64> {
    Some(match unit {
        "ns" => 1.0,
        "us" | "µs" => 1e3,
        "ms" => 1e6,
        "s" => 1e9,
        "m" => 60e9,
        "h" => 3600e9,
        _ => return None,
    })
}

/// Tokenizes `text`; the last token is always [`Tok::End`].
pub(crate) fn tokenize(text: &str) -> Result<Vec<Token>, ParseError> {
    let mut tokens = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some(&(at, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let simple = match c {
            '(' => Some(Tok::LParen),
            ')' => Some(Tok::RParen),
            '[' => Some(Tok::LBracket),
            ']' => Some(Tok::RBracket),
            ',' => Some(Tok::Comma),
            _ => None,
        };
        if let Some(tok) = simple {
            chars.next();
            tokens.push(Token { tok, at, text: c.to_string() });
            continue;
        }
        match c {
            '=' | '!' | '<' | '>' => {
                chars.next();
                let eq = chars.next_if(|&(_, n)| n == '=').is_some();
                let op = match (c, eq) {
                    ('=', true) => CmpOp::Eq,
                    ('!', true) => CmpOp::Ne,
                    ('<', false) => CmpOp::Lt,
                    ('<', true) => CmpOp::Le,
                    ('>', false) => CmpOp::Gt,
                    ('>', true) => CmpOp::Ge,
                    ('=', false) => return Err(ParseError::new(at, "expected \"==\", found \"=\"")),
                    _ => return Err(ParseError::new(at, "expected \"!=\"; write `not` to negate a condition")),
                };
                tokens.push(Token { tok: Tok::Op(op), at, text: op.as_str().to_owned() });
            }
            '"' => {
                chars.next();
                let mut value = String::new();
                let mut closed = false;
                while let Some((_, c)) = chars.next() {
                    match c {
                        '"' => {
                            closed = true;
                            break;
                        }
                        // `\"` and `\\` are escapes; any other backslash is kept, so that
                        // regexes such as "\d+" need no doubling.
                        '\\' => match chars.peek() {
                            Some(&(_, n @ ('"' | '\\'))) => {
                                value.push(n);
                                chars.next();
                            }
                            _ => value.push('\\'),
                        },
                        c => value.push(c),
                    }
                }
                if !closed {
                    return Err(ParseError::new(at, "unterminated string: expected a closing \""));
                }
                let end = chars.peek().map_or(text.len(), |&(i, _)| i);
                tokens.push(Token { tok: Tok::Str(value), at, text: text[at..end].to_owned() });
            }
            c if c.is_ascii_digit() || c == '-' => {
                let tok = number(text, &mut chars)?;
                let end = chars.peek().map_or(text.len(), |&(i, _)| i);
                tokens.push(Token { tok, at, text: text[at..end].to_owned() });
            }
            c if is_word_start(c) => {
                let mut end = at;
                while let Some((i, c)) = chars.next_if(|&(_, c)| is_word_char(c)) {
                    end = i + c.len_utf8();
                }
                let word = &text[at..end];
                tokens.push(Token { tok: Tok::Word(word.to_owned()), at, text: word.to_owned() });
            }
            other => return Err(ParseError::new(at, format!("unexpected character {other:?}"))),
        }
    }
    tokens.push(Token { tok: Tok::End, at: text.len(), text: String::new() });
    Ok(tokens)
}

type Chars<'a> = std::iter::Peekable<std::str::CharIndices<'a>>;

/// Reads digits (and at most one `.`) into `out`.
fn digits(chars: &mut Chars<'_>, out: &mut String) {
    while let Some((_, c)) = chars.next_if(|&(_, c)| c.is_ascii_digit() || (c == '.' && !out.contains('.'))) {
        out.push(c);
    }
}

/// A number, or a duration when a unit follows it directly.
fn number(text: &str, chars: &mut Chars<'_>) -> Result<Tok, ParseError> {
    let Some(&(at, _)) = chars.peek() else {
        return Err(ParseError::new(text.len(), "expected a number"));
    };
    let mut literal = String::new();
    if chars.next_if(|&(_, c)| c == '-').is_some() {
        literal.push('-');
    }
    digits(chars, &mut literal);
    if !literal.bytes().any(|b| b.is_ascii_digit()) {
        return Err(ParseError::new(at, "expected digits after \"-\""));
    }
    // An exponent: `1e3`, `2.5E-3`; but `1m` stays a duration.
    let mut lookahead = chars.clone();
    if lookahead.next_if(|&(_, c)| c == 'e' || c == 'E').is_some() {
        lookahead.next_if(|&(_, c)| c == '+' || c == '-');
        if lookahead.peek().is_some_and(|&(_, c)| c.is_ascii_digit()) {
            literal.push('e');
            chars.next();
            if let Some((_, sign)) = chars.next_if(|&(_, c)| c == '+' || c == '-') {
                literal.push(sign);
            }
            while let Some((_, c)) = chars.next_if(|&(_, c)| c.is_ascii_digit()) {
                literal.push(c);
            }
        }
    }
    let unit_follows = chars.peek().is_some_and(|&(_, c)| c.is_alphabetic());
    if !unit_follows {
        let bad = || ParseError::new(at, format!("{literal:?} is not a number"));
        if literal.contains(['.', 'e']) {
            return literal.parse().map(Tok::Float).map_err(|_| bad());
        }
        return literal.parse().map(Tok::Int).map_err(|_| bad());
    }
    // A duration: one or more `<number><unit>` parts, e.g. `1m30s`.
    if literal.starts_with('-') || literal.contains('e') {
        return Err(ParseError::new(at, "a duration must be a positive number with a unit, e.g. 250ms"));
    }
    let mut nanos = 0f64;
    let mut amount = literal;
    loop {
        let mut unit = String::new();
        let unit_at = chars.peek().map_or(text.len(), |&(i, _)| i);
        while let Some((_, c)) = chars.next_if(|&(_, c)| c.is_alphabetic()) {
            unit.push(c);
        }
        let Some(per_unit) = unit_nanos(&unit) else {
            return Err(ParseError::new(unit_at, format!("unknown duration unit {unit:?}: use ns, us, ms, s, m or h")));
        };
        let value: f64 = amount.parse().map_err(|_| ParseError::new(at, format!("{amount:?} is not a number")))?;
        nanos += value * per_unit;
        if !chars.peek().is_some_and(|&(_, c)| c.is_ascii_digit()) {
            break;
        }
        amount = String::new();
        digits(chars, &mut amount);
    }
    if chars.peek().is_some_and(|&(_, c)| is_word_char(c)) {
        let i = chars.peek().map_or(text.len(), |&(i, _)| i);
        return Err(ParseError::new(i, "unexpected character after a duration"));
    }
    if !nanos.is_finite() || nanos > i64::MAX as f64 {
        return Err(ParseError::new(at, "the duration is too long"));
    }
    Ok(Tok::Duration(nanos.round() as i64))
}
