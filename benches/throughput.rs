//! End-to-end throughput: OTLP/gRPC in → one processor (set an attribute, drop 10 %) →
//! OTLP/gRPC out, with the processor as a Wasm plugin and as native Rust, in the same run.
//!
//! The collector runs as a child process (the `aegis` binary for the Wasm path; this bench
//! binary in collector mode, with the native processor registered, for the native path), so
//! its CPU time can be read from `/proc` apart from the load generator and the sink, which
//! run in this process. The figure is log records per second per core: records sent divided
//! by the collector's CPU seconds (user + system). Run with `cargo bench --bench throughput`;
//! `AEGIS_BENCH_REQUESTS` (default 3000) and `AEGIS_BENCH_ROUNDS` (default 5) size it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use aegis::batch::Signal;
use aegis::runtime::native::{NativeOutcome, NativeProcessor};
use aegis_wire::{Logs, Outcome};
use bytes::{Buf, BufMut, Bytes};
use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value::Value};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use opentelemetry_proto::tonic::resource::v1::Resource;
use prost::Message;

const RECORDS_PER_REQUEST: usize = 512;
const LOGS_EXPORT: &str = "/opentelemetry.proto.collector.logs.v1.LogsService/Export";

/// The processor both paths run: tag every kept record, drop one in ten by trace id.
fn keep(trace_id: &[u8]) -> bool {
    let tail = trace_id.get(8..16).map_or(0, |b| u64::from_le_bytes(b.try_into().expect("8 bytes")));
    tail % 10 != 0
}

struct NativeTagAndSample;

impl NativeProcessor for NativeTagAndSample {
    fn process(&mut self, _signal: Signal, payload: &[u8]) -> Result<NativeOutcome, String> {
        let mut logs = Logs::parse(payload).map_err(|e| e.to_string())?;
        for mut record in logs.records_mut() {
            if keep(record.view().trace_id()) {
                record.set_attribute("aegis.pipeline", "bench");
            } else {
                record.remove();
            }
        }
        Ok(match logs.finish() {
            Outcome::Unchanged => NativeOutcome::Unchanged,
            Outcome::Replaced(bytes) => NativeOutcome::Replaced(bytes),
            Outcome::Dropped => NativeOutcome::Dropped,
        })
    }
}

