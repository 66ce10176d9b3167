//! Property tests of the input parsers: the policy and the scenario parser never panic, whatever
//! they are given (random bytes, random text, a shipped file with one field replaced by an
//! arbitrary value of arbitrary type), and whatever they accept lies within the bounds the
//! README documents (`policy::bounds`, `policy::names`, `sim::limits`). Their problems never
//! carry a raw control character.

use proptest::prelude::*;
use proptest::sample::Index;
use remediator::policy::{Policy, bounds, names};
use remediator::redrive::pace::{MAX_RATE, MIN_RATE};
use remediator::sim::{Scenario, limits, scenario::SHIPPED};
use remediator::source::{Problems, is_control};
use std::path::Path;
use std::time::Duration;

const LOCAL: &str = include_str!("../policies/local.toml");
const PRODUCTION: &str = include_str!("../policies/production.toml");
/// The marker put where the arbitrary value goes, then replaced in the text.
const MARK: &str = "\"__FUZZ__\"";

/// `cases` per property, or `PROPTEST_CASES` when set (for a longer run by hand).
fn config(cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(cases);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

// ---- Arbitrary TOML values, written as TOML text ----

fn toml_float(v: f64) -> String {
    if v.is_nan() {
        "nan".into()
    } else if v.is_infinite() {
        if v > 0.0 { "inf".into() } else { "-inf".into() }
    } else {
        format!("{v:e}")
    }
}

fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// Numbers at and around every edge: zero, signs, the u32/i64/u64 limits, tiny and huge floats.
fn edge_number() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "0",
            "-0",
            "1",
            "-1",
            "2",
            "9",
            "10",
            "99",
            "100",
            "1000",
            "1001",
            "40000",
            "1000000",
            "1000001",
            "4294967295",
            "4294967296",
            "9223372036854775807",
            "-9223372036854775808",
            "18446744073709551615",
            "99999999999999999999999",
            "0.0",
            "-0.0",
            "1e-19",
            "1e-300",
            "5e-324",
            "0.01",
            "0.009",
            "10000",
            "10000.5",
            "1e300",
            "1.7976931348623157e308",
            "1e400",
            "nan",
            "-nan",
            "inf",
            "+inf",
            "-inf",
            "0.5",
            "0.99",
            "1.0",
            "1.5",
            "4.0",
            "4.01",
        ])
        .prop_map(String::from),
        any::<i64>().prop_map(|v| v.to_string()),
        any::<u64>().prop_map(|v| v.to_string()),
        any::<f64>().prop_map(toml_float),
    ]
}

/// Durations from nothing to forever, including forms humantime refuses.
fn edge_duration() -> impl Strategy<Value = String> {
    let amount = prop_oneof![
        prop::sample::select(vec![
            "0",
            "1",
            "9",
            "10",
            "59",
            "60",
            "99",
            "100",
            "999",
            "30",
            "31",
            "720",
            "2592000",
            "2592001",
            "99999999999",
            "18446744073709551615",
            "-1",
            "1.5",
            "",
        ])
        .prop_map(String::from),
        any::<u64>().prop_map(|v| v.to_string()),
    ];
    let unit = prop::sample::select(vec![
        "ns", "us", "ms", "s", "m", "min", "h", "d", "days", "w", "M", "y", "", "x",
    ]);
    (amount, unit, prop::option::of(("[ 0-9a-z]{0,6}",))).prop_map(|(n, u, extra)| {
        let tail = extra.map_or_else(String::new, |(e,)| e);
        toml_string(&format!("{n}{u}{tail}"))
    })
}

