//! The controller's own metrics, as CloudWatch Embedded Metric Format (EMF) lines on stdout:
//! one JSON object per line that CloudWatch Logs turns into metrics when the line reaches a log
//! group (the awslogs driver, the CloudWatch agent, a Lambda extension), with no API call of
//! its own and nothing lost when CloudWatch is unreachable. The human log stays on stderr.
//!
//! Per tick: one line of the tick's figures (dimension `Domain`), then one line per action kind
//! and one per hold reason seen (dimensions `Domain` + `Kind`, `Domain` + `Reason`). The names
//! are a contract with `deploy/remediator.yaml`'s alarms and dashboard.

use crate::act::Outcome;
use crate::domain::hold::Held;
use crate::reconcile::TickReport;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::io::Write;

/// What one tick did, counted.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TickFigures {
    /// Milliseconds since the epoch: the tick's time, the metrics' timestamp.
    pub at_ms: u64,
    pub duration_ms: f64,
    pub applied: u64,
    pub failed: u64,
    pub held: u64,
    pub unobserved: u64,
    /// Everything that went wrong: unobserved subjects, failed calls, failed deliveries, a
    /// state or journal write that failed.
    pub errors: u64,
    pub lease_held: bool,
    pub halted: bool,
    pub paused: bool,
    pub redrives_running: u64,
    /// Invocations the running (and just ended) re-drives made since the last tick.
    pub redrive_invocations: u64,
    pub actions_by_kind: BTreeMap<String, u64>,
    pub holds_by_reason: BTreeMap<String, u64>,
}

impl TickFigures {
    /// Counts the tick's report; the standing, pause and re-drive figures are the caller's.
    #[must_use]
    pub fn of(report: &TickReport) -> Self {
        let mut f = Self {
            at_ms: report.at.0.saturating_mul(1000),
            held: report.held.len() as u64,
            unobserved: report.observed.unobserved.len() as u64,
            ..Self::default()
        };
        for done in &report.actions {
            *f.actions_by_kind
                .entry(done.action.kind().to_string())
                .or_default() += 1;
            match &done.outcome {
                Outcome::Applied { .. } | Outcome::Recorded | Outcome::Reported => f.applied += 1,
                Outcome::Sent { deliveries } => {
                    f.applied += 1;
                    f.errors += deliveries.iter().filter(|d| d.error.is_some()).count() as u64;
                }
                Outcome::Failed { .. } => f.failed += 1,
                Outcome::WouldApply => {}
            }
        }
        f.holds_by_reason = holds_by_reason(&report.held);
        f.errors += f.unobserved + f.failed;
        f
    }

    /// The EMF objects of this tick, under `namespace`, for the stack `domain`.
    #[must_use]
    pub fn emf(&self, namespace: &str, domain: &str) -> Vec<Value> {
        let flag = |b: bool| if b { 1.0 } else { 0.0 };
        #[allow(clippy::cast_precision_loss)]
        let count = |n: u64| n as f64;
        let implausible = self
            .holds_by_reason
            .get("implausible")
            .copied()
            .unwrap_or(0);
        let tick = [
            ("Ticks", "Count", 1.0),
            ("TickDuration", "Milliseconds", self.duration_ms),
            ("ActionsApplied", "Count", count(self.applied)),
            ("ActionsFailed", "Count", count(self.failed)),
            ("Held", "Count", count(self.held)),
            ("Implausible", "Count", count(implausible)),
            ("Unobserved", "Count", count(self.unobserved)),
            ("Errors", "Count", count(self.errors)),
            ("LeaseHeld", "None", flag(self.lease_held)),
            ("Halted", "None", flag(self.halted)),
            ("Paused", "None", flag(self.paused)),
            ("RedrivesRunning", "Count", count(self.redrives_running)),
            (
                "RedriveInvocations",
                "Count",
                count(self.redrive_invocations),
            ),
        ];
        let mut lines = vec![self.line(namespace, domain, None, &tick)];
        for (kind, n) in &self.actions_by_kind {
            let metric = [("Actions", "Count", count(*n))];
            lines.push(self.line(namespace, domain, Some(("Kind", kind)), &metric));
        }
        for (reason, n) in &self.holds_by_reason {
            let metric = [("Holds", "Count", count(*n))];
            lines.push(self.line(namespace, domain, Some(("Reason", reason)), &metric));
        }
        lines
    }

    /// One EMF object: the `_aws` metadata naming the metrics and their dimension set, and each
    /// dimension and metric as a top-level member (the specification's target members).
    fn line(
        &self,
        namespace: &str,
        domain: &str,
        extra: Option<(&str, &str)>,
        metrics: &[(&str, &str, f64)],
    ) -> Value {
        let mut dimensions = vec!["Domain"];
        let mut root = Map::new();
        root.insert("Domain".into(), json!(domain));
        if let Some((name, value)) = extra {
            dimensions.push(name);
            root.insert(name.into(), json!(value));
        }
        let definitions: Vec<Value> = metrics
            .iter()
            .map(|(name, unit, _)| json!({ "Name": name, "Unit": unit }))
            .collect();
        for (name, _, value) in metrics {
            root.insert((*name).into(), json!(value));
        }
        root.insert(
            "_aws".into(),
            json!({
                "Timestamp": self.at_ms,
                "CloudWatchMetrics": [{
                    "Namespace": namespace,
                    "Dimensions": [dimensions],
                    "Metrics": definitions,
                }],
            }),
        );
        Value::Object(root)
    }
}

/// How many holds there were of each reason, by the reason's name.
pub(super) fn holds_by_reason(held: &[Held]) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for h in held {
        *out.entry(h.reason.name()).or_default() += 1;
    }
    out
}

/// Writes the lines to stdout, one JSON object each; a closed stdout is logged once per tick,
/// never fatal (the metrics are a view, the journal is the record).
pub fn print(lines: &[Value]) {
    let mut out = std::io::stdout().lock();
    for line in lines {
        if let Err(e) = writeln!(out, "{line}") {
            tracing::warn!("cannot write the controller's metrics to stdout: {e}");
            return;
        }
    }
    let _ = out.flush();
}