fn main() {
    if let Ok(config) = std::env::var("AEGIS_BENCH_COLLECTOR") {
        collector(PathBuf::from(config));
        return;
    }
    let requests: usize = std::env::var("AEGIS_BENCH_REQUESTS").ok().and_then(|v| v.parse().ok()).unwrap_or(3000);
    let rounds: usize = std::env::var("AEGIS_BENCH_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(5);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(drive(requests, rounds));
}

/// Collector mode: the library with the native processor registered.
fn collector(config: PathBuf) {
    aegis::runtime::native::register("tag-and-sample", &[Signal::Logs], || Box::new(NativeTagAndSample));
    let config = aegis::config::Config::load(&config).unwrap_or_else(|errors| panic!("{errors}"));
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(aegis::service::run(config)).expect("the collector runs");
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Path {
    Wasm,
    Native,
}

struct Measurement {
    records_per_cpu_second: f64,
    records_per_second: f64,
    peak_rss_mib: f64,
}

async fn drive(requests: usize, rounds: usize) {
    let payloads = Arc::new(make_payloads(64));
    let bytes_per_record = payloads[0].len() as f64 / RECORDS_PER_REQUEST as f64;
    let sink = Sink::start().await;
    println!(
        "throughput: {requests} requests of {RECORDS_PER_REQUEST} log records ({bytes_per_record:.0} bytes each, 6 attributes), {rounds} rounds, uncompressed OTLP/gRPC"
    );
    for max_items in [512usize, 8192] {
        let mut results: Vec<(Path, Measurement)> = Vec::new();
        for round in 0..rounds {
            for path in [Path::Wasm, Path::Native] {
                let measurement = measure(path, max_items, requests, &payloads, &sink).await;
                println!(
                    "  batch.max_items={max_items} round {round} {path:?}: {:.0} records/s per core, {:.0} records/s wall, peak RSS {:.1} MiB",
                    measurement.records_per_cpu_second, measurement.records_per_second, measurement.peak_rss_mib
                );
                results.push((path, measurement));
            }
        }
        let median = |path: Path, f: fn(&Measurement) -> f64| {
            let mut values: Vec<f64> = results.iter().filter(|(p, _)| *p == path).map(|(_, m)| f(m)).collect();
            values.sort_by(f64::total_cmp);
            values[values.len() / 2]
        };
        let wasm = median(Path::Wasm, |m| m.records_per_cpu_second);
        let native = median(Path::Native, |m| m.records_per_cpu_second);
        println!(
            "median batch.max_items={max_items}: wasm {wasm:.0} records/s per core, native {native:.0} records/s per core, native/wasm = {:.2}x; wall: wasm {:.0}/s, native {:.0}/s; peak RSS wasm {:.1} MiB, native {:.1} MiB",
            native / wasm,
            median(Path::Wasm, |m| m.records_per_second),
            median(Path::Native, |m| m.records_per_second),
            median(Path::Wasm, |m| m.peak_rss_mib),
            median(Path::Native, |m| m.peak_rss_mib),
        );
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn measure(
    path: Path,
    max_items: usize,
    requests: usize,
    payloads: &Arc<Vec<Bytes>>,
    sink: &Sink,
) -> Measurement {
    let dir = tempfile::tempdir().unwrap();
    let admin: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let grpc: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let plugin = match path {
        Path::Wasm => format!("{}/aegis_plugin_bench_processor.wasm", env!("AEGIS_PLUGIN_ARTIFACTS")),
        Path::Native => "native:tag-and-sample".to_string(),
    };
    let config = dir.path().join("bench.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[admin]
listen = "{admin}"
[runtime]
cache_dir = "{cache}"
[receivers.otlp]
kind = "otlp"
grpc = "{grpc}"
accept_timeout = "5s"
[processors.tag_and_sample]
plugin = "{plugin}"
limits = {{ timeout = "2s" }}
[exporters.sink]
kind = "otlp"
endpoint = "http://{sink}"
compression = "none"
[pipelines.logs]
signal = "logs"
receivers = ["otlp"]
processors = ["tag_and_sample"]
exporters = ["sink"]
batch = {{ max_items = {max_items}, timeout = "20ms" }}
"#,
            cache = concat!(env!("CARGO_TARGET_TMPDIR"), "/wasmtime-cache"),
            sink = sink.address,
        ),
    )
    .unwrap();
    let mut command = match path {
        Path::Wasm => Command::new(env!("CARGO_BIN_EXE_aegis")),
        Path::Native => {
            let mut command = Command::new(std::env::current_exe().unwrap());
            command.env("AEGIS_BENCH_COLLECTOR", &config);
            command
        }
    };
    if path == Path::Wasm {
        command.args(["run", "--config"]).arg(&config);
    }
    let mut child = command.env("AEGIS_LOG", "warn").stdout(Stdio::null()).stderr(Stdio::inherit()).spawn().unwrap();
    wait_ready(admin, &mut child).await;

    let channel = tonic::transport::Endpoint::from_shared(format!("http://{grpc}")).unwrap().connect().await.unwrap();
    // Warm up: compile caches, allocator pools, connection windows.
    send(&channel, payloads, 200).await;
    sink.wait_idle().await;

    let before_cpu = cpu_seconds(child.id());
    let before_sink = sink.items.load(Ordering::SeqCst);
    let started = Instant::now();
    send(&channel, payloads, requests).await;
    let expected_min = (requests * RECORDS_PER_REQUEST) as u64 * 85 / 100;
    while sink.items.load(Ordering::SeqCst) - before_sink < expected_min {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    sink.wait_idle().await;
    let elapsed = started.elapsed().as_secs_f64() - Sink::IDLE.as_secs_f64();
    let cpu = cpu_seconds(child.id()) - before_cpu;
    let peak_rss_mib = peak_rss_kib(child.id()) as f64 / 1024.0;
    let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
    let _ = child.wait();
    let records = (requests * RECORDS_PER_REQUEST) as f64;
    Measurement { records_per_cpu_second: records / cpu, records_per_second: records / elapsed, peak_rss_mib }
}

async fn wait_ready(admin: SocketAddr, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(child.try_wait().unwrap().is_none(), "the collector exited early");
        if let Ok(mut stream) = tokio::net::TcpStream::connect(admin).await {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let _ = stream.write_all(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await;
            let mut response = String::new();
            let _ = stream.read_to_string(&mut response).await;
            if response.starts_with("HTTP/1.1 200") {
                return;
            }
        }
        assert!(Instant::now() < deadline, "the collector was not ready in time");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Sends `count` requests with 8 in flight.
async fn send(channel: &tonic::transport::Channel, payloads: &Arc<Vec<Bytes>>, count: usize) {
    let next = Arc::new(AtomicU64::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let channel = channel.clone();
        let payloads = payloads.clone();
        let next = next.clone();
        tasks.spawn(async move {
            let mut grpc = tonic::client::Grpc::new(channel);
            loop {
                let index = next.fetch_add(1, Ordering::SeqCst) as usize;
                if index >= count {
                    break;
                }
                grpc.ready().await.unwrap();
                let payload = payloads[index % payloads.len()].clone();
                let path = http::uri::PathAndQuery::from_static(LOGS_EXPORT);
                grpc.unary::<Bytes, Bytes, _>(tonic::Request::new(payload), path, Raw)
                    .await
                    .expect("the collector accepts");
            }
        });
    }
    while tasks.join_next().await.is_some() {}
}

/// Realistic Aegis backend log records: about 330 bytes each, 6 attributes.
fn make_payloads(count: usize) -> Vec<Bytes> {
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut random = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let string = |key: &str, value: String| KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(Value::StringValue(value)) }),
        ..Default::default()
    };
    let int = |key: &str, value: i64| KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(Value::IntValue(value)) }),
        ..Default::default()
    };
    (0..count)
        .map(|_| {
            let records = (0..RECORDS_PER_REQUEST)
                .map(|index| {
                    let mut trace_id = random().to_le_bytes().to_vec();
                    trace_id.extend_from_slice(&random().to_le_bytes());
                    LogRecord {
                        time_unix_nano: 1_706_193_045_123_000_000 + index as u64 * 1_000_000,
                        observed_time_unix_nano: 1_706_193_045_124_000_000 + index as u64 * 1_000_000,
                        severity_number: 9,
                        severity_text: "info".into(),
                        body: Some(AnyValue {
                            value: Some(Value::StringValue(format!(
                                "User created successfully for tenant acme-{:04} in region eu-west-1",
                                random() % 10_000
                            ))),
                        }),
                        attributes: vec![
                            string("method", "POST".into()),
                            string("path", "/api/v1/users".into()),
                            int("status_code", 201),
                            int("duration_ms", (random() % 2000) as i64),
                            string(
                                "user_id",
                                format!(
                                    "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
                                    random() as u32,
                                    random() as u16,
                                    random() % 4096,
                                    random() % 4096,
                                    random() % (1 << 48)
                                ),
                            ),
                            string(
                                "client.address",
                                format!("10.{}.{}.{}", random() % 256, random() % 256, random() % 256),
                            ),
                        ],
                        trace_id,
                        span_id: random().to_le_bytes().to_vec(),
                        flags: 1,
                        ..Default::default()
                    }
                })
                .collect();
            let request = ExportLogsServiceRequest {
                resource_logs: vec![ResourceLogs {
                    resource: Some(Resource {
                        attributes: vec![string("service.name", "aegis-backend".into())],
                        ..Default::default()
                    }),
                    scope_logs: vec![ScopeLogs {
                        scope: Some(InstrumentationScope { name: "aegis-backend".into(), ..Default::default() }),
                        log_records: records,
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
            };
            Bytes::from(request.encode_to_vec())
        })
        .collect()
}

fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after_name = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    ticks as f64 / 100.0
}

fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// An OTLP/gRPC sink that counts the log records it receives.
struct Sink {
    address: SocketAddr,
    items: Arc<AtomicU64>,
    last: Arc<AtomicU64>,
}

impl Sink {
    const IDLE: Duration = Duration::from_millis(300);

    async fn start() -> Sink {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let items = Arc::new(AtomicU64::new(0));
        let last = Arc::new(AtomicU64::new(0));
        let service = SinkService { items: items.clone(), last: last.clone(), epoch: Instant::now() };
        tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true))),
        );
        Sink { address, items, last }
    }

    /// Waits until nothing arrived for [`Self::IDLE`].
    async fn wait_idle(&self) {
        loop {
            let before = self.last.load(Ordering::SeqCst);
            tokio::time::sleep(Self::IDLE).await;
            if self.last.load(Ordering::SeqCst) == before {
                return;
            }
        }
    }
}

