//! The Rust SDK for Aegis plugins.
//!
//! A plugin is a WebAssembly component built for `wasm32-wasip2` against the contract
//! in `wit/telemetry.wit`. This crate carries that contract, so a plugin writes no
//! bindings: implement [`Processor`], [`Receiver`] or [`Exporter`] and export the type
//! with the matching macro.
//!
//! ```
//! use aegis_plugin_sdk::prelude::*;
//!
//! #[derive(Default)]
//! struct Tag;
//!
//! impl Processor for Tag {
//!     fn process_logs(&mut self, logs: &mut Logs) -> Result<(), Error> {
//!         for mut record in logs.records_mut() {
//!             record.set_attribute("env", "prod");
//!         }
//!         Ok(())
//!     }
//! }
//!
//! export_processor!(Tag);
//! # fn main() {}
//! ```
//!
//! Telemetry arrives as OTLP protobuf bytes and is read in place: [`Logs`],
//! [`Traces`] and [`Metrics`] (from `aegis-wire`) give lazy views of records, spans
//! and data points and splice edits into the bytes. See `docs/plugins.md`.

#![warn(missing_docs)]

#[allow(missing_docs)]
#[doc(hidden)]
pub mod bindings;
pub mod condition;
mod config;
mod error;
mod exporter;
pub mod hash;
pub mod host;
mod processor;
mod receiver;
mod types;

// Linked for its `memcmp`, which replaces wasi-libc's.
#[cfg(target_arch = "wasm32")]
use aegis_plugin_mem as _;

pub use aegis_wire as wire;
pub use aegis_wire::{
    AnyValue, DataPointMut, LogRecord, LogRecordData, LogRecordMut, Logs, Metric, MetricMut, Metrics, Outcome,
    Resource, Scope, Signal, Span, SpanData, SpanMut, Traces, Value, ValueRef,
};
pub use config::Config;
pub use error::{Error, ErrorKind, Result};
pub use exporter::Exporter;
pub use processor::{Processor, run as run_processor};
pub use receiver::Receiver;
pub use types::{
    ALL_SIGNALS, Batch, FileLine, Frame, HttpRequest, HttpResponse, Input, Payload, PluginInfo, Received, Scrape,
};

/// Everything a plugin usually needs, in one `use`.
pub mod prelude {
    pub use crate::host::{self, Level};
    pub use crate::{
        AnyValue, Batch, Config, Error, ErrorKind, Exporter, HttpRequest, HttpResponse, Input, LogRecordMut, Logs,
        Metrics, Payload, PluginInfo, Processor, Received, Receiver, Signal, Traces, Value, ValueRef,
    };
    pub use crate::{export_exporter, export_processor, export_receiver};
}

/// Plumbing shared by the export glue of the three worlds.
mod glue {
    use std::cell::RefCell;
    use std::thread::LocalKey;

    use crate::{Config, Error};

    /// Where an exported plugin keeps its one instance.
    pub(crate) type Slot<T> = LocalKey<RefCell<Option<T>>>;

    /// Builds an instance from the JSON config with the plugin's `init`, or with
    /// `Default` when the plugin left `init` alone.
    pub(crate) fn init_instance<T>(
        config: &str,
        init: fn(Config) -> Result<T, Error>,
        fallback: fn() -> Option<T>,
    ) -> Result<T, Error> {
        match init(Config::from_json(config)?) {
            Err(e) if e.is_not_implemented() => fallback().ok_or(e),
            other => other,
        }
    }
}

/// What the export macros expand to; not part of the API.
#[doc(hidden)]
pub mod __private {
    use std::marker::PhantomData;

    pub use crate::bindings;
    pub use crate::exporter::glue as exporter;
    pub use crate::processor::glue as processor;
    pub use crate::receiver::glue as receiver;

    /// Picks `Default::default` for types that have it (autoref specialization: the
    /// macro calls `(&InitWith::<T>::new()).fallback()` on a concrete type).
    pub struct InitWith<T>(PhantomData<T>);

    impl<T> InitWith<T> {
        pub fn new() -> Self {
            InitWith(PhantomData)
        }
    }

