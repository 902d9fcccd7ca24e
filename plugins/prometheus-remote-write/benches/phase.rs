mod data;
use std::time::Instant;
use aegis_plugin_prometheus_remote_write::RemoteWrite;
use aegis_plugin_sdk::{Batch, Config, Exporter, Signal};
use aegis_prometheus_common::{Converter, Options, Visitor, Family, Point};
struct Nop(u64);
impl Visitor for Nop { fn family(&mut self, _: &Family<'_>) {} fn point(&mut self, p: &Point<'_>) { self.0 += p.samples.len() as u64; } }
fn main() {
    let mut batches = data::Batches::new();
    let inputs: Vec<Vec<u8>> = (0..300).map(|_| batches.next_batch()).collect();
    let mut conv = Converter::new(Options::default());
    let mut nop = Nop(0);
    let t = Instant::now();
    for b in &inputs { conv.convert(b, 0, &mut nop).unwrap(); }
    let per = t.elapsed().as_nanos() as f64 / (300.0 * data::SAMPLES_PER_BATCH as f64);
    println!("convert only: {per:.0} ns/sample");
    let mut exp = RemoteWrite::init(Config::from_value(serde_json::json!({"max_samples_per_request": 1000000, "send_metadata": false}))).unwrap();
    let t = Instant::now();
    for b in &inputs[..150] { exp.export_at(&Batch::new(Signal::Metrics, b.clone()), 0).unwrap(); exp.flush_at(0).unwrap(); }
    let per = t.elapsed().as_nanos() as f64 / (150.0 * data::SAMPLES_PER_BATCH as f64);
    println!("export+flush (one request per batch): {per:.0} ns/sample");
    let body: Vec<u8> = vec![7u8; 0];
    let _ = body;
    let mut exp2 = RemoteWrite::init(Config::from_value(serde_json::json!({"max_samples_per_request": 1000000, "send_metadata": false}))).unwrap();
    let mut total = 0; let mut tc = 0u128;
    for b in &inputs[150..] { exp2.export_at(&Batch::new(Signal::Metrics, b.clone()), 0).unwrap(); let t = Instant::now(); let p = exp2.flush_at(0).unwrap(); tc += t.elapsed().as_nanos(); total += p[0].body.len(); }
    println!("flush (encode+snappy): {:.0} ns/sample, compressed {} bytes/batch", tc as f64 / (150.0 * data::SAMPLES_PER_BATCH as f64), total / 150);
    let raw = snap::raw::Decoder::new().decompress_vec(&exp2.flush_at(0).map(|_| ()).map(|_| vec![]).unwrap_or_default()).unwrap_or_default(); let _ = raw;
}
