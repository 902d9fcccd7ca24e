//! The TOML pipeline config: its schema, `${ENV_VAR}` substitution, and validation that
//! reports every problem at once, each with the table and key where it is.
//!
//! Every key is documented in `docs/configuration.md`; a key that is not there does not exist.
//! Checks that need the plugins themselves (which world a component implements, which
//! signals it handles) are made by the topology builder, which adds its findings to the
//! same list of errors.

mod env;
mod schema;

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

pub use schema::*;

/// The pipeline that `aegis run` uses without `--config`: OTLP in on the standard ports,
/// every signal printed to the console.
pub const DEFAULT_CONFIG: &str = include_str!("../../pipelines/default.toml");

/// One problem in a config, with where it is (`processors.scrub.limits.memory`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The table and key, e.g. `pipelines.traces.exporters`.
    pub location: String,
    /// What is wrong there.
    pub message: String,
}

impl ConfigError {
    pub(crate) fn new(location: impl Into<String>, message: impl Into<String>) -> Self {
        Self { location: location.into(), message: message.into() }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.message)
    }
}

/// Every problem found in a config.
#[derive(Debug, Clone, thiserror::Error)]
pub struct ConfigErrors {
    /// Where the config came from (a path, or `embedded default`).
    pub origin: String,
    /// The problems, in the order of the file.
    pub errors: Vec<ConfigError>,
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self.errors.len();
        writeln!(f, "{} has {count} error{}:", self.origin, if count == 1 { "" } else { "s" })?;
        for error in &self.errors {
            writeln!(f, "  - {error}")?;
        }
        Ok(())
    }
}

/// A `Result` whose error lists every config problem.
pub type Result<T> = std::result::Result<T, ConfigErrors>;

impl Config {
    /// Reads and validates the config at `path`; relative plugin paths resolve against its folder.
    pub fn load(path: &Path) -> Result<Config> {
        let source = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|error| ConfigErrors {
            origin: source.clone(),
            errors: vec![ConfigError::new("file", format!("cannot read it: {error}"))],
        })?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Self::parse(&text, &source, &base)
    }

    /// The embedded default pipeline.
    pub fn embedded_default() -> Config {
        Self::parse(DEFAULT_CONFIG, "embedded default", Path::new("."))
            .expect("the embedded default config is valid (a test checks it)")
    }

    /// Parses and validates config text; `base` is the folder relative plugin paths start from.
    pub fn parse(text: &str, source: &str, base: &Path) -> Result<Config> {
        let mut errors = Vec::new();
        let text = env::substitute(text, |name| std::env::var(name).ok(), &mut errors);
        let fail = |errors| ConfigErrors { origin: source.to_string(), errors };
        let table: toml::Table = match toml::from_str(&text) {
            Ok(table) => table,
            Err(error) => {
                errors.push(toml_error(&text, &error));
                return Err(fail(errors));
            }
        };
        let config = Parser { base, errors: &mut errors }.config(table, source);
        if errors.is_empty() { Ok(config) } else { Err(fail(errors)) }
    }
}

fn toml_error(text: &str, error: &toml::de::Error) -> ConfigError {
    let location = match error.span() {
        Some(span) => {
            let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
            format!("line {line}")
        }
        None => "file".to_string(),
    };
    ConfigError::new(location, format!("invalid TOML: {}", error.message()))
}

/// Turns the TOML table into a typed [`Config`], collecting every problem on the way.
struct Parser<'a> {
    base: &'a Path,
    errors: &'a mut Vec<ConfigError>,
}

