//! Any bytes as an OTLP request of each signal: the wire crate's validation, split, views
//! and edits against prost's reading of the same bytes (see `aegis_fuzz::differential`).
#![no_main]

use aegis_fuzz::differential::{check, parse_input};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some((signal, ops, bytes)) = parse_input(data) {
        check(signal, bytes, ops);
    }
});