    impl<T> Default for InitWith<T> {
        fn default() -> Self {
            InitWith::new()
        }
    }

    pub trait ViaDefault<T> {
        fn fallback(&self) -> Option<T>;
    }

    impl<T: Default> ViaDefault<T> for InitWith<T> {
        fn fallback(&self) -> Option<T> {
            Some(T::default())
        }
    }

    pub trait ViaNothing<T> {
        fn fallback(&self) -> Option<T>;
    }

    impl<T> ViaNothing<T> for &InitWith<T> {
        fn fallback(&self) -> Option<T> {
            None
        }
    }
}

/// Exports a [`Processor`] as the plugin's `processor` world.
///
/// Use it once per plugin crate (a `cdylib`), at the top level: `export_processor!(MyProcessor);`
#[macro_export]
macro_rules! export_processor {
    ($ty:ty) => {
        // Only a WebAssembly build exports the world, so that plugin crates can also be
        // linked natively (several at once) for benchmarks against native code.
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            ::std::thread_local! {
                static INSTANCE: ::std::cell::RefCell<::std::option::Option<$ty>> =
                    const { ::std::cell::RefCell::new(::std::option::Option::None) };
            }

            struct AegisProcessor;

            impl $crate::__private::bindings::processor::Guest for AegisProcessor {
                fn describe() -> $crate::__private::bindings::processor::PluginInfo {
                    $crate::__private::processor::describe::<$ty>(
                        ::std::env!("CARGO_PKG_NAME"),
                        ::std::env!("CARGO_PKG_VERSION"),
                    )
                }

                fn init(
                    config: ::std::string::String,
                ) -> ::std::result::Result<(), $crate::__private::bindings::processor::Error> {
                    $crate::__private::processor::init::<$ty>(&INSTANCE, &config, || {
                        #[allow(unused_imports)]
                        use $crate::__private::{ViaDefault as _, ViaNothing as _};
                        (&$crate::__private::InitWith::<$ty>::new()).fallback()
                    })
                }

                fn process(
                    batch: $crate::__private::bindings::processor::Batch,
                ) -> ::std::result::Result<
                    $crate::__private::bindings::processor::Outcome,
                    $crate::__private::bindings::processor::Error,
                > {
                    $crate::__private::processor::process::<$ty>(&INSTANCE, batch)
                }

                fn tick(
                    now_unix_nanos: u64,
                    stopping: bool,
                ) -> ::std::result::Result<
                    ::std::vec::Vec<$crate::__private::bindings::processor::Batch>,
                    $crate::__private::bindings::processor::Error,
                > {
                    $crate::__private::processor::tick::<$ty>(&INSTANCE, now_unix_nanos, stopping)
                }
            }

            $crate::__private::bindings::processor::export!(
                AegisProcessor with_types_in $crate::__private::bindings::processor
            );
        };
        // Natively nothing is exported; this keeps the plugin's type from reading as dead.
        #[cfg(not(target_arch = "wasm32"))]
        const _: () = {
            #[used]
            static KEEP: (
                fn($crate::Config) -> ::std::result::Result<$ty, $crate::Error>,
                fn(&mut $ty, $crate::Signal, &[u8]) -> ::std::result::Result<$crate::Outcome, $crate::Error>,
            ) = (<$ty as $crate::Processor>::init, $crate::run_processor::<$ty>);
        };
    };
}

