//! The built-in OTLP exporter: the batch's protobuf bytes go out as they are, over gRPC
//! (tonic, with the raw codec) or HTTP (`POST {endpoint}/v1/{signal}`), compressed with
//! gzip or zstd, with the configured headers (e.g. `X-Scope-OrgID` for a Tempo tenant).
//! This is how traces reach Tempo.

use std::io::Write;
use std::str::FromStr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use bytes::Bytes;
use tonic::codec::CompressionEncoding;
use tonic::metadata::{MetadataKey, MetadataValue};
use tonic::transport::{Channel, ClientTlsConfig, Endpoint};

use super::{ExportCounters, SendError, parse_retry_after, with_retry};
use crate::batch::{Signal, signal_name};
use crate::config::{Compression, DnsResolverConfig, OtlpExporterConfig, OtlpProtocol};
use crate::otlp::{RawCodec, grpc_path, http_path, partial_success};
use crate::topology::pipeline::ExportItem;

/// Errors setting the exporter up.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    #[error("exporters.{exporter}.{key}: {message}")]
    Setup { exporter: String, key: &'static str, message: String },
}

#[derive(Clone)]
enum Transport {
    Grpc(Channel),
    Http(reqwest::Client),
}

/// A configured OTLP exporter.
pub(crate) struct OtlpExporter {
    name: String,
    config: OtlpExporterConfig,
    tls: Option<rustls::RootCertStore>,
    /// One per endpoint: `endpoint`, each of `balance.endpoints`, or each address
    /// `balance.dns` resolved to (replaced whole when the answer changes).
    transports: RwLock<Arc<Vec<(String, Transport)>>>,
    headers: Vec<(String, String)>,
}

impl OtlpExporter {
    pub(crate) fn new(name: &str, config: &OtlpExporterConfig) -> Result<Self, Error> {
        let setup = |key, message: String| Error::Setup { exporter: name.to_string(), key, message };
        let tls = tls_root_store(config.tls.ca_file.as_deref()).map_err(|m| setup("tls.ca_file", m))?;
        let urls = match &config.balance {
            // Resolved when the exporter starts.
            Some(balance) if balance.dns.is_some() => Vec::new(),
            Some(balance) => balance.endpoints.clone(),
            None => vec![config.endpoint.clone()],
        };
        let mut transports = Vec::with_capacity(urls.len());
        for url in urls {
            let transport = Self::transport(&url, config, tls.clone()).map_err(|(key, message)| setup(key, message))?;
            transports.push((url, transport));
        }
        Self::check_headers(config).map_err(|message| setup("headers", message))?;
        Ok(Self {
            name: name.to_string(),
            config: config.clone(),
            tls,
            transports: RwLock::new(Arc::new(transports)),
            headers: config.headers.iter().map(|(k, v)| (k.to_ascii_lowercase(), v.clone())).collect(),
        })
    }

