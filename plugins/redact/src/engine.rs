//! The redaction of one set of attributes, one value or one log body: what becomes of
//! each key (kept, removed, masked whole, or scanned), what the scans find, and the text
//! that replaces it. Nothing is copied or allocated for values that stay as they are.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use aegis_plugin_sdk::hash;
use aegis_plugin_sdk::wire::{ArrayValue, Attributes, EncodeValue, KvList};
use aegis_plugin_sdk::{AnyValue, Value, ValueRef};

use crate::config::{Replacement, Rules, SummaryLevel};
use crate::detect::{Detectors, Found, Reason, is_sensitive_key};

/// What becomes of the value of a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum KeyRule {
    /// Passed on untouched (`ignored_keys`).
    Ignore,
    /// Removed (not in `allowed_keys`).
    Remove,
    /// Masked whole, for this reason.
    Mask(Reason),
    /// Scanned by `blocked_values` and the detectors.
    Scan,
}

/// One attribute that changes: which one it is (its position among the set's
/// attributes and its field in the message), its key, and its new value (an encoded
/// `AnyValue` payload), or none when it is removed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Edit {
    index: usize,
    field: (usize, usize),
    key: (usize, usize),
    value: Option<(usize, usize)>,
}

/// A summary attribute the set already had (from an earlier redaction), with the value it
/// has once the plan is applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Existing {
    key: &'static str,
    field: (usize, usize),
    value: (usize, usize),
}

/// The attributes of one set that change, each at its own place: an attribute that
/// appears twice is redacted twice, and nothing else moves.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    edits: Vec<Edit>,
    keys: String,
    values: Vec<u8>,
    existing: Vec<Existing>,
    existing_values: Vec<u8>,
}

/// One planned change, as [`Plan::edits`] gives it.
#[derive(Clone, Debug)]
pub(crate) struct PlannedEdit<'p> {
    /// The attribute's position among the set's attributes.
    pub(crate) index: usize,
    /// Its whole field in the message the plan was made from.
    pub(crate) field: std::ops::Range<usize>,
    pub(crate) key: &'p str,
    /// The new encoded value; `None` removes the attribute.
    pub(crate) value: Option<&'p [u8]>,
}

impl Plan {
    pub(crate) fn clear(&mut self) {
        self.edits.clear();
        self.keys.clear();
        self.values.clear();
        self.existing.clear();
        self.existing_values.clear();
    }

    /// Whether nothing changes.
    pub(crate) fn is_empty(&self) -> bool {
        self.edits.is_empty()
    }

    fn key(&mut self, key: &str) -> (usize, usize) {
        let start = self.keys.len();
        self.keys.push_str(key);
        (start, self.keys.len())
    }

    fn remove(&mut self, index: usize, field: std::ops::Range<usize>, key: &str) {
        let key = self.key(key);
        self.edits.push(Edit { index, field: (field.start, field.end), key, value: None });
    }

    fn replace(&mut self, index: usize, field: std::ops::Range<usize>, key: &str, value: &impl EncodeValue) {
        let key = self.key(key);
        let start = self.values.len();
        value.encode(&mut self.values);
        self.edits.push(Edit { index, field: (field.start, field.end), key, value: Some((start, self.values.len())) });
    }

    /// Notes a summary attribute the set already has, with `original` its value before
    /// the plan (the plan's own edit of it, made just before, wins).
    fn existing(&mut self, index: usize, field: std::ops::Range<usize>, key: &'static str, original: &[u8]) {
        let value = match self.edits.last() {
            Some(edit) if edit.index == index => match edit.value {
                Some((a, b)) => self.values.get(a..b).unwrap_or_default(),
                None => return,
            },
            _ => original,
        };
        let start = self.existing_values.len();
        self.existing_values.extend_from_slice(value);
        let value = (start, self.existing_values.len());
        self.existing.push(Existing { key, field: (field.start, field.end), value });
    }

