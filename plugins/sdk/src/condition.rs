//! The one small condition language shared by plugins: `filter`'s drop rules, `sample`'s
//! keep rules, `redact`'s scopes and the `if` of `attributes` actions.
//!
//! A condition is one expression over the fields of a log record, span, metric or data
//! point, written as a TOML string:
//!
//! ```
//! use aegis_plugin_sdk::condition::Condition;
//! use aegis_plugin_sdk::Signal;
//!
//! let noise = Condition::parse_for(r#"severity < INFO or attributes["http.route"] == "/healthz""#, Signal::Logs)?;
//! let slow = Condition::parse_for("kind == SERVER and duration > 2s and not status == OK", Signal::Traces)?;
//! let err = Condition::parse_for("severity >= ", Signal::Logs).unwrap_err();
//! assert_eq!(err.message(), "at column 13: expected a value after \">=\"");
//! # let _ = (noise, slow);
//! # Ok::<(), aegis_plugin_sdk::Error>(())
//! ```
//!
//! Then, for each item, `noise.matches_log(&record)`. The full syntax and semantics are in
//! `docs/conditions.md`; in short:
//!
//! - `and`, `or`, `not` and parentheses; tests are `path OP value` (`==`, `!=`, `<`, `<=`,
//!   `>`, `>=`), `path exists`, `path matches "regex"`, `path contains "text"`,
//!   `path starts_with "text"` and `path in [v1, v2]`;
//! - values are double-quoted strings, numbers, durations (`250ms`, `2s`, `1m30s`), `true`,
//!   `false`, and names where a path has them (severities, span kinds, status codes,
//!   metric types);
//! - a missing field or attribute makes every test false, except `!=`, which is always the
//!   opposite of `==`; values of another type than the literal compare false the same way.
//!
//! Everything that can be checked before the first record is checked at parse time:
//! literals against the type of their path (`duration > 5` is an error: `5` is not a
//! duration), operators against values that have no order (`kind < SERVER`), regexes
//! (compiled once). [`Condition::parse_for`] also refuses paths that the item type does not
//! have (`kind` in a log condition); [`Condition::parse`] accepts any path, and a path an
//! item does not have reads as missing.

mod eval;
mod lex;
mod parse;
mod scan;
#[cfg(test)]
mod tests;

use std::fmt;

use aegis_wire::{DataPointMut, LogRecordMut, MetricKind, MetricMut, Resource, Signal, SpanMut};

use crate::Error;

/// What a condition is evaluated against: the paths it may use depend on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Context {
    /// Log records: `severity`, `severity_text`, `body`, `event_name`, `trace_id`,
    /// `span_id`, `attributes[..]`, `resource.attributes[..]`, `scope.name`, `scope.version`.
    Log,
    /// Spans: `name`, `kind`, `status`, `status.message`, `duration`, `trace_id`,
    /// `span_id`, `parent_span_id`, `trace_state`, `attributes[..]`,
    /// `resource.attributes[..]`, `scope.name`, `scope.version`.
    Span,
    /// Whole metrics: `name`, `type`, `unit`, `description`, `resource.attributes[..]`,
    /// `scope.name`, `scope.version`.
    Metric,
    /// Data points: what metrics have, plus the point's `attributes[..]`.
    DataPoint,
    /// Resources alone: `resource.attributes[..]`.
    Resource,
}

impl Context {
    /// What the items of this context are called, for messages.
    fn items(self) -> &'static str {
        match self {
            Context::Log => "log records",
            Context::Span => "spans",
            Context::Metric => "metrics",
            Context::DataPoint => "data points",
            Context::Resource => "resources",
        }
    }
}

/// A signal's items: logs are [`Context::Log`], traces [`Context::Span`], and metrics
/// [`Context::DataPoint`] (the widest; use [`Context::Metric`] for conditions on whole
/// metrics, which have no `attributes`).
impl From<Signal> for Context {
    fn from(signal: Signal) -> Self {
        match signal {
            Signal::Logs => Context::Log,
            Signal::Traces => Context::Span,
            Signal::Metrics => Context::DataPoint,
        }
    }
}