    /// The endpoints as they are now.
    fn current(&self) -> Arc<Vec<(String, Transport)>> {
        self.transports.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Resolves `dns.hostname` and, when the addresses changed, sends to them from now on
    /// (keeping the connections of addresses that stayed). A failure or an empty answer
    /// keeps the endpoints there were, and is counted.
    async fn resolve(&self, dns: &DnsResolverConfig, failures: &prometheus::IntCounter, gauge: &prometheus::IntGauge) {
        let lookup = tokio::net::lookup_host((dns.hostname.as_str(), dns.port));
        let problem = match tokio::time::timeout(dns.interval.max(Duration::from_secs(1)), lookup).await {
            Ok(Ok(addresses)) => {
                let urls = endpoint_urls(&dns.scheme, addresses);
                if !urls.is_empty() {
                    self.replace_endpoints(dns, urls, gauge);
                    return;
                }
                "it has no address".to_owned()
            }
            Ok(Err(error)) => error.to_string(),
            Err(_) => "it timed out".to_owned(),
        };
        failures.inc();
        tracing::warn!(
            exporter = self.name,
            hostname = dns.hostname,
            problem,
            "Resolving the balance's DNS name failed; the endpoints stay as they were."
        );
    }

    fn replace_endpoints(&self, dns: &DnsResolverConfig, urls: Vec<String>, gauge: &prometheus::IntGauge) {
        let current = self.current();
        if current.iter().map(|(url, _)| url).eq(urls.iter()) {
            return;
        }
        let mut next = Vec::with_capacity(urls.len());
        for url in urls {
            let transport = match current.iter().find(|(known, _)| *known == url) {
                Some((_, transport)) => transport.clone(),
                None => match Self::transport(&url, &self.config, self.tls.clone()) {
                    Ok(transport) => transport,
                    Err((_, message)) => {
                        tracing::warn!(exporter = self.name, url, message, "An endpoint from DNS cannot be used.");
                        continue;
                    }
                },
            };
            next.push((url, transport));
        }
        let urls: Vec<&str> = next.iter().map(|(url, _)| url.as_str()).collect();
        tracing::info!(exporter = self.name, hostname = dns.hostname, endpoints = ?urls, "The balance's endpoints changed.");
        gauge.set(next.len() as i64);
        *self.transports.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(next);
    }

    fn transport(
        url: &str,
        config: &OtlpExporterConfig,
        tls: Option<rustls::RootCertStore>,
    ) -> Result<Transport, (&'static str, String)> {
        let setup = |key: &'static str, message: String| (key, message);
        Ok(match config.protocol {
            OtlpProtocol::Grpc => {
                let mut endpoint = Endpoint::from_shared(url.to_owned())
                    .map_err(|e| setup("endpoint", e.to_string()))?
                    .timeout(config.timeout)
                    .connect_timeout(config.timeout.min(Duration::from_secs(10)))
                    .tcp_nodelay(true)
                    .initial_stream_window_size(Some(4 << 20))
                    .initial_connection_window_size(Some(16 << 20));
                if url.starts_with("https://") {
                    let mut tls_config = ClientTlsConfig::new().with_native_roots();
                    if let Some(ca) = &config.tls.ca_file {
                        let pem = std::fs::read(ca).map_err(|e| setup("tls.ca_file", e.to_string()))?;
                        tls_config = tls_config.ca_certificate(tonic::transport::Certificate::from_pem(pem));
                    }
                    if let Some(name) = &config.tls.server_name {
                        tls_config = tls_config.domain_name(name.clone());
                    }
                    endpoint = endpoint.tls_config(tls_config).map_err(|e| setup("tls", e.to_string()))?;
                }
                Transport::Grpc(endpoint.connect_lazy())
            }
            OtlpProtocol::Http => {
                let mut builder = reqwest::Client::builder().timeout(config.timeout).tcp_nodelay(true);
                if let Some(roots) = tls {
                    let tls = rustls::ClientConfig::builder().with_root_certificates(roots).with_no_client_auth();
                    builder = builder.tls_backend_preconfigured(tls);
                }
                Transport::Http(builder.build().map_err(|e| setup("endpoint", e.to_string()))?)
            }
        })
    }

    fn check_headers(config: &OtlpExporterConfig) -> Result<(), String> {
        for (key, value) in &config.headers {
            let valid = match config.protocol {
                OtlpProtocol::Grpc => {
                    MetadataKey::<tonic::metadata::Ascii>::from_str(&key.to_ascii_lowercase()).is_ok()
                        && MetadataValue::try_from(value.as_str()).is_ok()
                }
                OtlpProtocol::Http => {
                    http::HeaderName::from_str(key).is_ok() && http::HeaderValue::from_str(value).is_ok()
                }
            };
            if !valid {
                return Err(format!("`{key}` is not a valid header name and value"));
            }
        }
        Ok(())
    }

    /// Drains the queue with `concurrency` sends in flight, until every pipeline feeding it is done.
    pub(crate) async fn run(
        self,
        queue: async_channel::Receiver<ExportItem>,
        counters: ExportCounters,
        depth: prometheus::IntGauge,
    ) {
        let exporter = Arc::new(self);
        let counters = Arc::new(counters);
        let balanced = exporter.config.balance.is_some();
        // DNS: resolved once before the first send, then again every interval.
        let resolver = match exporter.config.balance.as_ref().and_then(|b| b.dns.clone()) {
            Some(dns) => {
                let gauge = counters.endpoints();
                let failures = counters.resolve_failures();
                exporter.resolve(&dns, &failures, &gauge).await;
                let exporter = exporter.clone();
                Some(tokio::spawn(async move {
                    loop {
                        tokio::time::sleep(dns.interval).await;
                        exporter.resolve(&dns, &failures, &gauge).await;
                    }
                }))
            }
            None => {
                if balanced {
                    counters.endpoints().set(exporter.current().len() as i64);
                }
                None
            }
        };
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..exporter.config.concurrency.max(1) {
            let exporter = exporter.clone();
            let queue = queue.clone();
            let counters = counters.clone();
            let depth = depth.clone();
            tasks.spawn(async move {
                while let Ok(item) = queue.recv().await {
                    depth.dec();
                    let mut transports = exporter.current();
                    if transports.is_empty() {
                        // DNS has found no endpoint yet: wait for one as for a server that is down.
                        let waited = with_retry(&exporter.config.retry, || async {
                            match exporter.current().is_empty() {
                                true => Err(SendError::Retryable {
                                    message: "the balance's DNS name has not resolved to any endpoint".into(),
                                    retry_after: None,
                                }),
                                false => Ok(()),
                            }
                        })
                        .await;
                        if let Err(failed) = waited {
                            counters.record(&item, &Err(failed));
                            continue;
                        }
                        transports = exporter.current();
                    }
                    if !balanced {
                        let result = with_retry(&exporter.config.retry, || exporter.send(&transports[0], &item)).await;
                        counters.record(&item, &result);
                        continue;
                    }
                    let key = exporter.config.balance.as_ref().map(|b| b.routing_key).unwrap_or_default();
                    let urls: Vec<String> = transports.iter().map(|(url, _)| url.clone()).collect();
                    for (index, batch) in super::balance::route(&item.batch, &urls, key) {
                        let part = ExportItem { pipeline: item.pipeline.clone(), batch };
                        let result =
                            with_retry(&exporter.config.retry, || exporter.send(&transports[index], &part)).await;
                        counters.record(&part, &result);
                    }
                }
            });
        }
        while tasks.join_next().await.is_some() {}
        if let Some(resolver) = resolver {
            resolver.abort();
        }
        tracing::debug!(exporter = exporter.name, "Exporter drained.");
    }

    async fn send(&self, endpoint: &(String, Transport), item: &ExportItem) -> Result<(), SendError> {
        let signal = item.batch.signal;
        let payload = item.batch.payload.clone();
        let (url, transport) = endpoint;
        let response = match transport {
            Transport::Grpc(channel) => self.send_grpc(channel.clone(), signal, payload).await?,
            Transport::Http(client) => self.send_http(url, client, signal, payload).await?,
        };
        if let Some((rejected, message)) = partial_success(signal, &response) {
            tracing::warn!(exporter = self.name, rejected, %message, "The server rejected part of a batch.");
        }
        Ok(())
    }

    async fn send_grpc(&self, channel: Channel, signal: Signal, payload: Bytes) -> Result<Bytes, SendError> {
        let mut grpc = tonic::client::Grpc::new(channel).accept_compressed(CompressionEncoding::Gzip);
        grpc = match self.config.compression {
            Compression::None => grpc,
            Compression::Gzip => grpc.send_compressed(CompressionEncoding::Gzip),
            Compression::Zstd => grpc.send_compressed(CompressionEncoding::Zstd),
        };
        grpc.ready().await.map_err(|error| SendError::Retryable { message: error.to_string(), retry_after: None })?;
        let mut request = tonic::Request::new(payload);
        for (key, value) in &self.headers {
            if let (Ok(key), Ok(value)) =
                (MetadataKey::<tonic::metadata::Ascii>::from_str(key), MetadataValue::try_from(value.as_str()))
            {
                request.metadata_mut().insert(key, value);
            }
        }
        let path = http::uri::PathAndQuery::from_static(grpc_path(signal));
        match grpc.unary::<Bytes, Bytes, _>(request, path, RawCodec).await {
            Ok(response) => Ok(response.into_inner()),
            Err(status) => {
                use tonic::Code::*;
                let message = format!("gRPC {:?}: {}", status.code(), status.message());
                match status.code() {
                    Cancelled | DeadlineExceeded | ResourceExhausted | Aborted | OutOfRange | Unavailable
                    | DataLoss | Unknown => Err(SendError::Retryable { message, retry_after: None }),
                    _ => Err(SendError::Permanent(message)),
                }
            }
        }
    }

    async fn send_http(
        &self,
        endpoint: &str,
        client: &reqwest::Client,
        signal: Signal,
        payload: Bytes,
    ) -> Result<Bytes, SendError> {
        let url = format!("{}{}", endpoint.trim_end_matches('/'), http_path(signal));
        let mut request = client.post(&url).header(http::header::CONTENT_TYPE, "application/x-protobuf");
        let body = match self.config.compression {
            Compression::None => payload,
            Compression::Gzip => {
                request = request.header(http::header::CONTENT_ENCODING, "gzip");
                let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                encoder
                    .write_all(&payload)
                    .and_then(|()| encoder.finish())
                    .map(Bytes::from)
                    .map_err(|e| SendError::Permanent(e.to_string()))?
            }
            Compression::Zstd => {
                request = request.header(http::header::CONTENT_ENCODING, "zstd");
                Bytes::from(zstd::encode_all(&payload[..], 1).map_err(|e| SendError::Permanent(e.to_string()))?)
            }
        };
        for (key, value) in &self.headers {
            request = request.header(key, value);
        }
        let response = request
            .body(body)
            .send()
            .await
            .map_err(|error| SendError::Retryable { message: format!("{url}: {error}"), retry_after: None })?;
        let status = response.status();
        let retry_after =
            response.headers().get(http::header::RETRY_AFTER).and_then(|v| v.to_str().ok()).and_then(parse_retry_after);
        let body = response.bytes().await.unwrap_or_default();
        if status.is_success() {
            return Ok(body);
        }
        let message = format!(
            "{url} answered {status} to a {} batch: {}",
            signal_name(signal),
            String::from_utf8_lossy(&body[..body.len().min(512)])
        );
        match status.as_u16() {
            429 | 502 | 503 | 504 => Err(SendError::Retryable { message, retry_after }),
            _ => Err(SendError::Permanent(message)),
        }
    }
}

/// The system's roots plus a configured CA file, for HTTPS clients.
pub(crate) fn tls_root_store(ca_file: Option<&std::path::Path>) -> Result<Option<rustls::RootCertStore>, String> {
    let Some(ca_file) = ca_file else { return Ok(None) };
    let pem = std::fs::read(ca_file).map_err(|error| format!("cannot read {}: {error}", ca_file.display()))?;
    let mut roots = rustls::RootCertStore::empty();
    for certificate in rustls_pemfile_certs(&pem)? {
        roots.add(certificate).map_err(|error| format!("{}: {error}", ca_file.display()))?;
    }
    Ok(Some(roots))
}

fn rustls_pemfile_certs(pem: &[u8]) -> Result<Vec<rustls::pki_types::CertificateDer<'static>>, String> {
    use rustls::pki_types::pem::PemObject;
    rustls::pki_types::CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| format!("not a PEM certificate file: {error}"))
}

