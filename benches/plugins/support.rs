//! Shared support of the plugin benchmarks: data sets, a Wasm slot, the native runner.

use std::sync::Arc;
use std::time::Duration;

use aegis::admin::metrics::Telemetry;
use aegis::batch::Signal;
use aegis::config::{Grants, Limits, OnError, PluginSource};
use aegis::runtime::{Outcome, PluginSpec, Runtime, Slot, World};
use aegis_plugin_sdk::Processor;
use criterion::{BenchmarkId, Criterion, Throughput};

/// A started instance of a first-party processor, as a pipeline worker holds it.
pub(crate) fn wasm_slot(builtin: &str, config_json: &str) -> (Arc<Runtime>, Slot) {
    // `AEGIS_BENCH_NO_CPU_LIMIT=1` compiles the plugins without epoch checks (never done in
    // a collector), to measure what the CPU limit costs.
    let config = aegis::config::RuntimeConfig {
        cpu_limit: std::env::var_os("AEGIS_BENCH_NO_CPU_LIMIT").is_none(),
        ..Default::default()
    };
    let runtime = Arc::new(Runtime::new(&config, Telemetry::new()).expect("runtime"));
    // `AEGIS_BENCH_WASM_DIR=DIR` runs DIR/aegis_plugin_NAME.wasm instead of the embedded
    // build: the same plugin built with other flags, without rebuilding the host.
    let source = match std::env::var_os("AEGIS_BENCH_WASM_DIR") {
        Some(dir) => PluginSource::File(
            std::path::Path::new(&dir).join(format!("aegis_plugin_{}.wasm", builtin.replace('-', "_"))),
        ),
        None => PluginSource::Builtin(builtin.to_string()),
    };
    let spec = PluginSpec {
        name: builtin.to_string(),
        source,
        world: World::Processor,
        config_json: config_json.to_string(),
        limits: Limits { memory: bytesize::ByteSize::mib(256), timeout: Duration::from_secs(5) },
        on_error: OnError::Pass,
        grants: Grants::default(),
    };
    let plugin = runtime.prepare(spec).unwrap_or_else(|error| panic!("{error}"));
    let mut slot = plugin.slot();
    slot.warm().expect("the plugin starts");
    (runtime, slot)
}

/// Benchmarks `builtin` in Wasm against `native` on each payload, reporting items/s.
pub(crate) fn compare<P: Processor>(
    c: &mut Criterion,
    group_name: &str,
    builtin: &str,
    config_json: &str,
    mut native: P,
    signal: Signal,
    payloads: &[(String, Vec<u8>, usize)],
) {
    let (_runtime, mut slot) = wasm_slot(builtin, config_json);
    let mut group = c.benchmark_group(group_name);
    group.sample_size(20).measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    for (name, payload, items) in payloads {
        group.throughput(Throughput::Elements(*items as u64));
        group.bench_with_input(BenchmarkId::new("wasm", name), payload, |b, payload| {
            b.iter(|| match slot.process(signal, payload) {
                Ok(Outcome::Replaced(bytes, _)) => bytes.len(),
                Ok(_) => 0,
                Err(failure) => panic!("{failure}"),
            })
        });
        group.bench_with_input(BenchmarkId::new("native", name), payload, |b, payload| {
            b.iter(|| match aegis_plugin_sdk::run_processor(&mut native, signal, payload) {
                Ok(aegis_plugin_sdk::Outcome::Replaced(bytes)) => {
                    // The host validates what a plugin returns; so does the native path.
                    aegis_wire::validate(signal, &bytes).expect("valid output");
                    bytes.len()
                }
                Ok(_) => 0,
                Err(error) => panic!("{error}"),
            })
        });
    }
    group.finish();
}
