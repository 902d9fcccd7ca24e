//! Evaluates an expression tree against a record: each item type reads its fields as
//! [`Val`]s (borrowed from the record's bytes, nothing is copied), and the tests compare
//! them with the literals the parser resolved.

use std::cmp::Ordering;

use aegis_wire::{AnyValue, DataPointMut, LogRecordMut, Metric, MetricKind, MetricMut, Resource, SpanMut, ValueRef};

use super::MetricFields;
use super::lex::CmpOp;
use super::parse::{Check, Expr, Lit, Path};
use super::scan;

/// Field numbers of the fields read with [`scan`].
const LOG_SEVERITY_NUMBER: u32 = 2;
const SPAN_KIND: u32 = 6;
const LOG_ATTRIBUTES: u32 = 6;
const SPAN_ATTRIBUTES: u32 = 9;
const RESOURCE_ATTRIBUTES: u32 = 1;

/// Attribute `key` of `message`, looked up key first.
fn attribute<'a>(message: &'a [u8], number: u32, key: &str) -> Val<'a> {
    any(scan::attribute(message, number, key).map(AnyValue::new))
}

/// A field's value as a test sees it.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Val<'a> {
    /// The field or attribute is absent (or holds its protobuf default).
    Missing,
    Str(&'a str),
    Int(i64),
    Double(f64),
    Bool(bool),
    /// Bytes, read as lowercase hex: ids and bytes attributes.
    Hex(&'a [u8]),
    /// Present, but nothing a literal compares with (arrays, key-value lists, empty values).
    Other,
}

/// Something a condition can be evaluated against.
pub(crate) trait Subject {
    fn get(&self, path: &Path) -> Val<'_>;
}

/// Whether `expr` holds for `subject`.
pub(crate) fn eval(expr: &Expr, subject: &impl Subject) -> bool {
    match expr {
        Expr::Or(any) => any.iter().any(|e| branch(e, subject)),
        Expr::And(all) => all.iter().all(|e| branch(e, subject)),
        Expr::Not(inner) => !branch(inner, subject),
        Expr::Test(path, check) => test(subject.get(path), check),
    }
}

/// [`eval`] of a branch, a test done in place. Most branches are tests, and the recursive
/// call (never inlined) cost more in Wasm than many of the tests it led to.
#[inline(always)]
fn branch(expr: &Expr, subject: &impl Subject) -> bool {
    match expr {
        Expr::Test(path, check) => test(subject.get(path), check),
        other => eval(other, subject),
    }
}

fn test(value: Val<'_>, check: &Check) -> bool {
    match check {
        Check::Exists => !matches!(value, Val::Missing),
        Check::Cmp(op, lit) => compare(value, *op, lit),
        Check::Matches(regex) => with_text(value, |text| regex.is_match(text)),
        Check::Contains(needle) => with_text(value, |text| text.contains(needle.as_str())),
        Check::StartsWith(prefix) => with_text(value, |text| text.starts_with(prefix.as_str())),
        Check::In(list) => list.iter().any(|lit| compare(value, CmpOp::Eq, lit)),
    }
}

/// `value OP lit`. `!=` is always the opposite of `==`, so it holds for missing values
/// and values of another type.
fn compare(value: Val<'_>, op: CmpOp, lit: &Lit) -> bool {
    if op == CmpOp::Ne {
        return !compare(value, CmpOp::Eq, lit);
    }
    if let Lit::Range(low, high) = *lit {
        let Val::Int(n) = value else { return false };
        return match op {
            CmpOp::Eq => low <= n && n <= high,
            CmpOp::Lt => n < low,
            CmpOp::Le => n <= high,
            CmpOp::Gt => n > high,
            CmpOp::Ge => n >= low,
            // Turned into `not ==` above.
            CmpOp::Ne => false,
        };
    }
    let Some(order) = ordering(value, lit) else { return false };
    match op {
        CmpOp::Eq => order == Ordering::Equal,
        CmpOp::Lt => order == Ordering::Less,
        CmpOp::Le => order != Ordering::Greater,
        CmpOp::Gt => order == Ordering::Greater,
        CmpOp::Ge => order != Ordering::Less,
        CmpOp::Ne => false,
    }
}

/// How `value` orders against `lit`; `None` when they are not of comparable types.
fn ordering(value: Val<'_>, lit: &Lit) -> Option<Ordering> {
    match (value, lit) {
        (Val::Str(s), Lit::Str(l)) => Some(s.cmp(l.as_str())),
        (Val::Hex(bytes), Lit::Str(l)) => Some(hex_digits(bytes).cmp(l.bytes())),
        (Val::Int(a), Lit::Int(b)) => Some(a.cmp(b)),
        (Val::Int(a), Lit::Float(b)) => (a as f64).partial_cmp(b),
        (Val::Double(a), Lit::Int(b)) => a.partial_cmp(&(*b as f64)),
        (Val::Double(a), Lit::Float(b)) => a.partial_cmp(b),
        (Val::Bool(a), Lit::Bool(b)) => Some(a.cmp(b)),
        _ => None,
    }
}

const DIGITS: &[u8; 16] = b"0123456789abcdef";

/// The lowercase hex digits of `bytes`, without allocating.
fn hex_digits(bytes: &[u8]) -> impl Iterator<Item = u8> + '_ {
    bytes.iter().flat_map(|b| [DIGITS[usize::from(b >> 4)], DIGITS[usize::from(b & 0xf)]])
}

