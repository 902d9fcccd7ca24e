//! Reading `AnyValue`s: the short forms encoders write take a fast path, which must read
//! every value exactly as the general walk does.

use aegis_wire::{AnyValue, ValueRef};
use opentelemetry_proto::tonic::common::v1::{AnyValue as PbValue, any_value};
use prost::Message;

fn encoded(value: any_value::Value) -> Vec<u8> {
    PbValue { value: Some(value) }.encode_to_vec()
}

fn read(bytes: &[u8]) -> String {
    format!("{:?}", AnyValue::new(bytes).get())
}

#[test]
fn short_and_long_strings_and_integers_read_alike() {
    for text in ["", "a", &"x".repeat(127), &"y".repeat(128), &"z".repeat(300), "grüße ✓"] {
        let bytes = encoded(any_value::Value::StringValue(text.to_owned()));
        assert!(matches!(AnyValue::new(&bytes).get(), ValueRef::Str(s) if s == text), "{text:?}");
    }
    for n in [0i64, 1, 127, 128, 300, -1, i64::MIN, i64::MAX] {
        let bytes = encoded(any_value::Value::IntValue(n));
        // prost leaves out nothing inside a oneof: even 0 is written.
        assert!(matches!(AnyValue::new(&bytes).get(), ValueRef::Int(v) if v == n), "{n}");
    }
}

#[test]
fn near_misses_of_the_short_forms_take_the_general_walk() {
    // Invalid UTF-8 reads as empty, in both forms.
    assert_eq!(read(&[0x0a, 1, 0xff]), format!("{:?}", ValueRef::Empty));
    let long_invalid = [&[0x0a, 0x80, 0x01][..], &[0xff; 128][..]].concat();
    assert_eq!(read(&long_invalid), format!("{:?}", ValueRef::Empty));
    // A string followed by an integer: the last field wins.
    assert!(matches!(AnyValue::new(&[0x0a, 1, b'a', 0x18, 5]).get(), ValueRef::Int(5)));
    // An integer followed by a string.
    assert!(matches!(AnyValue::new(&[0x18, 5, 0x0a, 1, b'a']).get(), ValueRef::Str("a")));
    // A length that promises more than there is: no string, nothing read past the end.
    assert_eq!(read(&[0x0a, 5, b'a']), format!("{:?}", ValueRef::Empty));
    // A two-byte integer and a truncated one.
    assert!(matches!(AnyValue::new(&[0x18, 0xac, 0x02]).get(), ValueRef::Int(300)));
    assert_eq!(read(&[0x18, 0x80]), format!("{:?}", ValueRef::Empty));
    // Other types are untouched by the fast path.
    assert!(matches!(AnyValue::new(&encoded(any_value::Value::BoolValue(true))).get(), ValueRef::Bool(true)));
    let double = encoded(any_value::Value::DoubleValue(1.5));
    assert!(matches!(AnyValue::new(&double).get(), ValueRef::Double(d) if d == 1.5));
    let bytes = encoded(any_value::Value::BytesValue(vec![1, 2]));
    assert!(matches!(AnyValue::new(&bytes).get(), ValueRef::Bytes([1, 2])));
}
