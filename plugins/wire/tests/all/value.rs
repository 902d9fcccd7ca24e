//! Reading `AnyValue`s: the short forms encoders write take a fast path, which must read
//! every value as the general walk does (prost encodings of every type, and the near misses
//! of the short forms, which take the walk).

use aegis_wire::{AnyValue, ValueRef};
use opentelemetry_proto::tonic::common::v1::{AnyValue as PbValue, any_value};
use prost::Message;

fn encoded(value: any_value::Value) -> Vec<u8> {
    PbValue { value: Some(value) }.encode_to_vec()
}

fn read(bytes: &[u8]) -> ValueRef<'_> {
    AnyValue::new(bytes).get()
}

#[test]
fn short_and_long_strings_and_integers_read_alike() {
    for text in ["", "a", &"x".repeat(127), &"y".repeat(128), &"z".repeat(300), "grüße ✓"] {
        let bytes = encoded(any_value::Value::StringValue(text.to_owned()));
        assert_eq!(read(&bytes), ValueRef::Str(text), "{text:?}");
    }
    for n in [0i64, 1, 127, 128, 300, -1, i64::MIN, i64::MAX] {
        let bytes = encoded(any_value::Value::IntValue(n));
        // prost leaves out nothing inside a oneof: even 0 is written.
        assert_eq!(read(&bytes), ValueRef::Int(n), "{n}");
    }
}

#[test]
fn near_misses_of_the_short_forms_take_the_general_walk() {
    // Invalid UTF-8 reads as empty, in both forms.
    assert_eq!(read(&[0x0a, 1, 0xff]), ValueRef::Empty);
    let long_invalid = [&[0x0a, 0x80, 0x01][..], &[0xff; 128][..]].concat();
    assert_eq!(read(&long_invalid), ValueRef::Empty);
    // A string followed by an integer: the last field wins.
    assert_eq!(read(&[0x0a, 1, b'a', 0x18, 5]), ValueRef::Int(5));
    // An integer followed by a string.
    assert_eq!(read(&[0x18, 5, 0x0a, 1, b'a']), ValueRef::Str("a"));
    // A length that promises more than there is: no string, nothing read past the end.
    assert_eq!(read(&[0x0a, 5, b'a']), ValueRef::Empty);
    // A two-byte integer and a truncated one.
    assert_eq!(read(&[0x18, 0xac, 0x02]), ValueRef::Int(300));
    assert_eq!(read(&[0x18, 0x80]), ValueRef::Empty);
    // Other types are untouched by the fast path.
    assert_eq!(read(&encoded(any_value::Value::BoolValue(true))), ValueRef::Bool(true));
    assert_eq!(read(&encoded(any_value::Value::DoubleValue(1.5))), ValueRef::Double(1.5));
    assert_eq!(read(&encoded(any_value::Value::BytesValue(vec![1, 2]))), ValueRef::Bytes(&[1, 2]));
}

#[test]
fn attributes_also_note_the_body_as_the_body_getter_reads_it() {
    use aegis_wire::{Attributes, LogRecord};
    use opentelemetry_proto::tonic::common::v1::KeyValue;
    use opentelemetry_proto::tonic::logs::v1::LogRecord as PbRecord;
    let kv = |k: &str, v: &str| KeyValue {
        key: k.into(),
        value: Some(PbValue { value: Some(any_value::Value::StringValue(v.into())) }),
        ..Default::default()
    };
    let with_body = PbRecord {
        body: Some(PbValue { value: Some(any_value::Value::StringValue("hello".into())) }),
        attributes: vec![kv("a", "1"), kv("b", "2")],
        ..Default::default()
    }
    .encode_to_vec();
    // A second body after the attributes: the last one wins, for both.
    let mut two_bodies = with_body.clone();
    two_bodies.extend(
        PbRecord { body: Some(PbValue { value: Some(any_value::Value::IntValue(7)) }), ..Default::default() }
            .encode_to_vec(),
    );
    let no_body = PbRecord { attributes: vec![kv("a", "1")], ..Default::default() }.encode_to_vec();
    for (name, bytes) in [("one body", &with_body), ("two bodies", &two_bodies), ("no body", &no_body)] {
        let mut attributes = Attributes::new(bytes, 6).also(5);
        let keys: Vec<&str> = attributes.by_ref().map(|(k, _)| k).collect();
        assert_eq!(keys.len(), if name == "no body" { 1 } else { 2 }, "{name}");
        let body = attributes.also_found().map(AnyValue::new);
        assert_eq!(body, LogRecord::new(bytes).body(), "{name}");
    }
    let mut last = Attributes::new(&two_bodies, 6).also(5);
    while last.next().is_some() {}
    assert_eq!(last.also_found().map(|b| AnyValue::new(b).get()), Some(ValueRef::Int(7)));
    // Without `also`, nothing is noted.
    let mut plain = Attributes::new(&with_body, 6);
    while plain.next().is_some() {}
    assert_eq!(plain.also_found(), None);
}
