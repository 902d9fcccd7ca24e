//! The command line: `aegis plugin inspect` and `aegis plugin list`, and the default
//! pipeline without `--config`.

use std::process::Command;

use crate::support::{aegis_bin, plugin_artifact};

#[test]
fn inspect_names_the_world_and_the_imports() {
    let output = Command::new(aegis_bin())
        .args(["plugin", "inspect"])
        .arg(plugin_artifact("aegis-plugin-attributes"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{text}{}", String::from_utf8_lossy(&output.stderr));
    assert!(text.contains("world:   aegis:telemetry/timed-processor@0.1.0"), "{text}");
    assert!(text.contains("plugin:  attributes"), "{text}");
    assert!(text.contains("signals: logs, traces, metrics"), "{text}");
    assert!(text.contains("aegis:telemetry/types@0.1.0"), "{text}");
    // What the Rust standard library asks of WASI, and nothing more: no filesystem, no sockets.
    assert!(text.contains("wasi:cli/environment@0.2"), "{text}");
    assert!(!text.contains("wasi:filesystem") && !text.contains("wasi:sockets"), "{text}");
    assert!(text.contains("process (function)"), "{text}");

    // A component of the plain world, with no `tick`.
    let output = Command::new(aegis_bin())
        .args(["plugin", "inspect"])
        .arg(plugin_artifact("aegis-plugin-plain-processor"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("world:   aegis:telemetry/processor@0.1.0"), "{text}");
    assert!(text.contains("plugin:  plain-processor"), "{text}");
}

#[test]
fn inspect_refuses_a_file_that_is_not_a_component() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("not.wasm");
    std::fs::write(&path, b"\0asm garbage").unwrap();
    let output = Command::new(aegis_bin()).args(["plugin", "inspect"]).arg(&path).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("is not a valid WebAssembly component"));
}

#[test]
fn list_shows_the_embedded_plugins() {
    let output = Command::new(aegis_bin()).args(["plugin", "list"]).output().unwrap();
    assert!(String::from_utf8_lossy(&output.stdout).lines().any(|line| line == "builtin:attributes"));
}
