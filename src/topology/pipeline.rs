//! One pipeline at run time: a bounded input queue, a batcher that joins requests by size
//! and time, and workers that run the processors in order and fan out to the exporters.
//!
//! Workers are OS threads, not async tasks, so that plugin calls never block the async I/O
//! threads; each worker has its own instance of every processor, so several batches of one
//! pipeline are processed in parallel on several cores.

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use prometheus::{IntCounter, IntGauge};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use crate::admin::metrics::Telemetry;
use crate::batch::{Batch, Signal};
use crate::config::{BatchConfig, OnError, RoutingKey};
use crate::runtime::{Outcome, Plugin, Slot};

/// A batch on its way to one exporter, with the pipeline it came from.
#[derive(Debug, Clone)]
pub(crate) struct ExportItem {
    pub(crate) pipeline: Arc<str>,
    pub(crate) batch: Batch,
}

/// Where a pipeline hands its batches: one bounded queue per exporter.
#[derive(Clone)]
pub(crate) struct ExporterQueue {
    pub(crate) sender: async_channel::Sender<ExportItem>,
    pub(crate) depth: IntGauge,
}

/// The receiving end of a pipeline, which receivers send to.
#[derive(Clone)]
pub(crate) struct PipelineInput {
    pub(crate) signal: Signal,
    pub(crate) sender: mpsc::Sender<Batch>,
    pub(crate) depth: IntGauge,
    pub(crate) items_in: IntCounter,
}

