//! `format = "nginx"` and `format = "apache"`: the combined access log format both write
//! by default (Apache's common format, without referer and user agent, is accepted too):
//!
//! ```text
//! 203.0.113.7 - alice [25/Jan/2024:10:30:45 +0000] "POST /api/v1/users?x=1 HTTP/1.1" 201 512 "https://app/" "curl/8.5"
//! ```
//!
//! Fields become attributes named after the OpenTelemetry HTTP conventions; the body
//! stays the line.

use std::borrow::Cow;

use crate::line::Parsed;
use crate::logfmt::quoted;
use crate::time::{Clock, Layout};
use crate::value::Val;

/// The access log parser, with its timestamp layout compiled once.
#[derive(Clone, Debug)]
pub(crate) struct Access {
    time: Layout,
}

impl Access {
    pub(crate) fn new() -> Access {
        Access { time: Layout::compile("%d/%b/%Y:%H:%M:%S %z").expect("the access log layout compiles") }
    }

    /// Parses one line into `line`.
    pub(crate) fn parse<'a>(&self, text: &'a str, line: &mut Parsed<'a>, clock: &mut Clock) -> Result<(), String> {
        let mut rest = text;
        let client = word(&mut rest).ok_or("access log: no client address")?;
        let ident = word(&mut rest).ok_or("access log: no ident field after the client address")?;
        let user = word(&mut rest).ok_or("access log: no user field after the ident")?;
        let time = rest.strip_prefix('[').and_then(|r| r.split_once(']')).ok_or("access log: no [time]")?;
        line.time = Some(self.time.read(time.0, clock).ok_or_else(|| format!("access log: bad time [{}]", time.0))?);
        rest = time.1.trim_start();
        let (request, after) = quoted_field(rest).ok_or("access log: no quoted request after the time")?;
        rest = after;
        let status = word(&mut rest).ok_or("access log: no status after the request")?;
        let status: i64 = match status.parse() {
            Ok(n @ 100..=999) => n,
            _ => return Err(format!("access log: bad status `{status}`")),
        };
        let size = word(&mut rest).ok_or("access log: no response size after the status")?;

        line.attr("client.address", Val::str(client));
        if ident != "-" {
            line.attr("ident", Val::str(ident));
        }
        if user != "-" {
            line.attr("user.name", Val::str(user));
        }
        request_attrs(line, request);
        line.attr("http.response.status_code", Val::Int(status));
        match size {
            "-" => {}
            digits => match digits.parse::<i64>() {
                Ok(n) => line.attr("http.response.body.size", Val::Int(n)),
                Err(_) => return Err(format!("access log: bad response size `{digits}`")),
            },
        }
        if rest.is_empty() {
            return Ok(()); // the common format ends here
        }
        let (referer, after) = quoted_field(rest).ok_or("access log: expected a quoted referer after the size")?;
        let (agent, after) = quoted_field(after).ok_or("access log: expected a quoted user agent after the referer")?;
        rest = after;
        set_unless_dash(line, "http.request.header.referer", referer);
        set_unless_dash(line, "user_agent.original", agent);
        // nginx's `main` format adds "$http_x_forwarded_for".
        if !rest.is_empty() {
            let (forwarded, after) = quoted_field(rest).ok_or("access log: unexpected text after the user agent")?;
            if !after.is_empty() {
                return Err("access log: unexpected text after the user agent".into());
            }
            set_unless_dash(line, "http.request.header.x-forwarded-for", forwarded);
        }
        Ok(())
    }
}

/// The next space-separated word, and `rest` moved past it and the spaces after it.
fn word<'a>(rest: &mut &'a str) -> Option<&'a str> {
    let text = *rest;
    let end = text.find(' ').unwrap_or(text.len());
    if end == 0 {
        return None;
    }
    *rest = text[end..].trim_start_matches(' ');
    Some(&text[..end])
}

/// A double-quoted field at the start of `text` and what follows it (spaces skipped).
fn quoted_field(text: &str) -> Option<(Cow<'_, str>, &str)> {
    if !text.starts_with('"') {
        return None;
    }
    let (value, end) = quoted(text, 0).ok()?;
    let after = &text[end..];
    if !after.is_empty() && !after.starts_with(' ') {
        return None;
    }
    Some((value, after.trim_start_matches(' ')))
}

fn set_unless_dash<'a>(line: &mut Parsed<'a>, key: &'static str, value: Cow<'a, str>) {
    if value != "-" && !value.is_empty() {
        line.attr(key, Val::Str(value));
    }
}

/// `METHOD TARGET PROTOCOL/VERSION` as method, path, query and protocol; anything else
/// (a `-`, a scanner's garbage) is kept whole as `http.request.line`.
fn request_attrs<'a>(line: &mut Parsed<'a>, request: Cow<'a, str>) {
    let parts = match &request {
        Cow::Borrowed(text) => split_request(text).map(|(m, t, v)| (Val::str(m), t, v)),
        Cow::Owned(_) => None,
    };
    match parts {
        Some((method, target, version)) => {
            line.attr("http.request.method", method);
            match target.split_once('?') {
                Some((path, query)) => {
                    line.attr("url.path", Val::str(path));
                    line.attr("url.query", Val::str(query));
                }
                None => line.attr("url.path", Val::str(target)),
            }
            line.attr("network.protocol.name", Val::str("http"));
            line.attr("network.protocol.version", Val::str(version));
        }
        None if request == "-" || request.is_empty() => {}
        None => line.attr("http.request.line", Val::Str(request)),
    }
}

