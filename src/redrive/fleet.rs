//! Re-drives the controller runs beyond one tick: one task per queue, its latest progress, and
//! how it ended. The controller collects ended re-drives at the start of each tick.

use super::{Progress, Summary, drive};
use crate::domain::redrive::{Settings, Target};
use crate::ports::{Functions, Metrics, Queues};
use crate::time::Timestamp;
use std::sync::Arc;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Starts re-drives for `act`. The simulator has none: its tick never orders one.
pub trait Launcher {
    /// Starts a re-drive; the text names what was started, for the journal's `call`.
    ///
    /// # Errors
    /// Why it could not start.
    fn launch(
        &mut self,
        target: &Target,
        settings: &Settings,
        at: Timestamp,
    ) -> Result<String, String>;
}

/// For ticks that cannot start re-drives (the simulator).
#[derive(Debug, Default)]
pub struct NoLauncher;

impl Launcher for NoLauncher {
    fn launch(
        &mut self,
        target: &Target,
        _settings: &Settings,
        _at: Timestamp,
    ) -> Result<String, String> {
        Err(format!(
            "cannot re-drive {} here: no re-drive runner",
            target.queue
        ))
    }
}

type Spawn = dyn Fn(Target, Settings, watch::Sender<Progress>, watch::Receiver<bool>) -> JoinHandle<Summary>
    + Send
    + Sync;

struct Running {
    target: Target,
    started: Timestamp,
    progress: watch::Receiver<Progress>,
    handle: JoinHandle<Summary>,
}

/// The running re-drives of one controller.
pub struct Fleet {
    spawn: Arc<Spawn>,
    stop: watch::Sender<bool>,
    running: Vec<Running>,
}

impl std::fmt::Debug for Fleet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fleet")
            .field(
                "running",
                &self
                    .running
                    .iter()
                    .map(|r| &r.target.queue)
                    .collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

/// A running re-drive as the journal shows it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Snapshot {
    pub queue: String,
    pub started: Timestamp,
    pub progress: Progress,
}

impl Fleet {
    /// A fleet whose re-drives use these (cloned) ports.
    pub fn new<Q, F, M>(queues: Q, functions: F, metrics: M) -> Self
    where
        Q: Queues + Clone + Send + Sync + 'static,
        F: Functions + Clone + Send + Sync + 'static,
        M: Metrics + Clone + Send + Sync + 'static,
    {
        let spawn = move |target: Target,
                          settings: Settings,
                          progress: watch::Sender<Progress>,
                          mut stop: watch::Receiver<bool>| {
            let (queues, functions, metrics) = (queues.clone(), functions.clone(), metrics.clone());
            tokio::spawn(async move {
                let stopped = async move {
                    let _ = stop.wait_for(|s| *s).await;
                };
                drive(
                    &target,
                    &settings,
                    &queues,
                    &functions,
                    &metrics,
                    |p| {
                        let _ = progress.send(p.clone());
                    },
                    stopped,
                )
                .await
            })
        };
        Self {
            spawn: Arc::new(spawn),
            stop: watch::channel(false).0,
            running: Vec::new(),
        }
    }

    #[must_use]
    pub fn is_running(&self, queue: &str) -> bool {
        self.running.iter().any(|r| r.target.queue == queue)
    }

    /// How many re-drives are running.
    #[must_use]
    pub fn running(&self) -> usize {
        self.running.len()
    }

    /// Progress of every running re-drive.
    #[must_use]
    pub fn snapshots(&self) -> Vec<Snapshot> {
        self.running
            .iter()
            .map(|r| Snapshot {
                queue: r.target.queue.clone(),
                started: r.started,
                progress: r.progress.borrow().clone(),
            })
            .collect()
    }

    /// Re-drives that have ended since the last call.
    pub async fn ended(&mut self) -> Vec<Summary> {
        let (done, running): (Vec<_>, Vec<_>) = std::mem::take(&mut self.running)
            .into_iter()
            .partition(|r| r.handle.is_finished());
        self.running = running;
        collect(done).await
    }

    /// Waits for every running re-drive to end by itself. Safe to cancel (a signal during a
    /// one-shot run): nothing is taken out of the fleet until it has ended.
    pub async fn wait_all(&mut self) -> Vec<Summary> {
        while !self.running.iter().all(|r| r.handle.is_finished()) {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        self.ended().await
    }

    /// Asks every running re-drive to stop and waits for them (invocations in flight finish).
    pub async fn stop_all(&mut self) -> Vec<Summary> {
        let _ = self.stop.send(true);
        self.wait_all().await
    }

    /// Starts a re-drive at `at`.
    pub fn start(
        &mut self,
        target: &Target,
        settings: &Settings,
        at: Timestamp,
    ) -> Result<String, String> {
        if self.is_running(&target.queue) {
            return Err(format!("a re-drive of {} is already running", target.queue));
        }
        let (progress_tx, progress) = watch::channel(Progress::default());
        let handle = (self.spawn)(
            target.clone(),
            *settings,
            progress_tx,
            self.stop.subscribe(),
        );
        self.running.push(Running {
            target: target.clone(),
            started: at,
            progress,
            handle,
        });
        Ok(format!(
            "re-drive of {} through {} at {}/s started",
            target.queue, target.function, settings.rate_per_s
        ))
    }
}

async fn collect(done: Vec<Running>) -> Vec<Summary> {
    let mut out = Vec::new();
    for r in done {
        match r.handle.await {
            Ok(summary) => out.push(summary),
            Err(e) => out.push(Summary {
                target: r.target,
                started: r.started,
                ended: Timestamp::now(),
                progress: r.progress.borrow().clone(),
                end: super::End::Failed {
                    error: format!("the re-drive task stopped abnormally: {e}"),
                },
            }),
        }
    }
    out
}

impl Launcher for Fleet {
    fn launch(
        &mut self,
        target: &Target,
        settings: &Settings,
        at: Timestamp,
    ) -> Result<String, String> {
        self.start(target, settings, at)
    }
}
