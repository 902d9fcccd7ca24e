//! `format = "regex"`: a regular expression whose named captures are the line's fields.

use std::borrow::Cow;

use regex::Regex;

use crate::line::{Mapping, Parsed};
use crate::value::Val;

/// The compiled `pattern` and its capture names, by group index.
#[derive(Clone, Debug)]
pub(crate) struct Pattern {
    regex: Regex,
    names: Vec<(usize, String)>,
}

impl Pattern {
    /// Compiles `pattern`; it must have at least one named capture.
    pub(crate) fn new(pattern: &str) -> Result<Pattern, String> {
        let regex = Regex::new(pattern).map_err(|e| format!("pattern: {e}"))?;
        let names: Vec<(usize, String)> =
            regex.capture_names().enumerate().filter_map(|(i, n)| n.map(|n| (i, n.to_owned()))).collect();
        if names.is_empty() {
            return Err("pattern: the regex has no named capture, e.g. (?P<message>.*)".into());
        }
        Ok(Pattern { regex, names })
    }

    /// Parses one line: each named capture that took part in the match is a string field.
    pub(crate) fn parse<'a>(&'a self, text: &'a str, mapping: &Mapping, line: &mut Parsed<'a>) -> Result<(), String> {
        let captures = self.regex.captures(text).ok_or("regex: the line does not match the pattern")?;
        for (index, name) in &self.names {
            if let Some(m) = captures.get(*index) {
                mapping.push(line, Cow::Borrowed(name), Val::str(m.as_str()));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_need_a_named_capture_and_must_compile() {
        assert!(Pattern::new("(a)(b)").unwrap_err().contains("no named capture"));
        assert!(Pattern::new("(?P<x>").unwrap_err().starts_with("pattern: regex parse error"));
        assert!(Pattern::new(r"^(?P<level>\w+): (?P<message>.*)$").is_ok());
    }
}
