//! Memory read back from a state store is checked like a policy before the controller trusts
//! it: a damaged or hand-edited file must make the controller refuse to start with the field
//! named, never panic in a rule or silently suppress every raise.
//!
//! Times a little ahead of this host's clock are clock skew between hosts (a state written by
//! another replica): they are reported as warnings and the rules hold what they touch until the
//! clock catches up. Anything further ahead, or a value no controller could have written, is a
//! problem.

use super::Memory;
use crate::domain::redrive::{MAX_RATE, MIN_RATE};
use crate::policy::bounds::{MAX_BASELINE, MAX_UNITS, MAX_UNITS_PER_TILE};
use crate::time::Timestamp;
use std::fmt;
use std::time::Duration;

/// How far ahead of this host's clock a remembered time may be and still count as clock skew.
/// NTP keeps hosts within milliseconds; five minutes covers a host that lost its time source
/// for a while, without letting a state from tomorrow suppress a day of raises.
pub const MAX_CLOCK_SKEW: Duration = Duration::from_secs(300);

/// One remembered value that cannot be trusted, named by its field path (`changes[2].at`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub field: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// A remembered time ahead of this host's clock, within [`MAX_CLOCK_SKEW`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skew {
    pub field: String,
    pub at: Timestamp,
    pub ahead: Duration,
}

impl fmt::Display for Skew {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} is {} ({}s ahead of this host's clock)",
            self.field,
            self.at,
            self.ahead.as_secs()
        )
    }
}

/// What a check of remembered values found.
#[derive(Debug)]
struct Findings {
    now: Timestamp,
    problems: Vec<Problem>,
    skews: Vec<Skew>,
}

impl Findings {
    fn time(&mut self, field: impl Into<String>, at: Timestamp) {
        if at <= self.now {
            return;
        }
        let field = field.into();
        let ahead = at.since(self.now);
        if ahead <= MAX_CLOCK_SKEW {
            self.skews.push(Skew { field, at, ahead });
        } else {
            self.problems.push(Problem {
                field,
                message: format!(
                    "{at} is {}s ahead of this host's clock ({}); more than the {}s of clock skew tolerated",
                    ahead.as_secs(),
                    self.now,
                    MAX_CLOCK_SKEW.as_secs()
                ),
            });
        }
    }

    fn units(&mut self, field: impl Into<String>, units: u32) {
        if units == 0 || units > MAX_UNITS {
            self.problems.push(Problem {
                field: field.into(),
                message: format!("{units} capacity units is outside 1..={MAX_UNITS}"),
            });
        }
    }

    fn check(&mut self, field: impl Into<String>, ok: bool, message: impl Into<String>) {
        if !ok {
            self.problems.push(Problem {
                field: field.into(),
                message: message.into(),
            });
        }
    }
}

/// What the capacity rule learned: a damaged units-per-tile or peak would size raises from
/// nonsense, so each is held to what the policy could give.
fn capacity(f: &mut Findings, c: &crate::memory::CapacityMemory) {
    for (i, j) in c.jobs.iter().enumerate() {
        f.time(format!("capacity.jobs[{i}].at"), j.at);
    }
    for (i, u) in c.uploads.iter().enumerate() {
        f.time(format!("capacity.uploads[{i}].to"), u.to);
        f.check(
            format!("capacity.uploads[{i}].from"),
            u.from < u.to,
            format!("{} is not before {}", u.from, u.to),
        );
    }
    for (i, u) in c.units_per_tile.iter().enumerate() {
        f.time(format!("capacity.units_per_tile[{i}].minute"), u.minute);
        f.check(
            format!("capacity.units_per_tile[{i}].units"),
            u.units.is_finite() && (0.0..=MAX_UNITS_PER_TILE).contains(&u.units),
            format!(
                "{} units per tile is outside 0..={MAX_UNITS_PER_TILE}",
                u.units
            ),
        );
    }
    for (i, d) in c.day_start.iter().enumerate() {
        f.units(format!("capacity.day_start[{i}].units"), d.units);
    }
    for (i, w) in c.warm.iter().enumerate() {
        f.units(format!("capacity.warm[{i}].units"), w.units);
        f.time(format!("capacity.warm[{i}].since"), w.since);
    }
}