/// Strings with control characters, path traversal, shell metacharacters, huge lengths.
fn edge_string() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>().prop_map(|s| toml_string(&s)),
        "[ -~]{0,80}".prop_map(|s| toml_string(&s)),
        prop::sample::select(vec![
            "",
            "a",
            "x.boss",
            "local.boss",
            "us-east-1",
            "us-gov-west-1",
            "../../etc/passwd",
            "$(reboot)",
            "a;b|c",
            "a\u{1b}[31mb",
            "a\r\nb",
            "\u{202e}abc",
            "a\u{0}b",
            "tileIngestLambda",
            "arn:aws:sns:us-east-1:123456789012:t",
            "enforce",
            "dry-run",
            "reserved-concurrency",
            "on-demand",
            "provisioned",
            "read",
            "write",
        ])
        .prop_map(toml_string),
        (1usize..400).prop_map(|n| toml_string(&"x".repeat(n))),
    ]
}

/// Any TOML value: scalars of every type, arrays, inline tables, dates.
fn any_value() -> impl Strategy<Value = String> {
    let scalar = prop_oneof![
        4 => edge_number(),
        3 => edge_duration(),
        3 => edge_string(),
        1 => any::<bool>().prop_map(|b| b.to_string()),
        1 => Just("1979-05-27T07:32:00Z".to_string()),
    ];
    prop_oneof![
        6 => scalar.clone(),
        1 => prop::collection::vec(scalar.clone(), 0..4).prop_map(|v| format!("[{}]", v.join(", "))),
        1 => scalar.prop_map(|v| format!("{{ x = {v} }}")),
    ]
}

// ---- One field of a shipped file replaced ----

#[derive(Debug, Clone)]
enum Step {
    Key(String),
    Item(usize),
}

/// Every leaf of a TOML table (scalars and array items), as paths.
fn leaves(value: &toml::Value, path: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
    match value {
        toml::Value::Table(t) => {
            for (k, v) in t {
                path.push(Step::Key(k.clone()));
                leaves(v, path, out);
                path.pop();
            }
        }
        toml::Value::Array(items) => {
            out.push(path.clone());
            for (i, v) in items.iter().enumerate() {
                path.push(Step::Item(i));
                leaves(v, path, out);
                path.pop();
            }
        }
        _ => out.push(path.clone()),
    }
}

fn slot<'v>(value: &'v mut toml::Value, path: &[Step]) -> Option<&'v mut toml::Value> {
    let Some((first, rest)) = path.split_first() else {
        return Some(value);
    };
    let next = match (value, first) {
        (toml::Value::Table(t), Step::Key(k)) => t.get_mut(k)?,
        (toml::Value::Array(a), Step::Item(i)) => a.get_mut(*i)?,
        _ => return None,
    };
    slot(next, rest)
}

/// `text` with the leaf chosen by `which` (or, with `add`, a new key beside it) replaced by
/// `value` (TOML text).
fn mutate(text: &str, which: Index, add: bool, value: &str) -> String {
    let mut root = toml::Value::Table(text.parse::<toml::Table>().unwrap_or_default());
    let mut all = Vec::new();
    leaves(&root, &mut Vec::new(), &mut all);
    let mut path = all[which.index(all.len())].clone();
    if add {
        path.pop();
        path.push(Step::Key("fuzzed_key".into()));
        if let Some(toml::Value::Table(t)) = slot(&mut root, &path[..path.len() - 1]) {
            t.insert("fuzzed_key".into(), toml::Value::String("__FUZZ__".into()));
        }
    } else if let Some(leaf) = slot(&mut root, &path) {
        *leaf = toml::Value::String("__FUZZ__".into());
    }
    toml::to_string(&root)
        .unwrap_or_default()
        .replacen(MARK, value, 1)
}

/// Values of each type, plausible and at the edges: a replaced field keeps its type, so more
/// of these get past the type check and reach the bounds.
#[derive(Debug, Clone)]
struct Typed {
    number: String,
    duration: String,
    text: String,
    flag: bool,
}

fn typed() -> impl Strategy<Value = Typed> {
    let number = prop_oneof![
        edge_number(),
        (0u64..2_000_000).prop_map(|v| v.to_string()),
        (0.0f64..5.0).prop_map(toml_float),
        (0.0f64..200_000.0).prop_map(toml_float),
    ];
    let unit = prop::sample::select(vec!["ms", "s", "m", "h", "d"]);
    let duration = prop_oneof![
        edge_duration(),
        (1u64..4000, unit).prop_map(|(n, u)| toml_string(&format!("{n}{u}"))),
    ];
    (number, duration, edge_string(), any::<bool>()).prop_map(|(number, duration, text, flag)| {
        Typed {
            number,
            duration,
            text,
            flag,
        }
    })
}

