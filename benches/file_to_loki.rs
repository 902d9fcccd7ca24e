//! Log lines per second per core from a tailed file to Loki: the `files` transport and the
//! `file-logs` receiver → `parse-logs` (JSON, the Aegis services' format) → the `loki`
//! exporter, pushing to a stand-in Loki in this process. Run with
//! `cargo bench --bench file_to_loki`; `AEGIS_BENCH_LINES` (default 400000) and
//! `AEGIS_BENCH_ROUNDS` (default 5) size it, `AEGIS_BENCH_BATCH` sets the pipeline's
//! `batch.max_items`, `AEGIS_BENCH_BIN` the collector binary (the static build, say).
//!
//! The collector runs as a child process; the figure is lines ÷ the collector's CPU seconds
//! (user + system, from `/proc`), from the moment the file appears until the exporter has
//! sent every line (read from the collector's own `/metrics`).

use std::io::Write;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn main() {
    let lines: usize = std::env::var("AEGIS_BENCH_LINES").ok().and_then(|v| v.parse().ok()).unwrap_or(400_000);
    let rounds: usize = std::env::var("AEGIS_BENCH_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(5);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let loki = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let app = axum::Router::new().route(
            "/loki/api/v1/push",
            // Read the whole body, as Loki does, before answering.
            axum::routing::post(|_body: axum::body::Bytes| async { axum::http::StatusCode::NO_CONTENT }),
        );
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        address
    });
    let text = make_lines(lines);
    println!(
        "file_to_loki: {lines} JSON lines of {:.0} bytes, file-logs → parse-logs (json) → loki, {rounds} rounds",
        text.len() as f64 / lines as f64
    );
    let mut results = Vec::new();
    for round in 0..rounds {
        let (per_core, wall) = measure(&text, lines, loki);
        println!("  round {round}: {per_core:.0} lines/s per core, {wall:.0} lines/s wall");
        results.push(per_core);
    }
    results.sort_by(f64::total_cmp);
    println!("median: {:.0} lines/s per core", results[results.len() / 2]);
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn measure(text: &str, lines: usize, loki: SocketAddr) -> (f64, f64) {
    let dir = tempfile::tempdir().unwrap();
    let admin: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let config = dir.path().join("bench.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[admin]
listen = "{admin}"
[runtime]
cache_dir = "{cache}"
[receivers.files]
plugin = "builtin:file-logs"
files = {{ include = ["{logs}/*.log"], poll_interval = "20ms", lines_per_call = 2000 }}
config = {{ resource = {{ "service.name" = "aegis-backend" }} }}
accept_timeout = "10s"
[processors.parse]
plugin = "builtin:parse-logs"
config = {{ format = "json" }}
limits = {{ timeout = "2s" }}
[exporters.loki]
plugin = "builtin:loki"
endpoint = "http://{loki}"
flush_interval = "200ms"
limits = {{ timeout = "2s" }}
[pipelines.logs]
signal = "logs"
receivers = ["files"]
processors = ["parse"]
exporters = ["loki"]
{batch}
"#,
            batch = std::env::var("AEGIS_BENCH_BATCH")
                .map(|n| format!("batch = {{ max_items = {n} }}"))
                .unwrap_or_default(),
            cache = concat!(env!("CARGO_TARGET_TMPDIR"), "/wasmtime-cache"),
            logs = dir.path().display(),
        ),
    )
    .unwrap();
    let mut child = Command::new(collector_binary())
        .args(["run", "--config"])
        .arg(&config)
        .env("AEGIS_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !get(admin, "/readyz").is_some_and(|body| body.starts_with("ready")) {
        assert!(Instant::now() < deadline && child.try_wait().unwrap().is_none(), "the collector did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let before = cpu_seconds(child.id());
    let started = Instant::now();
    let mut file = std::fs::File::create(dir.path().join("backend.log")).unwrap();
    file.write_all(text.as_bytes()).unwrap();
    file.sync_all().unwrap();
    let series = "aegis_exporter_sent_items_total{exporter=\"loki\",pipeline=\"logs\"}";
    loop {
        let sent = get(admin, "/metrics")
            .and_then(|text| {
                text.lines().find_map(|l| l.strip_prefix(series).and_then(|v| v.trim().parse::<f64>().ok()))
            })
            .unwrap_or(0.0);
        if sent as usize >= lines {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(300), "only {sent} of {lines} lines were sent");
        std::thread::sleep(Duration::from_millis(20));
    }
    let wall = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds(child.id()) - before;
    let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
    let _ = child.wait();
    (lines as f64 / cpu, lines as f64 / wall)
}

/// Aegis backend JSON log lines of about 250 bytes.
fn make_lines(count: usize) -> String {
    let mut out = String::with_capacity(count * 260);
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    for index in 0..count {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let level = if seed.is_multiple_of(50) { "error" } else { "info" };
        out.push_str(&format!(
            "{{\"timestamp\":\"2024-01-25T14:{:02}:{:02}.{:03}Z\",\"level\":\"{level}\",\"service\":\"aegis-backend\",\"message\":\"User created successfully\",\"trace_id\":\"{:016x}{:016x}\",\"method\":\"POST\",\"path\":\"/api/v1/users\",\"status_code\":201,\"duration_ms\":{},\"user_id\":\"{:08x}\"}}\n",
            (index / 60_000) % 60,
            (index / 1000) % 60,
            index % 1000,
            seed,
            seed.rotate_left(17),
            seed % 2000,
            seed as u32,
        ));
    }
    out
}

fn get(address: SocketAddr, path: &str) -> Option<String> {
    use std::io::Read;
    let mut stream = std::net::TcpStream::connect_timeout(&address, Duration::from_secs(1)).ok()?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    response.split_once("\r\n\r\n").map(|(_, body)| body.to_string())
}

fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split_whitespace().collect();
    (fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()) as f64 / 100.0
}

/// The collector to measure: `AEGIS_BENCH_BIN` (say the static build,
/// `target/x86_64-unknown-linux-musl/release/aegis`), else the one cargo built for the bench.
fn collector_binary() -> String {
    std::env::var("AEGIS_BENCH_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_aegis").to_owned())
}
