//! The `file-logs` receiver (Promtail's role): the host tails the files (globs, rotation,
//! checkpoints, multi-line joining: the `files` transport); this plugin turns their lines
//! into log records with `log.file.path` and `log.file.name`, the body as the line, and the
//! observed time, under a resource whose attributes come from the config. A `parse-logs`
//! processor in the same pipeline then structures the lines.

use std::collections::BTreeMap;

use aegis_plugin_sdk::prelude::*;
use aegis_plugin_sdk::wire::{LogRecordData, LogsData, ResourceData, ResourceLogsData, ScopeData, ScopeLogsData};
use serde::Deserialize;

/// The plugin's config.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileLogsConfig {
    /// Resource attributes of every record, e.g. `{ "service.name" = "aegis-backend" }`.
    #[serde(default)]
    resource: BTreeMap<String, String>,
    /// Record attributes added to every record.
    #[serde(default)]
    attributes: BTreeMap<String, String>,
    /// Whether to add `log.file.path` (default true).
    #[serde(default = "yes")]
    include_file_path: bool,
    /// Whether to add `log.file.name` (default true).
    #[serde(default = "yes")]
    include_file_name: bool,
    /// Whether to add `log.file.offset`, the line's byte offset (default false).
    #[serde(default)]
    include_offset: bool,
}

fn yes() -> bool {
    true
}

/// The receiver. Public so that benchmarks can run it natively.
#[derive(Debug, Default)]
pub struct FileLogs {
    config: FileLogsConfig,
}

impl Receiver for FileLogs {
    fn signals() -> Vec<Signal> {
        vec![Signal::Logs]
    }

    fn init(config: Config) -> Result<Self, Error> {
        Ok(FileLogs { config: if config.is_empty() { FileLogsConfig::default_config() } else { config.parse()? } })
    }

    fn receive(&mut self, input: Input) -> Result<Received, Error> {
        let Input::Lines(lines) = input else {
            return Err(Error::invalid_input("file-logs takes lines of files: configure the `files` transport"));
        };
        if lines.is_empty() {
            return Ok(Received::nothing());
        }
        let observed = host::now_unix_nanos();
        let records = lines
            .into_iter()
            .map(|line| {
                let mut attributes: Vec<(String, Value)> = Vec::with_capacity(3 + self.config.attributes.len());
                if self.config.include_file_path {
                    attributes.push(("log.file.path".into(), Value::Str(line.path.clone())));
                }
                if self.config.include_file_name {
                    let name = line.path.rsplit('/').next().unwrap_or(&line.path).to_string();
                    attributes.push(("log.file.name".into(), Value::Str(name)));
                }
                if self.config.include_offset {
                    attributes.push(("log.file.offset".into(), Value::Int(line.offset as i64)));
                }
                attributes.extend(self.config.attributes.iter().map(|(k, v)| (k.clone(), Value::Str(v.clone()))));
                LogRecordData {
                    observed_time_unix_nano: observed,
                    body: Some(Value::Str(line.line)),
                    attributes,
                    ..Default::default()
                }
            })
            .collect();
        let request = LogsData {
            resource_logs: vec![ResourceLogsData {
                resource: Some(ResourceData {
                    attributes: self.config.resource.iter().map(|(k, v)| (k.clone(), Value::Str(v.clone()))).collect(),
                    ..Default::default()
                }),
                scope_logs: vec![ScopeLogsData {
                    scope: Some(ScopeData { name: "aegis.file-logs".into(), ..Default::default() }),
                    log_records: records,
                    ..Default::default()
                }],
                ..Default::default()
            }],
        };
        Ok(Received::batch(Signal::Logs, request.encode()))
    }
}

impl FileLogsConfig {
    fn default_config() -> Self {
        FileLogsConfig { include_file_path: true, include_file_name: true, ..Default::default() }
    }
}

export_receiver!(FileLogs);

#[cfg(test)]
mod tests {
    use super::*;
    use aegis_plugin_sdk::FileLine;
    use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
    use opentelemetry_proto::tonic::common::v1::any_value::Value as Proto;
    use prost::Message;

    #[test]
    fn lines_become_records_with_their_file() {
        let config = Config::from_json(r#"{"resource": {"service.name": "aegis-backend"}}"#).unwrap();
        let mut receiver = FileLogs::init(config).unwrap();
        let lines = vec![
            FileLine { path: "/var/log/aegis/backend.log".into(), line: "{\"level\":\"info\"}".into(), offset: 0 },
            FileLine { path: "/var/log/aegis/backend.log".into(), line: "second".into(), offset: 17 },
        ];
        let received = receiver.receive(Input::Lines(lines)).unwrap();
        let request = ExportLogsServiceRequest::decode(&received.batches[0].payload[..]).unwrap();
        let resource = &request.resource_logs[0];
        assert_eq!(resource.resource.as_ref().unwrap().attributes[0].key, "service.name");
        let records = &resource.scope_logs[0].log_records;
        assert_eq!(records.len(), 2);
        let body = records[1].body.as_ref().unwrap().value.as_ref().unwrap();
        assert_eq!(body, &Proto::StringValue("second".into()));
        let keys: Vec<&str> = records[0].attributes.iter().map(|kv| kv.key.as_str()).collect();
        assert_eq!(keys, ["log.file.path", "log.file.name"]);
        assert!(records[0].observed_time_unix_nano > 0);
    }

    #[test]
    fn other_input_is_refused_with_a_hint() {
        let mut receiver = FileLogs::init(Config::from_json("{}").unwrap()).unwrap();
        let error = receiver.receive(Input::Tick(1)).unwrap_err();
        assert!(error.to_string().contains("`files` transport"), "{error}");
    }
}
