//! The remote write 1.0 protobuf messages (`prometheus/prompb/remote.proto` and
//! `types.proto`), declared by hand for prost, and the framing that writes a
//! `WriteRequest` from series whose labels were encoded once, when the series was made.

use prost::Message;
use prost::encoding::{WireType, encode_key, encode_varint, encoded_len_varint};

/// `prometheus.WriteRequest`.
#[derive(Clone, PartialEq, Message)]
pub struct WriteRequest {
    /// The series, each with its labels and samples.
    #[prost(message, repeated, tag = "1")]
    pub timeseries: Vec<TimeSeries>,
    /// Type, help and unit of metric families.
    #[prost(message, repeated, tag = "3")]
    pub metadata: Vec<MetricMetadata>,
}

/// `prometheus.TimeSeries` (without exemplars and native histograms, which this exporter
/// does not send).
#[derive(Clone, PartialEq, Message)]
pub struct TimeSeries {
    /// Sorted by name; `__name__` is the metric name.
    #[prost(message, repeated, tag = "1")]
    pub labels: Vec<Label>,
    /// Sorted by timestamp.
    #[prost(message, repeated, tag = "2")]
    pub samples: Vec<Sample>,
}

/// `prometheus.Label`.
#[derive(Clone, PartialEq, Eq, Message)]
pub struct Label {
    /// The label name.
    #[prost(string, tag = "1")]
    pub name: String,
    /// The label value.
    #[prost(string, tag = "2")]
    pub value: String,
}

/// `prometheus.Sample`.
#[derive(Clone, Copy, PartialEq, Message)]
pub struct Sample {
    /// The value.
    #[prost(double, tag = "1")]
    pub value: f64,
    /// Unix milliseconds.
    #[prost(int64, tag = "2")]
    pub timestamp: i64,
}

/// `prometheus.MetricMetadata`.
#[derive(Clone, PartialEq, Message)]
pub struct MetricMetadata {
    /// A [`MetricType`].
    #[prost(enumeration = "MetricType", tag = "1")]
    pub r#type: i32,
    /// The metric's name (for counters, with `_total`).
    #[prost(string, tag = "2")]
    pub metric_family_name: String,
    /// The description.
    #[prost(string, tag = "4")]
    pub help: String,
    /// The unit.
    #[prost(string, tag = "5")]
    pub unit: String,
}

/// `prometheus.MetricMetadata.MetricType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum MetricType {
    /// Unknown.
    Unknown = 0,
    /// A counter.
    Counter = 1,
    /// A gauge.
    Gauge = 2,
    /// A histogram.
    Histogram = 3,
    /// A gauge histogram.
    Gaugehistogram = 4,
    /// A summary.
    Summary = 5,
    /// An info metric.
    Info = 6,
    /// A state set.
    Stateset = 7,
}

/// Encodes `labels` (sorted by name) as the `labels` fields of a `TimeSeries`, once per
/// series, so that writing a request copies them instead of encoding them again.
pub(crate) fn encode_labels<'l>(labels: impl IntoIterator<Item = (&'l str, &'l str)>) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, value) in labels {
        let label = Label { name: name.to_owned(), value: value.to_owned() };
        prost::encoding::message::encode(1, &label, &mut out);
    }
    out
}

/// Appends one `timeseries` field made of pre-encoded `labels` and `samples`.
pub(crate) fn write_series(out: &mut Vec<u8>, labels: &[u8], samples: &[Sample]) {
    let samples_len: usize = samples.iter().map(|s| prost::encoding::message::encoded_len(2, s)).sum();
    let len = labels.len() + samples_len;
    out.reserve(len + 1 + encoded_len_varint(len as u64));
    encode_key(1, WireType::LengthDelimited, out);
    encode_varint(len as u64, out);
    out.extend_from_slice(labels);
    for sample in samples {
        prost::encoding::message::encode(2, sample, out);
    }
}

/// Appends one `metadata` field.
pub(crate) fn write_metadata(out: &mut Vec<u8>, metadata: &MetricMetadata) {
    prost::encoding::message::encode(3, metadata, out);
}
