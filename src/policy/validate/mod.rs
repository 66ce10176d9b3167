//! From the raw mirror to a typed [`Policy`], gathering every problem before reporting.

use super::raw::{RawLimits, RawPolicy, RawTableRule};
mod pause;

use super::{
    Controller, Domain, Guardrails, Limits, Lower, Mode, Policy, Prices, Raise, Redrive, TableRule,
};
use crate::source::{Problem, Problems, Source};
use std::path::PathBuf;
use std::time::Duration;

/// The longest duration a policy may give.
const MAX_DURATION: Duration = Duration::from_secs(30 * 86_400);

/// CloudWatch's finest period for DynamoDB metrics; cooldowns shorter than this act on no news.
const METRIC_PERIOD: Duration = Duration::from_secs(60);

struct Checker<'s, 'a> {
    source: &'s Source<'a>,
    problems: Vec<Problem>,
}

impl Checker<'_, '_> {
    fn fail(&mut self, field: &str, message: impl Into<String>) {
        self.problems.push(self.source.problem(field, message));
    }

    fn required<T: Clone>(&mut self, field: &str, value: Option<&T>) -> Option<T> {
        if value.is_none() {
            self.fail(field, "missing required field");
        }
        value.cloned()
    }

    fn duration(&mut self, field: &str, value: Option<&String>, default: Duration) -> Duration {
        let Some(text) = value else { return default };
        match humantime::parse_duration(text) {
            Ok(d) if d.is_zero() => {
                self.fail(field, "must be longer than zero");
                default
            }
            // Longer than any window a controller reasons about, and time arithmetic stays far
            // from overflow.
            Ok(d) if d > MAX_DURATION => {
                self.fail(
                    field,
                    format!("`{text}` is longer than the 30 days allowed"),
                );
                default
            }
            Ok(d) => d,
            Err(e) => {
                self.fail(
                    field,
                    format!("`{text}` is not a duration ({e}); write e.g. \"90s\", \"5m\", \"1h\""),
                );
                default
            }
        }
    }

    /// A number in an interval; `open_low` excludes the lower bound.
    fn number(
        &mut self,
        field: &str,
        value: Option<f64>,
        default: f64,
        low: f64,
        high: f64,
        open_low: bool,
    ) -> f64 {
        let Some(v) = value else { return default };
        let above_low = if open_low { v > low } else { v >= low };
        if !v.is_finite() || !above_low || v > high {
            let open = if open_low { "(" } else { "[" };
            self.fail(
                field,
                format!("{v} is out of range: allowed {open}{low}, {high}]"),
            );
            return default;
        }
        v
    }

    fn units(&mut self, field: &str, value: Option<i64>, default: u32, low: u32, high: u32) -> u32 {
        let Some(v) = value else { return default };
        match u32::try_from(v) {
            Ok(u) if (low..=high).contains(&u) => u,
            _ => {
                self.fail(
                    field,
                    format!("{v} is out of range: allowed {low} to {high}"),
                );
                default
            }
        }
    }

