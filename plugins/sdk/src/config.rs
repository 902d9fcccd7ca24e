//! A plugin's configuration: its table from the pipeline TOML, handed over as JSON.

use serde::de::DeserializeOwned;

use crate::Error;

/// The configuration table of one plugin instance.
///
/// Deserialize it into your own struct with [`Config::parse`]; mark the struct
/// `#[serde(deny_unknown_fields)]` so that typos in the TOML are reported.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Config {
    value: serde_json::Value,
}

impl Config {
    /// Parses the JSON text the host passes to `init`; empty text is an empty table.
    pub fn from_json(text: &str) -> Result<Self, Error> {
        if text.trim().is_empty() {
            return Ok(Config::default());
        }
        serde_json::from_str(text)
            .map(|value| Config { value })
            .map_err(|e| Error::config(format!("the config is not valid JSON: {e}")))
    }

    /// Wraps a JSON value, e.g. `serde_json::json!({...})` in tests.
    pub fn from_value(value: serde_json::Value) -> Self {
        Config { value }
    }

    /// The configuration as a JSON value (`null` when none was given).
    pub fn value(&self) -> &serde_json::Value {
        &self.value
    }

    /// Whether no configuration (or an empty table) was given.
    pub fn is_empty(&self) -> bool {
        match &self.value {
            serde_json::Value::Null => true,
            serde_json::Value::Object(map) => map.is_empty(),
            _ => false,
        }
    }

    /// The value of top-level key `key`.
    pub fn get(&self, key: &str) -> Option<&serde_json::Value> {
        self.value.get(key)
    }

    /// Deserializes the configuration into `T`. Errors are of kind config and name
    /// the key that is wrong, e.g. `actions[1].action: unknown variant "upsrt"`.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, Error> {
        let value = match &self.value {
            serde_json::Value::Null => serde_json::Value::Object(Default::default()),
            other => other.clone(),
        };
        serde_path_to_error::deserialize(value).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            if path == "." { Error::config(inner.to_string()) } else { Error::config(format!("{path}: {inner}")) }
        })
    }
}
