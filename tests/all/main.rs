//! Integration tests: one binary, so the host is linked once. Each module drives a real
//! `aegis` process over loopback.

mod cli;
mod config;
mod file_logs;
mod filter;
mod malformed;
mod misbehaving;
mod otlp_pipeline;
mod support;
