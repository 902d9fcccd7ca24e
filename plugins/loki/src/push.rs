//! Buffered entries grouped by stream, and the push bodies made of them: Loki's
//! `logproto.PushRequest` (protobuf, snappy block format) or its JSON equivalent.
//!
//! The message shapes follow `pkg/push/push.proto` in the Loki repository:
//! `PushRequest { repeated StreamAdapter streams = 1; }`,
//! `StreamAdapter { string labels = 1; repeated EntryAdapter entries = 2; uint64 hash = 3; }`,
//! `EntryAdapter { google.protobuf.Timestamp timestamp = 1; string line = 2;
//! repeated LabelPairAdapter structuredMetadata = 3; }`,
//! `LabelPairAdapter { string name = 1; string value = 2; }`.

use std::collections::BTreeMap;
use std::rc::Rc;

use aegis_plugin_sdk::wire::encode::{len_field_len, put_len_header, put_varint, varint_len};

#[cfg(test)]
use prost::Message as _;

use crate::config::Format;

/// One log entry of a stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Entry {
    /// Unix nanoseconds.
    pub(crate) timestamp: u64,
    pub(crate) line: String,
    /// Structured metadata; the names are the settings' own, shared by every entry.
    pub(crate) metadata: Vec<(Rc<str>, String)>,
}

impl Entry {
    /// What the entry adds to a push before compression, roughly: its line, its metadata
    /// and the framing around them.
    fn size(&self) -> usize {
        16 + self.line.len() + self.metadata.iter().map(|(k, v)| k.len() + v.len() + 4).sum::<usize>()
    }
}

/// The entries of one stream, or of the part of one that goes in a push.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Stream {
    /// The selector, `{job="a", level="info"}`.
    pub(crate) labels: String,
    /// The same labels as pairs, sorted by name (the JSON body wants a map).
    pub(crate) pairs: Vec<(String, String)>,
    pub(crate) entries: Vec<Entry>,
}

/// Entries waiting for the next push, by stream selector.
#[derive(Debug, Default)]
pub(crate) struct Buffer {
    streams: BTreeMap<String, Stream>,
    entries: usize,
    bytes: usize,
}

impl Buffer {
    /// Adds an entry to the stream with selector `labels` (whose pairs `pairs` gives, for a
    /// stream not seen yet).
    pub(crate) fn push(&mut self, labels: &str, pairs: impl FnOnce() -> Vec<(String, String)>, entry: Entry) {
        self.entries += 1;
        self.bytes += entry.size();
        match self.streams.get_mut(labels) {
            Some(stream) => stream.entries.push(entry),
            None => {
                self.bytes += labels.len() + 8;
                let stream = Stream { labels: labels.to_owned(), pairs: pairs(), entries: vec![entry] };
                self.streams.insert(labels.to_owned(), stream);
            }
        }
    }

    /// How many entries wait.
    pub(crate) fn len(&self) -> usize {
        self.entries
    }

    /// Whether the buffer holds a full push by either limit.
    pub(crate) fn is_full(&self, max_entries: usize, max_bytes: usize) -> bool {
        self.entries >= max_entries || self.bytes >= max_bytes
    }

    /// Takes every entry, each stream sorted by timestamp (Loki files entries in order and
    /// refuses those too far behind a stream's newest one), cut into pushes of at most
    /// `max_entries` entries and about `max_bytes` bytes. A stream that does not fit goes on
    /// in the next push, its older entries first.
    pub(crate) fn drain(&mut self, max_entries: usize, max_bytes: usize) -> Vec<Vec<Stream>> {
        let streams = std::mem::take(&mut self.streams);
        self.entries = 0;
        self.bytes = 0;
        let mut pushes = Vec::new();
        let mut current: Vec<Stream> = Vec::new();
        let (mut entries, mut bytes) = (0, 0);
        for (_, mut stream) in streams {
            stream.entries.sort_by_key(|entry| entry.timestamp);
            let mut part = Vec::new();
            for entry in std::mem::take(&mut stream.entries) {
                let size = entry.size();
                if entries > 0 && (entries + 1 > max_entries || bytes + size > max_bytes) {
                    if !part.is_empty() {
                        current.push(Stream { entries: std::mem::take(&mut part), ..stream.clone() });
                    }
                    pushes.push(std::mem::take(&mut current));
                    entries = 0;
                    bytes = 0;
                }
                if part.is_empty() {
                    bytes += stream.labels.len() + 8;
                }
                entries += 1;
                bytes += size;
                part.push(entry);
            }
            if !part.is_empty() {
                current.push(Stream { entries: part, ..stream });
            }
        }
        if !current.is_empty() {
            pushes.push(current);
        }
        pushes
    }
}

