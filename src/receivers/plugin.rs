//! The host transports that feed receiver plugins: bodies posted to HTTP paths, lines from
//! TCP connections, UDP datagrams, scrapes of URLs on an interval, and timer ticks. The host
//! owns all of that I/O; the plugin only turns each input into telemetry.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use tokio::io::{AsyncBufReadExt, AsyncReadExt};
use tokio::sync::watch;

use super::{Outputs, Refusal};
use crate::config::PluginReceiverConfig;
use crate::runtime::{FailureKind, Slot, wit};

/// Errors starting the receiver.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    #[error("receivers.{receiver}.{key}: {message}")]
    Setup { receiver: String, key: &'static str, message: String },
}

/// A receiver plugin with its transports bound.
pub(crate) struct PluginReceiver {
    config: PluginReceiverConfig,
    shared: Arc<Shared>,
    http: Option<tokio::net::TcpListener>,
    tcp: Option<tokio::net::TcpListener>,
    udp: Option<tokio::net::UdpSocket>,
}

struct Shared {
    outputs: Outputs,
    slot: Mutex<Slot>,
}

fn now_nanos() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64)
}

/// What came of handing one input to the plugin.
enum Handled {
    Accepted(Option<wit::HttpResponse>),
    Invalid(String),
    Failed(String),
    Refused(Refusal),
}

impl Shared {
    async fn handle(self: &Arc<Self>, input: wit::Input) -> Handled {
        let shared = self.clone();
        let joined =
            tokio::task::spawn_blocking(move || shared.slot.lock().unwrap_or_else(|p| p.into_inner()).receive(input))
                .await;
        let received = match joined {
            Ok(Ok(received)) => received,
            Ok(Err(failure)) if failure.kind == FailureKind::Error && failure.message.starts_with("invalid input") => {
                return Handled::Invalid(failure.message);
            }
            Ok(Err(failure)) => return Handled::Failed(failure.to_string()),
            Err(error) => return Handled::Failed(error.to_string()),
        };
        for (signal, bytes, items) in received.batches {
            if let Err(refusal) = self.outputs.deliver(signal, Bytes::from(bytes), items).await {
                return Handled::Refused(refusal);
            }
        }
        Handled::Accepted(received.response)
    }
}

impl PluginReceiver {
    pub(crate) async fn bind(
        name: &str,
        config: &PluginReceiverConfig,
        slot: Slot,
        outputs: Outputs,
    ) -> Result<Self, Error> {
        let setup = |key, message: String| Error::Setup { receiver: name.to_string(), key, message };
        let address = |listen: &str| listen.parse::<SocketAddr>().expect("validated with the config");
        let http = match &config.http {
            Some(http) => Some(
                tokio::net::TcpListener::bind(address(&http.listen))
                    .await
                    .map_err(|e| setup("http.listen", format!("cannot listen on {}: {e}", http.listen)))?,
            ),
            None => None,
        };
        let tcp = match &config.tcp {
            Some(tcp) => Some(
                tokio::net::TcpListener::bind(address(&tcp.listen))
                    .await
                    .map_err(|e| setup("tcp.listen", format!("cannot listen on {}: {e}", tcp.listen)))?,
            ),
            None => None,
        };
        let udp = match &config.udp {
            Some(udp) => Some(
                tokio::net::UdpSocket::bind(address(&udp.listen))
                    .await
                    .map_err(|e| setup("udp.listen", format!("cannot listen on {}: {e}", udp.listen)))?,
            ),
            None => None,
        };
        Ok(Self {
            config: config.clone(),
            shared: Arc::new(Shared { outputs, slot: Mutex::new(slot) }),
            http,
            tcp,
            udp,
        })
    }

