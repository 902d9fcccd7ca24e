//! Malformed OTLP gets 400 / `InvalidArgument` with a message that says what is wrong, is
//! counted, and the collector keeps serving.

use std::time::Duration;

use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
use prost::Message;

use crate::misbehaving::request;
use crate::support::{Collector, Sink, fixture};

async fn post(url: &str, content_type: &str, body: Vec<u8>) -> (u16, Vec<u8>) {
    let response = crate::support::http_client()
        .post(url)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .expect("the collector answers");
    let status = response.status().as_u16();
    (status, response.bytes().await.unwrap().to_vec())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_are_refused_and_the_collector_keeps_serving() {
    let sink = Sink::start().await;
    let collector = Collector::start(&fixture("passthrough.toml"), &[("AEGIS_TEST_SINK", sink.endpoint())]);
    let url = format!("http://{}/v1/logs", collector.http);

    // Truncated protobuf over HTTP.
    let mut bytes = request("truncated").encode_to_vec();
    bytes.truncate(bytes.len() - 5);
    let (status, body) = post(&url, "application/x-protobuf", bytes).await;
    assert_eq!(status, 400);
    let status_message = aegis_status_message(&body);
    assert!(status_message.contains("malformed OTLP protobuf at byte"), "{status_message}");

    // A record whose body comes twice: protobuf would merge the two, the views read the last.
    let (status, body) = post(&url, "application/x-protobuf", body_given_twice()).await;
    assert_eq!(status, 400);
    let status_message = aegis_status_message(&body);
    assert!(status_message.contains("LogRecord.body holds one message but came more than once"), "{status_message}");

    // Not JSON at all, and JSON of the wrong shape.
    let (status, body) = post(&url, "application/json", b"{\"resourceLogs\": [".to_vec()).await;
    assert_eq!(status, 400);
    assert!(String::from_utf8_lossy(&body).contains("invalid OTLP/JSON"), "{}", String::from_utf8_lossy(&body));
    let (status, _) = post(&url, "text/plain", b"hello".to_vec()).await;
    assert_eq!(status, 415);

    // A gzip header that is not gzip.
    let response = crate::support::http_client()
        .post(&url)
        .header("content-type", "application/x-protobuf")
        .header("content-encoding", "gzip")
        .body(b"not gzip at all".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);

    // Garbage over gRPC.
    let mut client = LogsServiceClient::connect(format!("http://{}", collector.grpc)).await.unwrap();
    let mut garbage = request("x");
    garbage.resource_logs[0].scope_logs[0].log_records[0].body = None;
    let channel =
        tonic::transport::Endpoint::from_shared(format!("http://{}", collector.grpc)).unwrap().connect().await.unwrap();
    let mut raw = tonic::client::Grpc::new(channel);
    raw.ready().await.unwrap();
    let status = raw
        .unary::<bytes::Bytes, bytes::Bytes, _>(
            tonic::Request::new(bytes::Bytes::from_static(&[0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01])),
            http::uri::PathAndQuery::from_static("/opentelemetry.proto.collector.logs.v1.LogsService/Export"),
            RawBytes,
        )
        .await
        .expect_err("garbage is refused");
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert!(status.message().contains("malformed OTLP protobuf"), "{}", status.message());

    // Still serving: a good request goes all the way through, over both transports.
    client.export(garbage).await.expect("a valid request is accepted");
    let (status, _) = post(&url, "application/x-protobuf", request("over http").encode_to_vec()).await;
    assert_eq!(status, 200);
    sink.wait_for(Duration::from_secs(10), "the two good records", |sink| sink.log_records().len() == 2).await;
    // Truncated protobuf, a body twice, bad JSON, wrong content type, bad gzip, gRPC garbage.
    assert_eq!(collector.metric("aegis_receiver_invalid_requests_total{receiver=\"otlp\",signal=\"logs\"}"), 6.0);
    let (status, logs) = collector.stop();
    assert!(status.success(), "aegis exited with {status}:\n{logs}");
}

/// A logs request of one record that holds `body` twice, framed by hand (no encoder writes it).
fn body_given_twice() -> Vec<u8> {
    use opentelemetry_proto::tonic::common::v1::{AnyValue, any_value::Value};
    use opentelemetry_proto::tonic::logs::v1::LogRecord;
    fn frame(field: u8, inner: &[u8]) -> Vec<u8> {
        let mut out = vec![(field << 3) | 2];
        prost::encoding::encode_varint(inner.len() as u64, &mut out);
        out.extend_from_slice(inner);
        out
    }
    let body = |text: &str| AnyValue { value: Some(Value::StringValue(text.into())) };
    let mut record = LogRecord { body: Some(body("first")), ..Default::default() }.encode_to_vec();
    record.extend(frame(5, &body("second").encode_to_vec()));
    // ExportLogsServiceRequest.resource_logs (1) / ResourceLogs.scope_logs (2) / ScopeLogs.log_records (2).
    frame(1, &frame(2, &frame(2, &record)))
}

fn aegis_status_message(body: &[u8]) -> String {
    #[derive(Clone, PartialEq, prost::Message)]
    struct Status {
        #[prost(int32, tag = "1")]
        code: i32,
        #[prost(string, tag = "2")]
        message: String,
    }
    let status = Status::decode(body).expect("a google.rpc.Status body");
    assert_eq!(status.code, 3, "InvalidArgument");
    status.message
}

/// A codec that sends bytes as they are, to put garbage on the wire.
#[derive(Clone, Copy)]
struct RawBytes;

impl tonic::codec::Codec for RawBytes {
    type Encode = bytes::Bytes;
    type Decode = bytes::Bytes;
    type Encoder = RawBytes;
    type Decoder = RawBytes;
    fn encoder(&mut self) -> Self::Encoder {
        RawBytes
    }
    fn decoder(&mut self) -> Self::Decoder {
        RawBytes
    }
}

impl tonic::codec::Encoder for RawBytes {
    type Item = bytes::Bytes;
    type Error = tonic::Status;
    fn encode(&mut self, item: bytes::Bytes, dst: &mut tonic::codec::EncodeBuf<'_>) -> Result<(), tonic::Status> {
        use bytes::BufMut;
        dst.put(item);
        Ok(())
    }
}

impl tonic::codec::Decoder for RawBytes {
    type Item = bytes::Bytes;
    type Error = tonic::Status;
    fn decode(&mut self, src: &mut tonic::codec::DecodeBuf<'_>) -> Result<Option<bytes::Bytes>, tonic::Status> {
        use bytes::Buf;
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}
