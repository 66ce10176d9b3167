//! BOSS's autoscaler, one clause of its rule at a time: values in, values out for `decide`, and
//! through a small world for what the Lambda reads and how it sends its updates.

use super::*;
use crate::policy::Policy;
use crate::sim::scenario::Scenario;
use crate::sim::world::DEFAULT_START;
use std::path::Path;

const RANGE: Range = Range {
    min: 5,
    max: 40_000,
};

fn r(provisioned: u32, consumed: f64, throttled: f64) -> Reading {
    Reading {
        provisioned,
        consumed,
        throttled,
    }
}

/// 50 % used: neither a raise nor a lower is wanted.
const CALM: Reading = Reading {
    provisioned: 100,
    consumed: 50.0,
    throttled: 0.0,
};

/// `hh:mm` UTC on the simulations' first day.
fn at(hh: u64, mm: u64) -> Timestamp {
    Timestamp(DEFAULT_START.0 - DEFAULT_START.0 % 86_400 + hh * 3600 + mm * 60)
}

/// The read decision at 14:00 with no history.
fn read_alone(read: Reading) -> Option<u32> {
    decide(read, CALM, RANGE, History::default(), at(14, 0))[0]
}

/// The write decision with a calm read (whose lowered value, 50, sizes the write's cut).
fn write_at(write: Reading, history: History, now: Timestamp) -> Option<u32> {
    decide(CALM, write, RANGE, history, now)[1]
}

#[test]
fn below_min_goes_to_min_whatever_is_consumed() {
    assert_eq!(read_alone(r(2, 0.0, 0.0)), Some(5));
    assert_eq!(read_alone(r(2, 100.0, 0.0)), Some(5));
}

#[test]
fn over_75_percent_raises_to_the_largest_of_the_candidates() {
    assert_eq!(
        read_alone(r(100, 75.0, 0.0)),
        None,
        "75 % is not above 75 %"
    );
    assert_eq!(read_alone(r(100, 80.0, 0.0)), Some(130), "1.3 P");
    assert_eq!(read_alone(r(100, 150.0, 0.0)), Some(195), "1.3 C");
    assert_eq!(read_alone(r(5, 4.0, 0.0)), Some(8), "P + 3");
}

#[test]
fn throttles_over_25_per_second_raise_by_0_7_t() {
    assert_eq!(
        read_alone(r(100, 50.0, 25.0)),
        None,
        "25/s is not above 25/s"
    );
    // max(100 + 3 + 21, 130 + 21, 1.3 × 50)
    assert_eq!(read_alone(r(100, 50.0, 30.0)), Some(151));
    // Utilisation 10 % would lower; the throttles raise instead.
    assert_eq!(read_alone(r(100, 10.0, 30.0)), Some(151));
}

#[test]
fn a_raise_stops_at_max_and_none_is_wanted_at_max() {
    assert_eq!(read_alone(r(39_000, 39_000.0, 0.0)), Some(40_000));
    assert_eq!(read_alone(r(40_000, 39_000.0, 100.0)), None);
}

#[test]
fn values_round_as_math_round() {
    assert_eq!(
        read_alone(r(20, 21.0, 0.0)),
        Some(27),
        "27.3, not its ceiling"
    );
    assert_eq!(read_alone(r(20, 25.0, 0.0)), Some(33), "32.5 rounds up");
    assert_eq!(read_alone(r(20, 35.0, 0.0)), Some(46), "45.5 rounds up");
    assert!(
        (js_round(-2.5) - -2.0).abs() < f64::EPSILON,
        "halves go to +∞"
    );
    assert!(js_round(0.499_999_999_999_999_94).abs() < f64::EPSILON);
    assert!((js_round(2.5) - 3.0).abs() < f64::EPSILON);
}

#[test]
fn under_30_percent_lowers_to_consumed_but_not_under_min() {
    assert_eq!(
        read_alone(r(100, 30.0, 0.0)),
        None,
        "30 % is not under 30 %"
    );
    assert_eq!(read_alone(r(100, 29.0, 0.0)), Some(29));
    assert_eq!(read_alone(r(100, 2.0, 0.0)), Some(5));
    assert_eq!(read_alone(r(5, 0.0, 0.0)), None, "at min");
}

#[test]
fn at_max_while_throttling_it_lowers_if_utilisation_is_low() {
    assert_eq!(read_alone(r(40_000, 1000.0, 100.0)), Some(1000));
}

#[test]
fn above_max_lowers_to_max() {
    assert_eq!(read_alone(r(50_000, 45_000.0, 0.0)), Some(40_000));
}

