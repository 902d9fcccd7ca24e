//! Splice editing: each message that is edited gets its own copy of its bytes, changed
//! in place; everything else stays a range of the input. Finishing writes the request
//! out, copying untouched resources and scopes verbatim and re-framing the rest.

use crate::Signal;
use crate::WireError;
use crate::assemble::{Assembler, Node, Source};
use crate::index::{Headers, Index};
use crate::pb::{self, Fields, I32, I64, LEN, VARINT, put_len_field, put_tag, step};
use crate::value::{AnyValue, Attributes, EncodeValue, key_of, put_key_value, split_key_value};

/// The state of one editable message.
#[derive(Clone, Debug, Default)]
pub(crate) enum Slot {
    /// As in the input.
    #[default]
    Original,
    /// Replaced by this payload.
    Edited(Vec<u8>),
    /// Removed from the output.
    Removed,
}

impl Slot {
    #[inline]
    fn node(&self) -> Node<'_> {
        match self {
            Slot::Original => Node::Original,
            Slot::Edited(bytes) => Node::Edited(bytes),
            Slot::Removed => Node::Removed,
        }
    }

    #[inline]
    fn is_original(&self) -> bool {
        matches!(self, Slot::Original)
    }
}

/// How many edit buffers a thread keeps for reuse, and how large each may be: enough
/// for a batch of typical records without holding on to much memory.
const POOLED_BUFFERS: usize = 8192;
const POOLED_CAPACITY: usize = 1024;

thread_local! {
    /// Buffers of edited messages from earlier batches; edits take them from here so
    /// that a processor editing every record does not allocate for every record.
    static POOL: std::cell::RefCell<Vec<Vec<u8>>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn take_buffer(capacity: usize) -> Vec<u8> {
    match POOL.with_borrow_mut(Vec::pop) {
        Some(mut buf) => {
            buf.reserve(capacity);
            buf
        }
        None => Vec::with_capacity(capacity.max(64)),
    }
}

/// Drops the slots, keeping their edit buffers for the next batch.
fn recycle(slots: Vec<Slot>) {
    POOL.with_borrow_mut(|pool| {
        for slot in slots {
            if let Slot::Edited(buf) = slot {
                keep_buffer(pool, buf);
            }
        }
    });
}

fn keep_buffer(pool: &mut Vec<Vec<u8>>, mut buf: Vec<u8>) {
    if buf.capacity() <= POOLED_CAPACITY && pool.len() < POOLED_BUFFERS {
        buf.clear();
        pool.push(buf);
    }
}

/// Ranges of a message to cut out; almost always zero or one.
#[derive(Default)]
struct Holes {
    first: Option<(usize, usize)>,
    more: Vec<(usize, usize)>,
}

impl Holes {
    #[inline]
    fn push(&mut self, start: usize, end: usize) {
        if self.first.is_none() {
            self.first = Some((start, end));
        } else {
            self.more.push((start, end));
        }
    }

    fn is_empty(&self) -> bool {
        self.first.is_none()
    }
}

/// Writes new bytes into a message being spliced.
type Insert<'f> = &'f dyn Fn(&mut Vec<u8>);

/// Edits one protobuf message: its original bytes and its slot.
///
/// The typed editors (`LogRecordMut`, `SpanMut`, ...) wrap this; use it directly for
/// fields they do not cover. Every setter replaces all occurrences of the field with
/// one new occurrence at the position of the first (or at the end when absent).
#[derive(Debug)]
pub struct MessageMut<'e> {
    orig: &'e [u8],
    slot: &'e mut Slot,
}

impl<'e> MessageMut<'e> {
    pub(crate) fn new(orig: &'e [u8], slot: &'e mut Slot) -> Self {
        MessageMut { orig, slot }
    }

    /// The message's current payload.
    pub fn bytes(&self) -> &[u8] {
        match &*self.slot {
            Slot::Edited(bytes) => bytes,
            _ => self.orig,
        }
    }

