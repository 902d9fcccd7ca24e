//! Unit tests of config parsing and validation.

use super::*;

fn errors_of(text: &str) -> Vec<String> {
    match Config::parse(text, "test.toml", Path::new("/nonexistent")) {
        Ok(_) => Vec::new(),
        Err(errors) => errors.errors.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn the_embedded_default_is_valid() {
    let config = Config::embedded_default();
    assert_eq!(config.pipelines.len(), 3);
    assert!(matches!(config.exporters["console"], ExporterConfig::Debug(_)));
}

#[test]
fn reads_the_documented_shape() {
    let config = Config::parse(
        r#"
        [receivers.otlp]
        kind = "otlp"
        grpc = "127.0.0.1:4317"
        [processors.scrub]
        plugin = "builtin:attributes"
        config = { actions = [] }
        limits = { memory = "32MiB", timeout = "50ms" }
        on_error = "drop"
        [exporters.tempo]
        kind = "otlp"
        endpoint = "http://127.0.0.1:4317"
        [pipelines.traces]
        signal = "traces"
        receivers = ["otlp"]
        processors = ["scrub"]
        exporters = ["tempo"]
        "#,
        "test.toml",
        Path::new("."),
    )
    .expect("valid");
    let scrub = &config.processors["scrub"];
    assert_eq!(scrub.plugin, PluginSource::Builtin("attributes".into()));
    assert_eq!(scrub.limits.memory, bytesize::ByteSize::mib(32));
    assert_eq!(scrub.limits.timeout, std::time::Duration::from_millis(50));
    assert_eq!(scrub.on_error, OnError::Drop);
    let ExporterConfig::Otlp(tempo) = &config.exporters["tempo"] else { panic!("otlp exporter") };
    assert_eq!(tempo.protocol, OtlpProtocol::Grpc);
    assert_eq!(config.pipelines["traces"].signal, SignalName::Traces);
}

#[test]
fn reports_every_mistake_with_its_table_and_key() {
    let errors = errors_of(
        r#"
        [receivers.otlp]
        kind = "otlp"
        grpc = "localhost-4317"
        grcp = "127.0.0.1:4317"
        [processors.scrub]
        plugin = "./missing.wasm"
        limits = { memory = 12 }
        [exporters.tempo]
        kind = "otlp"
        endpoint = "ftp://nowhere"
        [pipelines.traces]
        signal = "spans"
        receivers = ["otlp"]
        exporters = ["tempo"]
        [pipelines.logs]
        signal = "logs"
        receivers = ["jaeger"]
        processors = ["scrub"]
        exporters = ["loki"]
        "#,
    );
    let expect = [
        "receivers.otlp.grcp: unknown field `grcp`",
        "processors.scrub.limits.memory: ",
        "exporters.tempo.endpoint: `ftp://nowhere` is not an http:// or https:// URL",
        "pipelines.traces.signal: unknown variant `spans`",
        "pipelines.logs.receivers[0]: `jaeger` is not defined under [receivers]",
        "pipelines.logs.exporters[0]: `loki` is not defined under [exporters] (defined: tempo)",
    ];
    for expected in expect {
        assert!(errors.iter().any(|e| e.starts_with(expected)), "missing {expected:?} in {errors:#?}");
    }
    // The unknown key hides the receiver, so its bad address is not reported; the
    // missing plugin file is, once the memory limit is fixed.
    let errors = errors_of(
        r#"
        [processors.scrub]
        plugin = "./missing.wasm"
        [receivers.otlp]
        kind = "otlp"
        grpc = "localhost-4317"
        [exporters.console]
        kind = "debug"
        [pipelines.logs]
        signal = "logs"
        receivers = ["otlp"]
        exporters = ["console"]
        "#,
    );
    assert_eq!(
        errors,
        [
            "receivers.otlp.grpc: `localhost-4317` is not an address of the form IP:PORT (e.g. 127.0.0.1:4317)",
            "processors.scrub.plugin: no such file: /nonexistent/./missing.wasm",
        ]
    );
}

#[test]
fn refuses_a_component_with_both_kind_and_plugin() {
    let errors = errors_of(
        r#"
        [exporters.x]
        kind = "debug"
        plugin = "builtin:loki"
        [pipelines.logs]
        signal = "logs"
        receivers = []
        exporters = []
        "#,
    );
    assert!(
        errors.contains(
            &"exporters.x: set either `kind` (a built-in) or `plugin` (a Wasm component), not both".to_string()
        ),
        "{errors:#?}"
    );
    assert!(errors.contains(&"pipelines.logs.receivers: needs at least one receiver".to_string()));
}

#[test]
fn points_at_the_line_of_invalid_toml() {
    assert_eq!(
        errors_of("[admin]\nlisten = \n"),
        ["line 2: invalid TOML: string values must be quoted, expected literal string"]
    );
}

#[test]
fn a_balance_from_dns_is_checked_key_by_key() {
    let errors = errors_of(
        r#"
        [receivers.otlp]
        kind = "otlp"
        grpc = "127.0.0.1:4317"
        [exporters.ok]
        kind = "otlp"
        balance = { dns = { hostname = "tails.observability.svc", port = 4317, interval = "30s" } }
        [exporters.both]
        kind = "otlp"
        balance = { endpoints = ["http://a:4317"], dns = { hostname = "tails" } }
        [exporters.bad]
        kind = "otlp"
        balance = { dns = { hostname = " ", port = 0, interval = "0s", scheme = "grpc" } }
        [pipelines.traces]
        signal = "traces"
        receivers = ["otlp"]
        exporters = ["ok", "both", "bad"]
        "#,
    );
    assert_eq!(
        errors,
        [
            "exporters.bad.balance.dns.hostname: required",
            "exporters.bad.balance.dns.port: must be a port number (1-65535)",
            "exporters.bad.balance.dns.interval: must be more than 0",
            "exporters.bad.balance.dns.scheme: `grpc`: expected `http` or `https`",
            "exporters.both.balance: set `endpoints` or `dns`, not both",
        ]
    );
}

#[test]
fn an_otlp_exporter_has_one_endpoint_or_a_balance_over_several() {
    let errors = errors_of(
        r#"
        [receivers.otlp]
        kind = "otlp"
        [exporters.none]
        kind = "otlp"
        [exporters.both]
        kind = "otlp"
        endpoint = "http://127.0.0.1:4317"
        balance = { endpoints = ["http://127.0.0.1:4318"] }
        [exporters.bad]
        kind = "otlp"
        balance = { endpoints = ["http://a:4317", "ftp://b"], routing_key = "service" }
        [exporters.empty]
        kind = "otlp"
        balance = { endpoints = [] }
        [exporters.typo]
        kind = "otlp"
        balance = { endpoints = ["http://a:4317"], routing_key = "span_id" }
        [pipelines.traces]
        signal = "traces"
        receivers = ["otlp"]
        exporters = ["none", "both", "bad", "empty", "typo"]
        "#,
    );
    for expected in [
        "exporters.none.endpoint: required (or `balance.endpoints`)",
        "exporters.both: set `endpoint` or `balance.endpoints`, not both",
        "exporters.bad.balance.endpoints[1]: `ftp://b` is not an http:// or https:// URL",
        "exporters.empty.balance.endpoints: needs at least one endpoint (or `balance.dns`)",
    ] {
        assert!(errors.iter().any(|e| e == expected), "missing {expected:?} in {errors:#?}");
    }
    assert!(
        errors.iter().any(|e| e.starts_with("exporters.typo.balance.routing_key") && e.contains("span_id")),
        "{errors:#?}"
    );
}

#[test]
fn a_tail_sampler_on_several_workers_needs_a_partition() {
    let config = |partition: &str| {
        format!(
            r#"
            [receivers.otlp]
            kind = "otlp"
            grpc = "127.0.0.1:4317"
            [processors.tail]
            plugin = "builtin:sample"
            config = {{ mode = "tail" }}
            [processors.head]
            plugin = "builtin:sample"
            [exporters.out]
            kind = "debug"
            [pipelines.tail]
            signal = "traces"
            receivers = ["otlp"]
            processors = ["tail"]
            exporters = ["out"]
            workers = 2
            {partition}
            [pipelines.head]
            signal = "traces"
            receivers = ["otlp"]
            processors = ["head"]
            exporters = ["out"]
            workers = 2
            "#
        )
    };
    assert_eq!(
        errors_of(&config("")),
        ["pipelines.tail.partition_by: required with `workers > 1` and the tail sampler `tail`: set \
             `partition_by = \"trace_id\"` so that every span of a trace reaches the same instance"]
    );
    assert!(errors_of(&config(r#"partition_by = "trace_id""#)).is_empty());
}

#[test]
fn the_cpu_limit_cannot_be_switched_off_from_a_config() {
    assert!(Config::embedded_default().runtime.cpu_limit, "a collector's plugins always have a CPU limit");
    let errors = errors_of(&format!("{DEFAULT_CONFIG}\n[runtime]\ncpu_limit = false\n"));
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].starts_with("runtime.cpu_limit: unknown field `cpu_limit`"), "{errors:?}");
}
