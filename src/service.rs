//! The collector process: sets up the runtime, prepares and starts the topology, serves
//! the admin endpoint, and shuts down in order on SIGINT or SIGTERM.

use std::sync::Arc;

use crate::admin::{self, metrics::Telemetry};
use crate::config::{Config, ConfigErrors};
use crate::runtime::{Runtime, RuntimeError};
use crate::topology::{StartError, Topology};

/// Why the collector could not run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The config (or a plugin it names) is wrong.
    #[error("{0}")]
    Config(#[from] ConfigErrors),
    /// The Wasm engine could not be set up.
    #[error("{0}")]
    Runtime(#[from] RuntimeError),
    /// A listener or client could not be set up.
    #[error("{0}")]
    Start(#[from] StartError),
    /// The admin endpoint could not be bound.
    #[error("{0}")]
    Admin(String),
}

/// Installs the process-wide TLS crypto provider (ring), once.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Loads every plugin of `config` and checks the whole config, returning every problem.
pub fn validate(config: Config) -> Result<Topology, Error> {
    let runtime = Arc::new(Runtime::new(&config.runtime, Telemetry::new())?);
    Ok(Topology::prepare(config, runtime)?)
}

/// Runs the collector until SIGINT or SIGTERM; returns whether the shutdown drained cleanly.
pub async fn run(config: Config) -> Result<bool, Error> {
    install_crypto_provider();
    let telemetry = Telemetry::new();
    let runtime_config = config.runtime.clone();
    let admin_listen = config.admin.listen.clone();
    let prepared = {
        let telemetry = telemetry.clone();
        tokio::task::spawn_blocking(move || -> Result<Topology, Error> {
            let runtime = Arc::new(Runtime::new(&runtime_config, telemetry)?);
            Ok(Topology::prepare(config, runtime)?)
        })
        .await
        .expect("preparing the topology does not panic")?
    };
    let admin_listener = admin::bind(&admin_listen).await.map_err(Error::Admin)?;
    let running = prepared.start(telemetry.clone()).await?;
    let (admin_stop, admin_stopped) = tokio::sync::watch::channel(false);
    let admin_task = tokio::spawn(admin::serve(admin_listener, telemetry, running.readiness(), admin_stopped));
    tracing::info!(admin = %admin_listen, "Aegis is running.");

    wait_for_signal().await;
    tracing::info!("Shutting down: no new input is accepted; draining.");
    let clean = running.shutdown().await;
    let _ = admin_stop.send(true);
    let _ = admin_task.await;
    tracing::info!(clean, "Aegis stopped.");
    Ok(clean)
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut terminate = signal(SignalKind::terminate()).expect("SIGTERM handler installs");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
