//! An index over one request: where each resource, scope, metric and item sits.
//!
//! Building it reads only the framing (tags and lengths) down to the items; nothing
//! inside a record is touched. Splitting and editing both work from this index, copying
//! the byte ranges it records and re-framing only what changes.

use crate::Signal;
use crate::pb::{Failure, Fault, LEN, Reader, Res};

/// Where one length-delimited field sits: its tag, its payload, its end.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Span {
    /// Offset of the field's tag.
    pub(crate) start: u32,
    /// Offset of the field's payload.
    pub(crate) body: u32,
    /// One past the field's last byte.
    pub(crate) end: u32,
}

impl Span {
    fn new(start: usize, body: usize, end: usize) -> Self {
        // The builder refuses buffers over 4 GiB, so these fit.
        Span { start: start as u32, body: body as u32, end: end as u32 }
    }

    /// The payload's bytes.
    #[inline]
    pub(crate) fn body<'a>(&self, buf: &'a [u8]) -> &'a [u8] {
        &buf[self.body as usize..self.end as usize]
    }

    /// The whole field's bytes, tag included.
    #[inline]
    pub(crate) fn field<'a>(&self, buf: &'a [u8]) -> &'a [u8] {
        &buf[self.start as usize..self.end as usize]
    }

    /// The whole field's length, tag included.
    #[inline]
    pub(crate) fn field_len(&self) -> usize {
        (self.end - self.start) as usize
    }
}

/// A half-open range of indices into one of the index's tables.
pub(crate) type Range32 = (u32, u32);

/// One `ResourceLogs` / `ResourceSpans` / `ResourceMetrics`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ResourceEntry {
    pub(crate) field: Span,
    /// The first `resource` field, if any.
    pub(crate) resource: Option<Span>,
    pub(crate) scopes: Range32,
    pub(crate) items: Range32,
}

/// One `ScopeLogs` / `ScopeSpans` / `ScopeMetrics`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ScopeEntry {
    pub(crate) field: Span,
    /// The first `scope` field, if any.
    pub(crate) scope: Option<Span>,
    /// Items for logs and traces, metrics for metrics.
    pub(crate) children: Range32,
    pub(crate) items: Range32,
    pub(crate) resource: u32,
}

/// One `Metric`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct MetricEntry {
    pub(crate) field: Span,
    /// The first data field (gauge, sum, ...) and its field number.
    pub(crate) data: Option<(u32, Span)>,
    pub(crate) points: Range32,
    pub(crate) scope: u32,
}

/// One log record, span or data point.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ItemEntry {
    pub(crate) field: Span,
    /// The scope (logs, traces) or metric (metrics) holding the item.
    pub(crate) parent: u32,
}

/// The index itself.
#[derive(Clone, Debug)]
pub(crate) struct Index {
    pub(crate) signal: Signal,
    pub(crate) resources: Vec<ResourceEntry>,
    pub(crate) scopes: Vec<ScopeEntry>,
    pub(crate) metrics: Vec<MetricEntry>,
    pub(crate) items: Vec<ItemEntry>,
    /// Request-level fields other than resources (unknown fields), as byte ranges.
    pub(crate) extra: Vec<(u32, u32)>,
}

/// Field numbers of the data oneof in `Metric`.
pub(crate) const METRIC_DATA_FIELDS: [u32; 5] = [5, 7, 9, 10, 11];

impl Index {
    /// Indexes `buf` as a request of `signal`. Fields with unexpected wire types are
    /// kept as opaque bytes; only broken framing is an error.
    pub(crate) fn build(signal: Signal, buf: &[u8]) -> Res<Index> {
        if buf.len() > u32::MAX as usize {
            return Err(Box::new(Failure { offset: 0, fault: Fault::TooLarge }));
        }
        let mut ix = Index {
            signal,
            resources: Vec::new(),
            scopes: Vec::new(),
            metrics: Vec::new(),
            items: Vec::new(),
            extra: Vec::new(),
        };
        let mut r = Reader::new(buf);
        while !r.is_empty() {
            let at = r.pos;
            let (number, wt) = r.tag()?;
            if number == 1 && wt == LEN {
                let (s, e) = r.len_delimited()?;
                ix.resource(buf, Span::new(at, s, e))?;
            } else {
                r.skip(number, wt, at)?;
                ix.extra.push((at as u32, r.pos as u32));
            }
        }
        Ok(ix)
    }

