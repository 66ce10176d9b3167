//! What an accepted input must satisfy: the bounds the README documents.

use remediator::policy::{Policy, bounds, names};
use remediator::redrive::pace::{MAX_RATE, MIN_RATE};
use remediator::sim::{Scenario, limits};
use remediator::source::{Problems, is_control};
use std::time::Duration;

fn within(d: Duration, low: Duration, high: Duration, what: &str) {
    assert!(
        low <= d && d <= high,
        "{what}: {d:?} not in [{low:?}, {high:?}]"
    );
}

fn no_control(value: &serde_json::Value) {
    match value {
        serde_json::Value::String(s) => assert!(!s.chars().any(is_control), "{s:?}"),
        serde_json::Value::Array(items) => items.iter().for_each(no_control),
        serde_json::Value::Object(map) => map.iter().for_each(|(k, v)| {
            assert!(!k.chars().any(is_control), "{k:?}");
            no_control(v);
        }),
        _ => {}
    }
}

pub fn policy_within_bounds(p: &Policy) {
    use bounds::*;
    let c = &p.controller;
    within(c.interval, MIN_INTERVAL, MAX_INTERVAL, "interval");
    within(
        c.metric_period,
        METRIC_PERIOD,
        MAX_METRIC_PERIOD,
        "metric_period",
    );
    let durations = [
        c.stale_after,
        p.guardrails.escalation_interval,
        p.redrive.stranded_after,
        p.redrive.no_progress_after,
        p.redrive.settle,
        p.drift.sustained_for,
        p.drift.min_pause,
        p.drift.renotify_every,
        p.drift.alarm_after,
        p.drift.learn_for,
        p.alarms.growing_for,
    ];
    for d in durations {
        within(d, MIN_DURATION, MAX_DURATION, "duration");
    }
    for d in p.drift.baselines.values() {
        within(*d, MIN_BASELINE, MAX_BASELINE, "baseline");
    }
    if let Some(w) = &p.signals.webhook {
        within(
            w.timeout,
            MIN_DURATION,
            MAX_WEBHOOK_TIMEOUT,
            "webhook timeout",
        );
    }
    let g = &p.guardrails;
    assert!((1..=MAX_ACTIONS_PER_HOUR).contains(&g.max_actions_per_hour));
    assert!((0.0..=MAX_EXTRA_COST_USD_PER_HOUR).contains(&g.max_extra_cost_usd_per_hour));
    for price in [g.prices.wcu_usd_per_hour, g.prices.rcu_usd_per_hour] {
        assert!(
            price > 0.0 && price <= MAX_PRICE_USD_PER_UNIT_HOUR,
            "{price}"
        );
    }
    assert!(p.tables.len() <= MAX_LISTED);
    for t in &p.tables {
        assert!(names::table_name(&t.table_name).is_ok(), "{}", t.table_name);
        for l in [t.read, t.write] {
            assert!(
                1 <= l.floor && l.floor <= l.ceiling && l.ceiling <= MAX_UNITS,
                "{l:?}"
            );
        }
        let r = &t.raise;
        assert!(r.headroom > 1.0 && r.headroom <= MAX_FACTOR);
        assert!((1..=MAX_UNITS).contains(&r.min_step));
        assert!(r.cooldown >= METRIC_PERIOD && r.cooldown <= MAX_DURATION);
        assert!(r.throttle_events_per_minute.is_some() || r.utilisation.is_some());
        if let Some(v) = r.throttle_events_per_minute {
            assert!(v > 0.0 && v <= MAX_THROTTLE_EVENTS_PER_MINUTE, "{v}");
        }
        if let Some(v) = r.utilisation {
            assert!(v > 0.0 && v <= MAX_UTILISATION, "{v}");
        }
        assert!(t.hot_partition_below > 0.0 && t.hot_partition_below <= 1.0);
        if let Some(l) = &t.lower {
            assert!(l.utilisation_below < l.target_utilisation && l.target_utilisation <= 1.0);
            within(l.quiet_for, MIN_QUIET_FOR, MAX_DURATION, "quiet_for");
        }
    }
    let rd = &p.redrive;
    for rate in [rd.rate_per_s, rd.max_rate_per_s] {
        assert!((MIN_RATE..=MAX_RATE).contains(&rate), "{rate}");
    }
    assert!(rd.rate_per_s <= rd.max_rate_per_s);
    assert!((1..=MAX_IN_FLIGHT).contains(&rd.max_in_flight));
    assert!(
        names::function_name(&rd.function).is_ok(),
        "{}",
        rd.function
    );
    let dr = &p.drift;
    assert!(dr.exit_ratio > 1.0 && dr.exit_ratio < dr.ratio && dr.ratio <= MAX_RATIO);
    assert!(dr.concurrency_share > 0.0 && dr.concurrency_share <= 1.0);
    assert!(dr.functions.len() <= MAX_LISTED);
    for f in &dr.functions {
        assert!(names::function_name(f).is_ok(), "{f}");
    }
    if let Some(arn) = &p.signals.sns_topic_arn {
        assert!(names::sns_topic_arn(arn).is_ok(), "{arn}");
    }
    if let Some(fc) = &p.signals.flow_control {
        assert!(
            names::function_name(&fc.function).is_ok(),
            "{}",
            fc.function
        );
        assert!((1..=MAX_FLOW_CONCURRENCY).contains(&fc.max_concurrency));
    }
    if let Some(region) = &p.region {
        assert!(names::region(region).is_ok(), "{region}");
    }
    assert!(p.domain.as_str().len() <= names::DOMAIN_MAX);
    for id in &p.alarms.redis_clusters {
        assert!(names::cache_cluster_id(id).is_ok(), "{id}");
    }
    assert!(p.alarms.redis_cpu_ceiling > 0.0 && p.alarms.redis_cpu_ceiling <= 100.0);
    no_control(&serde_json::to_value(p).unwrap_or_default());
}