    /// The changes, in the attributes' order.
    pub(crate) fn edits(&self) -> impl Iterator<Item = PlannedEdit<'_>> + '_ {
        self.edits.iter().map(|e| PlannedEdit {
            index: e.index,
            field: e.field.0..e.field.1,
            key: self.keys.get(e.key.0..e.key.1).unwrap_or(""),
            value: e.value.and_then(|(a, b)| self.values.get(a..b)),
        })
    }

    /// Whether the set already has summary attributes.
    pub(crate) fn has_existing(&self) -> bool {
        !self.existing.is_empty()
    }

    /// The value summary attribute `key` has once the plan is applied (its last
    /// occurrence, protobuf's last-one-wins).
    pub(crate) fn existing_value(&self, key: &str) -> Option<AnyValue<'_>> {
        let e = self.existing.iter().rev().find(|e| e.key == key)?;
        self.existing_values.get(e.value.0..e.value.1).map(AnyValue::new)
    }

    /// The fields of summary attribute `key` that remain once the plan is applied.
    pub(crate) fn existing_fields<'p>(&'p self, key: &'p str) -> impl Iterator<Item = std::ops::Range<usize>> + 'p {
        self.existing.iter().filter(move |e| e.key == key).map(|e| e.field.0..e.field.1)
    }
}

/// The summary attribute names, as the OpenTelemetry Collector writes them.
const MASKED_COUNT: &str = "redaction.masked.count";
const MASKED_KEYS: &str = "redaction.masked.keys";
const REDACTED_COUNT: &str = "redaction.redacted.count";
const REDACTED_KEYS: &str = "redaction.redacted.keys";

/// The summary attribute `key` names, if it names one.
#[inline]
fn summary_key(key: &str) -> Option<&'static str> {
    if !key.starts_with("redaction.") {
        return None;
    }
    [MASKED_COUNT, MASKED_KEYS, REDACTED_COUNT, REDACTED_KEYS].into_iter().find(|k| *k == key)
}

/// What was masked and removed in one set of attributes (with a log record's body), for
/// its summary attributes.
#[derive(Debug, Default)]
pub(crate) struct Summary {
    level: SummaryLevel,
    masked: u32,
    removed: u32,
    masked_keys: Vec<String>,
    removed_keys: Vec<String>,
}

impl Summary {
    pub(crate) fn new(level: SummaryLevel) -> Self {
        Summary { level, ..Default::default() }
    }

    pub(crate) fn clear(&mut self) {
        self.masked = 0;
        self.removed = 0;
        self.masked_keys.clear();
        self.removed_keys.clear();
    }

    fn debug(&self) -> bool {
        self.level == SummaryLevel::Debug
    }

    fn masked(&mut self, path: &str) {
        self.masked += 1;
        if self.debug() {
            self.masked_keys.push(path.to_owned());
        }
    }

    fn removed(&mut self, path: &str) {
        self.removed += 1;
        if self.debug() {
            self.removed_keys.push(path.to_owned());
        }
    }

    /// Whether anything was masked or removed.
    pub(crate) fn any(&self) -> bool {
        self.masked + self.removed > 0
    }

    /// Whether summary attributes are to be written.
    pub(crate) fn writes(&self) -> bool {
        self.level != SummaryLevel::Silent && self.any()
    }

    /// The summary attributes, merged with what an earlier redaction wrote: `count` and
    /// `keys` read the integer and string value an attribute has now.
    pub(crate) fn attributes(
        &self,
        count: impl Fn(&str) -> Option<i64>,
        keys: impl Fn(&str) -> Option<String>,
    ) -> Vec<(&'static str, Value)> {
        let mut out = Vec::with_capacity(4);
        if !self.writes() {
            return out;
        }
        let total = |key: &str, n: u32| Value::Int(count(key).unwrap_or(0).saturating_add(i64::from(n)));
        let list = |key: &str, list: &[String]| {
            let before = keys(key).unwrap_or_default();
            let mut all: Vec<&str> = list.iter().map(String::as_str).collect();
            all.extend(before.split(',').filter(|k| !k.is_empty()));
            all.sort_unstable();
            Value::Str(all.join(","))
        };
        if self.masked > 0 {
            out.push((MASKED_COUNT, total(MASKED_COUNT, self.masked)));
            if self.debug() {
                out.push((MASKED_KEYS, list(MASKED_KEYS, &self.masked_keys)));
            }
        }
        if self.removed > 0 {
            out.push((REDACTED_COUNT, total(REDACTED_COUNT, self.removed)));
            if self.debug() {
                out.push((REDACTED_KEYS, list(REDACTED_KEYS, &self.removed_keys)));
            }
        }
        out
    }
}

