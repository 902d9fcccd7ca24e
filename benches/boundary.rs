//! Measures how a batch of log records can cross the host/plugin boundary, to
//! choose one by numbers (recorded in `docs/design.md`, "Data across the boundary").
//!
//! Three approaches run the same two workloads on the same 1,000 records, in one
//! guest (`benches/boundary-guest`) on an engine set up as the host sets it up:
//! (a) typed WIT records, (b) OTLP protobuf bytes read in place by the guest,
//! (c) a handle to a batch the host keeps. Baselines: the `list<u8>` copy alone,
//! one host call, `aegis-wire` validation and prost decode + encode of the batch. Before measuring, every approach's
//! output is checked against the same rules applied on the host.
//!
//! Run with `cargo bench --bench boundary`; criterion reports time per batch and
//! records per second (`Throughput::Elements`).

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource as OtlpResource;
use prost::Message as _;
use wasmtime::component::{Component, HasSelf, Linker, Resource, ResourceTable};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, OptLevel, PoolingAllocationConfig, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

/// The workloads' rules, compiled into the host too so that it can check the guest.
#[path = "boundary-guest/src/rules.rs"]
mod rules;

/// The guest's OTLP walk, compiled natively too: the difference from approach
/// (b) is what running it as WebAssembly costs.
#[path = "boundary-guest/src/logs.rs"]
mod logs;
#[path = "boundary-guest/src/otlp.rs"]
mod otlp;

/// The host side of the bench contract (the same WIT the guest is built from).
mod bindings {
    wasmtime::component::bindgen!({
        path: "benches/boundary-guest/wit",
        world: "boundary",
        with: { "aegis:boundary-bench/batch.log-batch": super::LogBatch },
        imports: { default: trappable },
    });
}

use bindings::aegis::boundary_bench::{batch as wit_batch, bytes, bytes::Outcome, typed};

const GUEST: &[u8] = include_bytes!(concat!(env!("AEGIS_PLUGIN_ARTIFACTS"), "/aegis_plugin_boundary_guest.wasm"));

/// Records per batch, as the pipeline batches them.
const RECORDS: usize = 1_000;

// ---------------------------------------------------------------------------
// The engine and store, as the host sets them up.

/// What the store holds: an empty WASI context (no files, environment or
/// network) and the table where approach (c) keeps its batches.
struct State {
    wasi: WasiCtx,
    table: ResourceTable,
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

fn engine() -> Engine {
    let mut pooling = PoolingAllocationConfig::default();
    // The defaults size the pool for a thousand instances; a bench needs a few.
    pooling
        .total_component_instances(8)
        .total_core_instances(64)
        .total_memories(16)
        .total_tables(16)
        .total_stacks(8)
        .max_memory_size(256 << 20);
    let mut config = Config::new();
    config
        .epoch_interruption(true)
        .cranelift_opt_level(OptLevel::Speed)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pooling));
    Engine::new(&config).expect("configure the engine")
}

fn instantiate(engine: &Engine) -> (Store<State>, bindings::Boundary) {
    let component = Component::new(engine, GUEST).expect("compile the boundary guest");
    let mut linker = Linker::<State>::new(engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker).expect("link WASI");
    bindings::Boundary::add_to_linker::<State, HasSelf<State>>(&mut linker, |state| state)
        .expect("link the batch host");
    let state = State { wasi: WasiCtx::builder().build(), table: ResourceTable::new() };
    let mut store = Store::new(engine, state);
    // Nothing advances the epoch here; the deadline only makes the guest pay
    // for the checks, as it does in the host.
    store.set_epoch_deadline(1 << 40);
    let pre = bindings::BoundaryPre::new(linker.instantiate_pre(&component).expect("pre-instantiate"))
        .expect("the guest exports the bench world");
    let instance = pre.instantiate(&mut store).expect("instantiate the boundary guest");
    (store, instance)
}

// ---------------------------------------------------------------------------
// Approach (c): the batch the host keeps, and the calls the plugin makes on it.

/// A decoded batch lent to the plugin; records are numbered in the order they
/// appear, across resources and scopes.
#[derive(Clone)]
pub struct LogBatch {
    request: ExportLogsServiceRequest,
    /// (resource, scope, record) of each record, by the number the plugin sees.
    index: Vec<(usize, usize, usize)>,
    dropped: Vec<bool>,
}