    fn limits(&mut self, field: &str, raw: Option<&RawLimits>) -> Limits {
        let Some(raw) = raw else {
            self.fail(field, "missing required table (floor and ceiling)");
            return Limits {
                floor: 1,
                ceiling: 1,
            };
        };
        // 40,000 units is AWS's default per-table quota; the hard maximum here is generous.
        let floor = self.units(&format!("{field}.floor"), raw.floor, 1, 1, 1_000_000);
        let ceiling = self.units(
            &format!("{field}.ceiling"),
            raw.ceiling,
            floor,
            1,
            1_000_000,
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
        if short.is_empty() || short.contains(char::is_whitespace) || short.contains('.') {
            self.fail(
                &at,
                format!("`{short}` is not a table short name (like `tileindex`)"),
            );
        }
        let read = self.limits(&format!("{at}.read"), raw.read.as_ref());
        let write = self.limits(&format!("{at}.write"), raw.write.as_ref());
        let r = raw.raise.as_ref();
        let throttle = r.and_then(|r| r.throttle_events_per_minute);
        let throttle = throttle.map(|v| {
            self.number(
                &format!("{at}.raise.throttle_events_per_minute"),
                Some(v),
                1.0,
                0.0,
                1e9,
                true,
            )
        });
        let utilisation = r.and_then(|r| r.utilisation);
        let utilisation = utilisation.map(|v| {
            self.number(
                &format!("{at}.raise.utilisation"),
                Some(v),
                0.8,
                0.0,
                4.0,
                true,
            )
        });
        if throttle.is_none() && utilisation.is_none() {
            self.fail(&format!("{at}.raise"), "give throttle_events_per_minute and/or utilisation: otherwise the rule never raises");
        }
        let factor = self.number(
            &format!("{at}.raise.factor"),
            r.and_then(|r| r.factor),
            1.5,
            1.0,
            4.0,
            true,
        );
        let min_step = self.units(
            &format!("{at}.raise.min_step"),
            r.and_then(|r| r.min_step),
            10,
            1,
            1_000_000,
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
        let hot_partition_below = self.number(
            &format!("{at}.hot_partition.demand_utilisation_below"),
            hot,
            0.8,
            0.0,
            1.0,
            true,
        );
        let lower = raw.lower.as_ref().filter(|l| l.enabled.unwrap_or(true)).map(|l| {
            let below = self.number(&format!("{at}.lower.utilisation_below"), l.utilisation_below, 0.3, 0.0, 1.0, true);
            let target = self.number(&format!("{at}.lower.target_utilisation"), l.target_utilisation, 0.6, 0.0, 1.0, true);
            if let Some(raise_at) = utilisation.filter(|u| target >= *u) {
                self.fail(&format!("{at}.lower.target_utilisation"), format!("{target} must be below raise.utilisation ({raise_at}), or a lowering would trigger a raise"));
            }
            if target <= below {
                self.fail(&format!("{at}.lower.target_utilisation"), format!("{target} must be above utilisation_below ({below}), or lowering would trigger another lowering"));
            }
            let quiet_for = self.duration(&format!("{at}.lower.quiet_for"), l.quiet_for.as_ref(), Duration::from_secs(1800));
            if quiet_for < Duration::from_secs(600) {
                self.fail(&format!("{at}.lower.quiet_for"), "must be at least 10m: AWS allows few decreases a day");
            }
            Lower { utilisation_below: below, quiet_for, target_utilisation: target }
        });
        TableRule {
            short_name: short.to_string(),
            table_name: domain.map_or_else(|| short.to_string(), |d| d.table(short)),
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

/// Validates the raw policy; the source places problems.
pub(super) fn validate(raw: &RawPolicy, source: &Source<'_>) -> Result<Policy, Problems> {
    let mut c = Checker {
        source,
        problems: Vec::new(),
    };

    let stack = raw.stack.as_ref();
    if stack.is_none() {
        c.fail(
            "stack",
            "missing required table [stack] with the stack's domain",
        );
    }
    let domain_text = stack.and_then(|s| c.required("stack.domain", s.domain.as_ref()));
    let domain = domain_text.and_then(|d| match Domain::new(&d) {
        Ok(d) => Some(d),
        Err(e) => {
            c.fail("stack.domain", e);
            None
        }
    });

    let ctl = raw.controller.as_ref();
    if ctl.is_none() {
        c.fail("controller", "missing required table [controller]");
    }
    let interval = c.duration(
        "controller.interval",
        ctl.and_then(|x| x.interval.as_ref()),
        Duration::from_secs(30),
    );
    let mode = match ctl.and_then(|x| x.mode.as_deref()) {
        None | Some("enforce") => Mode::Enforce,
        Some("dry-run") => Mode::DryRun,
        Some(other) => {
            c.fail(
                "controller.mode",
                format!("`{other}` is not a mode: allowed \"enforce\" or \"dry-run\""),
            );
            Mode::DryRun
        }
    };
    let stale_after = c.duration(
        "controller.stale_after",
        ctl.and_then(|x| x.stale_after.as_ref()),
        Duration::from_secs(300),
    );
    let metric_period = c.duration(
        "controller.metric_period",
        ctl.and_then(|x| x.metric_period.as_ref()),
        METRIC_PERIOD,
    );
    if !metric_period.as_secs().is_multiple_of(60) {
        c.fail(
            "controller.metric_period",
            "must be a whole number of minutes (CloudWatch periods)",
        );
    }
    if stale_after < metric_period * 2 {
        c.fail(
            "controller.stale_after",
            "must be at least two metric periods: CloudWatch data is normally 1–3 minutes late",
        );
    }

    let g = raw.guardrails.as_ref();
    let guardrails = Guardrails {
        max_actions_per_hour: c.units(
            "guardrails.max_actions_per_hour",
            g.and_then(|g| g.max_actions_per_hour),
            30,
            1,
            10_000,
        ),
        max_extra_cost_usd_per_hour: c.number(
            "guardrails.max_extra_cost_usd_per_hour",
            g.and_then(|g| g.max_extra_cost_usd_per_hour),
            50.0,
            0.0,
            1e6,
            false,
        ),
        escalation_interval: c.duration(
            "guardrails.escalation_interval",
            g.and_then(|g| g.escalation_interval.as_ref()),
            Duration::from_secs(1800),
        ),
        prices: Prices {
            wcu_usd_per_hour: c.number(
                "guardrails.wcu_usd_per_hour",
                g.and_then(|g| g.wcu_usd_per_hour),
                0.00065,
                0.0,
                1.0,
                true,
            ),
            rcu_usd_per_hour: c.number(
                "guardrails.rcu_usd_per_hour",
                g.and_then(|g| g.rcu_usd_per_hour),
                0.00013,
                0.0,
                1.0,
                true,
            ),
        },
    };

    let tables = raw
        .tables
        .iter()
        .map(|(short, t)| c.table(short, t, domain.as_ref()))
        .collect::<Vec<_>>();

    let rd = raw.redrive.as_ref();
    let max_rate_per_s = c.number(
        "redrive.max_rate",
        rd.and_then(|r| r.max_rate),
        100.0,
        0.0,
        100_000.0,
        true,
    );
    let rate_per_s = c.number(
        "redrive.rate",
        rd.and_then(|r| r.rate),
        10.0,
        0.0,
        100_000.0,
        true,
    );
    if rate_per_s > max_rate_per_s {
        c.fail(
            "redrive.rate",
            format!("{rate_per_s}/s is above redrive.max_rate ({max_rate_per_s}/s)"),
        );
    }
    let function_short = rd
        .and_then(|r| r.function.clone())
        .unwrap_or_else(|| "tileIngestLambda".to_string());
    let redrive = Redrive {
        enabled: rd.and_then(|r| r.enabled).unwrap_or(false),
        function: domain
            .as_ref()
            .map(|d| d.function(&function_short))
            .unwrap_or(function_short),
        rate_per_s,
        max_rate_per_s,
        max_in_flight: c.units(
            "redrive.max_in_flight",
            rd.and_then(|r| r.max_in_flight),
            64,
            1,
            10_000,
        ),
        stranded_after: c.duration(
            "redrive.stranded_after",
            rd.and_then(|r| r.stranded_after.as_ref()),
            Duration::from_secs(900),
        ),
        no_progress_after: c.duration(
            "redrive.no_progress_after",
            rd.and_then(|r| r.no_progress_after.as_ref()),
            Duration::from_secs(600),
        ),
        settle: c.duration(
            "redrive.settle",
            rd.and_then(|r| r.settle.as_ref()),
            Duration::from_secs(120),
        ),
    };

    let drift = c.drift(raw.drift.as_ref(), domain.as_ref());
    let signals = c.signals(raw.signals.as_ref(), domain.as_ref());
    let alarms = c.alarms(raw.alarms.as_ref());

    if !c.problems.is_empty() {
        c.problems.sort_by_key(|p| (p.line, p.column));
        return Err(Problems(c.problems));
    }
    let domain = domain.ok_or_else(|| Problems(vec![source.problem("stack.domain", "missing")]))?;
    Ok(Policy {
        domain,
        region: stack.and_then(|s| s.region.clone()),
        controller: Controller {
            interval,
            mode,
            stale_after,
            metric_period,
            state_file: ctl.and_then(|x| x.state_file.as_ref()).map(PathBuf::from),
        },
        guardrails,
        tables,
        redrive,
        drift,
        signals,
        alarms,
    })
}
