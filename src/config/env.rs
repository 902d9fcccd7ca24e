//! `${ENV_VAR}` substitution in the raw config text, before TOML parsing.
//!
//! `${NAME}` is replaced by the variable's value, `${NAME:-fallback}` falls back when the
//! variable is unset or empty, and `$${` writes a literal `${`. A variable that is unset
//! and has no fallback is an error that names the line, so that a missing secret is
//! never silently replaced by an empty string.

use super::ConfigError;

/// Substitutes environment variables in `text`, collecting one error per unset variable.
pub(crate) fn substitute(text: &str, lookup: impl Fn(&str) -> Option<String>, errors: &mut Vec<ConfigError>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find('$') {
        out.push_str(&rest[..start]);
        let after = &rest[start..];
        if let Some(escaped) = after.strip_prefix("$${") {
            out.push_str("${");
            rest = escaped;
            continue;
        }
        let Some(body) = after.strip_prefix("${") else {
            out.push('$');
            rest = &after[1..];
            continue;
        };
        let Some(end) = body.find('}') else {
            out.push_str(after);
            rest = "";
            break;
        };
        let expression = &body[..end];
        let (name, fallback) = match expression.split_once(":-") {
            Some((name, fallback)) => (name, Some(fallback)),
            None => (expression, None),
        };
        let line = text[..text.len() - rest.len() + start].matches('\n').count() + 1;
        if !is_variable_name(name) {
            errors.push(ConfigError::new(
                format!("line {line}"),
                format!("`${{{expression}}}` is not a valid environment variable reference"),
            ));
        } else {
            match (lookup(name).filter(|value| !value.is_empty()), fallback) {
                (Some(value), _) => out.push_str(&value),
                (None, Some(fallback)) => out.push_str(fallback),
                (None, None) => errors.push(ConfigError::new(
                    format!("line {line}"),
                    format!("environment variable `{name}` is not set (write `${{{name}:-default}}` for a fallback)"),
                )),
            }
        }
        rest = &body[end + 1..];
    }
    out.push_str(rest);
    out
}

fn is_variable_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> (String, Vec<String>) {
        let mut errors = Vec::new();
        let lookup = |name: &str| match name {
            "HOST" => Some("10.0.0.1".to_string()),
            "EMPTY" => Some(String::new()),
            _ => None,
        };
        let out = substitute(text, lookup, &mut errors);
        (out, errors.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn replaces_set_variables_and_fallbacks() {
        let (out, errors) = run("a = \"${HOST}:4317\"\nb = \"${PORT:-9090}\"\nc = \"${EMPTY:-x}\"");
        assert_eq!(out, "a = \"10.0.0.1:4317\"\nb = \"9090\"\nc = \"x\"");
        assert!(errors.is_empty());
    }

    #[test]
    fn reports_every_unset_variable_with_its_line() {
        let (_, errors) = run("a = \"${NOPE}\"\n\nb = \"${ALSO_NOPE}\"");
        assert_eq!(
            errors,
            [
                "line 1: environment variable `NOPE` is not set (write `${NOPE:-default}` for a fallback)",
                "line 3: environment variable `ALSO_NOPE` is not set (write `${ALSO_NOPE:-default}` for a fallback)",
            ]
        );
    }

    #[test]
    fn keeps_escaped_and_lone_dollars() {
        let (out, errors) = run("a = \"$${HOST} costs $5\"");
        assert_eq!(out, "a = \"${HOST} costs $5\"");
        assert!(errors.is_empty());
    }
}
