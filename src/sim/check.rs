//! The checks every part of a scenario uses: durations, whole numbers and reals in a range,
//! `[low, high]` pairs and list lengths, each problem naming file, line and field.

use super::limits::MAX_SCENARIO;
use crate::source::{Problem, Source, Whole, excerpt};
use std::collections::BTreeSet;
use std::time::Duration;

/// Collects problems while checking a scenario.
pub(super) struct Checker<'s, 'p> {
    source: &'s Source<'s>,
    problems: &'p mut Vec<Problem>,
    /// Fields already reported for a control character: one problem says all there is.
    tainted: BTreeSet<String>,
}

impl<'s, 'p> Checker<'s, 'p> {
    /// A checker adding to `problems`; fields already in it (control characters) are not
    /// reported again.
    pub fn new(source: &'s Source<'s>, problems: &'p mut Vec<Problem>) -> Self {
        let tainted = problems.iter().map(|p| p.field.clone()).collect();
        Self {
            source,
            problems,
            tainted,
        }
    }

    pub fn fail(&mut self, field: &str, message: impl Into<String>) {
        if !self.tainted.contains(field) {
            self.problems.push(self.source.problem(field, message));
        }
    }

    /// A duration of at most `max`; zero when it is not one.
    pub fn duration(&mut self, field: &str, text: &str, max: Duration) -> Duration {
        match humantime::parse_duration(text) {
            Ok(d) if d <= max => d,
            Ok(_) => {
                self.fail(
                    field,
                    format!(
                        "`{}` is longer than the {} allowed",
                        excerpt(text),
                        crate::time::human(max)
                    ),
                );
                Duration::ZERO
            }
            Err(e) => {
                self.fail(
                    field,
                    format!("`{}` is not a duration ({e})", excerpt(text)),
                );
                Duration::ZERO
            }
        }
    }

    /// A point in time within the longest scenario, in seconds.
    pub fn at(&mut self, field: &str, text: &str) -> u64 {
        self.duration(field, text, MAX_SCENARIO).as_secs()
    }

    /// A whole number in `[low, high]`; out of range it is reported and clamped (the scenario
    /// is refused anyway).
    pub fn whole(
        &mut self,
        field: &str,
        value: Option<Whole>,
        default: u64,
        low: u64,
        high: u64,
    ) -> u64 {
        let Some(Whole(v)) = value else {
            return default;
        };
        match u64::try_from(v) {
            Ok(u) if (low..=high).contains(&u) => u,
            _ => {
                self.fail(
                    field,
                    format!("{v} is out of range: allowed {low} to {high}"),
                );
                default.clamp(low, high)
            }
        }
    }

    /// A whole number in `[low, high]` as `u32` (every bound of a `u32` field fits).
    pub fn whole32(
        &mut self,
        field: &str,
        value: Option<Whole>,
        default: u32,
        low: u32,
        high: u32,
    ) -> u32 {
        let v = self.whole(field, value, default.into(), low.into(), high.into());
        u32::try_from(v).unwrap_or(high)
    }

    /// A finite real in `[low, high]` (or `(low, high]` with `open_low`, `[low, high)` with
    /// `open_high`).
    pub fn real(
        &mut self,
        field: &str,
        value: Option<f64>,
        default: f64,
        (low, high): (f64, f64),
        open_low: bool,
        open_high: bool,
    ) -> f64 {
        let Some(v) = value else { return default };
        let above = if open_low { v > low } else { v >= low };
        let below = if open_high { v < high } else { v <= high };
        if v.is_finite() && above && below {
            return v;
        }
        let (l, h) = (
            if open_low { "(" } else { "[" },
            if open_high { ")" } else { "]" },
        );
        let shown = if v.to_string().len() > 16 {
            format!("{v:e}")
        } else {
            v.to_string()
        };
        self.fail(
            field,
            format!("{shown} is out of range: allowed {l}{low}, {high}{h}"),
        );
        default
    }

    /// A `[low, high]` pair of seconds, each at most `max`, the first not above the second.
    pub fn pair(
        &mut self,
        field: &str,
        value: Option<[Whole; 2]>,
        default: (u64, u64),
        max: u64,
    ) -> (u64, u64) {
        let Some([Whole(lo), Whole(hi)]) = value else {
            return default;
        };
        let ok = |v: i128| u64::try_from(v).ok().filter(|v| *v <= max);
        match (ok(lo), ok(hi)) {
            (Some(l), Some(h)) if l <= h => (l, h),
            (Some(l), Some(h)) => {
                self.fail(
                    field,
                    format!("[{l}, {h}]: the first bound must not exceed the second"),
                );
                default
            }
            _ => {
                self.fail(
                    field,
                    format!("[{lo}, {hi}] is out of range: each from 0 to {max}"),
                );
                default
            }
        }
    }

    /// At most `max` entries in a list.
    pub fn count(&mut self, field: &str, len: usize, max: usize) {
        if len > max {
            self.fail(field, format!("{len} entries; at most {max}"));
        }
    }
}