    /// Whether the message was edited or removed.
    pub fn is_modified(&self) -> bool {
        !self.slot.is_original()
    }

    /// Whether the message was removed.
    pub fn is_removed(&self) -> bool {
        matches!(self.slot, Slot::Removed)
    }

    /// Removes the message from the output. Edits after this are ignored.
    pub fn remove(&mut self) {
        *self.slot = Slot::Removed;
    }

    /// Cuts `holes` out of the message and writes `insert` at the first hole (or at
    /// the end when there is none).
    fn splice(&mut self, holes: &Holes, insert: Option<Insert<'_>>) {
        match &mut *self.slot {
            Slot::Removed => {}
            Slot::Original => {
                if holes.is_empty() && insert.is_none() {
                    return;
                }
                let orig = self.orig;
                let mut out = take_buffer(orig.len() + 64);
                let mut pos = 0;
                let mut inserted = false;
                for &(s, e) in holes.first.iter().chain(&holes.more) {
                    out.extend_from_slice(&orig[pos..s]);
                    if let (Some(insert), false) = (insert, inserted) {
                        insert(&mut out);
                        inserted = true;
                    }
                    pos = e;
                }
                out.extend_from_slice(&orig[pos..]);
                if let (Some(insert), false) = (insert, inserted) {
                    insert(&mut out);
                }
                *self.slot = Slot::Edited(out);
            }
            Slot::Edited(bytes) => {
                for &(s, e) in holes.more.iter().rev() {
                    bytes.drain(s..e);
                }
                match (holes.first, insert) {
                    (Some((s, e)), Some(insert)) => {
                        bytes.drain(s..e);
                        let before = bytes.len();
                        insert(bytes);
                        let added = bytes.len() - before;
                        bytes[s..].rotate_right(added);
                    }
                    (Some((s, e)), None) => {
                        bytes.drain(s..e);
                    }
                    (None, Some(insert)) => insert(bytes),
                    (None, None) => {}
                }
            }
        }
    }

    fn holes_of(&self, number: u32) -> Holes {
        let bytes = self.bytes();
        let mut holes = Holes::default();
        let mut pos = 0;
        while let Some((n, _, _, end)) = step(bytes, pos) {
            if n == number {
                holes.push(pos, end);
            }
            pos = end;
        }
        holes
    }

    fn set_with(&mut self, number: u32, insert: &dyn Fn(&mut Vec<u8>)) {
        let holes = self.holes_of(number);
        self.splice(&holes, Some(insert));
    }

    /// Sets varint field `number` (int32, int64, uint32, uint64, bool, enum).
    pub fn set_varint(&mut self, number: u32, value: u64) {
        self.set_with(number, &|out| {
            put_tag(out, number, VARINT);
            pb::put_varint(out, value);
        });
    }

    /// Sets fixed64 field `number` (fixed64, sfixed64, double as bits).
    pub fn set_fixed64(&mut self, number: u32, value: u64) {
        self.set_with(number, &|out| {
            put_tag(out, number, I64);
            out.extend_from_slice(&value.to_le_bytes());
        });
    }

    /// Sets fixed32 field `number` (fixed32, sfixed32, float as bits).
    pub fn set_fixed32(&mut self, number: u32, value: u32) {
        self.set_with(number, &|out| {
            put_tag(out, number, I32);
            out.extend_from_slice(&value.to_le_bytes());
        });
    }

    /// Sets length-delimited field `number` (string, bytes, or an encoded message).
    pub fn set_len(&mut self, number: u32, payload: &[u8]) {
        self.set_with(number, &|out| put_len_field(out, number, payload));
    }

    /// Sets field `number` to an encoded `AnyValue` (a log record's body).
    pub fn set_any_value<V: EncodeValue + ?Sized>(&mut self, number: u32, value: &V) {
        self.set_with(number, &|out| {
            pb::put_len_header(out, number, value.encoded_len());
            value.encode(out);
        });
    }

