//! Builds the first-party plugins (every cdylib crate under `plugins/`) and the test and
//! benchmark plugins for `wasm32-wasip2`, so that `cargo build` at the root yields one
//! binary that embeds them (`plugin = "builtin:NAME"`).
//!
//! The plugins are built by a nested cargo in its own target directory (`target/wasm`),
//! which keeps it clear of the outer build's lock.

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

const TARGET: &str = "wasm32-wasip2";

fn main() {
    let root = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    for watched in
        ["plugins", "tests/plugins", "benches/boundary-guest", "benches/bench-processor", "wit", "Cargo.lock"]
    {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }

    let first_party = cdylib_crates(&root.join("plugins"));
    let mut extra = cdylib_crates(&root.join("tests/plugins"));
    extra.extend(cdylib_crates(&root.join("benches")));

    ensure_target_installed();
    println!("cargo:rerun-if-env-changed=AEGIS_ALLOW_BROKEN_PLUGINS");
    let wasm_target_dir = root.join("target").join("wasm");
    let all: Vec<&String> = first_party.iter().chain(&extra).map(|(_, package)| package).collect();
    let mut built: Vec<&String> = all.clone();
    if !build_plugins(&root, &wasm_target_dir, &all) {
        // For development in a tree where someone's plugin is half-written: build the others.
        assert!(
            env::var_os("AEGIS_ALLOW_BROKEN_PLUGINS").is_some(),
            "building the wasm plugins failed (see the cargo output above)"
        );
        built.retain(|package| {
            let ok = build_plugins(&root, &wasm_target_dir, &[package]);
            if !ok {
                println!("cargo:warning=skipped the plugin {package}, which does not build");
            }
            ok
        });
    }

    let release = wasm_target_dir.join(TARGET).join("release");
    let mut table = String::from(
        "/// The plugins built into this binary, by name.\npub(crate) const BUILTIN_PLUGINS: &[(&str, &[u8])] = &[\n",
    );
    for (name, package) in first_party.iter().filter(|(_, package)| built.contains(&package)) {
        let file = copy_artifact(&release, package, &out);
        writeln!(table, "    ({name:?}, include_bytes!({:?})),", file.display()).expect("write to string");
    }
    table.push_str("];\n");
    fs::write(out.join("builtin_plugins.rs"), table).expect("write builtin_plugins.rs");
    for (_, package) in extra.iter().filter(|(_, package)| built.contains(&package)) {
        copy_artifact(&release, package, &out);
    }
    println!("cargo:rustc-env=AEGIS_PLUGIN_ARTIFACTS={}", out.display());
}

/// Builds `packages` for the wasm target in their own target directory.
fn build_plugins(root: &Path, target_dir: &Path, packages: &[&String]) -> bool {
    let mut cargo = Command::new(env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cargo.current_dir(root).args(["build", "--release", "--target", TARGET]);
    for package in packages {
        cargo.args(["-p", package]);
    }
    // Scrubbed first: a CARGO_TARGET_DIR of the user's is among what must not leak in.
    scrub_environment(&mut cargo);
    cargo.env("CARGO_TARGET_DIR", target_dir);
    // The plugins are embedded in the binary: without their DWARF line tables (the
    // workspace's release profile keeps them for the host) each is a tenth of the size. The
    // name section stays, so traps and perf maps still name the plugins' functions.
    cargo.env("CARGO_PROFILE_RELEASE_DEBUG", "false").env("CARGO_PROFILE_RELEASE_STRIP", "debuginfo");
    cargo.status().expect("failed to start cargo for the wasm plugins").success()
}

/// The (directory name, package name) of every cdylib crate directly under `dir`.
fn cdylib_crates(dir: &Path) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let Ok(entries) = fs::read_dir(dir) else { return found };
    for entry in entries.flatten() {
        let manifest = entry.path().join("Cargo.toml");
        let Ok(text) = fs::read_to_string(&manifest) else { continue };
        if !text.contains("cdylib") {
            continue;
        }
        let package = text
            .lines()
            .find_map(|line| line.trim().strip_prefix("name = "))
            .map(|name| name.trim_matches('"').to_string())
            .unwrap_or_else(|| panic!("{} has no package name", manifest.display()));
        found.push((entry.file_name().to_string_lossy().into_owned(), package));
    }
    found.sort();
    found
}

fn copy_artifact(release: &Path, package: &str, out: &Path) -> PathBuf {
    let file_name = format!("{}.wasm", package.replace('-', "_"));
    let to = out.join(&file_name);
    fs::copy(release.join(&file_name), &to).unwrap_or_else(|error| panic!("copy {file_name}: {error}"));
    to
}

/// Installs the wasm target when the toolchain lacks it, so a fresh machine needs no manual step.
fn ensure_target_installed() {
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let libdir = Command::new(rustc).args(["--print", "target-libdir", "--target", TARGET]).output();
    let installed = libdir
        .ok()
        .filter(|output| output.status.success())
        .map(|output| PathBuf::from(String::from_utf8_lossy(&output.stdout).trim()).exists())
        .unwrap_or(false);
    if !installed {
        let status = Command::new("rustup").args(["target", "add", TARGET]).status();
        assert!(matches!(status, Ok(s) if s.success()), "`rustup target add {TARGET}` failed");
    }
}

/// Removes what the outer cargo (or clippy) set for the host build, which must not leak
/// into the nested wasm build.
fn scrub_environment(cargo: &mut Command) {
    for (key, _) in env::vars_os() {
        let key = key.to_string_lossy();
        let leaks = (key.starts_with("CARGO_") && key != "CARGO_HOME")
            || key.starts_with("RUSTC")
            || key.starts_with("RUSTDOC")
            || key.starts_with("CLIPPY")
            || matches!(
                &*key,
                "RUSTFLAGS" | "TARGET" | "HOST" | "OUT_DIR" | "PROFILE" | "OPT_LEVEL" | "DEBUG" | "NUM_JOBS"
            );
        if leaks {
            cargo.env_remove(&*key);
        }
    }
}
