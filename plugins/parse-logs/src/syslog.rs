//! `format = "syslog_rfc5424"` and `format = "syslog_rfc3164"`: syslog lines as rsyslog,
//! syslog-ng and journald's forwarders write them, with or without the `<PRI>` prefix
//! (files written by a local daemon lack it).
//!
//! The priority becomes the severity (the keywords `emerg` to `debug`, numbered as the
//! OpenTelemetry Collector's syslog parser does) and `syslog.facility`; the header fields
//! become `syslog.*` attributes; the message becomes the body.

use std::borrow::Cow;

use crate::line::Parsed;
use crate::severity::SYSLOG;
use crate::time::{Clock, month_name_bytes, rfc3339, to_nanos};
use crate::value::Val;

/// Reads `<PRI>` at the start of `text`: the priority and the rest.
fn priority(text: &str) -> Result<Option<(u8, &str)>, String> {
    let Some(rest) = text.strip_prefix('<') else { return Ok(None) };
    let (digits, rest) = rest.split_once('>').ok_or("syslog: `<` without a closing `>`")?;
    match digits.parse::<u8>() {
        Ok(pri) if pri <= 191 && !digits.is_empty() && digits.len() <= 3 => Ok(Some((pri, rest))),
        _ => Err(format!("syslog: bad priority <{digits}>")),
    }
}

fn set_priority(line: &mut Parsed<'_>, pri: u8) {
    let (number, text) = SYSLOG[usize::from(pri & 7)];
    line.severity = Some((number, Cow::Borrowed(text)));
    line.attr("syslog.facility", Val::Int(i64::from(pri >> 3)));
}

/// The next space-terminated header field; `-` (the nil value) reads as `None`.
fn field<'a>(rest: &mut &'a str, what: &str) -> Result<Option<&'a str>, String> {
    let text = *rest;
    let end = text.find(' ').ok_or_else(|| format!("syslog: the line ends before the {what}"))?;
    *rest = &text[end + 1..];
    match &text[..end] {
        "" => Err(format!("syslog: empty {what}")),
        "-" => Ok(None),
        value => Ok(Some(value)),
    }
}

/// Parses an RFC 5424 line into `line`.
pub(crate) fn parse_rfc5424<'a>(text: &'a str, line: &mut Parsed<'a>) -> Result<(), String> {
    let (pri, mut rest) = priority(text)?.ok_or("syslog: no <PRI> at the start of the line")?;
    let version = field(&mut rest, "version")?.ok_or("syslog: no version")?;
    let version: i64 = match version.parse() {
        Ok(v @ 1..=99) => v,
        _ => return Err(format!("syslog: bad version `{version}` (not RFC 5424?)")),
    };
    set_priority(line, pri);
    line.attr("syslog.version", Val::Int(version));
    if let Some(stamp) = field(&mut rest, "timestamp")? {
        line.time = Some(rfc3339(stamp).ok_or_else(|| format!("syslog: bad timestamp `{stamp}`"))?);
    }
    for (key, what) in [
        ("syslog.hostname", "hostname"),
        ("syslog.appname", "app name"),
        ("syslog.procid", "process id"),
        ("syslog.msgid", "message id"),
    ] {
        if let Some(value) = field(&mut rest, what)? {
            line.attr(key, Val::str(value));
        }
    }
    let message = if let Some(after) = rest.strip_prefix('-') {
        after
    } else if rest.starts_with('[') {
        let (data, after) = structured_data(rest)?;
        line.attr("syslog.structured_data", data);
        after
    } else {
        return Err("syslog: expected structured data (`-` or `[...]`)".into());
    };
    let message = match message.strip_prefix(' ') {
        Some(message) => message,
        None if message.is_empty() => return Ok(()),
        None => return Err("syslog: expected a space after the structured data".into()),
    };
    line.body = Some(Val::str(message.strip_prefix('\u{feff}').unwrap_or(message)));
    Ok(())
}

