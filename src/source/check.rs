//! The checks every input file uses: durations, reals and whole numbers in a range, each problem
//! naming file, line and field. Policies (`policy::validate`) and scenarios (`sim::scenario`)
//! add their own checks as methods on the same [`Checker`].

use super::{Problem, Problems, Source, Whole, excerpt};
use serde::de::DeserializeOwned;
use std::collections::BTreeSet;
use std::fmt::Display;
use std::time::Duration;

/// Collects problems while checking a deserialized file.
#[derive(Debug)]
pub struct Checker<'s, 'a> {
    source: &'s Source<'a>,
    problems: Vec<Problem>,
    /// Fields already reported for a control character: one problem says all there is.
    tainted: BTreeSet<String>,
}

impl<'a> Source<'a> {
    /// Deserializes the file into `T` and finds its control characters (except in the fields
    /// `skip` names, checked by their own code); the checker starts with those problems.
    ///
    /// # Errors
    /// The file is not a valid `T`: every deserialization and control-character problem.
    pub fn check<T: DeserializeOwned>(
        &self,
        skip: &[&str],
    ) -> Result<(T, Checker<'_, 'a>), Problems> {
        let controls = self.control_characters(skip);
        match self.deserialize::<T>() {
            Ok(raw) => Ok((raw, Checker::new(self, controls))),
            Err(Problems(mut problems)) => {
                let known: BTreeSet<String> = problems.iter().map(|p| p.field.clone()).collect();
                problems.extend(controls.into_iter().filter(|p| !known.contains(&p.field)));
                problems.sort_by_key(|p| (p.line, p.column));
                Err(Problems(problems))
            }
        }
    }
}

impl<'s, 'a> Checker<'s, 'a> {
    /// A checker starting with `problems` (control characters), whose fields are not reported
    /// again.
    fn new(source: &'s Source<'a>, problems: Vec<Problem>) -> Self {
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

    /// Adds a problem found in another file the checked one names (a scenario's export).
    pub fn push(&mut self, problem: Problem) {
        self.problems.push(problem);
    }

    /// Ends the check.
    ///
    /// # Errors
    /// Every problem found, in file order.
    pub fn finish(mut self) -> Result<(), Problems> {
        if self.problems.is_empty() {
            return Ok(());
        }
        self.problems.sort_by_key(|p| (p.line, p.column));
        Err(Problems(self.problems))
    }

    /// A duration in `[low, high]` (zero refused when `low` is not); `default` when absent or
    /// refused. `why` follows the range in the message.
    pub fn duration_in(
        &mut self,
        field: &str,
        value: Option<&str>,
        default: Duration,
        low: Duration,
        high: Duration,
        why: &str,
    ) -> Duration {
        let Some(text) = value else { return default };
        let human = crate::time::human;
        match humantime::parse_duration(text) {
            Ok(d) if d.is_zero() && !low.is_zero() => {
                self.fail(field, "must be longer than zero");
                default
            }
            Ok(d) if d < low || d > high => {
                let side = if d < low { "shorter" } else { "longer" };
                self.fail(
                    field,
                    format!(
                        "`{}` is {side} than allowed: {} to {}{why}",
                        excerpt(text),
                        human(low),
                        human(high)
                    ),
                );
                default
            }
            Ok(d) => d,
            Err(e) => {
                self.fail(
                    field,
                    format!(
                        "`{}` is not a duration ({e}); write e.g. \"90s\", \"5m\", \"1h\"",
                        excerpt(text)
                    ),
                );
                default
            }
        }
    }

    /// A finite real in `[low, high]` (or `(low, high]` with `open_low`, `[low, high)` with
    /// `open_high`); `default` when absent or refused.
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
        self.fail(
            field,
            format!("{} is out of range: allowed {l}{low}, {high}{h}", shown(v)),
        );
        default
    }

    /// A whole number in `[low, high]`; `default` when absent or refused.
    pub fn whole<T>(&mut self, field: &str, value: Option<Whole>, default: T, low: T, high: T) -> T
    where
        T: TryFrom<i128> + PartialOrd + Display + Copy,
    {
        let Some(Whole(v)) = value else {
            return default;
        };
        match T::try_from(v) {
            Ok(n) if low <= n && n <= high => n,
            _ => {
                self.fail(
                    field,
                    format!("{v} is out of range: allowed {low} to {high}"),
                );
                default
            }
        }
    }
}

/// A number as written in a message: `1e300`, not three hundred digits.
fn shown(v: f64) -> String {
    let plain = v.to_string();
    if plain.len() <= 16 {
        plain
    } else {
        format!("{v:e}")
    }
}
