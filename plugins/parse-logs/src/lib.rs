//! The parse-logs processor (being written).