/// The endpoint URLs of resolved addresses, sorted and each once (`[v6]:port`, as URLs
/// write IPv6 addresses).
fn endpoint_urls(scheme: &str, addresses: impl Iterator<Item = std::net::SocketAddr>) -> Vec<String> {
    let mut urls: Vec<String> = addresses.map(|address| format!("{scheme}://{address}")).collect();
    urls.sort();
    urls.dedup();
    urls
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolved_addresses_become_sorted_distinct_urls() {
        let addresses = ["10.0.0.2:4317", "[fd00::1]:4317", "10.0.0.1:4317", "10.0.0.2:4317"]
            .into_iter()
            .map(|a| a.parse::<std::net::SocketAddr>().unwrap());
        assert_eq!(
            endpoint_urls("http", addresses),
            ["http://10.0.0.1:4317", "http://10.0.0.2:4317", "http://[fd00::1]:4317"]
        );
    }

    #[tokio::test]
    async fn a_new_dns_answer_replaces_the_endpoints_and_the_same_one_changes_nothing() {
        let config: OtlpExporterConfig =
            toml::from_str(r#"balance = { dns = { hostname = "tails.observability.svc", port = 4317 } }"#).unwrap();
        let dns = config.balance.as_ref().and_then(|b| b.dns.clone()).unwrap();
        let exporter = OtlpExporter::new("tails", &config).unwrap();
        assert!(exporter.current().is_empty(), "nothing before the first answer");
        let gauge = prometheus::IntGauge::new("endpoints", "test").unwrap();
        let urls = |list: &[&str]| list.iter().map(|u| u.to_string()).collect::<Vec<_>>();
        let names = |exporter: &OtlpExporter| exporter.current().iter().map(|(u, _)| u.clone()).collect::<Vec<_>>();

        exporter.replace_endpoints(&dns, urls(&["http://10.0.0.1:4317", "http://10.0.0.2:4317"]), &gauge);
        assert_eq!(names(&exporter), ["http://10.0.0.1:4317", "http://10.0.0.2:4317"]);
        assert_eq!(gauge.get(), 2);
        let before = exporter.current();
        exporter.replace_endpoints(&dns, urls(&["http://10.0.0.1:4317", "http://10.0.0.2:4317"]), &gauge);
        assert!(Arc::ptr_eq(&before, &exporter.current()), "the same answer keeps the endpoints as they are");

        // A pod went away and another came: the list follows.
        exporter.replace_endpoints(&dns, urls(&["http://10.0.0.2:4317", "http://10.0.0.3:4317"]), &gauge);
        assert_eq!(names(&exporter), ["http://10.0.0.2:4317", "http://10.0.0.3:4317"]);
        assert_eq!(gauge.get(), 2);
    }
}