/// `text` with the leaf chosen by `which` replaced by a value of its own type.
fn retype(text: &str, which: Index, value: &Typed) -> String {
    let root = toml::Value::Table(text.parse::<toml::Table>().unwrap_or_default());
    let mut all = Vec::new();
    leaves(&root, &mut Vec::new(), &mut all);
    let path = &all[which.index(all.len())];
    let mut copy = root.clone();
    let replacement = match slot(&mut copy, path) {
        Some(toml::Value::Integer(_) | toml::Value::Float(_)) => value.number.clone(),
        Some(toml::Value::Boolean(_)) => value.flag.to_string(),
        Some(toml::Value::String(s)) if humantime::parse_duration(s).is_ok() => {
            value.duration.clone()
        }
        _ => value.text.clone(),
    };
    mutate(text, which, false, &replacement)
}

// ---- What an accepted input must satisfy ----

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

fn policy_within_bounds(p: &Policy) {
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
        assert!(r.factor > 1.0 && r.factor <= MAX_FACTOR);
        assert!((1..=MAX_UNITS).contains(&r.min_step));
        assert!(r.cooldown >= METRIC_PERIOD && r.cooldown <= MAX_DURATION);
        assert!(r.throttle_events_per_minute.is_some() || r.utilisation.is_some());
        for v in r
            .throttle_events_per_minute
            .into_iter()
            .chain(r.utilisation)
        {
            assert!(v.is_finite() && v > 0.0 && v <= MAX_THROTTLE_EVENTS_PER_MINUTE);
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
fn scenario_within_bounds(s: &Scenario) {
    use limits::*;
    assert!(MIN_SCENARIO <= s.duration && s.duration <= MAX_SCENARIO);
    let pair = |(lo, hi): (u64, u64), max: u64| assert!(lo <= hi && hi <= max, "{lo} {hi}");
    pair(s.update_seconds, MAX_UPDATE_SECONDS);
    pair(s.metric_delay_seconds, MAX_METRIC_DELAY_SECONDS);
    assert!(s.tables.len() <= MAX_TABLES);
    let units = |u: u32| assert!((1..=MAX_UNITS).contains(&u64::from(u)), "{u}");
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
        assert!((1..=MAX_ACCOUNT_CONCURRENCY).contains(&u64::from(a.account_concurrency)));
        assert!((1..=MAX_RETRY_SECONDS).contains(&a.retry_seconds));
        assert!(a.functions.len() <= MAX_FUNCTIONS);
        for f in &a.functions {
            assert!(f.base_ms >= MIN_BASE_MS as f64 && f.base_ms <= MAX_BASE_MS as f64);
            assert!(f.max_ratio >= 1.0 && f.max_ratio <= MAX_RATIO as f64);
            assert!(f.writes <= MAX_UNITS_PER_INVOCATION as f64 && f.reads >= 0.0);
            assert!(f.reads <= MAX_UNITS_PER_INVOCATION as f64 && f.writes >= 0.0);
            let per = f.tiles_per_invocation.map_or(1, u64::from);
            assert!((1..=MAX_TILES_PER_INVOCATION).contains(&per));
            assert!(f.reserved.is_none_or(|r| r <= a.account_concurrency));
        }
    }
}

/// Problems never carry a raw control character, and each names a file.
fn problems_are_clean(problems: &Problems) {
    let text = problems.to_string();
    assert!(
        !text.chars().any(|c| is_control(c) && c != '\n'),
        "{text:?}"
    );
    assert!(problems.0.iter().all(|p| !p.file.as_os_str().is_empty()));
}

fn check_policy(text: &str) {
    match Policy::parse(Path::new("fuzz.toml"), text) {
        Ok(policy) => policy_within_bounds(&policy),
        Err(problems) => problems_are_clean(&problems),
    }
}

fn check_scenario(text: &str) {
    match Scenario::parse(Path::new("fuzz.toml"), text) {
        Ok(scenario) => scenario_within_bounds(&scenario),
        Err(problems) => problems_are_clean(&problems),
    }
}

/// Random text built from TOML-looking lines, more likely to get past the syntax check.
fn tomlish() -> impl Strategy<Value = String> {
    let key = prop::sample::select(vec![
        "[stack]",
        "[controller]",
        "[redrive]",
        "[drift]",
        "[tables.t]",
        "[[tables]]",
        "[[workload]]",
        "[performers]",
        "[[functions]]",
        "domain",
        "interval",
        "rate",
        "name",
        "seed",
        "duration",
        "points",
        "read",
        "write",
        "units",
        "at",
    ]);
    prop::collection::vec((key, any_value()), 0..12).prop_map(|lines| {
        lines
            .into_iter()
            .map(|(k, v)| {
                if k.starts_with('[') {
                    k.to_string()
                } else {
                    format!("{k} = {v}")
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
    })
}

proptest! {
    #![proptest_config(config(128))]

    #[test]
    fn policy_parser_never_panics_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        check_policy(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn policy_parser_never_panics_on_text(text in any::<String>()) {
        check_policy(&text);
    }

    #[test]
    fn policy_parser_never_panics_on_toml_like_text(text in tomlish()) {
        check_policy(&text);
    }

    #[test]
    fn a_policy_with_one_field_replaced_is_refused_or_within_bounds(
        production in any::<bool>(),
        which in any::<Index>(),
        add in prop::bool::weighted(0.1),
        value in any_value(),
    ) {
        let base = if production { PRODUCTION } else { LOCAL };
        check_policy(&mutate(base, which, add, &value));
    }

    #[test]
    fn a_policy_with_one_field_retyped_is_refused_or_within_bounds(
        production in any::<bool>(),
        which in any::<Index>(),
        value in typed(),
    ) {
        let base = if production { PRODUCTION } else { LOCAL };
        check_policy(&retype(base, which, &value));
    }

    #[test]
    fn scenario_parser_never_panics_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        check_scenario(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn scenario_parser_never_panics_on_toml_like_text(text in tomlish()) {
        check_scenario(&text);
    }

    #[test]
    fn a_scenario_with_one_field_replaced_is_refused_or_within_bounds(
        shipped in 0..SHIPPED.len(),
        which in any::<Index>(),
        add in prop::bool::weighted(0.1),
        value in any_value(),
    ) {
        check_scenario(&mutate(SHIPPED[shipped].1, which, add, &value));
    }

    #[test]
    fn a_scenario_with_one_field_retyped_is_refused_or_within_bounds(
        shipped in 0..SHIPPED.len(),
        which in any::<Index>(),
        value in typed(),
    ) {
        check_scenario(&retype(SHIPPED[shipped].1, which, &value));
    }
}

#[test]
fn the_shipped_files_are_within_bounds() {
    check_policy(LOCAL);
    check_policy(PRODUCTION);
    for (name, text) in SHIPPED {
        let scenario = Scenario::parse(Path::new(name), text).unwrap_or_else(|e| panic!("{e}"));
        scenario_within_bounds(&scenario);
    }
}

#[test]
fn text_over_one_mebibyte_is_refused_by_both_parsers() {
    let text = format!("{LOCAL}{}", "#".repeat(1 << 20));
    let policy = Policy::parse(Path::new("big.toml"), &text)
        .err()
        .map(|p| p.to_string());
    assert!(policy.is_some_and(|p| p.contains("at most 1048576")));
    let scenario = Scenario::parse(Path::new("big.toml"), &text)
        .err()
        .map(|p| p.to_string());
    assert!(scenario.is_some_and(|p| p.contains("at most 1048576")));
}
