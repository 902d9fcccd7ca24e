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
    let cpu_limit = std::env::var_os("AEGIS_BENCH_NO_CPU_LIMIT").is_none();
    wasm_slot_from(builtin, config_json, wasm_dir().as_deref(), cpu_limit)
}

/// `AEGIS_BENCH_WASM_DIR`, when set.
fn wasm_dir() -> Option<std::path::PathBuf> {
    std::env::var_os("AEGIS_BENCH_WASM_DIR").map(std::path::PathBuf::from)
}

/// [`wasm_slot`] with the plugin read from `dir` (`DIR/aegis_plugin_NAME.wasm`) when given,
/// else the embedded build, and compiled with or without the CPU limit's epoch checks.
fn wasm_slot_from(
    builtin: &str,
    config_json: &str,
    dir: Option<&std::path::Path>,
    cpu_limit: bool,
) -> (Arc<Runtime>, Slot) {
    let config = aegis::config::RuntimeConfig { cpu_limit, ..Default::default() };
    let runtime = Arc::new(Runtime::new(&config, Telemetry::new()).expect("runtime"));
    // `AEGIS_BENCH_WASM_DIR=DIR` runs DIR/aegis_plugin_NAME.wasm instead of the embedded
    // build: the same plugin built with other flags, without rebuilding the host.
    let source = match dir {
        Some(dir) => PluginSource::File(dir.join(format!("aegis_plugin_{}.wasm", builtin.replace('-', "_")))),
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
    if std::env::var_os("AEGIS_BENCH_PAIRED").is_some() {
        paired(group_name, builtin, config_json, native, signal, payloads);
        return;
    }
    let (_runtime, mut slot) = wasm_slot(builtin, config_json);
    let mut group = c.benchmark_group(group_name);
    group.sample_size(20).measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    for (name, payload, items) in payloads {
        group.throughput(Throughput::Elements(*items as u64));
        group.bench_with_input(BenchmarkId::new("wasm", name), payload, |b, payload| {
            b.iter(|| run_wasm(&mut slot, signal, payload))
        });
        group.bench_with_input(BenchmarkId::new("native", name), payload, |b, payload| {
            b.iter(|| run_native(&mut native, signal, payload))
        });
    }
    group.finish();
}

/// One way of running a batch: the plugin natively, or one build of it in Wasm.
type Arm<'a> = (&'static str, Box<dyn FnMut(&[u8]) -> usize + 'a>);

/// `AEGIS_BENCH_PAIRED=1`: the arms (native, Wasm, and with `AEGIS_BENCH_PAIRED_B=DIR` the
/// plugin built in DIR) run in alternating rounds of a few milliseconds each, in one
/// process, instead of criterion's runs one after the other. This machine's speed drifts by
/// tens of per cent over seconds; a ratio taken within each round, where the arms ran
/// moments apart, and then its median over the rounds, is far steadier than a ratio of two
/// runs. `AEGIS_BENCH_PAIRED_SECONDS` (default 4) is the time per payload,
/// `AEGIS_BENCH_GROUP=TEXT` keeps only the groups whose name contains TEXT.
/// `AEGIS_BENCH_PAIRED_B_NO_CPU_LIMIT=1` compiles the second Wasm arm without the CPU
/// limit's epoch checks (the first arm's plugin, unless `AEGIS_BENCH_PAIRED_B` names
/// another), so that `wasm-b/wasm` is what the checks cost.
fn paired<P: Processor>(
    group_name: &str,
    builtin: &str,
    config_json: &str,
    mut native: P,
    signal: Signal,
    payloads: &[(String, Vec<u8>, usize)],
) {
    if std::env::var("AEGIS_BENCH_GROUP").is_ok_and(|only| !group_name.contains(&only)) {
        return;
    }
    let seconds: f64 = std::env::var("AEGIS_BENCH_PAIRED_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(4.0);
    let (_runtime, mut slot) = wasm_slot(builtin, config_json);
    let other = std::env::var_os("AEGIS_BENCH_PAIRED_B").map(std::path::PathBuf::from);
    let b_unlimited = std::env::var_os("AEGIS_BENCH_PAIRED_B_NO_CPU_LIMIT").is_some();
    let mut slot_b = (other.is_some() || b_unlimited).then(|| {
        let dir = other.or_else(wasm_dir);
        wasm_slot_from(builtin, config_json, dir.as_deref(), !b_unlimited)
    });
    for (name, payload, items) in payloads {
        let mut arms: Vec<Arm<'_>> = vec![
            ("native", Box::new(|payload: &[u8]| run_native(&mut native, signal, payload))),
            ("wasm", Box::new(|payload: &[u8]| run_wasm(&mut slot, signal, payload))),
        ];
        if let Some((_, slot_b)) = slot_b.as_mut() {
            arms.push(("wasm-b", Box::new(|payload: &[u8]| run_wasm(slot_b, signal, payload))));
        }
        let rates = alternate(&mut arms, payload, *items, Duration::from_secs_f64(seconds));
        report(group_name, name, &arms, &rates);
    }
}

/// One batch through the plugin in Wasm, as a pipeline worker runs it; the output's size.
fn run_wasm(slot: &mut Slot, signal: Signal, payload: &[u8]) -> usize {
    match slot.process(signal, payload) {
        Ok(Outcome::Replaced(bytes, _)) => bytes.len(),
        Ok(_) => 0,
        Err(failure) => panic!("{failure}"),
    }
}

/// One batch through the plugin compiled natively; the output's size.
fn run_native<P: Processor>(native: &mut P, signal: Signal, payload: &[u8]) -> usize {
    match aegis_plugin_sdk::run_processor(native, signal, payload) {
        Ok(aegis_plugin_sdk::Outcome::Replaced(bytes)) => {
            // The host validates what a plugin returns; so does the native path.
            aegis_wire::validate(signal, &bytes).expect("valid output");
            bytes.len()
        }
        Ok(_) => 0,
        Err(error) => panic!("{error}"),
    }
}

/// Runs the arms in rounds, each arm `reps` batches a round, the order rotating from one
/// round to the next; returns each arm's rate (items/s) in every round.
fn alternate(arms: &mut [Arm<'_>], payload: &[u8], items: usize, total: Duration) -> Vec<Vec<f64>> {
    // Warm up, and size a round so that the slowest arm takes about 5 ms of it.
    let mut slowest = Duration::ZERO;
    for (_, run) in arms.iter_mut() {
        for _ in 0..3 {
            std::hint::black_box(run(payload));
        }
        let start = std::time::Instant::now();
        std::hint::black_box(run(payload));
        slowest = slowest.max(start.elapsed());
    }
    let reps = (Duration::from_millis(5).as_secs_f64() / slowest.as_secs_f64().max(1e-9)).ceil().max(1.0) as usize;
    let mut rates = vec![Vec::new(); arms.len()];
    let begin = std::time::Instant::now();
    let mut round = 0;
    while begin.elapsed() < total || round < 10 {
        for k in 0..arms.len() {
            let i = (k + round) % arms.len();
            let run = &mut arms[i].1;
            let start = std::time::Instant::now();
            for _ in 0..reps {
                std::hint::black_box(run(payload));
            }
            rates[i].push((reps * items) as f64 / start.elapsed().as_secs_f64());
        }
        round += 1;
    }
    rates
}

/// Prints each arm's median rate, and the median over rounds of each ratio: native to
/// Wasm, and the other build to the first.
fn report(group_name: &str, name: &str, arms: &[Arm<'_>], rates: &[Vec<f64>]) {
    let mut line = format!("paired {group_name} [{name}] rounds={}:", rates[0].len());
    for ((arm, _), rate) in arms.iter().zip(rates) {
        line.push_str(&format!(" {arm} {}", human(median(rate.clone()))));
    }
    let ratio = |a: usize, b: usize| median(rates[a].iter().zip(&rates[b]).map(|(x, y)| x / y).collect());
    line.push_str(&format!("; native/wasm {:.3}", ratio(0, 1)));
    if arms.len() > 2 {
        line.push_str(&format!("; wasm-b/wasm {:.3}; native/wasm-b {:.3}", ratio(2, 1), ratio(0, 2)));
    }
    println!("{line}");
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn human(rate: f64) -> String {
    if rate >= 1e6 { format!("{:.3} M/s", rate / 1e6) } else { format!("{:.1} k/s", rate / 1e3) }
}
