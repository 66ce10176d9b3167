//! The Lambda model alone: durations, throttles, table retries, tipping over.

use super::*;
use crate::ports::Statistic;
use crate::sim::activity::PerformersSpec;
use crate::time::Timestamp;
use std::time::Duration;

fn spec(name: &str, per: Option<u32>, base_ms: f64) -> FunctionSpec {
    FunctionSpec {
        short_name: name.to_string(),
        tiles_per_invocation: per,
        base_ms,
        timeout: Duration::from_secs(120),
        memory_mb: 1024,
        reserved: None,
        max_ratio: 10.0,
        noise: 0.0,
        table: Some("tileindex".to_string()),
        writes: 1.0,
        reads: 0.0,
    }
}

/// One function, 1,000 ms at rest, 100 concurrent executions: ρ₀ = tiles/s / 100.
fn lambdas(tiles: f64) -> Lambdas {
    let activity = Activity {
        performers: PerformersSpec {
            points: vec![(0, tiles)],
            noise: 0.0,
            compliance_seconds: (120, 120),
            pause_share: 0.25,
            resume_share: 0.7,
        },
        account_concurrency: 100,
        retry_seconds: 60,
        functions: vec![spec("up", Some(1), 1000.0)],
    };
    let domain = Domain::new("local.boss").unwrap_or_else(|e| panic!("{e}"));
    Lambdas::new(Some(&activity), &domain, 1)
}

/// Runs `seconds` with the given table throttled share; returns the last snapshot.
fn run(l: &mut Lambdas, from: u64, seconds: u64, share: f64) -> FunctionSnapshot {
    let shares = vec![("tileindex".to_string(), [0.0, share])];
    for s in from..from + seconds {
        l.step(s, &shares);
        if (s + 1) % 60 == 0 {
            l.publish(Timestamp(s + 1), s + 1, (60, 60));
        }
    }
    l.snapshot()[0].clone()
}

#[test]
fn duration_stays_near_base_at_low_load_and_rises_as_the_load_nears_the_limit() {
    // (tiles/s, lowest and highest duration in ms after ten minutes)
    let table: [(f64, f64, f64); 5] = [
        (5.0, 1000.0, 1060.0),
        (25.0, 1300.0, 1400.0),
        (40.0, 1600.0, 1700.0),
        (49.0, 1900.0, 2000.0),
        (90.0, 10_000.0, 10_000.0),
    ];
    let mut last = 0.0;
    for (tiles, lo, hi) in table {
        let mut l = lambdas(tiles);
        let s = run(&mut l, 0, 600, 0.0);
        assert!((lo..=hi).contains(&s.duration_ms), "{tiles}/s: {s:?}");
        assert!(s.duration_ms > last, "{tiles}/s: not rising");
        last = s.duration_ms;
    }
}

#[test]
fn below_the_limit_nothing_is_throttled_and_beyond_it_the_excess_is() {
    let mut calm = lambdas(40.0);
    let s = run(&mut calm, 0, 600, 0.0);
    assert!(s.rho < 1.0 && s.throttled == 0.0, "{s:?}");
    assert_eq!(
        (calm.totals.throttles, calm.totals.tipped_minutes),
        (0.0, 0)
    );
    let mut busy = lambdas(60.0);
    let s = run(&mut busy, 0, 600, 0.0);
    // ρ₀ 0.6 offers 60 × 2.5 s: 150 of 100; only 100 concurrent run, the rest is throttled.
    assert!(s.rho >= 1.0 && s.throttled > 0.0, "{s:?}");
    assert!((s.concurrency - 100.0).abs() < 1e-6, "{s:?}");
    assert!(busy.totals.throttles > 0.0 && busy.totals.tipped_minutes >= 9);
}

#[test]
fn tipping_over_is_sticky_retries_keep_the_load_up_after_the_arrivals_fall() {
    let mut l = lambdas(60.0);
    run(&mut l, 0, 1200, 0.0);
    let backlog = l.snapshot()[0].backlog;
    assert!(backlog > 1000.0, "{backlog}");
    // At 30 tiles/s (fine on its own) the backlog's retries keep the function at its cap.
    if let Some(p) = l.performers_mut() {
        p.receive(1200, "[remediator] PAUSE uploads");
    }
    let s = run(&mut l, 1200, 200, 0.0);
    assert!(s.duration_ms >= 9_999.0, "{s:?}");
}

