//! The typed shape of a pipeline config. Every field is documented in `docs/configuration.md`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use bytesize::ByteSize;
use serde::Deserialize;

/// A whole config: where the collector listens, which components exist and how they are chained.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where the config came from (a path, or `embedded default`).
    pub source: String,
    /// The admin endpoint.
    pub admin: AdminConfig,
    /// Engine-wide settings of the Wasm runtime.
    pub runtime: RuntimeConfig,
    /// Receivers by name.
    pub receivers: BTreeMap<String, ReceiverConfig>,
    /// Processors by name.
    pub processors: BTreeMap<String, ProcessorConfig>,
    /// Exporters by name.
    pub exporters: BTreeMap<String, ExporterConfig>,
    /// Pipelines by name.
    pub pipelines: BTreeMap<String, PipelineConfig>,
}

/// `[admin]`: health, readiness and self-metrics.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminConfig {
    /// The address serving `/healthz`, `/readyz` and `/metrics`.
    #[serde(default = "default_admin_listen")]
    pub listen: String,
}

impl Default for AdminConfig {
    fn default() -> Self {
        Self { listen: default_admin_listen() }
    }
}

fn default_admin_listen() -> String {
    "127.0.0.1:13133".into()
}

/// `[runtime]`: process-wide settings: the Wasm engine shared by every plugin, and shutdown.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuntimeConfig {
    /// Whether compiled plugins are cached on disk between runs.
    #[serde(default = "default_true")]
    pub cache: bool,
    /// Where the compilation cache lives; wasmtime's default folder when unset.
    #[serde(default)]
    pub cache_dir: Option<PathBuf>,
    /// How often the CPU deadline of plugin calls is checked.
    #[serde(default = "default_epoch_tick", with = "humantime_serde")]
    pub epoch_tick: Duration,
    /// How long a shutdown may spend draining queues and flushing exporters.
    #[serde(default = "default_shutdown_timeout", with = "humantime_serde")]
    pub shutdown_timeout: Duration,
    /// Whether plugin calls have a CPU limit (wasmtime's epoch checks, compiled into every
    /// loop and function). Always on in a collector: this is not a config key. Only the
    /// benchmarks turn it off, to measure what the checks cost.
    #[serde(skip_deserializing, default = "default_true")]
    pub cpu_limit: bool,
}

fn default_shutdown_timeout() -> Duration {
    Duration::from_secs(30)
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        Self {
            cache: true,
            cache_dir: None,
            epoch_tick: default_epoch_tick(),
            shutdown_timeout: default_shutdown_timeout(),
            cpu_limit: true,
        }
    }
}

fn default_true() -> bool {
    true
}

fn default_epoch_tick() -> Duration {
    Duration::from_millis(1)
}

/// Where a plugin's component comes from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PluginSource {
    /// A first-party plugin embedded in the binary (`builtin:NAME`).
    Builtin(String),
    /// A `.wasm` component file (relative paths start at the config's folder).
    File(PathBuf),
    /// A processor written in Rust and registered by a program that embeds Aegis as a
    /// library (`native:NAME`); the `aegis` binary registers none.
    Native(String),
}

impl std::fmt::Display for PluginSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PluginSource::Builtin(name) => write!(f, "builtin:{name}"),
            PluginSource::File(path) => write!(f, "{}", path.display()),
            PluginSource::Native(name) => write!(f, "native:{name}"),
        }
    }
}

impl<'de> Deserialize<'de> for PluginSource {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        if let Some(name) = text.strip_prefix("native:") {
            return Ok(PluginSource::Native(name.to_string()));
        }
        match text.strip_prefix("builtin:") {
            Some("") => Err(serde::de::Error::custom("`builtin:` needs a plugin name, e.g. `builtin:attributes`")),
            Some(name) => Ok(PluginSource::Builtin(name.to_string())),
            None if text.is_empty() => Err(serde::de::Error::custom("the plugin path is empty")),
            None => Ok(PluginSource::File(PathBuf::from(text))),
        }
    }
}

/// Per-call limits of a plugin instance.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// The most linear memory one instance may grow to.
    #[serde(default = "default_memory")]
    pub memory: ByteSize,
    /// The most wall-clock CPU time one call may take before it is interrupted.
    #[serde(default = "default_timeout", with = "humantime_serde")]
    pub timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self { memory: default_memory(), timeout: default_timeout() }
    }
}