/// `logproto.PushRequest`.
#[cfg(test)]
#[derive(Clone, PartialEq, prost::Message)]
struct PushRequest {
    #[prost(message, repeated, tag = "1")]
    streams: Vec<StreamAdapter>,
}

/// `logproto.StreamAdapter`.
#[cfg(test)]
#[derive(Clone, PartialEq, prost::Message)]
struct StreamAdapter {
    #[prost(string, tag = "1")]
    labels: String,
    #[prost(message, repeated, tag = "2")]
    entries: Vec<EntryAdapter>,
    /// Loki computes the hash itself from the labels; clients leave it 0.
    #[prost(uint64, tag = "3")]
    hash: u64,
}

/// `logproto.EntryAdapter`.
#[cfg(test)]
#[derive(Clone, PartialEq, prost::Message)]
struct EntryAdapter {
    #[prost(message, optional, tag = "1")]
    timestamp: Option<Timestamp>,
    #[prost(string, tag = "2")]
    line: String,
    #[prost(message, repeated, tag = "3")]
    structured_metadata: Vec<LabelPairAdapter>,
}

/// `logproto.LabelPairAdapter`.
#[cfg(test)]
#[derive(Clone, PartialEq, prost::Message)]
struct LabelPairAdapter {
    #[prost(string, tag = "1")]
    name: String,
    #[prost(string, tag = "2")]
    value: String,
}

/// `google.protobuf.Timestamp`.
#[cfg(test)]
#[derive(Clone, PartialEq, prost::Message)]
struct Timestamp {
    #[prost(int64, tag = "1")]
    seconds: i64,
    #[prost(int32, tag = "2")]
    nanos: i32,
}

/// Encodes one push's streams as a request body in `format`.
pub(crate) fn encode(format: Format, streams: Vec<Stream>) -> Vec<u8> {
    match format {
        Format::Protobuf => {
            // Snappy's block format, as Loki's push handler reads it (not the framed stream).
            snap::raw::Encoder::new().compress_vec(&push_request(&streams)).unwrap_or_default()
        }
        Format::Json => {
            let streams: Vec<serde_json::Value> = streams.into_iter().map(stream_json).collect();
            serde_json::to_vec(&serde_json::json!({ "streams": streams })).unwrap_or_default()
        }
    }
}

/// `streams` as a `logproto.PushRequest`, written directly: the same bytes prost writes for
/// the message structs above (a test checks), without building them first.
fn push_request(streams: &[Stream]) -> Vec<u8> {
    let entry_lens: Vec<Vec<usize>> = streams.iter().map(|s| s.entries.iter().map(entry_len).collect()).collect();
    let stream_lens: Vec<usize> = streams
        .iter()
        .zip(&entry_lens)
        .map(|(stream, lens)| string_field_len(&stream.labels) + lens.iter().map(|len| field_len(*len)).sum::<usize>())
        .collect();
    let mut out = Vec::with_capacity(stream_lens.iter().map(|len| field_len(*len)).sum());
    for ((stream, lens), stream_len) in streams.iter().zip(&entry_lens).zip(&stream_lens) {
        put_len_header(&mut out, 1, *stream_len);
        string_field(&mut out, 1, &stream.labels);
        for (entry, entry_len) in stream.entries.iter().zip(lens) {
            put_len_header(&mut out, 2, *entry_len);
            let (seconds, nanos) = split_timestamp(entry.timestamp);
            put_len_header(&mut out, 1, timestamp_len(seconds, nanos));
            if seconds != 0 {
                out.push(0x08);
                put_varint(&mut out, seconds);
            }
            if nanos != 0 {
                out.push(0x10);
                put_varint(&mut out, nanos);
            }
            string_field(&mut out, 2, &entry.line);
            for (name, value) in &entry.metadata {
                put_len_header(&mut out, 3, string_field_len(name) + string_field_len(value));
                string_field(&mut out, 1, name);
                string_field(&mut out, 2, value);
            }
        }
    }
    out
}

fn split_timestamp(nanos: u64) -> (u64, u64) {
    (nanos / 1_000_000_000, nanos % 1_000_000_000)
}