/// `[id name="value" ...][id2 ...]` as a list of lists; returns what follows it.
fn structured_data(text: &str) -> Result<(Val<'_>, &str), String> {
    let bytes = text.as_bytes();
    let mut elements = Vec::new();
    let mut pos = 0;
    while bytes.get(pos) == Some(&b'[') {
        pos += 1;
        let id_start = pos;
        while pos < bytes.len() && !matches!(bytes[pos], b' ' | b']' | b'=' | b'"') {
            pos += 1;
        }
        if pos == id_start {
            return Err(format!("syslog: an element without an id at byte {id_start} of the structured data"));
        }
        let id = &text[id_start..pos];
        let mut params = Vec::new();
        loop {
            match bytes.get(pos) {
                Some(b']') => {
                    pos += 1;
                    break;
                }
                Some(b' ') => pos += 1,
                _ => return Err(format!("syslog: broken element at byte {pos} of the structured data")),
            }
            let name_start = pos;
            while pos < bytes.len() && !matches!(bytes[pos], b' ' | b']' | b'=' | b'"') {
                pos += 1;
            }
            let name = &text[name_start..pos];
            if name.is_empty() || bytes.get(pos) != Some(&b'=') || bytes.get(pos + 1) != Some(&b'"') {
                return Err(format!("syslog: expected name=\"value\" at byte {name_start} of the structured data"));
            }
            let (value, end) = param_value(text, pos + 1)?;
            pos = end;
            params.push((Cow::Borrowed(name), Val::Str(value)));
        }
        elements.push((Cow::Borrowed(id), Val::Map(params)));
    }
    Ok((Val::Map(elements), &text[pos..]))
}

/// A quoted parameter value, where `\"`, `\\` and `\]` are escapes.
fn param_value(text: &str, open: usize) -> Result<(Cow<'_, str>, usize), String> {
    let bytes = text.as_bytes();
    let mut pos = open + 1;
    let mut escaped = false;
    while pos < bytes.len() {
        match bytes[pos] {
            b'"' => {
                let inner = &text[open + 1..pos];
                let value = if escaped {
                    Cow::Owned(inner.replace("\\\"", "\"").replace("\\]", "]").replace("\\\\", "\\"))
                } else {
                    Cow::Borrowed(inner)
                };
                return Ok((value, pos + 1));
            }
            b'\\' => {
                escaped = true;
                pos += 2;
            }
            _ => pos += 1,
        }
    }
    Err(format!("syslog: unterminated value at byte {open} of the structured data"))
}

/// Parses an RFC 3164 (BSD) line into `line`. Timestamps without a year take the
/// current one (see [`Clock::infer_year`]) and are read as UTC.
pub(crate) fn parse_rfc3164<'a>(text: &'a str, line: &mut Parsed<'a>, clock: &mut Clock) -> Result<(), String> {
    let rest = match priority(text)? {
        Some((pri, rest)) => {
            set_priority(line, pri);
            rest
        }
        None => text,
    };
    let (time, rest) = bsd_timestamp(rest, clock)?;
    line.time = Some(time);
    let rest = rest.strip_prefix(' ').ok_or("syslog: expected a space after the timestamp")?;
    let (host, rest) = rest.split_once(' ').ok_or("syslog: no hostname")?;
    if host.is_empty() {
        return Err("syslog: empty hostname".into());
    }
    line.attr("syslog.hostname", Val::str(host));
    let message = match tag(rest) {
        Some((app, pid, message)) => {
            line.attr("syslog.appname", Val::str(app));
            if let Some(pid) = pid {
                line.attr("syslog.procid", Val::str(pid));
            }
            message
        }
        None => rest,
    };
    line.body = Some(Val::str(message));
    Ok(())
}

