//! A processor that misbehaves on demand, so the host's tests can check that a bad
//! plugin is contained: it loops forever, exhausts its memory, traps, returns bytes
//! that are not OTLP, or returns an error, whenever a batch holds the trigger (in a log
//! record's body, a span's name or a metric's name). Other batches pass unchanged.
//!
//! Config: `{ "mode": "loop" | "memory-bomb" | "trap" | "garbage" | "error" | "pass",
//! "trigger": "boom" }` (`trigger` defaults to `boom`).

use aegis_plugin_sdk::prelude::*;
use serde::Deserialize;

/// How to misbehave.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum Mode {
    /// Spin forever (the host's epoch deadline must stop it).
    Loop,
    /// Allocate until the memory limit makes allocation fail.
    MemoryBomb,
    /// Panic, which traps.
    Trap,
    /// Return bytes that are not valid OTLP.
    Garbage,
    /// Return an error of kind `failed`.
    Error,
    /// Do nothing, even when triggered.
    Pass,
}

/// The configuration.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Settings {
    /// How to misbehave.
    mode: Mode,
    /// The text that sets it off.
    #[serde(default = "default_trigger")]
    trigger: String,
}

fn default_trigger() -> String {
    "boom".to_owned()
}

/// The processor.
#[derive(Debug)]
struct Misbehave {
    settings: Settings,
}

/// Bytes that no OTLP request starts with: a tag whose varint never ends.
const GARBAGE: &[u8] = &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];

impl Misbehave {
    /// Misbehaves as configured; returns only for the modes that return.
    fn misbehave(&self, replace: impl FnOnce(Vec<u8>)) -> Result<(), Error> {
        match self.settings.mode {
            Mode::Loop => {
                let mut spins: u64 = 0;
                loop {
                    spins = std::hint::black_box(spins.wrapping_add(1));
                }
            }
            Mode::MemoryBomb => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    // Touch every page so the memory is really committed.
                    hoard.push(std::hint::black_box(vec![0xa5; 4 << 20]));
                }
            }
            Mode::Trap => panic!("misbehave: trap triggered by {:?}", self.settings.trigger),
            Mode::Garbage => {
                replace(GARBAGE.to_vec());
                Ok(())
            }
            Mode::Error => Err(Error::failed(format!("misbehave: error triggered by {:?}", self.settings.trigger))),
            Mode::Pass => Ok(()),
        }
    }
}

impl Processor for Misbehave {
    fn init(config: Config) -> Result<Self, Error> {
        Ok(Misbehave { settings: config.parse()? })
    }

    fn process_logs(&mut self, logs: &mut Logs) -> Result<(), Error> {
        let trigger = self.settings.trigger.as_str();
        let hit = logs.records().any(|record| {
            record.body().is_some_and(|body| match body.as_str() {
                Some(text) => text.contains(trigger),
                None => body.to_string().contains(trigger),
            })
        });
        if hit {
            self.misbehave(|bytes| logs.replace(bytes))?;
        }
        Ok(())
    }

    fn process_traces(&mut self, traces: &mut Traces) -> Result<(), Error> {
        let trigger = self.settings.trigger.as_str();
        if traces.spans().any(|span| span.name().contains(trigger)) {
            self.misbehave(|bytes| traces.replace(bytes))?;
        }
        Ok(())
    }

    fn process_metrics(&mut self, metrics: &mut Metrics) -> Result<(), Error> {
        let trigger = self.settings.trigger.as_str();
        if metrics.metrics().any(|metric| metric.name().contains(trigger)) {
            self.misbehave(|bytes| metrics.replace(bytes))?;
        }
        Ok(())
    }
}

export_processor!(Misbehave);

#[cfg(test)]
mod tests {
    use super::*;
    use aegis_plugin_sdk::wire::{LogRecordData, LogsData, ResourceLogsData, ScopeLogsData};
    use aegis_plugin_sdk::{Outcome, run_processor};

    fn processor(mode: &str) -> Misbehave {
        Misbehave::init(Config::from_json(&format!(r#"{{"mode": "{mode}"}}"#)).unwrap()).unwrap()
    }

    fn logs(body: &str) -> Vec<u8> {
        LogsData {
            resource_logs: vec![ResourceLogsData {
                scope_logs: vec![ScopeLogsData {
                    log_records: vec![LogRecordData { body: Some(Value::from(body)), ..Default::default() }],
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
        .encode()
    }

    #[test]
    fn batches_without_the_trigger_pass_unchanged_in_every_mode() {
        for mode in ["loop", "memory-bomb", "trap", "garbage", "error", "pass"] {
            let mut p = processor(mode);
            assert_eq!(run_processor(&mut p, Signal::Logs, &logs("all quiet")).unwrap(), Outcome::Unchanged, "{mode}");
        }
    }

    #[test]
    fn garbage_mode_replaces_the_batch_with_invalid_otlp() {
        let mut p = processor("garbage");
        let out = run_processor(&mut p, Signal::Logs, &logs("it went boom")).unwrap();
        let Outcome::Replaced(bytes) = out else {
            panic!("expected garbage, got {out:?}");
        };
        assert!(aegis_plugin_sdk::wire::validate(Signal::Logs, &bytes).is_err());
    }

    #[test]
    fn error_mode_returns_a_failed_error() {
        let mut p = processor("error");
        let err = run_processor(&mut p, Signal::Logs, &logs("boom")).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Failed);
        assert_eq!(err.message(), "misbehave: error triggered by \"boom\"");
    }

    #[test]
    fn an_unknown_mode_is_a_config_error() {
        let err = Misbehave::init(Config::from_json(r#"{"mode": "explode"}"#).unwrap()).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.message().starts_with("mode: unknown variant `explode`"), "{}", err.message());
    }
}
