//! From the raw mirror to a typed [`Policy`], gathering every problem before reporting.
//!
//! Every duration and number is bounded on both sides (`policy::bounds`), every name follows
//! AWS's own rules (`policy::names`), and no key or string holds a control character
//! (`source::controls`): what `check` accepts cannot hurt at run time.

use super::raw::RawPolicy;
mod names;
mod pause;
mod tables;

/// The namespace of the controller's own metrics unless the policy names another.
pub const DEFAULT_METRICS_NAMESPACE: &str = "BOSS/Remediator";

use super::bounds::{
    MAX_ACTIONS_PER_HOUR, MAX_DURATION, MAX_EXTRA_COST_USD_PER_HOUR, MAX_IN_FLIGHT, MAX_INTERVAL,
    MAX_METRIC_PERIOD, MAX_PRICE_USD_PER_UNIT_HOUR, METRIC_PERIOD, MIN_DURATION, MIN_INTERVAL,
};
use super::{Controller, Guardrails, Mode, Policy, Prices, Redrive};
use crate::domain::redrive::{MAX_RATE, MIN_RATE};
use crate::source::{Checker, Problems, Source, excerpt};
use std::path::PathBuf;
use std::time::Duration;

/// String values whose checks belong elsewhere: the webhook URL is validated (and never
/// echoed) by the webhook's own code.
const OWNED_ELSEWHERE: [&str; 1] = ["signals.webhook.url"];

impl Checker<'_, '_> {
    fn required<T: Clone>(&mut self, field: &str, value: Option<&T>) -> Option<T> {
        if value.is_none() {
            self.fail(field, "missing required field");
        }
        value.cloned()
    }

    /// A duration from [`MIN_DURATION`] to [`MAX_DURATION`].
    fn duration(&mut self, field: &str, value: Option<&String>, default: Duration) -> Duration {
        let value = value.map(String::as_str);
        self.duration_in(field, value, default, MIN_DURATION, MAX_DURATION, "")
    }

