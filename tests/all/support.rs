//! Shared support for the integration tests: a real `aegis run` process on free loopback
//! ports, an OTLP sink that records what arrives, and small helpers.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::logs::v1::logs_service_server::{LogsService, LogsServiceServer};
use opentelemetry_proto::tonic::collector::logs::v1::{ExportLogsServiceRequest, ExportLogsServiceResponse};
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_server::{
    MetricsService, MetricsServiceServer,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{ExportMetricsServiceRequest, ExportMetricsServiceResponse};
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::{TraceService, TraceServiceServer};
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value::Value};
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use opentelemetry_proto::tonic::metrics::v1::Metric;
use opentelemetry_proto::tonic::trace::v1::Span;

/// How long a collector may take to answer `/readyz`. Generous: the test build compiles its
/// pipeline's plugins with an unoptimized Cranelift before it is ready, and on a 2-core machine
/// busy with other work (other tests doing the same, a build) that has taken over a minute.
/// This is a deadline for a hung start, not a measure of speed.
const READY_WITHIN_SECS: u64 = 240;

/// The `aegis` binary under test.
pub(crate) fn aegis_bin() -> &'static str {
    env!("CARGO_BIN_EXE_aegis")
}

/// A `.wasm` built from `tests/plugins/*` or `plugins/*` by the build script.
pub(crate) fn plugin_artifact(package: &str) -> PathBuf {
    Path::new(env!("AEGIS_PLUGIN_ARTIFACTS")).join(format!("{}.wasm", package.replace('-', "_")))
}

/// A file under `tests/fixtures`.
pub(crate) fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

/// An HTTP client for the tests (TLS is never used, but reqwest wants a crypto provider).
pub(crate) fn http_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

/// The opentelemetry-otlp HTTP exporters call their client from the SDK's own threads,
/// outside any tokio runtime; this client runs hyper's requests on the test's runtime.
#[derive(Debug, Clone)]
pub(crate) struct RuntimeHttpClient {
    handle: tokio::runtime::Handle,
    inner: std::sync::Arc<opentelemetry_http::hyper::HyperClient<hyper_util::client::legacy::connect::HttpConnector>>,
}

impl RuntimeHttpClient {
    pub(crate) fn new() -> Self {
        let inner = opentelemetry_http::hyper::HyperClient::with_default_connector(Duration::from_secs(10), None);
        Self { handle: tokio::runtime::Handle::current(), inner: std::sync::Arc::new(inner) }
    }
}

#[async_trait::async_trait]
impl opentelemetry_http::HttpClient for RuntimeHttpClient {
    async fn send_bytes(
        &self,
        request: http::Request<bytes::Bytes>,
    ) -> Result<http::Response<bytes::Bytes>, opentelemetry_http::HttpError> {
        let inner = self.inner.clone();
        self.handle.spawn(async move { inner.send_bytes(request).await }).await?
    }
}

/// A loopback port nobody listens on right now.
pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port").local_addr().expect("local address").port()
}

/// A running `aegis run --config FIXTURE`, with ports handed in through the environment
/// (the fixtures use `${AEGIS_TEST_*}` substitution).
pub(crate) struct Collector {
    child: Option<Child>,
    pub(crate) admin: SocketAddr,
    pub(crate) grpc: SocketAddr,
    pub(crate) http: SocketAddr,
    stderr: PathBuf,
    _dir: tempfile::TempDir,
}