impl LogBatch {
    fn new(request: ExportLogsServiceRequest) -> Self {
        let mut index = Vec::new();
        for (r, resource) in request.resource_logs.iter().enumerate() {
            for (s, scope) in resource.scope_logs.iter().enumerate() {
                index.extend((0..scope.log_records.len()).map(|k| (r, s, k)));
            }
        }
        let dropped = vec![false; index.len()];
        Self { request, index, dropped }
    }

    fn position(&self, i: u32) -> wasmtime::Result<(usize, usize, usize)> {
        let found = self.index.get(i as usize).copied();
        found.ok_or_else(|| wasmtime::format_err!("record {i} is out of range (the batch has {})", self.index.len()))
    }

    fn record(&self, i: u32) -> wasmtime::Result<&LogRecord> {
        let (r, s, k) = self.position(i)?;
        Ok(&self.request.resource_logs[r].scope_logs[s].log_records[k])
    }

    fn record_mut(&mut self, i: u32) -> wasmtime::Result<&mut LogRecord> {
        let (r, s, k) = self.position(i)?;
        Ok(&mut self.request.resource_logs[r].scope_logs[s].log_records[k])
    }

    /// The batch with the dropped records removed.
    fn finish(self) -> ExportLogsServiceRequest {
        let Self { mut request, dropped, .. } = self;
        let mut keep = dropped.iter().map(|dropped| !dropped);
        for resource in &mut request.resource_logs {
            for scope in &mut resource.scope_logs {
                scope.log_records.retain(|_| keep.next().unwrap_or(true));
            }
        }
        request
    }
}

// The interfaces that only define types have nothing to implement.
impl typed::Host for State {}
impl bytes::Host for State {}
impl wit_batch::Host for State {}

impl wit_batch::HostLogBatch for State {
    fn len(&mut self, batch: Resource<LogBatch>) -> wasmtime::Result<u32> {
        Ok(u32::try_from(self.table.get(&batch)?.index.len())?)
    }

    fn body(&mut self, batch: Resource<LogBatch>, i: u32) -> wasmtime::Result<String> {
        let record = self.table.get(&batch)?.record(i)?;
        Ok(record.body.as_ref().and_then(as_str).unwrap_or_default().to_string())
    }

    fn set_body(&mut self, batch: Resource<LogBatch>, i: u32, body: String) -> wasmtime::Result<()> {
        self.table.get_mut(&batch)?.record_mut(i)?.body = Some(string_value(body));
        Ok(())
    }

    fn attribute_count(&mut self, batch: Resource<LogBatch>, i: u32) -> wasmtime::Result<u32> {
        Ok(u32::try_from(self.table.get(&batch)?.record(i)?.attributes.len())?)
    }

    fn attribute(&mut self, batch: Resource<LogBatch>, i: u32, j: u32) -> wasmtime::Result<(String, String)> {
        let record = self.table.get(&batch)?.record(i)?;
        let pair = record.attributes.get(j as usize).ok_or_else(|| {
            wasmtime::format_err!("attribute {j} of record {i} is out of range (it has {})", record.attributes.len())
        })?;
        let value = pair.value.as_ref().and_then(as_str).unwrap_or_default();
        Ok((pair.key.clone(), value.to_string()))
    }

    fn set_attribute(&mut self, batch: Resource<LogBatch>, i: u32, key: String, value: String) -> wasmtime::Result<()> {
        let record = self.table.get_mut(&batch)?.record_mut(i)?;
        match record.attributes.iter_mut().find(|pair| pair.key == key) {
            Some(pair) => pair.value = Some(string_value(value)),
            None => record.attributes.push(key_value(key, value)),
        }
        Ok(())
    }

    fn trace_id(&mut self, batch: Resource<LogBatch>, i: u32) -> wasmtime::Result<Vec<u8>> {
        Ok(self.table.get(&batch)?.record(i)?.trace_id.clone())
    }

