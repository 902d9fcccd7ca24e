//! The built-in OTLP receiver: gRPC (tonic) on the three `Export` methods and HTTP (axum)
//! on `/v1/logs`, `/v1/traces` and `/v1/metrics`, with protobuf and JSON bodies and gzip or
//! zstd request compression. Responses follow the OTLP specification: 400 /
//! `InvalidArgument` for malformed input, 503 with `Retry-After` / `Unavailable` when a
//! pipeline queue is full, 404 / `Unimplemented` for a signal no pipeline takes.

use std::convert::Infallible;
use std::io::Read;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::future::BoxFuture;
use prost::Message;
use tonic::codec::CompressionEncoding;
use tonic::server::NamedService;
use tonic::{Request, Status};

use super::{Outputs, Refusal};
use crate::batch::{Signal, signal_name};
use crate::config::OtlpReceiverConfig;
use crate::otlp::{RawCodec, RpcStatus, empty_response_json, grpc_path, http_path, json_to_protobuf};

/// Errors starting the receiver.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    /// A listener could not be bound.
    #[error("receivers.{receiver}.{key}: cannot listen on {address}: {error}")]
    Bind { receiver: String, key: &'static str, address: String, error: std::io::Error },
}

struct Shared {
    outputs: Outputs,
    max_request_size: usize,
}

/// A bound, not yet serving, OTLP receiver.
pub(crate) struct OtlpReceiver {
    grpc: Option<tokio::net::TcpListener>,
    http: Option<tokio::net::TcpListener>,
    shared: Arc<Shared>,
}

impl OtlpReceiver {
    /// Binds the configured listeners, so that an address in use fails the start.
    pub(crate) async fn bind(config: &OtlpReceiverConfig, outputs: Outputs) -> Result<Self, Error> {
        let name = outputs.name().to_string();
        let bind = |key: &'static str, address: Option<String>| {
            let name = name.clone();
            async move {
                let Some(address) = address else { return Ok(None) };
                let parsed: SocketAddr = address.parse().expect("validated with the config");
                tokio::net::TcpListener::bind(parsed).await.map(Some).map_err(|error| Error::Bind {
                    receiver: name,
                    key,
                    address,
                    error,
                })
            }
        };
        let grpc = bind("grpc", config.grpc.clone()).await?;
        let http = bind("http", config.http.clone()).await?;
        let shared = Arc::new(Shared { outputs, max_request_size: config.max_request_size.as_u64() as usize });
        Ok(Self { grpc, http, shared })
    }

    /// Serves until `shutdown` resolves, then stops accepting and finishes in-flight requests.
    pub(crate) async fn serve(self, shutdown: tokio::sync::watch::Receiver<bool>) {
        let mut tasks = tokio::task::JoinSet::new();
        if let Some(listener) = self.grpc {
            let shared = self.shared.clone();
            let mut stop = shutdown.clone();
            tasks.spawn(async move {
                let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
                // Batches are hundreds of KB: HTTP/2's default 64 KB windows would cost a
                // round trip of window updates every 64 KB.
                let result = tonic::transport::Server::builder()
                    .initial_stream_window_size(Some(4 << 20))
                    .initial_connection_window_size(Some(16 << 20))
                    .add_service(GrpcService::<LogsMarker>::new(shared.clone()))
                    .add_service(GrpcService::<TracesMarker>::new(shared.clone()))
                    .add_service(GrpcService::<MetricsMarker>::new(shared.clone()))
                    .serve_with_incoming_shutdown(incoming, async move {
                        let _ = stop.wait_for(|stopped| *stopped).await;
                    })
                    .await;
                if let Err(error) = result {
                    tracing::error!(receiver = shared.outputs.name(), %error, "The OTLP/gRPC server failed.");
                }
            });
        }
        if let Some(listener) = self.http {
            let shared = self.shared.clone();
            let mut stop = shutdown.clone();
            tasks.spawn(async move {
                let app = axum::Router::new()
                    .route(http_path(Signal::Logs), axum::routing::post(http_logs))
                    .route(http_path(Signal::Traces), axum::routing::post(http_traces))
                    .route(http_path(Signal::Metrics), axum::routing::post(http_metrics))
                    .layer(axum::extract::DefaultBodyLimit::max(shared.max_request_size))
                    .with_state(shared.clone());
                let result = axum::serve(crate::net::nodelay(listener), app)
                    .with_graceful_shutdown(async move {
                        let _ = stop.wait_for(|stopped| *stopped).await;
                    })
                    .await;
                if let Err(error) = result {
                    tracing::error!(receiver = shared.outputs.name(), %error, "The OTLP/HTTP server failed.");
                }
            });
        }
        while tasks.join_next().await.is_some() {}
    }
}

