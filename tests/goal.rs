//! The goal's verdicts and the multi-seed tables, on hand-made summaries: values in, values
//! out, no simulation.

use remediator::sim::goal::{self, Clause, Mark};
use remediator::sim::seeds::{self, ScenarioRuns, SeedRun};
use remediator::sim::{ControllerKind, Summary};

fn summary(kind: ControllerKind, throttled: u64, demanded: u64, cost: f64) -> Summary {
    #[allow(clippy::cast_precision_loss)]
    Summary {
        controller: kind.name(),
        throttled_requests: throttled,
        requests_demanded: demanded,
        throttled_share: throttled as f64 / demanded as f64,
        capacity_cost_usd: cost,
        ..Summary::default()
    }
}

/// One seed's run: remediator, the two baselines and the oracle; demand 100,000 (so the
/// throttling tolerance is the 1,000-request floor).
fn seed_run(seed: u64, ours: (u64, f64), boss: u64, tracking: u64, oracle: (u64, f64)) -> SeedRun {
    const DEMAND: u64 = 100_000;
    SeedRun {
        seed,
        summaries: vec![
            summary(ControllerKind::Remediator, ours.0, DEMAND, ours.1),
            summary(ControllerKind::BossAutoscaler, boss, DEMAND, 50.0),
            summary(ControllerKind::TargetTracking, tracking, DEMAND, 5.0),
            summary(ControllerKind::Oracle, oracle.0, DEMAND, oracle.1),
        ],
    }
}

fn marks(scenario: &ScenarioRuns) -> Vec<(Clause, Mark)> {
    goal::check(std::slice::from_ref(scenario))
        .into_iter()
        .map(|v| (v.clause, v.mark))
        .collect()
}

use Clause::{
    BeyondOracle, CostOnAverage, CostOnEveryRun, ThrottlesVsBossAutoscaler,
    ThrottlesVsTargetTracking,
};
use Mark::{Fail, Pass};

#[test]
fn the_goal_passes_within_its_tolerances() {
    let s = ScenarioRuns {
        scenario: "hand-made".into(),
        job_driven: false,
        runs: vec![
            // 1,000 more throttles than the BOSS autoscaler is the tolerance's floor; 1.5 × the
            // oracle's cost on one seed, 0.9 × on the other (mean 1.2); 990 beyond the oracle is
            // 0.99 % of the demand.
            seed_run(1, (1_990, 15.0), 990, 5_000, (1_000, 10.0)),
            seed_run(2, (500, 9.0), 600, 400, (0, 10.0)),
        ],
    };
    assert_eq!(
        marks(&s),
        [
            (ThrottlesVsBossAutoscaler, Pass),
            (ThrottlesVsTargetTracking, Pass),
            (CostOnEveryRun, Pass),
            (CostOnAverage, Pass),
            (BeyondOracle, Pass),
        ]
    );
}

#[test]
fn the_goal_fails_each_clause_just_past_its_bound() {
    let s = ScenarioRuns {
        scenario: "hand-made".into(),
        job_driven: false,
        runs: vec![
            seed_run(1, (500, 10.0), 1_000, 1_000, (0, 10.0)),
            // 1,001 over the BOSS autoscaler (fails), 1,000 over target tracking (passes);
            // 1.51 × the oracle's cost (fails, and the mean is 1.255); 1.0 % beyond the oracle
            // (fails: the clause is strict).
            seed_run(2, (2_001, 15.1), 1_000, 1_001, (1_001, 10.0)),
        ],
    };
    assert_eq!(
        marks(&s),
        [
            (ThrottlesVsBossAutoscaler, Fail),
            (ThrottlesVsTargetTracking, Pass),
            (CostOnEveryRun, Fail),
            (CostOnAverage, Pass),
            (BeyondOracle, Fail),
        ]
    );
    let verdicts = goal::check(std::slice::from_ref(&s));
    assert!(!goal::all_pass(&verdicts));
    let text = goal::render(&verdicts);
    assert!(
        text.lines().next().is_some_and(|l| l.starts_with("FAIL")
            && l.contains("boss-autoscaler")
            && l.contains("seed 2")),
        "{text}"
    );
    assert_eq!(text.lines().count(), 5, "{text}");
}