    fn drop_record(&mut self, batch: Resource<LogBatch>, i: u32) -> wasmtime::Result<()> {
        let batch = self.table.get_mut(&batch)?;
        batch.position(i)?;
        batch.dropped[i as usize] = true;
        Ok(())
    }

    fn drop(&mut self, batch: Resource<LogBatch>) -> wasmtime::Result<()> {
        self.table.delete(batch)?;
        Ok(())
    }
}

/// Lends `batch` to the guest for one call of `run`, and takes it back.
fn with_handle(
    store: &mut Store<State>,
    batch: LogBatch,
    run: impl FnOnce(&mut Store<State>, Resource<LogBatch>) -> wasmtime::Result<()>,
) -> ExportLogsServiceRequest {
    let handle = store.data_mut().table.push(batch).expect("room in the resource table");
    let borrowed = Resource::new_borrow(handle.rep());
    run(store, borrowed).expect("the guest runs the workload");
    store.data_mut().table.delete(handle).expect("the batch is still in the table").finish()
}

// ---------------------------------------------------------------------------
// Approach (a): converting between OTLP and the typed WIT records.

/// The records of `request` as WIT records, moving the strings out.
fn to_typed(request: &mut ExportLogsServiceRequest) -> Vec<typed::LogRecord> {
    let records = request.resource_logs.iter_mut().flat_map(|r| &mut r.scope_logs).flat_map(|s| &mut s.log_records);
    records
        .map(|record| typed::LogRecord {
            time_unix_nano: record.time_unix_nano,
            observed_time_unix_nano: record.observed_time_unix_nano,
            severity_number: record.severity_number,
            severity_text: std::mem::take(&mut record.severity_text),
            body: record.body.take().and_then(into_string).unwrap_or_default(),
            trace_id: std::mem::take(&mut record.trace_id),
            span_id: std::mem::take(&mut record.span_id),
            trace_flags: record.flags,
            attributes: std::mem::take(&mut record.attributes)
                .into_iter()
                .map(|pair| typed::KeyValue {
                    key: pair.key,
                    value: pair.value.and_then(into_string).unwrap_or_default(),
                })
                .collect(),
        })
        .collect()
}

/// Puts WIT records back into the (single) scope of the request they came
/// from; the typed contract carries no resource or scope, so a batch of several
/// would need more than this.
fn from_typed(mut request: ExportLogsServiceRequest, records: Vec<typed::LogRecord>) -> ExportLogsServiceRequest {
    let scope = &mut request.resource_logs[0].scope_logs[0];
    scope.log_records = records
        .into_iter()
        .map(|record| LogRecord {
            time_unix_nano: record.time_unix_nano,
            observed_time_unix_nano: record.observed_time_unix_nano,
            severity_number: record.severity_number,
            severity_text: record.severity_text,
            body: Some(string_value(record.body)),
            trace_id: record.trace_id,
            span_id: record.span_id,
            flags: record.trace_flags,
            attributes: record.attributes.into_iter().map(|pair| key_value(pair.key, pair.value)).collect(),
            ..LogRecord::default()
        })
        .collect();
    request
}

// ---------------------------------------------------------------------------
// The batch.

/// A batch like the Aegis services' JSON logs: one resource, one scope, and
/// 1,000 records of six string attributes each; about one body in twenty
/// carries an e-mail address.
fn sample_batch() -> ExportLogsServiceRequest {
    let mut random = SplitMix64(0x5eed);
    let log_records = (0..RECORDS)
        .map(|n| {
            let body = if n % 20 == 7 {
                format!("User created successfully for user{n}@example.com")
            } else {
                "User created successfully".to_string()
            };
            let (high, low) = (random.next(), random.next());
            let user_id = format!(
                "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
                high >> 32,
                (high >> 16) & 0xffff,
                high & 0xfff,
                (low >> 48) | 0x8000,
                low & 0xffff_ffff_ffff
            );
            let millis = random.next() % 50_000;
            let attributes = [
                ("service.name", "aegis-backend".to_string()),
                ("http.request.method", "POST".to_string()),
                ("url.path", "/api/v1/users".to_string()),
                ("http.response.status_code", "201".to_string()),
                ("duration_ms", format!("{}.{:03}", millis / 1000, millis % 1000)),
                ("user_id", user_id),
            ];
            let mut trace_id = random.next().to_le_bytes().to_vec();
            trace_id.extend(random.next().to_le_bytes());
            let time = 1_764_572_400_000_000_000 + n as u64 * 1_000_000;
            LogRecord {
                time_unix_nano: time,
                observed_time_unix_nano: time + 250_000,
                severity_number: 9,
                severity_text: "INFO".to_string(),
                body: Some(string_value(body)),
                attributes: attributes.into_iter().map(|(key, value)| key_value(key.to_string(), value)).collect(),
                flags: 1,
                trace_id,
                span_id: random.next().to_le_bytes().to_vec(),
                ..LogRecord::default()
            }
        })
        .collect();
    let resource = OtlpResource {
        attributes: vec![key_value("service.name".into(), "aegis-backend".into())],
        ..OtlpResource::default()
    };
    let scope = InstrumentationScope { name: "aegis-backend".into(), ..InstrumentationScope::default() };
    ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(resource),
            scope_logs: vec![ScopeLogs { scope: Some(scope), log_records, ..ScopeLogs::default() }],
            ..ResourceLogs::default()
        }],
    }
}

