//! The one small condition language shared by `filter`, `sample`'s keep rules and
//! `redact`'s scopes (to be written: see docs/plugins.md for the syntax).
