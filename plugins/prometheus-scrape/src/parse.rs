//! The Prometheus text exposition format 0.0.4 and OpenMetrics text 1.0, read into metric
//! families with their samples. Nothing here knows about OTLP: `convert` does that.

use std::collections::HashMap;

/// A line of the body that could not be read; the whole scrape is refused for it, as
/// Prometheus does, so that a half-read body never looks like a complete one.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("line {line}: {message}")]
pub(crate) struct ParseError {
    /// The 1-based line number in the body.
    pub(crate) line: usize,
    /// What is wrong there.
    pub(crate) message: String,
}

/// Shorthand for results of this module.
pub(crate) type Result<T, E = ParseError> = std::result::Result<T, E>;

/// Which text format the body is in; the scrape's `Content-Type` decides.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Format {
    /// `text/plain; version=0.0.4`: timestamps in milliseconds.
    Text,
    /// `application/openmetrics-text`: timestamps in seconds, `# UNIT`, `# EOF`.
    OpenMetrics,
}

impl Format {
    /// The format a `Content-Type` header names; anything but OpenMetrics is read as text
    /// 0.0.4, which is what exporters without content negotiation send.
    pub(crate) fn from_content_type(content_type: Option<&str>) -> Format {
        match content_type {
            Some(value) if value.trim_start().to_ascii_lowercase().starts_with("application/openmetrics-text") => {
                Format::OpenMetrics
            }
            _ => Format::Text,
        }
    }
}

/// The type of a metric family, from its `# TYPE` line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `counter`.
    Counter,
    /// `gauge`.
    Gauge,
    /// `histogram`.
    Histogram,
    /// `summary`.
    Summary,
    /// `untyped`, OpenMetrics `unknown`, or no `# TYPE` line at all.
    Untyped,
    /// OpenMetrics `info`.
    Info,
    /// OpenMetrics `stateset`.
    StateSet,
    /// OpenMetrics `gaugehistogram`.
    GaugeHistogram,
}

impl Kind {
    fn from_word(word: &str) -> Option<Kind> {
        Some(match word {
            "counter" => Kind::Counter,
            "gauge" => Kind::Gauge,
            "histogram" => Kind::Histogram,
            "summary" => Kind::Summary,
            "untyped" | "unknown" => Kind::Untyped,
            "info" => Kind::Info,
            "stateset" => Kind::StateSet,
            "gaugehistogram" => Kind::GaugeHistogram,
            _ => return None,
        })
    }

    /// The suffixes by which a sample's name may differ from its family's.
    fn suffixes(self) -> &'static [&'static str] {
        match self {
            Kind::Counter => &["_total", "_created"],
            Kind::Histogram => &["_bucket", "_sum", "_count", "_created"],
            Kind::Summary => &["_sum", "_count", "_created"],
            Kind::GaugeHistogram => &["_bucket", "_gsum", "_gcount"],
            Kind::Info => &["_info"],
            Kind::Gauge | Kind::Untyped | Kind::StateSet => &[],
        }
    }
}

const ALL_SUFFIXES: [&str; 8] = ["_total", "_created", "_bucket", "_sum", "_count", "_gsum", "_gcount", "_info"];

/// One metric family: its metadata and every sample that belongs to it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Family {
    /// The family's name, as in `# TYPE` (or the sample's name when there was none).
    pub(crate) name: String,
    /// Its type.
    pub(crate) kind: Kind,
    /// `# HELP`, unescaped.
    pub(crate) help: String,
    /// OpenMetrics `# UNIT`.
    pub(crate) unit: String,
    /// Its samples, in body order.
    pub(crate) samples: Vec<Sample>,
}

/// One sample line.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Sample {
    /// The sample's own name, e.g. `http_request_duration_seconds_bucket`.
    pub(crate) name: String,
    /// Its labels, unescaped, in body order.
    pub(crate) labels: Vec<(String, String)>,
    /// Its value.
    pub(crate) value: f64,
    /// Its timestamp in nanoseconds since the epoch, when the line had one.
    pub(crate) timestamp_nanos: Option<i64>,
    /// The exemplar after `#`, when there was one.
    pub(crate) exemplar: Option<Exemplar>,
    /// The line it came from, for errors found later.
    pub(crate) line: usize,
}