/// A small deterministic generator, so that every run measures the same batch.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

fn key_value(key: String, value: String) -> KeyValue {
    KeyValue { key, value: Some(string_value(value)), ..KeyValue::default() }
}

fn string_value(text: String) -> AnyValue {
    AnyValue { value: Some(any_value::Value::StringValue(text)) }
}

fn as_str(value: &AnyValue) -> Option<&str> {
    match &value.value {
        Some(any_value::Value::StringValue(text)) => Some(text),
        _ => None,
    }
}

fn into_string(value: AnyValue) -> Option<String> {
    match value.value {
        Some(any_value::Value::StringValue(text)) => Some(text),
        _ => None,
    }
}

// ---------------------------------------------------------------------------
// Checking that every approach did the same work.

/// What a workload's result is judged on: per record, the body, the
/// attributes and the trace id.
type Digest = Vec<(String, Vec<(String, String)>, Vec<u8>)>;

fn digest(request: &ExportLogsServiceRequest) -> Digest {
    let records = request.resource_logs.iter().flat_map(|r| &r.scope_logs).flat_map(|s| &s.log_records);
    records
        .map(|record| {
            let attributes = record
                .attributes
                .iter()
                .map(|pair| (pair.key.clone(), pair.value.as_ref().and_then(as_str).unwrap_or_default().to_string()))
                .collect();
            (record.body.as_ref().and_then(as_str).unwrap_or_default().to_string(), attributes, record.trace_id.clone())
        })
        .collect()
}

fn digest_typed(records: &[typed::LogRecord]) -> Digest {
    let pairs =
        |record: &typed::LogRecord| record.attributes.iter().map(|p| (p.key.clone(), p.value.clone())).collect();
    records.iter().map(|record| (record.body.clone(), pairs(record), record.trace_id.clone())).collect()
}

fn digest_outcome(outcome: &Outcome, input: &[u8]) -> Digest {
    match outcome {
        Outcome::Unchanged => digest(&ExportLogsServiceRequest::decode(input).expect("decode the input")),
        Outcome::Replaced(bytes) => digest(&ExportLogsServiceRequest::decode(&bytes[..]).expect("decode the output")),
        Outcome::Dropped => Vec::new(),
    }
}

/// What the guest would have returned for this result of its walk.
fn native(edited: otlp::Result<logs::Edited>) -> Outcome {
    match edited.expect("well-formed") {
        logs::Edited::Unchanged => Outcome::Unchanged,
        logs::Edited::Replaced(bytes) => Outcome::Replaced(bytes),
        logs::Edited::Dropped => Outcome::Dropped,
    }
}

/// The two workloads done on the host, as the reference the guest must match.
fn expected(request: &ExportLogsServiceRequest) -> (Digest, Digest) {
    let mut redacted = digest(request);
    for (body, attributes, _) in &mut redacted {
        if rules::looks_like_email(body) {
            *body = rules::MASK.to_string();
        }
        for (key, value) in attributes {
            if rules::must_mask(key, value) {
                *value = rules::MASK.to_string();
            }
        }
    }
    let mut sampled = digest(request);
    sampled.retain(|(_, _, trace_id)| rules::keep(trace_id));
    (redacted, sampled)
}

