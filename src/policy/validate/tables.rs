//! Validation of the table rules: names, capacity limits, when to raise and when to lower.

use super::Checker;
use crate::policy::bounds::{
    MAX_FACTOR, MAX_LISTED, MAX_THROTTLE_EVENTS_PER_MINUTE, MAX_UNITS, MAX_UNITS_PER_TILE,
    MAX_UTILISATION, METRIC_PERIOD, MIN_QUIET_FOR,
};
use crate::policy::raw::{RawLimits, RawTableRule};
use crate::policy::{Domain, FeedForward, Limits, Lower, Raise, TableRule};
use std::collections::BTreeMap;
use std::time::Duration;

impl Checker<'_, '_> {
    pub(super) fn tables(
        &mut self,
        raw: &BTreeMap<String, RawTableRule>,
        domain: Option<&Domain>,
    ) -> Vec<TableRule> {
        if raw.len() > MAX_LISTED {
            self.fail(
                "tables",
                format!(
                    "{} table rules; at most {MAX_LISTED} (each table is read every tick)",
                    raw.len()
                ),
            );
        }
        raw.iter()
            .map(|(short, t)| self.table(short, t, domain))
            .collect()
    }

    fn limits(&mut self, field: &str, raw: Option<&RawLimits>) -> Limits {
        let Some(raw) = raw else {
            self.fail(field, "missing required table (floor and ceiling)");
            return Limits {
                floor: 1,
                ceiling: 1,
            };
        };
        // DynamoDB's minimum is 1 unit; the maximum is `bounds::MAX_UNITS` (why: there).
        let floor = self.whole(&format!("{field}.floor"), raw.floor, 1, 1, MAX_UNITS);
        let ceiling = self.whole(
            &format!("{field}.ceiling"),
            raw.ceiling,
            floor,
            1,
            MAX_UNITS,
        );
        if raw.floor.is_none() {
            self.fail(&format!("{field}.floor"), "missing required field");
        }
        if raw.ceiling.is_none() {
            self.fail(&format!("{field}.ceiling"), "missing required field");
        }
        if floor > ceiling {
            self.fail(
                &format!("{field}.floor"),
                format!("floor {floor} is above ceiling {ceiling}"),
            );
        }
        Limits { floor, ceiling }
    }

    fn table(&mut self, short: &str, raw: &RawTableRule, domain: Option<&Domain>) -> TableRule {
        let at = format!("tables.{short}");
        let table_name = self.table_name(&at, short, domain);
        let read = self.limits(&format!("{at}.read"), raw.read.as_ref());
        let write = self.limits(&format!("{at}.write"), raw.write.as_ref());
        let r = raw.raise.as_ref();
        let throttle = r.and_then(|r| r.throttle_events_per_minute);
        let throttle = throttle.map(|v| {
            self.real(
                &format!("{at}.raise.throttle_events_per_minute"),
                Some(v),
                1.0,
                (0.0, MAX_THROTTLE_EVENTS_PER_MINUTE),
                true,
                false,
            )
        });
        let utilisation = r.and_then(|r| r.utilisation);
        let utilisation = utilisation.map(|v| {
            self.real(
                &format!("{at}.raise.utilisation"),
                Some(v),
                0.8,
                (0.0, MAX_UTILISATION),
                true,
                false,
            )
        });
        if throttle.is_none() && utilisation.is_none() {
            self.fail(&format!("{at}.raise"), "give throttle_events_per_minute and/or utilisation: otherwise the rule never raises");
        }
        // `factor` is the older name: a policy written for it keeps working.
        let (headroom_field, headroom) = match r.and_then(|r| {
            r.headroom
                .map(|h| ("headroom", h))
                .or(r.factor.map(|f| ("factor", f)))
        }) {
            Some((field, value)) => (field, Some(value)),
            None => ("headroom", None),
        };
        let headroom = self.real(
            &format!("{at}.raise.{headroom_field}"),
            headroom,
            1.25,
            (1.0, MAX_FACTOR),
            true,
            false,
        );
        let min_step = self.whole(
            &format!("{at}.raise.min_step"),
            r.and_then(|r| r.min_step),
            10,
            1,
            MAX_UNITS,
        );
        let cooldown = self.duration(
            &format!("{at}.raise.cooldown"),
            r.and_then(|r| r.cooldown.as_ref()),
            Duration::from_secs(120),
        );
        if cooldown < METRIC_PERIOD {
            self.fail(&format!("{at}.raise.cooldown"), format!("{} is shorter than one metric period (60s): the controller would act again before any new evidence", crate::time::human(cooldown)));
        }
        let hot = raw
            .hot_partition
            .as_ref()
            .and_then(|h| h.demand_utilisation_below);
        let hot_partition_below = self.real(
            &format!("{at}.hot_partition.demand_utilisation_below"),
            hot,
            0.8,
            (0.0, 1.0),
            true,
            false,
        );
        let lower = raw.lower.as_ref().filter(|l| l.enabled.unwrap_or(true)).map(|l| {
            let below = self.real(&format!("{at}.lower.utilisation_below"), l.utilisation_below, 0.3, (0.0, 1.0), true, false);
            let target = self.real(&format!("{at}.lower.target_utilisation"), l.target_utilisation, 0.6, (0.0, 1.0), true, false);
            if let Some(raise_at) = utilisation.filter(|u| target >= *u) {
                self.fail(&format!("{at}.lower.target_utilisation"), format!("{target} must be below raise.utilisation ({raise_at}), or a lowering would trigger a raise"));
            }
            if target <= below {
                self.fail(&format!("{at}.lower.target_utilisation"), format!("{target} must be above utilisation_below ({below}), or lowering would trigger another lowering"));
            }
            let quiet_for = self.duration(&format!("{at}.lower.quiet_for"), l.quiet_for.as_ref(), Duration::from_secs(1800));
            if quiet_for < MIN_QUIET_FOR {
                self.fail(&format!("{at}.lower.quiet_for"), "must be at least 10m: AWS allows few decreases a day");
            }
            let reserve_decreases = self.whole(&format!("{at}.lower.reserve_decreases"), l.reserve_decreases, 1, 0, 3);
            Lower { utilisation_below: below, quiet_for, target_utilisation: target, reserve_decreases, below_start_of_day: l.below_start_of_day.unwrap_or(false) }
        });
        let feed_forward = raw
            .feed_forward
            .as_ref()
            .filter(|f| f.enabled.unwrap_or(true))
            .map(|f| FeedForward {
                units_per_tile: self.real(
                    &format!("{at}.feed_forward.units_per_tile"),
                    f.units_per_tile,
                    1.0,
                    (0.0, MAX_UNITS_PER_TILE),
                    true,
                    false,
                ),
            });
        TableRule {
            short_name: short.to_string(),
            table_name,
            include_gsis: raw.include_gsis.unwrap_or(true),
            read,
            write,
            raise: Raise {
                throttle_events_per_minute: throttle,
                utilisation,
                headroom,
                min_step,
                cooldown,
            },
            hot_partition_below,
            lower,
            feed_forward,
        }
    }
}