fn default_memory() -> ByteSize {
    ByteSize::mib(64)
}

fn default_timeout() -> Duration {
    Duration::from_millis(500)
}

/// What happens to a batch when a plugin fails on it.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum OnError {
    /// The batch passes on unchanged.
    #[default]
    Pass,
    /// The batch is dropped (and counted).
    Drop,
}

/// Capabilities granted to a plugin; it has none by default.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Grants {
    /// Host directories the plugin may read, each preopened at a guest path.
    #[serde(default)]
    pub dirs: Vec<DirGrant>,
    /// Names of host environment variables the plugin may read.
    #[serde(default)]
    pub env: Vec<String>,
}

/// One directory granted to a plugin.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct DirGrant {
    /// The directory on the host.
    pub host: PathBuf,
    /// Where the plugin sees it, e.g. `/host/proc`.
    pub guest: String,
    /// Whether the plugin may write to it (read-only by default).
    #[serde(default)]
    pub writable: bool,
}

/// A receiver: the built-in OTLP one, or a Wasm plugin fed by host transports.
#[derive(Debug, Clone)]
pub enum ReceiverConfig {
    /// `kind = "otlp"`.
    Otlp(OtlpReceiverConfig),
    /// `plugin = "..."`.
    Plugin(Box<PluginReceiverConfig>),
}

/// `kind = "otlp"`: OTLP over gRPC and HTTP.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OtlpReceiverConfig {
    /// The gRPC listen address (the standard port is 4317).
    #[serde(default)]
    pub grpc: Option<String>,
    /// The HTTP listen address (the standard port is 4318).
    #[serde(default)]
    pub http: Option<String>,
    /// The largest request body accepted, after decompression.
    #[serde(default = "default_max_request_size")]
    pub max_request_size: ByteSize,
    /// How long a request may wait for room in a full pipeline queue before it is refused.
    #[serde(default = "default_accept_timeout", with = "humantime_serde")]
    pub accept_timeout: Duration,
}

fn default_max_request_size() -> ByteSize {
    ByteSize::mib(16)
}

fn default_accept_timeout() -> Duration {
    Duration::from_millis(500)
}

/// A receiver plugin and the host transports that feed it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginReceiverConfig {
    /// The component: `builtin:NAME` or a path to a `.wasm` file.
    pub plugin: PluginSource,
    /// The plugin's own settings, handed to its `init` as JSON.
    #[serde(default)]
    pub config: toml::Table,
    /// Memory and CPU limits per call.
    #[serde(default)]
    pub limits: Limits,
    /// Capabilities granted to the plugin.
    #[serde(default)]
    pub grants: Grants,
    /// Bodies posted to HTTP paths.
    #[serde(default)]
    pub http: Option<HttpTransport>,
    /// Lines read from TCP connections.
    #[serde(default)]
    pub tcp: Option<TcpTransport>,
    /// UDP datagrams.
    #[serde(default)]
    pub udp: Option<UdpTransport>,
    /// URLs scraped on an interval.
    #[serde(default)]
    pub scrape: Option<ScrapeTransport>,
    /// A timer tick for pull-style sources.
    #[serde(default)]
    pub timer: Option<TimerTransport>,
    /// Lines of files tailed by glob.
    #[serde(default)]
    pub files: Option<FilesTransport>,
    /// How long input may wait for room in a full pipeline queue before it is refused.
    #[serde(default = "default_accept_timeout", with = "humantime_serde")]
    pub accept_timeout: Duration,
}

/// `http = { ... }` of a receiver plugin.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpTransport {
    /// The listen address.
    pub listen: String,
    /// The paths whose requests go to the plugin.
    pub paths: Vec<String>,
    /// The largest request body accepted, after decompression.
    #[serde(default = "default_max_request_size")]
    pub max_request_size: ByteSize,
}

/// `tcp = { ... }` of a receiver plugin: one call per line.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TcpTransport {
    /// The listen address.
    pub listen: String,
    /// The longest line accepted; a longer one is cut there and counted.
    #[serde(default = "default_max_line")]
    pub max_line: ByteSize,
}

fn default_max_line() -> ByteSize {
    ByteSize::kib(64)
}