    /// Appends one more occurrence of repeated length-delimited field `number`.
    pub fn push_len(&mut self, number: u32, payload: &[u8]) {
        self.splice(&Holes::default(), Some(&|out: &mut Vec<u8>| put_len_field(out, number, payload)));
    }

    /// Removes every occurrence of field `number`; returns whether there was one.
    pub fn clear(&mut self, number: u32) -> bool {
        let holes = self.holes_of(number);
        let found = !holes.is_empty();
        self.splice(&holes, None);
        found
    }

    fn attribute_holes(&self, number: u32, key: &str) -> Holes {
        let bytes = self.bytes();
        let key = key.as_bytes();
        let mut holes = Holes::default();
        let mut pos = 0;
        while let Some((n, wt, body, end)) = step(bytes, pos) {
            if n == number && wt == LEN && key_of(&bytes[body..end]) == key {
                holes.push(pos, end);
            }
            pos = end;
        }
        holes
    }

    /// Sets attribute `key` in the repeated `KeyValue` field `number`, replacing it in
    /// place when present and appending it when not.
    pub fn set_attribute<V: EncodeValue + ?Sized>(&mut self, number: u32, key: &str, value: &V) {
        let holes = self.attribute_holes(number, key);
        self.splice(&holes, Some(&|out| put_key_value(out, number, key, value)));
    }

    /// Removes attribute `key` from field `number`; returns whether it was there.
    pub fn remove_attribute(&mut self, number: u32, key: &str) -> bool {
        let holes = self.attribute_holes(number, key);
        let found = !holes.is_empty();
        self.splice(&holes, None);
        found
    }

    /// Keeps only the attributes of field `number` for which `keep` returns true.
    pub fn retain_attributes(&mut self, number: u32, mut keep: impl FnMut(&str, AnyValue<'_>) -> bool) {
        let mut holes = Holes::default();
        for f in Fields::new(self.bytes()) {
            if f.number == number
                && let pb::Value::Len(kv) = f.value
            {
                let (k, v) = crate::value::split_key_value(kv);
                let k = std::str::from_utf8(k).unwrap_or("");
                if !keep(k, AnyValue::new(v)) {
                    holes.push(f.start, f.end);
                }
            }
        }
        self.splice(&holes, None);
    }

    /// The value of attribute `key` in field `number`, as the message is now.
    pub fn attribute(&self, number: u32, key: &str) -> Option<AnyValue<'_>> {
        Attributes::new(self.bytes(), number).get(key)
    }

    /// Whether attribute `key` is present in field `number`.
    pub fn has_attribute(&self, number: u32, key: &str) -> bool {
        !self.attribute_holes(number, key).is_empty()
    }

