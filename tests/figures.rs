//! Honest figures (issue 12): the demand every summary carries, `--seeds`, and the shipped
//! scenarios (the goal's verdicts and the tables are in `goal.rs`).

mod common;

use remediator::domain::resource::Dimension;
use remediator::policy::Policy;
use remediator::sim::batch::{self, Finished};
use remediator::sim::scenario::SHIPPED;
use remediator::sim::seeds::{MAX_SEEDS, ScenarioRuns, Seeds};
use remediator::sim::{ControllerKind, Scenario};
use std::collections::BTreeSet;
use std::path::Path;

#[test]
fn seeds_take_an_inclusive_range_or_a_comma_list() {
    let cases: [(&str, Vec<u64>); 5] = [
        ("1..10", (1..=10).collect()),
        ("5..5", vec![5]),
        ("3,7,11", vec![3, 7, 11]),
        (" 3 , 7 ", vec![3, 7]),
        ("42", vec![42]),
    ];
    for (text, want) in cases {
        assert_eq!(
            Seeds::parse(text).map(|s| s.as_slice().to_vec()),
            Ok(want),
            "{text}"
        );
    }
    let most = format!("1..{MAX_SEEDS}");
    assert_eq!(
        Seeds::parse(&most).map(|s| s.as_slice().len()),
        Ok(MAX_SEEDS)
    );
    let top = format!("{}..{}", u64::MAX - 1, u64::MAX);
    assert_eq!(
        Seeds::parse(&top).map(|s| s.as_slice().to_vec()),
        Ok(vec![u64::MAX - 1, u64::MAX])
    );
}

#[test]
fn bad_seeds_are_refused_naming_the_flag_and_the_allowed_form() {
    let too_many = format!("0..{MAX_SEEDS}");
    let widest = format!("0..{}", u64::MAX);
    let list: Vec<String> = (0..=MAX_SEEDS).map(|s| s.to_string()).collect();
    let long_list = list.join(",");
    for text in [
        "",
        "ten",
        "10..1",
        "1..=10",
        "1..",
        "..5",
        "-1..3",
        "1,,2",
        "1,2,1",
        "1.5",
        too_many.as_str(),
        widest.as_str(),
        long_list.as_str(),
    ] {
        match Seeds::parse(text) {
            Ok(s) => panic!("`{text}` was taken as {s:?}"),
            Err(e) => assert!(e.contains("--seeds"), "`{text}`: {e}"),
        }
    }
    let form = Seeds::parse("ten").err().unwrap_or_default();
    assert!(
        form.contains("A..B") && form.contains("comma list"),
        "{form}"
    );
    let range = Seeds::parse(&too_many).err().unwrap_or_default();
    assert!(range.contains("names 1001 seeds; at most 1000"), "{range}");
    let widest = Seeds::parse(&widest).err().unwrap_or_default();
    assert!(
        widest.contains("names 18446744073709551616 seeds"),
        "{widest}"
    );
}

