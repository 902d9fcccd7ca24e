//! `format = "klog"`: the Kubernetes components' log lines,
//!
//! ```text
//! I0125 10:30:45.123456   12345 controller.go:123] "Pod status updated" pod="kube-system/dns" ready=true
//! ```
//!
//! The level letter becomes the severity, the thread id and source location become
//! attributes, and the message the body. Structured lines (a quoted message followed by
//! `key=value` pairs) have their pairs read as attributes too. klog writes no year and
//! local time; the year is inferred and the time read as UTC.

use std::borrow::Cow;

use crate::line::Parsed;
use crate::logfmt::{for_each_pair, quoted};
use crate::time::{Clock, to_nanos};
use crate::value::Val;

/// Parses one line into `line`.
pub(crate) fn parse<'a>(text: &'a str, line: &mut Parsed<'a>, clock: &mut Clock) -> Result<(), String> {
    let bytes = text.as_bytes();
    let severity = match bytes.first() {
        Some(b'I') => (9, "INFO"),
        Some(b'W') => (13, "WARNING"),
        Some(b'E') => (17, "ERROR"),
        Some(b'F') => (21, "FATAL"),
        _ => return Err("klog: the line does not start with I, W, E or F".into()),
    };
    let header = bytes.get(..21).ok_or("klog: the line is too short for a klog header")?;
    let digit = |at: usize| header[at].is_ascii_digit().then(|| u32::from(header[at] - b'0'));
    let two = |at: usize| digit(at).zip(digit(at + 1)).map(|(a, b)| a * 10 + b);
    let stamp = (|| {
        let (month, day) = (two(1)?, two(3)?);
        if header[5] != b' ' || header[8] != b':' || header[11] != b':' || header[14] != b'.' {
            return None;
        }
        let (hour, minute, second) = (two(6)?, two(9)?, two(12)?);
        let mut micros = 0;
        for at in 15..21 {
            micros = micros * 10 + digit(at)?;
        }
        if hour > 23 || minute > 59 || second > 60 {
            return None;
        }
        // Validate the date against a leap year, so that Feb 29 is allowed.
        to_nanos(2024, month, day, 0, 0, 0)?;
        let secs = i64::from(hour * 3600 + minute * 60 + second);
        clock.infer_year(month, day, secs, 0)?.checked_add(u64::from(micros) * 1_000)
    })();
    line.time = Some(stamp.ok_or("klog: bad timestamp in the header")?);
    line.severity = Some((severity.0, Cow::Borrowed(severity.1)));

    // The header is ASCII up to here, so byte 21 is a character boundary.
    let rest = text[21..].trim_start_matches(' ');
    let (thread, rest) = rest.split_once(' ').ok_or("klog: no thread id")?;
    let thread: i64 = thread.parse().map_err(|_| format!("klog: bad thread id `{thread}`"))?;
    let (location, message) =
        rest.split_once("] ").or_else(|| rest.strip_suffix(']').map(|l| (l, ""))).ok_or("klog: no `file:line]`")?;
    let (file, number) = location.rsplit_once(':').ok_or_else(|| format!("klog: bad source location `{location}`"))?;
    let number: i64 = number.parse().map_err(|_| format!("klog: bad source location `{location}`"))?;
    line.attr("thread.id", Val::Int(thread));
    line.attr("code.file.path", Val::str(file));
    line.attr("code.line.number", Val::Int(number));
    line.body = Some(Val::str(message));
    if message.starts_with('"') {
        structured(message, line);
    }
    Ok(())
}

/// A structured message: the quoted text is the body, the pairs after it attributes.
/// A message that only looks structured is left as it is.
fn structured<'a>(message: &'a str, line: &mut Parsed<'a>) {
    let Ok((text, end)) = quoted(message, 0) else { return };
    let tail = &message[end..];
    if !tail.is_empty() && !tail.starts_with(' ') {
        return;
    }
    let mut pairs = Vec::new();
    if for_each_pair(tail, |key, value| pairs.push((key, value))).is_err() {
        return;
    }
    line.body = Some(Val::Str(text));
    for (key, value) in pairs {
        line.attr(key, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2024-03-01T00:00:00Z
    fn clock() -> Clock {
        Clock::new(|| 1_709_251_200_000_000_000)
    }

    #[test]
    fn a_klog_line_gives_severity_time_location_and_body() {
        let mut line = Parsed::default();
        parse("W0125 10:30:45.123456    7821 reflector.go:424] watch of *v1.Pod ended", &mut line, &mut clock())
            .unwrap();
        assert_eq!(line.severity, Some((13, Cow::Borrowed("WARNING"))));
        assert_eq!(line.time, Some(1_706_178_645_123_456_000));
        assert_eq!(line.body, Some(Val::str("watch of *v1.Pod ended")));
        assert_eq!(
            line.attrs,
            vec![
                ("thread.id".into(), Val::Int(7821)),
                ("code.file.path".into(), Val::str("reflector.go")),
                ("code.line.number".into(), Val::Int(424)),
            ]
        );
    }

    #[test]
    fn structured_klog_lines_have_their_pairs_read() {
        let mut line = Parsed::default();
        let text =
            r#"I0125 10:30:45.000001 1 kubelet.go:2112] "Pod status updated" pod="kube-system/dns" status=ready"#;
        parse(text, &mut line, &mut clock()).unwrap();
        assert_eq!(line.body, Some(Val::str("Pod status updated")));
        assert_eq!(line.attrs[3], ("pod".into(), Val::str("kube-system/dns")));
        assert_eq!(line.attrs[4], ("status".into(), Val::str("ready")));
        let mut line = Parsed::default();
        parse(r#"E0125 10:30:45.000001 1 a.go:1] "unclosed quote"#, &mut line, &mut clock()).unwrap();
        assert_eq!(line.body, Some(Val::str(r#""unclosed quote"#)));
        assert_eq!(line.attrs.len(), 3);
    }

    #[test]
    fn lines_that_are_not_klog_are_errors() {
        let cases = [
            ("", "klog: the line does not start with I, W, E or F"),
            ("I0125 10:30", "klog: the line is too short for a klog header"),
            ("I1325 10:30:45.123456 1 a.go:1] x", "klog: bad timestamp in the header"),
            ("Information is here but not klog", "klog: bad timestamp in the header"),
            ("I0125 10:30:45.123456 x a.go:1] x", "klog: bad thread id `x`"),
            ("I0125 10:30:45.123456 1 a.go] x", "klog: bad source location `a.go`"),
            ("I0125 10:30:45.123456 1 nothing", "klog: no `file:line]`"),
            ("I0125 10:30:45.12345é 1 a.go:1] x", "klog: bad timestamp in the header"),
        ];
        for (text, want) in cases {
            assert_eq!(parse(text, &mut Parsed::default(), &mut clock()).unwrap_err(), want, "{text}");
        }
    }
}