    /// The attributes of field `number`, as the message is now.
    pub fn attributes(&self, number: u32) -> Attributes<'_> {
        Attributes::new(self.bytes(), number)
    }

    /// Rewrites attributes of field `number` at the places the caller found them, in
    /// one pass and one copy: each `(range, change)` of `edits` is the whole field of an
    /// attribute in [`bytes`](Self::bytes) as [`Attributes::field_range`] gives it, and
    /// becomes the attribute `(key, value)` (`value` an encoded `AnyValue` payload) in
    /// its place, or nothing when `change` is `None`. `appended` attributes follow
    /// everything else. Nothing else in the message changes.
    ///
    /// # Panics
    ///
    /// When the ranges are not in increasing order, overlap or fall outside the message:
    /// a plugin that meant to remove a secret must not quietly keep it.
    pub fn splice_attributes<'v>(
        &mut self,
        number: u32,
        edits: impl IntoIterator<Item = (std::ops::Range<usize>, Option<(&'v str, &'v [u8])>)>,
        appended: impl IntoIterator<Item = (&'v str, &'v [u8])>,
    ) {
        if self.is_removed() {
            return;
        }
        let bytes = self.bytes();
        let mut out = take_buffer(bytes.len() + 64);
        let mut verbatim = 0;
        for (range, change) in edits {
            assert!(
                verbatim <= range.start && range.start <= range.end && range.end <= bytes.len(),
                "attribute edit {range:?} is out of order or outside the message ({} bytes, {verbatim} written)",
                bytes.len()
            );
            out.extend_from_slice(&bytes[verbatim..range.start]);
            if let Some((key, value)) = change {
                put_raw_key_value(&mut out, number, key.as_bytes(), value);
            }
            verbatim = range.end;
        }
        out.extend_from_slice(&bytes[verbatim..]);
        for (key, value) in appended {
            put_raw_key_value(&mut out, number, key.as_bytes(), value);
        }
        if let Slot::Edited(old) = std::mem::replace(self.slot, Slot::Edited(out)) {
            POOL.with_borrow_mut(|pool| keep_buffer(pool, old));
        }
    }

    /// Edits the attributes of field `number` in one pass, however many edits `edit`
    /// makes: the attributes are read into `scratch` once, `edit` works on that table
    /// (seeing its own edits), and the message is re-encoded once at the end, only if
    /// something changed. Keep one `scratch` per processor and reuse it.
    pub fn edit_attributes<R>(
        &mut self,
        number: u32,
        scratch: &mut AttributeScratch,
        edit: impl FnOnce(&mut AttributesMut<'_>) -> R,
    ) -> R {
        let bytes = self.bytes();
        scratch.entries.clear();
        scratch.arena.clear();
        let mut pos = 0;
        while let Some((n, wt, body, end)) = step(bytes, pos) {
            if n == number && wt == LEN {
                let key = key_of(&bytes[body..end]);
                // The key is a sub-slice of the field unless empty (absent).
                let key_start = if key.is_empty() { body } else { key.as_ptr() as usize - bytes.as_ptr() as usize };
                scratch.entries.push(Entry {
                    key: Src::Msg(key_start, key_start + key.len()),
                    value: None,
                    field: Some((pos, body, end)),
                    changed: false,
                    removed: false,
                });
            }
            pos = end;
        }
        let mut table = AttributesMut { bytes, scratch, changed: false };
        let result = edit(&mut table);
        if !table.changed || self.is_removed() {
            return result;
        }
        let out = table.render(number);
        *self.slot = Slot::Edited(out);
        result
    }
}

/// Where a key or value of an [`AttributesMut`] entry lives.
#[derive(Clone, Copy, Debug)]
enum Src {
    /// A range of the message being edited.
    Msg(usize, usize),
    /// A range of the scratch arena.
    Arena(usize, usize),
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    key: Src,
    /// The encoded `AnyValue` payload when set here; `None` keeps the message's own.
    value: Option<Src>,
    /// Where the entry's field sits in the message (tag, payload, end), if it came from it.
    field: Option<(usize, usize, usize)>,
    changed: bool,
    removed: bool,
}

/// Scratch space for [`MessageMut::edit_attributes`].
#[derive(Debug, Default)]
pub struct AttributeScratch {
    entries: Vec<Entry>,
    arena: Vec<u8>,
}

/// The attributes of one message as a small table, for [`MessageMut::edit_attributes`].
/// Lookups see the edits made so far; `set`, `copy` and `rename` behave like the
/// message's own setters (a key present several times keeps its first position).
#[derive(Debug)]
pub struct AttributesMut<'a> {
    bytes: &'a [u8],
    scratch: &'a mut AttributeScratch,
    changed: bool,
}

