//! The host side of exporter plugins. The plugin turns batches into payloads and the host
//! sends them to `endpoint` with retries (push), or the host serves `listen` and the plugin
//! renders each response from the state it keeps (pull, e.g. a Prometheus scrape endpoint).
//!
//! One instance serves an exporter, so its state is consistent; its calls run on blocking
//! threads, never on the async I/O threads.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::{ExportCounters, Failed, SendError, parse_retry_after, with_retry};
use crate::config::PluginExporterConfig;
use crate::runtime::{Slot, wit};
use crate::topology::pipeline::ExportItem;

/// Errors setting the exporter up.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    #[error("exporters.{exporter}.{key}: {message}")]
    Setup { exporter: String, key: &'static str, message: String },
}

/// A configured exporter plugin.
pub(crate) struct PluginExporter {
    name: String,
    config: PluginExporterConfig,
    slot: Arc<Mutex<Slot>>,
    client: reqwest::Client,
    listener: Option<tokio::net::TcpListener>,
    telemetry: std::sync::Arc<crate::admin::metrics::Telemetry>,
}

fn now_nanos() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64)
}

impl PluginExporter {
    pub(crate) async fn new(
        name: &str,
        config: &PluginExporterConfig,
        slot: Slot,
        telemetry: std::sync::Arc<crate::admin::metrics::Telemetry>,
    ) -> Result<Self, Error> {
        let setup = |key, message: String| Error::Setup { exporter: name.to_string(), key, message };
        let mut builder = reqwest::Client::builder().timeout(config.timeout);
        if let Some(roots) =
            super::otlp::tls_root_store(config.tls.ca_file.as_deref()).map_err(|m| setup("tls.ca_file", m))?
        {
            let tls = rustls::ClientConfig::builder().with_root_certificates(roots).with_no_client_auth();
            builder = builder.tls_backend_preconfigured(tls);
        }
        let client = builder.build().map_err(|e| setup("endpoint", e.to_string()))?;
        let listener = match &config.listen {
            Some(listen) => {
                let address: SocketAddr = listen.parse().expect("validated with the config");
                Some(
                    tokio::net::TcpListener::bind(address)
                        .await
                        .map_err(|e| setup("listen", format!("cannot listen on {listen}: {e}")))?,
                )
            }
            None => None,
        };
        Ok(Self {
            name: name.to_string(),
            config: config.clone(),
            slot: Arc::new(Mutex::new(slot)),
            client,
            listener,
            telemetry,
        })
    }

