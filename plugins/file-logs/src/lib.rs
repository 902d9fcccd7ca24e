//! The `file-logs` receiver (Promtail's role): the host tails the files (globs, rotation,
//! checkpoints, multi-line joining: the `files` transport); this plugin turns their lines
//! into log records with `log.file.path` and `log.file.name`, the body as the line, and the
//! observed time, under a resource whose attributes come from the config. A `parse-logs`
//! processor in the same pipeline then structures the lines.

use std::collections::BTreeMap;

use aegis_plugin_sdk::prelude::*;
use aegis_plugin_sdk::wire::encode::{len_field_len, put_len_header};
use aegis_plugin_sdk::wire::{Value, encode_key_value};
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
    /// The encoded `Resource` of every batch.
    resource: Vec<u8>,
}

impl Receiver for FileLogs {
    fn signals() -> Vec<Signal> {
        vec![Signal::Logs]
    }

    fn init(config: Config) -> Result<Self, Error> {
        let config: FileLogsConfig =
            if config.is_empty() { FileLogsConfig::default_config() } else { config.parse()? };
        let mut resource = Vec::new();
        for (key, value) in &config.resource {
            encode_key_value(&mut resource, 1, key, value.as_str());
        }
        Ok(FileLogs { config, resource })
    }

    fn receive(&mut self, input: Input) -> Result<Received, Error> {
        let Input::Lines(lines) = input else {
            return Err(Error::invalid_input("file-logs takes lines of files: configure the `files` transport"));
        };
        if lines.is_empty() {
            return Ok(Received::nothing());
        }
        let observed = host::now_unix_nanos();
        // The records are written as protobuf directly, each straight into the block of
        // records (its length is known before its bytes): the attributes a file's lines
        // share are encoded once per run of lines from that file, and a line's text is
        // copied once here and the whole block once more into the request.
        let mut records = Vec::with_capacity(lines.iter().map(|l| l.line.len() + 24).sum::<usize>() + 64);
        let mut shared = Vec::new();
        let mut shared_path: Option<&str> = None;
        let mut offset = Vec::new();
        for line in &lines {
            if shared_path != Some(line.path.as_str()) {
                shared.clear();
                if self.config.include_file_path {
                    encode_key_value(&mut shared, LOG_RECORD_ATTRIBUTES, "log.file.path", line.path.as_str());
                }
                if self.config.include_file_name {
                    let name = line.path.rsplit('/').next().unwrap_or(&line.path);
                    encode_key_value(&mut shared, LOG_RECORD_ATTRIBUTES, "log.file.name", name);
                }
                for (key, value) in &self.config.attributes {
                    encode_key_value(&mut shared, LOG_RECORD_ATTRIBUTES, key, value.as_str());
                }
                shared_path = Some(line.path.as_str());
            }
            offset.clear();
            if self.config.include_offset {
                encode_key_value(
                    &mut offset,
                    LOG_RECORD_ATTRIBUTES,
                    "log.file.offset",
                    &Value::Int(line.offset as i64),
                );
            }
            // body (5): AnyValue { string_value (1) }
            let text = line.line.as_bytes();
            let body = len_field_len(1, text.len());
            // ... then the shared attributes, the offset, observed_time_unix_nano (11, fixed64).
            let record = len_field_len(5, body) + shared.len() + offset.len() + 9;
            // ScopeLogs.log_records (2)
            put_len_header(&mut records, 2, record);
            put_len_header(&mut records, 5, body);
            put_len_header(&mut records, 1, text.len());
            records.extend_from_slice(text);
            records.extend_from_slice(&shared);
            records.extend_from_slice(&offset);
            records.push((11 << 3) | 1);
            records.extend_from_slice(&observed.to_le_bytes());
        }
        // ExportLogsServiceRequest.resource_logs (1) = ResourceLogs { resource (1),
        // scope_logs (2) = ScopeLogs { scope, log_records } }.
        let scope_logs = SCOPE.len() + records.len();
        let resource_logs = len_field_len(1, self.resource.len()) + len_field_len(2, scope_logs);
        let mut request = Vec::with_capacity(len_field_len(1, resource_logs));
        put_len_header(&mut request, 1, resource_logs);
        put_len_header(&mut request, 1, self.resource.len());
        request.extend_from_slice(&self.resource);
        put_len_header(&mut request, 2, scope_logs);
        request.extend_from_slice(SCOPE);
        request.extend_from_slice(&records);
        Ok(Received::batch(Signal::Logs, request))
    }
}