#[test]
fn job_driven_scenarios_are_held_to_a_fifth_of_the_beyond_oracle_bound() {
    // 500 beyond the oracle: 0.5 % of the demand.
    let runs = vec![seed_run(1, (500, 10.0), 500, 500, (0, 10.0))];
    let cloudwatch = ScenarioRuns {
        scenario: "cloudwatch".into(),
        job_driven: false,
        runs: runs.clone(),
    };
    let jobs = ScenarioRuns {
        scenario: "jobs".into(),
        job_driven: true,
        runs,
    };
    assert_eq!(marks(&cloudwatch)[4], (BeyondOracle, Pass));
    assert_eq!(marks(&jobs)[4], (BeyondOracle, Fail));
}

#[test]
fn the_goal_fails_on_the_mean_cost_and_on_a_missing_controller() {
    let costly = ScenarioRuns {
        scenario: "costly".into(),
        job_driven: false,
        runs: vec![
            seed_run(1, (0, 14.0), 0, 0, (0, 10.0)),
            seed_run(2, (0, 14.0), 0, 0, (0, 10.0)),
        ],
    };
    assert_eq!(marks(&costly)[3], (CostOnAverage, Fail));
    assert_eq!(marks(&costly)[2], (CostOnEveryRun, Pass));
    let mut missing = costly.clone();
    missing.runs[1]
        .summaries
        .retain(|s| s.controller != "oracle");
    let got = marks(&missing);
    assert_eq!(
        got[2..],
        [
            (CostOnEveryRun, Fail),
            (CostOnAverage, Fail),
            (BeyondOracle, Fail)
        ]
    );
    let empty = ScenarioRuns {
        runs: Vec::new(),
        ..costly
    };
    assert!(marks(&empty).iter().all(|(_, m)| *m == Fail));
}

#[test]
fn the_tables_show_mean_and_worst_against_the_oracle_of_the_same_seed() {
    let s = ScenarioRuns {
        scenario: "hand-made".into(),
        job_driven: false,
        runs: vec![
            seed_run(1, (3_000, 15.0), 0, 0, (1_000, 10.0)),
            seed_run(2, (1_000, 8.0), 0, 0, (0, 4.0)),
        ],
    };
    let other = ScenarioRuns {
        scenario: "other".into(),
        ..s.clone()
    };
    let blocks = seeds::blocks(&[s, other]);
    assert_eq!(
        blocks
            .iter()
            .map(|b| b.scenario.as_str())
            .collect::<Vec<_>>(),
        ["hand-made", "other", "total"]
    );
    let ours = &blocks[0].rows[0];
    assert_eq!(ours.controller, "remediator");
    assert_eq!(ours.runs, 2);
    assert_eq!(
        (ours.throttled_requests.mean, ours.throttled_requests.worst),
        (2_000.0, 3_000.0)
    );
    // 1.5 × and 2 × the oracle of the same seed (not of the other seed).
    assert_eq!(
        (ours.cost_vs_oracle.mean, ours.cost_vs_oracle.worst),
        (1.75, 2.0)
    );
    // 2,000 and 1,000 beyond the oracle, of 100,000 demanded.
    assert!(
        (ours.beyond_oracle.mean - 0.015).abs() < 1e-12 && ours.beyond_oracle.worst == 0.02,
        "{ours:?}"
    );
    assert_eq!(blocks[2].rows[0].runs, 4);
    let text = seeds::render(&blocks);
    assert!(
        text.contains("scenario hand-made, seeds 1..2") && text.contains("2.00×"),
        "{text}"
    );
}