/// Runs `f` on the value's text: strings as they are, bytes as hex; false for the rest.
fn with_text(value: Val<'_>, f: impl FnOnce(&str) -> bool) -> bool {
    match value {
        Val::Str(s) => f(s),
        Val::Hex(bytes) if bytes.len() <= 32 => {
            let mut buf = [0u8; 64];
            for (slot, digit) in buf.iter_mut().zip(hex_digits(bytes)) {
                *slot = digit;
            }
            std::str::from_utf8(&buf[..bytes.len() * 2]).is_ok_and(f)
        }
        Val::Hex(bytes) => std::str::from_utf8(&hex_digits(bytes).collect::<Vec<u8>>()).is_ok_and(f),
        _ => false,
    }
}

/// An attribute or body value.
fn any(value: Option<AnyValue<'_>>) -> Val<'_> {
    let Some(value) = value else { return Val::Missing };
    match value.get() {
        ValueRef::Str(s) => Val::Str(s),
        ValueRef::Int(n) => Val::Int(n),
        ValueRef::Double(d) => Val::Double(d),
        ValueRef::Bool(b) => Val::Bool(b),
        ValueRef::Bytes(b) => Val::Hex(b),
        _ => Val::Other,
    }
}

/// A string field; empty (protobuf's default) reads as missing.
fn text(s: &str) -> Val<'_> {
    if s.is_empty() { Val::Missing } else { Val::Str(s) }
}

/// An id field; empty reads as missing.
fn id(bytes: &[u8]) -> Val<'_> {
    if bytes.is_empty() { Val::Missing } else { Val::Hex(bytes) }
}

/// An enum or number field; 0 (unspecified) reads as missing.
fn nonzero<'a>(n: i64) -> Val<'a> {
    if n == 0 { Val::Missing } else { Val::Int(n) }
}

/// The number a metric type reads as; the parser maps the type names to the same numbers.
pub(crate) fn metric_type(kind: Option<MetricKind>) -> Val<'static> {
    match kind {
        None => Val::Missing,
        Some(MetricKind::Gauge) => Val::Int(1),
        Some(MetricKind::Sum) => Val::Int(2),
        Some(MetricKind::Histogram) => Val::Int(3),
        Some(MetricKind::ExponentialHistogram) => Val::Int(4),
        Some(MetricKind::Summary) => Val::Int(5),
    }
}

/// The fields every item has: its resource and scope.
fn common<'a>(path: &Path, resource: Resource<'a>, scope_name: &'a str, scope_version: &'a str) -> Val<'a> {
    match path {
        Path::ResourceAttribute(key) => attribute(resource.bytes(), RESOURCE_ATTRIBUTES, key),
        Path::ScopeName => text(scope_name),
        Path::ScopeVersion => text(scope_version),
        _ => Val::Missing,
    }
}

