//! The simulated ingest jobs (`[[jobs]]`) and their SQS queues, one second per step, as
//! `shared/boss.md` ("The ingest pipeline today") describes BOSS:
//!
//! - **Start.** At its start a job's queues appear (`<dom>-upload-<id>`, `<dom>-ingest-<id>`,
//!   `<dom>-<id>-index` with its `-index-dlq`, `<dom>-<id>-error`) and BOSS fills the upload
//!   queue with every tile of the job.
//! - **Upload.** The ingest-client workers take tiles from the upload queue at the job's upload
//!   rate (seeded minute-to-minute noise; never more than are left), PUT them to S3 and send
//!   each to the tile-index queue.
//! - **Index.** tileUploadLambda (SQS event source, batch 1) receives, the next second, every
//!   visible tile-index message and writes TileIndex: `write_units_per_tile` write units (each
//!   GSI its `write_share` of them) and `read_units_per_tile` read units (the chunk-completion
//!   check). A tile whose write is throttled is not lost: the invocation fails, the message
//!   comes back after the queue's visibility timeout ([`INDEX_VISIBILITY`]) and is received
//!   again; after [`RECEIVES`] failed receives SQS moves it to the dead-letter queue. The share
//!   of tiles that fail is the share of the table's write requests the world throttled that
//!   second (the table and its GSIs decide, as for any demand). Throttled reads are counted by
//!   the world but do not fail a tile (the lambda's chunk check is retried by botocore).
//! - **Chunks.** Every [`TILES_PER_CHUNK`] tiles indexed put one message on the ingest queue;
//!   tileUploadLambda async-invokes tileIngestLambda, which takes it at once and holds it in
//!   flight for [`INGEST_SECONDS`] while it builds the cuboid: the ingest queue shows nothing
//!   visible and a few in flight.
//! - **End.** A job whose tiles are all through (uploaded, indexed, and their chunks ingested)
//!   is finished; a job reaching `cancel_at` is cancelled. Either way BOSS deletes its queues:
//!   they are listed no more, and work still in them is dropped. A job with dead-lettered tiles
//!   is not through (those tiles' chunks never complete): it keeps its queues, the dead-letter
//!   queue showing them, until it is cancelled or the scenario ends.

mod queues;
#[cfg(test)]
mod tests;

use super::scenario::{JobSpec, interpolate};
use super::seeded::{hash, unit};
use crate::domain::resource::Dimension;
use crate::policy::Domain;
use std::collections::VecDeque;

/// Visibility timeouts, seconds: the upload and tile-index queues as ndingest creates them
/// (`UploadQueue.createQueue`, `TileIndexQueue.createQueue`: 120), the ingest queue as
/// `shared/boss.md` states (530, above tileIngestLambda's 510 s timeout). The dead-letter and
/// error queues are created without one: SQS's default, 30.
pub const UPLOAD_VISIBILITY: u64 = 120;
pub const INDEX_VISIBILITY: u64 = 120;
pub const INGEST_VISIBILITY: u64 = 530;
pub const DEFAULT_VISIBILITY: u64 = 30;
/// Receives of a tile-index message before SQS dead-letters it (ndingest:
/// `queue.addDeadLetterQueue(3)`).
pub const RECEIVES: usize = 3;
/// Tiles of a chunk (`shared/boss.md`: "normally 16").
pub const TILES_PER_CHUNK: u64 = 16;
/// Seconds tileIngestLambda holds a chunk message: an assumption (a cuboid of 16 tiles is read,
/// assembled and written to S3 in seconds; the timeout, 510 s, is far above).
pub const INGEST_SECONDS: u64 = 10;

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Waiting,
    Running,
    /// Every tile through; queues deleted.
    Finished,
    /// Cancelled at `cancel_at`; queues deleted.
    Cancelled,
}