/// `udp = { ... }` of a receiver plugin: one call per datagram.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UdpTransport {
    /// The listen address.
    pub listen: String,
}

/// `scrape = { ... }` of a receiver plugin.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScrapeTransport {
    /// The URLs to GET.
    pub targets: Vec<String>,
    /// How often each target is scraped.
    #[serde(default = "default_scrape_interval", with = "humantime_serde")]
    pub interval: Duration,
    /// How long one scrape may take.
    #[serde(default = "default_scrape_timeout", with = "humantime_serde")]
    pub timeout: Duration,
    /// The largest body read from a target.
    #[serde(default = "default_max_request_size")]
    pub max_body_size: ByteSize,
}

fn default_scrape_interval() -> Duration {
    Duration::from_secs(15)
}

fn default_scrape_timeout() -> Duration {
    Duration::from_secs(10)
}

/// `timer = { ... }` of a receiver plugin.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimerTransport {
    /// How often the plugin is ticked.
    #[serde(with = "humantime_serde")]
    pub interval: Duration,
}

/// Where tailing starts in a file seen for the first time.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum StartAt {
    /// From its first byte.
    #[default]
    Beginning,
    /// From its end: only lines written from now on.
    End,
}

/// `multiline = { ... }` of the files transport: lines that do not match `start` are joined
/// to the line before them (stack traces, pretty-printed JSON).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MultilineConfig {
    /// A regex matching the first line of every entry, e.g. `^\\d{4}-\\d{2}-\\d{2}` or `^\\{`.
    pub start: String,
    /// An entry is sent on once no line was added to it for this long.
    #[serde(default = "default_multiline_timeout", with = "humantime_serde")]
    pub timeout: Duration,
    /// The most lines one entry may hold; the rest starts a new entry.
    #[serde(default = "default_multiline_max_lines")]
    pub max_lines: usize,
}

fn default_multiline_timeout() -> Duration {
    Duration::from_secs(1)
}

fn default_multiline_max_lines() -> usize {
    500
}

/// `files = { ... }` of a receiver plugin: Promtail's role. Files matching `include` are
/// tailed; rotation by rename and by copytruncate is followed; offsets are checkpointed so
/// that a restart neither loses nor repeats lines.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilesTransport {
    /// Glob patterns of the files to tail, e.g. `/var/log/aegis/*.log`.
    pub include: Vec<String>,
    /// Glob patterns of files to leave out, e.g. `*.gz`.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// How often files are checked for new lines and new files.
    #[serde(default = "default_poll_interval", with = "humantime_serde")]
    pub poll_interval: Duration,
    /// Where tailing starts in a file without a checkpoint.
    #[serde(default)]
    pub start_at: StartAt,
    /// The file offsets are kept in; none keeps them in memory only.
    #[serde(default)]
    pub checkpoint: Option<PathBuf>,
    /// Joining of multi-line entries.
    #[serde(default)]
    pub multiline: Option<MultilineConfig>,
    /// The longest line; a longer one is cut there (the rest becomes the next line) and counted.
    #[serde(default = "default_max_line")]
    pub max_line: ByteSize,
    /// The most lines handed to the plugin in one call.
    #[serde(default = "default_lines_per_call")]
    pub lines_per_call: usize,
}

fn default_poll_interval() -> Duration {
    Duration::from_millis(250)
}

fn default_lines_per_call() -> usize {
    1000
}

/// `[processors.NAME]`: a Wasm processor.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcessorConfig {
    /// The component: `builtin:NAME` or a path to a `.wasm` file.
    pub plugin: PluginSource,
    /// The plugin's own settings, handed to its `init` as JSON.
    #[serde(default)]
    pub config: toml::Table,
    /// Memory and CPU limits per call.
    #[serde(default)]
    pub limits: Limits,
    /// What happens to a batch when the plugin fails on it.
    #[serde(default)]
    pub on_error: OnError,
    /// Capabilities granted to the plugin.
    #[serde(default)]
    pub grants: Grants,
    /// How often a `timed-processor` component is ticked (others never are).
    #[serde(default = "default_tick_interval", with = "humantime_serde")]
    pub tick_interval: Duration,
}

fn default_tick_interval() -> Duration {
    Duration::from_secs(1)
}

