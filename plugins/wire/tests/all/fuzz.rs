//! Random damage: whatever the bytes, nothing panics, and edits of whatever indexes
//! still come out as something.

use aegis_wire::{Logs, Metrics, Signal, Traces, split, validate};

use crate::support::*;

pub(crate) fn damage(rng: &mut Rng, bytes: &[u8]) -> Vec<u8> {
    let mut broken = bytes.to_vec();
    match rng.below(4) {
        0 => {
            let at = rng.below(broken.len());
            broken[at] = rng.next() as u8;
        }
        1 => {
            let at = rng.below(broken.len());
            broken[at] ^= 1 << rng.below(8);
        }
        2 => broken.truncate(rng.below(broken.len())),
        _ => {
            let at = rng.below(broken.len());
            let len = rng.below(8);
            let junk: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            broken.splice(at..at, junk);
        }
    }
    broken
}

/// A record's singular fields, each read by its own getter.
fn getters<'a>(view: &aegis_wire::LogRecord<'a>) -> aegis_wire::LogFields<'a> {
    aegis_wire::LogFields {
        time_unix_nano: view.time_unix_nano(),
        observed_time_unix_nano: view.observed_time_unix_nano(),
        severity_number: view.severity_number(),
        severity_text: view.severity_text(),
        body: view.body(),
        dropped_attributes_count: view.dropped_attributes_count(),
        flags: view.flags(),
        trace_id: view.trace_id(),
        span_id: view.span_id(),
        event_name: view.event_name(),
    }
}

fn exercise(signal: Signal, bytes: &[u8]) {
    let _ = validate(signal, bytes);
    let _ = split(signal, bytes, 1 + bytes.len() % 3);
    match signal {
        Signal::Logs => {
            if let Ok(mut logs) = Logs::parse(bytes) {
                let mut scratch = aegis_wire::AttributeScratch::default();
                for (n, mut record) in logs.records_mut().enumerate() {
                    record.edit_attributes(&mut scratch, |attrs| {
                        let _ = attrs.get("http.method").map(|v| v.to_string());
                        attrs.rename("http.route", "route");
                        attrs.copy("cached", "c");
                        attrs.set("k", 1);
                        attrs.remove("payload");
                    });
                    let view = record.view();
                    assert_eq!(view.fields(), getters(&view), "the one-pass read agrees with the getters");
                    let _ = (view.severity_text(), view.body().map(|b| b.to_string()));
                    let _: Vec<_> = view.attributes().map(|(k, v)| (k, v.to_value())).collect();
                    match n % 3 {
                        0 => record.set_attribute("k", "v"),
                        1 => {
                            record.remove_attribute("http.method");
                            record.set_body(1.5);
                        }
                        _ => record.remove(),
                    }
                }
                for mut resource in logs.resource_logs_mut() {
                    resource.set_attribute("r", 1);
                }
                let _ = logs.finish();
            }
        }
        Signal::Traces => {
            if let Ok(mut traces) = Traces::parse(bytes) {
                for mut span in traces.spans_mut() {
                    let _ = aegis_wire::SpanData::from_view(&span.view());
                    span.set_name("x");
                    span.set_attribute("http.route", 1);
                }
                let _ = traces.finish();
            }
        }
        Signal::Metrics => {
            if let Ok(mut metrics) = Metrics::parse(bytes) {
                for m in metrics.metrics() {
                    for p in m.data_points() {
                        let _ = (p.value(), p.bucket_counts(), p.quantile_values(), p.sum());
                    }
                }
                for mut p in metrics.data_points_mut() {
                    p.set_attribute("a", "b");
                }
                for mut m in metrics.metrics_mut() {
                    m.set_name("n");
                }
                let _ = metrics.finish();
            }
        }
    }
}

#[test]
fn random_damage_never_panics_any_entry_point() {
    let mut rng = Rng(0xdead_beef);
    let inputs = [
        (Signal::Logs, encode(&logs_request(2))),
        (Signal::Traces, encode(&traces_request(1))),
        (Signal::Metrics, encode(&metrics_request(1))),
    ];
    for (signal, bytes) in &inputs {
        for _ in 0..2000 {
            let broken = damage(&mut rng, bytes);
            exercise(*signal, &broken);
            // The wrong signal must not panic either.
            exercise(Signal::Logs, &broken);
        }
    }
}

#[test]
fn pure_noise_never_panics_any_entry_point() {
    let mut rng = Rng(7);
    for _ in 0..3000 {
        let len = rng.below(64);
        let noise: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        for signal in [Signal::Logs, Signal::Traces, Signal::Metrics] {
            exercise(signal, &noise);
        }
    }
}

#[test]
fn edits_of_a_valid_request_always_produce_a_valid_request() {
    let mut rng = Rng(42);
    let bytes = encode(&logs_request(3));
    for _ in 0..300 {
        let mut logs = Logs::parse(&bytes).unwrap();
        for mut record in logs.records_mut() {
            match rng.below(6) {
                0 => record.remove(),
                1 => record.set_attribute("http.method", rng.next() as i64),
                2 => {
                    record.remove_attribute("cached");
                }
                3 => record.set_body("b"),
                4 => record.set_severity_number(rng.below(25) as i32),
                _ => {}
            }
        }
        if let aegis_wire::Outcome::Replaced(out) = logs.finish() {
            validate(Signal::Logs, &out).expect("edited output validates");
        }
    }
}

#[test]
fn the_one_pass_read_of_a_record_keeps_protobufs_rules() {
    use aegis_wire::encode::{put_tag, put_varint};
    let mut bytes = Vec::new();
    // time twice (the last wins), a valid then a broken severity text (the last wins, and
    // reads as empty), a trace id with the wrong wire type (ignored), a body, span id.
    for time in [1u64, 2] {
        put_tag(&mut bytes, 1, 1);
        bytes.extend_from_slice(&time.to_le_bytes());
    }
    for text in [&b"INFO"[..], &[0xff, 0xfe][..]] {
        put_tag(&mut bytes, 3, 2);
        put_varint(&mut bytes, text.len() as u64);
        bytes.extend_from_slice(text);
    }
    put_tag(&mut bytes, 9, 0);
    put_varint(&mut bytes, 7);
    put_tag(&mut bytes, 5, 2);
    bytes.extend_from_slice(&[3, 0x0a, 1, b'x']);
    put_tag(&mut bytes, 10, 2);
    bytes.extend_from_slice(&[2, 0xab, 0xcd]);
    put_tag(&mut bytes, 2, 0);
    put_varint(&mut bytes, 17);
    let view = aegis_wire::LogRecord::new(&bytes);
    let fields = view.fields();
    assert_eq!(fields, getters(&view));
    assert_eq!(fields.time_unix_nano, 2);
    assert_eq!(fields.severity_text, "");
    assert_eq!(fields.severity_number, 17);
    assert_eq!(fields.trace_id, b"");
    assert_eq!(fields.span_id, [0xab, 0xcd]);
    assert_eq!(fields.body.map(|b| b.to_string()), Some("x".to_owned()));
}
