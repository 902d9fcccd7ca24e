//! The guest side of the boundary benchmark (`benches/boundary.rs`): one
//! component exporting the redaction and sampling workloads once per way of
//! moving a batch across the boundary, and for OTLP bytes once more with the
//! SDK's `aegis-wire` (see `wit/boundary.wit` and `docs/design.md`, "Data
//! across the boundary").

mod logs;
mod otlp;
mod rules;

// The generated glue (imports, exports and their ABI) is the one place with `unsafe`.
#[allow(unsafe_code)]
mod bindings {
    wit_bindgen::generate!({ path: "wit", world: "boundary" });
    use super::Bench;
    export!(Bench with_types_in self);
}

use aegis_wire::Logs;
use bindings::aegis::boundary_bench::batch::LogBatch;
use bindings::aegis::boundary_bench::bytes::Outcome;
use bindings::aegis::boundary_bench::typed::LogRecord;

struct Bench;

impl bindings::Guest for Bench {
    fn typed_redact(mut records: Vec<LogRecord>) -> Vec<LogRecord> {
        for record in &mut records {
            if rules::looks_like_email(&record.body) {
                record.body = rules::MASK.to_string();
            }
            for pair in &mut record.attributes {
                if rules::must_mask(&pair.key, &pair.value) {
                    pair.value = rules::MASK.to_string();
                }
            }
        }
        records
    }

    fn typed_sample(mut records: Vec<LogRecord>) -> Vec<LogRecord> {
        records.retain(|record| rules::keep(&record.trace_id));
        records
    }

    fn bytes_redact(payload: Vec<u8>) -> Result<Outcome, String> {
        outcome(logs::redact(&payload))
    }

    fn bytes_sample(payload: Vec<u8>) -> Result<Outcome, String> {
        outcome(logs::sample(&payload))
    }

    fn wire_redact(payload: Vec<u8>) -> Result<Outcome, String> {
        let mut logs = Logs::parse(&payload).map_err(|error| error.to_string())?;
        // Keys are owned because the record is borrowed to read them and again to
        // edit; one buffer serves the whole batch.
        let mut secret_keys: Vec<String> = Vec::new();
        for mut record in logs.records_mut() {
            let body = record.body().and_then(|body| body.as_str());
            if body.is_some_and(rules::looks_like_email) {
                record.set_body(rules::MASK);
            }
            secret_keys.clear();
            let secret = record
                .attributes()
                .filter(|(key, value)| value.as_str().is_some_and(|text| rules::must_mask(key, text)));
            secret_keys.extend(secret.map(|(key, _)| key.to_owned()));
            for key in &secret_keys {
                record.set_attribute(key, rules::MASK);
            }
        }
        Ok(wire_outcome(logs.finish()))
    }

    fn wire_sample(payload: Vec<u8>) -> Result<Outcome, String> {
        let mut logs = Logs::parse(&payload).map_err(|error| error.to_string())?;
        logs.retain(|record| rules::keep(record.trace_id()));
        Ok(wire_outcome(logs.finish()))
    }

    fn handle_redact(batch: &LogBatch) {
        for i in 0..batch.len() {
            if rules::looks_like_email(&batch.body(i)) {
                batch.set_body(i, rules::MASK);
            }
            for j in 0..batch.attribute_count(i) {
                let (key, value) = batch.attribute(i, j);
                if rules::must_mask(&key, &value) {
                    batch.set_attribute(i, &key, rules::MASK);
                }
            }
        }
    }

    fn handle_sample(batch: &LogBatch) {
        for i in 0..batch.len() {
            if !rules::keep(&batch.trace_id(i)) {
                batch.drop_record(i);
            }
        }
    }

    fn handle_calls(batch: &LogBatch, calls: u32) -> u64 {
        (0..calls).map(|_| u64::from(batch.len())).sum()
    }

    fn bytes_in(_payload: Vec<u8>) -> Outcome {
        Outcome::Unchanged
    }

    fn bytes_echo(payload: Vec<u8>) -> Vec<u8> {
        payload
    }
}

fn wire_outcome(outcome: aegis_wire::Outcome) -> Outcome {
    match outcome {
        aegis_wire::Outcome::Unchanged => Outcome::Unchanged,
        aegis_wire::Outcome::Replaced(bytes) => Outcome::Replaced(bytes),
        aegis_wire::Outcome::Dropped => Outcome::Dropped,
    }
}

fn outcome(edited: otlp::Result<logs::Edited>) -> Result<Outcome, String> {
    match edited {
        Ok(logs::Edited::Unchanged) => Ok(Outcome::Unchanged),
        Ok(logs::Edited::Replaced(bytes)) => Ok(Outcome::Replaced(bytes)),
        Ok(logs::Edited::Dropped) => Ok(Outcome::Dropped),
        Err(malformed) => Err(format!("malformed OTLP logs request: {malformed:?}")),
    }
}
