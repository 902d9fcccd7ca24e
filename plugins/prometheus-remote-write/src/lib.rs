//! The prometheus-remote-write exporter: sends metrics to Prometheus (or Mimir, Thanos,
//! VictoriaMetrics) by remote write 1.0, a snappy-compressed `WriteRequest` POSTed to the
//! exporter's `endpoint` + `path`. Names and labels follow the OpenTelemetry-to-Prometheus
//! rules in `aegis-prometheus-common`; samples are buffered across batches into requests of
//! `max_samples_per_request`, and series that stop get staleness markers. The keys are
//! documented in `docs/plugins/prometheus-remote-write.md`.

mod config;
pub mod proto;
mod store;

use std::collections::BTreeMap;

use aegis_plugin_sdk::prelude::*;
use aegis_prometheus_common::Converter;

use config::Settings;
use store::Store;

/// The `User-Agent` of every request.
const USER_AGENT: &str = concat!("aegis-prometheus-remote-write/", env!("CARGO_PKG_VERSION"));

/// The exporter. Public so that its benchmark can run the same code natively.
#[derive(Debug)]
pub struct RemoteWrite {
    settings: Settings,
    converter: Converter,
    store: Store,
    encoder: snap::raw::Encoder,
    /// Everything added to the host's counters, by (counter, reason), for the tests.
    counted: BTreeMap<(&'static str, &'static str), u64>,
}

impl Exporter for RemoteWrite {
    fn signals() -> Vec<Signal> {
        vec![Signal::Metrics]
    }

    fn init(config: Config) -> Result<Self, Error> {
        let settings = Settings::parse(&config)?;
        Ok(RemoteWrite {
            converter: Converter::new(settings.options.clone()),
            store: Store::new(settings.max_series, settings.send_metadata),
            settings,
            encoder: snap::raw::Encoder::new(),
            counted: BTreeMap::new(),
        })
    }

    fn export(&mut self, batch: Batch) -> Result<Vec<Payload>, Error> {
        self.export_at(&batch, host::now_unix_nanos())
    }

    fn flush(&mut self, now_unix_nanos: u64) -> Result<Vec<Payload>, Error> {
        self.flush_at(now_unix_nanos)
    }
}

export_exporter!(RemoteWrite);

impl RemoteWrite {
    /// Takes in one batch at wall-clock time `now`; returns the requests that are full.
    pub fn export_at(&mut self, batch: &Batch, now: u64) -> Result<Vec<Payload>, Error> {
        if batch.signal != Signal::Metrics {
            return Err(Error::invalid_input(format!("expected a metrics batch, got {}", batch.signal)));
        }
        self.store.set_now(now);
        let converted = self.converter.convert(&batch.payload, now, &mut self.store);
        let max = self.settings.max_samples_per_request;
        let mut payloads = Vec::new();
        while self.store.pending_samples() >= max {
            self.request(&mut payloads)?;
        }
        self.report();
        converted.map(|()| payloads)
    }

    /// Ends the series not seen for `stale_after` and returns everything still pending.
    pub fn flush_at(&mut self, now: u64) -> Result<Vec<Payload>, Error> {
        if let Some(stale_after) = self.settings.stale_after {
            let oldest = now.saturating_sub(stale_after.as_nanos() as u64);
            self.store.expire(oldest);
            self.converter.expire(oldest);
        }
        let mut payloads = Vec::new();
        while self.store.pending_samples() > 0 {
            self.request(&mut payloads)?;
        }
        // Metadata of families whose points were all dropped still goes out.
        self.request(&mut payloads)?;
        self.report();
        host::gauge_set("series", self.store.series() as f64, &[]);
        Ok(payloads)
    }

    fn request(&mut self, payloads: &mut Vec<Payload>) -> Result<(), Error> {
        let Some((body, samples)) = self.store.drain_request(self.settings.max_samples_per_request) else {
            return Ok(());
        };
        let compressed = self
            .encoder
            .compress_vec(&body)
            .map_err(|e| Error::failed(format!("snappy could not compress a {} byte request: {e}", body.len())))?;
        payloads.push(Payload {
            path: self.settings.path.clone(),
            headers: vec![
                ("Content-Encoding".to_owned(), "snappy".to_owned()),
                ("Content-Type".to_owned(), "application/x-protobuf".to_owned()),
                ("X-Prometheus-Remote-Write-Version".to_owned(), "0.1.0".to_owned()),
                ("User-Agent".to_owned(), USER_AGENT.to_owned()),
            ],
            body: compressed,
        });
        self.count("samples_sent", "", samples as u64);
        self.count("write_requests", "", 1);
        Ok(())
    }

    /// Adds to one of the host's counters (`aegis_plugin_<name>_total`), with a `reason`
    /// label unless it is empty.
    fn count(&mut self, name: &'static str, reason: &'static str, n: u64) {
        if n == 0 {
            return;
        }
        *self.counted.entry((name, reason)).or_default() += n;
        if reason.is_empty() {
            host::counter_add(name, n, &[]);
        } else {
            host::counter_add(name, n, &[("reason", reason)]);
        }
    }

    /// Hands what was counted to the host's metrics.
    fn report(&mut self) {
        let converted = self.converter.take_stats();
        let stored = self.store.take_stats();
        self.count("points_dropped", "delta", converted.delta_refused);
        self.count("points_dropped", "invalid", converted.invalid);
        self.count("points_dropped", "out_of_order", converted.out_of_order);
        self.count("points_dropped", "series_limit", stored.series_limit);
        self.count("samples_dropped", "out_of_order", stored.out_of_order);
        self.count("stale_markers", "", stored.stale_markers);
    }
}

#[cfg(test)]
mod tests;
