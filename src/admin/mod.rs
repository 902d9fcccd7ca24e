//! The admin endpoint: `/healthz` (and `/`, where the OpenTelemetry Collector's health check
//! answers), `/readyz` (ready once every pipeline runs), and `/metrics` in the Prometheus
//! text format.

pub mod metrics;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use tokio::sync::watch;

use metrics::Telemetry;

#[derive(Clone)]
struct AdminState {
    telemetry: Arc<Telemetry>,
    ready: Arc<AtomicBool>,
}

/// Binds the admin listener; serving starts with [`serve`].
pub async fn bind(listen: &str) -> Result<tokio::net::TcpListener, String> {
    let address: SocketAddr = listen.parse().map_err(|_| format!("admin.listen: `{listen}` is not IP:PORT"))?;
    tokio::net::TcpListener::bind(address)
        .await
        .map_err(|error| format!("admin.listen: cannot listen on {listen}: {error}"))
}

/// Serves the admin endpoint until `shutdown` turns true.
pub async fn serve(
    listener: tokio::net::TcpListener,
    telemetry: Arc<Telemetry>,
    ready: Arc<AtomicBool>,
    mut shutdown: watch::Receiver<bool>,
) {
    let app = axum::Router::new()
        .route("/", axum::routing::get(healthz))
        .route("/healthz", axum::routing::get(healthz))
        .route("/readyz", axum::routing::get(readyz))
        .route("/metrics", axum::routing::get(metrics_text))
        .with_state(AdminState { telemetry, ready });
    let result = axum::serve(crate::net::nodelay(listener), app)
        .with_graceful_shutdown(async move {
            let _ = shutdown.wait_for(|stopped| *stopped).await;
        })
        .await;
    if let Err(error) = result {
        tracing::error!(%error, "The admin endpoint failed.");
    }
}

async fn healthz() -> impl IntoResponse {
    (StatusCode::OK, "ok\n")
}

async fn readyz(State(state): State<AdminState>) -> impl IntoResponse {
    if state.ready.load(Ordering::SeqCst) {
        (StatusCode::OK, "ready\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready\n")
    }
}

async fn metrics_text(State(state): State<AdminState>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], state.telemetry.render())
}