/// Validates a protobuf request and delivers it; the error is the gRPC status to answer.
async fn accept(shared: &Shared, signal: Signal, payload: Bytes) -> Result<(), Status> {
    if !shared.outputs.accepts(signal) {
        return Err(Status::unimplemented(format!(
            "receiver `{}` feeds no {} pipeline",
            shared.outputs.name(),
            signal_name(signal)
        )));
    }
    let counts = match aegis_wire::validate(signal, &payload) {
        Ok(counts) => counts,
        Err(error) => {
            shared.outputs.count_invalid(signal);
            tracing::debug!(receiver = shared.outputs.name(), %error, "Refused a malformed OTLP request.");
            return Err(Status::invalid_argument(error.to_string()));
        }
    };
    if counts.items == 0 {
        return Ok(());
    }
    match shared.outputs.deliver(signal, payload, counts.items).await {
        Ok(()) => Ok(()),
        Err(Refusal::Full) => Err(Status::unavailable("the pipeline queue is full; retry later")),
        Err(Refusal::ShuttingDown) => Err(Status::unavailable("the collector is shutting down")),
        Err(Refusal::NoPipeline) => Err(Status::unimplemented("no pipeline takes this signal")),
    }
}

// ---- gRPC ----

trait SignalMarker: Send + Sync + 'static {
    const SIGNAL: Signal;
    const NAME: &'static str;
}

struct LogsMarker;
struct TracesMarker;
struct MetricsMarker;

impl SignalMarker for LogsMarker {
    const SIGNAL: Signal = Signal::Logs;
    const NAME: &'static str = "opentelemetry.proto.collector.logs.v1.LogsService";
}
impl SignalMarker for TracesMarker {
    const SIGNAL: Signal = Signal::Traces;
    const NAME: &'static str = "opentelemetry.proto.collector.trace.v1.TraceService";
}
impl SignalMarker for MetricsMarker {
    const SIGNAL: Signal = Signal::Metrics;
    const NAME: &'static str = "opentelemetry.proto.collector.metrics.v1.MetricsService";
}

/// One OTLP gRPC service (`LogsService`, `TraceService` or `MetricsService`) over raw bytes.
struct GrpcService<M> {
    shared: Arc<Shared>,
    _marker: std::marker::PhantomData<fn() -> M>,
}

impl<M> Clone for GrpcService<M> {
    fn clone(&self) -> Self {
        Self { shared: self.shared.clone(), _marker: std::marker::PhantomData }
    }
}

impl<M> GrpcService<M> {
    fn new(shared: Arc<Shared>) -> Self {
        Self { shared, _marker: std::marker::PhantomData }
    }
}

impl<M: SignalMarker> NamedService for GrpcService<M> {
    const NAME: &'static str = M::NAME;
}

struct Export<M> {
    shared: Arc<Shared>,
    _marker: std::marker::PhantomData<fn() -> M>,
}

impl<M: SignalMarker> tonic::server::UnaryService<Bytes> for Export<M> {
    type Response = Bytes;
    type Future = BoxFuture<'static, Result<tonic::Response<Bytes>, Status>>;

    fn call(&mut self, request: Request<Bytes>) -> Self::Future {
        let shared = self.shared.clone();
        Box::pin(async move {
            accept(&shared, M::SIGNAL, request.into_inner()).await?;
            // An empty Export*ServiceResponse encodes to no bytes: full success.
            Ok(tonic::Response::new(Bytes::new()))
        })
    }
}

impl<M: SignalMarker, B> tower::Service<http::Request<B>> for GrpcService<M>
where
    B: http_body::Body + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>> + Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn std::future::Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let shared = self.shared.clone();
        Box::pin(async move {
            if request.uri().path() != grpc_path(M::SIGNAL) {
                return Ok(Status::unimplemented(format!("no method {}", request.uri().path())).into_http());
            }
            let mut grpc = tonic::server::Grpc::new(RawCodec)
                .accept_compressed(CompressionEncoding::Gzip)
                .accept_compressed(CompressionEncoding::Zstd)
                .send_compressed(CompressionEncoding::Gzip)
                .max_decoding_message_size(shared.max_request_size);
            let export = Export::<M> { shared, _marker: std::marker::PhantomData };
            Ok(grpc.unary(export, request).await)
        })
    }
}

