//! What the controller may do, and why it did not: the values `decide` and `admit` exchange.

use crate::domain::redrive::{RedriveOrder, RedriveOrigin};
use crate::domain::resource::{CapacityKey, Resource};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::Duration;

/// The metric minute an action is based on, carried so that guards and journals can judge it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// Start of the CloudWatch period the figures come from.
    pub period_start: Timestamp,
    /// Time from the end of that period to the observation.
    #[serde(with = "crate::serde_secs")]
    pub age: Duration,
    pub provisioned: Option<u32>,
    /// Units per second.
    pub consumed: f64,
    /// Throttle events in the period.
    pub throttle_events: f64,
}

impl Evidence {
    /// consumed / provisioned, or `None` for on-demand.
    #[must_use]
    pub fn utilisation(&self) -> Option<f64> {
        self.provisioned
            .map(|p| self.consumed / f64::from(p.max(1)))
    }
}

impl fmt::Display for Evidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "consumed {:.1}/s", self.consumed)?;
        if let (Some(p), Some(u)) = (self.provisioned, self.utilisation()) {
            write!(f, " of {p} provisioned ({:.0}%)", u * 100.0)?;
        }
        write!(
            f,
            ", {:.0} throttle events in the minute from {} (data {}s old)",
            self.throttle_events,
            self.period_start,
            self.age.as_secs()
        )
    }
}

/// Why capacity should change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ChangeCause {
    Throttling,
    HighUtilisation,
    BelowFloor,
    LowUtilisation,
    /// The ingest jobs' queues show more tiles coming than the capacity will take.
    FeedForward,
    /// A GSI's writes follow its table's: every indexed item written to the table writes it.
    FollowsTable,
    /// The ingest jobs writing this table are over (their queues are empty or gone).
    JobsOver,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CapacityChange {
    pub key: CapacityKey,
    pub from: u32,
    pub to: u32,
    pub cause: ChangeCause,
    pub evidence: Evidence,
    /// Estimated demand the new capacity is sized from, units/s (`to` = demand × headroom).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub demand: Option<f64>,
    /// For a feed-forward change: what the ingest queues showed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forecast: Option<Forecast>,
}

/// Demand read ahead from the ingest jobs' upload queues.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Forecast {
    /// Jobs whose upload queues fell.
    pub jobs: usize,
    /// Tiles per second taken from the upload queues over the latest reading.
    pub tiles_per_s: f64,
    /// How fast that rate grows, tiles/s per second (0 when steady or falling).
    pub rising_per_s2: f64,
    /// Units one tile costs this dimension (learned, or the policy's prior).
    pub units_per_tile: f64,
    /// Minutes of history `units_per_tile` was learned from (0: the policy's prior).
    pub learned_minutes: u32,
    /// Units/s expected when the change can take effect.
    pub expected_per_s: f64,
}

impl fmt::Display for Forecast {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "from the ingest queues: {} job(s) uploading {:.0} tiles/s",
            self.jobs, self.tiles_per_s
        )?;
        if self.rising_per_s2 > 0.0 {
            write!(f, " (rising {:.1}/s each second)", self.rising_per_s2)?;
        }
        let learned = if self.learned_minutes == 0 {
            "the policy's prior".to_string()
        } else {
            format!("learned over {} min", self.learned_minutes)
        };
        write!(
            f,
            " × {:.2} units/tile ({learned}) → {:.0}/s expected",
            self.units_per_tile, self.expected_per_s
        )
    }
}

/// Why a person must look: more capacity would not help, or the controller cannot act.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EscalationCause {
    /// Provisioned table throttling while demand is well under its capacity: one key is hot.
    HotPartition,
    /// An on-demand table throttles only on a hot key or a sudden doubling of peak traffic.
    OnDemandThrottling,
    /// Still throttling at the policy ceiling, or demand × headroom is above it.
    CeilingReached,
    /// The spend cap held or trimmed a raise that demand needs.
    SpendCapReached,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Escalation {
    pub resource: Resource,
    pub cause: EscalationCause,
    pub evidence: Evidence,
    pub advice: String,
}

/// Something the controller proposes to do. Later rules add their variants here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Action {
    RaiseCapacity(CapacityChange),
    LowerCapacity(CapacityChange),
    Escalate(Escalation),
    Redrive(RedriveOrder),
    /// Ask the performers to pause (the episode starts; notices and flow control follow).
    Pause(crate::domain::pause::PauseOrder),
    /// End the pause episode.
    Resume(crate::domain::pause::ResumeOrder),
    /// Tell people, on the channels the notice is still owed on.
    Notify(crate::domain::notice::Notice),
    /// Cap backend flow while paused.
    LimitFlow(crate::domain::pause::FlowChange),
    /// Put back what `LimitFlow` changed.
    RestoreFlow(crate::domain::pause::FlowChange),
}