/// An exporter: a built-in or a Wasm plugin.
#[derive(Debug, Clone)]
pub enum ExporterConfig {
    /// `kind = "otlp"`.
    Otlp(OtlpExporterConfig),
    /// `kind = "debug"`.
    Debug(DebugExporterConfig),
    /// `plugin = "..."`.
    Plugin(PluginExporterConfig),
}

/// The OTLP transport of an exporter.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum OtlpProtocol {
    /// OTLP/gRPC.
    #[default]
    Grpc,
    /// OTLP/HTTP with protobuf bodies.
    Http,
}

/// Request compression.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum Compression {
    /// No compression.
    None,
    /// gzip.
    #[default]
    Gzip,
    /// zstd.
    Zstd,
}

/// Retries of failed sends.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RetryConfig {
    /// Whether failed sends are retried at all.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// The first wait.
    #[serde(default = "default_initial_interval", with = "humantime_serde")]
    pub initial_interval: Duration,
    /// The longest wait between two tries.
    #[serde(default = "default_max_interval", with = "humantime_serde")]
    pub max_interval: Duration,
    /// How long a batch is retried before it is dropped (and counted).
    #[serde(default = "default_max_elapsed", with = "humantime_serde")]
    pub max_elapsed_time: Duration,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            initial_interval: default_initial_interval(),
            max_interval: default_max_interval(),
            max_elapsed_time: default_max_elapsed(),
        }
    }
}

fn default_initial_interval() -> Duration {
    Duration::from_secs(1)
}

fn default_max_interval() -> Duration {
    Duration::from_secs(30)
}

fn default_max_elapsed() -> Duration {
    Duration::from_secs(300)
}

/// TLS settings of a client.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// A PEM file of CA certificates to trust besides the system's.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// The server name to verify instead of the endpoint's host.
    #[serde(default)]
    pub server_name: Option<String>,
}

/// `kind = "otlp"`: OTLP over gRPC or HTTP, e.g. to Tempo or another collector.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OtlpExporterConfig {
    /// The server: `http://host:4317` (gRPC) or `http://host:4318` (HTTP; `/v1/<signal>` is appended).
    #[serde(default)]
    pub endpoint: String,
    /// Several servers instead of `endpoint`, each item sent to one of them by its key.
    #[serde(default)]
    pub balance: Option<BalanceConfig>,
    /// `grpc` or `http`.
    #[serde(default)]
    pub protocol: OtlpProtocol,
    /// `none`, `gzip` or `zstd`.
    #[serde(default)]
    pub compression: Compression,
    /// Headers (gRPC metadata) sent with every request, e.g. `X-Scope-OrgID` for Tempo tenants.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// How long one request may take.
    #[serde(default = "default_export_timeout", with = "humantime_serde")]
    pub timeout: Duration,
    /// Retries of failed sends.
    #[serde(default)]
    pub retry: RetryConfig,
    /// How many batches may wait for this exporter before pipelines see backpressure.
    #[serde(default = "default_queue_size")]
    pub queue_size: usize,
    /// How many sends may be in flight at once.
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// TLS for `https://` endpoints.
    #[serde(default)]
    pub tls: TlsConfig,
}

fn default_concurrency() -> usize {
    4
}

/// Load balancing of an OTLP exporter over several endpoints.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct BalanceConfig {
    /// The servers, each like `endpoint`.
    #[serde(default)]
    pub endpoints: Vec<String>,
    /// Instead of `endpoints`: the servers are the addresses a DNS name resolves to.
    #[serde(default)]
    pub dns: Option<DnsResolverConfig>,
    /// What picks an item's server.
    #[serde(default)]
    pub routing_key: RoutingKey,
}

/// Endpoints from DNS: every address `hostname` resolves to, at `port`, resolved again every
/// `interval` (a Kubernetes headless service, say).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct DnsResolverConfig {
    /// The name to resolve.
    pub hostname: String,
    /// The port of every address.
    #[serde(default = "default_dns_port")]
    pub port: u16,
    /// How often the name is resolved again.
    #[serde(default = "default_dns_interval", with = "humantime_serde")]
    pub interval: Duration,
    /// `http` or `https`, the scheme of each endpoint's URL.
    #[serde(default = "default_dns_scheme")]
    pub scheme: String,
}

fn default_dns_port() -> u16 {
    4317
}

fn default_dns_interval() -> Duration {
    Duration::from_secs(5)
}

