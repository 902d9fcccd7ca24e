//! Protobuf encoding of the OTLP messages the SDK's owned structs do not cover:
//! histogram and summary points, and exemplars (number points get theirs appended).
//! Field numbers are those of `opentelemetry/proto/metrics/v1/metrics.proto`.

use aegis_plugin_sdk::Value;
use aegis_plugin_sdk::wire::{NumberPointData, NumberValue, encode_key_value};

const VARINT: u8 = 0;
const I64: u8 = 1;
const LEN: u8 = 2;

fn tag(out: &mut Vec<u8>, field: u32, wire_type: u8) {
    varint(out, u64::from(field) << 3 | u64::from(wire_type));
}

fn varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn fixed64(out: &mut Vec<u8>, field: u32, value: u64) {
    if value != 0 {
        tag(out, field, I64);
        out.extend_from_slice(&value.to_le_bytes());
    }
}

/// A double that is written even when zero (the `optional` fields, and values whose
/// zero means something).
fn double(out: &mut Vec<u8>, field: u32, value: f64) {
    tag(out, field, I64);
    out.extend_from_slice(&value.to_bits().to_le_bytes());
}

fn len_field(out: &mut Vec<u8>, field: u32, bytes: &[u8]) {
    tag(out, field, LEN);
    varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

fn attributes(out: &mut Vec<u8>, field: u32, attributes: &[(String, String)]) {
    for (key, value) in attributes {
        encode_key_value(out, field, key, &Value::Str(value.clone()));
    }
}

/// An OTLP `Exemplar`.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct ExemplarData {
    pub(crate) attributes: Vec<(String, String)>,
    pub(crate) time_unix_nano: u64,
    pub(crate) value: f64,
    pub(crate) trace_id: Vec<u8>,
    pub(crate) span_id: Vec<u8>,
}

impl ExemplarData {
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        fixed64(&mut out, 2, self.time_unix_nano);
        double(&mut out, 3, self.value);
        if !self.span_id.is_empty() {
            len_field(&mut out, 4, &self.span_id);
        }
        if !self.trace_id.is_empty() {
            len_field(&mut out, 5, &self.trace_id);
        }
        attributes(&mut out, 7, &self.attributes);
        out
    }
}

/// A `NumberDataPoint` of a gauge or sum.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct NumberPoint {
    pub(crate) attributes: Vec<(String, String)>,
    pub(crate) start_time_unix_nano: u64,
    pub(crate) time_unix_nano: u64,
    pub(crate) value: f64,
    pub(crate) exemplars: Vec<ExemplarData>,
}

impl NumberPoint {
    fn encode(&self) -> Vec<u8> {
        let mut out = NumberPointData {
            attributes: self.attributes.iter().map(|(k, v)| (k.clone(), Value::Str(v.clone()))).collect(),
            start_time_unix_nano: self.start_time_unix_nano,
            time_unix_nano: self.time_unix_nano,
            value: NumberValue::Double(self.value),
            flags: 0,
        }
        .encode();
        // Protobuf fields may come in any order, so the exemplars (field 5) go after.
        for exemplar in &self.exemplars {
            len_field(&mut out, 5, &exemplar.encode());
        }
        out
    }
}

/// A `HistogramDataPoint` with explicit bounds.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct HistogramPoint {
    pub(crate) attributes: Vec<(String, String)>,
    pub(crate) start_time_unix_nano: u64,
    pub(crate) time_unix_nano: u64,
    pub(crate) count: u64,
    pub(crate) sum: Option<f64>,
    pub(crate) bucket_counts: Vec<u64>,
    pub(crate) explicit_bounds: Vec<f64>,
    pub(crate) exemplars: Vec<ExemplarData>,
}

impl HistogramPoint {
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + 16 * self.bucket_counts.len());
        fixed64(&mut out, 2, self.start_time_unix_nano);
        fixed64(&mut out, 3, self.time_unix_nano);
        fixed64(&mut out, 4, self.count);
        if let Some(sum) = self.sum {
            double(&mut out, 5, sum);
        }
        if !self.bucket_counts.is_empty() {
            let packed: Vec<u8> = self.bucket_counts.iter().flat_map(|c| c.to_le_bytes()).collect();
            len_field(&mut out, 6, &packed);
        }
        if !self.explicit_bounds.is_empty() {
            let packed: Vec<u8> = self.explicit_bounds.iter().flat_map(|b| b.to_bits().to_le_bytes()).collect();
            len_field(&mut out, 7, &packed);
        }
        for exemplar in &self.exemplars {
            len_field(&mut out, 8, &exemplar.encode());
        }
        attributes(&mut out, 9, &self.attributes);
        out
    }
}

/// A `SummaryDataPoint`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct SummaryPoint {
    pub(crate) attributes: Vec<(String, String)>,
    pub(crate) start_time_unix_nano: u64,
    pub(crate) time_unix_nano: u64,
    pub(crate) count: u64,
    pub(crate) sum: f64,
    /// (quantile, value) pairs.
    pub(crate) quantiles: Vec<(f64, f64)>,
}

impl SummaryPoint {
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + 20 * self.quantiles.len());
        fixed64(&mut out, 2, self.start_time_unix_nano);
        fixed64(&mut out, 3, self.time_unix_nano);
        fixed64(&mut out, 4, self.count);
        double(&mut out, 5, self.sum);
        for (quantile, value) in &self.quantiles {
            let mut q = Vec::with_capacity(18);
            double(&mut q, 1, *quantile);
            double(&mut q, 2, *value);
            len_field(&mut out, 6, &q);
        }
        attributes(&mut out, 7, &self.attributes);
        out
    }
}

/// The points of one metric, by OTLP type.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Points {
    Gauge(Vec<NumberPoint>),
    /// A cumulative sum.
    Sum {
        points: Vec<NumberPoint>,
        monotonic: bool,
    },
    /// A cumulative histogram.
    Histogram(Vec<HistogramPoint>),
    Summary(Vec<SummaryPoint>),
}

impl Points {
    pub(crate) fn is_empty(&self) -> bool {
        match self {
            Points::Gauge(p) | Points::Sum { points: p, .. } => p.is_empty(),
            Points::Histogram(p) => p.is_empty(),
            Points::Summary(p) => p.is_empty(),
        }
    }

    /// The data message and its field number in `Metric`.
    pub(crate) fn encode(&self) -> (u32, Vec<u8>) {
        const CUMULATIVE: u64 = 2;
        let mut out = Vec::with_capacity(256);
        let field = match self {
            Points::Gauge(points) => {
                points.iter().for_each(|p| len_field(&mut out, 1, &p.encode()));
                5
            }
            Points::Sum { points, monotonic } => {
                points.iter().for_each(|p| len_field(&mut out, 1, &p.encode()));
                tag(&mut out, 2, VARINT);
                varint(&mut out, CUMULATIVE);
                if *monotonic {
                    tag(&mut out, 3, VARINT);
                    varint(&mut out, 1);
                }
                7
            }
            Points::Histogram(points) => {
                points.iter().for_each(|p| len_field(&mut out, 1, &p.encode()));
                tag(&mut out, 2, VARINT);
                varint(&mut out, CUMULATIVE);
                9
            }
            Points::Summary(points) => {
                points.iter().for_each(|p| len_field(&mut out, 1, &p.encode()));
                11
            }
        };
        (field, out)
    }
}
