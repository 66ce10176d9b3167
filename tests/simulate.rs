//! The shipped scenarios, run through the simulated BOSS: outcomes, not log lines.

mod common;

use remediator::policy::Policy;
use remediator::sim::{self, ControllerKind, RunResult, Scenario};
use std::path::Path;

fn run(scenario: &str, policy: &Policy, kind: ControllerKind) -> RunResult {
    let scenario = Scenario::load(scenario).unwrap_or_else(|e| panic!("{e}"));
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
        .block_on(sim::run(&scenario, policy, kind))
}

fn did(result: &RunResult, subject: &str) -> Vec<u64> {
    result
        .timeline
        .iter()
        .filter(|e| e.kind == "did" && e.subject == subject && e.text.starts_with("raise"))
        .map(|e| e.at)
        .collect()
}

#[test]
fn burst_is_mitigated_with_fewer_throttles_than_both_autoscalers_and_less_cost_than_boss() {
    let policy = Policy::local();
    let ours = run("tileindex-burst", &policy, ControllerKind::Remediator).summary;
    let boss = run("tileindex-burst", &policy, ControllerKind::BossAutoscaler).summary;
    let tracking = run("tileindex-burst", &policy, ControllerKind::TargetTracking).summary;
    let none = run("tileindex-burst", &policy, ControllerKind::None).summary;
    assert!(
        ours.throttled_requests < boss.throttled_requests,
        "{ours:?} vs {boss:?}"
    );
    assert!(
        ours.throttled_requests < tracking.throttled_requests,
        "{ours:?} vs {tracking:?}"
    );
    assert!(ours.throttled_requests * 10 < none.throttled_requests);
    assert!(ours.capacity_cost_usd <= boss.capacity_cost_usd * 1.3);
    assert_eq!(
        ours.escalations, 0,
        "a burst on a well-spread key is not a hot partition"
    );
}

#[test]
fn raises_respect_the_cooldown() {
    let policy = Policy::local();
    let result = run("tileindex-burst", &policy, ControllerKind::Remediator);
    let cooldown = policy
        .tables
        .iter()
        .find(|t| t.short_name == "tileindex")
        .map(|t| t.raise.cooldown.as_secs())
        .unwrap_or_default();
    let subject = "tileindex.local.boss write";
    let raises = did(&result, subject);
    assert!(raises.len() >= 2, "{raises:?}");
    assert!(
        raises.windows(2).all(|w| w[1] - w[0] >= cooldown),
        "{raises:?}"
    );
}

#[test]
fn raises_stop_at_the_ceiling_and_the_controller_escalates() {
    let text = std::fs::read_to_string("policies/local.toml").unwrap_or_else(|e| panic!("{e}"));
    let text = text.replacen(
        "write = { floor = 10, ceiling = 40000 }",
        "write = { floor = 10, ceiling = 1000 }",
        1,
    );
    let policy = Policy::parse(Path::new("ceiling.toml"), &text).unwrap_or_else(|e| panic!("{e}"));
    let result = run("tileindex-burst", &policy, ControllerKind::Remediator);
    // Table and GSI each stop at 1,000 WCU.
    assert!(
        result.summary.peak_write_units <= 2000,
        "{:?}",
        result.summary
    );
    assert!(
        result
            .timeline
            .iter()
            .any(|e| e.kind == "escalated" && e.text.contains("CeilingReached"))
    );
    assert!(
        result
            .timeline
            .iter()
            .any(|e| e.kind == "held" && e.text.contains("ceiling 1000 reached"))
    );
}

#[test]
fn hot_partition_is_escalated_and_not_chased_with_capacity() {
    let policy = Policy::local();
    let ours = run("idindex-hot-partition", &policy, ControllerKind::Remediator);
    let boss = run(
        "idindex-hot-partition",
        &policy,
        ControllerKind::BossAutoscaler,
    )
    .summary;
    let tracking = run(
        "idindex-hot-partition",
        &policy,
        ControllerKind::TargetTracking,
    )
    .summary;
    let first_escalation = ours
        .timeline
        .iter()
        .find(|e| e.kind == "escalated" && e.text.contains("HotPartition"))
        .map(|e| e.at);
    let Some(first_escalation) = first_escalation else {
        panic!("no hot-partition escalation: {:#?}", ours.timeline)
    };
    let raises = did(&ours, "idIndex.local.boss write");
    assert!(
        raises.iter().all(|at| *at < first_escalation),
        "raised after recognising the hot partition: {raises:?}"
    );
    assert!(raises.len() <= 2, "{raises:?}");
    assert!(ours.summary.throttled_requests < boss.throttled_requests);
    assert!(ours.summary.throttled_requests < tracking.throttled_requests);
    assert!(ours.summary.capacity_cost_usd < boss.capacity_cost_usd / 2.0);
}

#[test]
fn the_oracle_bounds_every_controller() {
    let policy = Policy::local();
    for scenario in ["tileindex-burst", "idindex-hot-partition"] {
        let oracle = run(scenario, &policy, ControllerKind::Oracle).summary;
        let ours = run(scenario, &policy, ControllerKind::Remediator).summary;
        assert!(
            oracle.throttled_requests <= ours.throttled_requests,
            "{scenario}"
        );
    }
}

#[test]
fn simulations_are_deterministic_for_a_seed() {
    let policy = Policy::local();
    let a = run("tileindex-burst", &policy, ControllerKind::Remediator);
    let b = run("tileindex-burst", &policy, ControllerKind::Remediator);
    assert_eq!(a.summary, b.summary);
    assert_eq!(a.timeline, b.timeline);
}

fn remediator(args: &[&str]) -> (i32, String, String) {
    let run = common::remediator(args);
    (run.code, run.stdout, run.stderr)
}

#[test]
fn simulate_with_no_arguments_runs_the_default_scenario() {
    let (code, stdout, stderr) = remediator(&["simulate"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("scenario tileindex-burst")
            && stdout.contains("raise-capacity")
            && stdout.contains("throttled requests"),
        "{stdout}"
    );
}

#[test]
fn compare_as_json_has_one_row_per_controller() {
    let (code, stdout, stderr) = remediator(&[
        "simulate",
        "idindex-hot-partition",
        "--compare",
        "--output",
        "json",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let rows: serde_json::Value =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    let names: Vec<&str> = rows
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["controller"].as_str())
        .collect();
    assert_eq!(
        names,
        [
            "remediator",
            "boss-autoscaler",
            "target-tracking",
            "none",
            "oracle"
        ]
    );
    for row in rows.as_array().into_iter().flatten() {
        assert!(
            row["throttled_requests"].is_u64() && row["capacity_cost_usd"].is_f64(),
            "{row}"
        );
    }
}

#[test]
fn an_unknown_scenario_is_a_clear_usage_error() {
    let (code, _, stderr) = remediator(&["simulate", "simulations/nope.toml"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("simulations/nope.toml") && stderr.contains("tileindex-burst"),
        "{stderr}"
    );
}

#[test]
fn a_malformed_scenario_names_file_line_and_field() {
    let (code, _, stderr) = remediator(&["simulate", "tests/bad_scenarios/unknown-table.toml"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("tests/bad_scenarios/unknown-table.toml:12:44: workload.0.points.1.at: `soon` is not a duration"), "{stderr}");
    assert!(
        stderr.contains(
            "tests/bad_scenarios/unknown-table.toml:10:9: workload.0.table: no table `tilindex`"
        ),
        "{stderr}"
    );
}
