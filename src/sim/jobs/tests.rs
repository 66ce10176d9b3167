//! The job pipeline in isolation (tables answered by hand), and through the world and the
//! `Queues` port as the controller observes it.

use super::*;
use crate::domain::observed::QueueDepth;
use crate::observe::{Deadline, observe_all};
use crate::policy::Policy;
use crate::sim::cloud::{QUEUE_URL_BASE, SimCloud};
use crate::sim::scenario::Scenario;
use crate::sim::world::World;
use std::path::Path;
use std::time::Duration;

const DOM: &str = "local-boss";

fn spec(rate: f64, tiles: u64, cancel_at: Option<u64>) -> JobSpec {
    JobSpec {
        id: 17,
        table: "tileindex".into(),
        start: 10,
        tiles,
        upload: vec![(0, rate)],
        noise: 0.0,
        write_units_per_tile: 1.0,
        read_units_per_tile: 0.25,
        cancel_at,
    }
}

fn jobs(spec: JobSpec) -> Jobs {
    let domain = Domain::new("local.boss").unwrap_or_else(|e| panic!("{e}"));
    Jobs::new(&[spec], &domain, 7, 6 * 3600)
}

/// Runs seconds `from..to` with the table throttling `throttled` of its writes.
fn run(j: &mut Jobs, from: u64, to: u64, throttled: f64) -> f64 {
    let mut fresh = 0.0;
    for second in from..to {
        fresh += j.step(second);
        j.settle(second, &[("tileindex".into(), [0.0, throttled])]);
    }
    fresh
}

fn depth(j: &Jobs, name: &str) -> (u64, u64) {
    let d = j
        .depth(name, name)
        .unwrap_or_else(|| panic!("no queue {name}"));
    (d.visible, d.in_flight)
}

#[test]
fn the_queues_appear_at_the_start_with_the_upload_queue_full() {
    let mut j = jobs(spec(100.0, 100_000, None));
    run(&mut j, 0, 10, 0.0);
    assert!(j.queue_names().is_empty());
    run(&mut j, 10, 11, 0.0);
    let names = j.queue_names();
    for name in [
        "local-boss-17-error",
        "local-boss-17-index",
        "local-boss-17-index-dlq",
        "local-boss-ingest-17",
        "local-boss-upload-17",
    ] {
        assert!(names.iter().any(|n| n == name), "{names:?}");
    }
    assert_eq!(depth(&j, "local-boss-upload-17"), (100_000 - 100, 100));
}

#[test]
fn the_upload_queue_falls_at_the_upload_rate_and_tiles_reach_the_table() {
    let mut j = jobs(spec(100.0, 100_000, None));
    let fresh = run(&mut j, 0, 70, 0.0);
    // Uploaded at seconds 10..70, received by tileUploadLambda one second later.
    assert_eq!(depth(&j, "local-boss-upload-17").0, 100_000 - 6000);
    assert_eq!(depth(&j, "local-boss-17-index"), (100, 0));
    assert!((fresh - 5900.0 * 1.25).abs() < 1e-6, "{fresh}");
    j.step(70);
    assert!((j.load("tileindex", Dimension::Write) - 100.0).abs() < 1e-9);
    assert!((j.load("tileindex", Dimension::Read) - 25.0).abs() < 1e-9);
    assert!(j.load("idIndex", Dimension::Write).abs() < 1e-9);
    // 5,900 tiles indexed by second 69: 368 chunks, those of the last 10 s still ingesting.
    let (visible, in_flight) = depth(&j, "local-boss-ingest-17");
    assert_eq!(visible, 0);
    assert!(in_flight > 0 && in_flight <= 100 * INGEST_SECONDS / TILES_PER_CHUNK + 1);
}

#[test]
fn throttled_tiles_come_back_after_the_visibility_timeout_and_are_retried() {
    let mut j = jobs(spec(100.0, 100_000, None));
    run(&mut j, 0, 11, 0.0);
    // Second 11: the 100 tiles uploaded at 10 are all throttled.
    let fresh = run(&mut j, 11, 12, 1.0);
    assert!((fresh - 125.0).abs() < 1e-9);
    assert_eq!(depth(&j, "local-boss-17-index"), (100, 100));
    run(&mut j, 12, 11 + INDEX_VISIBILITY, 0.0);
    assert_eq!(depth(&j, "local-boss-17-index").1, 100);
    // They are visible again and received with the fresh ones, not counted as fresh.
    let fresh = j.step(11 + INDEX_VISIBILITY);
    assert!((fresh - 125.0).abs() < 1e-9);
    assert!((j.load("tileindex", Dimension::Write) - 200.0).abs() < 1e-9);
    j.settle(11 + INDEX_VISIBILITY, &[]);
    assert_eq!(depth(&j, "local-boss-17-index"), (100, 0));
    assert_eq!(depth(&j, "local-boss-17-index-dlq"), (0, 0));
}

#[test]
fn a_tile_throttled_on_three_receives_goes_to_the_dead_letter_queue() {
    let mut j = jobs(spec(100.0, 100, None));
    run(&mut j, 0, 11 + 2 * INDEX_VISIBILITY + 1, 1.0);
    assert_eq!(depth(&j, "local-boss-17-index-dlq"), (0, 0));
    assert_eq!(depth(&j, "local-boss-17-index"), (0, 100));
    run(
        &mut j,
        11 + 2 * INDEX_VISIBILITY + 1,
        12 + 3 * INDEX_VISIBILITY,
        1.0,
    );
    assert_eq!(depth(&j, "local-boss-17-index-dlq"), (100, 0));
    assert_eq!(depth(&j, "local-boss-17-index"), (0, 0));
}