#[derive(Clone)]
struct SinkService {
    items: Arc<AtomicU64>,
    last: Arc<AtomicU64>,
    epoch: Instant,
}

impl tonic::server::NamedService for SinkService {
    const NAME: &'static str = "opentelemetry.proto.collector.logs.v1.LogsService";
}

impl<B> tower::Service<http::Request<B>> for SinkService
where
    B: http_body::Body + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>> + Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = std::convert::Infallible;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, _: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let service = self.clone();
        Box::pin(async move {
            let mut grpc = tonic::server::Grpc::new(Raw);
            Ok(grpc.unary(Count(service), request).await)
        })
    }
}

struct Count(SinkService);

impl tonic::server::UnaryService<Bytes> for Count {
    type Response = Bytes;
    type Future = std::future::Ready<Result<tonic::Response<Bytes>, tonic::Status>>;

    fn call(&mut self, request: tonic::Request<Bytes>) -> Self::Future {
        let items = aegis_wire::validate(Signal::Logs, request.get_ref()).map_or(0, |c| c.items);
        self.0.items.fetch_add(items as u64, Ordering::SeqCst);
        self.0.last.store(self.0.epoch.elapsed().as_nanos() as u64, Ordering::SeqCst);
        std::future::ready(Ok(tonic::Response::new(Bytes::new())))
    }
}

/// A gRPC codec over raw protobuf bytes.
#[derive(Clone, Copy)]
struct Raw;

impl tonic::codec::Codec for Raw {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = Raw;
    type Decoder = Raw;
    fn encoder(&mut self) -> Raw {
        Raw
    }
    fn decoder(&mut self) -> Raw {
        Raw
    }
}

impl tonic::codec::Encoder for Raw {
    type Item = Bytes;
    type Error = tonic::Status;
    fn encode(&mut self, item: Bytes, dst: &mut tonic::codec::EncodeBuf<'_>) -> Result<(), tonic::Status> {
        dst.put(item);
        Ok(())
    }
}

impl tonic::codec::Decoder for Raw {
    type Item = Bytes;
    type Error = tonic::Status;
    fn decode(&mut self, src: &mut tonic::codec::DecodeBuf<'_>) -> Result<Option<Bytes>, tonic::Status> {
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}
