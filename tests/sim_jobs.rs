//! Ingest jobs and CloudWatch exports in the simulated BOSS: parsing, the shipped job scenarios,
//! and the fresh demand every controller is measured against.

use remediator::policy::Policy;
use remediator::ports::Queues;
use remediator::sim::cloud::SimCloud;
use remediator::sim::jobs::Phase;
use remediator::sim::runner::run_inspecting;
use remediator::sim::scenario::{UNITS_PER_EVENT, interpolate};
use remediator::sim::world::{Totals, World};
use remediator::sim::{ControllerKind, Scenario};
use std::path::Path;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Runs `kind` through the simulator's runner, for the world's totals and the jobs' phases,
/// which the summary does not carry.
fn run(scenario: &Scenario, kind: ControllerKind) -> (Totals, Vec<(u64, Phase)>) {
    let policy = Policy::local();
    runtime()
        .block_on(run_inspecting(scenario, &policy, kind, |world| {
            (world.totals.clone(), world.jobs.phases())
        }))
        .1
}

#[test]
fn fresh_demand_is_the_same_for_every_controller_and_throttles_are_not() {
    let scenario = Scenario::load("tileindex-burst").unwrap_or_else(|e| panic!("{e}"));
    let runs: Vec<(ControllerKind, Totals)> = ControllerKind::ALL
        .into_iter()
        .map(|kind| (kind, run(&scenario, kind).0))
        .collect();
    let (_, first) = &runs[0];
    // Job 17 (12.5 M tiles) and most of job 18 (2.5 M) at 1.13 units per tile, plus reads.
    assert!(
        first.requests_demanded > 14.0e6 && first.requests_demanded < 17.5e6,
        "{first:?}"
    );
    for (kind, totals) in &runs {
        assert!(
            (totals.requests_demanded - first.requests_demanded).abs() < 1e-3,
            "{kind:?}: {} vs {}",
            totals.requests_demanded,
            first.requests_demanded
        );
    }
    let throttled = |k: ControllerKind| {
        runs.iter()
            .find(|(kind, _)| *kind == k)
            .map_or(0.0, |(_, t)| t.throttled_requests)
    };
    // Without a controller most tiles are throttled on each of their three receives.
    assert!(throttled(ControllerKind::None) > first.requests_demanded * 2.0);
    assert!(throttled(ControllerKind::Oracle) < throttled(ControllerKind::None) / 1000.0);
}

#[test]
fn a_cancelled_job_stops_its_demand_and_its_queues_are_gone() {
    let scenario = Scenario::load("job-cancelled").unwrap_or_else(|e| panic!("{e}"));
    let policy = Policy::local();
    let cloud = SimCloud::new(World::new(
        &scenario,
        &policy.domain,
        policy.guardrails.prices,
    ));
    let rt = runtime();
    let write = |cloud: &SimCloud| {
        let world = cloud.world();
        let second = world.elapsed();
        world
            .demand(
                "tileindex",
                None,
                remediator::domain::resource::Dimension::Write,
                second,
            )
            .0
    };
    for _ in 0..69 * 60 {
        cloud.world().step();
    }
    let listed = rt
        .block_on(cloud.list("local-boss-ingest-"))
        .unwrap_or_default();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert!(write(&cloud) > 2000.0);
    for _ in 0..120 {
        cloud.world().step();
    }
    assert!(
        rt.block_on(cloud.list("local-boss-"))
            .unwrap_or_default()
            .is_empty()
    );
    assert!(rt.block_on(cloud.url("local-boss-upload-31")).is_err());
    assert!(rt.block_on(cloud.depth(&listed[0])).is_err());
    assert!(write(&cloud) < 1e-9);
    assert_eq!(cloud.world().jobs.phases(), vec![(31, Phase::Cancelled)]);
}

#[test]
fn the_burst_jobs_run_their_course_under_the_oracle() {
    let scenario = Scenario::load("tileindex-burst").unwrap_or_else(|e| panic!("{e}"));
    let (totals, phases) = run(&scenario, ControllerKind::Oracle);
    assert_eq!(
        phases,
        vec![(17, Phase::Finished), (18, Phase::Finished)],
        "{totals:?}"
    );
}

