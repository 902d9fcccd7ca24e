//! What the OTLP receiver and exporter share: the gRPC method paths and HTTP paths per
//! signal, a gRPC codec that moves protobuf bytes without decoding them (the pipeline
//! validates and edits them in place), and the JSON ⇄ protobuf conversions of OTLP/HTTP.

use bytes::{Buf, BufMut, Bytes};
use prost::Message;
use tonic::Status;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};

use crate::batch::Signal;
use opentelemetry_proto::tonic::collector::{logs::v1 as logs, metrics::v1 as metrics, trace::v1 as trace};

/// The gRPC method that exports `signal`.
pub(crate) fn grpc_path(signal: Signal) -> &'static str {
    match signal {
        Signal::Logs => "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
        Signal::Traces => "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
        Signal::Metrics => "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
    }
}

/// The OTLP/HTTP path of `signal`.
pub(crate) fn http_path(signal: Signal) -> &'static str {
    match signal {
        Signal::Logs => "/v1/logs",
        Signal::Traces => "/v1/traces",
        Signal::Metrics => "/v1/metrics",
    }
}

/// A codec whose messages are the encoded protobuf bytes themselves.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RawCodec;

/// Writes the bytes as they are.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RawEncoder;

/// Reads the bytes as they are.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RawDecoder;

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = RawEncoder;
    type Decoder = RawDecoder;

    fn encoder(&mut self) -> Self::Encoder {
        RawEncoder
    }

    fn decoder(&mut self) -> Self::Decoder {
        RawDecoder
    }
}

impl Encoder for RawEncoder {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put(item);
        Ok(())
    }
}

impl Decoder for RawDecoder {
    type Item = Bytes;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}

/// Converts an OTLP/JSON request body to protobuf bytes.
pub(crate) fn json_to_protobuf(signal: Signal, body: &[u8]) -> Result<Vec<u8>, String> {
    fn convert<M: Message + serde::de::DeserializeOwned>(body: &[u8]) -> Result<Vec<u8>, String> {
        let message: M = serde_json::from_slice(body).map_err(|error| format!("invalid OTLP/JSON: {error}"))?;
        Ok(message.encode_to_vec())
    }
    match signal {
        Signal::Logs => convert::<logs::ExportLogsServiceRequest>(body),
        Signal::Traces => convert::<trace::ExportTraceServiceRequest>(body),
        Signal::Metrics => convert::<metrics::ExportMetricsServiceRequest>(body),
    }
}

/// The success response of an export: empty, so no partial success to report.
pub(crate) fn empty_response_json() -> &'static [u8] {
    b"{}"
}

/// How many items an export response says the server rejected, and why.
pub(crate) fn partial_success(signal: Signal, response: &[u8]) -> Option<(i64, String)> {
    let (rejected, message) = match signal {
        Signal::Logs => {
            let partial = logs::ExportLogsServiceResponse::decode(response).ok()?.partial_success?;
            (partial.rejected_log_records, partial.error_message)
        }
        Signal::Traces => {
            let partial = trace::ExportTraceServiceResponse::decode(response).ok()?.partial_success?;
            (partial.rejected_spans, partial.error_message)
        }
        Signal::Metrics => {
            let partial = metrics::ExportMetricsServiceResponse::decode(response).ok()?.partial_success?;
            (partial.rejected_data_points, partial.error_message)
        }
    };
    (rejected > 0 || !message.is_empty()).then_some((rejected, message))
}

/// A `google.rpc.Status` as OTLP/HTTP sends it in a protobuf error body.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct RpcStatus {
    /// The gRPC code.
    #[prost(int32, tag = "1")]
    pub(crate) code: i32,
    /// The message.
    #[prost(string, tag = "2")]
    pub(crate) message: String,
}
