//! The serde mirror of the policy file: exactly what an operator may write, nothing validated.
//!
//! Every field is optional here so that validation can report all missing and wrong fields in
//! one pass; `validate` turns this into the typed [`crate::policy::Policy`].

use crate::source::Whole;
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Default, Deserialize)]
pub struct RawPolicy {
    pub stack: Option<RawStack>,
    pub controller: Option<RawController>,
    pub guardrails: Option<RawGuardrails>,
    #[serde(default)]
    pub tables: BTreeMap<String, RawTableRule>,
    pub redrive: Option<RawRedrive>,
    pub drift: Option<RawDrift>,
    pub signals: Option<RawSignals>,
    pub alarms: Option<RawAlarms>,
}

#[derive(Debug, Default, Deserialize)]
pub struct RawStack {
    pub domain: Option<String>,
    pub region: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct RawController {
    pub interval: Option<String>,
    pub mode: Option<String>,
    pub stale_after: Option<String>,
    pub metric_period: Option<String>,
    pub state_file: Option<String>,
    pub state_table: Option<String>,
    pub lease: Option<String>,
    pub metrics_namespace: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct RawGuardrails {
    pub max_actions_per_hour: Option<Whole>,
    pub max_extra_cost_usd_per_hour: Option<f64>,
    pub escalation_interval: Option<String>,
    pub wcu_usd_per_hour: Option<f64>,
    pub rcu_usd_per_hour: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
pub struct RawTableRule {
    pub include_gsis: Option<bool>,
    pub read: Option<RawLimits>,
    pub write: Option<RawLimits>,
    pub raise: Option<RawRaise>,
    pub hot_partition: Option<RawHotPartition>,
    pub lower: Option<RawLower>,
    pub feed_forward: Option<RawFeedForward>,
}

#[derive(Debug, Default, Deserialize)]
pub struct RawFeedForward {
    pub enabled: Option<bool>,
    pub units_per_tile: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
pub struct RawLimits {
    pub floor: Option<Whole>,
    pub ceiling: Option<Whole>,
}

#[derive(Debug, Default, Deserialize)]
pub struct RawRaise {
    pub throttle_events_per_minute: Option<f64>,
    pub utilisation: Option<f64>,
    pub headroom: Option<f64>,
    /// The older name of `headroom`.
    pub factor: Option<f64>,
    pub min_step: Option<Whole>,
    pub cooldown: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct RawHotPartition {
    pub demand_utilisation_below: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
pub struct RawLower {
    pub enabled: Option<bool>,
    pub utilisation_below: Option<f64>,
    pub quiet_for: Option<String>,
    pub target_utilisation: Option<f64>,
    pub reserve_decreases: Option<Whole>,
    pub below_start_of_day: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
pub struct RawRedrive {
    pub enabled: Option<bool>,
    pub rate: Option<f64>,
    pub max_rate: Option<f64>,
    pub max_in_flight: Option<Whole>,
    pub stranded_after: Option<String>,
    pub no_progress_after: Option<String>,
    pub function: Option<String>,
    pub settle: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct RawDrift {
    pub enabled: Option<bool>,
    pub functions: Option<Vec<String>>,
    pub ratio: Option<f64>,
    pub sustained_for: Option<String>,
    pub exit_ratio: Option<f64>,
    pub min_pause: Option<String>,
    pub renotify_every: Option<String>,
    pub alarm_after: Option<String>,
    /// Fixed baselines: short function name → duration.
    pub baseline: Option<BTreeMap<String, String>>,
    pub learn_for: Option<String>,
    pub concurrency_share: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
pub struct RawSignals {
    pub sns: Option<RawSns>,
    pub webhook: Option<RawWebhook>,
    pub flow_control: Option<RawFlowControl>,
}

#[derive(Debug, Default, Deserialize)]
pub struct RawSns {
    pub enabled: Option<bool>,
    pub topic_arn: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct RawWebhook {
    pub enabled: Option<bool>,
    /// Only a URL without secrets; the secret kind comes from the environment or `url_file`.
    pub url: Option<String>,
    /// A file holding the URL on one line, read at start.
    pub url_file: Option<String>,
    pub timeout: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct RawFlowControl {
    pub enabled: Option<bool>,
    pub lever: Option<String>,
    pub function: Option<String>,
    pub max_concurrency: Option<Whole>,
}

#[derive(Debug, Default, Deserialize)]
pub struct RawAlarms {
    pub enabled: Option<bool>,
    pub growing_for: Option<String>,
    pub redis_clusters: Option<Vec<String>>,
    pub redis_cpu_ceiling: Option<f64>,
}
