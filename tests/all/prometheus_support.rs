//! A real Prometheus for the integration tests: `/usr/bin/prometheus` (Debian's `prometheus`
//! package) on a free loopback port, with a temporary TSDB and config file, stopped when the
//! value is dropped. Queries go through its HTTP API (`/api/v1/query`).
//!
//! ```ignore
//! let prometheus = PrometheusServer::start(&scrape_config, &[]);
//! let result = prometheus.wait_for("http_requests_total", |r| r.as_array().is_some_and(|a| !a.is_empty()), timeout);
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{free_port, http_get};

/// Where the tests expect Prometheus.
pub(crate) const PROMETHEUS_BIN: &str = "/usr/bin/prometheus";

/// A running Prometheus, killed on drop.
pub(crate) struct PrometheusServer {
    child: Child,
    address: SocketAddr,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl PrometheusServer {
    /// Starts Prometheus with `config_yaml` as its config file (scrape jobs and the like) and
    /// `extra_args` (e.g. `--web.enable-remote-write-receiver`), and waits until `/-/ready`
    /// answers 200. Panics, saying how to install it, when `/usr/bin/prometheus` is missing.
    pub(crate) fn start(config_yaml: &str, extra_args: &[&str]) -> PrometheusServer {
        assert!(
            Path::new(PROMETHEUS_BIN).exists(),
            "these tests need a real Prometheus at {PROMETHEUS_BIN}, which is missing: install Debian's package \
             (`apt-get install prometheus`; scripts/test and .ci/run do it)"
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let config = dir.path().join("prometheus.yml");
        std::fs::write(&config, config_yaml).expect("write prometheus.yml");
        let data = dir.path().join("data");
        let log = dir.path().join("prometheus.log");
        let address: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().expect("address");
        let child = Command::new(PROMETHEUS_BIN)
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", data.display()))
            .arg(format!("--web.listen-address={address}"))
            .arg("--log.level=info")
            .args(extra_args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {PROMETHEUS_BIN}: {error}"));
        let mut server = PrometheusServer { child, address, log, _dir: dir };
        server.wait_ready();
        server
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("prometheus exited with {status} before it was ready:\n{}", self.logs());
            }
            if http_get(self.address, "/-/ready").is_some_and(|(status, _)| status == 200) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("prometheus was not ready within 60 s:\n{}", self.logs());
    }

    /// The address it serves, e.g. `127.0.0.1:41234`.
    pub(crate) fn address(&self) -> SocketAddr {
        self.address
    }

    /// Its base URL, e.g. `http://127.0.0.1:41234`.
    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.address())
    }

    /// What it logged so far.
    pub(crate) fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Runs an instant query; returns `data.result` (for a vector: an array of
    /// `{"metric": {labels}, "value": [time, "value"]}`). Panics when the query fails.
    pub(crate) fn query(&self, promql: &str) -> serde_json::Value {
        let path = format!("/api/v1/query?query={}", percent_encode(promql));
        let (status, body) =
            http_get(self.address, &path).unwrap_or_else(|| panic!("no answer from prometheus to {promql}"));
        let mut response: serde_json::Value =
            serde_json::from_str(&body).unwrap_or_else(|error| panic!("{promql}: {error}: {body}"));
        assert_eq!(status, 200, "{promql}: {body}");
        assert_eq!(response["status"], "success", "{promql}: {body}");
        response["data"]["result"].take()
    }

    /// Queries until `done` holds for the result, or panics after `timeout` with the last
    /// result and Prometheus's log.
    pub(crate) fn wait_for(
        &self,
        promql: &str,
        done: impl Fn(&serde_json::Value) -> bool,
        timeout: Duration,
    ) -> serde_json::Value {
        let deadline = Instant::now() + timeout;
        loop {
            let result = self.query(promql);
            if done(&result) {
                return result;
            }
            if Instant::now() > deadline {
                panic!("timed out waiting for {promql}; last result: {result}\nprometheus log:\n{}", self.logs());
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for PrometheusServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The value of one series of an instant-query result, as a number.
pub(crate) fn sample_value(series: &serde_json::Value) -> f64 {
    series["value"][1].as_str().and_then(|v| v.parse().ok()).unwrap_or(f64::NAN)
}

/// Whether a query result holds at least `n` series.
pub(crate) fn has_series(result: &serde_json::Value, n: usize) -> bool {
    result.as_array().is_some_and(|series| series.len() >= n)
}

/// Percent-encodes a query parameter (everything but unreserved characters).
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}