/// An exemplar: `# {trace_id="..."} 0.42 1700000000.1` after a sample.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Exemplar {
    /// Its labels.
    pub(crate) labels: Vec<(String, String)>,
    /// Its value.
    pub(crate) value: f64,
    /// Its timestamp in nanoseconds, when given.
    pub(crate) timestamp_nanos: Option<i64>,
}

/// The parsed body.
#[derive(Debug, Default)]
pub(crate) struct Exposition {
    /// The families, in the order they first appeared.
    pub(crate) families: Vec<Family>,
    /// How many sample lines there were (what Prometheus calls samples scraped).
    pub(crate) samples: usize,
}

/// Parses a whole body. The first bad line fails it.
pub(crate) fn parse(text: &str, format: Format) -> Result<Exposition> {
    let mut parser = Parser { format, out: Exposition::default(), by_name: HashMap::new() };
    let mut eof_at = None;
    let mut last_line = 0;
    for (index, raw) in text.split('\n').enumerate() {
        let number = index + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.trim().is_empty() {
            continue;
        }
        last_line = number;
        if let Some(eof) = eof_at {
            return Err(ParseError { line: number, message: format!("content after `# EOF` (line {eof})") });
        }
        let trimmed = line.trim_start_matches([' ', '\t']);
        if let Some(comment) = trimmed.strip_prefix('#') {
            if parser.comment(comment, number)? {
                eof_at = Some(number);
            }
        } else {
            parser.sample(trimmed, number)?;
        }
    }
    if format == Format::OpenMetrics && eof_at.is_none() {
        // A missing `# EOF` is how a truncated OpenMetrics body shows.
        return Err(ParseError {
            line: last_line.max(1),
            message: "the OpenMetrics body does not end with `# EOF`".into(),
        });
    }
    Ok(parser.out)
}

struct Parser {
    format: Format,
    out: Exposition,
    by_name: HashMap<String, usize>,
}

impl Parser {
    /// Handles a `#` line; returns whether it was OpenMetrics's `# EOF`.
    fn comment(&mut self, rest: &str, line: usize) -> Result<bool> {
        let rest = rest.trim_start_matches([' ', '\t']);
        let (keyword, rest) = split_token(rest);
        match keyword {
            "HELP" | "TYPE" | "UNIT" => {}
            "EOF" if self.format == Format::OpenMetrics => return Ok(true),
            // Any other comment carries nothing.
            _ => return Ok(false),
        }
        if keyword == "UNIT" && self.format == Format::Text {
            return Ok(false);
        }
        let (name, rest) = split_token(rest.trim_start_matches([' ', '\t']));
        if name.is_empty() {
            return Err(ParseError { line, message: format!("`# {keyword}` without a metric name") });
        }
        if !is_metric_name(name) {
            return Err(ParseError { line, message: format!("`{name}` is not a valid metric name") });
        }
        let index = self.declared(name);
        let family = &mut self.out.families[index];
        match keyword {
            "HELP" => family.help = unescape_help(rest.strip_prefix([' ', '\t']).unwrap_or(rest)),
            "UNIT" => family.unit = rest.trim().to_string(),
            _ => {
                let word = rest.trim();
                let kind = Kind::from_word(word).ok_or_else(|| ParseError {
                    line,
                    message: format!("unknown metric type `{word}` for `{name}`"),
                })?;
                if !family.samples.is_empty() {
                    return Err(ParseError { line, message: format!("`# TYPE` for `{name}` comes after its samples") });
                }
                family.kind = kind;
            }
        }
        Ok(false)
    }

    /// The family declared as `name`, created when this is its first mention.
    fn declared(&mut self, name: &str) -> usize {
        if let Some(&index) = self.by_name.get(name) {
            return index;
        }
        self.push_family(name)
    }