/// What a batch did, for the plugin's metrics.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    /// Parts masked (or hashed), by what found them.
    pub(crate) masked: [u64; Reason::ALL.len()],
    /// Attributes (and keys of key-value lists) removed.
    pub(crate) removed: u64,
    /// Items (log records, spans, data points) changed.
    pub(crate) items: u64,
}

/// A changed value: a string (left in [`Engine::text`]) or a rebuilt array or list.
#[derive(Debug)]
pub(crate) enum Changed {
    Text,
    Value(Value),
}

/// How deep arrays and lists are followed; anything deeper is masked whole. Requests
/// the host has validated never come close.
const MAX_DEPTH: usize = 32;

/// How many keys' rules are remembered; keys come from senders, so the memory is
/// bounded, and forgotten all at once when full.
const KEY_CACHE: usize = 4096;

/// The kinds of attribute sets: each remembers the keys it had last time, in order,
/// since batches repeat the same keys in the same order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Set {
    /// Log records, spans and data points.
    Item,
    /// Span events.
    Event,
    Resource,
    Scope,
}

/// How many keys of a set are remembered by position.
const MEMO_KEYS: usize = 64;

/// The redaction engine: the rules, and the scratch space its scans reuse.
#[derive(Debug)]
pub(crate) struct Engine {
    pub(crate) rules: Rules,
    cache: HashMap<Box<str>, KeyRule, BuildHasherDefault<WordHasher>>,
    /// The keys (and their rules) each kind of set had last time, by position.
    memo: [Vec<(String, KeyRule)>; 4],
    found: Vec<Found>,
    /// What `allowed_values` match in the value being scanned.
    allowed: Vec<Found>,
    /// The text of the last changed string.
    text: String,
    /// The decimal text of the integer being scanned.
    number: String,
    /// Whether values are scanned at all (some detector, or `blocked_values`).
    scans_values: bool,
    /// Where in a body or value the engine is, for `redaction.*.keys` (debug only).
    path: String,
}

impl Engine {
    pub(crate) fn new(rules: Rules) -> Self {
        Engine {
            scans_values: rules.detectors != Detectors::default() || rules.blocked_values.is_some(),
            rules,
            cache: HashMap::default(),
            memo: Default::default(),
            found: Vec::new(),
            allowed: Vec::new(),
            text: String::new(),
            number: String::new(),
            path: String::new(),
        }
    }

    /// The text of the last string that changed.
    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    /// What becomes of the value of `key`.
    pub(crate) fn key_rule(&mut self, key: &str) -> KeyRule {
        if let Some(&rule) = self.cache.get(key) {
            return rule;
        }
        let rule = self.classify(key);
        if self.cache.len() >= KEY_CACHE {
            self.cache.clear();
        }
        self.cache.insert(key.into(), rule);
        rule
    }

    fn classify(&self, key: &str) -> KeyRule {
        let rules = &self.rules;
        if rules.ignored_keys.contains(key) {
            KeyRule::Ignore
        } else if !rules.allow_all_keys && !rules.allowed_keys.contains(key) {
            KeyRule::Remove
        } else if rules.blocked_keys.as_ref().is_some_and(|p| p.is_match(key.as_bytes())) {
            KeyRule::Mask(Reason::BlockedKey)
        } else if rules.sensitive_keys && is_sensitive_key(key) {
            KeyRule::Mask(Reason::SensitiveKey)
        } else {
            KeyRule::Scan
        }
    }

