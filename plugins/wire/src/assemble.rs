//! Writes a request back out from an index: untouched containers are copied verbatim,
//! touched ones are re-framed around their surviving children with fresh lengths.
//!
//! Splitting and editing differ only in what they say about each piece, so both drive
//! this one writer through [`Source`].

use crate::Signal;
use crate::index::{Headers, Index, pieces_len, put_pieces};
use crate::pb::{len_field_len, put_len_field, put_len_header};

/// The state of an editable message (a resource, a scope, a metric's header).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Node<'s> {
    /// As in the input.
    Original,
    /// Replaced by these bytes (the message's payload).
    Edited(&'s [u8]),
    /// Removed, with everything under it.
    Removed,
}

/// What the writer needs to know about each piece of the request.
pub(crate) trait Source {
    /// The payload of item `i`, or `None` when it is not written.
    fn item(&self, i: usize) -> Option<&[u8]>;
    /// Whether resource `i`, with everything in it, is written exactly as it came.
    fn resource_untouched(&self, i: usize) -> bool;
    /// Whether scope `i`, with everything in it, is written exactly as it came.
    fn scope_untouched(&self, i: usize) -> bool;
    /// Whether metric `i`, with everything in it, is written exactly as it came.
    fn metric_untouched(&self, i: usize) -> bool;
    /// The state of resource `i`'s `Resource` message.
    fn resource_node(&self, i: usize) -> Node<'_>;
    /// The state of scope `i`'s `InstrumentationScope` message.
    fn scope_node(&self, i: usize) -> Node<'_>;
    /// The state of metric `i`'s fields other than its data.
    fn metric_node(&self, i: usize) -> Node<'_>;
    /// Items (metrics, for metrics) added to scope `i`, as payloads.
    fn scope_added(&self, i: usize) -> &[Vec<u8>];
    /// Data points added to metric `i`, as payloads.
    fn metric_added(&self, i: usize) -> &[Vec<u8>];
    /// The sub-range of `items` worth looking at (splitting clamps to its chunk).
    fn clamp(&self, items: (u32, u32)) -> (u32, u32);
    /// Whether a container without any children, sitting at item position `pos`, is written.
    fn keep_empty(&self, pos: u32) -> bool;
}

/// How one container comes out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Size {
    Omit,
    Verbatim,
    /// Re-framed with a payload of this many bytes.
    Framed(usize),
}

/// The writer.
pub(crate) struct Assembler<'a, S: Source> {
    pub(crate) buf: &'a [u8],
    pub(crate) ix: &'a Index,
    pub(crate) headers: &'a Headers,
    pub(crate) src: &'a S,
}