impl Parser<'_> {
    fn config(&mut self, mut table: toml::Table, source: &str) -> Config {
        let admin = self.section(&mut table, "admin");
        let runtime = self.section(&mut table, "runtime");
        let receivers = self.components(&mut table, "receivers", Self::receiver);
        let processors = self.components(&mut table, "processors", Self::processor);
        let exporters = self.components(&mut table, "exporters", Self::exporter);
        let pipelines = self.components(&mut table, "pipelines", |parser, location, value| {
            parser.typed::<PipelineConfig>(location, value)
        });
        for key in table.keys() {
            self.error(
                key.clone(),
                "unknown top-level table (expected admin, runtime, receivers, processors, exporters or pipelines)",
            );
        }
        let mut config = Config {
            source: source.to_string(),
            admin: admin.unwrap_or_default(),
            runtime: runtime.unwrap_or_default(),
            receivers,
            processors,
            exporters,
            pipelines,
        };
        self.resolve_paths(&mut config);
        self.check(&config);
        config
    }

    /// Makes relative file paths relative to the config's folder instead of the working directory.
    fn resolve_paths(&self, config: &mut Config) {
        let base = self.base;
        let resolve = |path: &mut PathBuf| {
            if path.is_relative() {
                *path = base.join(&*path);
            }
        };
        let plugin = |source: &mut PluginSource, grants: &mut Grants| {
            if let PluginSource::File(path) = source {
                resolve(path);
            }
            grants.dirs.iter_mut().for_each(|dir| resolve(&mut dir.host));
        };
        for receiver in config.receivers.values_mut() {
            if let ReceiverConfig::Plugin(receiver) = receiver {
                plugin(&mut receiver.plugin, &mut receiver.grants);
                if let Some(checkpoint) = receiver.files.as_mut().and_then(|files| files.checkpoint.as_mut()) {
                    resolve(checkpoint);
                }
            }
        }
        for processor in config.processors.values_mut() {
            plugin(&mut processor.plugin, &mut processor.grants);
        }
        for exporter in config.exporters.values_mut() {
            match exporter {
                ExporterConfig::Plugin(exporter) => plugin(&mut exporter.plugin, &mut exporter.grants),
                ExporterConfig::Otlp(otlp) => {
                    if let Some(ca) = &mut otlp.tls.ca_file {
                        resolve(ca);
                    }
                }
                ExporterConfig::Debug(_) => {}
            }
        }
    }

    fn error(&mut self, location: impl Into<String>, message: impl Into<String>) {
        self.errors.push(ConfigError::new(location, message));
    }

    /// Deserializes `value` into `T`, reporting the exact key of a failure.
    fn typed<T: DeserializeOwned>(&mut self, location: &str, value: toml::Value) -> Option<T> {
        match serde_path_to_error::deserialize::<_, T>(value) {
            Ok(typed) => Some(typed),
            Err(error) => {
                let path = error.path().to_string();
                let at =
                    if path.is_empty() || path == "." { location.to_string() } else { format!("{location}.{path}") };
                let message = error.into_inner().message().to_string();
                self.error(at, message);
                None
            }
        }
    }

    fn section<T: DeserializeOwned + Default>(&mut self, table: &mut toml::Table, key: &str) -> Option<T> {
        let value = table.remove(key)?;
        self.typed(key, value)
    }

    fn components<T>(
        &mut self,
        table: &mut toml::Table,
        key: &str,
        mut parse: impl FnMut(&mut Self, &str, toml::Value) -> Option<T>,
    ) -> BTreeMap<String, T> {
        let mut parsed = BTreeMap::new();
        let Some(value) = table.remove(key) else { return parsed };
        let toml::Value::Table(entries) = value else {
            self.error(key, "must be a table of named entries");
            return parsed;
        };
        for (name, value) in entries {
            let location = format!("{key}.{name}");
            if !is_component_name(&name) {
                self.error(&location, "names may use letters, digits, `_`, `-` and `/` only");
            }
            if !value.is_table() {
                self.error(&location, "must be a table");
                continue;
            }
            if let Some(typed) = parse(self, &location, value) {
                parsed.insert(name, typed);
            }
        }
        parsed
    }

    /// Splits off the `kind` / `plugin` discriminator of a receiver or exporter.
    fn discriminate(&mut self, location: &str, value: &mut toml::Value) -> Option<Kind> {
        let table = value.as_table_mut()?;
        let kind = table.remove("kind");
        let has_plugin = table.contains_key("plugin");
        match (kind, has_plugin) {
            (Some(_), true) => {
                self.error(location, "set either `kind` (a built-in) or `plugin` (a Wasm component), not both");
                None
            }
            (Some(toml::Value::String(kind)), false) => Some(Kind::Builtin(kind)),
            (Some(other), false) => {
                self.error(format!("{location}.kind"), format!("expected a string, found {}", other.type_str()));
                None
            }
            (None, true) => Some(Kind::Plugin),
            (None, false) => {
                self.error(location, "needs `kind` (a built-in) or `plugin` (a Wasm component)");
                None
            }
        }
    }

    fn receiver(&mut self, location: &str, mut value: toml::Value) -> Option<ReceiverConfig> {
        match self.discriminate(location, &mut value)? {
            Kind::Builtin(kind) if kind == "otlp" => self.typed(location, value).map(ReceiverConfig::Otlp),
            Kind::Builtin(kind) => {
                self.error(
                    format!("{location}.kind"),
                    format!("unknown built-in receiver `{kind}` (built-ins: otlp; anything else is a `plugin`)"),
                );
                None
            }
            Kind::Plugin => self.typed(location, value).map(|plugin| ReceiverConfig::Plugin(Box::new(plugin))),
        }
    }

    fn processor(&mut self, location: &str, value: toml::Value) -> Option<ProcessorConfig> {
        if value.get("kind").is_some() {
            self.error(format!("{location}.kind"), "processors are Wasm plugins: set `plugin` instead");
            return None;
        }
        self.typed(location, value)
    }

    fn exporter(&mut self, location: &str, mut value: toml::Value) -> Option<ExporterConfig> {
        match self.discriminate(location, &mut value)? {
            Kind::Builtin(kind) if kind == "otlp" => self.typed(location, value).map(ExporterConfig::Otlp),
            Kind::Builtin(kind) if kind == "debug" => self.typed(location, value).map(ExporterConfig::Debug),
            Kind::Builtin(kind) => {
                self.error(
                    format!("{location}.kind"),
                    format!("unknown built-in exporter `{kind}` (built-ins: otlp, debug; anything else is a `plugin`)"),
                );
                None
            }
            Kind::Plugin => self.typed(location, value).map(ExporterConfig::Plugin),
        }
    }

    /// Cross-references and values that serde cannot check.
    fn check(&mut self, config: &Config) {
        self.address("admin.listen", &config.admin.listen);
        for (name, receiver) in &config.receivers {
            let at = format!("receivers.{name}");
            match receiver {
                ReceiverConfig::Otlp(otlp) => {
                    if otlp.grpc.is_none() && otlp.http.is_none() {
                        self.error(&at, "an otlp receiver needs `grpc`, `http` or both");
                    }
                    if let Some(grpc) = &otlp.grpc {
                        self.address(&format!("{at}.grpc"), grpc);
                    }
                    if let Some(http) = &otlp.http {
                        self.address(&format!("{at}.http"), http);
                    }
                }
                ReceiverConfig::Plugin(plugin) => {
                    self.plugin(&at, &plugin.plugin, &plugin.grants, &plugin.limits);
                    self.receiver_transports(&at, plugin);
                }
            }
        }
        for (name, processor) in &config.processors {
            self.plugin(&format!("processors.{name}"), &processor.plugin, &processor.grants, &processor.limits);
            if processor.tick_interval.is_zero() {
                self.error(format!("processors.{name}.tick_interval"), "must be more than zero");
            }
        }
        for (name, exporter) in &config.exporters {
            let at = format!("exporters.{name}");
            match exporter {
                ExporterConfig::Otlp(otlp) => {
                    match (&otlp.balance, otlp.endpoint.is_empty()) {
                        (None, false) => self.url(&format!("{at}.endpoint"), &otlp.endpoint),
                        (None, true) => self.error(format!("{at}.endpoint"), "required (or `balance.endpoints`)"),
                        (Some(_), false) => self.error(&at, "set `endpoint` or `balance.endpoints`, not both"),
                        (Some(balance), true) => match &balance.dns {
                            None if balance.endpoints.is_empty() => self.error(
                                format!("{at}.balance.endpoints"),
                                "needs at least one endpoint (or `balance.dns`)",
                            ),
                            None => {
                                for (index, endpoint) in balance.endpoints.iter().enumerate() {
                                    self.url(&format!("{at}.balance.endpoints[{index}]"), endpoint);
                                }
                            }
                            Some(_) if !balance.endpoints.is_empty() => {
                                self.error(format!("{at}.balance"), "set `endpoints` or `dns`, not both")
                            }
                            Some(dns) => {
                                if dns.hostname.trim().is_empty() {
                                    self.error(format!("{at}.balance.dns.hostname"), "required");
                                }
                                if dns.port == 0 {
                                    self.error(format!("{at}.balance.dns.port"), "must be a port number (1-65535)");
                                }
                                if dns.interval.is_zero() {
                                    self.error(format!("{at}.balance.dns.interval"), "must be more than 0");
                                }
                                if !matches!(dns.scheme.as_str(), "http" | "https") {
                                    self.error(
                                        format!("{at}.balance.dns.scheme"),
                                        format!("`{}`: expected `http` or `https`", dns.scheme),
                                    );
                                }
                            }
                        },
                    }
                    self.retry(&at, &otlp.retry);
                    if otlp.queue_size == 0 {
                        self.error(format!("{at}.queue_size"), "must be at least 1");
                    }
                    if let Some(ca) = otlp.tls.ca_file.as_ref().filter(|ca| !ca.is_file()) {
                        self.error(format!("{at}.tls.ca_file"), format!("no such file: {}", ca.display()));
                    }
                }
                ExporterConfig::Debug(_) => {}
                ExporterConfig::Plugin(plugin) => {
                    self.plugin(&at, &plugin.plugin, &plugin.grants, &plugin.limits);
                    match (&plugin.endpoint, &plugin.listen) {
                        (Some(endpoint), None) => self.url(&format!("{at}.endpoint"), endpoint),
                        (None, Some(listen)) => self.address(&format!("{at}.listen"), listen),
                        (Some(_), Some(_)) => self.error(&at, "set `endpoint` (push) or `listen` (pull), not both"),
                        (None, None) => self.error(&at, "a plugin exporter needs `endpoint` (push) or `listen` (pull)"),
                    }
                    self.retry(&at, &plugin.retry);
                    if plugin.queue_size == 0 {
                        self.error(format!("{at}.queue_size"), "must be at least 1");
                    }
                }
            }
        }
        if config.pipelines.is_empty() {
            self.error("pipelines", "no pipeline is defined: add at least one [pipelines.NAME] table");
        }
        for (name, pipeline) in &config.pipelines {
            self.pipeline(config, name, pipeline);
        }
    }

    fn pipeline(&mut self, config: &Config, name: &str, pipeline: &PipelineConfig) {
        let at = format!("pipelines.{name}");
        if pipeline.receivers.is_empty() {
            self.error(format!("{at}.receivers"), "needs at least one receiver");
        }
        if pipeline.exporters.is_empty() {
            self.error(format!("{at}.exporters"), "needs at least one exporter");
        }
        for (key, names, defined) in [
            ("receivers", &pipeline.receivers, config.receivers.keys().collect::<Vec<_>>()),
            ("processors", &pipeline.processors, config.processors.keys().collect()),
            ("exporters", &pipeline.exporters, config.exporters.keys().collect()),
        ] {
            for (index, component) in names.iter().enumerate() {
                if !defined.contains(&component) {
                    let known = if defined.is_empty() {
                        format!("no {key} are defined")
                    } else {
                        format!("defined: {}", defined.iter().map(|n| n.as_str()).collect::<Vec<_>>().join(", "))
                    };
                    self.error(
                        format!("{at}.{key}[{index}]"),
                        format!("`{component}` is not defined under [{key}] ({known})"),
                    );
                }
                if names[..index].contains(component) && key != "processors" {
                    self.error(format!("{at}.{key}[{index}]"), format!("`{component}` is listed twice"));
                }
            }
        }
        if pipeline.batch.max_items == 0 {
            self.error(format!("{at}.batch.max_items"), "must be at least 1");
        }
        if pipeline.queue_size == 0 {
            self.error(format!("{at}.queue_size"), "must be at least 1");
        }
        if pipeline.workers == 0 || pipeline.workers > 64 {
            self.error(format!("{at}.workers"), "must be between 1 and 64");
        }
        // Tail sampling decides each trace from the spans its instance saw: on several
        // workers without a partition, every trace would be decided in pieces.
        if pipeline.workers > 1 && pipeline.partition_by.is_none() {
            let tail = pipeline.processors.iter().find(|name| {
                config.processors.get(*name).is_some_and(|p| {
                    p.plugin == PluginSource::Builtin("sample".into())
                        && p.config.get("mode").and_then(|m| m.as_str()) == Some("tail")
                })
            });
            if let Some(tail) = tail {
                self.error(
                    format!("{at}.partition_by"),
                    format!(
                        "required with `workers > 1` and the tail sampler `{tail}`: set `partition_by = \"trace_id\"` \
                         so that every span of a trace reaches the same instance"
                    ),
                );
            }
        }
    }

    fn receiver_transports(&mut self, at: &str, receiver: &PluginReceiverConfig) {
        let mut any = false;
        if let Some(http) = &receiver.http {
            any = true;
            self.address(&format!("{at}.http.listen"), &http.listen);
            if http.paths.is_empty() {
                self.error(format!("{at}.http.paths"), "needs at least one path");
            }
            for (index, path) in http.paths.iter().enumerate() {
                if !path.starts_with('/') {
                    self.error(format!("{at}.http.paths[{index}]"), format!("`{path}` must start with `/`"));
                }
            }
        }
        if let Some(tcp) = &receiver.tcp {
            any = true;
            self.address(&format!("{at}.tcp.listen"), &tcp.listen);
        }
        if let Some(udp) = &receiver.udp {
            any = true;
            self.address(&format!("{at}.udp.listen"), &udp.listen);
        }
        if let Some(scrape) = &receiver.scrape {
            any = true;
            if scrape.targets.is_empty() {
                self.error(format!("{at}.scrape.targets"), "needs at least one URL");
            }
            for (index, target) in scrape.targets.iter().enumerate() {
                self.url(&format!("{at}.scrape.targets[{index}]"), target);
            }
            if scrape.interval.is_zero() {
                self.error(format!("{at}.scrape.interval"), "must be more than zero");
            }
        }
        if let Some(files) = &receiver.files {
            any = true;
            if files.include.is_empty() {
                self.error(format!("{at}.files.include"), "needs at least one glob pattern");
            }
            for (key, patterns) in [("include", &files.include), ("exclude", &files.exclude)] {
                for (index, pattern) in patterns.iter().enumerate() {
                    if let Err(error) = glob::Pattern::new(pattern) {
                        self.error(
                            format!("{at}.files.{key}[{index}]"),
                            format!("`{pattern}` is not a glob pattern: {error}"),
                        );
                    }
                }
            }
            if let Some(Err(error)) = files.multiline.as_ref().map(|m| regex::Regex::new(&m.start)) {
                self.error(format!("{at}.files.multiline.start"), format!("not a regex: {error}"));
            }
            if files.lines_per_call == 0 {
                self.error(format!("{at}.files.lines_per_call"), "must be at least 1");
            }
        }
        if let Some(timer) = &receiver.timer {
            any = true;
            if timer.interval.is_zero() {
                self.error(format!("{at}.timer.interval"), "must be more than zero");
            }
        }
        if !any {
            self.error(at, "a plugin receiver needs a transport: `http`, `tcp`, `udp`, `scrape`, `timer` or `files`");
        }
    }

    fn plugin(&mut self, at: &str, source: &PluginSource, grants: &Grants, limits: &Limits) {
        if let PluginSource::File(path) = source
            && !path.is_file()
        {
            self.error(format!("{at}.plugin"), format!("no such file: {}", path.display()));
        }
        for (index, dir) in grants.dirs.iter().enumerate() {
            if !dir.host.is_dir() {
                self.error(
                    format!("{at}.grants.dirs[{index}].host"),
                    format!("no such directory: {}", dir.host.display()),
                );
            }
            if !dir.guest.starts_with('/') {
                self.error(format!("{at}.grants.dirs[{index}].guest"), "must be an absolute path such as `/host/proc`");
            }
        }
        if limits.memory.as_u64() < 1 << 20 {
            self.error(format!("{at}.limits.memory"), "must be at least 1MiB");
        }
        if limits.memory.as_u64() > 4 << 30 {
            self.error(format!("{at}.limits.memory"), "must be at most 4GiB (the wasm32 address space)");
        }
        if limits.timeout.is_zero() {
            self.error(format!("{at}.limits.timeout"), "must be more than zero");
        }
    }

    fn address(&mut self, at: &str, address: &str) {
        if address.parse::<SocketAddr>().is_err() {
            self.error(at, format!("`{address}` is not an address of the form IP:PORT (e.g. 127.0.0.1:4317)"));
        }
    }

    fn url(&mut self, at: &str, url: &str) {
        match url.parse::<http::Uri>() {
            Ok(uri) if matches!(uri.scheme_str(), Some("http" | "https")) && uri.host().is_some() => {}
            _ => self.error(at, format!("`{url}` is not an http:// or https:// URL")),
        }
    }

    fn retry(&mut self, at: &str, retry: &RetryConfig) {
        if retry.initial_interval > retry.max_interval {
            self.error(format!("{at}.retry.initial_interval"), "must not exceed `retry.max_interval`");
        }
    }
}

enum Kind {
    Builtin(String),
    Plugin,
}

fn is_component_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '/'))
}

#[cfg(test)]
mod tests;
