//! The OTLP exporter reaches a Tempo-style endpoint over TLS, verifying the server against a
//! configured CA file, with the tenant header.

use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::collector::trace::v1::trace_service_client::TraceServiceClient;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};

use crate::support::{Collector, Sink, fixture};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traces_reach_a_tls_endpoint_that_the_configured_ca_vouches_for() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let key = rcgen::KeyPair::generate().unwrap();
    let params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    let certificate = params.self_signed(&key).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, certificate.pem()).unwrap();

    let identity = tonic::transport::Identity::from_pem(certificate.pem(), key.serialize_pem());
    let sink = Sink::start_tls(identity).await;
    let endpoint = format!("https://localhost:{}", sink.address.port());
    let collector = Collector::start(
        &fixture("tls.toml"),
        &[("AEGIS_TEST_SINK", endpoint), ("AEGIS_TEST_CA", ca.display().to_string())],
    );
    let mut client = TraceServiceClient::connect(format!("http://{}", collector.grpc)).await.unwrap();
    let span = Span {
        trace_id: vec![0xa1; 16],
        span_id: vec![0x01; 8],
        name: "db.insert".into(),
        start_time_unix_nano: 1_706_193_045_000_000_000,
        end_time_unix_nano: 1_706_193_045_023_000_000,
        ..Default::default()
    };
    let request = ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            scope_spans: vec![ScopeSpans { spans: vec![span], ..Default::default() }],
            ..Default::default()
        }],
    };
    client.export(request).await.expect("accepted");
    sink.wait_for(Duration::from_secs(15), "the span over TLS", |sink| sink.spans().len() == 1).await;
    assert_eq!(sink.spans()[0].name, "db.insert");
    let tenant =
        sink.with(|received| received.headers[0].get("x-scope-orgid").map(|v| v.to_str().unwrap().to_string()));
    assert_eq!(tenant.as_deref(), Some("aegis-prod"));
    let (status, logs) = collector.stop();
    assert!(status.success(), "{logs}");
}