// ---- HTTP ----

async fn http_logs(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    http_export(&shared, Signal::Logs, &headers, body).await
}

async fn http_traces(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    http_export(&shared, Signal::Traces, &headers, body).await
}

async fn http_metrics(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    http_export(&shared, Signal::Metrics, &headers, body).await
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Protobuf,
    Json,
}

async fn http_export(shared: &Shared, signal: Signal, headers: &HeaderMap, body: Bytes) -> Response {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let format = match content_type.split(';').next().unwrap_or("").trim() {
        "application/x-protobuf" | "application/protobuf" => Format::Protobuf,
        "application/json" => Format::Json,
        other => {
            shared.outputs.count_invalid(signal);
            return (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("unsupported content type `{other}`: send application/x-protobuf or application/json"),
            )
                .into_response();
        }
    };
    let encoding = headers.get(header::CONTENT_ENCODING).and_then(|v| v.to_str().ok()).unwrap_or("identity");
    let body = match decompress(encoding, body, shared.max_request_size) {
        Ok(body) => body,
        Err((status, message)) => {
            shared.outputs.count_invalid(signal);
            return error_response(format, status, tonic::Code::InvalidArgument, &message);
        }
    };
    let payload = match format {
        Format::Protobuf => body,
        Format::Json => match json_to_protobuf(signal, &body) {
            Ok(bytes) => Bytes::from(bytes),
            Err(message) => {
                shared.outputs.count_invalid(signal);
                return error_response(format, StatusCode::BAD_REQUEST, tonic::Code::InvalidArgument, &message);
            }
        },
    };
    match accept(shared, signal, payload).await {
        Ok(()) => match format {
            Format::Protobuf => ([(header::CONTENT_TYPE, "application/x-protobuf")], Bytes::new()).into_response(),
            Format::Json => ([(header::CONTENT_TYPE, "application/json")], empty_response_json()).into_response(),
        },
        Err(status) => {
            let http = match status.code() {
                tonic::Code::InvalidArgument => StatusCode::BAD_REQUEST,
                tonic::Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
                tonic::Code::Unimplemented => StatusCode::NOT_FOUND,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            };
            let mut response = error_response(format, http, status.code(), status.message());
            if http == StatusCode::SERVICE_UNAVAILABLE {
                response.headers_mut().insert(header::RETRY_AFTER, http::HeaderValue::from_static("1"));
            }
            response
        }
    }
}

fn decompress(encoding: &str, body: Bytes, max: usize) -> Result<Bytes, (StatusCode, String)> {
    let read_limited = |reader: &mut dyn Read| -> Result<Bytes, (StatusCode, String)> {
        let mut out = Vec::new();
        let read = reader.take(max as u64 + 1).read_to_end(&mut out);
        match read {
            Ok(_) if out.len() > max => Err((
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("the decompressed body is larger than max_request_size ({max} bytes)"),
            )),
            Ok(_) => Ok(Bytes::from(out)),
            Err(error) => {
                Err((StatusCode::BAD_REQUEST, format!("the {encoding} body cannot be decompressed: {error}")))
            }
        }
    };
    match encoding.trim() {
        "" | "identity" => Ok(body),
        "gzip" => read_limited(&mut flate2::read::GzDecoder::new(&body[..])),
        "deflate" => read_limited(&mut flate2::read::ZlibDecoder::new(&body[..])),
        "zstd" => {
            let mut decoder = zstd::stream::read::Decoder::new(&body[..])
                .map_err(|error| (StatusCode::BAD_REQUEST, format!("the zstd body cannot be decompressed: {error}")))?;
            read_limited(&mut decoder)
        }
        other => Err((
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("unsupported content encoding `{other}`: send gzip, zstd or no compression"),
        )),
    }
}

fn error_response(format: Format, status: StatusCode, code: tonic::Code, message: &str) -> Response {
    let rpc = RpcStatus { code: code as i32, message: message.to_string() };
    match format {
        Format::Protobuf => {
            (status, [(header::CONTENT_TYPE, "application/x-protobuf")], Body::from(rpc.encode_to_vec()))
                .into_response()
        }
        Format::Json => {
            let body = serde_json::json!({ "code": rpc.code, "message": rpc.message });
            (status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
        }
    }
}