fn default_dns_scheme() -> String {
    "http".to_owned()
}

/// What routes an item to one of several endpoints.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum RoutingKey {
    /// Spans and log records by trace id (records without one by service), metrics by service.
    #[default]
    TraceId,
    /// Everything by its resource's `service.name`.
    Service,
}

fn default_export_timeout() -> Duration {
    Duration::from_secs(10)
}

fn default_queue_size() -> usize {
    256
}

/// How much the debug exporter prints.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum Verbosity {
    /// One line per batch: the signal and counts.
    Basic,
    /// One line per record.
    #[default]
    Normal,
    /// Every field of every record.
    Detailed,
}

/// `kind = "debug"`: prints batches to standard output.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct DebugExporterConfig {
    /// `basic`, `normal` or `detailed`.
    #[serde(default)]
    pub verbosity: Verbosity,
}

/// An exporter plugin: push (the host sends its payloads to `endpoint`) or pull (the host
/// serves `listen` and the plugin renders the responses).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginExporterConfig {
    /// The component: `builtin:NAME` or a path to a `.wasm` file.
    pub plugin: PluginSource,
    /// The plugin's own settings, handed to its `init` as JSON.
    #[serde(default)]
    pub config: toml::Table,
    /// Memory and CPU limits per call.
    #[serde(default)]
    pub limits: Limits,
    /// Capabilities granted to the plugin.
    #[serde(default)]
    pub grants: Grants,
    /// Push: the base URL payloads are sent to.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// Push: headers added to every payload.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Push: how long one request may take.
    #[serde(default = "default_export_timeout", with = "humantime_serde")]
    pub timeout: Duration,
    /// Push: retries of failed sends.
    #[serde(default)]
    pub retry: RetryConfig,
    /// Pull: the address the host serves for scrapers.
    #[serde(default)]
    pub listen: Option<String>,
    /// How often the plugin's `flush` is called.
    #[serde(default = "default_flush_interval", with = "humantime_serde")]
    pub flush_interval: Duration,
    /// How many batches may wait for this exporter before pipelines see backpressure.
    #[serde(default = "default_queue_size")]
    pub queue_size: usize,
    /// TLS for `https://` endpoints.
    #[serde(default)]
    pub tls: TlsConfig,
}

fn default_flush_interval() -> Duration {
    Duration::from_secs(1)
}

/// The signal a pipeline carries.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum SignalName {
    /// Logs.
    Logs,
    /// Traces.
    Traces,
    /// Metrics.
    Metrics,
}

/// Batching before the processors.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct BatchConfig {
    /// A batch is sent on once it holds this many items (records, spans or data points);
    /// larger requests are split.
    #[serde(default = "default_batch_items")]
    pub max_items: usize,
    /// A batch is sent on at the latest this long after its first item arrived.
    #[serde(default = "default_batch_timeout", with = "humantime_serde")]
    pub timeout: Duration,
}

impl Default for BatchConfig {
    fn default() -> Self {
        Self { max_items: default_batch_items(), timeout: default_batch_timeout() }
    }
}

fn default_batch_items() -> usize {
    8192
}

fn default_batch_timeout() -> Duration {
    Duration::from_millis(200)
}

/// `[pipelines.NAME]`: receivers → processors (in order) → exporters (fan-out), for one signal.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineConfig {
    /// `logs`, `traces` or `metrics`.
    pub signal: SignalName,
    /// The receivers that feed the pipeline.
    pub receivers: Vec<String>,
    /// The processors, run in order.
    #[serde(default)]
    pub processors: Vec<String>,
    /// The exporters every batch fans out to.
    pub exporters: Vec<String>,
    /// Batching before the processors.
    #[serde(default)]
    pub batch: BatchConfig,
    /// How many batches may wait for the processors before receivers see backpressure.
    #[serde(default = "default_pipeline_queue")]
    pub queue_size: usize,
    /// How many batches are processed in parallel, each worker with its own plugin instances.
    #[serde(default = "default_workers")]
    pub workers: usize,
    /// With several workers, sends every item with the same key to the same worker (its
    /// batches cut by key), so that stateful processors see all of a trace or a service.
    #[serde(default)]
    pub partition_by: Option<RoutingKey>,
}

fn default_pipeline_queue() -> usize {
    64
}

fn default_workers() -> usize {
    1
}
