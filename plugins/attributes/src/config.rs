//! The attributes processor's configuration: a list of actions, checked as a whole so
//! that every mistake is reported at once, each with its action index and key.

use aegis_plugin_sdk::{Config, Error, Value, wire::encode_any_value};
use serde::Deserialize;

/// The configuration as written in the pipeline TOML.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    /// The actions, applied in order to every item.
    actions: Vec<RawAction>,
}

/// One action as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAction {
    /// The attribute the action is about.
    key: String,
    /// What to do.
    action: ActionKind,
    /// The value to write (insert, update, upsert).
    value: Option<serde_json::Value>,
    /// The attribute to copy the value from instead (insert, update, upsert).
    from_attribute: Option<String>,
    /// The new name (rename).
    new_key: Option<String>,
}

/// What an action does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum ActionKind {
    /// Sets the attribute only where it is absent.
    Insert,
    /// Sets the attribute only where it is present.
    Update,
    /// Sets the attribute everywhere.
    Upsert,
    /// Removes the attribute.
    Delete,
    /// Moves the attribute's value to `new_key`.
    Rename,
    /// Replaces the attribute's value by the SHA-256 of its text, in lowercase hex.
    Hash,
}

impl ActionKind {
    fn name(self) -> &'static str {
        match self {
            ActionKind::Insert => "insert",
            ActionKind::Update => "update",
            ActionKind::Upsert => "upsert",
            ActionKind::Delete => "delete",
            ActionKind::Rename => "rename",
            ActionKind::Hash => "hash",
        }
    }
}

/// Where a setting action takes its value from.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Source {
    /// A literal, encoded once as an `AnyValue` payload.
    Literal(Vec<u8>),
    /// Another attribute of the same item.
    Attribute(String),
}

/// One checked action.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Action {
    Insert { key: String, source: Source },
    Update { key: String, source: Source },
    Upsert { key: String, source: Source },
    Delete { key: String },
    Rename { key: String, new_key: String },
    Hash { key: String },
}

/// Turns the JSON value of `value` into an attribute value, if it is a scalar.
fn scalar(value: &serde_json::Value) -> Option<Value> {
    Some(match value {
        serde_json::Value::String(s) => Value::Str(s.clone()),
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Double(n.as_f64()?),
        },
        _ => return None,
    })
}

