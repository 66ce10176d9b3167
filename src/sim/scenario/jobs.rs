//! The ingest jobs of a scenario (`[[jobs]]`): which table their tiles are written to, when they
//! start, how many tiles they hold, and how fast their workers upload. The model that runs them
//! is `sim::jobs`.

use super::TableSpec;
use crate::sim::limits::{
    MAX_JOB_ID, MAX_JOB_TILES, MAX_JOBS, MAX_POINTS, MAX_TILES, MAX_UNITS_PER_TILE,
};
use crate::source::{Checker, Whole, excerpt};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub(super) struct RawJob {
    id: Whole,
    table: String,
    start: String,
    tiles: Whole,
    upload: Vec<RawUpload>,
    noise: Option<f64>,
    write_units_per_tile: Option<f64>,
    read_units_per_tile: Option<f64>,
    cancel_at: Option<String>,
}

#[derive(Debug, Deserialize)]
struct RawUpload {
    at: String,
    tiles: f64,
}

/// One ingest job, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct JobSpec {
    /// BOSS's ingest job id; its queues are named after it (`<dom>-ingest-<id>`, ...).
    pub id: u64,
    /// Short name of the scenario table its tiles are indexed in (TileIndex).
    pub table: String,
    /// Scenario second the job starts: its queues appear and its upload queue is filled.
    pub start: u64,
    pub tiles: u64,
    /// Tiles per second the ingest-client workers upload, from the job's start, interpolated.
    pub upload: Vec<(u64, f64)>,
    /// Relative minute-to-minute noise on the upload rate (0.1 = ±10 %), seeded.
    pub noise: f64,
    /// Table write units per tile (each GSI takes its `write_share` of them).
    pub write_units_per_tile: f64,
    /// Table read units per tile (tileUploadLambda's chunk-completion check).
    pub read_units_per_tile: f64,
    /// Scenario second the job is cancelled and its queues deleted.
    pub cancel_at: Option<u64>,
}

/// Checks the `[[jobs]]` against the scenario's tables.
pub(super) fn check(c: &mut Checker<'_, '_>, raw: &[RawJob], tables: &[TableSpec]) -> Vec<JobSpec> {
    c.count("jobs", raw.len(), MAX_JOBS);
    let mut jobs: Vec<JobSpec> = Vec::new();
    for (i, j) in raw.iter().enumerate() {
        let at = format!("jobs.{i}");
        let id = c.whole(&format!("{at}.id"), Some(j.id), 0, 0, MAX_JOB_ID);
        if jobs.iter().any(|earlier| earlier.id == id) {
            c.fail(&format!("{at}.id"), format!("job {id} is listed twice"));
        }
        if !tables.iter().any(|t| t.short_name == j.table) {
            c.fail(
                &format!("{at}.table"),
                format!("no table `{}` in this scenario", excerpt(&j.table)),
            );
        }
        let start = c.at(&format!("{at}.start"), &j.start);
        let tiles = c.whole(&format!("{at}.tiles"), Some(j.tiles), 1, 1, MAX_JOB_TILES);
        let upload = upload(c, &format!("{at}.upload"), &j.upload);
        let noise = c.real(
            &format!("{at}.noise"),
            j.noise,
            0.0,
            (0.0, 1.0),
            false,
            true,
        );
        #[allow(clippy::cast_precision_loss)]
        let most = MAX_UNITS_PER_TILE as f64;
        let write = c.real(
            &format!("{at}.write_units_per_tile"),
            j.write_units_per_tile,
            1.0,
            (0.0, most),
            false,
            false,
        );
        let read = c.real(
            &format!("{at}.read_units_per_tile"),
            j.read_units_per_tile,
            0.0,
            (0.0, most),
            false,
            false,
        );
        let cancel_at = j.cancel_at.as_ref().map(|text| {
            let field = format!("{at}.cancel_at");
            let cancel = c.at(&field, text);
            if cancel <= start {
                c.fail(&field, "must be after the job's start");
            }
            cancel
        });
        jobs.push(JobSpec {
            id,
            table: j.table.clone(),
            start,
            tiles,
            upload,
            noise,
            write_units_per_tile: write,
            read_units_per_tile: read,
            cancel_at,
        });
    }
    jobs
}

/// The upload rate's points: in time order, tiles per second finite in `[0, MAX_TILES]`.
fn upload(c: &mut Checker<'_, '_>, field: &str, raw: &[RawUpload]) -> Vec<(u64, f64)> {
    c.count(field, raw.len(), MAX_POINTS);
    if raw.is_empty() {
        c.fail(field, "needs at least one point");
    }
    #[allow(clippy::cast_precision_loss)]
    let top = MAX_TILES as f64;
    let points: Vec<(u64, f64)> = raw
        .iter()
        .enumerate()
        .map(|(k, p)| {
            let at = c.at(&format!("{field}.{k}.at"), &p.at);
            let rate = c.real(
                &format!("{field}.{k}.tiles"),
                Some(p.tiles),
                0.0,
                (0.0, top),
                false,
                false,
            );
            (at, rate)
        })
        .collect();
    if points.windows(2).any(|p| p[1].0 < p[0].0) {
        c.fail(field, "points must be in time order");
    }
    points
}
