//! The declarative policy: what the operator allows the controller to do, checked before trusted.
//!
//! `load` reads a TOML file, `raw` mirrors it, `validate` turns it into the typed [`Policy`]
//! below, reporting every problem with file, line, column and field path.

pub mod bounds;
mod domain;
pub mod names;
pub mod raw;
mod validate;

pub use domain::Domain;

use crate::domain::redrive::Settings;
use crate::domain::resource::Dimension;
use crate::source::{Problems, Source};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Shipped policies, embedded so `simulate` and `check` work on a fresh clone without paths.
pub const LOCAL_POLICY: (&str, &str) = (
    "policies/local.toml",
    include_str!("../../policies/local.toml"),
);
pub const PRODUCTION_POLICY: (&str, &str) = (
    "policies/production.toml",
    include_str!("../../policies/production.toml"),
);

/// Whether the controller changes the world or only says what it would do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    Enforce,
    DryRun,
}

impl Mode {
    /// As the policy writes it: `enforce`, `dry-run`.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Mode::Enforce => "enforce",
            Mode::DryRun => "dry-run",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Policy {
    pub domain: Domain,
    pub region: Option<String>,
    pub controller: Controller,
    pub guardrails: Guardrails,
    /// Sorted by table name, so plans and journals are deterministic.
    pub tables: Vec<TableRule>,
    pub redrive: Redrive,
    pub drift: Drift,
    pub signals: Signals,
    pub alarms: Alarms,
}

#[derive(Debug, Clone, Serialize)]
pub struct Controller {
    #[serde(serialize_with = "crate::serde_secs::human::serialize")]
    pub interval: Duration,
    pub mode: Mode,
    /// Evidence older than this is not acted on (CloudWatch is 1–3 minutes late in normal times).
    #[serde(serialize_with = "crate::serde_secs::human::serialize")]
    pub stale_after: Duration,
    /// CloudWatch period of every metric read; DynamoDB publishes 1-minute data.
    #[serde(serialize_with = "crate::serde_secs::human::serialize")]
    pub metric_period: Duration,
    /// A local state file: one process only. Without it the state lives in `state_table`.
    pub state_file: Option<PathBuf>,
    /// The DynamoDB state table replicas share; `None` means `remediator.<domain>`.
    pub state_table: Option<String>,
    /// How long the leader lease lasts without renewal (renewed every tick): a leader that
    /// dies is replaced within this time.
    #[serde(serialize_with = "crate::serde_secs::human::serialize")]
    pub lease: Duration,
    /// The CloudWatch namespace of the controller's own metrics (EMF lines on stdout).
    pub metrics_namespace: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Guardrails {
    pub max_actions_per_hour: u32,
    /// Spend cap for capacity above the policy floors, in USD per hour.
    pub max_extra_cost_usd_per_hour: f64,
    /// One escalation per resource and cause within this interval.
    #[serde(serialize_with = "crate::serde_secs::human::serialize")]
    pub escalation_interval: Duration,
    pub prices: Prices,
}

/// Provisioned capacity prices. Defaults: AWS us-east-1 list prices for DynamoDB standard tables
/// (USD 0.00065 per WCU-hour, 0.00013 per RCU-hour).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Prices {
    pub wcu_usd_per_hour: f64,
    pub rcu_usd_per_hour: f64,
}

impl Prices {
    #[must_use]
    pub fn per_unit_hour(&self, dimension: Dimension) -> f64 {
        match dimension {
            Dimension::Read => self.rcu_usd_per_hour,
            Dimension::Write => self.wcu_usd_per_hour,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct TableRule {
    /// Short name as in the policy (`tileindex`).
    pub short_name: String,
    /// Full DynamoDB name derived from the domain (`tileindex.production.boss`).
    pub table_name: String,
    pub include_gsis: bool,
    pub read: Limits,
    pub write: Limits,
    pub raise: Raise,
    /// Throttling while (consumed + throttled) / provisioned stays below this is a hot partition.
    pub hot_partition_below: f64,
    pub lower: Option<Lower>,
    /// Read the ingest jobs' queues to raise this table before it throttles (TileIndex).
    pub feed_forward: Option<FeedForward>,
}

impl TableRule {
    #[must_use]
    pub fn limits(&self, dimension: Dimension) -> Limits {
        match dimension {
            Dimension::Read => self.read,
            Dimension::Write => self.write,
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct Limits {
    pub floor: u32,
    pub ceiling: u32,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct Raise {
    /// Raise when a minute shows at least this many throttle events.
    pub throttle_events_per_minute: Option<f64>,
    /// Raise when consumed / provisioned reaches this (burst credit lets it pass 1.0).
    pub utilisation: Option<f64>,
    /// Capacity is sized to estimated demand × headroom (the policy's `headroom`, or `factor`
    /// as older policies call it).
    pub headroom: f64,
    /// A raise adds at least this many units.
    pub min_step: u32,
    #[serde(serialize_with = "crate::serde_secs::human::serialize")]
    pub cooldown: Duration,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct Lower {
    pub utilisation_below: f64,
    #[serde(serialize_with = "crate::serde_secs::human::serialize")]
    pub quiet_for: Duration,
    pub target_utilisation: f64,
    /// Free decreases of the UTC day (AWS allows 4, then one an hour) kept back from routine
    /// lowering for a cut that saves more than half the capacity.
    pub reserve_decreases: u32,
    /// Whether lowering may go below the capacity the table had when the UTC day began (or when
    /// the controller first saw it that day): a table kept warm starts the next burst warm.
    pub below_start_of_day: bool,
}

/// Feed-forward: every TileIndex write comes from a tile that went through an ingest job's
/// upload queue, so the queues' live counts show demand minutes before CloudWatch does.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct FeedForward {
    /// Write units per tile on the table before any is learned (tileUploadLambda writes one
    /// small item per tile: 1 WCU); learned from history per resource and dimension after.
    pub units_per_tile: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Redrive {
    pub enabled: bool,
    /// Full name of the function re-drives invoke (`tileIngestLambda-<domain with dashes>`).
    pub function: String,
    pub rate_per_s: f64,
    pub max_rate_per_s: f64,
    pub max_in_flight: u32,
    #[serde(serialize_with = "crate::serde_secs::human::serialize")]
    pub stranded_after: Duration,
    #[serde(serialize_with = "crate::serde_secs::human::serialize")]
    pub no_progress_after: Duration,
    /// How long an invocation not yet seen taking a message counts against the budget.
    #[serde(serialize_with = "crate::serde_secs::human::serialize")]
    pub settle: Duration,
}

// Here rather than with `Settings`: the domain values know nothing of the policy.
impl Settings {
    /// The policy's limits with the given rate (already checked against the maximum by the
    /// guard).
    #[must_use]
    pub fn from_policy(policy: &Policy, rate_per_s: f64, max: Option<u64>) -> Self {
        Self {
            rate_per_s,
            max_in_flight: policy.redrive.max_in_flight,
            max,
            no_progress_after: policy.redrive.no_progress_after,
            poll_every: Duration::from_secs(1),
            settle: policy.redrive.settle,
        }
    }
}

/// The runbook's "Too much activity": when watched Lambda durations stop being steady, ask the
/// performers to pause, and tell them when to resume.
#[derive(Debug, Clone, Serialize)]
pub struct Drift {
    pub enabled: bool,
    /// Full function names derived from the domain, sorted.
    pub functions: Vec<String>,
    /// Drift: duration above baseline × `ratio` for `sustained_for`.
    pub ratio: f64,
    /// Steady again: duration at or below baseline × `exit_ratio` for `sustained_for`.
    pub exit_ratio: f64,
    #[serde(serialize_with = "crate::serde_secs::human::serialize")]
    pub sustained_for: Duration,
    #[serde(serialize_with = "crate::serde_secs::human::serialize")]
    pub min_pause: Duration,
    #[serde(serialize_with = "crate::serde_secs::human::serialize")]
    pub renotify_every: Duration,
    #[serde(serialize_with = "crate::serde_secs::human::serialize")]
    pub alarm_after: Duration,
    /// Fixed baselines by full function name; a function without one learns its own.
    pub baselines: std::collections::BTreeMap<String, Duration>,
    /// Steady minutes a learned baseline needs before drift is judged against it.
    #[serde(serialize_with = "crate::serde_secs::human::serialize")]
    pub learn_for: Duration,
    /// The runbook's capacity rule: invocations/s × average duration at or above this share of
    /// the concurrency available counts as trouble.
    pub concurrency_share: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Signals {
    pub sns_topic_arn: Option<String>,
    pub webhook: Option<Webhook>,
    pub flow_control: Option<FlowControl>,
}

impl Signals {
    /// The message channels switched on, in a fixed order.
    #[must_use]
    pub fn channels(&self) -> Vec<crate::domain::notice::Channel> {
        let mut out = Vec::new();
        if self.sns_topic_arn.is_some() {
            out.push(crate::domain::notice::Channel::Sns);
        }
        if self.webhook.is_some() {
            out.push(crate::domain::notice::Channel::Webhook);
        }
        out
    }
}

/// The chat webhook channel, switched on. Its URL is a secret, read at start
/// ([`crate::webhook::resolve`]): `REMEDIATOR_WEBHOOK_URL` when set, else what the policy names.
#[derive(Debug, Clone, Serialize)]
pub struct Webhook {
    /// What the policy says about the URL; `None` when it must come from the environment.
    pub url: Option<WebhookUrlIn>,
    #[serde(serialize_with = "crate::serde_secs::human::serialize")]
    pub timeout: Duration,
}

/// Where the policy says the webhook URL is.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WebhookUrlIn {
    /// `url_file`: a file holding the URL on one line (relative to the working directory).
    File(PathBuf),
    /// `url`: a URL without anything that looks like a secret (an internal relay, say).
    Policy(crate::webhook::WebhookUrl),
}

/// Backend flow control while performers are asked to pause (`shared/boss.md`, "Pausing
/// performers", lever 2). Reverted on resume.
#[derive(Debug, Clone, Serialize)]
pub struct FlowControl {
    pub lever: FlowLever,
    /// Full function name: the mapping's target, or the function given reserved concurrency.
    pub function: String,
    pub max_concurrency: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FlowLever {
    /// Cap MaximumConcurrency of the tile-index queue → tileUploadLambda mappings.
    EventSourceMapping,
    /// Set reserved concurrency on one function.
    ReservedConcurrency,
}

/// The runbook's other alarms: notify with evidence and advice, never act.
#[derive(Debug, Clone, Serialize)]
pub struct Alarms {
    pub enabled: bool,
    /// A queue rising at every reading for this long counts as growing.
    #[serde(serialize_with = "crate::serde_secs::human::serialize")]
    pub growing_for: Duration,
    /// ElastiCache cluster ids whose Redis engine CPU is watched.
    pub redis_clusters: Vec<String>,
    /// EngineCPUUtilization (percent of Redis's one thread) counted as the ceiling.
    pub redis_cpu_ceiling: f64,
}

impl Policy {
    /// Parses and validates policy text; `path` only names the file in problems.
    ///
    /// # Errors
    /// Text over `source::MAX_INPUT_BYTES`, or every syntax, unknown-key, type and semantic
    /// problem found.
    pub fn parse(path: &Path, text: &str) -> Result<Self, Problems> {
        crate::source::check_size(path, text)?;
        let source = Source::new(path, text);
        validate::parse(&source)
    }

    /// Reads and validates a policy file.
    ///
    /// # Errors
    /// The file cannot be read, or has problems.
    pub fn load(path: &Path) -> Result<Self, Problems> {
        let text = crate::source::read(path)?;
        Self::parse(path, &text)
    }

    /// The policy shipped for the emulator and simulator.
    ///
    /// # Panics
    /// Never in a released build: a test proves the embedded file is valid.
    #[must_use]
    #[allow(clippy::expect_used)]
    pub fn local() -> Self {
        Self::parse(Path::new(LOCAL_POLICY.0), LOCAL_POLICY.1)
            .expect("shipped local policy is valid")
    }

    #[must_use]
    pub fn table_rule(&self, table_name: &str) -> Option<&TableRule> {
        self.tables.iter().find(|t| t.table_name == table_name)
    }
}

impl Policy {
    /// What is valid but probably not meant: said by `check` and at the start of `run`.
    #[must_use]
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.drift.enabled && self.signals.channels().is_empty() {
            out.push(
                "[drift] is on but no signal channel is: a pause would ask nobody to pause (it is \
                 only logged and journalled). Set [signals.sns] topic_arn (enabled = true) or \
                 [signals.webhook], or switch [drift] off"
                    .to_string(),
            );
        }
        out
    }

    /// The DynamoDB state table: the policy's `controller.state_table`, else
    /// `remediator.<domain>`.
    #[must_use]
    pub fn state_table(&self) -> String {
        self.controller
            .state_table
            .clone()
            .unwrap_or_else(|| format!("remediator.{}", self.domain))
    }
}