fn timestamp_len(seconds: u64, nanos: u64) -> usize {
    let part = |v: u64| if v == 0 { 0 } else { 1 + varint_len(v) };
    part(seconds) + part(nanos)
}

fn entry_len(entry: &Entry) -> usize {
    let (seconds, nanos) = split_timestamp(entry.timestamp);
    field_len(timestamp_len(seconds, nanos))
        + string_field_len(&entry.line)
        + entry.metadata.iter().map(|(n, v)| field_len(string_field_len(n) + string_field_len(v))).sum::<usize>()
}

/// A length-delimited field of payload `len` (the field numbers here take one tag byte).
fn field_len(len: usize) -> usize {
    len_field_len(1, len)
}

/// A string field as proto3 writes it: left out when empty.
fn string_field_len(text: &str) -> usize {
    if text.is_empty() { 0 } else { field_len(text.len()) }
}

fn string_field(out: &mut Vec<u8>, number: u32, text: &str) {
    if !text.is_empty() {
        put_len_header(out, number, text.len());
        out.extend_from_slice(text.as_bytes());
    }
}

#[cfg(test)]
fn stream_adapter(stream: Stream) -> StreamAdapter {
    let entries = stream
        .entries
        .into_iter()
        .map(|entry| EntryAdapter {
            timestamp: Some(Timestamp {
                seconds: (entry.timestamp / 1_000_000_000) as i64,
                nanos: (entry.timestamp % 1_000_000_000) as i32,
            }),
            line: entry.line,
            structured_metadata: entry
                .metadata
                .into_iter()
                .map(|(name, value)| LabelPairAdapter { name: name.to_string(), value })
                .collect(),
        })
        .collect();
    StreamAdapter { labels: stream.labels, entries, hash: 0 }
}

/// `{"stream": {labels}, "values": [["<unix ns>", "<line>", {metadata}], ...]}`; the
/// metadata object only when there is some.
fn stream_json(stream: Stream) -> serde_json::Value {
    let labels: serde_json::Map<String, serde_json::Value> =
        stream.pairs.into_iter().map(|(name, value)| (name, value.into())).collect();
    let values: Vec<serde_json::Value> = stream
        .entries
        .into_iter()
        .map(|entry| {
            let mut value = vec![entry.timestamp.to_string().into(), entry.line.into()];
            if !entry.metadata.is_empty() {
                let metadata: serde_json::Map<String, serde_json::Value> =
                    entry.metadata.into_iter().map(|(k, v)| (k.to_string(), v.into())).collect();
                value.push(metadata.into());
            }
            serde_json::Value::Array(value)
        })
        .collect();
    serde_json::json!({ "stream": labels, "values": values })
}