    fn resource(&mut self, buf: &[u8], field: Span) -> Res<()> {
        let index = self.resources.len() as u32;
        let first_scope = self.scopes.len() as u32;
        let first_item = self.items.len() as u32;
        let mut resource = None;
        let mut r = Reader::range(buf, field.body as usize, field.end as usize);
        while !r.is_empty() {
            let at = r.pos;
            let (number, wt) = r.tag()?;
            match (number, wt) {
                (1, LEN) if resource.is_none() => {
                    let (s, e) = r.len_delimited()?;
                    resource = Some(Span::new(at, s, e));
                }
                (2, LEN) => {
                    let (s, e) = r.len_delimited()?;
                    self.scope(buf, Span::new(at, s, e), index)?;
                }
                _ => r.skip(number, wt, at)?,
            }
        }
        self.resources.push(ResourceEntry {
            field,
            resource,
            scopes: (first_scope, self.scopes.len() as u32),
            items: (first_item, self.items.len() as u32),
        });
        Ok(())
    }

    fn scope(&mut self, buf: &[u8], field: Span, resource: u32) -> Res<()> {
        let index = self.scopes.len() as u32;
        let first_item = self.items.len() as u32;
        let first_metric = self.metrics.len() as u32;
        let mut scope = None;
        let mut r = Reader::range(buf, field.body as usize, field.end as usize);
        while !r.is_empty() {
            let at = r.pos;
            let (number, wt) = r.tag()?;
            match (number, wt) {
                (1, LEN) if scope.is_none() => {
                    let (s, e) = r.len_delimited()?;
                    scope = Some(Span::new(at, s, e));
                }
                (2, LEN) => {
                    let (s, e) = r.len_delimited()?;
                    let span = Span::new(at, s, e);
                    if self.signal == Signal::Metrics {
                        self.metric(buf, span, index)?;
                    } else {
                        self.items.push(ItemEntry { field: span, parent: index });
                    }
                }
                _ => r.skip(number, wt, at)?,
            }
        }
        let children = if self.signal == Signal::Metrics {
            (first_metric, self.metrics.len() as u32)
        } else {
            (first_item, self.items.len() as u32)
        };
        self.scopes.push(ScopeEntry { field, scope, children, items: (first_item, self.items.len() as u32), resource });
        Ok(())
    }

    fn metric(&mut self, buf: &[u8], field: Span, scope: u32) -> Res<()> {
        let index = self.metrics.len() as u32;
        let first_point = self.items.len() as u32;
        let mut data = None;
        let mut r = Reader::range(buf, field.body as usize, field.end as usize);
        while !r.is_empty() {
            let at = r.pos;
            let (number, wt) = r.tag()?;
            if wt == LEN && data.is_none() && METRIC_DATA_FIELDS.contains(&number) {
                let (s, e) = r.len_delimited()?;
                let span = Span::new(at, s, e);
                data = Some((number, span));
                let mut d = Reader::range(buf, s, e);
                while !d.is_empty() {
                    let at = d.pos;
                    let (number, wt) = d.tag()?;
                    if number == 1 && wt == LEN {
                        let (s, e) = d.len_delimited()?;
                        self.items.push(ItemEntry { field: Span::new(at, s, e), parent: index });
                    } else {
                        d.skip(number, wt, at)?;
                    }
                }
            } else {
                r.skip(number, wt, at)?;
            }
        }
        self.metrics.push(MetricEntry { field, data, points: (first_point, self.items.len() as u32), scope });
        Ok(())
    }
}

/// The header pieces of every container: the byte ranges of its payload that are not
/// its children (nor, for resources and scopes, their `resource` / `scope` field).
#[derive(Clone, Debug, Default)]
pub(crate) struct Headers {
    pieces: Vec<(u32, u32)>,
    resources: Vec<Range32>,
    scopes: Vec<Range32>,
    /// Metric fields other than the data field.
    metrics: Vec<Range32>,
    /// Fields of the data message (gauge, sum, ...) other than its data points.
    data: Vec<Range32>,
}

