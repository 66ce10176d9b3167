//! Feed-forward: every TileIndex write comes from a tile that went through an ingest job's
//! upload queue and tile-index queue, and those queues' live counts (GetQueueAttributes, read
//! every tick) move minutes before DynamoDB's CloudWatch datapoints do. The rule learns what a
//! tile costs each dimension of the fed table and its GSIs, estimates the tile rate from the
//! fall of the upload queues, and raises before the table throttles.

use super::evidence::TableView;
use crate::domain::action::Forecast;
use crate::domain::observed::Observed;
use crate::domain::resource::{BillingMode, CapacityKey, Dimension};
use crate::memory::capacity::{CapacityMemory, JobReading, UnitsPerTile, Uploaded};
use crate::policy::FeedForward;
use crate::time::Timestamp;
use std::time::Duration;

/// Upload history kept: enough for every CloudWatch minute still to be published.
const UPLOAD_HISTORY: Duration = Duration::from_secs(20 * 60);
/// Weight of each newly learned minute in the units-per-tile average.
const LEARNING_RATE: f64 = 0.3;
/// Below this tile rate a minute's demand is mostly other traffic: it teaches nothing per tile.
const MIN_TILES_PER_S: f64 = 5.0;
/// How far ahead a feed-forward raise reaches: an UpdateTable takes up to a minute, the next
/// tick comes an interval later, and the latest reading describes the half interval before it.
pub const HORIZON: Duration = Duration::from_secs(120);
/// How long a throttled tile may take to come back (the tile-index queue's visibility timeout,
/// 120 s in BOSS, and a minute of CloudWatch alignment).
const RETRY_WINDOW: Duration = Duration::from_secs(180);
/// The growth of the tile rate that counts as a ramp.
const RAMP_GROWTH: f64 = 1.1;
/// Tiles waiting in the tile-index queues are written within this long.
const BACKLOG_DRAIN: Duration = Duration::from_secs(300);
/// After the last upload, the jobs count as over for this long (for lowering).
const JOBS_REMEMBERED: Duration = Duration::from_secs(3600);

/// The tile rate the ingest queues show at this tick.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tiles {
    pub jobs: usize,
    pub per_s: f64,
    pub rising_per_s2: f64,
    /// Tiles/s expected over the horizon, the backlog in the tile-index queues included.
    pub expected_per_s: f64,
}

/// Tiles taken from the upload queues since the previous reading, per job that has one.
fn fallen_since(memory: &CapacityMemory, observed: &Observed) -> Option<(usize, Uploaded)> {
    let mut tiles = 0;
    let mut jobs = 0;
    let mut from: Option<Timestamp> = None;
    for job in &observed.jobs {
        let (Some(upload), Some(prev)) =
            (&job.upload, memory.jobs.iter().find(|j| j.job == job.job))
        else {
            continue;
        };
        if prev.at >= observed.at {
            continue;
        }
        let fell = prev.tiles_left.saturating_sub(upload.total());
        if fell > 0 {
            jobs += 1;
        }
        tiles += fell;
        from = Some(from.map_or(prev.at, |f: Timestamp| f.min(prev.at)));
    }
    Some((
        jobs,
        Uploaded {
            from: from?,
            to: observed.at,
            tiles,
        },
    ))
}

/// What the ingest queues say about the coming minutes; `None` when no job was read twice.
#[must_use]
pub fn tiles(memory: &CapacityMemory, observed: &Observed) -> Option<Tiles> {
    let (jobs, now) = fallen_since(memory, observed)?;
    let per_s = now.rate();
    // The rate a minute or more before, for the trend.
    let mid = |u: &Uploaded| Timestamp(u.from.0 + (u.to.0 - u.from.0) / 2);
    let earlier = memory
        .uploads
        .iter()
        .rev()
        .find(|u| mid(&now).since(mid(u)) >= Duration::from_secs(60));
    // A rise of less than a tenth over a minute or more is the upload rate's noise, not a ramp.
    let rising_per_s2 = earlier
        .filter(|u| per_s > u.rate() * RAMP_GROWTH)
        .map_or(0.0, |u| {
            let dt = mid(&now).since(mid(u)).as_secs_f64().max(1.0);
            (per_s - u.rate()) / dt
        });
    #[allow(clippy::cast_precision_loss)]
    let backlog: u64 = observed
        .jobs
        .iter()
        .filter_map(|j| j.index.as_ref())
        .map(|q| q.visible + q.in_flight)
        .sum();
    #[allow(clippy::cast_precision_loss)]
    let expected_per_s = per_s
        + rising_per_s2 * HORIZON.as_secs_f64()
        + backlog as f64 / BACKLOG_DRAIN.as_secs_f64();
    Some(Tiles {
        jobs,
        per_s,
        rising_per_s2,
        expected_per_s,
    })
}