    fn push_family(&mut self, name: &str) -> usize {
        let index = self.out.families.len();
        self.out.families.push(Family {
            name: name.to_string(),
            kind: Kind::Untyped,
            help: String::new(),
            unit: String::new(),
            samples: Vec::new(),
        });
        self.by_name.insert(name.to_string(), index);
        index
    }

    /// The family a sample named `name` belongs to: its own, or one whose type allows the
    /// suffix it has; else a new untyped family of that name.
    fn family_of(&mut self, name: &str) -> usize {
        if let Some(&index) = self.by_name.get(name) {
            return index;
        }
        for suffix in ALL_SUFFIXES {
            if let Some(base) = name.strip_suffix(suffix)
                && let Some(&index) = self.by_name.get(base)
                && self.out.families[index].kind.suffixes().contains(&suffix)
            {
                return index;
            }
        }
        self.push_family(name)
    }

    fn sample(&mut self, text: &str, line: usize) -> Result<()> {
        let sample = read_sample(text, line, self.format)?;
        let index = self.family_of(&sample.name);
        self.out.families[index].samples.push(sample);
        self.out.samples += 1;
        Ok(())
    }
}

fn split_token(text: &str) -> (&str, &str) {
    match text.find([' ', '\t']) {
        Some(at) => (&text[..at], &text[at..]),
        None => (text, ""),
    }
}

fn is_metric_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_' || b == b':')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':')
}

fn unescape_help(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('\\') => out.push('\\'),
            Some('"') => out.push('"'),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// A position in one line, for the sample grammar.
struct Cursor<'a> {
    text: &'a str,
    pos: usize,
    line: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn error(&self, message: impl Into<String>) -> ParseError {
        ParseError { line: self.line, message: message.into() }
    }

    /// Skips blanks; returns whether there were any.
    fn blanks(&mut self) -> bool {
        let start = self.pos;
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
        self.pos > start
    }

    fn eat(&mut self, byte: u8) -> bool {
        if self.peek() == Some(byte) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Everything up to the next blank.
    fn token(&mut self) -> &'a str {
        let start = self.pos;
        while !matches!(self.peek(), None | Some(b' ' | b'\t')) {
            self.pos += 1;
        }
        &self.text[start..self.pos]
    }

    fn name(&mut self, label: bool) -> &'a str {
        let start = self.pos;
        while let Some(b) = self.peek() {
            let ok = b.is_ascii_alphanumeric() || b == b'_' || (!label && b == b':');
            if !ok || (self.pos == start && b.is_ascii_digit()) {
                break;
            }
            self.pos += 1;
        }
        &self.text[start..self.pos]
    }

    /// A double-quoted string (the opening quote already read), unescaped.
    fn quoted(&mut self) -> Result<String> {
        let mut out = String::new();
        let mut run = self.pos;
        loop {
            match self.peek() {
                None => return Err(self.error("a quoted label value is not closed")),
                Some(b'"') => {
                    out.push_str(&self.text[run..self.pos]);
                    self.pos += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    out.push_str(&self.text[run..self.pos]);
                    self.pos += 1;
                    match self.peek() {
                        Some(b'n') => out.push('\n'),
                        Some(b'\\') => out.push('\\'),
                        Some(b'"') => out.push('"'),
                        // Prometheus keeps other escapes as written.
                        Some(_) => {
                            out.push('\\');
                            run = self.pos;
                            continue;
                        }
                        None => return Err(self.error("a quoted label value is not closed")),
                    }
                    self.pos += 1;
                    run = self.pos;
                }
                Some(_) => self.pos += 1,
            }
        }
    }

    /// `{name="value", ...}` (the `{` already read). A quoted string without `=` is the
    /// metric name, as Prometheus 3 writes names that are not valid identifiers.
    fn labels(&mut self, metric_name: &mut Option<String>) -> Result<Vec<(String, String)>> {
        let mut labels: Vec<(String, String)> = Vec::new();
        loop {
            self.blanks();
            if self.eat(b'}') {
                return Ok(labels);
            }
            let name = if self.eat(b'"') {
                let quoted = self.quoted()?;
                self.blanks();
                if self.peek() != Some(b'=') {
                    if metric_name.is_some() {
                        return Err(self.error(format!("a second metric name `{quoted}` in the braces")));
                    }
                    *metric_name = Some(quoted);
                    self.blanks();
                    if !self.eat(b',') && self.peek() != Some(b'}') {
                        return Err(self.error("expected `,` or `}` after the metric name"));
                    }
                    continue;
                }
                quoted
            } else {
                let name = self.name(true);
                if name.is_empty() {
                    return Err(self.error("expected a label name"));
                }
                name.to_string()
            };
            self.blanks();
            if !self.eat(b'=') {
                return Err(self.error(format!("expected `=` after label `{name}`")));
            }
            self.blanks();
            if !self.eat(b'"') {
                return Err(self.error(format!("expected a quoted value for label `{name}`")));
            }
            let value = self.quoted()?;
            if labels.iter().any(|(k, _)| *k == name) {
                return Err(self.error(format!("label `{name}` appears twice")));
            }
            labels.push((name, value));
            self.blanks();
            if !self.eat(b',') && self.peek() != Some(b'}') {
                return Err(self.error(format!("expected `,` or `}}` after label `{}`", labels[labels.len() - 1].0)));
            }
        }
    }

    fn value(&mut self) -> Result<f64> {
        let token = self.token();
        if token.is_empty() {
            return Err(self.error("expected a value"));
        }
        parse_value(token).ok_or_else(|| self.error(format!("`{token}` is not a number")))
    }

    /// An optional timestamp: milliseconds in text 0.0.4, seconds in OpenMetrics.
    fn timestamp(&mut self, seconds: bool) -> Result<Option<i64>> {
        if matches!(self.peek(), None | Some(b'#')) {
            return Ok(None);
        }
        let token = self.token();
        let nanos = if seconds {
            parse_value(token).filter(|s| s.is_finite()).map(|s| (s * 1e9) as i64)
        } else {
            token.parse::<i64>().ok().and_then(|ms| ms.checked_mul(1_000_000))
        };
        nanos.map(Some).ok_or_else(|| self.error(format!("`{token}` is not a timestamp")))
    }
}