    /// Runs every transport until shutdown.
    pub(crate) async fn serve(self, shutdown: watch::Receiver<bool>) {
        let mut tasks = tokio::task::JoinSet::new();
        let name: Arc<str> = self.shared.outputs.name().into();
        if let (Some(listener), Some(http)) = (self.http, &self.config.http) {
            let shared = self.shared.clone();
            let mut stop = shutdown.clone();
            let paths = http.paths.clone();
            let limit = http.max_request_size.as_u64() as usize;
            tasks.spawn(async move {
                let mut app = axum::Router::new();
                for path in &paths {
                    let shared = shared.clone();
                    app = app.route(
                        path,
                        axum::routing::any(move |request: axum::extract::Request| {
                            http_input(shared.clone(), request, limit)
                        }),
                    );
                }
                let _ = axum::serve(crate::net::nodelay(listener), app)
                    .with_graceful_shutdown(async move {
                        let _ = stop.wait_for(|stopped| *stopped).await;
                    })
                    .await;
            });
        }
        if let (Some(listener), Some(tcp)) = (self.tcp, &self.config.tcp) {
            let shared = self.shared.clone();
            let mut stop = shutdown.clone();
            let max_line = tcp.max_line.as_u64() as usize;
            let name = name.clone();
            tasks.spawn(async move {
                loop {
                    let accepted = tokio::select! {
                        accepted = listener.accept() => accepted,
                        _ = stop.wait_for(|stopped| *stopped) => break,
                    };
                    let Ok((stream, peer)) = accepted else { continue };
                    let shared = shared.clone();
                    let mut stop = stop.clone();
                    let name = name.clone();
                    tokio::spawn(async move {
                        let mut reader = tokio::io::BufReader::new(stream);
                        let mut line = Vec::new();
                        loop {
                            line.clear();
                            let mut limited = (&mut reader).take(max_line as u64 + 1);
                            let read = tokio::select! {
                                read = limited.read_until(b'\n', &mut line) => read,
                                _ = stop.wait_for(|stopped| *stopped) => break,
                            };
                            match read {
                                Ok(0) | Err(_) => break,
                                Ok(_) => {}
                            }
                            while line.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
                                line.pop();
                            }
                            let frame = wit::Frame { peer: peer.to_string(), data: std::mem::take(&mut line) };
                            log_outcome(&name, shared.handle(wit::Input::Frame(frame)).await);
                        }
                    });
                }
            });
        }
        if let Some(socket) = self.udp {
            let shared = self.shared.clone();
            let mut stop = shutdown.clone();
            let name = name.clone();
            tasks.spawn(async move {
                let mut buffer = vec![0u8; 65_536];
                loop {
                    let received = tokio::select! {
                        received = socket.recv_from(&mut buffer) => received,
                        _ = stop.wait_for(|stopped| *stopped) => break,
                    };
                    let Ok((length, peer)) = received else { continue };
                    let frame = wit::Frame { peer: peer.to_string(), data: buffer[..length].to_vec() };
                    log_outcome(&name, shared.handle(wit::Input::Frame(frame)).await);
                }
            });
        }
        if let Some(scrape) = self.config.scrape.clone() {
            let client =
                reqwest::Client::builder().timeout(scrape.timeout).build().expect("a plain HTTP client builds");
            for target in scrape.targets.clone() {
                let shared = self.shared.clone();
                let mut stop = shutdown.clone();
                let client = client.clone();
                let name = name.clone();
                let interval = scrape.interval;
                let max = scrape.max_body_size.as_u64() as usize;
                tasks.spawn(async move {
                    let mut ticker = tokio::time::interval(interval);
                    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
                    loop {
                        tokio::select! {
                            _ = ticker.tick() => {}
                            _ = stop.wait_for(|stopped| *stopped) => break,
                        }
                        let result = scrape_once(&client, &target, max).await;
                        log_outcome(&name, shared.handle(wit::Input::Scrape(result)).await);
                    }
                });
            }
        }
        if let Some(files) = self.config.files.clone() {
            let shared = self.shared.clone();
            let mut stop = shutdown.clone();
            let name = name.clone();
            tasks.spawn(async move {
                let interval = files.poll_interval;
                let mut tailer = Some(super::files::Tailer::new(files));
                loop {
                    let mut owned = tailer.take().expect("the tailer is put back after every poll");
                    let (chunks, back) = match tokio::task::spawn_blocking(move || (owned.poll(), owned)).await {
                        Ok(polled) => polled,
                        Err(error) => {
                            tracing::error!(receiver = &*name, %error, "The file tailer failed.");
                            return;
                        }
                    };
                    owned = back;
                    let mut refused = false;
                    let mut chunks = chunks.into_iter();
                    while let Some(mut chunk) = chunks.next() {
                        match shared.handle(wit::Input::Lines(std::mem::take(&mut chunk.lines))).await {
                            Handled::Refused(refusal) => {
                                // Nothing was enqueued: read the same lines, and every line
                                // read after them, again on the next poll.
                                tracing::debug!(receiver = &*name, ?refusal, "Pipelines refused file lines; retrying.");
                                owned.rewind(&chunk);
                                chunks.for_each(|later| owned.rewind(&later));
                                refused = true;
                                break;
                            }
                            handled => {
                                log_outcome(&name, handled);
                                owned.commit(&chunk);
                            }
                        }
                    }
                    let more = owned.has_more() && !refused;
                    tailer = Some(owned);
                    if more {
                        if *stop.borrow() {
                            break;
                        }
                        continue;
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(interval) => {}
                        _ = stop.wait_for(|stopped| *stopped) => break,
                    }
                }
            });
        }
        if let Some(timer) = self.config.timer.clone() {
            let shared = self.shared.clone();
            let mut stop = shutdown.clone();
            let name = name.clone();
            tasks.spawn(async move {
                let mut ticker = tokio::time::interval(timer.interval);
                ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
                loop {
                    tokio::select! {
                        _ = ticker.tick() => {}
                        _ = stop.wait_for(|stopped| *stopped) => break,
                    }
                    log_outcome(&name, shared.handle(wit::Input::Tick(now_nanos())).await);
                }
            });
        }
        while tasks.join_next().await.is_some() {}
    }
}

