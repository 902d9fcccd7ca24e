//! `aegis validate` reports every mistake of a config at once, each with its table and key,
//! including the ones only the plugins can reveal; every file under `pipelines/` is valid.

use std::process::Command;

use crate::support::{aegis_bin, fixture, plugin_artifact};

fn validate(path: &std::path::Path) -> (i32, String) {
    let output =
        Command::new(aegis_bin()).args(["validate", "--config"]).arg(path).output().expect("run aegis validate");
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.code().unwrap_or(-1), text)
}

#[test]
fn a_config_with_several_mistakes_gets_all_of_them_reported() {
    let (code, text) = validate(&fixture("broken.toml"));
    assert_eq!(code, 1, "{text}");
    for expected in [
        "admin.listen: `localhost:13133` is not an address of the form IP:PORT",
        "receivers.otlp.htpp: unknown field `htpp`",
        "receivers.scraper.plugin: no such file:",
        "processors.tag.limits.memory:",
        "exporters.tempo.endpoint: `127.0.0.1:4317` is not an http:// or https:// URL",
        "pipelines.traces.receivers[1]: `jaeger` is not defined under [receivers]",
        "pipelines.traces.exporters[1]: `loki` is not defined under [exporters]",
        "pipelines.events.signal: unknown variant `events`",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
}

#[test]
fn plugin_mistakes_are_reported_with_the_config_mistakes() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("aegis.toml");
    let misbehave = plugin_artifact("aegis-plugin-misbehave");
    std::fs::write(
        &config,
        format!(
            r#"
            [receivers.otlp]
            kind = "otlp"
            grpc = "127.0.0.1:4317"

            [processors.scrub]
            plugin = "builtin:no-such-builtin"

            [processors.tag]
            plugin = "builtin:attributes"
            config = {{ actions = [ {{ key = "env", action = "explode" }} ] }}

            [exporters.wrong_world]
            plugin = "{misbehave}"
            endpoint = "http://127.0.0.1:9999"

            [exporters.console]
            kind = "debug"

            [receivers.files]
            plugin = "builtin:file-logs"
            files = {{ include = ["/nonexistent/*.log"] }}

            [pipelines.logs]
            signal = "logs"
            receivers = ["otlp"]
            processors = ["scrub", "tag"]
            exporters = ["wrong_world", "console"]

            [pipelines.traces]
            signal = "traces"
            receivers = ["files"]
            exporters = ["console"]
            "#,
            misbehave = misbehave.display()
        ),
    )
    .unwrap();
    let (code, text) = validate(&config);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("has 4 errors"), "{text}");
    assert!(
        text.contains("pipelines.traces.receivers[0]: `files` (file-logs) cannot handle traces (it handles: logs)"),
        "{text}"
    );
    assert!(
        text.contains("processors.scrub.plugin: no built-in plugin is called `no-such-builtin` (built-ins: attributes"),
        "{text}"
    );
    assert!(
        text.contains("processors.tag.config:") && text.contains("explode"),
        "the plugin's own config error: {text}"
    );
    assert!(
        text.contains("exporters.wrong_world.plugin:")
            && text.contains("implements the `processor` world, but a exporter is needed here"),
        "{text}"
    );
}

#[test]
fn every_pipeline_under_pipelines_is_valid() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("pipelines");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let (code, text) = validate(&path);
            assert_eq!(code, 0, "{}:\n{text}", path.display());
            checked += 1;
        }
    }
    assert!(checked >= 2, "the example pipelines are there");
}
