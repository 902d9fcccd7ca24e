//! The attributes processor's configuration: a list of actions, checked as a whole so
//! that every mistake is reported at once, each with its action index and key.

use aegis_plugin_sdk::condition::{Condition, Context};
use aegis_plugin_sdk::{Config, Error, Value, wire::encode_any_value};
use regex::{CaptureLocations, Regex};
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
    /// Whose attributes: the item's (default) or its resource's.
    #[serde(default)]
    context: Target,
    /// The value to write (insert, update, upsert).
    value: Option<serde_json::Value>,
    /// The attribute to copy the value from instead (insert, update, upsert).
    from_attribute: Option<String>,
    /// The resource attribute to copy the value from instead (insert, update, upsert on items).
    from_resource_attribute: Option<String>,
    /// The new name (rename).
    new_key: Option<String>,
    /// The regex with named captures (extract).
    pattern: Option<String>,
    /// A condition the item (or resource) must meet for the action to run.
    #[serde(rename = "if")]
    condition: Option<String>,
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
    /// Sets an attribute per named capture of `pattern` in the attribute's string value.
    Extract,
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
            ActionKind::Extract => "extract",
        }
    }
}

/// Whose attributes an action changes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Target {
    /// The log record's, span's or data point's own attributes.
    #[default]
    Record,
    /// The attributes of the resource the items belong to.
    Resource,
}

/// Where a setting action takes its value from.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Source {
    /// A literal, encoded once as an `AnyValue` payload.
    Literal(Vec<u8>),
    /// Another attribute of the same item (or resource).
    Attribute(String),
    /// An attribute of the item's resource, as the resource came in.
    ResourceAttribute(String),
}

/// A compiled `extract` pattern and the captures it sets.
#[derive(Clone, Debug)]
pub(crate) struct Extractor {
    pub(crate) regex: Regex,
    /// `(capture group index, attribute name)` of each named group.
    pub(crate) names: Vec<(usize, String)>,
    /// Reused match positions, so that matching allocates nothing.
    pub(crate) locations: CaptureLocations,
}

impl PartialEq for Extractor {
    fn eq(&self, other: &Self) -> bool {
        self.regex.as_str() == other.regex.as_str()
    }
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
    Extract { key: String, extractor: Box<Extractor> },
}