    fn controller(&mut self, raw: &RawPolicy) -> Controller {
        let ctl = raw.controller.as_ref();
        if ctl.is_none() {
            self.fail("controller", "missing required table [controller]");
        }
        let interval = self.duration_in(
            "controller.interval",
            ctl.and_then(|x| x.interval.as_deref()),
            Duration::from_secs(30),
            MIN_INTERVAL,
            MAX_INTERVAL,
            ": CloudWatch publishes DynamoDB metrics once a minute, so a faster tick only spends API calls",
        );
        let mode = match ctl.and_then(|x| x.mode.as_deref()) {
            None | Some("enforce") => Mode::Enforce,
            Some("dry-run") => Mode::DryRun,
            Some(other) => {
                self.fail(
                    "controller.mode",
                    format!(
                        "`{}` is not a mode: allowed \"enforce\" or \"dry-run\"",
                        excerpt(other)
                    ),
                );
                Mode::DryRun
            }
        };
        let stale_after = self.duration(
            "controller.stale_after",
            ctl.and_then(|x| x.stale_after.as_ref()),
            Duration::from_secs(300),
        );
        let metric_period = self.duration_in(
            "controller.metric_period",
            ctl.and_then(|x| x.metric_period.as_deref()),
            METRIC_PERIOD,
            METRIC_PERIOD,
            MAX_METRIC_PERIOD,
            " (DynamoDB publishes 1-minute data)",
        );
        if !metric_period.as_secs().is_multiple_of(60) || metric_period.subsec_nanos() != 0 {
            self.fail(
                "controller.metric_period",
                "must be a whole number of minutes (CloudWatch periods)",
            );
        }
        if stale_after < metric_period * 2 {
            self.fail(
                "controller.stale_after",
                "must be at least two metric periods: CloudWatch data is normally 1–3 minutes late",
            );
        }
        let state_file = ctl.and_then(|x| x.state_file.as_ref());
        if state_file.is_some_and(String::is_empty) {
            self.fail("controller.state_file", "must not be empty");
        }
        let state_table = ctl.and_then(|x| x.state_table.clone());
        if let Some(name) = &state_table {
            let ok = (3..=255).contains(&name.len())
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
            if !ok {
                self.fail(
                    "controller.state_table",
                    "must be a DynamoDB table name: 3 to 255 of a-z A-Z 0-9 _ - .",
                );
            }
        }
        let lease = self.duration(
            "controller.lease",
            ctl.and_then(|x| x.lease.as_ref()),
            (interval * 3).max(Duration::from_secs(10)),
        );
        if lease < interval * 2 {
            self.fail(
                "controller.lease",
                format!(
                    "must be at least two intervals ({}): the leader renews it once a tick",
                    crate::time::human(interval * 2)
                ),
            );
        }
        let metrics_namespace = ctl
            .and_then(|x| x.metrics_namespace.clone())
            .unwrap_or_else(|| DEFAULT_METRICS_NAMESPACE.to_string());
        // CloudWatch: 1 to 255 ASCII characters; `AWS/` is reserved for AWS's own.
        if !(1..=255).contains(&metrics_namespace.len())
            || !metrics_namespace
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || " .-_/#:".contains(c))
            || metrics_namespace.starts_with("AWS/")
        {
            self.fail(
                "controller.metrics_namespace",
                "must be a CloudWatch namespace: 1 to 255 of a-z A-Z 0-9 . - _ / # : and space, not starting with AWS/",
            );
        }
        Controller {
            interval,
            mode,
            stale_after,
            metric_period,
            state_file: state_file.filter(|s| !s.is_empty()).map(PathBuf::from),
            state_table,
            lease,
            metrics_namespace,
        }
    }

    fn guardrails(&mut self, raw: &RawPolicy) -> Guardrails {
        let g = raw.guardrails.as_ref();
        let price = |c: &mut Self, field: &str, value: Option<f64>, default: f64| {
            c.real(
                field,
                value,
                default,
                (0.0, MAX_PRICE_USD_PER_UNIT_HOUR),
                true,
                false,
            )
        };
        Guardrails {
            max_actions_per_hour: self.whole(
                "guardrails.max_actions_per_hour",
                g.and_then(|g| g.max_actions_per_hour),
                30,
                1,
                MAX_ACTIONS_PER_HOUR,
            ),
            max_extra_cost_usd_per_hour: self.real(
                "guardrails.max_extra_cost_usd_per_hour",
                g.and_then(|g| g.max_extra_cost_usd_per_hour),
                50.0,
                (0.0, MAX_EXTRA_COST_USD_PER_HOUR),
                false,
                false,
            ),
            escalation_interval: self.duration(
                "guardrails.escalation_interval",
                g.and_then(|g| g.escalation_interval.as_ref()),
                Duration::from_secs(1800),
            ),
            prices: Prices {
                wcu_usd_per_hour: price(
                    self,
                    "guardrails.wcu_usd_per_hour",
                    g.and_then(|g| g.wcu_usd_per_hour),
                    0.00065,
                ),
                rcu_usd_per_hour: price(
                    self,
                    "guardrails.rcu_usd_per_hour",
                    g.and_then(|g| g.rcu_usd_per_hour),
                    0.00013,
                ),
            },
        }
    }

    fn redrive(&mut self, raw: &RawPolicy, domain: Option<&super::Domain>) -> Redrive {
        let rd = raw.redrive.as_ref();
        // The pacer's range: below MIN_RATE its periods outgrow `Duration` (1e-19/s killed the
        // re-drive task), above MAX_RATE Lambda throttles anyway.
        let rate = |c: &mut Self, field: &str, value: Option<f64>, default: f64| {
            c.real(field, value, default, (MIN_RATE, MAX_RATE), false, false)
        };
        let max_rate_per_s = rate(self, "redrive.max_rate", rd.and_then(|r| r.max_rate), 100.0);
        let rate_per_s = rate(self, "redrive.rate", rd.and_then(|r| r.rate), 10.0);
        if rate_per_s > max_rate_per_s {
            self.fail(
                "redrive.rate",
                format!("{rate_per_s}/s is above redrive.max_rate ({max_rate_per_s}/s)"),
            );
        }
        let function = self.function(
            "redrive.function",
            rd.and_then(|r| r.function.as_deref())
                .unwrap_or("tileIngestLambda"),
            domain,
        );
        Redrive {
            enabled: rd.and_then(|r| r.enabled).unwrap_or(false),
            function,
            rate_per_s,
            max_rate_per_s,
            max_in_flight: self.whole(
                "redrive.max_in_flight",
                rd.and_then(|r| r.max_in_flight),
                64,
                1,
                MAX_IN_FLIGHT,
            ),
            stranded_after: self.duration(
                "redrive.stranded_after",
                rd.and_then(|r| r.stranded_after.as_ref()),
                Duration::from_secs(900),
            ),
            no_progress_after: self.duration(
                "redrive.no_progress_after",
                rd.and_then(|r| r.no_progress_after.as_ref()),
                Duration::from_secs(600),
            ),
            settle: self.duration(
                "redrive.settle",
                rd.and_then(|r| r.settle.as_ref()),
                Duration::from_secs(120),
            ),
        }
    }
}

/// Deserializes and validates the policy in `source`, reporting control characters with every
/// other problem, also when the file does not deserialize.
pub(super) fn parse(source: &Source<'_>) -> Result<Policy, Problems> {
    let (raw, mut c) = source.check::<RawPolicy>(&OWNED_ELSEWHERE)?;

    let stack = raw.stack.as_ref();
    if stack.is_none() {
        c.fail(
            "stack",
            "missing required table [stack] with the stack's domain",
        );
    }
    let domain = stack
        .and_then(|s| c.required("stack.domain", s.domain.as_ref()))
        .and_then(|d| c.domain(&d));
    let region = stack.and_then(|s| c.region(s.region.as_ref()));
    let controller = c.controller(&raw);
    let guardrails = c.guardrails(&raw);
    let tables = c.tables(&raw.tables, domain.as_ref());
    let redrive = c.redrive(&raw, domain.as_ref());
    let drift = c.drift(raw.drift.as_ref(), domain.as_ref());
    let signals = c.signals(raw.signals.as_ref(), domain.as_ref());
    let alarms = c.alarms(raw.alarms.as_ref());

    c.finish()?;
    let domain = domain.ok_or_else(|| Problems(vec![source.problem("stack.domain", "missing")]))?;
    Ok(Policy {
        domain,
        region,
        controller,
        guardrails,
        tables,
        redrive,
        drift,
        signals,
        alarms,
    })
}
