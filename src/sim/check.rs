//! The checks only scenarios use, added to the shared [`Checker`]: points in time, `[low, high]`
//! pairs, short names and list lengths, each problem naming file, line and field.

use super::limits::MAX_SCENARIO;
use crate::policy::names;
use crate::source::{Checker, Whole, excerpt};
use std::time::Duration;

impl Checker<'_, '_> {
    /// A point in time within the longest scenario, in seconds (0 when refused).
    pub(super) fn at(&mut self, field: &str, text: &str) -> u64 {
        self.duration_in(
            field,
            Some(text),
            Duration::ZERO,
            Duration::ZERO,
            MAX_SCENARIO,
            "",
        )
        .as_secs()
    }

    /// A `[low, high]` pair of seconds, each at most `max`, the first not above the second.
    pub(super) fn pair(
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

    /// A table's or function's short name (`tileindex`, `tileUploadLambda`) by
    /// [`names::short_name`], not among the `earlier` ones.
    pub(super) fn short_name<'n>(
        &mut self,
        field: &str,
        name: &str,
        what: &str,
        mut earlier: impl Iterator<Item = &'n str>,
    ) {
        if let Err(rule) = names::short_name(name) {
            let shown = excerpt(name);
            self.fail(
                field,
                format!("`{shown}` is not a {what} short name: it {rule}"),
            );
        } else if earlier.any(|e| e == name) {
            self.fail(field, format!("`{}` is named twice", excerpt(name)));
        }
    }

    /// At most `max` entries in a list.
    pub(super) fn count(&mut self, field: &str, len: usize, max: usize) {
        if len > max {
            self.fail(field, format!("{len} entries; at most {max}"));
        }
    }
}