#[derive(Debug, Clone)]
struct SimJob {
    spec: JobSpec,
    phase: Phase,
    /// The second the upload plan would take the last tile (or the scenario's end).
    planned_end: u64,
    /// Tiles in the upload queue, and the fraction of a tile the rate has accrued.
    upload_left: u64,
    carry: f64,
    /// Tiles the workers took this second (in flight in the upload queue).
    uploading: u64,
    /// Visible tile-index messages, by the receives each has had (0, 1, 2).
    visible: [u64; RECEIVES],
    /// Messages received this second, by receives before this one; settled after the tables.
    received: [u64; RECEIVES],
    /// Failed messages waiting out the visibility timeout: (second due, receives so far, count),
    /// in due order (every one waits the same timeout).
    returning: VecDeque<(u64, usize, u64)>,
    dead: u64,
    indexed: u64,
    chunks: u64,
    /// Chunks tileIngestLambda holds: (second done, count).
    ingesting: VecDeque<(u64, u64)>,
    /// Tiles tileUploadLambda received this second: the table load.
    load: u64,
}

impl SimJob {
    /// Planned tiles per second at a scenario second, noise included.
    fn rate(&self, seed: u64, second: u64) -> f64 {
        let Some(t) = second.checked_sub(self.spec.start) else {
            return 0.0;
        };
        let noise = if self.spec.noise > 0.0 {
            let draw = unit(hash(&[seed, 0x10B5, self.spec.id, t / 60]));
            1.0 + self.spec.noise * (2.0 * draw - 1.0)
        } else {
            1.0
        };
        interpolate(&self.spec.upload, t) * noise
    }

    fn units(&self, dimension: Dimension) -> f64 {
        match dimension {
            Dimension::Read => self.spec.read_units_per_tile,
            Dimension::Write => self.spec.write_units_per_tile,
        }
    }

    /// One second of the pipeline before the tables answer; returns the tiles received for the
    /// first time.
    fn step(&mut self, seed: u64, second: u64) -> u64 {
        if self.phase == Phase::Waiting && second >= self.spec.start {
            self.phase = Phase::Running;
            self.upload_left = self.spec.tiles;
        }
        if self.phase == Phase::Running && self.spec.cancel_at.is_some_and(|c| second >= c) {
            self.phase = Phase::Cancelled;
        }
        self.load = 0;
        self.uploading = 0;
        if self.phase != Phase::Running {
            return 0;
        }
        while let Some(&(due, receives, count)) = self.returning.front() {
            if due > second {
                break;
            }
            self.returning.pop_front();
            match self.visible.get_mut(receives) {
                Some(v) => *v += count,
                // A message received RECEIVES times is moved to the dead-letter queue instead
                // of being delivered again.
                None => self.dead += count,
            }
        }
        while self
            .ingesting
            .front()
            .is_some_and(|(done, _)| *done <= second)
        {
            self.ingesting.pop_front();
        }
        // tileUploadLambda takes every message visible since last second ...
        self.received = std::mem::take(&mut self.visible);
        self.load = self.received.iter().sum();
        // ... while the workers upload this second's tiles.
        self.carry += self.rate(seed, second);
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let whole = self.carry.floor().max(0.0) as u64;
        let taken = whole.min(self.upload_left);
        #[allow(clippy::cast_precision_loss)]
        let taken_f = taken as f64;
        self.carry -= taken_f;
        self.upload_left -= taken;
        self.uploading = taken;
        self.visible[0] += taken;
        self.received[0]
    }

    /// After the tables answered: `ok` is the share of the table's writes accepted this second.
    fn settle(&mut self, second: u64, ok: f64) {
        if self.phase != Phase::Running {
            return;
        }
        let received = std::mem::take(&mut self.received);
        for (receives, count) in received.into_iter().enumerate() {
            #[allow(clippy::cast_precision_loss)]
            let wanted = count as f64 * ok.clamp(0.0, 1.0);
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let succeeded = (wanted.round() as u64).min(count);
            self.indexed += succeeded;
            if count > succeeded {
                let due = second + INDEX_VISIBILITY;
                self.returning
                    .push_back((due, receives + 1, count - succeeded));
            }
        }
        let chunks = self.indexed / TILES_PER_CHUNK;
        if chunks > self.chunks {
            self.ingesting
                .push_back((second + INGEST_SECONDS, chunks - self.chunks));
            self.chunks = chunks;
        }
        let through = self.upload_left == 0
            && self.dead == 0
            && self.visible.iter().all(|v| *v == 0)
            && self.returning.is_empty()
            && self.ingesting.is_empty();
        if through {
            self.phase = Phase::Finished;
        }
    }
}