/// A parsed condition, ready to be evaluated against many items. Cheap to evaluate: the
/// tests read fields straight from the item's bytes, without copying them.
#[derive(Clone)]
pub struct Condition {
    text: String,
    expr: parse::Expr,
    context: Option<Context>,
}

impl Condition {
    /// Parses a condition that may use any path; a path an item does not have (say
    /// `severity`, for a span) reads as missing there. Errors are of kind config and say
    /// where and what: `at column 12: expected a value after ">="`. Prefix them with the
    /// config key the condition came from.
    pub fn parse(text: &str) -> Result<Condition, Error> {
        Self::build(text, None)
    }

    /// Parses a condition for one kind of item, refusing paths it does not have:
    /// `Condition::parse_for("kind == SERVER", Signal::Logs)` is an error naming `kind`.
    /// Takes a [`Signal`] or a [`Context`].
    pub fn parse_for(text: &str, context: impl Into<Context>) -> Result<Condition, Error> {
        Self::build(text, Some(context.into()))
    }

    fn build(text: &str, context: Option<Context>) -> Result<Condition, Error> {
        match parse::parse(text, context) {
            Ok(expr) => Ok(Condition { text: text.to_owned(), expr, context }),
            Err(e) => Err(Error::config(format!("at column {}: {}", column(text, e.at), e.message))),
        }
    }

    /// The condition as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The context given to [`Condition::parse_for`], if any.
    pub fn context(&self) -> Option<Context> {
        self.context
    }

    /// Whether a log record matches, as the record is edited so far (its resource and
    /// scope as they came in).
    pub fn matches_log(&self, record: &LogRecordMut<'_>) -> bool {
        eval::eval(&self.expr, record)
    }

    /// Whether a span matches, as the span is edited so far (its resource and scope as
    /// they came in).
    pub fn matches_span(&self, span: &SpanMut<'_>) -> bool {
        eval::eval(&self.expr, span)
    }

    /// Whether a whole metric matches, as its name, unit and description are edited so
    /// far. Data-point `attributes` read as missing here.
    pub fn matches_metric(&self, metric: &MetricMut<'_>) -> bool {
        eval::eval(&self.expr, metric)
    }

    /// Whether a data point matches: `attributes` are the point's (as edited so far), the
    /// metric-level paths come from `metric`. Inside `metric.data_points_mut()` the
    /// metric is borrowed; pass `&point.metric()` (the metric as it came in) there.
    pub fn matches_data_point<M: MetricFields + ?Sized>(&self, metric: &M, point: &DataPointMut<'_>) -> bool {
        eval::eval(&self.expr, &eval::Point { metric, point })
    }

    /// [`Condition::matches_data_point`] with the point's own metric, as it came in: what
    /// a loop over `metrics.data_points_mut()` can call.
    pub fn matches_point(&self, point: &DataPointMut<'_>) -> bool {
        self.matches_data_point(&point.metric(), point)
    }

    /// Whether a resource matches; only `resource.attributes[..]` are present here.
    pub fn matches_resource(&self, resource: &Resource<'_>) -> bool {
        eval::eval(&self.expr, resource)
    }
}

impl fmt::Debug for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Condition").field(&self.text).finish()
    }
}

/// Shows the condition as written.
impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// The metric-level fields a data-point condition reads: implemented for [`MetricMut`]
/// (as edited so far) and [`aegis_wire::Metric`] views (such as `point.metric()`).
pub trait MetricFields: sealed::Sealed {
    /// The metric's name.
    fn name(&self) -> &str;
    /// The metric's unit.
    fn unit(&self) -> &str;
    /// The metric's description.
    fn description(&self) -> &str;
    /// The kind of data the metric carries.
    fn kind(&self) -> Option<MetricKind>;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for aegis_wire::MetricMut<'_> {}
    impl Sealed for aegis_wire::Metric<'_> {}
}

/// A syntax or type error, at a byte offset of the text.
#[derive(Debug)]
struct ParseError {
    at: usize,
    message: String,
}

impl ParseError {
    fn new(at: usize, message: impl Into<String>) -> Self {
        ParseError { at, message: message.into() }
    }
}

/// The 1-based column (in characters) of byte offset `at` of `text`.
fn column(text: &str, at: usize) -> usize {
    text.char_indices().take_while(|&(i, _)| i < at).count() + 1
}