/// Parses and checks the configuration.
pub(crate) fn parse(config: &Config) -> Result<Vec<Action>, Error> {
    let raw: RawConfig = config.parse()?;
    let mut problems = Vec::new();
    let mut actions = Vec::with_capacity(raw.actions.len());
    for (i, a) in raw.actions.into_iter().enumerate() {
        let at = format!("actions[{i}] (key {:?})", a.key);
        let kind = a.action.name();
        let mut problem = |text: String| problems.push(format!("{at}: {text}"));
        if a.key.is_empty() {
            problem("`key` must not be empty".to_owned());
        }
        let source = match (&a.value, &a.from_attribute) {
            (Some(v), None) => match scalar(v) {
                Some(v) => Some(Source::Literal(encode_any_value(&v))),
                None => {
                    problem(format!("`value` must be a string, integer, float or boolean, not {v}"));
                    None
                }
            },
            (None, Some(from)) if from.is_empty() => {
                problem("`from_attribute` must not be empty".to_owned());
                None
            }
            (None, Some(from)) => Some(Source::Attribute(from.clone())),
            (Some(_), Some(_)) => {
                problem("give either `value` or `from_attribute`, not both".to_owned());
                None
            }
            (None, None) => None,
        };
        let sets = matches!(a.action, ActionKind::Insert | ActionKind::Update | ActionKind::Upsert);
        if sets && source.is_none() && a.value.is_none() && a.from_attribute.is_none() {
            problem(format!("`{kind}` needs `value` or `from_attribute`"));
        }
        if !sets && (a.value.is_some() || a.from_attribute.is_some()) {
            problem(format!("`{kind}` takes no `value` or `from_attribute`"));
        }
        match (a.action, &a.new_key) {
            (ActionKind::Rename, None) => problem("`rename` needs `new_key`".to_owned()),
            (ActionKind::Rename, Some(n)) if n.is_empty() => problem("`new_key` must not be empty".to_owned()),
            (ActionKind::Rename, Some(n)) if *n == a.key => problem("`new_key` is the same as `key`".to_owned()),
            (ActionKind::Rename, _) | (_, None) => {}
            (_, Some(_)) => problem(format!("`{kind}` takes no `new_key`")),
        }
        let key = a.key;
        let action = match (a.action, source, a.new_key) {
            (ActionKind::Insert, Some(source), _) => Action::Insert { key, source },
            (ActionKind::Update, Some(source), _) => Action::Update { key, source },
            (ActionKind::Upsert, Some(source), _) => Action::Upsert { key, source },
            (ActionKind::Delete, _, _) => Action::Delete { key },
            (ActionKind::Rename, _, Some(new_key)) => Action::Rename { key, new_key },
            (ActionKind::Hash, _, _) => Action::Hash { key },
            // Already reported above.
            _ => continue,
        };
        actions.push(action);
    }
    if problems.is_empty() { Ok(actions) } else { Err(Error::config(problems.join("; "))) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse_json(value: serde_json::Value) -> Result<Vec<Action>, Error> {
        parse(&Config::from_value(value))
    }

    #[test]
    fn every_action_kind_parses() {
        let actions = parse_json(json!({ "actions": [
            { "key": "a", "action": "insert", "value": "x" },
            { "key": "b", "action": "update", "value": 1 },
            { "key": "c", "action": "upsert", "value": 1.5 },
            { "key": "d", "action": "upsert", "from_attribute": "a" },
            { "key": "e", "action": "delete" },
            { "key": "f", "action": "rename", "new_key": "g" },
            { "key": "h", "action": "hash" },
        ]}))
        .unwrap();
        assert_eq!(actions.len(), 7);
        assert_eq!(actions[3], Action::Upsert { key: "d".into(), source: Source::Attribute("a".into()) });
        assert_eq!(
            actions[0],
            Action::Insert { key: "a".into(), source: Source::Literal(encode_any_value(&Value::Str("x".into()))) }
        );
    }

    #[test]
    fn an_unknown_action_names_its_index() {
        let err = parse_json(json!({ "actions": [
            { "key": "a", "action": "upsert", "value": "x" },
            { "key": "b", "action": "upsrt", "value": "x" },
        ]}))
        .unwrap_err();
        assert_eq!(err.kind(), aegis_plugin_sdk::ErrorKind::Config);
        assert!(err.message().starts_with("actions[1].action: unknown variant `upsrt`"), "{}", err.message());
    }

    #[test]
    fn every_problem_is_reported_at_once_with_index_and_key() {
        let err = parse_json(json!({ "actions": [
            { "key": "env", "action": "upsert" },
            { "key": "x", "action": "delete", "value": 1 },
            { "key": "y", "action": "rename" },
            { "key": "z", "action": "insert", "value": [1, 2] },
        ]}))
        .unwrap_err();
        assert_eq!(
            err.message(),
            "actions[0] (key \"env\"): `upsert` needs `value` or `from_attribute`; \
             actions[1] (key \"x\"): `delete` takes no `value` or `from_attribute`; \
             actions[2] (key \"y\"): `rename` needs `new_key`; \
             actions[3] (key \"z\"): `value` must be a string, integer, float or boolean, not [1,2]"
        );
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let err = parse_json(json!({ "actions": [], "drop_ratio": 0.5 })).unwrap_err();
        assert!(err.message().contains("unknown field `drop_ratio`"), "{}", err.message());
    }

    #[test]
    fn a_missing_actions_list_is_an_error() {
        let err = parse_json(json!({})).unwrap_err();
        assert!(err.message().contains("missing field `actions`"), "{}", err.message());
    }
}