/// Exports a [`Receiver`] as the plugin's `receiver` world.
#[macro_export]
macro_rules! export_receiver {
    ($ty:ty) => {
        // Only a WebAssembly build exports the world, so that plugin crates can also be
        // linked natively (several at once) for benchmarks against native code.
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            ::std::thread_local! {
                static INSTANCE: ::std::cell::RefCell<::std::option::Option<$ty>> =
                    const { ::std::cell::RefCell::new(::std::option::Option::None) };
            }

            struct AegisReceiver;

            impl $crate::__private::bindings::receiver::Guest for AegisReceiver {
                fn describe() -> $crate::__private::bindings::receiver::PluginInfo {
                    $crate::__private::receiver::describe::<$ty>(
                        ::std::env!("CARGO_PKG_NAME"),
                        ::std::env!("CARGO_PKG_VERSION"),
                    )
                }

                fn init(
                    config: ::std::string::String,
                ) -> ::std::result::Result<(), $crate::__private::bindings::receiver::Error> {
                    $crate::__private::receiver::init::<$ty>(&INSTANCE, &config, || {
                        #[allow(unused_imports)]
                        use $crate::__private::{ViaDefault as _, ViaNothing as _};
                        (&$crate::__private::InitWith::<$ty>::new()).fallback()
                    })
                }

                fn receive(
                    input: $crate::__private::bindings::receiver::Input,
                ) -> ::std::result::Result<
                    $crate::__private::bindings::receiver::Received,
                    $crate::__private::bindings::receiver::Error,
                > {
                    $crate::__private::receiver::receive::<$ty>(&INSTANCE, input)
                }
            }

            $crate::__private::bindings::receiver::export!(
                AegisReceiver with_types_in $crate::__private::bindings::receiver
            );
        };
        // Natively nothing is exported; this keeps the plugin's type from reading as dead.
        #[cfg(not(target_arch = "wasm32"))]
        const _: () = {
            #[used]
            static KEEP: (
                fn($crate::Config) -> ::std::result::Result<$ty, $crate::Error>,
                fn(&mut $ty, $crate::Input) -> ::std::result::Result<$crate::Received, $crate::Error>,
            ) = (<$ty as $crate::Receiver>::init, <$ty as $crate::Receiver>::receive);
        };
    };
}