fn log_outcome(receiver: &str, handled: Handled) {
    match handled {
        Handled::Accepted(_) => {}
        Handled::Invalid(message) => tracing::debug!(receiver, %message, "The plugin refused an input."),
        Handled::Failed(message) => tracing::warn!(receiver, %message, "The receiver plugin failed on an input."),
        Handled::Refused(refusal) => tracing::warn!(receiver, ?refusal, "Pipelines refused the receiver's telemetry."),
    }
}

async fn scrape_once(client: &reqwest::Client, target: &str, max: usize) -> wit::Scrape {
    let started_unix = now_nanos();
    let started = Instant::now();
    let mut scrape = wit::Scrape {
        target: target.to_string(),
        status: None,
        headers: Vec::new(),
        body: Vec::new(),
        duration_nanos: 0,
        error: None,
        started_unix_nanos: started_unix,
    };
    let request = client.get(target).header(
        http::header::ACCEPT,
        "application/openmetrics-text;version=1.0.0;q=0.5,text/plain;version=0.0.4;q=0.4,*/*;q=0.1",
    );
    match request.send().await {
        Ok(mut response) => {
            scrape.status = Some(response.status().as_u16());
            scrape.headers = response
                .headers()
                .iter()
                .filter_map(|(k, v)| Some((k.to_string(), v.to_str().ok()?.to_string())))
                .collect();
            loop {
                match response.chunk().await {
                    Ok(Some(chunk)) if scrape.body.len() + chunk.len() <= max => scrape.body.extend_from_slice(&chunk),
                    Ok(Some(_)) => {
                        scrape.error = Some(format!("the body is larger than max_body_size ({max} bytes)"));
                        scrape.body.clear();
                        break;
                    }
                    Ok(None) => break,
                    Err(error) => {
                        scrape.error = Some(error.to_string());
                        break;
                    }
                }
            }
        }
        Err(error) => scrape.error = Some(error.to_string()),
    }
    scrape.duration_nanos = started.elapsed().as_nanos() as u64;
    scrape
}

async fn http_input(shared: Arc<Shared>, request: axum::extract::Request, limit: usize) -> Response {
    let (parts, body) = request.into_parts();
    let body = match axum::body::to_bytes(body, limit).await {
        Ok(body) => body,
        Err(_) => {
            return (StatusCode::PAYLOAD_TOO_LARGE, format!("the body is larger than {limit} bytes")).into_response();
        }
    };
    let input = wit::Input::Http(wit::HttpRequest {
        method: parts.method.to_string(),
        path: parts.uri.path_and_query().map_or_else(|| parts.uri.path().to_string(), |p| p.to_string()),
        headers: parts
            .headers
            .iter()
            .filter_map(|(k, v)| Some((k.to_string(), v.to_str().ok()?.to_string())))
            .collect(),
        body: body.to_vec(),
    });
    match shared.handle(input).await {
        Handled::Accepted(Some(response)) => {
            let mut builder = http::Response::builder().status(response.status);
            for (key, value) in &response.headers {
                builder = builder.header(key.as_str(), value.as_str());
            }
            builder
                .body(axum::body::Body::from(response.body))
                .unwrap_or_else(|error| (StatusCode::INTERNAL_SERVER_ERROR, error.to_string()).into_response())
        }
        Handled::Accepted(None) => StatusCode::OK.into_response(),
        Handled::Invalid(message) => (StatusCode::BAD_REQUEST, message).into_response(),
        Handled::Failed(message) => (StatusCode::INTERNAL_SERVER_ERROR, message).into_response(),
        Handled::Refused(Refusal::NoPipeline) => {
            (StatusCode::NOT_FOUND, "no pipeline takes this signal").into_response()
        }
        Handled::Refused(_) => {
            (StatusCode::SERVICE_UNAVAILABLE, [(http::header::RETRY_AFTER, "1")], "the pipeline queue is full")
                .into_response()
        }
    }
}
