//! Samples per second through the prometheus-remote-write exporter in the host's Wasm
//! runtime: the same `Slot::export` an exporter task calls (the batch copied into the guest,
//! converted, buffered, encoded into `WriteRequest`s and snappy-compressed, the payloads
//! copied back), on a realistic batch of counters, gauges and histograms:
//! `cargo bench --bench remote_write`. Criterion reports elements/s = Prometheus samples per
//! second on one core. The same code natively: `cargo bench -p aegis-plugin-prometheus-remote-write`.

#[path = "../plugins/prometheus-remote-write/benches/data.rs"]
mod data;

use std::time::Duration;

use aegis::admin::metrics::Telemetry;
use aegis::batch::Signal;
use aegis::config::{Grants, Limits, OnError, PluginSource};
use aegis::runtime::{PluginSpec, Runtime, World};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    let runtime = Runtime::new(&Default::default(), Telemetry::new()).expect("runtime");
    let spec = PluginSpec {
        name: "prometheus-remote-write".to_string(),
        source: PluginSource::Builtin("prometheus-remote-write".to_string()),
        world: World::Exporter,
        config_json: r#"{"max_samples_per_request": 2000}"#.to_string(),
        limits: Limits { memory: bytesize::ByteSize::mib(256), timeout: Duration::from_secs(5) },
        on_error: OnError::Pass,
        grants: Grants::default(),
    };
    let plugin = runtime.prepare(spec).unwrap_or_else(|error| panic!("{error}"));
    let mut slot = plugin.slot();
    slot.warm().expect("the plugin starts");
    let mut batches = data::Batches::new();
    let mut group = c.benchmark_group("remote_write");
    group.sample_size(20).measurement_time(Duration::from_secs(5)).warm_up_time(Duration::from_secs(1));
    group.throughput(Throughput::Elements(data::SAMPLES_PER_BATCH));
    group.bench_function("wasm", |b| {
        b.iter_batched(
            || batches.next_batch(),
            |payload| match slot.export(Signal::Metrics, &payload) {
                Ok(payloads) => payloads.iter().map(|p| p.body.len()).sum::<usize>(),
                Err(failure) => panic!("{failure}"),
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