    /// Decides what becomes of each of `attributes`, into `plan`.
    pub(crate) fn attributes(
        &mut self,
        set: Set,
        attributes: &mut Attributes<'_>,
        plan: &mut Plan,
        summary: &mut Summary,
        tally: &mut Tally,
    ) {
        plan.clear();
        let mut i = 0;
        // Out of `self` for the loop: a key the same as last time at its place is read
        // from here (it is UTF-8 already), while the loop redacts through `self`.
        let mut memo = std::mem::take(&mut self.memo[set as usize]);
        while let Some((raw, value)) = attributes.next_raw() {
            let field = attributes.field_range();
            let (key, rule) = match memo.get(i) {
                Some((last, rule)) if same(last.as_bytes(), raw) => (last.as_str(), *rule),
                _ => {
                    // Keys that are not UTF-8 are passed over, as `Attributes` does.
                    let Ok(key) = std::str::from_utf8(raw) else { continue };
                    let rule = self.key_rule(key);
                    if let Some((last, last_rule)) = memo.get_mut(i) {
                        last.clear();
                        last.push_str(key);
                        *last_rule = rule;
                    } else if i == memo.len() && i < MEMO_KEYS {
                        memo.push((key.to_owned(), rule));
                    }
                    (key, rule)
                }
            };
            match rule {
                KeyRule::Ignore => {}
                KeyRule::Remove => {
                    summary.removed(key);
                    tally.removed += 1;
                    plan.remove(i, field.clone(), key);
                }
                KeyRule::Mask(reason) => {
                    if self.mask_whole(value) {
                        tally.masked[reason.index()] += 1;
                        summary.masked(key);
                        plan.replace(i, field.clone(), key, &ValueRef::Str(&self.text));
                    }
                }
                KeyRule::Scan => {
                    if summary.debug() {
                        self.path.clear();
                        self.path.push_str(key);
                    }
                    match self.value(value, 0, summary, tally) {
                        Some(Changed::Text) => plan.replace(i, field.clone(), key, &ValueRef::Str(&self.text)),
                        Some(Changed::Value(v)) => plan.replace(i, field.clone(), key, &v),
                        None => {}
                    }
                }
            }
            if let Some(summary_key) = summary_key(key) {
                plan.existing(i, field, summary_key, value.bytes());
            }
            i += 1;
        }
        self.memo[set as usize] = memo;
    }

    /// Redacts a log record's body; its parts are named `body...` in the summary.
    pub(crate) fn body(&mut self, body: AnyValue<'_>, summary: &mut Summary, tally: &mut Tally) -> Option<Changed> {
        self.path.clear();
        self.path.push_str("body");
        self.value(body, 0, summary, tally)
    }

    /// Redacts one value found at `self.path`.
    fn value(
        &mut self,
        value: AnyValue<'_>,
        depth: usize,
        summary: &mut Summary,
        tally: &mut Tally,
    ) -> Option<Changed> {
        if depth > MAX_DEPTH {
            return self.mask_whole(value).then(|| {
                tally.masked[Reason::BlockedValue.index()] += 1;
                summary.masked(&self.path);
                Changed::Text
            });
        }
        // Most values are strings, encoded as one field: read their bytes as they are.
        let changed = if let Some(text) = plain_string(value.bytes()) {
            self.scan(text, tally).then_some(Changed::Text)
        } else {
            match value.get() {
                ValueRef::Str(s) => self.scan(s.as_bytes(), tally).then_some(Changed::Text),
                ValueRef::Int(n) if self.scans_number(n) => {
                    let mut number = std::mem::take(&mut self.number);
                    number.clear();
                    number.push_str(&n.to_string());
                    let changed = self.scan(number.as_bytes(), tally);
                    self.number = number;
                    changed.then_some(Changed::Text)
                }
                ValueRef::KvList(list) => {
                    return self.kvlist(list, depth + 1, summary, tally).map(|l| Changed::Value(Value::KvList(l)));
                }
                ValueRef::Array(array) => {
                    return self.array(array, depth + 1, summary, tally).map(|a| Changed::Value(Value::Array(a)));
                }
                _ => None,
            }
        };
        if changed.is_some() {
            summary.masked(&self.path);
        }
        changed
    }

    /// Whether integer `n` could hold what the scans look for: a card number (13 digits
    /// or more), or anything a user pattern may match.
    fn scans_number(&self, n: i64) -> bool {
        self.rules.blocked_values.is_some()
            || (self.rules.detectors.has(Reason::CreditCard) && n.unsigned_abs() >= 1_000_000_000_000)
    }

