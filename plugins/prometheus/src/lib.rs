//! The prometheus exporter: a scrape endpoint. The host serves the exporter's `listen`
//! address and hands each request to `render`; the plugin keeps the latest point of every
//! series and answers `GET /metrics` in the Prometheus text format 0.0.4, or in
//! OpenMetrics 1.0 when the scraper's `Accept` asks for it. Names and labels follow the
//! OpenTelemetry-to-Prometheus rules in `aegis-prometheus-common`, as the remote-write
//! exporter's do. The keys are documented in `docs/plugins/prometheus.md`.

mod config;
mod render;
mod store;

use aegis_plugin_sdk::prelude::*;
use aegis_prometheus_common::Converter;

use config::Settings;
use render::Format;
use store::Store;

/// The exporter. Public so that the same code can be driven natively.
#[derive(Debug)]
pub struct Prometheus {
    settings: Settings,
    converter: Converter,
    store: Store,
}

impl Exporter for Prometheus {
    fn signals() -> Vec<Signal> {
        vec![Signal::Metrics]
    }

    fn init(config: Config) -> Result<Self, Error> {
        let settings = Settings::parse(&config)?;
        Ok(Prometheus {
            converter: Converter::new(settings.options.clone()),
            store: Store::new(settings.max_series),
            settings,
        })
    }

    fn export(&mut self, batch: Batch) -> Result<Vec<Payload>, Error> {
        self.export_at(&batch, host::now_unix_nanos())?;
        Ok(Vec::new())
    }

    fn flush(&mut self, now_unix_nanos: u64) -> Result<Vec<Payload>, Error> {
        self.expire(now_unix_nanos);
        host::gauge_set("series", self.store.points() as f64, &[]);
        Ok(Vec::new())
    }

    fn render(&mut self, request: HttpRequest) -> Result<HttpResponse, Error> {
        Ok(self.render_at(&request, host::now_unix_nanos()))
    }
}

export_exporter!(Prometheus);

impl Prometheus {
    /// Takes in one batch at wall-clock time `now`.
    pub fn export_at(&mut self, batch: &Batch, now: u64) -> Result<(), Error> {
        if batch.signal != Signal::Metrics {
            return Err(Error::invalid_input(format!("expected a metrics batch, got {}", batch.signal)));
        }
        self.store.set_now(now);
        let converted = self.converter.convert(&batch.payload, now, &mut self.store);
        let stats = self.converter.take_stats();
        let stored = self.store.take_stats();
        for (reason, n) in [
            ("delta", stats.delta_refused),
            ("invalid", stats.invalid),
            ("out_of_order", stats.out_of_order),
            ("series_limit", stored.series_limit),
        ] {
            if n > 0 {
                host::counter_add("points_dropped", n, &[("reason", reason)]);
            }
        }
        converted
    }

    /// Answers one request at wall-clock time `now`.
    pub fn render_at(&mut self, request: &HttpRequest, now: u64) -> HttpResponse {
        let path = request.path.split('?').next().unwrap_or("");
        if path != self.settings.path {
            return HttpResponse::not_found()
                .with_body(format!("not found; the metrics are at {}\n", self.settings.path));
        }
        let head = request.method.eq_ignore_ascii_case("HEAD");
        if !head && !request.method.eq_ignore_ascii_case("GET") {
            return HttpResponse::new(405).with_header("Allow", "GET, HEAD");
        }
        self.expire(now);
        let format = Format::negotiate(request.header("accept"));
        host::counter_add("scrapes", 1, &[("format", format.as_str())]);
        let response = HttpResponse::new(200).with_header("Content-Type", format.content_type());
        if head {
            return response;
        }
        response.with_body(render::render(&self.store, format, self.settings.send_timestamps))
    }

    fn expire(&mut self, now: u64) {
        let oldest = now.saturating_sub(self.settings.expire_after.as_nanos() as u64);
        self.store.expire(oldest);
        self.converter.expire(oldest);
    }
}

#[cfg(test)]
mod tests;