/// A checked action with where it applies and when.
#[derive(Clone, Debug)]
pub(crate) struct Step {
    pub(crate) action: Action,
    pub(crate) target: Target,
    pub(crate) condition: Option<Condition>,
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

/// Compiles an `extract` pattern; it must name at least one capture.
fn extractor(pattern: &str) -> Result<Extractor, String> {
    let regex = Regex::new(pattern).map_err(|e| {
        // The regex crate draws the pattern over several lines; keep the reason.
        let text = e.to_string();
        let reason = text.lines().find_map(|l| l.trim().strip_prefix("error: ")).unwrap_or(text.trim()).to_owned();
        format!("`pattern` is not a valid regex: {reason}")
    })?;
    let names: Vec<(usize, String)> =
        regex.capture_names().enumerate().filter_map(|(i, name)| Some((i, name?.to_owned()))).collect();
    if names.is_empty() {
        return Err("`pattern` has no named capture, e.g. (?P<version>\\d+), to extract".to_owned());
    }
    let locations = regex.capture_locations();
    Ok(Extractor { regex, names, locations })
}

/// Parses and checks the configuration.
pub(crate) fn parse(config: &Config) -> Result<Vec<Step>, Error> {
    let raw: RawConfig = config.parse()?;
    let mut problems = Vec::new();
    let mut steps = Vec::with_capacity(raw.actions.len());
    for (i, a) in raw.actions.into_iter().enumerate() {
        let at = format!("actions[{i}] (key {:?})", a.key);
        let kind = a.action.name();
        let mut problem = |text: String| problems.push(format!("{at}: {text}"));
        if a.key.is_empty() {
            problem("`key` must not be empty".to_owned());
        }
        let given: Vec<&str> = [
            a.value.as_ref().map(|_| "`value`"),
            a.from_attribute.as_ref().map(|_| "`from_attribute`"),
            a.from_resource_attribute.as_ref().map(|_| "`from_resource_attribute`"),
        ]
        .into_iter()
        .flatten()
        .collect();
        let sets = matches!(a.action, ActionKind::Insert | ActionKind::Update | ActionKind::Upsert);
        let source = match (&a.value, &a.from_attribute, &a.from_resource_attribute) {
            _ if given.len() > 1 => {
                problem(format!("give one of {}, not several", given.join(", ")));
                None
            }
            (Some(v), _, _) => match scalar(v) {
                Some(v) => Some(Source::Literal(encode_any_value(&v))),
                None => {
                    problem(format!("`value` must be a string, integer, float or boolean, not {v}"));
                    None
                }
            },
            (_, Some(from), _) if from.is_empty() => {
                problem("`from_attribute` must not be empty".to_owned());
                None
            }
            (_, Some(from), _) => Some(Source::Attribute(from.clone())),
            (_, _, Some(_)) if a.context == Target::Resource => {
                problem("`from_resource_attribute` is for record actions; on the resource use `from_attribute`".into());
                None
            }
            (_, _, Some(from)) if from.is_empty() => {
                problem("`from_resource_attribute` must not be empty".to_owned());
                None
            }
            (_, _, Some(from)) => Some(Source::ResourceAttribute(from.clone())),
            (None, None, None) => {
                if sets {
                    problem(format!("`{kind}` needs `value`, `from_attribute` or `from_resource_attribute`"));
                }
                None
            }
        };
        if !sets && !given.is_empty() {
            problem(format!("`{kind}` takes no {}", given.join(", ")));
        }
        match (a.action, &a.new_key) {
            (ActionKind::Rename, None) => problem("`rename` needs `new_key`".to_owned()),
            (ActionKind::Rename, Some(n)) if n.is_empty() => problem("`new_key` must not be empty".to_owned()),
            (ActionKind::Rename, Some(n)) if *n == a.key => problem("`new_key` is the same as `key`".to_owned()),
            (ActionKind::Rename, _) | (_, None) => {}
            (_, Some(_)) => problem(format!("`{kind}` takes no `new_key`")),
        }
        let extract = match (a.action, &a.pattern) {
            (ActionKind::Extract, None) => {
                problem("`extract` needs `pattern`, a regex with named captures".to_owned());
                None
            }
            (ActionKind::Extract, Some(pattern)) => match extractor(pattern) {
                Ok(extractor) => Some(extractor),
                Err(text) => {
                    problem(text);
                    None
                }
            },
            (_, None) => None,
            (_, Some(_)) => {
                problem(format!("`{kind}` takes no `pattern`"));
                None
            }
        };
        let condition = match &a.condition {
            None => None,
            // A record action's condition may name any item's paths: one action list serves
            // logs, spans and data points, and a path an item lacks reads as missing.
            Some(text) => match a.context {
                Target::Record => Condition::parse(text),
                Target::Resource => Condition::parse_for(text, Context::Resource),
            }
            .map_err(|e| problem(format!("`if`: {}", e.message())))
            .ok(),
        };
        if a.condition.is_some() && condition.is_none() {
            continue;
        }
        let key = a.key;
        let action = match (a.action, source, a.new_key, extract) {
            (ActionKind::Insert, Some(source), _, _) => Action::Insert { key, source },
            (ActionKind::Update, Some(source), _, _) => Action::Update { key, source },
            (ActionKind::Upsert, Some(source), _, _) => Action::Upsert { key, source },
            (ActionKind::Delete, _, _, _) => Action::Delete { key },
            (ActionKind::Rename, _, Some(new_key), _) => Action::Rename { key, new_key },
            (ActionKind::Hash, _, _, _) => Action::Hash { key },
            (ActionKind::Extract, _, _, Some(extractor)) => Action::Extract { key, extractor: Box::new(extractor) },
            // Already reported above.
            _ => continue,
        };
        steps.push(Step { action, target: a.context, condition });
    }
    if problems.is_empty() { Ok(steps) } else { Err(Error::config(problems.join("; "))) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse_json(value: serde_json::Value) -> Result<Vec<Action>, Error> {
        parse(&Config::from_value(value)).map(|steps| steps.into_iter().map(|s| s.action).collect())
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
            { "key": "i", "action": "upsert", "from_resource_attribute": "service.name" },
            { "key": "j", "action": "extract", "pattern": "^/v(?P<version>\\d+)" },
        ]}))
        .unwrap();
        assert_eq!(actions.len(), 9);
        assert_eq!(actions[3], Action::Upsert { key: "d".into(), source: Source::Attribute("a".into()) });
        assert_eq!(
            actions[0],
            Action::Insert { key: "a".into(), source: Source::Literal(encode_any_value(&Value::Str("x".into()))) }
        );
        assert_eq!(
            actions[7],
            Action::Upsert { key: "i".into(), source: Source::ResourceAttribute("service.name".into()) }
        );
        let Action::Extract { extractor, .. } = &actions[8] else { panic!("{:?}", actions[8]) };
        assert_eq!(extractor.names, [(1, "version".to_owned())]);
    }

    #[test]
    fn context_and_if_are_kept_with_the_action() {
        let steps = parse(&Config::from_value(json!({ "actions": [
            { "key": "env", "action": "insert", "value": "prod", "context": "resource",
              "if": "resource.attributes[\"k8s.namespace.name\"] == \"prod\"" },
            { "key": "tier", "action": "upsert", "value": "web", "if": "kind == SERVER" },
            { "key": "x", "action": "delete" },
        ]})))
        .unwrap();
        assert_eq!(
            steps.iter().map(|s| s.target).collect::<Vec<_>>(),
            [Target::Resource, Target::Record, Target::Record]
        );
        assert_eq!(steps[1].condition.as_ref().map(|c| c.as_str()), Some("kind == SERVER"));
        assert!(steps[2].condition.is_none());
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
            "actions[0] (key \"env\"): `upsert` needs `value`, `from_attribute` or `from_resource_attribute`; \
             actions[1] (key \"x\"): `delete` takes no `value`; \
             actions[2] (key \"y\"): `rename` needs `new_key`; \
             actions[3] (key \"z\"): `value` must be a string, integer, float or boolean, not [1,2]"
        );
    }

    #[test]
    fn mistakes_in_the_new_keys_are_reported_with_index_and_key() {
        let err = parse_json(json!({ "actions": [
            { "key": "a", "action": "upsert", "value": 1, "from_resource_attribute": "b" },
            { "key": "a", "action": "upsert", "context": "resource", "from_resource_attribute": "b" },
            { "key": "url", "action": "extract" },
            { "key": "url", "action": "extract", "pattern": "^/v(\\d+)" },
            { "key": "url", "action": "extract", "pattern": "(?P<v>" },
            { "key": "url", "action": "delete", "pattern": "x" },
            { "key": "url", "action": "delete", "if": "severity >=" },
            { "key": "url", "action": "delete", "context": "resource", "if": "severity >= WARN" },
        ]}))
        .unwrap_err();
        assert_eq!(
            err.message(),
            "actions[0] (key \"a\"): give one of `value`, `from_resource_attribute`, not several; \
             actions[1] (key \"a\"): `from_resource_attribute` is for record actions; on the resource use \
             `from_attribute`; \
             actions[2] (key \"url\"): `extract` needs `pattern`, a regex with named captures; \
             actions[3] (key \"url\"): `pattern` has no named capture, e.g. (?P<version>\\d+), to extract; \
             actions[4] (key \"url\"): `pattern` is not a valid regex: unclosed group; \
             actions[5] (key \"url\"): `delete` takes no `pattern`; \
             actions[6] (key \"url\"): `if`: at column 12: expected a value after \">=\"; \
             actions[7] (key \"url\"): `if`: at column 1: \"severity\" is not a field of resources; use \
             resource.attributes[\"k\"]"
        );
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let err = parse_json(json!({ "actions": [], "drop_ratio": 0.5 })).unwrap_err();
        assert!(err.message().contains("unknown field `drop_ratio`"), "{}", err.message());
        let err =
            parse_json(json!({ "actions": [{ "key": "a", "action": "delete", "context": "scope" }] })).unwrap_err();
        assert!(err.message().starts_with("actions[0].context: unknown variant `scope`"), "{}", err.message());
    }

    #[test]
    fn a_missing_actions_list_is_an_error() {
        let err = parse_json(json!({})).unwrap_err();
        assert!(err.message().contains("missing field `actions`"), "{}", err.message());
    }
}