/// Joins incoming requests into batches of at most `max_items` (splitting larger ones) and
/// sends a partial batch on once its first item has waited `timeout`. Once `receivers_done`
/// turns true it closes its queue, drains what is in it, and stops.
pub(crate) async fn batcher(
    config: BatchConfig,
    signal: Signal,
    mut input: mpsc::Receiver<Batch>,
    depth: IntGauge,
    work: WorkQueues,
    mut receivers_done: watch::Receiver<bool>,
) {
    let mut pending = BytesMut::new();
    let mut pending_items = 0usize;
    let mut deadline: Option<Instant> = None;
    let mut closing = false;
    loop {
        let next = if closing {
            input.recv().await.map(Some)
        } else {
            tokio::select! {
                batch = input.recv() => batch.map(Some),
                () = sleep_until(deadline) => Some(None),
                _ = receivers_done.wait_for(|done| *done) => {
                    input.close();
                    closing = true;
                    continue;
                }
            }
        };
        match next {
            // The queue is closed: send what is left and stop.
            None => break,
            // The time is up for the partial batch.
            Some(None) => {}
            Some(Some(batch)) => {
                depth.dec();
                if batch.items >= config.max_items && pending_items == 0 {
                    for part in split(batch, config.max_items) {
                        work.send(part).await;
                    }
                    continue;
                }
                if pending_items + batch.items > config.max_items && pending_items > 0 {
                    let full = take(&mut pending, &mut pending_items, signal);
                    work.send(full).await;
                }
                if pending_items == 0 {
                    deadline = Some(Instant::now() + config.timeout);
                }
                pending.extend_from_slice(&batch.payload);
                pending_items += batch.items;
                if pending_items < config.max_items {
                    continue;
                }
            }
        }
        deadline = None;
        if pending_items > 0 {
            let full = take(&mut pending, &mut pending_items, signal);
            for part in split(full, config.max_items) {
                work.send(part).await;
            }
        }
    }
    if pending_items > 0 {
        let rest = take(&mut pending, &mut pending_items, signal);
        work.send(rest).await;
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

fn take(pending: &mut BytesMut, items: &mut usize, signal: Signal) -> Batch {
    let batch = Batch { signal, payload: pending.split().freeze(), items: *items };
    *items = 0;
    batch
}

fn split(batch: Batch, max_items: usize) -> Vec<Batch> {
    if batch.items <= max_items {
        return vec![batch];
    }
    aegis_wire::split(batch.signal, &batch.payload, max_items)
        .into_iter()
        .map(|bytes| {
            let items = aegis_wire::validate(batch.signal, &bytes).map_or(0, |counts| counts.items);
            Batch { signal: batch.signal, payload: Bytes::from(bytes), items }
        })
        .collect()
}

/// Where the batcher hands batches to the workers: one queue they all take from, or, with
/// `partition_by`, a queue per worker and each batch cut by key among them.
pub(crate) struct WorkQueues {
    queues: Vec<async_channel::Sender<Batch>>,
    /// The key, and a name per worker for the rendezvous hash (as the balancing exporter's
    /// endpoints): a key goes to the same worker for as long as the collector runs.
    partition: Option<(RoutingKey, Vec<String>)>,
    depth: IntGauge,
}

impl WorkQueues {
    /// One queue of `capacity` batches that every worker takes from.
    pub(crate) fn shared(capacity: usize, depth: IntGauge) -> (Self, Vec<async_channel::Receiver<Batch>>, usize) {
        let (sender, receiver) = async_channel::bounded(capacity);
        (WorkQueues { queues: vec![sender], partition: None, depth }, vec![receiver], capacity)
    }

    /// A queue of two batches per worker, each batch cut by `key` among them.
    pub(crate) fn partitioned(
        workers: usize,
        key: RoutingKey,
        depth: IntGauge,
    ) -> (Self, Vec<async_channel::Receiver<Batch>>, usize) {
        let (queues, receivers) = (0..workers).map(|_| async_channel::bounded(2)).unzip();
        let names = (0..workers).map(|index| format!("worker-{index}")).collect();
        (WorkQueues { queues, partition: Some((key, names)), depth }, receivers, 2 * workers)
    }

    async fn send(&self, batch: Batch) {
        match &self.partition {
            None => self.push(0, batch).await,
            Some((key, names)) => {
                for (index, part) in crate::exporters::balance::route(&batch, names, *key) {
                    self.push(index, part).await;
                }
            }
        }
    }

    async fn push(&self, index: usize, batch: Batch) {
        self.depth.inc();
        if self.queues[index].send(batch).await.is_err() {
            self.depth.dec();
        }
    }
}

/// A processor as one worker runs it: its slot and its counters.
pub(crate) struct Stage {
    slot: Slot,
    on_error: OnError,
    tick_interval: Duration,
    items_in: IntCounter,
    items_out: IntCounter,
    dropped_by_plugin: IntCounter,
    dropped_on_error: IntCounter,
}

impl Stage {
    pub(crate) fn new(plugin: &Arc<Plugin>, pipeline: &str, telemetry: &Telemetry, tick_interval: Duration) -> Self {
        let name = plugin.name();
        Self {
            slot: plugin.slot(),
            on_error: plugin.on_error(),
            tick_interval,
            items_in: telemetry.processor_in.with_label_values(&[pipeline, name]),
            items_out: telemetry.processor_out.with_label_values(&[pipeline, name]),
            dropped_by_plugin: telemetry.processor_dropped.with_label_values(&[pipeline, name, "plugin"]),
            dropped_on_error: telemetry.processor_dropped.with_label_values(&[pipeline, name, "on_error"]),
        }
    }

    /// Starts the processor's instance now.
    pub(crate) fn warm(&mut self) -> Result<(), crate::runtime::Failure> {
        self.slot.warm()
    }

    /// Ticks a timed processor: what it sends on now. A failed tick is logged and counted
    /// by the slot and gives nothing.
    fn tick(&mut self, stopping: bool) -> Vec<Batch> {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
        let Ok(batches) = self.slot.tick(now, stopping) else { return Vec::new() };
        batches
            .into_iter()
            .map(|(signal, bytes, items)| {
                self.items_out.inc_by(items as u64);
                Batch { signal, payload: Bytes::from(bytes), items }
            })
            .collect()
    }

    /// Runs the processor on a batch; `None` when nothing passes on.
    fn run(&mut self, batch: Batch) -> Option<Batch> {
        self.items_in.inc_by(batch.items as u64);
        let out = match self.slot.process(batch.signal, &batch.payload) {
            Ok(Outcome::Unchanged) => Some(batch),
            Ok(Outcome::Replaced(bytes, items)) => {
                self.dropped_by_plugin.inc_by(batch.items.saturating_sub(items) as u64);
                Some(Batch { signal: batch.signal, payload: Bytes::from(bytes), items })
            }
            Ok(Outcome::Dropped) => {
                self.dropped_by_plugin.inc_by(batch.items as u64);
                None
            }
            Err(_) if self.on_error == OnError::Pass => Some(batch),
            Err(_) => {
                self.dropped_on_error.inc_by(batch.items as u64);
                None
            }
        };
        if let Some(batch) = &out {
            self.items_out.inc_by(batch.items as u64);
        }
        out
    }
}

/// One worker: takes batches, runs every stage in order, and hands what is left to every
/// exporter's queue (waiting while a queue is full: backpressure, never unbounded memory).
/// Timed processors are ticked on their intervals between batches (waiting for the next
/// batch on `runtime`'s clock) and once more, with `stopping`, after the last one.
pub(crate) fn worker(
    pipeline: Arc<str>,
    mut stages: Vec<Stage>,
    work: async_channel::Receiver<Batch>,
    work_depth: IntGauge,
    exporters: Vec<ExporterQueue>,
    items_out: IntCounter,
    runtime: tokio::runtime::Handle,
) {
    let out = Output { pipeline, exporters, items_out };
    let timed: Vec<usize> = (0..stages.len()).filter(|&i| stages[i].slot.ticks()).collect();
    if timed.is_empty() {
        while let Ok(batch) = work.recv_blocking() {
            work_depth.dec();
            run_from(&mut stages, 0, batch, &out);
        }
        return;
    }
    let start = std::time::Instant::now();
    let mut due: Vec<std::time::Instant> = timed.iter().map(|&i| start + stages[i].tick_interval).collect();
    loop {
        // A waiting batch is taken at once; only an empty queue waits, on the runtime's
        // clock, until the next batch or the next tick, whichever comes first.
        let received = match work.try_recv() {
            Ok(batch) => Some(batch),
            Err(async_channel::TryRecvError::Closed) => break,
            Err(async_channel::TryRecvError::Empty) => {
                let next = due.iter().min().copied().expect("at least one timed stage");
                let wait = next.saturating_duration_since(std::time::Instant::now());
                match runtime.block_on(tokio::time::timeout(wait, work.recv())) {
                    Ok(Ok(batch)) => Some(batch),
                    Ok(Err(_closed)) => break,
                    Err(_elapsed) => None,
                }
            }
        };
        if let Some(batch) = received {
            work_depth.dec();
            run_from(&mut stages, 0, batch, &out);
        }
        let now = std::time::Instant::now();
        for (slot, &index) in due.iter_mut().zip(&timed) {
            if *slot <= now {
                for batch in stages[index].tick(false) {
                    run_from(&mut stages, index + 1, batch, &out);
                }
                *slot = now + stages[index].tick_interval;
            }
        }
    }
    // The pipeline drains: every timed stage hands over what it holds, in order, so that
    // what one gives up passes through the stages after it (which are ticked after it).
    for &index in &timed {
        for batch in stages[index].tick(true) {
            run_from(&mut stages, index + 1, batch, &out);
        }
    }
}

/// Where a worker's batches go once the stages are done with them.
struct Output {
    pipeline: Arc<str>,
    exporters: Vec<ExporterQueue>,
    items_out: IntCounter,
}

/// Runs `batch` through the stages from `first` on, then to every exporter's queue.
fn run_from(stages: &mut [Stage], first: usize, batch: Batch, out: &Output) {
    let mut current = Some(batch);
    for stage in &mut stages[first..] {
        current = current.and_then(|batch| stage.run(batch));
    }
    let Some(batch) = current else { return };
    out.items_out.inc_by(batch.items as u64);
    for queue in &out.exporters {
        queue.depth.inc();
        let item = ExportItem { pipeline: out.pipeline.clone(), batch: batch.clone() };
        if queue.sender.send_blocking(item).is_err() {
            queue.depth.dec();
        }
    }
}