impl<S: Source> Assembler<'_, S> {
    /// Whether a container that had `had` children and keeps `kept` is written.
    fn survives(&self, had: u32, kept: usize, pos: u32) -> bool {
        if had == 0 { kept > 0 || self.src.keep_empty(pos) } else { kept > 0 }
    }

    fn metric_size(&self, m: usize) -> Size {
        let entry = &self.ix.metrics[m];
        let header = match self.src.metric_node(m) {
            Node::Removed => return Size::Omit,
            Node::Edited(bytes) => bytes.len(),
            Node::Original => {
                if self.src.metric_untouched(m) {
                    return if self.survives(
                        entry.points.1 - entry.points.0,
                        (entry.points.1 - entry.points.0) as usize,
                        entry.points.0,
                    ) {
                        Size::Verbatim
                    } else {
                        Size::Omit
                    };
                }
                pieces_len(self.headers.metric(m))
            }
        };
        let Some((number, _)) = entry.data else {
            return if self.survives(0, 0, entry.points.0) { Size::Framed(header) } else { Size::Omit };
        };
        let (a, b) = self.src.clamp(entry.points);
        let mut kept = 0;
        let mut points = 0;
        for i in a..b {
            if let Some(p) = self.src.item(i as usize) {
                kept += 1;
                points += len_field_len(1, p.len());
            }
        }
        for p in self.src.metric_added(m) {
            kept += 1;
            points += len_field_len(1, p.len());
        }
        if !self.survives(entry.points.1 - entry.points.0, kept, entry.points.0) {
            return Size::Omit;
        }
        let data = pieces_len(self.headers.data(m)) + points;
        Size::Framed(header + len_field_len(number, data))
    }

    fn write_metric(&self, out: &mut Vec<u8>, m: usize, size: Size) {
        let entry = &self.ix.metrics[m];
        match size {
            Size::Omit => return,
            Size::Verbatim => {
                out.extend_from_slice(entry.field.field(self.buf));
                return;
            }
            Size::Framed(len) => put_len_header(out, 2, len),
        }
        match self.src.metric_node(m) {
            Node::Edited(bytes) => out.extend_from_slice(bytes),
            _ => put_pieces(out, self.buf, self.headers.metric(m)),
        }
        let Some((number, _)) = entry.data else {
            return;
        };
        let (a, b) = self.src.clamp(entry.points);
        let mut points = 0;
        for i in a..b {
            if let Some(p) = self.src.item(i as usize) {
                points += len_field_len(1, p.len());
            }
        }
        for p in self.src.metric_added(m) {
            points += len_field_len(1, p.len());
        }
        let data = self.headers.data(m);
        put_len_header(out, number, pieces_len(data) + points);
        put_pieces(out, self.buf, data);
        for i in a..b {
            if let Some(p) = self.src.item(i as usize) {
                put_len_field(out, 1, p);
            }
        }
        for p in self.src.metric_added(m) {
            put_len_field(out, 1, p);
        }
    }

    /// The size of a scope's own node plus its header pieces.
    fn scope_head_len(&self, s: usize, node: Node<'_>) -> usize {
        let pieces = pieces_len(self.headers.scope(s));
        match node {
            Node::Edited(bytes) => pieces + len_field_len(1, bytes.len()),
            _ => pieces + self.ix.scopes[s].scope.map_or(0, |span| span.field_len()),
        }
    }

    fn scope_size(&self, s: usize) -> Size {
        let entry = &self.ix.scopes[s];
        let node = self.src.scope_node(s);
        if let Node::Removed = node {
            return Size::Omit;
        }
        let had = entry.children.1 - entry.children.0;
        if matches!(node, Node::Original) && self.src.scope_untouched(s) {
            return if self.survives(had, had as usize, entry.items.0) { Size::Verbatim } else { Size::Omit };
        }
        let (kept, children) = self.scope_children(s);
        if !self.survives(had, kept, entry.items.0) {
            return Size::Omit;
        }
        Size::Framed(self.scope_head_len(s, node) + children)
    }

    /// How many children of scope `s` are written, and their total framed length.
    fn scope_children(&self, s: usize) -> (usize, usize) {
        let entry = &self.ix.scopes[s];
        let mut kept = 0;
        let mut len = 0;
        if self.ix.signal == Signal::Metrics {
            for m in entry.children.0..entry.children.1 {
                let m = m as usize;
                if self.overlaps_metric(m) {
                    match self.metric_size(m) {
                        Size::Omit => {}
                        Size::Verbatim => {
                            kept += 1;
                            len += self.ix.metrics[m].field.field_len();
                        }
                        Size::Framed(n) => {
                            kept += 1;
                            len += len_field_len(2, n);
                        }
                    }
                }
            }
        } else {
            let (a, b) = self.src.clamp(entry.children);
            for i in a..b {
                if let Some(p) = self.src.item(i as usize) {
                    kept += 1;
                    len += len_field_len(2, p.len());
                }
            }
        }
        for p in self.src.scope_added(s) {
            kept += 1;
            len += len_field_len(2, p.len());
        }
        (kept, len)
    }

    /// Whether metric `m` has anything to do with the current clamp range.
    fn overlaps_metric(&self, m: usize) -> bool {
        let points = self.ix.metrics[m].points;
        if points.0 == points.1 {
            return true;
        }
        let (a, b) = self.src.clamp(points);
        a < b
    }

    fn write_scope(&self, out: &mut Vec<u8>, s: usize, size: Size) {
        let entry = &self.ix.scopes[s];
        match size {
            Size::Omit => return,
            Size::Verbatim => {
                out.extend_from_slice(entry.field.field(self.buf));
                return;
            }
            Size::Framed(len) => put_len_header(out, 2, len),
        }
        match self.src.scope_node(s) {
            Node::Edited(bytes) => put_len_field(out, 1, bytes),
            _ => {
                if let Some(span) = entry.scope {
                    out.extend_from_slice(span.field(self.buf));
                }
            }
        }
        put_pieces(out, self.buf, self.headers.scope(s));
        if self.ix.signal == Signal::Metrics {
            for m in entry.children.0..entry.children.1 {
                let m = m as usize;
                if self.overlaps_metric(m) {
                    let size = self.metric_size(m);
                    self.write_metric(out, m, size);
                }
            }
        } else {
            let (a, b) = self.src.clamp(entry.children);
            for i in a..b {
                if let Some(p) = self.src.item(i as usize) {
                    put_len_field(out, 2, p);
                }
            }
        }
        for p in self.src.scope_added(s) {
            put_len_field(out, 2, p);
        }
    }

    fn overlaps(&self, items: (u32, u32)) -> bool {
        if items.0 == items.1 {
            return true;
        }
        let (a, b) = self.src.clamp(items);
        a < b
    }

    fn resource_size(&self, r: usize) -> Size {
        let entry = &self.ix.resources[r];
        let node = self.src.resource_node(r);
        if let Node::Removed = node {
            return Size::Omit;
        }
        let had = entry.scopes.1 - entry.scopes.0;
        if matches!(node, Node::Original) && self.src.resource_untouched(r) {
            return if self.survives(had, had as usize, entry.items.0) { Size::Verbatim } else { Size::Omit };
        }
        let mut kept = 0;
        let mut len = 0;
        for s in entry.scopes.0..entry.scopes.1 {
            let s = s as usize;
            if !self.overlaps(self.ix.scopes[s].items) {
                continue;
            }
            match self.scope_size(s) {
                Size::Omit => {}
                Size::Verbatim => {
                    kept += 1;
                    len += self.ix.scopes[s].field.field_len();
                }
                Size::Framed(n) => {
                    kept += 1;
                    len += len_field_len(2, n);
                }
            }
        }
        if !self.survives(had, kept, entry.items.0) {
            return Size::Omit;
        }
        let head = pieces_len(self.headers.resource(r))
            + match node {
                Node::Edited(bytes) => len_field_len(1, bytes.len()),
                _ => entry.resource.map_or(0, |span| span.field_len()),
            };
        Size::Framed(head + len)
    }

    fn write_resource(&self, out: &mut Vec<u8>, r: usize, size: Size) {
        let entry = &self.ix.resources[r];
        match size {
            Size::Omit => return,
            Size::Verbatim => {
                out.extend_from_slice(entry.field.field(self.buf));
                return;
            }
            Size::Framed(len) => put_len_header(out, 1, len),
        }
        match self.src.resource_node(r) {
            Node::Edited(bytes) => put_len_field(out, 1, bytes),
            _ => {
                if let Some(span) = entry.resource {
                    out.extend_from_slice(span.field(self.buf));
                }
            }
        }
        put_pieces(out, self.buf, self.headers.resource(r));
        for s in entry.scopes.0..entry.scopes.1 {
            let s = s as usize;
            if !self.overlaps(self.ix.scopes[s].items) {
                continue;
            }
            let size = self.scope_size(s);
            self.write_scope(out, s, size);
        }
    }

    /// Writes every resource that survives; returns how many did.
    pub(crate) fn write_resources(&self, out: &mut Vec<u8>) -> usize {
        let mut written = 0;
        for r in 0..self.ix.resources.len() {
            if !self.overlaps(self.ix.resources[r].items) {
                continue;
            }
            let size = self.resource_size(r);
            if size != Size::Omit {
                written += 1;
            }
            self.write_resource(out, r, size);
        }
        written
    }
}
