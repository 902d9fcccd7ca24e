//! Plain Rust types for everything that crosses the boundary, and their conversions to
//! and from the generated bindings (which plugin authors never see).

use aegis_wire::{Logs, Metrics, Signal, Traces};

use crate::bindings::wit;
use crate::{Error, ErrorKind};

/// What a plugin tells the host about itself before it is configured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PluginInfo {
    /// The plugin's name, e.g. `attributes`.
    pub name: String,
    /// The plugin's version, e.g. `0.1.0`.
    pub version: String,
    /// The signals the plugin handles; the host refuses a pipeline of any other.
    pub signals: Vec<Signal>,
}

impl PluginInfo {
    /// The info the export macros start from: the crate's name without an
    /// `aegis-plugin-` prefix, the crate's version and the given signals.
    pub fn from_crate(package: &str, version: &str, signals: Vec<Signal>) -> Self {
        PluginInfo {
            name: package.strip_prefix("aegis-plugin-").unwrap_or(package).to_owned(),
            version: version.to_owned(),
            signals,
        }
    }
}

/// All three signals, the default for every trait's `signals()`.
pub const ALL_SIGNALS: [Signal; 3] = [Signal::Logs, Signal::Traces, Signal::Metrics];

/// One batch of telemetry of one signal, as OTLP protobuf bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Batch {
    /// Which signal the payload is.
    pub signal: Signal,
    /// An encoded `ExportLogsServiceRequest`, `ExportTraceServiceRequest` or
    /// `ExportMetricsServiceRequest`.
    pub payload: Vec<u8>,
}

impl Batch {
    /// A batch of `signal` holding `payload`.
    pub fn new(signal: Signal, payload: Vec<u8>) -> Self {
        Batch { signal, payload }
    }

    /// Reads the payload as logs (an invalid-input error for another signal).
    pub fn logs(&self) -> Result<Logs<'_>, Error> {
        self.expect(Signal::Logs)?;
        Ok(Logs::parse(&self.payload)?)
    }

    /// Reads the payload as traces.
    pub fn traces(&self) -> Result<Traces<'_>, Error> {
        self.expect(Signal::Traces)?;
        Ok(Traces::parse(&self.payload)?)
    }

    /// Reads the payload as metrics.
    pub fn metrics(&self) -> Result<Metrics<'_>, Error> {
        self.expect(Signal::Metrics)?;
        Ok(Metrics::parse(&self.payload)?)
    }

    fn expect(&self, signal: Signal) -> Result<(), Error> {
        if self.signal == signal {
            Ok(())
        } else {
            Err(Error::invalid_input(format!("expected a {signal} batch, got {}", self.signal)))
        }
    }
}

/// An HTTP request that the host received or made.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HttpRequest {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path with the query string, e.g. `/metrics?x=1`.
    pub path: String,
    /// The headers, in order.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl HttpRequest {
    /// The first header named `name` (case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }
}

fn find_header<'h>(headers: &'h [(String, String)], name: &str) -> Option<&'h str> {
    headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

/// An HTTP response for the host to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// The headers, in order.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// A response with `status`, no headers and no body.
    pub fn new(status: u16) -> Self {
        HttpResponse { status, headers: Vec::new(), body: Vec::new() }
    }

    /// A 200 response with `body`.
    pub fn ok(body: impl Into<Vec<u8>>) -> Self {
        HttpResponse::new(200).with_body(body)
    }

    /// A 404 response.
    pub fn not_found() -> Self {
        HttpResponse::new(404)
    }

    /// Adds a header.
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the body.
    pub fn with_body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }
}

/// The result of a scrape that the host made on the plugin's behalf.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scrape {
    /// The URL that was scraped.
    pub target: String,
    /// The HTTP status, or `None` when the request failed.
    pub status: Option<u16>,
    /// The response headers.
    pub headers: Vec<(String, String)>,
    /// The response body.
    pub body: Vec<u8>,
    /// How long the scrape took, in nanoseconds.
    pub duration_nanos: u64,
    /// Why the scrape failed, when it did.
    pub error: Option<String>,
    /// When the scrape started, in nanoseconds since the Unix epoch.
    pub started_unix_nanos: u64,
}

/// One line of a tailed file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FileLine {
    /// The file's path.
    pub path: String,
    /// The line, without its line ending.
    pub line: String,
    /// The byte offset of the line's start in the file.
    pub offset: u64,
}

/// One frame or line read from a TCP or UDP socket.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Frame {
    /// The peer's address, e.g. `127.0.0.1:5140`.
    pub peer: String,
    /// The bytes.
    pub data: Vec<u8>,
}

