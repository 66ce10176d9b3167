//! Validation of the table rules: names, capacity limits, when to raise and when to lower.

use super::Checker;
use crate::policy::bounds::{
    MAX_FACTOR, MAX_LISTED, MAX_THROTTLE_EVENTS_PER_MINUTE, MAX_UNITS, MAX_UTILISATION,
    METRIC_PERIOD, MIN_QUIET_FOR,
};
use crate::policy::raw::{RawLimits, RawTableRule};
use crate::policy::{Domain, Limits, Lower, Raise, TableRule};
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
        let factor = self.real(
            &format!("{at}.raise.factor"),
            r.and_then(|r| r.factor),
            1.5,
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
            Lower { utilisation_below: below, quiet_for, target_utilisation: target }
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
                factor,
                min_step,
                cooldown,
            },
            hot_partition_below,
            lower,
        }
    }
}