#[test]
fn a_cancelled_job_deletes_its_queues_and_its_load() {
    let mut j = jobs(spec(100.0, 100_000, Some(600)));
    run(&mut j, 0, 600, 0.0);
    assert_eq!(j.queue_names().len(), 5);
    assert!(j.planned("tileindex", Dimension::Write, 599) > 99.0);
    assert!(j.planned("tileindex", Dimension::Write, 600).abs() < 1e-9);
    run(&mut j, 600, 601, 0.0);
    assert!(j.queue_names().is_empty());
    assert!(j.depth("local-boss-upload-17", "u").is_none());
    assert!(j.peek("local-boss-ingest-17").is_none());
    assert!(j.load("tileindex", Dimension::Write).abs() < 1e-9);
    assert_eq!(j.phases(), vec![(17, Phase::Cancelled)]);
}

#[test]
fn a_job_with_every_tile_through_is_finished_and_its_queues_deleted() {
    let mut j = jobs(spec(100.0, 1000, None));
    // Uploads end at second 20; the plan knows it.
    assert!(j.planned("tileindex", Dimension::Write, 19) > 99.0);
    assert!(j.planned("tileindex", Dimension::Write, 20).abs() < 1e-9);
    run(&mut j, 0, 30, 0.0);
    assert_eq!(j.phases(), vec![(17, Phase::Running)]);
    run(&mut j, 30, 40, 0.0);
    assert_eq!(j.phases(), vec![(17, Phase::Finished)]);
    assert!(j.queue_names().is_empty());
}

#[test]
fn peek_returns_a_boss_shaped_body_only_when_a_message_is_visible() {
    let mut j = jobs(spec(100.0, 100_000, None));
    run(&mut j, 0, 20, 0.0);
    let body = j
        .peek("local-boss-17-index")
        .flatten()
        .unwrap_or_else(|| panic!("nothing visible"));
    let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(v["job_id"], 17);
    let key = v["chunk_key"].as_str().unwrap_or_default();
    assert!(crate::redrive::payload::chunk_key(key).is_ok(), "{key}");
    assert_eq!(j.peek("local-boss-ingest-17"), Some(None));
}

const SCENARIO: &str = r#"
name = "one-job"
seed = 3
duration = "1h"

[[tables]]
name = "tileindex"
billing = "provisioned"
read = 1000
write = 1000
indexes = [{ name = "task_id_index", read = 1000, write = 1000 }]

[[jobs]]
id = 17
table = "tileindex"
start = "1m"
tiles = 1_000_000
upload = [{ at = "0m", tiles = 100 }, { at = "5m", tiles = 500 }]
noise = 0.05
write_units_per_tile = 1.0
read_units_per_tile = 0.13
"#;

/// The controller's own observation, over the simulated queues: the job is found by its
/// ingest queue and its upload queue falls minute by minute.
#[test]
fn observe_finds_a_running_job_with_its_upload_queue_falling() {
    let scenario =
        Scenario::parse(Path::new("one-job.toml"), SCENARIO).unwrap_or_else(|e| panic!("{e}"));
    let policy = Policy::local();
    let cloud = SimCloud::new(World::new(
        &scenario,
        &policy.domain,
        policy.guardrails.prices,
    ));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let mut uploads = Vec::new();
    for minute in 0..10 {
        for _ in 0..60 {
            cloud.world().step();
        }
        let at = cloud.world().now;
        let observed = runtime.block_on(observe_all(
            (&cloud, &cloud, &cloud, &cloud),
            &policy,
            at,
            Deadline::none(),
        ));
        if minute == 0 {
            assert!(observed.jobs.is_empty(), "{:?}", observed.jobs);
            continue;
        }
        assert_eq!(observed.jobs.len(), 1, "{observed:?}");
        let job = &observed.jobs[0];
        assert_eq!(job.job, "17");
        assert_eq!(
            job.ingest.url,
            format!("{QUEUE_URL_BASE}{DOM}-ingest-17"),
            "{job:?}"
        );
        let upload = job.upload.as_ref().unwrap_or_else(|| panic!("{job:?}"));
        let index = job.index.as_ref().unwrap_or_else(|| panic!("{job:?}"));
        assert_eq!(upload.visibility_timeout, Some(Duration::from_secs(120)));
        // Tiles uploaded last second wait for tileUploadLambda; nothing throttles at 1000 WCU.
        assert!(index.visible > 50, "{index:?}");
        assert_eq!(index.in_flight, 0, "{index:?}");
        assert_eq!(job.index_dlq.as_ref().map(QueueDepth::total), Some(0));
        uploads.push(upload.visible);
    }
    // The ramp: each minute takes more tiles than the one before (noise is ±5 %).
    let taken: Vec<u64> = uploads.windows(2).map(|w| w[0] - w[1]).collect();
    assert!(taken.iter().all(|t| *t >= 5000), "{taken:?}");
    assert!(taken.last() > taken.first(), "{taken:?}");
}
