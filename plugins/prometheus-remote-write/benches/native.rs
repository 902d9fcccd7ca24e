//! The prometheus-remote-write exporter compiled natively, on the same batches as the Wasm
//! benchmark in the root crate (`cargo bench --bench remote_write`), for comparison:
//! `cargo bench -p aegis-plugin-prometheus-remote-write`. Criterion reports elements/s =
//! Prometheus samples per second on one core.

mod data;

use std::time::Duration;

use aegis_plugin_prometheus_remote_write::RemoteWrite;
use aegis_plugin_sdk::{Batch, Config, Exporter, Signal};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    let config = Config::from_value(serde_json::json!({ "max_samples_per_request": 2000 }));
    let mut exporter = RemoteWrite::init(config).expect("a valid config");
    let mut batches = data::Batches::new();
    let mut group = c.benchmark_group("remote_write");
    group.sample_size(20).measurement_time(Duration::from_secs(5)).warm_up_time(Duration::from_secs(1));
    group.throughput(Throughput::Elements(data::SAMPLES_PER_BATCH));
    group.bench_function("native", |b| {
        b.iter_batched(
            || Batch::new(Signal::Metrics, batches.next_batch()),
            |batch| {
                let payloads = exporter.export_at(&batch, 0).expect("export");
                payloads.iter().map(|p| p.body.len()).sum::<usize>()
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