impl Collector {
    /// Starts the collector and waits until `/readyz` answers 200.
    pub(crate) fn start(config: &Path, env: &[(&str, String)]) -> Collector {
        let dir = tempfile::tempdir().expect("temp dir");
        let admin: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let grpc: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let http: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let stderr = dir.path().join("stderr.log");
        let mut command = Command::new(aegis_bin());
        command
            .args(["run", "--config"])
            .arg(config)
            .env("AEGIS_TEST_ADMIN", admin.to_string())
            .env("AEGIS_TEST_GRPC", grpc.to_string())
            .env("AEGIS_TEST_HTTP", http.to_string())
            .env("AEGIS_TEST_CACHE", cache_dir())
            .env("AEGIS_LOG", "info,aegis=debug")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr).expect("stderr file"));
        for (key, value) in env {
            command.env(key, value);
        }
        let child = command.spawn().expect("spawn aegis");
        let mut collector = Collector { child: Some(child), admin, grpc, http, stderr, _dir: dir };
        collector.wait_ready();
        collector
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(READY_WITHIN_SECS);
        while Instant::now() < deadline {
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                panic!("aegis exited with {status} before it was ready:\n{}", self.logs());
            }
            if http_get(self.admin, "/readyz").is_some_and(|(status, _)| status == 200) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("aegis was not ready within {READY_WITHIN_SECS} s:\n{}", self.logs());
    }

    /// What the collector logged so far.
    pub(crate) fn logs(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// The admin endpoint's `/metrics`.
    pub(crate) fn metrics(&self) -> String {
        http_get(self.admin, "/metrics").map(|(_, body)| body).unwrap_or_default()
    }

    /// The value of one self-metric series, e.g. `aegis_plugin_failures_total{kind="timeout",plugin="bad"}`.
    pub(crate) fn metric(&self, series: &str) -> f64 {
        metric_value(&self.metrics(), series)
    }

    /// Waits until a self-metric series reaches `value` (counters are updated just after the
    /// sink answers, so a test that saw the data may still be ahead of them).
    pub(crate) fn wait_metric(&self, series: &str, value: f64) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.metric(series) >= value {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(self.metric(series), value, "{series}:\n{}", self.metrics());
    }

    /// Sends SIGTERM and waits for the exit.
    pub(crate) fn stop(mut self) -> (ExitStatus, String) {
        let mut child = self.child.take().expect("running");
        let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(40);
        loop {
            if let Some(status) = child.try_wait().expect("wait") {
                return (status, self.logs());
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("aegis did not stop within 40 s after SIGTERM:\n{}", self.logs());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// One wasmtime compilation cache for every collector the tests start.
fn cache_dir() -> String {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("wasmtime-cache");
    std::fs::create_dir_all(&dir).expect("cache dir");
    dir.display().to_string()
}

/// Reads one series from a Prometheus text exposition (0 when absent).
pub(crate) fn metric_value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series).and_then(|rest| rest.trim().parse::<f64>().ok()))
        .unwrap_or(0.0)
}

/// A minimal blocking HTTP GET on loopback: (status, body).
pub(crate) fn http_get(address: SocketAddr, path: &str) -> Option<(u16, String)> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect_timeout(&address, Duration::from_secs(2)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n").ok()?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).ok()?;
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text.split_whitespace().nth(1)?.parse().ok()?;
    let body = text.split_once("\r\n\r\n").map(|(_, body)| body.to_string()).unwrap_or_default();
    let body = if text.to_ascii_lowercase().contains("transfer-encoding: chunked") { dechunk(&body) } else { body };
    Some((status, body))
}

fn dechunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, after)) = rest.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else { break };
        if size == 0 || after.len() < size {
            break;
        }
        out.push_str(&after[..size]);
        rest = after[size..].trim_start_matches("\r\n");
    }
    out
}

/// Everything an OTLP sink received.
#[derive(Default)]
pub(crate) struct Received {
    pub(crate) logs: Vec<ExportLogsServiceRequest>,
    pub(crate) traces: Vec<ExportTraceServiceRequest>,
    pub(crate) metrics: Vec<ExportMetricsServiceRequest>,
    pub(crate) headers: Vec<tonic::metadata::MetadataMap>,
}

/// An OTLP/gRPC server standing in for Tempo or another collector.
#[derive(Clone)]
pub(crate) struct Sink {
    pub(crate) address: SocketAddr,
    received: Arc<Mutex<Received>>,
}

#[derive(Clone)]
struct SinkService(Arc<Mutex<Received>>);

#[tonic::async_trait]
impl LogsService for SinkService {
    async fn export(
        &self,
        request: tonic::Request<ExportLogsServiceRequest>,
    ) -> Result<tonic::Response<ExportLogsServiceResponse>, tonic::Status> {
        let mut received = self.0.lock().unwrap();
        received.headers.push(request.metadata().clone());
        received.logs.push(request.into_inner());
        Ok(tonic::Response::new(ExportLogsServiceResponse::default()))
    }
}

#[tonic::async_trait]
impl TraceService for SinkService {
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<tonic::Response<ExportTraceServiceResponse>, tonic::Status> {
        let mut received = self.0.lock().unwrap();
        received.headers.push(request.metadata().clone());
        received.traces.push(request.into_inner());
        Ok(tonic::Response::new(ExportTraceServiceResponse::default()))
    }
}