#[test]
fn table_throttling_adds_client_retries_to_the_duration() {
    // (throttled share of the table's writes, extra ms over the untroubled duration)
    for (share, extra) in [(0.0, 0.0), (0.5, 100.0), (0.9, 900.0)] {
        let mut l = lambdas(5.0);
        let calm = run(&mut lambdas(5.0), 0, 120, 0.0).duration_ms;
        let s = run(&mut l, 0, 120, share);
        assert!(
            (s.duration_ms - calm - extra).abs() < 1.0,
            "{share}: {} vs {calm}",
            s.duration_ms
        );
    }
}

#[test]
fn performers_comply_after_the_delay_and_the_load_follows() {
    let mut l = lambdas(40.0);
    run(&mut l, 0, 600, 0.0);
    if let Some(p) = l.performers_mut() {
        p.receive(600, "[remediator] PAUSE uploads: up drifting");
    }
    // Compliance takes 120 s here: until then the load is unchanged.
    let before = run(&mut l, 600, 119, 0.0);
    assert!((before.offered - 40.0).abs() < 1e-9, "{before:?}");
    let after = run(&mut l, 719, 60, 0.0);
    assert!((after.offered - 10.0).abs() < 1e-9, "{after:?}");
    assert!(after.duration_ms < 1200.0, "{after:?}");
    assert_eq!(l.performers().map(|p| p.pauses), Some(1));
}

#[test]
fn minutes_publish_cloudwatch_statistics_late() {
    let mut l = lambdas(60.0);
    run(&mut l, 0, 180, 0.0);
    let name = "up-local-boss";
    let window = (Timestamp(0), Timestamp(180));
    let get = |metric, statistic, now| {
        l.series(name, metric, statistic, window, Timestamp(now))
            .unwrap_or_default()
            .points
    };
    // Published 60 s after each minute ends: at 180 s the first two minutes.
    assert_eq!(get("Invocations", Statistic::Sum, 180).len(), 2);
    assert_eq!(get("Invocations", Statistic::Sum, 240).len(), 3);
    let duration = get("Duration", Statistic::Average, 240);
    let concurrent = get("ConcurrentExecutions", Statistic::Maximum, 240);
    let throttles = get("Throttles", Statistic::Sum, 240);
    assert!(duration.iter().all(|p| p.value > 1000.0), "{duration:?}");
    assert!(
        concurrent.iter().all(|p| p.value <= 100.0 + 1e-6),
        "{concurrent:?}"
    );
    assert!(
        throttles.last().is_some_and(|p| p.value > 0.0),
        "{throttles:?}"
    );
    assert_eq!(get("Invocations", Statistic::Maximum, 240)[0].value, 1.0);
    assert!(
        l.series(
            "nope",
            "Duration",
            Statistic::Average,
            window,
            Timestamp(240)
        )
        .is_none()
    );
}

#[test]
fn reserved_concurrency_caps_a_function_and_keeps_100_unreserved() {
    let mut l = lambdas(40.0);
    let name = "up-local-boss";
    assert_eq!(l.reserved(name), Ok(None));
    assert!(
        l.set_reserved(name, Some(95)).is_err(),
        "leaves 5 unreserved"
    );
    let mut big = lambdas(40.0);
    big.account = 1000;
    assert_eq!(big.set_reserved(name, Some(20)), Ok(()));
    let s = run(&mut big, 0, 300, 0.0);
    assert!((s.limit - 20.0).abs() < 1e-9 && s.throttled > 0.0, "{s:?}");
    assert_eq!(big.set_reserved(name, None), Ok(()));
    let s = run(&mut big, 300, 60, 0.0);
    assert!((s.limit - 1000.0).abs() < 1e-9, "{s:?}");
    assert!(l.configuration("nope").is_err());
}