/// Every job of a scenario, and the names their queues have in this domain.
#[derive(Debug, Clone, Default)]
pub struct Jobs {
    jobs: Vec<SimJob>,
    seed: u64,
    dashed: String,
}

impl Jobs {
    #[must_use]
    pub fn new(specs: &[JobSpec], domain: &Domain, seed: u64, duration: u64) -> Self {
        let jobs = specs
            .iter()
            .map(|spec| {
                let mut job = SimJob {
                    spec: spec.clone(),
                    phase: Phase::Waiting,
                    planned_end: duration,
                    upload_left: 0,
                    carry: 0.0,
                    uploading: 0,
                    visible: [0; RECEIVES],
                    received: [0; RECEIVES],
                    returning: VecDeque::new(),
                    dead: 0,
                    indexed: 0,
                    chunks: 0,
                    ingesting: VecDeque::new(),
                    load: 0,
                };
                job.planned_end = planned_end(&job, seed, duration);
                job
            })
            .collect();
        Self {
            jobs,
            seed,
            dashed: domain.dashed(),
        }
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.jobs.is_empty()
    }

    /// Advances every job up to the tables; returns the fresh units (first receives × units per
    /// tile, read and write) asked of the tables this second.
    pub fn step(&mut self, second: u64) -> f64 {
        let mut fresh = 0.0;
        for job in &mut self.jobs {
            let first = job.step(self.seed, second);
            #[allow(clippy::cast_precision_loss)]
            let tiles = first as f64;
            fresh += tiles * (job.spec.write_units_per_tile + job.spec.read_units_per_tile);
        }
        fresh
    }

    /// Settles the tiles received this second; `throttled` gives each table's (short name)
    /// throttled share of [read, write] requests this second.
    pub fn settle(&mut self, second: u64, throttled: &[(String, [f64; 2])]) {
        for job in &mut self.jobs {
            let share = throttled
                .iter()
                .find(|(t, _)| *t == job.spec.table)
                .map_or(0.0, |(_, s)| s[1]);
            job.settle(second, 1.0 - share);
        }
    }

    /// Units per second the jobs put on a table this second (retries included).
    #[must_use]
    pub fn load(&self, table_short: &str, dimension: Dimension) -> f64 {
        self.jobs
            .iter()
            .filter(|j| j.spec.table == table_short)
            .map(|j| {
                #[allow(clippy::cast_precision_loss)]
                let tiles = j.load as f64;
                tiles * j.units(dimension)
            })
            .sum()
    }

    /// Units per second the jobs' plans put on a table at a later second (no retries): what an
    /// oracle that knows the plan expects.
    #[must_use]
    pub fn planned(&self, table_short: &str, dimension: Dimension, second: u64) -> f64 {
        self.jobs
            .iter()
            .filter(|j| j.spec.table == table_short)
            .filter(|j| second >= j.spec.start && second < j.planned_end)
            .filter(|j| j.spec.cancel_at.is_none_or(|c| second < c))
            .map(|j| j.rate(self.seed, second) * j.units(dimension))
            .sum()
    }

    /// Each job's id and phase.
    #[must_use]
    pub fn phases(&self) -> Vec<(u64, Phase)> {
        self.jobs.iter().map(|j| (j.spec.id, j.phase)).collect()
    }
}

/// The second the upload plan takes the job's last tile, by the same accrual `step` uses (the
/// workers' rate is all that limits uploads, so the plan is what happens); the scenario's end
/// if it never does.
fn planned_end(job: &SimJob, seed: u64, duration: u64) -> u64 {
    let mut carry = 0.0;
    let mut left = job.spec.tiles;
    for second in job.spec.start..duration {
        carry += job.rate(seed, second);
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let taken = (carry.floor().max(0.0) as u64).min(left);
        #[allow(clippy::cast_precision_loss)]
        let taken_f = taken as f64;
        carry -= taken_f;
        left -= taken;
        if left == 0 {
            return second + 1;
        }
    }
    duration
}