#[test]
fn no_lower_within_60_minutes_of_an_increase_or_a_decrease() {
    let low = r(100, 10.0, 0.0);
    for (last, lowered) in [(at(13, 0), None), (at(12, 59), Some(10))] {
        let raised = History {
            last_increase: Some(last),
            ..History::default()
        };
        assert_eq!(
            write_at(low, raised, at(14, 0)),
            lowered,
            "increase at {last:?}"
        );
    }
    // Three decreases, the last at 21:30: the day's spacing allows the next at 22:30, the hour
    // after the last decrease only after 22:30.
    let cut = History {
        last_decrease: Some(at(21, 30)),
        decreases_today: 3,
        ..History::default()
    };
    assert_eq!(write_at(low, cut, at(22, 30)), None);
    assert_eq!(write_at(low, cut, at(22, 31)), Some(10));
}

#[test]
fn on_a_fresh_day_the_first_decrease_waits_for_04_42() {
    let low = r(100, 10.0, 0.0);
    // Yesterday's decreases do not count; the day's start is "last".
    let yesterday = History {
        last_decrease: Some(at(0, 0).minus(Duration::from_secs(3600))),
        ..History::default()
    };
    for history in [History::default(), yesterday] {
        assert_eq!(write_at(low, history, at(4, 41)), None);
        assert_eq!(write_at(low, history, at(4, 42)), Some(10));
    }
}

#[test]
fn later_decreases_are_spaced_over_what_is_left_of_the_day() {
    let low = r(100, 10.0, 0.0);
    // One at 06:00: next at 06:00 + 17h30 / 4 = 10:22:30.
    let one = History {
        last_decrease: Some(at(6, 0)),
        decreases_today: 1,
        ..History::default()
    };
    assert_eq!(write_at(low, one, at(10, 22)), None);
    assert_eq!(write_at(low, one, at(10, 23)), Some(10));
    // Three, the last at 08:00: next at 08:00 + 15h30 / 2 = 15:45.
    let three = History {
        last_decrease: Some(at(8, 0)),
        decreases_today: 3,
        ..History::default()
    };
    assert_eq!(write_at(low, three, at(15, 44)), None);
    assert_eq!(write_at(low, three, at(15, 45)), Some(10));
}

#[test]
fn at_most_four_decreases_a_day() {
    let four = History {
        last_decrease: Some(at(12, 0)),
        decreases_today: 4,
        ..History::default()
    };
    let low = r(100, 10.0, 0.0);
    assert_eq!(write_at(low, four, at(20, 0)), None);
    assert_eq!(write_at(low, four, at(23, 45)), None);
}

#[test]
fn a_cut_of_5_units_or_less_waits_for_23_30() {
    let small = r(10, 2.0, 0.0);
    let idle = decide(small, small, RANGE, History::default(), at(14, 0));
    assert_eq!(idle, [None, None], "10 → 5 is a cut of 5");
    let late = decide(small, small, RANGE, History::default(), at(23, 30));
    assert_eq!(late, [Some(5), Some(5)]);
}

#[test]
fn the_cut_of_a_write_is_measured_with_the_read_value() {
    // The write's own cut (20 → 5) is 15, but the code measures 20 − 60 (the read's lowered value).
    let write = r(20, 5.0, 0.0);
    let read = r(100, 60.0, 0.0);
    let now = at(14, 0);
    assert_eq!(
        decide(read, write, RANGE, History::default(), now),
        [None, None]
    );
    let late = decide(read, write, RANGE, History::default(), at(23, 31));
    assert_eq!(late, [None, Some(5)]);
    // And the other way: a write cut of 5 (7 → 2) goes because 7 − 1 (the read's) is over 5.
    let wide = Range { min: 1, max: 100 };
    let decided = decide(
        r(100, 1.0, 0.0),
        r(7, 2.0, 0.0),
        wide,
        History::default(),
        now,
    );
    assert_eq!(decided, [Some(1), Some(2)]);
}

#[test]
fn the_day_count_starts_again_each_utc_day() {
    let kept = Kept {
        last_decrease: Some(at(22, 0)),
        decreases: (at(22, 0).0 / 86_400, 4),
        ..Kept::default()
    };
    assert_eq!(kept.history(at(23, 0)).decreases_today, 4);
    let tomorrow = at(23, 0).plus(Duration::from_secs(3600));
    assert_eq!(kept.history(tomorrow).decreases_today, 0);
}

fn world(text: &str) -> World {
    let scenario = Scenario::parse(Path::new("test.toml"), text).unwrap_or_else(|e| panic!("{e}"));
    let policy = Policy::local();
    World::new(&scenario, &policy.domain, policy.guardrails.prices)
}