#[tonic::async_trait]
impl MetricsService for SinkService {
    async fn export(
        &self,
        request: tonic::Request<ExportMetricsServiceRequest>,
    ) -> Result<tonic::Response<ExportMetricsServiceResponse>, tonic::Status> {
        let mut received = self.0.lock().unwrap();
        received.headers.push(request.metadata().clone());
        received.metrics.push(request.into_inner());
        Ok(tonic::Response::new(ExportMetricsServiceResponse::default()))
    }
}

impl Sink {
    /// Starts a sink on a free loopback port, on the current tokio runtime.
    pub(crate) async fn start() -> Sink {
        Self::start_with(None).await
    }

    /// Starts a sink that speaks TLS with `identity`.
    pub(crate) async fn start_tls(identity: tonic::transport::Identity) -> Sink {
        Self::start_with(Some(identity)).await
    }

    /// Starts a sink on `address` (a loopback address and a port), if it can be bound.
    pub(crate) async fn start_on(address: std::net::SocketAddr) -> Option<Sink> {
        let listener = tokio::net::TcpListener::bind(address).await.ok()?;
        Some(Self::serve(listener, None))
    }

    async fn start_with(identity: Option<tonic::transport::Identity>) -> Sink {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind sink");
        Self::serve(listener, identity)
    }

    fn serve(listener: tokio::net::TcpListener, identity: Option<tonic::transport::Identity>) -> Sink {
        let address = listener.local_addr().unwrap();
        let received = Arc::new(Mutex::new(Received::default()));
        let service = SinkService(received.clone());
        tokio::spawn(async move {
            let mut builder = tonic::transport::Server::builder();
            if let Some(identity) = identity {
                builder = builder
                    .tls_config(tonic::transport::ServerTlsConfig::new().identity(identity))
                    .expect("TLS config");
            }
            builder
                .add_service(
                    LogsServiceServer::new(service.clone()).accept_compressed(tonic::codec::CompressionEncoding::Gzip),
                )
                .add_service(
                    TraceServiceServer::new(service.clone()).accept_compressed(tonic::codec::CompressionEncoding::Gzip),
                )
                .add_service(
                    MetricsServiceServer::new(service).accept_compressed(tonic::codec::CompressionEncoding::Gzip),
                )
                .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true)))
                .await
                .expect("sink serves");
        });
        Sink { address, received }
    }

    pub(crate) fn endpoint(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Every log record received so far.
    pub(crate) fn log_records(&self) -> Vec<LogRecord> {
        let received = self.received.lock().unwrap();
        received
            .logs
            .iter()
            .flat_map(|r| &r.resource_logs)
            .flat_map(|r| &r.scope_logs)
            .flat_map(|s| s.log_records.clone())
            .collect()
    }

    /// Every span received so far.
    pub(crate) fn spans(&self) -> Vec<Span> {
        let received = self.received.lock().unwrap();
        received
            .traces
            .iter()
            .flat_map(|r| &r.resource_spans)
            .flat_map(|r| &r.scope_spans)
            .flat_map(|s| s.spans.clone())
            .collect()
    }

    /// Every metric received so far.
    pub(crate) fn metrics(&self) -> Vec<Metric> {
        let received = self.received.lock().unwrap();
        received
            .metrics
            .iter()
            .flat_map(|r| &r.resource_metrics)
            .flat_map(|r| &r.scope_metrics)
            .flat_map(|s| s.metrics.clone())
            .collect()
    }

    /// Runs `read` on what was received.
    pub(crate) fn with<T>(&self, read: impl FnOnce(&Received) -> T) -> T {
        read(&self.received.lock().unwrap())
    }

    /// Waits until `done` holds for what was received, or panics after `timeout`.
    pub(crate) async fn wait_for(&self, timeout: Duration, what: &str, done: impl Fn(&Sink) -> bool) {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if done(self) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("timed out waiting for {what}");
    }
}

/// The string value of attribute `key`, if present.
pub(crate) fn attribute<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a Value> {
    attributes.iter().find(|kv| kv.key == key).and_then(|kv| kv.value.as_ref()).and_then(|v| v.value.as_ref())
}

/// A string attribute, for building requests.
pub(crate) fn kv(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(Value::StringValue(value.into())) }),
        ..Default::default()
    }
}