/// A float as Prometheus writes them: decimal, `+Inf`, `-Inf`, `NaN`.
fn parse_value(token: &str) -> Option<f64> {
    // Rust also reads `infinity` and other spellings Go's ParseFloat accepts.
    token.parse::<f64>().ok()
}

fn read_sample(text: &str, line: usize, format: Format) -> Result<Sample> {
    let mut cursor = Cursor { text, pos: 0, line };
    let mut name = match cursor.name(false) {
        "" => None,
        name => Some(name.to_string()),
    };
    let labels = if cursor.eat(b'{') { cursor.labels(&mut name)? } else { Vec::new() };
    let Some(name) = name else {
        return Err(cursor.error("expected a metric name"));
    };
    if !cursor.blanks() {
        return Err(cursor.error(format!("expected a blank and a value after `{name}`")));
    }
    let value = cursor.value()?;
    cursor.blanks();
    let seconds = format == Format::OpenMetrics;
    let timestamp_nanos = cursor.timestamp(seconds)?;
    cursor.blanks();
    let exemplar = if cursor.eat(b'#') {
        cursor.blanks();
        if !cursor.eat(b'{') {
            return Err(cursor.error("expected `{` to open the exemplar's labels"));
        }
        let mut no_name = None;
        let labels = cursor.labels(&mut no_name)?;
        if no_name.is_some() {
            return Err(cursor.error("an exemplar has no metric name"));
        }
        cursor.blanks();
        let value = cursor.value()?;
        cursor.blanks();
        let timestamp_nanos = cursor.timestamp(true)?;
        Some(Exemplar { labels, value, timestamp_nanos })
    } else {
        None
    };
    cursor.blanks();
    if cursor.peek().is_some() {
        return Err(cursor.error(format!("unexpected `{}` after the sample", &text[cursor.pos..])));
    }
    Ok(Sample { name, labels, value, timestamp_nanos, exemplar, line })
}