impl AttributesMut<'_> {
    #[inline(always)]
    fn slice(&self, src: Src) -> &[u8] {
        match src {
            Src::Msg(s, e) => &self.bytes[s..e],
            Src::Arena(s, e) => &self.scratch.arena[s..e],
        }
    }

    /// The encoded value payload of entry `e`.
    #[inline(always)]
    fn value(&self, e: &Entry) -> &[u8] {
        match (e.value, e.field) {
            (Some(src), _) => self.slice(src),
            (None, Some((_, body, end))) => split_key_value(&self.bytes[body..end]).1,
            (None, None) => &[],
        }
    }

    fn last(&self, key: &str) -> Option<usize> {
        let key = key.as_bytes();
        self.scratch.entries.iter().rposition(|e| !e.removed && self.slice(e.key) == key)
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<AnyValue<'_>> {
        self.last(key).map(|i| AnyValue::new(self.value(&self.scratch.entries[i])))
    }

    /// Whether `key` is present.
    pub fn contains(&self, key: &str) -> bool {
        self.last(key).is_some()
    }

    fn set_src(&mut self, key: &str, value: Option<Src>) {
        let mut first = true;
        for i in 0..self.scratch.entries.len() {
            let e = self.scratch.entries[i];
            if e.removed || self.slice(e.key) != key.as_bytes() {
                continue;
            }
            let entry = &mut self.scratch.entries[i];
            if first {
                entry.value = value;
                entry.changed = true;
                first = false;
            } else {
                entry.removed = true;
            }
        }
        if first {
            let start = self.scratch.arena.len();
            self.scratch.arena.extend_from_slice(key.as_bytes());
            self.scratch.entries.push(Entry {
                key: Src::Arena(start, self.scratch.arena.len()),
                value,
                field: None,
                changed: true,
                removed: false,
            });
        }
        self.changed = true;
    }

    /// Sets `key` to `value`.
    pub fn set(&mut self, key: &str, value: impl EncodeValue) {
        let start = self.scratch.arena.len();
        value.encode(&mut self.scratch.arena);
        let src = Src::Arena(start, self.scratch.arena.len());
        self.set_src(key, Some(src));
    }

    /// Removes `key`; returns whether it was there.
    pub fn remove(&mut self, key: &str) -> bool {
        let mut found = false;
        for i in 0..self.scratch.entries.len() {
            let e = self.scratch.entries[i];
            if !e.removed && self.slice(e.key) == key.as_bytes() {
                self.scratch.entries[i].removed = true;
                found = true;
            }
        }
        self.changed |= found;
        found
    }

    /// Sets `to` to the value of `from`; returns false, changing nothing, when `from`
    /// is absent.
    pub fn copy(&mut self, from: &str, to: &str) -> bool {
        match self.last(from) {
            Some(i) => {
                let e = self.scratch.entries[i];
                // A value still in the message is referred to by its range there.
                let value = match (e.value, e.field) {
                    (Some(src), _) => Some(src),
                    (None, Some((_, body, end))) => {
                        let v = split_key_value(&self.bytes[body..end]).1;
                        let start =
                            if v.is_empty() { body } else { v.as_ptr() as usize - self.bytes.as_ptr() as usize };
                        Some(Src::Msg(start, start + v.len()))
                    }
                    (None, None) => None,
                };
                self.set_src(to, value);
                true
            }
            None => false,
        }
    }

    /// Moves the value of `from` to `to` (replacing `to`); returns false, changing
    /// nothing, when `from` is absent.
    pub fn rename(&mut self, from: &str, to: &str) -> bool {
        if from == to {
            return self.contains(from);
        }
        let moved = self.copy(from, to);
        if moved {
            self.remove(from);
        }
        moved
    }

    /// Writes the message with the table's attributes: everything else verbatim,
    /// unchanged attributes verbatim, changed ones re-encoded in place, new ones last.
    fn render(&self, number: u32) -> Vec<u8> {
        let bytes = self.bytes;
        let mut out = take_buffer(bytes.len() + self.scratch.arena.len() + 32);
        // Everything between edited attributes is copied in one go.
        let mut verbatim = 0;
        for e in &self.scratch.entries {
            if let Some((start, _, end)) = e.field
                && (e.changed || e.removed)
            {
                out.extend_from_slice(&bytes[verbatim..start]);
                if !e.removed {
                    put_raw_key_value(&mut out, number, self.slice(e.key), self.value(e));
                }
                verbatim = end;
            }
        }
        out.extend_from_slice(&bytes[verbatim..]);
        for e in &self.scratch.entries {
            if e.field.is_none() && !e.removed {
                put_raw_key_value(&mut out, number, self.slice(e.key), self.value(e));
            }
        }
        out
    }
}

