//! The files transport with the `file-logs` receiver: lines written to tailed files arrive
//! as log records, through rotation and a restart, with nothing lost and nothing repeated.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use opentelemetry_proto::tonic::common::v1::any_value::Value;

use crate::support::{Collector, Sink, attribute, fixture};

fn append(path: &Path, text: &str) {
    std::fs::OpenOptions::new().create(true).append(true).open(path).unwrap().write_all(text.as_bytes()).unwrap();
}

fn bodies(sink: &Sink) -> Vec<String> {
    sink.log_records()
        .iter()
        .filter_map(|r| match r.body.as_ref().and_then(|b| b.value.as_ref()) {
            Some(Value::StringValue(s)) => Some(s.clone()),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tailed_lines_arrive_once_through_rotation_and_restart() {
    let sink = Sink::start().await;
    let logs = tempfile::tempdir().unwrap();
    let file = logs.path().join("backend.log");
    append(&file, "{\"level\":\"info\",\"message\":\"User login successful\"}\n");
    let env = [("AEGIS_TEST_SINK", sink.endpoint()), ("AEGIS_TEST_LOGS", logs.path().display().to_string())];
    let collector = Collector::start(&fixture("file-logs/tail.toml"), &env);
    sink.wait_for(Duration::from_secs(10), "the first line", |sink| bodies(sink).len() == 1).await;

    // A multi-line entry, then rotation by rename with a line left in the old file.
    append(&file, "2024-01-25 ERROR Connection pool exhausted\n  at db.insert\n  at users.create\n");
    append(&file, "{\"level\":\"info\",\"message\":\"before rotation\"}\n");
    std::fs::rename(&file, logs.path().join("backend.log.1")).unwrap();
    append(&file, "{\"level\":\"info\",\"message\":\"after rotation\"}\n");
    sink.wait_for(Duration::from_secs(10), "four records", |sink| bodies(sink).len() >= 4).await;
    let (status, log) = collector.stop();
    assert!(status.success(), "{log}");

    // Lines written while the collector was down arrive after the restart, once.
    append(&file, "{\"level\":\"warn\",\"message\":\"while down\"}\n");
    let collector = Collector::start(&fixture("file-logs/tail.toml"), &env);
    sink.wait_for(Duration::from_secs(10), "five records", |sink| bodies(sink).len() >= 5).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Files are read in no particular order, so compare as sets; the count shows that
    // nothing was repeated.
    let mut got = bodies(&sink);
    got.sort();
    let mut want = vec![
        "{\"level\":\"info\",\"message\":\"User login successful\"}",
        "2024-01-25 ERROR Connection pool exhausted\n  at db.insert\n  at users.create",
        "{\"level\":\"info\",\"message\":\"before rotation\"}",
        "{\"level\":\"info\",\"message\":\"after rotation\"}",
        "{\"level\":\"warn\",\"message\":\"while down\"}",
    ];
    want.sort();
    assert_eq!(got, want);
    let records = sink.log_records();
    let path = match attribute(&records[0].attributes, "log.file.path") {
        Some(Value::StringValue(path)) => path.clone(),
        other => panic!("log.file.path is {other:?}"),
    };
    assert_eq!(path, file.display().to_string());
    let (status, log) = collector.stop();
    assert!(status.success(), "{log}");
}
