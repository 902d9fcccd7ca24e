//! Integration tests: one binary, so the host is linked once. Each module drives a real
//! `aegis` process over loopback.

mod attributes;
mod cli;
mod config;
mod file_logs;
mod filter;
mod host_metrics;
mod loki;
mod malformed;
mod misbehaving;
mod otlp_pipeline;
mod parse_logs;
mod prometheus_exporters;
mod prometheus_scrape;
mod prometheus_support;
mod redact;
mod sample;
mod support;
mod tls;