/// `Mmm dd hh:mm:ss` (the day may be space-padded), or the RFC 3339 stamp rsyslog
/// writes in its high-precision mode; returns the time and what follows.
fn bsd_timestamp<'a>(text: &'a str, clock: &mut Clock) -> Result<(u64, &'a str), String> {
    let bytes = text.as_bytes();
    if bytes.first().is_some_and(u8::is_ascii_digit) {
        let end = text.find(' ').unwrap_or(text.len());
        let time = rfc3339(&text[..end]).ok_or_else(|| format!("syslog: bad timestamp `{}`", &text[..end]))?;
        return Ok((time, &text[end..]));
    }
    let bad = || format!("syslog: bad timestamp `{}`", text.get(..15).unwrap_or(text));
    let stamp = text.get(..15).ok_or_else(bad)?.as_bytes();
    let month = month_name_bytes(&stamp[..3]).ok_or_else(bad)?;
    let digit = |b: u8| b.is_ascii_digit().then(|| u32::from(b - b'0'));
    let day = match (stamp[3], stamp[4], stamp[5], stamp[6]) {
        (b' ', b' ', d, b' ') => digit(d),
        (b' ', t, d, b' ') => digit(t).zip(digit(d)).map(|(t, d)| t * 10 + d),
        _ => None,
    }
    .ok_or_else(bad)?;
    let two = |at: usize| digit(stamp[at]).zip(digit(stamp[at + 1])).map(|(a, b)| a * 10 + b);
    let (hour, minute, second) = match (two(7), stamp[9], two(10), stamp[12], two(13)) {
        (Some(h), b':', Some(m), b':', Some(s)) if h < 24 && m < 60 && s <= 60 => (h, m, s),
        _ => return Err(bad()),
    };
    let secs = i64::from(hour * 3600 + minute * 60 + second);
    // Validate the date against a leap year, so that Feb 29 is allowed.
    to_nanos(2024, month, day, 0, 0, 0).ok_or_else(bad)?;
    let time = clock.infer_year(month, day, secs, 0).ok_or_else(bad)?;
    Ok((time, &text[15..]))
}