/// `LogRecord.attributes`.
const LOG_RECORD_ATTRIBUTES: u32 = 6;

/// `ScopeLogs.scope` (1) = `InstrumentationScope { name (1): "aegis.file-logs" }`.
const SCOPE: &[u8] = b"\x0a\x11\x0a\x0faegis.file-logs";

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
    fn lines_of_several_files_keep_their_own_attributes_and_offsets() {
        let config = Config::from_json(r#"{"attributes": {"env": "prod"}, "include_offset": true}"#).unwrap();
        let mut receiver = FileLogs::init(config).unwrap();
        let long = "é".repeat(300);
        let lines = vec![
            FileLine { path: "/var/log/a.log".into(), line: "first".into(), offset: 0 },
            FileLine { path: "/var/log/b.log".into(), line: long.clone(), offset: 6 },
            FileLine { path: "/var/log/a.log".into(), line: String::new(), offset: 200_000 },
        ];
        let received = receiver.receive(Input::Lines(lines)).unwrap();
        let payload = &received.batches[0].payload;
        aegis_plugin_sdk::wire::validate(Signal::Logs, payload).expect("valid OTLP");
        let request = ExportLogsServiceRequest::decode(&payload[..]).unwrap();
        let resource = &request.resource_logs[0];
        assert!(resource.resource.as_ref().unwrap().attributes.is_empty());
        assert_eq!(resource.scope_logs[0].scope.as_ref().unwrap().name, "aegis.file-logs");
        let records = &resource.scope_logs[0].log_records;
        let summary: Vec<(String, Vec<(String, String)>)> = records
            .iter()
            .map(|r| {
                let body = match r.body.as_ref().unwrap().value.as_ref().unwrap() {
                    Proto::StringValue(s) => s.clone(),
                    other => panic!("{other:?}"),
                };
                let attributes = r
                    .attributes
                    .iter()
                    .map(|kv| {
                        let value = match kv.value.as_ref().unwrap().value.as_ref().unwrap() {
                            Proto::StringValue(s) => s.clone(),
                            Proto::IntValue(i) => i.to_string(),
                            other => panic!("{other:?}"),
                        };
                        (kv.key.clone(), value)
                    })
                    .collect();
                (body, attributes)
            })
            .collect();
        let attrs = |path: &str, name: &str, offset: &str| {
            vec![
                ("log.file.path".to_string(), path.to_string()),
                ("log.file.name".to_string(), name.to_string()),
                ("env".to_string(), "prod".to_string()),
                ("log.file.offset".to_string(), offset.to_string()),
            ]
        };
        assert_eq!(
            summary,
            [
                ("first".to_string(), attrs("/var/log/a.log", "a.log", "0")),
                (long, attrs("/var/log/b.log", "b.log", "6")),
                (String::new(), attrs("/var/log/a.log", "a.log", "200000")),
            ]
        );
        assert!(records.iter().all(|r| r.observed_time_unix_nano > 0 && r.time_unix_nano == 0));
    }

    #[test]
    fn other_input_is_refused_with_a_hint() {
        let mut receiver = FileLogs::init(Config::from_json("{}").unwrap()).unwrap();
        let error = receiver.receive(Input::Tick(1)).unwrap_err();
        assert!(error.to_string().contains("`files` transport"), "{error}");
    }
}
