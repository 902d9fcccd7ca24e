//! Each first-party processor on realistic batches, through the host's Wasm runtime (the
//! same `Slot::process` a pipeline worker calls, limits and output validation included) and
//! the same plugin code compiled natively, in one run: `cargo bench --bench plugins`.
//! Criterion reports elements/s = records (or spans, data points) per second on one core.

mod attributes;
mod data;
mod filter;
mod parse_logs;
mod redact;
mod sample;
mod support;

use criterion::{criterion_group, criterion_main};

criterion_group!(benches, attributes::bench, filter::bench, parse_logs::bench, redact::bench, sample::bench);
criterion_main!(benches);