/// Runs every approach once and panics unless each did what the rules say.
fn check(store: &mut Store<State>, guest: &bindings::Boundary, request: &ExportLogsServiceRequest, payload: &[u8]) {
    let (redacted, sampled) = expected(request);
    assert!(
        redacted.iter().zip(digest(request)).any(|(after, before)| after.0 != before.0),
        "the batch has bodies to redact"
    );
    assert!(sampled.len() > RECORDS / 20 && sampled.len() < RECORDS / 5, "sampling keeps about one in ten");

    let typed_in = to_typed(&mut request.clone());
    let out = guest.call_typed_redact(&mut *store, &typed_in).expect("typed-redact");
    assert_eq!(digest_typed(&out), redacted, "(a) redaction");
    let out = guest.call_typed_sample(&mut *store, &typed_in).expect("typed-sample");
    assert_eq!(digest_typed(&out), sampled, "(a) sampling");

    let out = guest.call_bytes_redact(&mut *store, payload).expect("bytes-redact").expect("well-formed");
    assert_eq!(digest_outcome(&out, payload), redacted, "(b) redaction");
    let out = guest.call_bytes_sample(&mut *store, payload).expect("bytes-sample").expect("well-formed");
    assert_eq!(digest_outcome(&out, payload), sampled, "(b) sampling");

    let out = guest.call_wire_redact(&mut *store, payload).expect("wire-redact").expect("well-formed");
    assert_eq!(digest_outcome(&out, payload), redacted, "(b) redaction with aegis-wire");
    let out = guest.call_wire_sample(&mut *store, payload).expect("wire-sample").expect("well-formed");
    assert_eq!(digest_outcome(&out, payload), sampled, "(b) sampling with aegis-wire");

    let out = native(logs::redact(payload));
    assert_eq!(digest_outcome(&out, payload), redacted, "(b) redaction, natively");
    let out = native(logs::sample(payload));
    assert_eq!(digest_outcome(&out, payload), sampled, "(b) sampling, natively");

    let out = with_handle(store, LogBatch::new(request.clone()), |s, h| guest.call_handle_redact(s, h));
    assert_eq!(digest(&out), redacted, "(c) redaction");
    let out = with_handle(store, LogBatch::new(request.clone()), |s, h| guest.call_handle_sample(s, h));
    assert_eq!(digest(&out), sampled, "(c) sampling");

    let echoed = guest.call_bytes_echo(&mut *store, payload).expect("bytes-echo");
    assert_eq!(echoed, payload, "the echo baseline returns its input");
    eprintln!(
        "boundary: {RECORDS} records, {} bytes encoded ({} per record); sampling keeps {}",
        payload.len(),
        payload.len() / RECORDS,
        sampled.len()
    );
}

// ---------------------------------------------------------------------------
// The measurements.

