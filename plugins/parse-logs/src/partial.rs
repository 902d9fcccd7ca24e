//! CRI partial lines held across records and batches, per container stream, until the
//! final piece arrives (or they wait too long, or grow too large, and are emitted as
//! they are).

use crate::reframe::{ScopePart, record_from_template, resource_logs};

/// How many streams may have a partial line pending at once; past that the oldest is
/// emitted as it is, so that a flood of abandoned pieces cannot grow the plugin's memory.
const MAX_PENDING: usize = 1024;

/// The pieces of one container stream's line so far, with what is needed to emit them
/// on their own: the resource and scope they came with, and the first piece's record.
#[derive(Debug)]
pub(crate) struct Pending {
    /// The `Resource` payload, part of the key.
    pub(crate) resource: Vec<u8>,
    pub(crate) resource_schema: String,
    pub(crate) scope: Vec<u8>,
    pub(crate) scope_schema: String,
    /// The record's `log.file.path`, part of the key (one resource may tail many files).
    pub(crate) path: Option<String>,
    /// `stdout` or `stderr`, part of the key.
    pub(crate) stream: String,
    /// The first piece's record as it came in.
    pub(crate) template: Vec<u8>,
    /// The text so far.
    pub(crate) text: String,
    /// The first piece's time.
    pub(crate) time: u64,
    /// When the first piece was seen (monotonic nanoseconds).
    pub(crate) since: u64,
}

impl Pending {
    /// The pieces as a `ResourceLogs` of one record (tagged `logtag = "P"`, since the
    /// line is incomplete).
    pub(crate) fn into_resource_logs(self) -> Vec<u8> {
        let record = record_from_template(
            &self.template,
            self.time,
            &self.text,
            &[("log.iostream", &self.stream), ("logtag", "P")],
        );
        let records = [record];
        let scope = ScopePart { scope: &self.scope, schema_url: &self.scope_schema, records: &records };
        resource_logs(&self.resource, &self.resource_schema, &[scope])
    }
}

/// Every pending line, oldest first.
#[derive(Debug, Default)]
pub(crate) struct Partials {
    pending: Vec<Pending>,
}

impl Partials {
    pub(crate) fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// The index of the stream's pending line.
    pub(crate) fn position(&self, resource: &[u8], stream: &str, path: Option<&str>) -> Option<usize> {
        self.pending.iter().position(|p| p.stream == stream && p.path.as_deref() == path && p.resource == resource)
    }

    pub(crate) fn get_mut(&mut self, index: usize) -> &mut Pending {
        &mut self.pending[index]
    }

    /// Adds a stream's first piece; returns its index and the line evicted to make room.
    pub(crate) fn insert(&mut self, pending: Pending) -> (usize, Option<Pending>) {
        let evicted = (self.pending.len() >= MAX_PENDING).then(|| self.pending.remove(0));
        self.pending.push(pending);
        (self.pending.len() - 1, evicted)
    }

    pub(crate) fn remove(&mut self, index: usize) -> Pending {
        self.pending.remove(index)
    }

    /// Takes out the lines whose first piece is older than `timeout`.
    pub(crate) fn expired(&mut self, now: u64, timeout: std::time::Duration) -> Vec<Pending> {
        let timeout = u64::try_from(timeout.as_nanos()).unwrap_or(u64::MAX);
        let (old, young) =
            std::mem::take(&mut self.pending).into_iter().partition(|p| now.saturating_sub(p.since) >= timeout);
        self.pending = young;
        old
    }
}
