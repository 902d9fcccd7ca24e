//! Each first-party processor on realistic batches, through the host's Wasm runtime (the
//! same `Slot::process` a pipeline worker calls, limits and output validation included) and
//! the same plugin code compiled natively, in one run: `cargo bench --bench plugins`.
//! Criterion reports elements/s = records (or spans, data points) per second on one core.
//! `AEGIS_BENCH_PAIRED=1` runs native and Wasm (and a second Wasm build) in alternating
//! rounds instead, for ratios that hold on a machine whose speed drifts (`support::paired`).

mod attributes;
mod data;
mod filter;
mod parse_logs;
mod redact;
mod sample;
mod support;

use criterion::{criterion_group, criterion_main};

/// One plugin's benchmark functions.
type Bench = fn(&mut criterion::Criterion);

/// Each plugin's benchmarks; `AEGIS_BENCH_PLUGIN=NAME` runs one plugin's alone, so that a
/// profile (`AEGIS_WASM_PROFILER=perfmap perf record ...`) sees the code of one plugin only.
fn benches(c: &mut criterion::Criterion) {
    let all: [(&str, Bench); 5] = [
        ("attributes", attributes::bench),
        ("filter", filter::bench),
        ("parse-logs", parse_logs::bench),
        ("redact", redact::bench),
        ("sample", sample::bench),
    ];
    let only = std::env::var("AEGIS_BENCH_PLUGIN").ok();
    for (name, bench) in all {
        if only.as_deref().is_none_or(|only| only == name) {
            bench(c);
        }
    }
}

criterion_group!(group, benches);
criterion_main!(group);