/// Checks every remembered time against `now` and every remembered figure against what the
/// controller can write.
///
/// # Errors
/// Every problem found, each naming its field.
pub fn validate(memory: &Memory, now: Timestamp) -> Result<Vec<Skew>, Vec<Problem>> {
    let mut f = Findings {
        now,
        problems: Vec::new(),
        skews: Vec::new(),
    };
    for (i, c) in memory.changes.iter().enumerate() {
        f.time(format!("changes[{i}].at"), c.at);
        if let Some(s) = c.settled_at {
            f.time(format!("changes[{i}].settled_at"), s);
            f.check(
                format!("changes[{i}].settled_at"),
                s >= c.at,
                format!("settled at {s}, before the change was made at {}", c.at),
            );
        }
        f.units(format!("changes[{i}].from"), c.from);
        f.units(format!("changes[{i}].to"), c.to);
    }
    for (i, e) in memory.escalations.iter().enumerate() {
        f.time(format!("escalations[{i}].at"), e.at);
    }
    for (i, r) in memory.refusals.iter().enumerate() {
        f.time(format!("refusals[{i}].at"), r.at);
    }
    for (i, r) in memory.redrives.iter().enumerate() {
        f.time(format!("redrives[{i}].at"), r.at);
        f.check(
            format!("redrives[{i}].rate_per_s"),
            // 0 is what files written before the rate was remembered hold.
            r.rate_per_s == 0.0 || (MIN_RATE..=MAX_RATE).contains(&r.rate_per_s),
            format!(
                "{} invocations/s is outside {MIN_RATE}..={MAX_RATE}",
                r.rate_per_s
            ),
        );
        if let Some(end) = &r.end {
            f.time(format!("redrives[{i}].end.at"), end.at);
        }
    }
    for (i, w) in memory.queue_watch.iter().enumerate() {
        f.time(format!("queue_watch[{i}].since"), w.since);
    }
    let pause = &memory.pause;
    if let Some(e) = &pause.episode {
        f.time("pause.episode.since", e.since);
        if let Some(n) = &e.acknowledged {
            f.time("pause.episode.acknowledged.at", n.at);
        }
        if let Some(n) = &e.end_requested {
            f.time("pause.episode.end_requested.at", n.at);
        }
    }
    if let Some((since, ended)) = pause.last_episode {
        f.time("pause.last_episode[0]", since);
        f.time("pause.last_episode[1]", ended);
    }
    if let Some(since) = pause.suppressed_since {
        f.time("pause.suppressed_since", since);
    }
    // A learned baseline never exceeds what a policy may fix: Lambda's longest run.
    let max_baseline_ms = MAX_BASELINE.as_secs_f64() * 1000.0;
    for (i, b) in pause.baselines.iter().enumerate() {
        f.time(format!("pause.baselines[{i}].through"), b.through);
        for (name, ms) in [("ms", b.ms), ("learned_ms", b.learned_ms)] {
            f.check(
                format!("pause.baselines[{i}].{name}"),
                ms.is_finite() && (0.0..=max_baseline_ms).contains(&ms),
                format!("{ms} ms is outside 0..={max_baseline_ms} ms"),
            );
        }
    }
    for (i, l) in pause.flow_limits.iter().enumerate() {
        f.time(format!("pause.flow_limits[{i}].at"), l.at);
    }
    for (i, n) in pause.notices.iter().enumerate() {
        f.time(format!("pause.notices[{i}].at"), n.at);
    }
    for (i, g) in pause.growth.iter().enumerate() {
        f.time(format!("pause.growth[{i}].rising_since"), g.rising_since);
    }
    for (i, intent) in memory.intents.iter().enumerate() {
        f.time(format!("intents[{i}].at"), intent.at);
    }
    capacity(&mut f, &memory.capacity);
    if f.problems.is_empty() {
        Ok(f.skews)
    } else {
        Err(f.problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::resource::{CapacityKey, Dimension, Resource};
    use crate::memory::{ChangeRecord, Direction};

    const NOW: Timestamp = Timestamp(1_767_621_600);

    fn change(at: Timestamp, to: u32) -> ChangeRecord {
        ChangeRecord {
            key: CapacityKey {
                resource: Resource::table("tileindex.local.boss"),
                dimension: Dimension::Write,
            },
            at,
            from: 10,
            to,
            direction: Direction::Raise,
            settled_at: None,
        }
    }

    #[test]
    fn a_time_far_in_the_future_is_a_problem_named_by_field() {
        let memory = Memory {
            changes: vec![change(NOW, 60), change(Timestamp(99_999_999_999_999), 60)],
            ..Memory::default()
        };
        let problems = validate(&memory, NOW).expect_err("refused");
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].field, "changes[1].at");
        assert!(
            problems[0].message.contains("@99999999999999"),
            "{}",
            problems[0]
        );
    }

    #[test]
    fn a_day_ahead_is_refused_a_minute_ahead_is_skew() {
        let day = Memory {
            changes: vec![change(NOW.plus(Duration::from_secs(86_400)), 60)],
            ..Memory::default()
        };
        assert!(validate(&day, NOW).is_err());
        let minute = Memory {
            changes: vec![change(NOW.plus(Duration::from_secs(60)), 60)],
            ..Memory::default()
        };
        let skews = validate(&minute, NOW).expect("tolerated");
        assert_eq!(skews.len(), 1);
        assert_eq!(skews[0].ahead, Duration::from_secs(60));
    }

    #[test]
    fn absurd_figures_are_problems() {
        let mut memory = Memory {
            changes: vec![change(NOW, 0)],
            ..Memory::default()
        };
        memory.pause.baselines.push(crate::domain::pause::Baseline {
            function: "f".into(),
            ms: f64::NAN,
            learned_ms: -1.0,
            minutes: 1,
            through: NOW,
        });
        let fields: Vec<String> = validate(&memory, NOW)
            .expect_err("refused")
            .into_iter()
            .map(|p| p.field)
            .collect();
        assert_eq!(
            fields,
            [
                "changes[0].to",
                "pause.baselines[0].ms",
                "pause.baselines[0].learned_ms"
            ]
        );
    }

    #[test]
    fn learned_capacity_figures_are_checked() {
        use crate::memory::capacity::UnitsPerTile;
        let now = Timestamp(1_767_621_600);
        let mut memory = Memory::default();
        memory.capacity.units_per_tile.push(UnitsPerTile {
            key: change(now, 10).key,
            units: f64::NAN,
            minute: now,
            minutes: 1,
        });
        let problems = validate(&memory, now).err().unwrap_or_default();
        assert!(
            problems
                .iter()
                .any(|p| p.field == "capacity.units_per_tile[0].units"),
            "{problems:?}"
        );
        memory.capacity.units_per_tile[0].units = 1.1;
        assert!(validate(&memory, now).is_ok());
    }

    #[test]
    fn an_ordinary_memory_passes() {
        let memory = Memory {
            changes: vec![change(NOW.minus(Duration::from_secs(600)), 60)],
            ..Memory::default()
        };
        assert_eq!(validate(&memory, NOW), Ok(Vec::new()));
    }
}
