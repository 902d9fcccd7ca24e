//! Exporters: the built-in OTLP exporter (gRPC and HTTP, e.g. to Tempo), the built-in
//! `debug` exporter, and the host side of exporter plugins (push over HTTP, or a pull
//! endpoint the plugin renders).
//!
//! Each exporter drains its own bounded queue, so a slow one stalls no other beyond that
//! queue. Sends are retried with exponential backoff and jitter on retryable failures
//! (honouring `Retry-After`), never on other client errors; what is given up on is counted
//! with the reason.

pub(crate) mod balance;
pub(crate) mod debug;
pub(crate) mod otlp;
pub(crate) mod plugin;

use std::sync::Arc;
use std::time::Duration;

use prometheus::IntCounter;
use rand::Rng;

use crate::admin::metrics::Telemetry;
use crate::config::RetryConfig;
use crate::topology::pipeline::ExportItem;

/// Why one send failed.
#[derive(Debug)]
pub(crate) enum SendError {
    /// Worth another try, after at least `retry_after` when the server said so.
    Retryable { message: String, retry_after: Option<Duration> },
    /// Not worth another try (a 4xx other than 429, a bad payload).
    Permanent(String),
}

/// Counters of one exporter, per pipeline.
pub(crate) struct ExportCounters {
    telemetry: Arc<Telemetry>,
    exporter: Arc<str>,
}

impl ExportCounters {
    pub(crate) fn new(telemetry: Arc<Telemetry>, exporter: &str) -> Self {
        Self { telemetry, exporter: exporter.into() }
    }

    pub(crate) fn sent(&self, pipeline: &str) -> IntCounter {
        self.telemetry.exporter_sent.with_label_values(&[&self.exporter, pipeline])
    }

    pub(crate) fn failed(&self, pipeline: &str, reason: &str) -> IntCounter {
        self.telemetry.exporter_failed.with_label_values(&[&self.exporter, pipeline, reason])
    }

    /// The gauge of the endpoints a balancing exporter sends to.
    pub(crate) fn endpoints(&self) -> prometheus::IntGauge {
        self.telemetry.exporter_endpoints.with_label_values(&[&self.exporter])
    }

    /// The count of failed DNS resolutions.
    pub(crate) fn resolve_failures(&self) -> IntCounter {
        self.telemetry.exporter_resolve_failures.with_label_values(&[&self.exporter])
    }

    /// Counts the outcome of delivering `item` and logs a failure.
    pub(crate) fn record(&self, item: &ExportItem, result: &Result<(), Failed>) {
        match result {
            Ok(()) => self.sent(&item.pipeline).inc_by(item.batch.items as u64),
            Err(failed) => {
                self.failed(&item.pipeline, failed.reason).inc_by(item.batch.items as u64);
                tracing::warn!(
                    exporter = &*self.exporter,
                    pipeline = &*item.pipeline,
                    items = item.batch.items,
                    reason = failed.reason,
                    error = %failed.message,
                    "Dropped a batch the exporter could not deliver."
                );
            }
        }
    }
}

/// A batch given up on, and why.
#[derive(Debug)]
pub(crate) struct Failed {
    /// `rejected` (a permanent error), `retries_exhausted`, or `plugin`.
    pub(crate) reason: &'static str,
    pub(crate) message: String,
}

/// Runs `attempt` until it succeeds, fails permanently, or retrying has taken longer than
/// `retry.max_elapsed_time`.
pub(crate) async fn with_retry<F, Fut>(retry: &RetryConfig, mut attempt: F) -> Result<(), Failed>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), SendError>>,
{
    let started = tokio::time::Instant::now();
    let mut interval = retry.initial_interval;
    loop {
        match attempt().await {
            Ok(()) => return Ok(()),
            Err(SendError::Permanent(message)) => return Err(Failed { reason: "rejected", message }),
            Err(SendError::Retryable { message, retry_after }) => {
                if !retry.enabled {
                    return Err(Failed { reason: "failed", message });
                }
                let jitter = rand::rng().random_range(0.5..1.5);
                let backoff = interval.mul_f64(jitter);
                let wait = retry_after.map_or(backoff, |after| after.max(backoff));
                if started.elapsed() + wait > retry.max_elapsed_time {
                    return Err(Failed { reason: "retries_exhausted", message });
                }
                tracing::debug!(%message, wait = ?wait, "Retrying a send.");
                tokio::time::sleep(wait).await;
                interval = (interval * 2).min(retry.max_interval);
            }
        }
    }
}

/// Parses a `Retry-After` header: seconds, or an HTTP date.
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate_parse(value)?;
    Some(at.duration_since(std::time::SystemTime::now()).unwrap_or_default())
}

fn httpdate_parse(value: &str) -> Option<std::time::SystemTime> {
    humantime::parse_rfc3339_weak(value).ok().or_else(|| {
        // IMF-fixdate, e.g. `Wed, 21 Oct 2015 07:28:00 GMT`.
        let parts: Vec<&str> = value.split_whitespace().collect();
        if parts.len() != 6 {
            return None;
        }
        let month = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
            .iter()
            .position(|m| *m == parts[2])?
            + 1;
        let text = format!("{}-{month:02}-{:0>2} {}", parts[3], parts[1], parts[4]);
        humantime::parse_rfc3339_weak(&text).ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_retry_after_in_seconds_and_dates() {
        assert_eq!(parse_retry_after("7"), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[tokio::test(start_paused = true)]
    async fn retries_retryable_failures_and_never_permanent_ones() {
        let retry = RetryConfig {
            enabled: true,
            initial_interval: Duration::from_millis(10),
            max_interval: Duration::from_millis(40),
            max_elapsed_time: Duration::from_secs(1),
        };
        let mut calls = 0;
        let result = with_retry(&retry, || {
            calls += 1;
            let n = calls;
            async move {
                if n < 3 { Err(SendError::Retryable { message: "busy".into(), retry_after: None }) } else { Ok(()) }
            }
        })
        .await;
        assert!(result.is_ok());
        assert_eq!(calls, 3);

        let mut calls = 0;
        let result = with_retry(&retry, || {
            calls += 1;
            async { Err(SendError::Permanent("400 bad".into())) }
        })
        .await;
        assert_eq!(result.unwrap_err().reason, "rejected");
        assert_eq!(calls, 1);

        let result = with_retry(&retry, || async {
            Err(SendError::Retryable { message: "down".into(), retry_after: Some(Duration::from_millis(300)) })
        })
        .await;
        assert_eq!(result.unwrap_err().reason, "retries_exhausted");
    }
}