/// `app[pid]: message` or `app: message`; `None` when the line has no tag.
fn tag(text: &str) -> Option<(&str, Option<&str>, &str)> {
    let end = text.find([':', '[', ' '])?;
    let app = &text[..end];
    if app.is_empty() {
        return None;
    }
    let rest = &text[end..];
    let (pid, rest) = match rest.strip_prefix('[') {
        Some(after) => {
            let (pid, after) = after.split_once(']')?;
            (Some(pid), after)
        }
        None => (None, rest),
    };
    let message = rest.strip_prefix(':')?;
    Some((app, pid, message.strip_prefix(' ').unwrap_or(message)))
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2024-03-01T00:00:00Z
    fn clock() -> Clock {
        Clock::new(|| 1_709_251_200_000_000_000)
    }

    #[test]
    fn an_rfc5424_line_gives_severity_header_attributes_data_and_body() {
        let text = r#"<165>1 2024-01-25T10:30:45.123Z web-1 aegis-backend 4242 ID47 [exampleSDID@32473 iut="3" eventSource="Application"][meta seq="1"] BOMUser created"#
            .replace("BOM", "\u{feff}");
        let mut line = Parsed::default();
        parse_rfc5424(&text, &mut line).unwrap();
        assert_eq!(line.severity, Some((10, Cow::Borrowed("notice"))));
        assert_eq!(line.time, Some(1_706_178_645_123_000_000));
        assert_eq!(line.body, Some(Val::str("User created")));
        let keys: Vec<&str> = line.attrs.iter().map(|(k, _)| &**k).collect();
        assert_eq!(
            keys,
            [
                "syslog.facility",
                "syslog.version",
                "syslog.hostname",
                "syslog.appname",
                "syslog.procid",
                "syslog.msgid",
                "syslog.structured_data"
            ]
        );
        assert_eq!(line.attrs[0].1, Val::Int(20));
        assert_eq!(
            line.attrs[6].1,
            Val::Map(vec![
                (
                    "exampleSDID@32473".into(),
                    Val::Map(vec![("iut".into(), Val::str("3")), ("eventSource".into(), Val::str("Application"))])
                ),
                ("meta".into(), Val::Map(vec![("seq".into(), Val::str("1"))])),
            ])
        );
    }

    #[test]
    fn rfc5424_nil_values_and_a_missing_message_leave_fields_out() {
        let mut line = Parsed::default();
        parse_rfc5424("<11>1 - - - - - -", &mut line).unwrap();
        assert_eq!((line.time, line.body.as_ref()), (None, None));
        assert_eq!(line.severity, Some((17, Cow::Borrowed("err"))));
        assert_eq!(line.attrs.len(), 2);
        let mut line = Parsed::default();
        parse_rfc5424(r#"<14>1 - host app - - [x a="q\"uote\]"] msg"#, &mut line).unwrap();
        assert_eq!(line.attrs[4].1, Val::Map(vec![("x".into(), Val::Map(vec![("a".into(), Val::str("q\"uote]"))]))]));
    }

    #[test]
    fn broken_rfc5424_lines_are_errors() {
        let cases = [
            ("no pri", "syslog: no <PRI> at the start of the line"),
            ("<999>1 - - - - - -", "syslog: bad priority <999>"),
            ("<13>Jan  1 00:00:00 host app: hi", "syslog: bad version `Jan` (not RFC 5424?)"),
            ("<13>1 yesterday h a p m -", "syslog: bad timestamp `yesterday`"),
            ("<13>1 - h a p", "syslog: the line ends before the process id"),
            ("<13>1 - h a p m x", "syslog: expected structured data (`-` or `[...]`)"),
            (r#"<13>1 - h a p m [id a="b msg"#, "syslog: unterminated value at byte 6 of the structured data"),
            (r#"<13>1 - h a p m [id a=b]"#, "syslog: expected name=\"value\" at byte 4 of the structured data"),
        ];
        for (text, want) in cases {
            assert_eq!(parse_rfc5424(text, &mut Parsed::default()).unwrap_err(), want, "{text}");
        }
    }

    #[test]
    fn an_rfc3164_line_gives_severity_host_tag_pid_and_message() {
        let mut line = Parsed::default();
        parse_rfc3164(
            "<34>Jan 25 10:30:45 mymachine su[230]: 'su root' failed for lonvick on /dev/pts/8",
            &mut line,
            &mut clock(),
        )
        .unwrap();
        assert_eq!(line.severity, Some((22, Cow::Borrowed("crit"))));
        assert_eq!(line.time, Some(1_706_178_645_000_000_000));
        assert_eq!(line.body, Some(Val::str("'su root' failed for lonvick on /dev/pts/8")));
        assert_eq!(
            line.attrs,
            vec![
                ("syslog.facility".into(), Val::Int(4)),
                ("syslog.hostname".into(), Val::str("mymachine")),
                ("syslog.appname".into(), Val::str("su")),
                ("syslog.procid".into(), Val::str("230")),
            ]
        );
    }

    #[test]
    fn rfc3164_without_priority_tag_or_with_a_precise_stamp_still_parses() {
        let mut line = Parsed::default();
        parse_rfc3164("Feb  5 01:02:03 host kernel: [ 0.000] Booting", &mut line, &mut clock()).unwrap();
        assert_eq!(line.severity, None);
        assert_eq!(line.time, Some(1_707_094_923_000_000_000));
        assert_eq!(line.attrs[1], ("syslog.appname".into(), Val::str("kernel")));
        assert_eq!(line.body, Some(Val::str("[ 0.000] Booting")));
        let mut line = Parsed::default();
        parse_rfc3164("<13>2024-01-25T10:30:45.123+00:00 host no tag here", &mut line, &mut clock()).unwrap();
        assert_eq!(line.time, Some(1_706_178_645_123_000_000));
        assert_eq!(line.body, Some(Val::str("no tag here")));
        assert_eq!(line.attrs.len(), 2);
    }

    #[test]
    fn broken_rfc3164_lines_are_errors() {
        let cases = [
            ("", "syslog: bad timestamp ``"),
            ("Foo 25 10:30:45 host app: x", "syslog: bad timestamp `Foo 25 10:30:45`"),
            ("Feb 30 10:30:45 host app: x", "syslog: bad timestamp `Feb 30 10:30:45`"),
            ("Jan 25 10:30:45", "syslog: expected a space after the timestamp"),
            ("Jan 25 10:30:45 hostonly", "syslog: no hostname"),
            ("<13 Jan 25 10:30:45 host app: x", "syslog: `<` without a closing `>`"),
            ("Jan 25 10:3é:45 host app: x", "syslog: bad timestamp `Jan 25 10:3é:4`"),
        ];
        for (text, want) in cases {
            assert_eq!(parse_rfc3164(text, &mut Parsed::default(), &mut clock()).unwrap_err(), want, "{text}");
        }
    }
}