    fn kvlist(
        &mut self,
        list: KvList<'_>,
        depth: usize,
        summary: &mut Summary,
        tally: &mut Tally,
    ) -> Option<Vec<(String, Value)>> {
        let mut out: Option<Vec<(String, Value)>> = None;
        for (i, (key, value)) in list.iter().enumerate() {
            let mark = self.path.len();
            if summary.debug() {
                self.path.push('.');
                self.path.push_str(key);
            }
            // `None`: unchanged; `Some(None)`: removed; `Some(Some(v))`: replaced.
            let entry = match self.key_rule(key) {
                KeyRule::Ignore => None,
                KeyRule::Remove => {
                    summary.removed(&self.path);
                    tally.removed += 1;
                    Some(None)
                }
                KeyRule::Mask(reason) => self.mask_whole(value).then(|| {
                    tally.masked[reason.index()] += 1;
                    summary.masked(&self.path);
                    Some(Value::Str(self.text.clone()))
                }),
                KeyRule::Scan => self.value(value, depth, summary, tally).map(|c| Some(self.owned(c))),
            };
            self.path.truncate(mark);
            match entry {
                None => {
                    if let Some(out) = &mut out {
                        out.push((key.to_owned(), value.to_value()));
                    }
                }
                Some(new) => {
                    let out = out.get_or_insert_with(|| {
                        list.iter().take(i).map(|(k, v)| (k.to_owned(), v.to_value())).collect()
                    });
                    if let Some(new) = new {
                        out.push((key.to_owned(), new));
                    }
                }
            }
        }
        out
    }

    fn array(
        &mut self,
        array: ArrayValue<'_>,
        depth: usize,
        summary: &mut Summary,
        tally: &mut Tally,
    ) -> Option<Vec<Value>> {
        let mut out: Option<Vec<Value>> = None;
        for (i, value) in array.iter().enumerate() {
            let mark = self.path.len();
            if summary.debug() {
                self.path.push_str(&format!("[{i}]"));
            }
            let changed = self.value(value, depth, summary, tally).map(|c| self.owned(c));
            self.path.truncate(mark);
            match changed {
                None => {
                    if let Some(out) = &mut out {
                        out.push(value.to_value());
                    }
                }
                Some(new) => out.get_or_insert_with(|| array.iter().take(i).map(|v| v.to_value()).collect()).push(new),
            }
        }
        out
    }

    fn owned(&self, changed: Changed) -> Value {
        match changed {
            Changed::Text => Value::Str(self.text.clone()),
            Changed::Value(value) => value,
        }
    }

    /// Replaces a whole value, into `self.text`; false for values with nothing to hide
    /// (absent, empty, or already the mask).
    fn mask_whole(&mut self, value: AnyValue<'_>) -> bool {
        self.text.clear();
        match value.get() {
            ValueRef::Empty => false,
            ValueRef::Str("") => false,
            ValueRef::Str(s) if matches!(&self.rules.replacement, Replacement::Mask(mask) if mask == s) => false,
            ValueRef::Str(s) => {
                push_replacement(&self.rules.replacement, s.as_bytes(), &mut self.text);
                true
            }
            ValueRef::Bytes(b) => {
                push_replacement(&self.rules.replacement, b, &mut self.text);
                true
            }
            other => {
                push_replacement(&self.rules.replacement, other.to_string().as_bytes(), &mut self.text);
                true
            }
        }
    }