impl Subject for LogRecordMut<'_> {
    fn get(&self, path: &Path) -> Val<'_> {
        let view = self.view();
        match path {
            // Read as the view would (an int32), with the leaner lookup.
            Path::Severity => nonzero(i64::from(scan::last_varint(view.bytes(), LOG_SEVERITY_NUMBER) as i32)),
            Path::SeverityText => text(view.severity_text()),
            Path::Body => any(view.body()),
            Path::EventName => text(view.event_name()),
            Path::TraceId => id(view.trace_id()),
            Path::SpanId => id(view.span_id()),
            Path::Attribute(key) => attribute(view.bytes(), LOG_ATTRIBUTES, key),
            _ => {
                let scope = self.scope();
                common(path, self.resource(), scope.name(), scope.version())
            }
        }
    }
}

impl Subject for SpanMut<'_> {
    fn get(&self, path: &Path) -> Val<'_> {
        let view = self.view();
        match path {
            Path::Name => text(view.name()),
            Path::Kind => nonzero(i64::from(scan::last_varint(view.bytes(), SPAN_KIND) as i32)),
            // Unset is a status of its own (code 0), so a status is never missing.
            Path::Status => Val::Int(i64::from(view.status().code())),
            Path::StatusMessage => text(view.status().message()),
            Path::Duration => {
                let (start, end) = (view.start_time_unix_nano(), view.end_time_unix_nano());
                if start == 0 || end < start {
                    Val::Missing
                } else {
                    Val::Int(i64::try_from(end - start).unwrap_or(i64::MAX))
                }
            }
            Path::TraceId => id(view.trace_id()),
            Path::SpanId => id(view.span_id()),
            Path::ParentSpanId => id(view.parent_span_id()),
            Path::TraceState => text(view.trace_state()),
            Path::Attribute(key) => attribute(view.bytes(), SPAN_ATTRIBUTES, key),
            _ => {
                let scope = self.scope();
                common(path, self.resource(), scope.name(), scope.version())
            }
        }
    }
}

/// The metric-level paths of a metric or a data point's metric.
fn metric_field<'a, M: MetricFields + ?Sized>(metric: &'a M, path: &Path) -> Option<Val<'a>> {
    Some(match path {
        Path::Name => text(metric.name()),
        Path::Type => metric_type(metric.kind()),
        Path::Unit => text(metric.unit()),
        Path::Description => text(metric.description()),
        _ => return None,
    })
}

impl Subject for MetricMut<'_> {
    fn get(&self, path: &Path) -> Val<'_> {
        metric_field(self, path).unwrap_or_else(|| {
            let scope = self.scope();
            common(path, self.resource(), scope.name(), scope.version())
        })
    }
}

/// A data point together with the metric it belongs to.
pub(crate) struct Point<'m, 'p, 'e, M: ?Sized> {
    pub(crate) metric: &'m M,
    pub(crate) point: &'p DataPointMut<'e>,
}

impl<M: MetricFields + ?Sized> Subject for Point<'_, '_, '_, M> {
    fn get(&self, path: &Path) -> Val<'_> {
        if let Some(value) = metric_field(self.metric, path) {
            return value;
        }
        match path {
            Path::Attribute(key) => {
                let view = self.point.view();
                attribute(view.bytes(), view.kind().attributes_field(), key)
            }
            _ => {
                let scope = self.point.scope();
                common(path, self.point.resource(), scope.name(), scope.version())
            }
        }
    }
}

impl Subject for Resource<'_> {
    fn get(&self, path: &Path) -> Val<'_> {
        match path {
            Path::ResourceAttribute(key) => attribute(self.bytes(), RESOURCE_ATTRIBUTES, key),
            _ => Val::Missing,
        }
    }
}

impl MetricFields for MetricMut<'_> {
    fn name(&self) -> &str {
        MetricMut::name(self)
    }

    fn unit(&self) -> &str {
        MetricMut::unit(self)
    }

    fn description(&self) -> &str {
        MetricMut::description(self)
    }

    fn kind(&self) -> Option<MetricKind> {
        MetricMut::kind(self)
    }
}

impl MetricFields for Metric<'_> {
    fn name(&self) -> &str {
        Metric::name(self)
    }

    fn unit(&self) -> &str {
        Metric::unit(self)
    }

    fn description(&self) -> &str {
        Metric::description(self)
    }

    fn kind(&self) -> Option<MetricKind> {
        Metric::kind(self)
    }
}