impl Action {
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Action::RaiseCapacity(_) => "raise-capacity",
            Action::LowerCapacity(_) => "lower-capacity",
            Action::Escalate(_) => "escalate",
            Action::Redrive(_) => "redrive",
            Action::Pause(_) => "pause",
            Action::Resume(_) => "resume",
            Action::Notify(_) => "notify",
            Action::LimitFlow(_) => "limit-flow",
            Action::RestoreFlow(_) => "restore-flow",
        }
    }

    /// The resource acted on, as the journal and `plan` name it.
    #[must_use]
    pub fn subject(&self) -> String {
        match self {
            Action::RaiseCapacity(c) | Action::LowerCapacity(c) => c.key.to_string(),
            Action::Escalate(e) => e.resource.to_string(),
            Action::Redrive(r) => r.target.queue.clone(),
            Action::Pause(_) | Action::Resume(_) => "performers".to_string(),
            Action::Notify(n) => n.about.clone(),
            Action::LimitFlow(f) | Action::RestoreFlow(f) => f.target.to_string(),
        }
    }

    /// The CloudWatch evidence of a capacity action; `None` for a re-drive, whose queue counts
    /// are read live.
    #[must_use]
    pub fn evidence(&self) -> Option<&Evidence> {
        match self {
            Action::RaiseCapacity(c) | Action::LowerCapacity(c) => Some(&c.evidence),
            Action::Escalate(e) => Some(&e.evidence),
            _ => None,
        }
    }

    /// Whether acting changes AWS resources (and so counts against the hourly action budget).
    #[must_use]
    pub fn is_mutating(&self) -> bool {
        matches!(
            self,
            Action::RaiseCapacity(_)
                | Action::LowerCapacity(_)
                | Action::Redrive(_)
                | Action::LimitFlow(_)
                | Action::RestoreFlow(_)
        )
    }

    /// One sentence: what and why.
    #[must_use]
    pub fn reason(&self) -> String {
        match self {
            Action::RaiseCapacity(c) | Action::LowerCapacity(c) => {
                let why = match c.cause {
                    ChangeCause::Throttling => "throttling",
                    ChangeCause::HighUtilisation => "utilisation high",
                    ChangeCause::BelowFloor => "below the policy floor",
                    ChangeCause::LowUtilisation => "utilisation low for the quiet period",
                    ChangeCause::FeedForward => "more tiles coming than it will take",
                    ChangeCause::FollowsTable => "follows its table's writes",
                    ChangeCause::JobsOver => "the ingest jobs writing it are over",
                };
                let demand = c
                    .demand
                    .map(|d| format!(" (demand about {d:.0}/s)"))
                    .unwrap_or_default();
                let forecast = c.forecast.map(|f| format!("; {f}")).unwrap_or_default();
                format!(
                    "{} → {}: {why}{demand}; {}{forecast}",
                    c.from, c.to, c.evidence
                )
            }
            Action::Escalate(e) => format!("{:?}: {}; {}", e.cause, e.evidence, e.advice),
            Action::Redrive(r) => {
                let why = match &r.origin {
                    RedriveOrigin::Manual => "asked for by an operator".to_string(),
                    RedriveOrigin::Stranded { not_fallen_since } => format!(
                        "stranded: uploads finished and the visible count has not fallen since {not_fallen_since}"
                    ),
                };
                let max = r
                    .settings
                    .max
                    .map(|m| format!(", at most {m}"))
                    .unwrap_or_default();
                format!(
                    "invoke {} at {}/s for {} visible message(s) of job {} ({} in flight){max}: {why}",
                    r.target.function, r.settings.rate_per_s, r.visible, r.target.job, r.in_flight
                )
            }
            Action::Pause(p) => {
                let trouble: Vec<String> = p.trouble.iter().map(ToString::to_string).collect();
                format!(
                    "ask performers to pause (jobs: {}): {}",
                    list_or_none(&p.jobs),
                    trouble.join("; ")
                )
            }
            Action::Resume(r) => match &r.cause {
                crate::domain::pause::ResumeCause::Steady { evidence } => {
                    format!("pause since {} over: steady again: {evidence}", r.since)
                }
                crate::domain::pause::ResumeCause::Operator { name } => {
                    format!("pause since {} ended by {name}", r.since)
                }
            },
            Action::Notify(n) => {
                let channels: Vec<String> = n.channels.iter().map(ToString::to_string).collect();
                format!(
                    "{} on {}: {}",
                    n.key,
                    list_or_none(&channels),
                    n.message.subject
                )
            }
            Action::LimitFlow(f) | Action::RestoreFlow(f) => f.to_string(),
        }
    }
}

fn list_or_none(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_string()
    } else {
        items.join(", ")
    }
}