/// Raw input that a host transport delivers to a receiver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// A body posted to one of the receiver's HTTP paths.
    Http(HttpRequest),
    /// A TCP line or frame, or a UDP datagram.
    Frame(Frame),
    /// Lines of tailed files.
    Lines(Vec<FileLine>),
    /// The result of scraping a URL.
    Scrape(Scrape),
    /// A timer tick for pull-style sources; the Unix time in nanoseconds.
    Tick(u64),
}

/// What a receiver made of one input.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Received {
    /// The telemetry to send down the pipelines.
    pub batches: Vec<Batch>,
    /// For HTTP input: the response to send; the host sends 200 with an empty body
    /// when there is none.
    pub response: Option<HttpResponse>,
}

impl Received {
    /// Nothing received.
    pub fn nothing() -> Self {
        Received::default()
    }

    /// One batch.
    pub fn batch(signal: Signal, payload: Vec<u8>) -> Self {
        Received { batches: vec![Batch::new(signal, payload)], response: None }
    }

    /// Sets the HTTP response.
    pub fn with_response(mut self, response: HttpResponse) -> Self {
        self.response = Some(response);
        self
    }
}

/// A request the host sends to the exporter's endpoint.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Payload {
    /// The path appended to the configured endpoint, e.g. `/loki/api/v1/push`.
    pub path: String,
    /// The headers.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl From<wit::Signal> for Signal {
    fn from(signal: wit::Signal) -> Self {
        match signal {
            wit::Signal::Logs => Signal::Logs,
            wit::Signal::Traces => Signal::Traces,
            wit::Signal::Metrics => Signal::Metrics,
        }
    }
}

pub(crate) fn to_wit_signal(signal: Signal) -> wit::Signal {
    match signal {
        Signal::Logs => wit::Signal::Logs,
        Signal::Traces => wit::Signal::Traces,
        Signal::Metrics => wit::Signal::Metrics,
    }
}

impl From<PluginInfo> for wit::PluginInfo {
    fn from(info: PluginInfo) -> Self {
        wit::PluginInfo {
            name: info.name,
            version: info.version,
            signals: info.signals.into_iter().map(to_wit_signal).collect(),
        }
    }
}

impl From<Error> for wit::Error {
    fn from(error: Error) -> Self {
        wit::Error {
            kind: match error.kind() {
                ErrorKind::Config => wit::ErrorKind::Config,
                ErrorKind::InvalidInput => wit::ErrorKind::InvalidInput,
                ErrorKind::Failed => wit::ErrorKind::Failed,
            },
            message: error.message().to_owned(),
        }
    }
}

impl From<wit::Batch> for Batch {
    fn from(batch: wit::Batch) -> Self {
        Batch { signal: batch.signal.into(), payload: batch.payload }
    }
}

impl From<Batch> for wit::Batch {
    fn from(batch: Batch) -> Self {
        wit::Batch { signal: to_wit_signal(batch.signal), payload: batch.payload }
    }
}

impl From<wit::HttpRequest> for HttpRequest {
    fn from(r: wit::HttpRequest) -> Self {
        HttpRequest { method: r.method, path: r.path, headers: r.headers, body: r.body }
    }
}

impl From<HttpResponse> for wit::HttpResponse {
    fn from(r: HttpResponse) -> Self {
        wit::HttpResponse { status: r.status, headers: r.headers, body: r.body }
    }
}

impl From<wit::Input> for Input {
    fn from(input: wit::Input) -> Self {
        match input {
            wit::Input::Http(r) => Input::Http(r.into()),
            wit::Input::Frame(f) => Input::Frame(Frame { peer: f.peer, data: f.data }),
            wit::Input::Lines(lines) => Input::Lines(
                lines.into_iter().map(|l| FileLine { path: l.path, line: l.line, offset: l.offset }).collect(),
            ),
            wit::Input::Scrape(s) => Input::Scrape(Scrape {
                target: s.target,
                status: s.status,
                headers: s.headers,
                body: s.body,
                duration_nanos: s.duration_nanos,
                error: s.error,
                started_unix_nanos: s.started_unix_nanos,
            }),
            wit::Input::Tick(t) => Input::Tick(t),
        }
    }
}

impl From<Received> for wit::Received {
    fn from(r: Received) -> Self {
        wit::Received { batches: r.batches.into_iter().map(Into::into).collect(), response: r.response.map(Into::into) }
    }
}

impl From<Payload> for wit::Payload {
    fn from(p: Payload) -> Self {
        wit::Payload { path: p.path, headers: p.headers, body: p.body }
    }
}