#[allow(clippy::cast_precision_loss)]
pub fn scenario_within_bounds(s: &Scenario) {
    use limits::*;
    assert!(MIN_SCENARIO <= s.duration && s.duration <= MAX_SCENARIO);
    let pair = |(lo, hi): (u64, u64), max: u64| assert!(lo <= hi && hi <= max, "{lo} {hi}");
    pair(s.update_seconds, MAX_UPDATE_SECONDS);
    pair(s.metric_delay_seconds, MAX_METRIC_DELAY_SECONDS);
    assert!(s.tables.len() <= MAX_TABLES);
    let units = |u: u32| assert!((1..=MAX_UNITS).contains(&u), "{u}");
    for t in &s.tables {
        [t.read, t.write, t.autoscaler_min, t.autoscaler_max]
            .into_iter()
            .for_each(units);
        assert!(t.autoscaler_min <= t.autoscaler_max);
        assert!(t.indexes.len() <= MAX_INDEXES);
        for x in &t.indexes {
            [x.read, x.write].into_iter().for_each(units);
            assert!((0.0..=1.0).contains(&x.write_share));
        }
    }
    let series = |points: &[(u64, f64)], max: u64| {
        assert!(points.len() <= MAX_POINTS);
        for (at, v) in points {
            assert!(*at <= MAX_SECONDS && v.is_finite() && *v >= 0.0 && *v <= max as f64);
        }
    };
    assert!(s.workload.len() <= MAX_WORKLOADS);
    for w in &s.workload {
        series(&w.points, MAX_DEMAND);
        series(&w.hot_key, MAX_DEMAND);
        assert!((0.0..1.0).contains(&w.noise));
    }
    if let Some(a) = &s.activity {
        series(&a.performers.points, MAX_TILES);
        pair(a.performers.compliance_seconds, MAX_COMPLIANCE_SECONDS);
        assert!((1..=MAX_ACCOUNT_CONCURRENCY).contains(&a.account_concurrency));
        assert!((1..=MAX_RETRY_SECONDS).contains(&a.retry_seconds));
        assert!(a.functions.len() <= MAX_FUNCTIONS);
        for f in &a.functions {
            assert!(f.base_ms >= MIN_BASE_MS as f64 && f.base_ms <= MAX_BASE_MS as f64);
            assert!(f.max_ratio >= 1.0 && f.max_ratio <= MAX_RATIO as f64);
            assert!(f.writes <= MAX_UNITS_PER_INVOCATION as f64 && f.reads >= 0.0);
            assert!(f.reads <= MAX_UNITS_PER_INVOCATION as f64 && f.writes >= 0.0);
            let per = f.tiles_per_invocation.unwrap_or(1);
            assert!((1..=MAX_TILES_PER_INVOCATION).contains(&per));
            assert!(f.reserved.is_none_or(|r| r <= a.account_concurrency));
        }
    }
}

/// Problems never carry a raw control character, and each names a file.
pub fn problems_are_clean(problems: &Problems) {
    let text = problems.to_string();
    assert!(
        !text.chars().any(|c| is_control(c) && c != '\n'),
        "{text:?}"
    );
    assert!(problems.0.iter().all(|p| !p.file.as_os_str().is_empty()));
}