/// Appends `KeyValue { key, value }` from an already encoded key and value payload.
fn put_raw_key_value(out: &mut Vec<u8>, number: u32, key: &[u8], value: &[u8]) {
    let len = pb::len_field_len(1, key.len()) + pb::len_field_len(2, value.len());
    pb::put_len_header(out, number, len);
    put_len_field(out, 1, key);
    put_len_field(out, 2, value);
}

/// Per-scope edit state.
#[derive(Clone, Debug, Default)]
pub(crate) struct ScopeSlot {
    pub(crate) node: Slot,
    /// Items (metrics, for metrics) added to the scope, as payloads.
    pub(crate) added: Vec<Vec<u8>>,
}

/// Per-metric edit state: the metric's fields other than its data, and added points.
#[derive(Clone, Debug, Default)]
pub(crate) struct MetricSlot {
    pub(crate) node: Slot,
    pub(crate) added: Vec<Vec<u8>>,
}

/// What became of a request after editing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing changed: pass the input on as it is.
    Unchanged,
    /// The request changed: these are the new bytes.
    Replaced(Vec<u8>),
    /// Everything was removed.
    Dropped,
}

/// The state shared by the three request editors.
#[derive(Debug)]
pub(crate) struct Core<'a> {
    pub(crate) buf: &'a [u8],
    pub(crate) ix: Index,
    pub(crate) resources: Vec<Slot>,
    pub(crate) scopes: Vec<ScopeSlot>,
    pub(crate) metrics: Vec<MetricSlot>,
    pub(crate) items: Vec<Slot>,
    pub(crate) added_resources: Vec<Vec<u8>>,
    /// A whole-request decision that overrides the edits.
    pub(crate) overridden: Option<Outcome>,
}

fn slots<T: Default>(n: usize) -> Vec<T> {
    let mut v = Vec::with_capacity(n);
    v.resize_with(n, T::default);
    v
}

impl<'a> Core<'a> {
    pub(crate) fn new(signal: Signal, buf: &'a [u8]) -> Result<Self, WireError> {
        let ix = Index::build(signal, buf).map_err(WireError::from)?;
        Ok(Core {
            buf,
            resources: slots(ix.resources.len()),
            scopes: slots(ix.scopes.len()),
            metrics: slots(ix.metrics.len()),
            items: slots(ix.items.len()),
            ix,
            added_resources: Vec::new(),
            overridden: None,
        })
    }

