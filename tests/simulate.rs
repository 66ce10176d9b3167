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

/// The burst is two ingest jobs whose throttled tiles come back and are retried: the queues
/// show them minutes before CloudWatch does, so the table is raised ahead of the ramp.
#[test]
fn burst_is_mitigated_ahead_of_cloudwatch_with_far_fewer_throttles_than_both_autoscalers() {
    let policy = Policy::local();
    let ours = run("tileindex-burst", &policy, ControllerKind::Remediator).summary;
    let boss = run("tileindex-burst", &policy, ControllerKind::BossAutoscaler).summary;
    let tracking = run("tileindex-burst", &policy, ControllerKind::TargetTracking).summary;
    let oracle = run("tileindex-burst", &policy, ControllerKind::Oracle).summary;
    assert!(
        ours.throttled_requests * 10 < boss.throttled_requests,
        "{ours:?} vs {boss:?}"
    );
    assert!(
        ours.throttled_requests * 10 < tracking.throttled_requests,
        "{ours:?} vs {tracking:?}"
    );
    assert!(
        ours.capacity_cost_usd < boss.capacity_cost_usd,
        "{ours:?} vs {boss:?}"
    );
    assert!(
        ours.capacity_cost_usd <= oracle.capacity_cost_usd * 1.5,
        "{ours:?} vs {oracle:?}"
    );
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
    // The cooldown waits for new CloudWatch evidence: a raise on throttling or utilisation comes
    // at least a cooldown after the previous change of its dimension. A forecast from the
    // ingest queues has new evidence every tick and may come sooner.
    let mut checked = 0;
    for subject in ["tileindex.local.boss write", "tileindex.local.boss read"] {
        let raises = did(&result, subject);
        assert!(raises.len() >= 2, "{subject}: {raises:?}");
        let on_cloudwatch = result
            .timeline
            .iter()
            .filter(|e| e.kind == "did" && e.subject == subject && e.text.starts_with("raise"))
            .filter(|e| e.text.contains(": throttling") || e.text.contains(": utilisation high"))
            .map(|e| e.at);
        for at in on_cloudwatch {
            let previous = raises.iter().copied().filter(|r| *r < at).max();
            assert!(
                previous.is_none_or(|p| at - p >= cooldown),
                "{subject}: {at} after {previous:?}: {raises:?}"
            );
            checked += 1;
        }
    }
    assert!(checked > 0, "no raise on CloudWatch evidence to check");
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
    // The plan sizes to demand × headroom, sees it above the ceiling, and says so with figures.
    assert!(result.timeline.iter().any(|e| e.kind == "escalated"
        && e.text.contains("CeilingReached")
        && e.text.contains("the ceiling is 1000")));
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
    let jump = run(
        "idindex-hot-partition",
        &policy,
        ControllerKind::ThrottleJump,
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
    // Before the hot key shows for two minutes, the ramp of ordinary writes under it is sized
    // to demand × headroom: a few raises, none after.
    assert!(raises.len() <= 3, "{raises:?}");
    assert!(ours.summary.throttled_requests < boss.throttled_requests);
    // Not compared with target tracking here: lowering the quiet table ten minutes in costs
    // throttles when this ramp comes, where its slower scale-in has not yet lowered; the goal
    // bench (`simulate all --compare --seeds 1..10 --goal`) reports that clause failing.
    // Chasing the hot key with capacity is what raising hard on throttles does; BOSS's own
    // autoscaler rarely sees its throttles (it reads them over the last 60 s only), so it is no
    // measure of chasing.
    assert!(ours.summary.capacity_cost_usd < jump.capacity_cost_usd / 2.0);
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
            "throttle-jump",
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

// ---- Too much activity: the Lambda functions and the performers ----

/// The shipped local policy, which has the SNS channel on, so the simulated performers receive
/// the controller's messages (with no channel a notice is only logged).
fn policy_with_signals() -> Policy {
    let policy = Policy::local();
    assert!(
        !policy.signals.channels().is_empty(),
        "policies/local.toml has a signal channel on"
    );
    policy
}

#[test]
fn without_a_pause_the_performers_ramp_tips_the_system_over() {
    let policy = policy_with_signals();
    // None of the baselines can pause performers: each shows the blow-up.
    for kind in [
        ControllerKind::None,
        ControllerKind::BossAutoscaler,
        ControllerKind::TargetTracking,
    ] {
        let s = run("too-much-activity", &policy, kind).summary;
        assert_eq!(s.activity.functions, 3, "{kind:?}");
        assert!(s.activity.tipped_minutes >= 30, "{kind:?}: {s:?}");
        assert!(
            s.activity.peak_duration_ratio >= 4.0,
            "{kind:?}: durations should blow up far above base: {s:?}"
        );
        assert!(s.activity.lambda_throttles > 0, "{kind:?}: {s:?}");
        assert_eq!((s.activity.pauses, s.activity.messages), (0, 0), "{kind:?}");
        assert!(
            s.activity.tiles_ingested * 10 < s.activity.tiles_uploaded * 7,
            "{kind:?}: a tipped system falls behind: {s:?}"
        );
    }
}

#[test]
fn remediator_pauses_the_performers_before_the_blow_up_and_resumes_them() {
    let policy = policy_with_signals();
    let ours = run("too-much-activity", &policy, ControllerKind::Remediator);
    let none = run("too-much-activity", &policy, ControllerKind::None).summary;
    let s = &ours.summary;
    let signalled = |prefix: &str| -> Vec<u64> {
        ours.timeline
            .iter()
            .filter(|e| e.kind == "signalled" && e.text.starts_with(prefix))
            .map(|e| e.at)
            .collect()
    };
    let pauses = signalled("[remediator] PAUSE");
    let resumes = signalled("[remediator] RESUME");
    let Some(tipped_at) = none.activity.first_tipped_at else {
        panic!("the scenario should tip over without a controller: {none:?}")
    };
    assert!(s.activity.pauses >= 1, "{s:?}");
    assert!(
        pauses.first().is_some_and(|at| *at < tipped_at),
        "first pause {pauses:?} should come before {tipped_at} s"
    );
    assert!(
        resumes.first().is_some_and(|r| *r > pauses[0]),
        "{pauses:?} {resumes:?}"
    );
    assert!(
        s.activity.tipped_minutes * 10 <= none.activity.tipped_minutes,
        "{s:?} vs {none:?}"
    );
    assert!(s.activity.peak_duration_ratio < 2.5, "{s:?}");
    assert!(
        s.activity.tiles_ingested > none.activity.tiles_ingested,
        "{s:?} vs {none:?}"
    );
    // The performers carried out the pause (after the compliance delay) and came back.
    let complied: Vec<&str> = ours
        .timeline
        .iter()
        .filter(|e| e.kind == "complied")
        .map(|e| e.text.as_str())
        .collect();
    assert!(
        complied.first().is_some_and(|t| t.starts_with("paused"))
            && complied.iter().any(|t| t.starts_with("resumed")),
        "{complied:?}"
    );
    let text = remediator::sim::report::summary(&ours);
    assert!(
        text.contains("performer pauses") && text.contains("tipped over"),
        "{text}"
    );
}

#[test]
fn too_much_activity_is_deterministic_for_a_seed() {
    let policy = policy_with_signals();
    let a = run("too-much-activity", &policy, ControllerKind::Remediator);
    let b = run("too-much-activity", &policy, ControllerKind::Remediator);
    assert_eq!(a.summary, b.summary);
    assert_eq!(a.timeline, b.timeline);
}

#[test]
fn tables_only_scenarios_report_no_lambda_figures() {
    let policy = Policy::local();
    for scenario in ["tileindex-burst", "idindex-hot-partition"] {
        let s = run(scenario, &policy, ControllerKind::Remediator).summary;
        assert_eq!(
            (
                s.activity.functions,
                s.activity.pauses,
                s.activity.tipped_minutes,
                s.activity.tiles_uploaded
            ),
            (0, 0, 0, 0),
            "{scenario}"
        );
        let text = remediator::sim::report::comparison(scenario, 1, &[s]);
        assert!(!text.contains("tiles in"), "{text}");
    }
}

#[test]
fn compare_shows_the_lambda_table_for_the_activity_scenario() {
    let (code, stdout, stderr) = remediator(&["simulate", "too-much-activity", "--compare"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("scenario too-much-activity")
            && stdout.contains("tipped")
            && stdout.contains("tiles in"),
        "{stdout}"
    );
}

/// Every bad scenario in `tests/bad_scenarios/` fails with exit code 2 and exactly the problems
/// in its `.expected` file (file, line, column, field), nothing panics and no control character
/// is written back.
#[test]
fn every_bad_scenario_reports_all_its_problems_with_place_and_field() {
    let checked = common::every_bad_file("tests/bad_scenarios", "simulate");
    assert!(checked >= 6, "only {checked} bad scenarios");
}

#[test]
fn a_scenario_over_one_mebibyte_is_refused_before_parsing() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("simulate-large");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let path = dir.join("large.toml");
    let mut text = String::from(remediator::sim::scenario::SHIPPED[0].1);
    while text.len() <= 1 << 20 {
        text.push_str("# padding padding padding padding padding padding padding padding\n");
    }
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
    let (code, _, stderr) = remediator(&["simulate", path.to_str().unwrap_or_default()]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("at most 1048576 (1 MiB)"), "{stderr}");
}

/// A scenario with every value at its largest accepted bound runs under every controller, and
/// its counts stay within what `sim::limits` derives for its length: nothing wraps, nothing is
/// clamped to `u64::MAX`.
#[test]
fn a_scenario_at_every_bound_runs_and_its_counts_do_not_saturate() {
    use remediator::sim::limits;
    let indexes: Vec<String> = (0..limits::MAX_INDEXES)
        .map(|i| {
            format!(
                "{{ name = \"gsi{i:02}\", read = 1000000, write = 1000000, write_share = 1.0 }}"
            )
        })
        .collect();
    let text = format!(
        r#"
name = "at-every-bound"
seed = 7
duration = "10m"
update_seconds = [0, 86400]
metric_delay_seconds = [0, 1209600]

[[tables]]
name = "tileindex"
billing = "provisioned"
read = 1000000
write = 1000000
autoscaler_min = 1
autoscaler_max = 1000000
indexes = [{}]

[[workload]]
table = "tileindex"
dimension = "write"
points = [{{ at = "0m", units = 10000000 }}, {{ at = "30d", units = 10000000 }}]
hot_key = [{{ at = "0m", units = 10000000 }}]
noise = 0.99

[performers]
points = [{{ at = "0m", tiles = 1000000 }}]
compliance_seconds = [0, 86400]

[lambda]
account_concurrency = 100000
retry_seconds = 1

[[functions]]
name = "tileUploadLambda"
tiles_per_invocation = 1
base_ms = 1
timeout = "900s"
memory_mb = 10240
max_ratio = 1000
noise = 0.99
table = "tileindex"
writes = 1000
reads = 1000

[[functions]]
name = "tileIngestLambda"
tiles_per_invocation = 10000
base_ms = 900000
timeout = "900s"
table = "tileindex"
writes = 1000
"#,
        indexes.join(", ")
    );
    let scenario =
        Scenario::parse(Path::new("at-every-bound.toml"), &text).unwrap_or_else(|e| panic!("{e}"));
    let seconds = scenario.duration.as_secs();
    for kind in ControllerKind::ALL {
        let result = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap_or_else(|e| panic!("{e}"))
            .block_on(sim::run(&scenario, &Policy::local(), kind));
        let s = &result.summary;
        let per_second = |total: u64| total / limits::MAX_SECONDS * seconds;
        assert!(s.throttled_requests > 0, "{kind:?}: {s:?}");
        assert!(
            s.throttled_requests <= per_second(limits::MAX_THROTTLED_REQUESTS),
            "{kind:?}: {s:?}"
        );
        assert!(
            s.activity.lambda_throttles <= per_second(limits::MAX_LAMBDA_THROTTLES),
            "{kind:?}: {s:?}"
        );
        assert!(
            s.activity.tiles_uploaded <= per_second(limits::MAX_TILES_TOTAL),
            "{kind:?}: {s:?}"
        );
        assert!(
            s.activity.tiles_ingested <= s.activity.tiles_uploaded,
            "{kind:?}: {s:?}"
        );
        assert!(
            s.peak_write_units >= 21_000_000,
            "21 resources at 1,000,000 WCU: {s:?}"
        );
        let text = remediator::sim::report::summary(&result);
        assert!(!text.contains(&u64::MAX.to_string()), "{text}");
    }
}

#[test]
fn simulate_help_names_every_shipped_scenario() {
    let run = common::remediator(["simulate", "--help"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let help = run.stdout.replace(['\n', ' '], "");
    for (name, _) in remediator::sim::scenario::SHIPPED {
        assert!(help.contains(name), "`simulate --help` omits {name}");
    }
}

/// A scratch directory for one test.
fn scratch(name: &str) -> std::path::PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("simulate-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    dir
}

/// Runs `simulate` with `--plot` into a scratch file and returns the SVG.
fn plotted(name: &str, args: &[&str]) -> String {
    let path = scratch(name).join("out.svg");
    let shown = path.to_string_lossy().to_string();
    let mut args = args.to_vec();
    args.extend(["--plot", &shown]);
    let (code, stdout, stderr) = remediator(&args);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        !stdout.is_empty(),
        "the run's own output still goes to stdout"
    );
    let svg = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{shown}: {e}"));
    assert!(svg.starts_with("<svg "), "{}", &svg[..svg.len().min(80)]);
    assert!(svg.trim_end().ends_with("</svg>"));
    assert_eq!(svg.matches("<svg").count(), 1);
    assert_eq!(svg.matches("<text").count(), svg.matches("</text>").count());
    svg
}

/// plotters writes each `<text>` element's content on a line of its own.
fn has_text(svg: &str, text: &str) -> bool {
    svg.contains(&format!(">\n{text}\n</text>"))
}

#[test]
fn plot_draws_the_run_per_table_and_gsi_with_its_legend() {
    let svg = plotted("plot-one", &["simulate", "tileindex-burst"]);
    for text in [
        "tileindex-burst, seed 7, controller remediator",
        "tileindex.local.boss read",
        "tileindex.local.boss write",
        "tileindex.local.boss/index/task_id_index write",
        "demand",
        "provisioned",
        "throttled",
        "raise",
        "lower",
    ] {
        assert!(has_text(&svg, text), "no {text:?} in the plot");
    }
}

#[test]
fn compare_plot_has_every_controller() {
    let svg = plotted(
        "plot-compare",
        &["simulate", "tileindex-burst", "--compare"],
    );
    assert!(has_text(
        &svg,
        "tileindex-burst, seed 7: one row per controller"
    ));
    for kind in ControllerKind::ALL {
        let caption = format!("{} · tileindex.local.boss write", kind.name());
        assert!(has_text(&svg, &caption), "no {caption:?} in the plot");
    }
}

#[test]
fn plot_with_seeds_draws_the_first_seed() {
    let svg = plotted(
        "plot-seeds",
        &[
            "simulate",
            "tileindex-burst",
            "--compare",
            "--seeds",
            "3..4",
        ],
    );
    assert!(has_text(
        &svg,
        "tileindex-burst, seed 3: one row per controller"
    ));
}

#[test]
fn plot_into_a_missing_directory_is_one_line_and_exit_1_like_the_journal() {
    let path = scratch("plot-missing").join("no-such-dir").join("out.svg");
    let shown = path.to_string_lossy().to_string();
    let (code, _, stderr) = remediator(&["simulate", "--plot", &shown]);
    assert_eq!(code, 1, "{stderr}");
    let dir = path
        .parent()
        .map(|d| d.display().to_string())
        .unwrap_or_default();
    assert_eq!(
        stderr,
        format!("error: cannot write plot {shown}: directory {dir} does not exist\n")
    );
}

#[test]
fn plot_of_every_scenario_is_refused_as_bad_input() {
    let (code, stdout, stderr) = remediator(&["simulate", "all", "--compare", "--plot", "x.svg"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert_eq!(
        stderr,
        "error: --plot draws one scenario: name it instead of `all`\n"
    );
}