#[test]
fn an_export_workload_replays_consumed_units_and_throttle_events_per_second() {
    let scenario = Scenario::load("backtest-export").unwrap_or_else(|e| panic!("{e}"));
    let write = &scenario.workload[0];
    // The export is printed newest first; scenario time 0 is its first (oldest) timestamp.
    let export: serde_json::Value =
        serde_json::from_str(remediator::sim::scenario::SHIPPED_EXPORTS[0].1)
            .unwrap_or_else(|e| panic!("{e}"));
    let results = &export["MetricDataResults"];
    let last = |id: &str, k: usize| {
        let r = results
            .as_array()
            .and_then(|a| a.iter().find(|r| r["Id"] == id))
            .unwrap_or_else(|| panic!("{id}"));
        let n = r["Values"].as_array().map_or(0, Vec::len);
        (
            r["Timestamps"][n - 1 - k]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            r["Values"][n - 1 - k].as_f64().unwrap_or_default(),
        )
    };
    let (t0, _) = last("wcu", 0);
    assert_eq!(t0, "2025-11-18T13:00:00+00:00");
    // Minute 65 of the slice is in the burst, throttled.
    let (t, consumed) = last("wcu", 65);
    assert_eq!(t, "2025-11-18T14:05:00+00:00");
    let events = results[1]["Timestamps"]
        .as_array()
        .and_then(|ts| ts.iter().position(|x| x == t.as_str()))
        .and_then(|i| results[1]["Values"][i].as_f64())
        .unwrap_or_else(|| panic!("no throttle datapoint at {t}"));
    assert!(events > 0.0);
    let want = (consumed + events * UNITS_PER_EVENT) / 60.0;
    let got = interpolate(&write.points, 65 * 60);
    assert!((got - want).abs() < 1e-9, "{got} vs {want}");
    // A minute without a throttle datapoint is its consumed units alone.
    let (_, quiet) = last("wcu", 10);
    assert!((interpolate(&write.points, 600) - quiet / 60.0).abs() < 1e-9);
    assert_eq!(write.points.len(), 300);
}

fn problems(name: &str, text: &str) -> String {
    match Scenario::parse(Path::new(name), text) {
        Ok(_) => panic!("{name} accepted"),
        Err(e) => e.to_string(),
    }
}

const TABLES: &str = r#"
name = "s"
seed = 1
duration = "1h"
[[tables]]
name = "tileindex"
billing = "provisioned"
"#;

#[test]
fn a_job_scenario_is_parsed_with_its_defaults() {
    let text = format!(
        "{TABLES}[[jobs]]\nid = 5\ntable = \"tileindex\"\nstart = \"2m\"\ntiles = 1000\n\
         upload = [{{ at = \"0m\", tiles = 10 }}]\n"
    );
    let s = Scenario::parse(Path::new("ok.toml"), &text).unwrap_or_else(|e| panic!("{e}"));
    let job = &s.jobs[0];
    assert_eq!((job.id, job.start, job.tiles), (5, 120, 1000));
    assert_eq!(job.upload, vec![(0, 10.0)]);
    assert!((job.write_units_per_tile - 1.0).abs() < 1e-12);
    assert!(job.read_units_per_tile.abs() < 1e-12 && job.noise.abs() < 1e-12);
    assert_eq!(job.cancel_at, None);
}

#[test]
fn an_export_next_to_a_scenario_file_is_read_and_a_bad_one_named_by_file_and_field() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("sim-export");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let good = r#"{"MetricDataResults":[{"Id":"w","Label":"x","Timestamps":["2025-01-01T00:02:00Z","2025-01-01T00:01:00Z","2025-01-01T00:00:00Z"],"Values":[600,120,60],"StatusCode":"Complete"},{"Id":"t","Timestamps":["2025-01-01T00:01:00+00:00"],"Values":[60],"StatusCode":"Complete"}],"Messages":[]}"#;
    std::fs::write(dir.join("good.json"), good).unwrap_or_else(|e| panic!("{e}"));
    let skewed = good.replace("00:02:00Z", "00:02:30Z");
    std::fs::write(dir.join("skewed.json"), skewed).unwrap_or_else(|e| panic!("{e}"));
    let workload = |file: &str| {
        format!(
            "{TABLES}[[workload]]\ntable = \"tileindex\"\ndimension = \"write\"\n\
             export = \"{file}\"\nconsumed = \"w\"\nthrottled = \"t\"\n"
        )
    };
    let path = dir.join("s.toml");
    let s = Scenario::parse(&path, &workload("good.json")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.workload[0].points, vec![(0, 1.0), (60, 3.0), (120, 10.0)]);
    let e = problems(path.to_str().unwrap_or_default(), &workload("skewed.json"));
    assert!(e.contains("skewed.json"), "{e}");
    assert!(e.contains("MetricDataResults.0.Timestamps"), "{e}");
    assert!(e.contains("irregular"), "{e}");
    let e = problems(path.to_str().unwrap_or_default(), &workload("missing.json"));
    assert!(
        e.contains("workload.0.export") && e.contains("missing.json"),
        "{e}"
    );
}