fn boundary(c: &mut Criterion) {
    let engine = engine();
    let (mut store, guest) = instantiate(&engine);
    let request = sample_batch();
    let payload = request.encode_to_vec();
    let typed_records = to_typed(&mut request.clone());
    check(&mut store, &guest, &request, &payload);

    let mut group = c.benchmark_group("boundary");
    group.throughput(Throughput::Elements(RECORDS as u64));

    group.bench_function("baseline/host_memcpy", |b| b.iter(|| black_box(black_box(&payload).to_vec())));
    group.bench_function("baseline/list_u8_in", |b| {
        b.iter(|| guest.call_bytes_in(&mut store, black_box(&payload)).expect("bytes-in"))
    });
    group.bench_function("baseline/list_u8_in_out", |b| {
        b.iter(|| guest.call_bytes_echo(&mut store, black_box(&payload)).expect("bytes-echo"))
    });
    // A thousand calls of `len` on the handle: per element, one host call.
    group.bench_function("baseline/host_call", |b| {
        let handle = store.data_mut().table.push(LogBatch::new(request.clone())).expect("room in the resource table");
        b.iter(|| {
            let borrowed = Resource::new_borrow(handle.rep());
            guest.call_handle_calls(&mut store, borrowed, RECORDS as u32).expect("handle-calls")
        });
        store.data_mut().table.delete(handle).expect("the batch is still in the table");
    });
    group.bench_function("baseline/wire_validate", |b| {
        b.iter(|| aegis_wire::validate(aegis_wire::Signal::Logs, black_box(&payload)).expect("valid"))
    });
    group.bench_function("baseline/prost_decode_encode", |b| {
        b.iter(|| {
            let decoded = ExportLogsServiceRequest::decode(black_box(&payload[..])).expect("decode");
            decoded.encode_to_vec()
        })
    });

    group.bench_function("a_typed/redact", |b| {
        b.iter(|| guest.call_typed_redact(&mut store, black_box(&typed_records)).expect("typed-redact"))
    });
    group.bench_function("a_typed/sample", |b| {
        b.iter(|| guest.call_typed_sample(&mut store, black_box(&typed_records)).expect("typed-sample"))
    });
    group.bench_function("a_typed_from_otlp/redact", |b| {
        b.iter(|| {
            let mut decoded = ExportLogsServiceRequest::decode(black_box(&payload[..])).expect("decode");
            let records = to_typed(&mut decoded);
            let out = guest.call_typed_redact(&mut store, &records).expect("typed-redact");
            from_typed(decoded, out).encode_to_vec()
        })
    });
    group.bench_function("a_typed_from_otlp/sample", |b| {
        b.iter(|| {
            let mut decoded = ExportLogsServiceRequest::decode(black_box(&payload[..])).expect("decode");
            let records = to_typed(&mut decoded);
            let out = guest.call_typed_sample(&mut store, &records).expect("typed-sample");
            from_typed(decoded, out).encode_to_vec()
        })
    });

    group.bench_function("b_bytes/redact", |b| {
        b.iter(|| guest.call_bytes_redact(&mut store, black_box(&payload)).expect("bytes-redact"))
    });
    group.bench_function("b_bytes/sample", |b| {
        b.iter(|| guest.call_bytes_sample(&mut store, black_box(&payload)).expect("bytes-sample"))
    });

    group.bench_function("b_wire/redact", |b| {
        b.iter(|| guest.call_wire_redact(&mut store, black_box(&payload)).expect("wire-redact"))
    });
    group.bench_function("b_wire/sample", |b| {
        b.iter(|| guest.call_wire_sample(&mut store, black_box(&payload)).expect("wire-sample"))
    });
    group
        .bench_function("b_native_walk/redact", |b| b.iter(|| logs::redact(black_box(&payload)).expect("well-formed")));
    group
        .bench_function("b_native_walk/sample", |b| b.iter(|| logs::sample(black_box(&payload)).expect("well-formed")));

    let decoded = LogBatch::new(request.clone());
    let fresh = || decoded.clone();
    group.bench_function("c_handle/redact", |b| {
        b.iter_batched(
            fresh,
            // Freeing the batch is the host's business, not the boundary's: criterion
            // drops what this returns outside the timing.
            |batch| with_handle(&mut store, batch, |s, h| guest.call_handle_redact(s, h)),
            BatchSize::SmallInput,
        )
    });
    group.bench_function("c_handle/sample", |b| {
        b.iter_batched(
            fresh,
            // Freeing the batch is the host's business, not the boundary's: criterion
            // drops what this returns outside the timing.
            |batch| with_handle(&mut store, batch, |s, h| guest.call_handle_sample(s, h)),
            BatchSize::SmallInput,
        )
    });
    group.bench_function("c_handle_from_otlp/redact", |b| {
        b.iter(|| {
            let batch = LogBatch::new(ExportLogsServiceRequest::decode(black_box(&payload[..])).expect("decode"));
            with_handle(&mut store, batch, |s, h| guest.call_handle_redact(s, h)).encode_to_vec()
        })
    });
    group.bench_function("c_handle_from_otlp/sample", |b| {
        b.iter(|| {
            let batch = LogBatch::new(ExportLogsServiceRequest::decode(black_box(&payload[..])).expect("decode"));
            with_handle(&mut store, batch, |s, h| guest.call_handle_sample(s, h)).encode_to_vec()
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    targets = boundary
}
criterion_main!(benches);