/// Units/s the tiles will ask of `key`, with the figures for the change's reason. A table's
/// writes start from the policy's prior and each GSI's from the prior times its share; reads
/// are forecast only once learned.
#[must_use]
pub fn forecast(
    memory: &CapacityMemory,
    view: &TableView<'_>,
    feed: &FeedForward,
    tiles: &Tiles,
    key: &CapacityKey,
) -> Option<Forecast> {
    let (units_per_tile, learned_minutes) = match memory.units_per_tile(key) {
        Some(u) => (u.units, u.minutes),
        None if key.dimension == Dimension::Write => {
            (feed.units_per_tile * view.write_share(&key.resource), 0)
        }
        None => return None,
    };
    Some(Forecast {
        jobs: tiles.jobs,
        tiles_per_s: tiles.per_s,
        rising_per_s2: tiles.rising_per_s2,
        units_per_tile,
        learned_minutes,
        expected_per_s: tiles.expected_per_s * units_per_tile,
    })
}

/// When the ingest jobs that wrote the tables ended, if they are over: tiles were uploaded
/// within the last hour, and now every job's queues are empty or gone (and the listing was
/// read). The time is the end of the last reading that saw tiles uploaded.
#[must_use]
pub fn jobs_over(memory: &CapacityMemory, observed: &Observed) -> Option<Timestamp> {
    let last = memory
        .uploads
        .iter()
        .filter(|u| u.tiles > 0 && observed.at.since(u.to) < JOBS_REMEMBERED)
        .map(|u| u.to)
        .max()?;
    let listing_failed = observed.unobserved.iter().any(|u| u.subject.ends_with('*'));
    let busy = observed.jobs.iter().any(|j| {
        [&j.upload, &j.index]
            .iter()
            .any(|q| q.as_ref().is_some_and(|d| d.total() > 0))
    });
    (!listing_failed && !busy).then_some(last)
}

/// Remembers this tick's upload readings and the tiles taken since the previous ones. A failed
/// queue listing keeps the old readings: one missed call must not read as a job that ended.
pub fn note_uploads(memory: &mut CapacityMemory, observed: &Observed) {
    let listing_failed = observed.unobserved.iter().any(|u| u.subject.ends_with('*'));
    if !listing_failed {
        if let Some((_, uploaded)) = fallen_since(memory, observed) {
            memory.uploads.push(uploaded);
        }
        memory.jobs = observed
            .jobs
            .iter()
            .filter_map(|j| {
                Some(JobReading {
                    job: j.job.clone(),
                    at: observed.at,
                    tiles_left: j.upload.as_ref()?.total(),
                })
            })
            .collect();
    }
    memory
        .uploads
        .retain(|u| observed.at.since(u.to) < UPLOAD_HISTORY);
}

/// Tiles per second uploaded during `[minute, minute + 60 s)`, when the readings cover it.
fn tile_rate(uploads: &[Uploaded], minute: Timestamp, period: Duration) -> Option<f64> {
    let end = minute.plus(period);
    let mut covered = 0.0;
    let mut tiles = 0.0;
    for u in uploads {
        let from = u.from.max(minute);
        let to = u.to.min(end);
        if to <= from {
            continue;
        }
        let overlap = to.since(from).as_secs_f64();
        covered += overlap;
        tiles += u.rate() * overlap;
    }
    let span = period.as_secs_f64().max(1.0);
    (covered >= span * 0.9).then(|| tiles / covered)
}

/// Units per tile of every dimension of a fed table, from the minutes CloudWatch has published
/// since the last learned one.
pub fn learn_units(memory: &mut CapacityMemory, view: &TableView<'_>) {
    let period = view.observed.period;
    for obs in view.resources() {
        if obs.billing != BillingMode::Provisioned {
            continue;
        }
        for dimension in Dimension::BOTH {
            let key = CapacityKey {
                resource: obs.resource.clone(),
                dimension,
            };
            let last = memory.units_per_tile(&key).map(|u| u.minute);
            let minutes: Vec<Timestamp> = obs
                .dimension(dimension)
                .consumed
                .points
                .iter()
                .map(|p| p.start)
                .filter(|m| last.is_none_or(|l| *m > l))
                .collect();
            for minute in minutes {
                let Some(rate) = tile_rate(&memory.uploads, minute, period) else {
                    continue;
                };
                // Only minutes with no throttling in them or in the retry window before them:
                // throttle events count the retries of one request, and a throttled tile comes
                // back minutes later; either would teach a tile to cost more than it does.
                let Some((demand, 0.0)) = TableView::minute_of(obs, dimension, minute) else {
                    continue;
                };
                let retries_from = minute.minus(RETRY_WINDOW);
                if obs
                    .dimension(dimension)
                    .throttle_events
                    .since(retries_from)
                    .any(|p| p.start < minute && p.value > 0.0)
                {
                    continue;
                }
                if rate < MIN_TILES_PER_S {
                    continue;
                }
                let sample = demand / rate;
                match memory.units_per_tile.iter_mut().find(|u| u.key == key) {
                    Some(u) => {
                        u.units += LEARNING_RATE * (sample - u.units);
                        u.minute = minute;
                        u.minutes = u.minutes.saturating_add(1);
                    }
                    None => memory.units_per_tile.push(UnitsPerTile {
                        key: key.clone(),
                        units: sample,
                        minute,
                        minutes: 1,
                    }),
                }
            }
        }
    }
}