/// Reads a protobuf push body back into streams, for tests that check what was sent.
#[cfg(test)]
pub(crate) fn decode(body: &[u8]) -> Vec<Stream> {
    let raw = snap::raw::Decoder::new().decompress_vec(body).expect("a snappy block");
    let request = PushRequest::decode(raw.as_slice()).expect("a PushRequest");
    request
        .streams
        .into_iter()
        .map(|stream| Stream {
            labels: stream.labels,
            pairs: Vec::new(),
            entries: stream
                .entries
                .into_iter()
                .map(|entry| {
                    let timestamp = entry.timestamp.unwrap_or_default();
                    Entry {
                        timestamp: timestamp.seconds as u64 * 1_000_000_000 + timestamp.nanos as u64,
                        line: entry.line,
                        metadata: entry.structured_metadata.into_iter().map(|p| (p.name.into(), p.value)).collect(),
                    }
                })
                .collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_push_request_is_written_as_prost_writes_it() {
        let streams = vec![
            Stream {
                labels: r#"{service_name="aegis-backend", level="info"}"#.into(),
                pairs: Vec::new(),
                entries: vec![
                    Entry {
                        timestamp: 1_706_193_045_123_456_789,
                        line: "x".repeat(300),
                        metadata: vec![("trace_id".into(), "ab".repeat(16)), ("span_id".into(), String::new())],
                    },
                    Entry { timestamp: 0, line: String::new(), metadata: Vec::new() },
                    Entry { timestamp: 5_000_000_000, line: "é".into(), metadata: vec![("".into(), "v".into())] },
                ],
            },
            Stream { labels: String::new(), pairs: Vec::new(), entries: vec![entry(7, "seven")] },
        ];
        let expected = PushRequest { streams: streams.clone().into_iter().map(stream_adapter).collect() };
        assert_eq!(push_request(&streams), expected.encode_to_vec());
        assert_eq!(push_request(&[]), Vec::<u8>::new());
    }

    fn entry(timestamp: u64, line: &str) -> Entry {
        Entry { timestamp, line: line.to_owned(), metadata: Vec::new() }
    }

    fn push(buffer: &mut Buffer, labels: &str, entry: Entry) {
        buffer.push(labels, Vec::new, entry);
    }

    fn lines(push: &[Stream]) -> Vec<(&str, Vec<&str>)> {
        push.iter().map(|s| (s.labels.as_str(), s.entries.iter().map(|e| e.line.as_str()).collect())).collect()
    }

    #[test]
    fn draining_sorts_each_stream_by_timestamp() {
        let mut buffer = Buffer::default();
        push(&mut buffer, "{job=\"b\"}", entry(3, "c"));
        push(&mut buffer, "{job=\"a\"}", entry(2, "x"));
        push(&mut buffer, "{job=\"b\"}", entry(1, "a"));
        push(&mut buffer, "{job=\"b\"}", entry(2, "b"));
        let pushes = buffer.drain(100, 1 << 20);
        assert_eq!(pushes.len(), 1);
        assert_eq!(lines(&pushes[0]), [("{job=\"a\"}", vec!["x"]), ("{job=\"b\"}", vec!["a", "b", "c"])]);
        assert_eq!(buffer.len(), 0);
    }

    #[test]
    fn pushes_hold_at_most_max_entries_and_split_streams_in_order() {
        let mut buffer = Buffer::default();
        for i in (0..5).rev() {
            push(&mut buffer, "{job=\"a\"}", entry(i, &i.to_string()));
        }
        let pushes = buffer.drain(2, 1 << 20);
        let all: Vec<Vec<(&str, Vec<&str>)>> = pushes.iter().map(|p| lines(p)).collect();
        assert_eq!(
            all,
            [
                vec![("{job=\"a\"}", vec!["0", "1"])],
                vec![("{job=\"a\"}", vec!["2", "3"])],
                vec![("{job=\"a\"}", vec!["4"])]
            ]
        );
    }

    #[test]
    fn pushes_stay_near_max_bytes_and_a_big_entry_goes_alone() {
        let mut buffer = Buffer::default();
        push(&mut buffer, "{a=\"1\"}", entry(1, &"x".repeat(100)));
        push(&mut buffer, "{a=\"1\"}", entry(2, &"y".repeat(1000)));
        push(&mut buffer, "{a=\"1\"}", entry(3, "z"));
        let pushes = buffer.drain(100, 200);
        let counts: Vec<usize> = pushes.iter().map(|p| p.iter().map(|s| s.entries.len()).sum()).collect();
        assert_eq!(counts, [1, 1, 1]);
    }

    #[test]
    fn json_bodies_have_streams_values_and_metadata() {
        let stream = Stream {
            labels: r#"{job="aegis-backend", path="a\"b"}"#.to_owned(),
            pairs: vec![("job".into(), "aegis-backend".into()), ("path".into(), "a\"b".into())],
            entries: vec![Entry {
                timestamp: 1_706_193_045_123_000_000,
                line: "hi".into(),
                metadata: vec![("trace_id".into(), "ab".into())],
            }],
        };
        let body: serde_json::Value = serde_json::from_slice(&encode(Format::Json, vec![stream])).unwrap();
        assert_eq!(
            body,
            serde_json::json!({ "streams": [{
                "stream": { "job": "aegis-backend", "path": "a\"b" },
                "values": [["1706193045123000000", "hi", { "trace_id": "ab" }]],
            }] })
        );
    }

    #[test]
    fn protobuf_bodies_are_snappy_blocks_of_a_push_request() {
        let stream =
            Stream { labels: "{job=\"a\"}".to_owned(), pairs: Vec::new(), entries: vec![entry(1_500_000_000, "hi")] };
        let body = encode(Format::Protobuf, vec![stream]);
        let raw = snap::raw::Decoder::new().decompress_vec(&body).unwrap();
        let request = PushRequest::decode(raw.as_slice()).unwrap();
        assert_eq!(request.streams[0].labels, "{job=\"a\"}");
        assert_eq!(request.streams[0].entries[0].timestamp, Some(Timestamp { seconds: 1, nanos: 500_000_000 }));
        assert_eq!(request.streams[0].entries[0].line, "hi");
    }
}
