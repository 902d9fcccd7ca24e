//! `format = "logfmt"`: `key=value` pairs separated by spaces, values bare or in double
//! quotes with backslash escapes (what Go's slog text handler, logrus and go-kit write).
//! Also reads the key-value tail of structured klog lines.

use std::borrow::Cow;

use crate::line::{Mapping, Parsed};
use crate::value::Val;

/// Parses one line into `line`. A line without a single `key=value` pair, with an
/// unterminated quote or with an empty key is an error.
pub(crate) fn parse<'a>(text: &'a str, mapping: &Mapping, line: &mut Parsed<'a>) -> Result<(), String> {
    let mut pairs = 0;
    for_each_pair(text, |key, value| {
        pairs += usize::from(!matches!(value, Val::Bool(true)));
        mapping.push(line, Cow::Borrowed(key), value);
    })?;
    if pairs == 0 {
        return Err("logfmt: no key=value pair in the line".into());
    }
    Ok(())
}

/// Calls `pair` for every pair of `text`, in order. A key without `=` is a flag: its
/// value is `true`. Values are strings.
pub(crate) fn for_each_pair<'a>(text: &'a str, mut pair: impl FnMut(&'a str, Val<'a>)) -> Result<(), String> {
    let bytes = text.as_bytes();
    let mut pos = 0;
    loop {
        while pos < bytes.len() && bytes[pos].is_ascii_whitespace() {
            pos += 1;
        }
        if pos >= bytes.len() {
            return Ok(());
        }
        let start = pos;
        while pos < bytes.len() && !bytes[pos].is_ascii_whitespace() && bytes[pos] != b'=' && bytes[pos] != b'"' {
            pos += 1;
        }
        if pos == start {
            return Err(format!("logfmt: expected a key at byte {start}"));
        }
        // Every boundary is at an ASCII byte, so these slices are whole UTF-8.
        let key = &text[start..pos];
        if pos >= bytes.len() || bytes[pos].is_ascii_whitespace() {
            pair(key, Val::Bool(true));
            continue;
        }
        if bytes[pos] == b'"' {
            return Err(format!("logfmt: unexpected quote in key at byte {pos}"));
        }
        pos += 1; // '='
        if bytes.get(pos) == Some(&b'"') {
            let (value, end) = quoted(text, pos)?;
            pos = end;
            if pos < bytes.len() && !bytes[pos].is_ascii_whitespace() {
                return Err(format!("logfmt: expected a space after the quoted value at byte {pos}"));
            }
            pair(key, Val::Str(value));
        } else {
            let value_start = pos;
            while pos < bytes.len() && !bytes[pos].is_ascii_whitespace() {
                pos += 1;
            }
            pair(key, Val::str(&text[value_start..pos]));
        }
    }
}

/// The string quoted at `text[open]` and the offset just past its closing quote.
pub(crate) fn quoted(text: &str, open: usize) -> Result<(Cow<'_, str>, usize), String> {
    let bytes = text.as_bytes();
    let mut pos = open + 1;
    let mut escaped = false;
    while pos < bytes.len() {
        match bytes[pos] {
            b'"' => {
                let inner = &text[open + 1..pos];
                let value = if escaped { Cow::Owned(unescape(inner)) } else { Cow::Borrowed(inner) };
                return Ok((value, pos + 1));
            }
            b'\\' => {
                escaped = true;
                pos += 2;
            }
            _ => pos += 1,
        }
    }
    Err(format!("logfmt: unterminated quoted value at byte {open}"))
}

/// Decodes `\"`, `\\`, `\n`, `\r`, `\t` and `\uXXXX`; any other escape is kept as written.
fn unescape(inner: &str) -> String {
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('"') => out.push('"'),
            Some('\\') => out.push('\\'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some('u') => {
                let hex: String = chars.clone().take(4).collect();
                match u32::from_str_radix(&hex, 16).ok().filter(|_| hex.len() == 4).and_then(char::from_u32) {
                    Some(decoded) => {
                        out.push(decoded);
                        for _ in 0..4 {
                            chars.next();
                        }
                    }
                    None => out.push_str("\\u"),
                }
            }
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(text: &str) -> Result<Vec<(String, Val<'_>)>, String> {
        let mut got = Vec::new();
        for_each_pair(text, |k, v| got.push((k.to_owned(), v)))?;
        Ok(got)
    }

    #[test]
    fn bare_quoted_empty_and_flag_values_are_read() {
        let got = pairs(r#"time=2024-01-25T10:30:45Z level=info msg="User created" empty= dry_run user=ann"#).unwrap();
        assert_eq!(
            got,
            vec![
                ("time".into(), Val::str("2024-01-25T10:30:45Z")),
                ("level".into(), Val::str("info")),
                ("msg".into(), Val::str("User created")),
                ("empty".into(), Val::str("")),
                ("dry_run".into(), Val::Bool(true)),
                ("user".into(), Val::str("ann")),
            ]
        );
    }

    #[test]
    fn escapes_in_quoted_values_are_decoded_and_unicode_passes_through() {
        let got = pairs(r#"msg="say \"hi\"\n\tto \u00e9 and 日本語 👋" path=C:\dir"#).unwrap();
        assert_eq!(got[0].1, Val::Str(Cow::Owned("say \"hi\"\n\tto é and 日本語 👋".into())));
        assert_eq!(got[1].1, Val::str(r"C:\dir"));
        let got = pairs(r#"a="\q \u12" b="end\\""#).unwrap();
        assert_eq!(got[0].1, Val::Str(Cow::Owned(r"\q \u12".into())));
        assert_eq!(got[1].1, Val::Str(Cow::Owned(r"end\".into())));
    }

    #[test]
    fn broken_lines_are_errors_that_say_where() {
        assert_eq!(pairs(r#"msg="never closed"#).unwrap_err(), "logfmt: unterminated quoted value at byte 4");
        assert_eq!(pairs("=value").unwrap_err(), "logfmt: expected a key at byte 0");
        assert_eq!(pairs(r#"a="x"b=1"#).unwrap_err(), "logfmt: expected a space after the quoted value at byte 5");
        assert_eq!(pairs(r#"ke"y=1"#).unwrap_err(), "logfmt: unexpected quote in key at byte 2");
        assert_eq!(pairs(r#"a="\"#).unwrap_err(), "logfmt: unterminated quoted value at byte 2");
    }
}