/// Exports an [`Exporter`] as the plugin's `exporter` world.
#[macro_export]
macro_rules! export_exporter {
    ($ty:ty) => {
        // Only a WebAssembly build exports the world, so that plugin crates can also be
        // linked natively (several at once) for benchmarks against native code.
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            ::std::thread_local! {
                static INSTANCE: ::std::cell::RefCell<::std::option::Option<$ty>> =
                    const { ::std::cell::RefCell::new(::std::option::Option::None) };
            }

            struct AegisExporter;

            impl $crate::__private::bindings::exporter::Guest for AegisExporter {
                fn describe() -> $crate::__private::bindings::exporter::PluginInfo {
                    $crate::__private::exporter::describe::<$ty>(
                        ::std::env!("CARGO_PKG_NAME"),
                        ::std::env!("CARGO_PKG_VERSION"),
                    )
                }

                fn init(
                    config: ::std::string::String,
                ) -> ::std::result::Result<(), $crate::__private::bindings::exporter::Error> {
                    $crate::__private::exporter::init::<$ty>(&INSTANCE, &config, || {
                        #[allow(unused_imports)]
                        use $crate::__private::{ViaDefault as _, ViaNothing as _};
                        (&$crate::__private::InitWith::<$ty>::new()).fallback()
                    })
                }

                fn export(
                    batch: $crate::__private::bindings::exporter::Batch,
                ) -> ::std::result::Result<
                    ::std::vec::Vec<$crate::__private::bindings::exporter::Payload>,
                    $crate::__private::bindings::exporter::Error,
                > {
                    $crate::__private::exporter::export::<$ty>(&INSTANCE, batch)
                }

                fn flush(
                    now_unix_nanos: u64,
                ) -> ::std::result::Result<
                    ::std::vec::Vec<$crate::__private::bindings::exporter::Payload>,
                    $crate::__private::bindings::exporter::Error,
                > {
                    $crate::__private::exporter::flush::<$ty>(&INSTANCE, now_unix_nanos)
                }

                fn render(
                    request: $crate::__private::bindings::exporter::HttpRequest,
                ) -> ::std::result::Result<
                    $crate::__private::bindings::exporter::HttpResponse,
                    $crate::__private::bindings::exporter::Error,
                > {
                    $crate::__private::exporter::render::<$ty>(&INSTANCE, request)
                }
            }

            $crate::__private::bindings::exporter::export!(
                AegisExporter with_types_in $crate::__private::bindings::exporter
            );
        };
        // Natively nothing is exported; this keeps the plugin's type from reading as dead.
        #[cfg(not(target_arch = "wasm32"))]
        const _: () = {
            #[used]
            static KEEP: (
                fn($crate::Config) -> ::std::result::Result<$ty, $crate::Error>,
                fn(&mut $ty, $crate::Batch) -> ::std::result::Result<::std::vec::Vec<$crate::Payload>, $crate::Error>,
                fn(&mut $ty, u64) -> ::std::result::Result<::std::vec::Vec<$crate::Payload>, $crate::Error>,
                fn(&mut $ty, $crate::HttpRequest) -> ::std::result::Result<$crate::HttpResponse, $crate::Error>,
            ) = (
                <$ty as $crate::Exporter>::init,
                <$ty as $crate::Exporter>::export,
                <$ty as $crate::Exporter>::flush,
                <$ty as $crate::Exporter>::render,
            );
        };
    };
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::__private::{InitWith, ViaDefault as _, ViaNothing as _};
    use super::bindings::wit;
    use super::prelude::*;
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Settings {
        rules: Vec<Rule>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Rule {
        limit: u32,
    }

    #[test]
    fn config_parses_into_the_plugins_struct() {
        let config = Config::from_json(r#"{"rules": [{"limit": 1}, {"limit": 2}]}"#).unwrap();
        let settings: Settings = config.parse().unwrap();
        let limits: Vec<u32> = settings.rules.iter().map(|r| r.limit).collect();
        assert_eq!(limits, vec![1, 2]);
    }

    #[test]
    fn config_errors_name_the_key_that_is_wrong() {
        let config = Config::from_json(r#"{"rules": [{"limit": 1}, {"limit": "many"}]}"#).unwrap();
        let err = config.parse::<Settings>().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert_eq!(err.message(), "rules[1].limit: invalid type: string \"many\", expected u32");
        let config = Config::from_json(r#"{"rulez": []}"#).unwrap();
        let err = config.parse::<Settings>().unwrap_err();
        assert_eq!(err.message(), "rulez: unknown field `rulez`, expected `rules`");
    }

    #[test]
    fn empty_config_text_is_an_empty_table_and_bad_json_is_a_config_error() {
        assert!(Config::from_json("  ").unwrap().is_empty());
        let err = Config::from_json("{").unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.message().starts_with("the config is not valid JSON"));
    }

    #[test]
    fn plugin_names_drop_the_crate_prefix() {
        let info = PluginInfo::from_crate("aegis-plugin-redact", "1.2.3", vec![Signal::Logs]);
        assert_eq!(info.name, "redact");
        assert_eq!(info.version, "1.2.3");
        assert_eq!(PluginInfo::from_crate("mine", "0", vec![]).name, "mine");
    }

    #[derive(Default, Debug, PartialEq)]
    struct Plain;
    impl Processor for Plain {}

    #[derive(Debug)]
    struct NeedsConfig;
    impl Processor for NeedsConfig {}

    #[test]
    // The borrow is the autoref specialization the export macros rely on.
    #[allow(clippy::needless_borrow)]
    fn default_types_need_no_init_and_others_are_told_to_write_one() {
        let plain = glue::init_instance("{}", Plain::init, || (&InitWith::<Plain>::new()).fallback());
        assert_eq!(plain.unwrap(), Plain);
        let err =
            glue::init_instance("{}", NeedsConfig::init, || (&InitWith::<NeedsConfig>::new()).fallback()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert_eq!(err.message(), "the plugin implements neither `init` nor `Default`");
    }

    #[test]
    fn a_processor_that_edits_nothing_returns_unchanged_and_one_that_edits_returns_bytes() {
        struct Tag;
        impl Processor for Tag {
            fn process_logs(&mut self, logs: &mut Logs) -> Result<(), Error> {
                for mut record in logs.records_mut() {
                    record.set_attribute("env", "prod");
                }
                Ok(())
            }
        }
        let request = wire::LogsData {
            resource_logs: vec![wire::ResourceLogsData {
                scope_logs: vec![wire::ScopeLogsData {
                    log_records: vec![LogRecordData::default()],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
        .encode();
        assert_eq!(run_processor(&mut Plain, Signal::Logs, &request).unwrap(), Outcome::Unchanged);
        let Outcome::Replaced(out) = run_processor(&mut Tag, Signal::Logs, &request).unwrap() else {
            panic!("the record was edited");
        };
        let logs = Logs::parse(&out).unwrap();
        let record = logs.records().next().unwrap();
        assert_eq!(record.attribute("env").unwrap().as_str(), Some("prod"));
        // Traces pass through a processor that only does logs.
        assert_eq!(run_processor(&mut Tag, Signal::Traces, &[]).unwrap(), Outcome::Unchanged);
    }

    #[test]
    fn malformed_batches_are_invalid_input() {
        let err = run_processor(&mut Plain, Signal::Logs, &[0xff]).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput);
        assert!(err.message().starts_with("malformed OTLP protobuf at byte 0"));
    }

    thread_local! {
        static RECEIVER: RefCell<Option<Echo>> = const { RefCell::new(None) };
        static EXPORTER: RefCell<Option<Count>> = const { RefCell::new(None) };
    }

    #[derive(Default)]
    struct Echo;
    impl Receiver for Echo {
        fn signals() -> Vec<Signal> {
            vec![Signal::Logs]
        }

        fn receive(&mut self, input: Input) -> Result<Received, Error> {
            match input {
                Input::Http(request) => Ok(Received::batch(Signal::Logs, request.body)
                    .with_response(HttpResponse::new(202).with_header("x-seen", &request.path))),
                _ => Err(Error::invalid_input("only HTTP")),
            }
        }
    }

    #[derive(Default)]
    struct Count {
        batches: usize,
    }
    impl Exporter for Count {
        fn export(&mut self, _: Batch) -> Result<Vec<Payload>, Error> {
            self.batches += 1;
            Ok(Vec::new())
        }

        fn render(&mut self, _: HttpRequest) -> Result<HttpResponse, Error> {
            Ok(HttpResponse::ok(self.batches.to_string()))
        }
    }

    #[test]
    fn receiver_glue_converts_input_and_output() {
        let info = receiver::glue::describe::<Echo>("aegis-plugin-echo", "0.1.0");
        assert_eq!(info.name, "echo");
        assert!(matches!(info.signals[..], [wit::Signal::Logs]));
        let before = receiver::glue::receive::<Echo>(&RECEIVER, wit::Input::Tick(1)).unwrap_err();
        assert!(matches!(before.kind, wit::ErrorKind::Failed));
        receiver::glue::init::<Echo>(&RECEIVER, "", || Some(Echo)).unwrap();
        let request =
            wit::HttpRequest { method: "POST".into(), path: "/push".into(), headers: vec![], body: vec![1, 2, 3] };
        let got = receiver::glue::receive::<Echo>(&RECEIVER, wit::Input::Http(request)).unwrap();
        assert_eq!(got.batches.len(), 1);
        assert_eq!(got.batches[0].payload, vec![1, 2, 3]);
        let response = got.response.unwrap();
        assert_eq!(response.status, 202);
        assert_eq!(response.headers, vec![("x-seen".into(), "/push".into())]);
        let err = receiver::glue::receive::<Echo>(&RECEIVER, wit::Input::Tick(5)).unwrap_err();
        assert!(matches!(err.kind, wit::ErrorKind::InvalidInput));
        assert_eq!(err.message, "only HTTP");
    }

    #[test]
    fn exporter_glue_keeps_state_between_calls() {
        exporter::glue::init::<Count>(&EXPORTER, "{}", || Some(Count::default())).unwrap();
        for _ in 0..3 {
            let batch = wit::Batch { signal: wit::Signal::Metrics, payload: vec![] };
            assert!(exporter::glue::export::<Count>(&EXPORTER, batch).unwrap().is_empty());
        }
        assert!(exporter::glue::flush::<Count>(&EXPORTER, 0).unwrap().is_empty());
        let request = wit::HttpRequest { method: "GET".into(), path: "/metrics".into(), headers: vec![], body: vec![] };
        let response = exporter::glue::render::<Count>(&EXPORTER, request).unwrap();
        assert_eq!((response.status, response.body), (200, b"3".to_vec()));
    }
}