    /// Masks what `blocked_values` and the detectors find in `text` (except what
    /// `allowed_values` match), into `self.text`; false when nothing is found.
    fn scan(&mut self, text: &[u8], tally: &mut Tally) -> bool {
        if !self.scans_values {
            return false;
        }
        let found = &mut self.found;
        found.clear();
        self.rules.detectors.scan(text, found);
        if let Some(blocked) = &self.rules.blocked_values {
            blocked.find(text, Reason::BlockedValue, found);
        }
        if found.is_empty() {
            return false;
        }
        if let Some(allowed) = &self.rules.allowed_values {
            self.allowed.clear();
            allowed.find(text, Reason::BlockedValue, &mut self.allowed);
            let allowed = &self.allowed;
            found.retain(|f| !allowed.iter().any(|a| a.start <= f.start && f.end <= a.end));
            if found.is_empty() {
                return false;
            }
        }
        found.sort_unstable_by_key(|f| (f.start, std::cmp::Reverse(f.end)));
        let mut out = std::mem::take(&mut self.text).into_bytes();
        out.clear();
        let mut pos = 0;
        let mut i = 0;
        while i < found.len() {
            let Found { start, mut end, reason } = found[i];
            // Overlapping finds (a bearer token that is also a JWT) are masked as one.
            i += 1;
            while i < found.len() && found[i].start < end {
                end = end.max(found[i].end);
                i += 1;
            }
            out.extend_from_slice(text.get(pos..start).unwrap_or(&[]));
            replace_into(&self.rules.replacement, text.get(start..end).unwrap_or(&[]), &mut out);
            tally.masked[reason.index()] += 1;
            pos = end;
        }
        out.extend_from_slice(text.get(pos..).unwrap_or(&[]));
        self.text = match String::from_utf8(out) {
            Ok(text) => text,
            // Only text that was not UTF-8 to begin with (which the host never lets
            // through), or a user pattern that cut a character, ends here: it goes whole.
            Err(error) => {
                let mut out = error.into_bytes();
                out.clear();
                replace_into(&self.rules.replacement, text, &mut out);
                String::from_utf8(out).unwrap_or_default()
            }
        };
        true
    }
}

/// The bytes of a string `AnyValue` in the encoding every encoder writes (field 1, and
/// nothing else), without checking their UTF-8 (only changed strings need that).
#[inline]
fn plain_string(payload: &[u8]) -> Option<&[u8]> {
    let (&tag, rest) = payload.split_first()?;
    if tag != 0x0a {
        return None;
    }
    let mut len = 0usize;
    for (i, &b) in rest.iter().enumerate().take(5) {
        len |= usize::from(b & 0x7f) << (7 * i);
        if b < 0x80 {
            let body = &rest[i + 1..];
            return (body.len() == len).then_some(body);
        }
    }
    None
}

/// Appends what `part` is replaced by.
fn push_replacement(replacement: &Replacement, part: &[u8], out: &mut String) {
    match replacement {
        Replacement::Mask(mask) => out.push_str(mask),
        Replacement::Sha256 => out.push_str(&hash::sha256_hex(part)),
        Replacement::HmacSha256(key) => out.push_str(&key.hex(part)),
    }
}

/// [`push_replacement`] onto bytes.
fn replace_into(replacement: &Replacement, part: &[u8], out: &mut Vec<u8>) {
    match replacement {
        Replacement::Mask(mask) => out.extend_from_slice(mask.as_bytes()),
        Replacement::Sha256 => out.extend_from_slice(hash::sha256_hex(part).as_bytes()),
        Replacement::HmacSha256(key) => out.extend_from_slice(key.hex(part).as_bytes()),
    }
}

/// Whether two short byte strings are equal, compared 8 bytes at a time: in WebAssembly
/// `memcmp` goes byte by byte, and keys are compared once per attribute.
#[inline]
fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let word = |chunk: &[u8]| u64::from_ne_bytes(chunk.try_into().unwrap_or([0; 8]));
    let (mut x, mut y) = (a.chunks_exact(8), b.chunks_exact(8));
    for (p, q) in (&mut x).zip(&mut y) {
        if word(p) != word(q) {
            return false;
        }
    }
    x.remainder().iter().zip(y.remainder()).all(|(p, q)| p == q)
}

/// A multiply-rotate hash over 8 bytes at a time (like rustc's FxHash): keys are short
/// and come from one's own senders, so speed matters more than resisting flooding, and
/// the cache is bounded anyway.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct WordHasher(u64);

impl WordHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for WordHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word) ^ ((rest.len() as u64) << 59));
        }
    }

    fn write_u8(&mut self, byte: u8) {
        self.add(u64::from(byte));
    }
}
