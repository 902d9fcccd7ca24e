//! `format = "cri"`: the lines container runtimes (containerd, CRI-O) write for each
//! container, `TIME STREAM TAG MESSAGE`:
//!
//! ```text
//! 2024-01-25T10:30:45.123456789Z stdout F {"level":"info","message":"ready"}
//! ```
//!
//! A runtime splits long lines (containerd at 16 KiB) into partial lines tagged `P`,
//! ending with one tagged `F`. Joining them needs state across records: the processor
//! keeps the pieces per container stream (see `Partials` in `lib.rs`) and emits one
//! record when the `F` piece arrives, in the same batch or a later one.

use crate::time::rfc3339;

/// One CRI line.
#[derive(Debug, PartialEq)]
pub(crate) struct CriLine<'a> {
    pub(crate) time: u64,
    /// `stdout` or `stderr`.
    pub(crate) stream: &'a str,
    /// The tag field as written, e.g. `F` or `P`.
    pub(crate) tag: &'a str,
    /// Whether this is a partial line (the tag's first flag is `P`).
    pub(crate) partial: bool,
    pub(crate) message: &'a str,
}

/// Parses one CRI line.
pub(crate) fn parse(text: &str) -> Result<CriLine<'_>, String> {
    let mut parts = text.splitn(4, ' ');
    let stamp = parts.next().unwrap_or_default();
    let time = rfc3339(stamp).ok_or_else(|| format!("cri: bad timestamp `{stamp}`"))?;
    let stream = parts.next().ok_or("cri: no stream after the timestamp")?;
    if stream != "stdout" && stream != "stderr" {
        return Err(format!("cri: bad stream `{stream}` (not stdout or stderr)"));
    }
    let tag = parts.next().ok_or("cri: no tag after the stream")?;
    let partial = match tag.split(':').next() {
        Some("P") => true,
        Some("F") => false,
        _ => return Err(format!("cri: bad tag `{tag}` (not P or F)")),
    };
    Ok(CriLine { time, stream, tag, partial, message: parts.next().unwrap_or_default() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_and_partial_lines_are_read() {
        assert_eq!(
            parse("2024-01-25T10:30:45.123456789Z stderr F error: connection refused").unwrap(),
            CriLine {
                time: 1_706_178_645_123_456_789,
                stream: "stderr",
                tag: "F",
                partial: false,
                message: "error: connection refused"
            }
        );
        let partial = parse("2024-01-25T10:30:45.123456789+00:00 stdout P {\"a\":").unwrap();
        assert!(partial.partial);
        assert_eq!(partial.message, "{\"a\":");
        // Messages keep their spaces; an empty message is allowed.
        assert_eq!(parse("2024-01-25T10:30:45Z stdout F   indented ").unwrap().message, "  indented ");
        assert_eq!(parse("2024-01-25T10:30:45Z stdout F").unwrap().message, "");
        assert!(!parse("2024-01-25T10:30:45Z stdout F:x msg").unwrap().partial);
    }

    #[test]
    fn lines_that_are_not_cri_are_errors() {
        let cases = [
            ("", "cri: bad timestamp ``"),
            ("hello world", "cri: bad timestamp `hello`"),
            ("2024-01-25T10:30:45Z", "cri: no stream after the timestamp"),
            ("2024-01-25T10:30:45Z stdin F x", "cri: bad stream `stdin` (not stdout or stderr)"),
            ("2024-01-25T10:30:45Z stdout", "cri: no tag after the stream"),
            ("2024-01-25T10:30:45Z stdout X x", "cri: bad tag `X` (not P or F)"),
        ];
        for (text, want) in cases {
            assert_eq!(parse(text).unwrap_err(), want, "{text}");
        }
    }
}