fn split_request(text: &str) -> Option<(&str, &str, &str)> {
    let mut parts = text.split(' ');
    let (method, target, protocol) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
        return None;
    }
    let version = protocol.strip_prefix("HTTP/")?;
    Some((method, target, version))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Parsed<'_>, String> {
        let mut line = Parsed::default();
        Access::new().parse(text, &mut line, &mut Clock::new(|| 0))?;
        Ok(line)
    }

    fn keys<'l>(line: &'l Parsed<'_>) -> Vec<&'l str> {
        line.attrs.iter().map(|(k, _)| &**k).collect()
    }

    #[test]
    fn a_combined_line_becomes_http_attributes_and_the_time() {
        let line = parse(
            r#"203.0.113.7 - alice [25/Jan/2024:11:30:45 +0100] "POST /api/v1/users?tenant=acme HTTP/1.1" 201 512 "https://app.example/" "Mozilla/5.0 (X11; Linux x86_64)""#,
        )
        .unwrap();
        assert_eq!(line.time, Some(1_706_178_645_000_000_000));
        assert_eq!(
            line.attrs,
            vec![
                ("client.address".into(), Val::str("203.0.113.7")),
                ("user.name".into(), Val::str("alice")),
                ("http.request.method".into(), Val::str("POST")),
                ("url.path".into(), Val::str("/api/v1/users")),
                ("url.query".into(), Val::str("tenant=acme")),
                ("network.protocol.name".into(), Val::str("http")),
                ("network.protocol.version".into(), Val::str("1.1")),
                ("http.response.status_code".into(), Val::Int(201)),
                ("http.response.body.size".into(), Val::Int(512)),
                ("http.request.header.referer".into(), Val::str("https://app.example/")),
                ("user_agent.original".into(), Val::str("Mozilla/5.0 (X11; Linux x86_64)")),
            ]
        );
        assert_eq!(line.body, None);
    }

    #[test]
    fn the_common_format_dashes_and_nginx_forwarded_for_are_understood() {
        let common =
            parse(r#"127.0.0.1 frank - [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 -"#).unwrap();
        assert_eq!(
            keys(&common),
            [
                "client.address",
                "ident",
                "http.request.method",
                "url.path",
                "network.protocol.name",
                "network.protocol.version",
                "http.response.status_code"
            ]
        );
        let nginx = parse(
            r#"10.0.0.1 - - [25/Jan/2024:10:30:45 +0000] "GET / HTTP/2.0" 304 0 "-" "-" "198.51.100.1, 10.0.0.2""#,
        )
        .unwrap();
        assert_eq!(nginx.attrs.last().unwrap().1, Val::str("198.51.100.1, 10.0.0.2"));
        assert!(!keys(&nginx).contains(&"user_agent.original"));
    }

    #[test]
    fn odd_request_lines_and_escaped_quotes_are_kept_whole() {
        let line =
            parse(r#"192.0.2.1 - - [25/Jan/2024:10:30:45 +0000] "\x16\x03\x01" 400 157 "-" "say \"hi\"""#).unwrap();
        assert_eq!(line.attrs[1], ("http.request.line".into(), Val::str(r"\x16\x03\x01")));
        assert_eq!(line.attrs.last().unwrap().1, Val::Str(Cow::Owned("say \"hi\"".into())));
        let dash = parse(r#"192.0.2.1 - - [25/Jan/2024:10:30:45 +0000] "-" 408 0 "-" "-""#).unwrap();
        assert_eq!(keys(&dash), ["client.address", "http.response.status_code", "http.response.body.size"]);
    }

    #[test]
    fn lines_that_are_not_access_logs_are_errors() {
        let cases = [
            ("", "access log: no client address"),
            ("just some text", "access log: no [time]"),
            (r#"1.2.3.4 - - [yesterday] "GET / HTTP/1.1" 200 1"#, "access log: bad time [yesterday]"),
            (r#"1.2.3.4 - - [25/Jan/2024:10:30:45 +0000] GET 200 1"#, "access log: no quoted request after the time"),
            (r#"1.2.3.4 - - [25/Jan/2024:10:30:45 +0000] "GET / HTTP/1.1" OK 1"#, "access log: bad status `OK`"),
            (
                r#"1.2.3.4 - - [25/Jan/2024:10:30:45 +0000] "GET / HTTP/1.1" 200 1 "-" "ua" tail"#,
                "access log: unexpected text after the user agent",
            ),
            (
                r#"1.2.3.4 - - [25/Jan/2024:10:30:45 +0000] "GET / HTTP/1.1" 200 1 "-"#,
                "access log: expected a quoted referer after the size",
            ),
        ];
        for (text, want) in cases {
            assert_eq!(parse(text).unwrap_err(), want, "{text}");
        }
    }
}
