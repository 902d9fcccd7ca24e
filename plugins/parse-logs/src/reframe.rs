//! Building the protobuf the SDK's editors do not: a resource's copy with another
//! `service.name`, and a `ResourceLogs` with a log record rebuilt from held CRI pieces.
//! Everything not named here is copied from the input as it is.

use crate::value::{Fields, key_of, key_value_len, put_key_value_payload, put_len_field, put_len_header, put_varint};

/// One scope of a `ResourceLogs` being built: the `InstrumentationScope` payload as it
/// came in, the scope's schema URL, and the records' payloads.
pub(crate) struct ScopePart<'a> {
    pub(crate) scope: &'a [u8],
    pub(crate) schema_url: &'a str,
    pub(crate) records: &'a [Vec<u8>],
}

/// A `ResourceLogs` payload: `resource` (a `Resource` payload), its schema URL, and the scopes.
pub(crate) fn resource_logs(resource: &[u8], schema_url: &str, scopes: &[ScopePart<'_>]) -> Vec<u8> {
    let mut out = Vec::new();
    put_len_field(&mut out, 1, resource);
    let mut scope_logs = Vec::new();
    for part in scopes {
        scope_logs.clear();
        if !part.scope.is_empty() {
            put_len_field(&mut scope_logs, 1, part.scope);
        }
        for record in part.records {
            put_len_field(&mut scope_logs, 2, record);
        }
        if !part.schema_url.is_empty() {
            put_len_field(&mut scope_logs, 3, part.schema_url.as_bytes());
        }
        put_len_field(&mut out, 2, &scope_logs);
    }
    if !schema_url.is_empty() {
        put_len_field(&mut out, 3, schema_url.as_bytes());
    }
    out
}

/// A copy of a `Resource` payload whose `service.name` is `service` (its other
/// attributes and fields kept, in order; the new attribute last).
pub(crate) fn resource_with_service(resource: &[u8], service: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(resource.len() + service.len() + 20);
    for field in Fields::new(resource) {
        if field.number == 1 && field.payload.is_some_and(|kv| key_of(kv) == b"service.name") {
            continue;
        }
        out.extend_from_slice(field.whole);
    }
    put_attribute(&mut out, 1, "service.name", service);
    out
}

/// A `KeyValue` with a string value as field `number` of the message in `out`.
fn put_attribute(out: &mut Vec<u8>, number: u8, key: &str, value: &str) {
    put_len_header(out, number, key_value_len(key, value));
    put_key_value_payload(out, key, value);
}

/// A log record rebuilt from `template` (a record as it came in): its time and body
/// replaced, string attributes added (replacing any of the same key).
pub(crate) fn record_from_template(template: &[u8], time: u64, body: &str, attributes: &[(&str, &str)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(template.len() + body.len() + 64);
    // LogRecord: time_unix_nano 1 (fixed64), body 5, attributes 6.
    out.push(0x09);
    out.extend_from_slice(&time.to_le_bytes());
    for field in Fields::new(template) {
        let replaced = match (field.number, field.payload) {
            (1 | 5, _) => true,
            (6, Some(kv)) => attributes.iter().any(|(k, _)| key_of(kv) == k.as_bytes()),
            _ => false,
        };
        if !replaced {
            out.extend_from_slice(field.whole);
        }
    }
    let body_len = 1 + crate::value::varint_len(body.len() as u64) + body.len();
    put_len_header(&mut out, 5, body_len);
    out.push(0x0a);
    put_varint(&mut out, body.len() as u64);
    out.extend_from_slice(body.as_bytes());
    for (key, value) in attributes {
        put_attribute(&mut out, 6, key, value);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use aegis_plugin_sdk::wire::{LogRecordData, ResourceData, attributes};
    use aegis_plugin_sdk::{LogRecord, Logs, Resource, Value};

    #[test]
    fn a_resource_copy_replaces_only_its_service_name() {
        let resource = ResourceData {
            attributes: attributes(vec![("service.name", Value::from("old")), ("host.name", Value::from("web-1"))]),
            dropped_attributes_count: 2,
        }
        .encode();
        let copy = resource_with_service(&resource, "aegis-executor");
        let view = Resource::new(&copy);
        let attrs: Vec<(String, Value)> = view.attributes().map(|(k, v)| (k.to_owned(), v.to_value())).collect();
        assert_eq!(
            attrs,
            vec![("host.name".into(), Value::from("web-1")), ("service.name".into(), Value::from("aegis-executor"))]
        );
        assert_eq!(view.dropped_attributes_count(), 2);
    }

    #[test]
    fn built_resources_are_valid_requests_with_their_scopes_and_records() {
        let record = LogRecordData { body: Some(Value::from("moved")), ..Default::default() }.encode();
        let records = vec![record.clone(), record];
        let scope = aegis_plugin_sdk::wire::ScopeData { name: "app".into(), ..Default::default() }.encode();
        let payload = resource_logs(
            &resource_with_service(&[], "svc"),
            "https://schema/r",
            &[ScopePart { scope: &scope, schema_url: "https://schema/s", records: &records }],
        );
        let mut request = Vec::new();
        put_len_field(&mut request, 1, &payload);
        aegis_plugin_sdk::wire::validate(aegis_plugin_sdk::Signal::Logs, &request).unwrap();
        let logs = Logs::parse(&request).unwrap();
        let resource = logs.resource_logs().next().unwrap();
        assert_eq!(resource.schema_url(), "https://schema/r");
        assert_eq!(resource.resource().attribute("service.name").unwrap().as_str(), Some("svc"));
        let scope = resource.scope_logs().next().unwrap();
        assert_eq!((scope.scope().name(), scope.schema_url()), ("app", "https://schema/s"));
        assert_eq!(logs.records().count(), 2);
    }

    #[test]
    fn a_record_rebuilt_from_a_template_keeps_its_other_fields() {
        let template = LogRecordData {
            time_unix_nano: 1,
            observed_time_unix_nano: 7,
            body: Some(Value::from("raw cri line")),
            attributes: attributes(vec![
                ("log.file.path", Value::from("/var/log/pods/a.log")),
                ("logtag", Value::from("x")),
            ]),
            ..Default::default()
        }
        .encode();
        let record = record_from_template(&template, 42, "joined text", &[("logtag", "P")]);
        let view = LogRecord::new(&record);
        assert_eq!((view.time_unix_nano(), view.observed_time_unix_nano()), (42, 7));
        assert_eq!(view.body().unwrap().as_str(), Some("joined text"));
        let attrs: Vec<(&str, String)> = view.attributes().map(|(k, v)| (k, v.to_string())).collect();
        assert_eq!(attrs, vec![("log.file.path", "/var/log/pods/a.log".to_owned()), ("logtag", "P".to_owned())]);
    }
}