fn key(world: &World, index: Option<&str>, dimension: Dimension) -> CapacityKey {
    let table = world.table_specs()[0].0.clone();
    let resource = match index {
        None => Resource::table(&table),
        Some(i) => Resource::index(&table, i),
    };
    CapacityKey {
        resource,
        dimension,
    }
}

/// Throughput of the first table (or one of its GSIs) now.
fn units_of(world: &World, index: Option<&str>) -> (u32, u32) {
    let table = world.table_specs()[0].0.clone();
    let Ok(desc) = world.describe(&table) else {
        panic!("no table {table}")
    };
    let t = match index {
        None => desc.throughput,
        Some(i) => desc
            .indexes
            .iter()
            .find(|x| x.name == i)
            .and_then(|x| x.throughput),
    };
    t.map_or((0, 0), |t| (t.read, t.write))
}

fn throttling(delay: u64) -> World {
    world(&format!(
        r#"name = "throttling"
seed = 1
duration = "1h"
metric_delay_seconds = [{delay}, {delay}]
[[tables]]
name = "t"
billing = "provisioned"
read = 10
write = 10
[[workload]]
table = "t"
dimension = "write"
points = [{{ at = "0m", units = 100 }}]
"#
    ))
}

#[test]
fn t_is_the_last_60_seconds_in_events_per_second_and_an_older_datapoint_is_ignored() {
    let mut w = throttling(0);
    for _ in 0..180 {
        w.step();
    }
    let write = key(&w, None, Dimension::Write);
    let seen = reading(&w, &write, 10);
    // 90 writes/s refused: a minute's Sum is 5,400 events, T is 90 per second.
    assert!((seen.throttled - 90.0).abs() < 1e-9, "{seen:?}");
    assert!((seen.consumed - 10.0).abs() < 1e-9, "{seen:?}");
    // Published 60 s late, the last minute is not there yet; the one before is out of the window.
    let mut late = throttling(60);
    for _ in 0..180 {
        late.step();
    }
    let seen = reading(&late, &write, 10);
    assert!(seen.throttled.abs() < f64::EPSILON, "{seen:?}");
    assert!((seen.consumed - 10.0).abs() < 1e-9, "{seen:?}");
}

#[test]
fn one_update_table_carries_the_table_and_its_gsi() {
    let mut w = world(
        r#"name = "gsi"
seed = 1
duration = "1h"
metric_delay_seconds = [0, 0]
update_seconds = [30, 30]
[[tables]]
name = "t"
billing = "provisioned"
read = 10
write = 4
indexes = [{ name = "gsi", read = 10, write = 4, write_share = 1.0 }]
[[workload]]
table = "t"
dimension = "read"
points = [{ at = "0m", units = 5 }]
"#,
    );
    let mut boss = BossAutoscaler::default();
    boss.step(&mut w);
    // Both writes are under min: one UpdateTable raises both (a second would meet UPDATING).
    assert_eq!(w.totals.capacity_changes, 2);
    for _ in 0..60 {
        w.step();
    }
    assert_eq!(units_of(&w, None), (10, 5));
    assert_eq!(units_of(&w, Some("gsi")), (10, 5));
    let resource = key(&w, Some("gsi"), Dimension::Write).resource;
    assert_eq!(boss.kept[&resource].last_increase, Some(DEFAULT_START));
}

#[test]
fn a_read_raise_holds_back_a_write_decrease_of_the_same_table_for_an_hour() {
    let mut w = world(
        r#"name = "shared"
seed = 1
duration = "2h"
metric_delay_seconds = [0, 0]
update_seconds = [20, 20]
[[tables]]
name = "t"
billing = "provisioned"
read = 2
write = 100
autoscaler_max = 1000
[[workload]]
table = "t"
dimension = "read"
points = [{ at = "0m", units = 2 }]
[[workload]]
table = "t"
dimension = "write"
points = [{ at = "0m", units = 50 }, { at = "8m", units = 50 }, { at = "9m", units = 10 }]
"#,
    );
    // Five minutes of datapoints before the autoscaler starts.
    for _ in 0..300 {
        w.step();
    }
    let mut boss = BossAutoscaler::default();
    let mut lowered_at = None;
    for second in 300..4000 {
        boss.step(&mut w);
        w.step();
        if second == 300 {
            assert_eq!(units_of(&w, None).0, 2, "the read raise is under way");
        }
        if lowered_at.is_none() && units_of(&w, None).1 < 100 {
            lowered_at = Some(second);
        }
    }
    assert_eq!(units_of(&w, None), (5, 10));
    // Raised at 300 s: the first run strictly more than 60 min later is at 3,960 s.
    let Some(lowered_at) = lowered_at else {
        panic!("never lowered")
    };
    assert!(
        (3960..3990).contains(&lowered_at),
        "lowered at {lowered_at}"
    );
}