    /// The original payload of item `i`.
    #[inline]
    pub(crate) fn item_bytes(&self, i: usize) -> &'a [u8] {
        self.ix.items[i].field.body(self.buf)
    }

    /// Whether anything was edited, removed, added or overridden.
    pub(crate) fn is_modified(&self) -> bool {
        self.overridden.is_some()
            || !self.added_resources.is_empty()
            || self.items.iter().any(|s| !s.is_original())
            || self.resources.iter().any(|s| !s.is_original())
            || self.scopes.iter().any(|s| !s.node.is_original() || !s.added.is_empty())
            || self.metrics.iter().any(|s| !s.node.is_original() || !s.added.is_empty())
    }

    /// Writes the request out.
    pub(crate) fn finish(mut self) -> Outcome {
        let outcome = self.assemble();
        recycle(std::mem::take(&mut self.items));
        outcome
    }

    fn assemble(&mut self) -> Outcome {
        if let Some(outcome) = self.overridden.take() {
            return outcome;
        }
        let ix = &self.ix;
        let mut metric_dirty = vec![false; ix.metrics.len()];
        for (m, entry) in ix.metrics.iter().enumerate() {
            let slot = &self.metrics[m];
            metric_dirty[m] = !slot.node.is_original()
                || !slot.added.is_empty()
                || self.items[entry.points.0 as usize..entry.points.1 as usize].iter().any(|s| !s.is_original());
        }
        let mut scope_dirty = vec![false; ix.scopes.len()];
        for (s, entry) in ix.scopes.iter().enumerate() {
            let slot = &self.scopes[s];
            let children = entry.children.0 as usize..entry.children.1 as usize;
            scope_dirty[s] = !slot.node.is_original()
                || !slot.added.is_empty()
                || if ix.signal == Signal::Metrics {
                    metric_dirty[children].iter().any(|&d| d)
                } else {
                    self.items[children].iter().any(|s| !s.is_original())
                };
        }
        let mut resource_dirty = vec![false; ix.resources.len()];
        for (r, entry) in ix.resources.iter().enumerate() {
            resource_dirty[r] = !self.resources[r].is_original()
                || scope_dirty[entry.scopes.0 as usize..entry.scopes.1 as usize].iter().any(|&d| d);
        }
        if self.added_resources.is_empty() && !resource_dirty.iter().any(|&d| d) {
            return Outcome::Unchanged;
        }
        let headers = Headers::new(ix);
        let view = Finish { core: self, metric_dirty, scope_dirty, resource_dirty };
        let assembler = Assembler { buf: self.buf, ix, headers: &headers, src: &view };
        let mut out = Vec::with_capacity(self.buf.len() + self.buf.len() / 8 + 64);
        for &(s, e) in &ix.extra {
            out.extend_from_slice(&self.buf[s as usize..e as usize]);
        }
        let written = assembler.write_resources(&mut out);
        for resource in &self.added_resources {
            put_len_field(&mut out, 1, resource);
        }
        if written == 0 && self.added_resources.is_empty() && !ix.resources.is_empty() {
            return Outcome::Dropped;
        }
        Outcome::Replaced(out)
    }
}

/// The editor's answers to the writer.
struct Finish<'c, 'a> {
    core: &'c Core<'a>,
    metric_dirty: Vec<bool>,
    scope_dirty: Vec<bool>,
    resource_dirty: Vec<bool>,
}

impl Source for Finish<'_, '_> {
    // Called for every item, twice (sizes, then bytes); out of line, its pair result went
    // through memory in Wasm.
    #[inline(always)]
    fn item(&self, i: usize) -> Option<&[u8]> {
        match &self.core.items[i] {
            Slot::Original => Some(self.core.item_bytes(i)),
            Slot::Edited(bytes) => Some(bytes),
            Slot::Removed => None,
        }
    }

    fn resource_untouched(&self, i: usize) -> bool {
        !self.resource_dirty[i]
    }

    fn scope_untouched(&self, i: usize) -> bool {
        !self.scope_dirty[i]
    }

    fn metric_untouched(&self, i: usize) -> bool {
        !self.metric_dirty[i]
    }

    fn resource_node(&self, i: usize) -> Node<'_> {
        self.core.resources[i].node()
    }

    fn scope_node(&self, i: usize) -> Node<'_> {
        self.core.scopes[i].node.node()
    }

    fn metric_node(&self, i: usize) -> Node<'_> {
        self.core.metrics[i].node.node()
    }

    fn scope_added(&self, i: usize) -> &[Vec<u8>] {
        &self.core.scopes[i].added
    }

    fn metric_added(&self, i: usize) -> &[Vec<u8>] {
        &self.core.metrics[i].added
    }

    fn clamp(&self, items: (u32, u32)) -> (u32, u32) {
        items
    }

    fn keep_empty(&self, _: u32) -> bool {
        true
    }
}