    /// Drains the queue, flushes on the configured interval, and serves pull requests; after
    /// the queue closes it flushes one last time.
    pub(crate) async fn run(
        mut self,
        queue: async_channel::Receiver<ExportItem>,
        counters: ExportCounters,
        depth: prometheus::IntGauge,
        shutdown: tokio::sync::watch::Receiver<bool>,
    ) {
        let server = self.listener.take().map(|listener| {
            let slot = self.slot.clone();
            let name = self.name.clone();
            let mut stop = shutdown.clone();
            tokio::spawn(async move {
                let app =
                    axum::Router::new().fallback(move |request: axum::extract::Request| render(slot.clone(), request));
                let result = axum::serve(crate::net::nodelay(listener), app)
                    .with_graceful_shutdown(async move {
                        let _ = stop.wait_for(|stopped| *stopped).await;
                    })
                    .await;
                if let Err(error) = result {
                    tracing::error!(exporter = name, %error, "The pull endpoint failed.");
                }
            })
        });
        let exporter = Arc::new(self);
        let mut ticker = tokio::time::interval(exporter.config.flush_interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                item = queue.recv() => {
                    let Ok(item) = item else { break };
                    depth.dec();
                    let result = exporter.export(&item).await;
                    counters.record(&item, &result);
                }
                _ = ticker.tick() => exporter.flush().await,
            }
        }
        exporter.flush().await;
        if let Some(server) = server {
            let _ = server.await;
        }
    }

    async fn call<T: Send + 'static>(
        &self,
        call: impl FnOnce(&mut Slot) -> Result<T, crate::runtime::Failure> + Send + 'static,
    ) -> Result<T, Failed> {
        let slot = self.slot.clone();
        let joined =
            tokio::task::spawn_blocking(move || call(&mut slot.lock().unwrap_or_else(|p| p.into_inner()))).await;
        match joined {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(failure)) => Err(Failed { reason: "plugin", message: failure.to_string() }),
            Err(error) => Err(Failed { reason: "plugin", message: error.to_string() }),
        }
    }

    async fn export(&self, item: &ExportItem) -> Result<(), Failed> {
        let batch = item.batch.clone();
        let payloads = self.call(move |slot| slot.export(batch.signal, &batch.payload)).await?;
        self.send_all(payloads).await
    }

    async fn flush(&self) {
        let payloads = match self.call(|slot| slot.flush(now_nanos())).await {
            Ok(payloads) => payloads,
            Err(failed) => {
                tracing::warn!(exporter = self.name, error = %failed.message, "The plugin's flush failed.");
                return;
            }
        };
        if let Err(failed) = self.send_all(payloads).await {
            tracing::warn!(exporter = self.name, reason = failed.reason, error = %failed.message, "Dropped flushed payloads.");
        }
    }

    async fn send_all(&self, payloads: Vec<wit::Payload>) -> Result<(), Failed> {
        if payloads.is_empty() {
            return Ok(());
        }
        let Some(endpoint) = &self.config.endpoint else {
            return Err(Failed { reason: "rejected", message: "a pull exporter returned payloads to push".into() });
        };
        // Every payload gets its own tries: one that fails does not take the others with it.
        let mut first_failure = None;
        for payload in payloads {
            let url = format!("{}{}", endpoint.trim_end_matches('/'), payload.path);
            let body = Bytes::from(payload.body);
            let result = with_retry(&self.config.retry, || self.post(&url, &payload.headers, body.clone())).await;
            let outcome = if result.is_ok() { "sent" } else { "failed" };
            self.telemetry.exporter_payloads.with_label_values(&[&self.name, outcome]).inc();
            if let Err(failed) = result {
                first_failure.get_or_insert(failed);
            }
        }
        first_failure.map_or(Ok(()), Err)
    }

    async fn post(&self, url: &str, headers: &[(String, String)], body: Bytes) -> Result<(), SendError> {
        let mut request = self.client.post(url);
        for (key, value) in self.config.headers.iter().chain(headers.iter().map(|(k, v)| (k, v))) {
            request = request.header(key.as_str(), value.as_str());
        }
        let response = request
            .body(body)
            .send()
            .await
            .map_err(|error| SendError::Retryable { message: format!("{url}: {error}"), retry_after: None })?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let retry_after =
            response.headers().get(http::header::RETRY_AFTER).and_then(|v| v.to_str().ok()).and_then(parse_retry_after);
        let text = response.text().await.unwrap_or_default();
        let message = format!("{url} answered {status}: {}", &text[..text.len().min(512)]);
        match status.as_u16() {
            429 | 502 | 503 | 504 => Err(SendError::Retryable { message, retry_after }),
            500..=599 => Err(SendError::Retryable { message, retry_after }),
            _ => Err(SendError::Permanent(message)),
        }
    }
}

async fn render(slot: Arc<Mutex<Slot>>, request: axum::extract::Request) -> Response {
    let (parts, body) = request.into_parts();
    let body = match axum::body::to_bytes(body, 1 << 20).await {
        Ok(body) => body,
        Err(error) => return (StatusCode::PAYLOAD_TOO_LARGE, error.to_string()).into_response(),
    };
    let request = wit::HttpRequest {
        method: parts.method.to_string(),
        path: parts.uri.path_and_query().map_or_else(|| parts.uri.path().to_string(), |p| p.to_string()),
        headers: parts
            .headers
            .iter()
            .filter_map(|(k, v)| Some((k.to_string(), v.to_str().ok()?.to_string())))
            .collect(),
        body: body.to_vec(),
    };
    let joined =
        tokio::task::spawn_blocking(move || slot.lock().unwrap_or_else(|p| p.into_inner()).render(request)).await;
    match joined {
        Ok(Ok(response)) => {
            let mut builder = http::Response::builder().status(response.status);
            for (key, value) in &response.headers {
                builder = builder.header(key.as_str(), value.as_str());
            }
            builder
                .body(axum::body::Body::from(response.body))
                .unwrap_or_else(|error| (StatusCode::INTERNAL_SERVER_ERROR, error.to_string()).into_response())
        }
        Ok(Err(failure)) => {
            (StatusCode::INTERNAL_SERVER_ERROR, format!("the exporter plugin failed: {failure}")).into_response()
        }
        Err(error) => (StatusCode::INTERNAL_SERVER_ERROR, error.to_string()).into_response(),
    }
}