#[test]
fn bad_seeds_on_the_command_line_are_a_usage_error_not_a_panic() {
    for args in [
        &["simulate", "--compare", "--seeds", "10..1"][..],
        &["simulate", "--compare", "--seeds", "0..5000"][..],
        &["simulate", "--compare", "--seeds", "x"][..],
    ] {
        let run = common::remediator(args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains("--seeds"), "{args:?}: {}", run.stderr);
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    }
    let run = common::remediator(["simulate", "--seeds", "1..3"]);
    assert_eq!(run.code, 2, "--seeds without --compare: {}", run.stderr);
    let run = common::remediator(["simulate", "all"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("--compare"), "{}", run.stderr);
}

fn compare(names: &[&str], seeds: &[u64]) -> Vec<ScenarioRuns> {
    let scenarios: Vec<Scenario> = names
        .iter()
        .map(|n| Scenario::load(n).unwrap_or_else(|e| panic!("{e}")))
        .collect();
    let quiet = |_: Finished<'_>| {};
    batch::compare(&scenarios, Some(seeds), &Policy::local(), 2, &quiet)
        .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn every_controller_faces_the_same_demand_and_the_share_is_throttled_over_demanded() {
    let runs = compare(&["tileindex-burst"], &[3, 4]);
    let [only] = runs.as_slice() else {
        panic!("{runs:?}")
    };
    assert_eq!(only.runs.iter().map(|r| r.seed).collect::<Vec<_>>(), [3, 4]);
    let mut demands = Vec::new();
    for run in &only.runs {
        let names: Vec<&str> = run.summaries.iter().map(|s| s.controller).collect();
        let all: Vec<&str> = ControllerKind::ALL.iter().map(|k| k.name()).collect();
        assert_eq!(names, all, "seed {}", run.seed);
        let demand = run.summaries[0].requests_demanded;
        assert!(demand > 1_000_000, "{:?}", run.summaries[0]);
        for s in &run.summaries {
            assert_eq!(s.requests_demanded, demand, "seed {}: {s:?}", run.seed);
            #[allow(clippy::cast_precision_loss)]
            let share = s.throttled_requests as f64 / s.requests_demanded as f64;
            assert!((s.throttled_share - share).abs() < 1e-12, "{s:?}");
            // No `throttled <= demanded`: a job's throttled tile returns to its queue and is
            // tried again, and every throttled attempt counts (as CloudWatch counts them).
        }
        demands.push(demand);
    }
    assert_ne!(demands[0], demands[1], "the seed draws the noise");
    // Nothing served: all but what burst credit absorbs is throttled.
    let none = only.runs[0].of(ControllerKind::None);
    assert!(none.is_some_and(|s| s.throttled_share > 0.9), "{none:?}");
}

#[test]
fn the_summary_and_the_json_show_the_demand_and_the_share() {
    let run = common::remediator(["simulate", "tileindex-burst", "--compare"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("demanded req") && run.stdout.contains("thr. share"),
        "{}",
        run.stdout
    );
    let run = common::remediator(["simulate", "tileindex-burst"]);
    assert!(
        run.stdout.contains("requests demanded") && run.stdout.contains("throttled share"),
        "{}",
        run.stdout
    );
    let run = common::remediator(["simulate", "tileindex-burst", "--output", "json"]);
    let json: serde_json::Value =
        serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stdout));
    let s = &json["summary"];
    assert!(
        s["requests_demanded"].as_u64().is_some_and(|d| d > 0) && s["throttled_share"].is_f64(),
        "{s}"
    );
}

#[test]
fn every_shipped_scenario_parses_under_its_own_name_and_every_file_is_shipped() {
    let mut shipped = BTreeSet::new();
    for (name, text) in SHIPPED {
        let path = format!("simulations/{name}.toml");
        let scenario = Scenario::parse(Path::new(&path), text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(scenario.name, name);
        assert!(
            text.starts_with('#'),
            "{path} opens with a comment saying what it models"
        );
        shipped.insert(path);
    }
    let files: BTreeSet<String> = std::fs::read_dir("simulations")
        .unwrap_or_else(|e| panic!("{e}"))
        .filter_map(Result::ok)
        .map(|e| format!("simulations/{}", e.file_name().to_string_lossy()))
        .filter(|p| p.ends_with(".toml"))
        .collect();
    assert_eq!(files, shipped);
}

#[test]
fn the_spend_cap_binds_on_the_26k_burst() {
    let scenario = Scenario::load("burst-26k").unwrap_or_else(|e| panic!("{e}"));
    let policy = Policy::local();
    let Some(rule) = policy.tables.iter().find(|t| t.short_name == "tileindex") else {
        panic!("no tileindex rule")
    };
    let [table] = scenario.tables.as_slice() else {
        panic!("{:?}", scenario.tables)
    };
    let peak = |d: Dimension| {
        scenario
            .workload
            .iter()
            .filter(|w| w.dimension == d && w.index.is_none())
            .map(|w| w.points.iter().map(|p| p.1).fold(0.0, f64::max))
            .sum::<f64>()
    };
    // Every write also writes each GSI by its share; the floors count per table and GSI.
    let shares: f64 = 1.0 + table.indexes.iter().map(|x| x.write_share).sum::<f64>();
    #[allow(clippy::cast_precision_loss)]
    let resources = (1 + table.indexes.len()) as f64;
    let prices = policy.guardrails.prices;
    let cost = |factor: f64| {
        (peak(Dimension::Write) * shares * factor - f64::from(rule.write.floor) * resources)
            * prices.wcu_usd_per_hour
            + (peak(Dimension::Read) * factor - f64::from(rule.read.floor) * resources)
                * prices.rcu_usd_per_hour
    };
    let cap = policy.guardrails.max_extra_cost_usd_per_hour;
    // The header's figures: $34.13/h to serve the demand; demand × headroom (1.25) is over the cap.
    assert!((cost(1.0) - 34.13).abs() < 0.01, "{}", cost(1.0));
    assert!(cost(1.0) < cap && cost(rule.raise.headroom) > cap);
    // And remediator's write capacity alone never costs more than the cap.
    let runs = compare(&["burst-26k"], &[53]);
    let Some(ours) = runs[0].runs[0].of(ControllerKind::Remediator) else {
        panic!("{runs:?}")
    };
    #[allow(clippy::cast_precision_loss)]
    let writes = (ours.peak_write_units as f64 - f64::from(rule.write.floor) * resources)
        * prices.wcu_usd_per_hour;
    assert!(writes <= cap, "{writes}: {ours:?}");
}