impl Headers {
    /// Computes the header pieces of every container in `ix`. The `resource` and
    /// `scope` fields are left out: the writer puts them first, edited or not.
    pub(crate) fn new(ix: &Index) -> Headers {
        let mut h = Headers::default();
        let node = |span: Option<Span>| span.map(|s| (s.start, s.end)).into_iter();
        for r in &ix.resources {
            let holes =
                ix.scopes[r.scopes.0 as usize..r.scopes.1 as usize].iter().map(|s| (s.field.start, s.field.end));
            let range = h.push_gaps(r.field, node(r.resource), holes);
            h.resources.push(range);
        }
        for s in &ix.scopes {
            let range = if ix.signal == Signal::Metrics {
                let holes = ix.metrics[s.children.0 as usize..s.children.1 as usize]
                    .iter()
                    .map(|m| (m.field.start, m.field.end));
                h.push_gaps(s.field, node(s.scope), holes)
            } else {
                let holes =
                    ix.items[s.children.0 as usize..s.children.1 as usize].iter().map(|i| (i.field.start, i.field.end));
                h.push_gaps(s.field, node(s.scope), holes)
            };
            h.scopes.push(range);
        }
        for m in &ix.metrics {
            let data = m.data.map(|(_, d)| (d.start, d.end));
            let range = h.push_gaps(m.field, data.into_iter(), std::iter::empty());
            h.metrics.push(range);
            let range = match m.data {
                Some((_, d)) => {
                    let holes =
                        ix.items[m.points.0 as usize..m.points.1 as usize].iter().map(|i| (i.field.start, i.field.end));
                    h.push_gaps(d, std::iter::empty(), holes)
                }
                None => (h.pieces.len() as u32, h.pieces.len() as u32),
            };
            h.data.push(range);
        }
        h
    }

    /// Pushes the parts of `within`'s payload outside `one` and `many` (each sorted).
    fn push_gaps(
        &mut self,
        within: Span,
        one: impl Iterator<Item = (u32, u32)>,
        many: impl Iterator<Item = (u32, u32)>,
    ) -> Range32 {
        let first = self.pieces.len() as u32;
        let mut one = one.peekable();
        let mut many = many.peekable();
        let mut pos = within.body;
        loop {
            let next = match (one.peek(), many.peek()) {
                (Some(a), Some(b)) if a.0 <= b.0 => one.next(),
                (Some(_), None) => one.next(),
                (_, Some(_)) => many.next(),
                (None, None) => None,
            };
            let Some((start, end)) = next else { break };
            if start > pos {
                self.pieces.push((pos, start));
            }
            pos = pos.max(end);
        }
        if within.end > pos {
            self.pieces.push((pos, within.end));
        }
        (first, self.pieces.len() as u32)
    }

    fn slice(&self, range: Range32) -> &[(u32, u32)] {
        &self.pieces[range.0 as usize..range.1 as usize]
    }

    pub(crate) fn resource(&self, i: usize) -> &[(u32, u32)] {
        self.slice(self.resources[i])
    }

    pub(crate) fn scope(&self, i: usize) -> &[(u32, u32)] {
        self.slice(self.scopes[i])
    }

    pub(crate) fn metric(&self, i: usize) -> &[(u32, u32)] {
        self.slice(self.metrics[i])
    }

    pub(crate) fn data(&self, i: usize) -> &[(u32, u32)] {
        self.slice(self.data[i])
    }
}

/// The total length of some pieces.
#[inline]
pub(crate) fn pieces_len(pieces: &[(u32, u32)]) -> usize {
    pieces.iter().map(|(s, e)| (e - s) as usize).sum()
}

/// Appends the bytes of some pieces of `buf`.
#[inline]
pub(crate) fn put_pieces(out: &mut Vec<u8>, buf: &[u8], pieces: &[(u32, u32)]) {
    for &(s, e) in pieces {
        out.extend_from_slice(&buf[s as usize..e as usize]);
    }
}
