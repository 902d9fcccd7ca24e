//! The processor of the throughput benchmark (`benches/throughput.rs`): sets an attribute on
//! every log record and drops one in ten by trace id. The benchmark runs the same logic as
//! a native processor to compare the two.

use aegis_plugin_sdk::prelude::*;

#[derive(Default)]
struct TagAndSample;

/// Keeps nine records in ten, chosen by the last eight bytes of the trace id.
fn keep(trace_id: &[u8]) -> bool {
    let tail = trace_id.get(8..16).map_or(0, |b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])));
    tail % 10 != 0
}

impl Processor for TagAndSample {
    fn process_logs(&mut self, logs: &mut Logs) -> Result<(), Error> {
        for mut record in logs.records_mut() {
            if keep(record.view().trace_id()) {
                record.set_attribute("aegis.pipeline", "bench");
            } else {
                record.remove();
            }
        }
        Ok(())
    }
}

export_processor!(TagAndSample);
