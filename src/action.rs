//! What the controller may do, and why it did not: the values `decide` and `admit` exchange.

use crate::model::{CapacityKey, Resource};
use crate::redrive::{Settings, Target};
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

/// Who asked for a re-drive, and on what evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "origin", rename_all = "kebab-case")]
pub enum RedriveOrigin {
    /// `remediator redrive`: an operator's command, audited like the controller's own actions.
    Manual,
    /// The stranded-queue rule: visible messages, uploads finished, and the visible count has
    /// not fallen since `not_fallen_since`.
    Stranded { not_fallen_since: Timestamp },
}

/// Invoke the ingest lambda for the visible messages of one ingest queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RedriveOrder {
    pub target: Target,
    pub settings: Settings,
    pub origin: RedriveOrigin,
    /// Messages visible when the order was made.
    pub visible: u64,
    pub in_flight: u64,
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
    Pause(crate::pause::PauseOrder),
    /// End the pause episode.
    Resume(crate::pause::ResumeOrder),
    /// Tell people, on the channels the notice is still owed on.
    Notify(crate::pause::Notice),
    /// Cap backend flow while paused.
    LimitFlow(crate::pause::FlowChange),
    /// Put back what `LimitFlow` changed.
    RestoreFlow(crate::pause::FlowChange),
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
                crate::pause::ResumeCause::Steady { evidence } => {
                    format!("pause since {} over: steady again: {evidence}", r.since)
                }
                crate::pause::ResumeCause::Operator { name } => {
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

/// Why an action was not taken.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "hold", rename_all = "kebab-case")]
pub enum HoldReason {
    Cooldown {
        until: Timestamp,
    },
    CeilingReached {
        ceiling: u32,
    },
    BudgetExhausted {
        extra_usd_per_hour: f64,
        cap_usd_per_hour: f64,
    },
    StaleData {
        age_s: u64,
        limit_s: u64,
    },
    MissingData {
        what: String,
    },
    /// The subject could not be observed this tick; the call's error, as received.
    Unobserved {
        reason: crate::model::Unread,
    },
    TableBusy {
        status: String,
    },
    ActionLimit {
        per_hour: u32,
    },
    DecreaseLimit {
        decreases_today: u32,
    },
    AlreadyEscalated {
        until: Timestamp,
    },
    /// AWS refused this change for a reason retrying will not fix; tried again after `until`.
    Refused {
        error: String,
        until: Timestamp,
    },
    /// A re-drive faster than the policy's `redrive.max_rate`, alone or with the re-drives
    /// already running (the limit bounds what all of them ask of Lambda together).
    RateAboveMaximum {
        rate_per_s: f64,
        running_per_s: f64,
        max_rate_per_s: f64,
    },
    /// One re-drive per queue at a time.
    RedriveRunning {
        since: Timestamp,
    },
    /// Another re-drive of this queue holds its claim in the state store: an operator's
    /// `remediator redrive`, or one a replica that led before started.
    RedriveClaimed {
        owner: String,
        since: Timestamp,
    },
    /// The last re-drive of this queue gave up; the queue needs a person before another.
    RedriveGaveUp {
        end: String,
        until: Timestamp,
    },
    /// Performers are asked to pause: the lambdas cannot keep up, a re-drive waits.
    PerformersPaused {
        since: Timestamp,
    },
    /// The function a re-drive would invoke is failing: more invocations would only fail too.
    FunctionFailing {
        function: String,
        errors: f64,
    },
    /// A reading no AWS service could produce: the signal is set aside, nothing is decided on it.
    Implausible {
        signal: String,
        value: f64,
        minute: Timestamp,
        bound: String,
    },
    /// Memory holds a time ahead of this host's clock (another host's clock, or this one went
    /// back): what it touches waits until the clock catches up, and says so.
    ClockSkew {
        field: String,
        recorded: Timestamp,
    },
    /// What was about to be done could not first be written to the state store, so it was not
    /// done: a controller that cannot remember must not act.
    StateUnwritable {
        error: String,
    },
    /// The kill switch is on (`remediator halt`).
    Halted {
        mode: crate::halt::HaltMode,
        by: String,
        since: Timestamp,
        reason: String,
    },
    /// The lease this replica acted under was lost before the action could be recorded: another
    /// replica leads now and decides afresh.
    LeaseLost {
        owner: String,
        epoch: u64,
    },
}

impl fmt::Display for HoldReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HoldReason::Cooldown { until } => write!(f, "cooldown until {until}"),
            HoldReason::CeilingReached { ceiling } => write!(f, "ceiling {ceiling} reached"),
            HoldReason::BudgetExhausted {
                extra_usd_per_hour,
                cap_usd_per_hour,
            } => write!(
                f,
                "budget exhausted: extra capacity already costs ${extra_usd_per_hour:.2}/h of ${cap_usd_per_hour:.2}/h"
            ),
            HoldReason::StaleData { age_s, limit_s } => {
                write!(
                    f,
                    "stale data: newest evidence is {age_s}s old (limit {limit_s}s)"
                )
            }
            HoldReason::MissingData { what } => write!(f, "missing data: {what}"),
            HoldReason::Unobserved { reason } => write!(f, "not observed: {reason}"),
            HoldReason::TableBusy { status } => write!(f, "table busy ({status})"),
            HoldReason::ActionLimit { per_hour } => {
                write!(f, "action limit of {per_hour} per hour reached")
            }
            HoldReason::DecreaseLimit { decreases_today } => write!(
                f,
                "AWS decrease limit: {decreases_today} decreases today and one within the last hour"
            ),
            HoldReason::AlreadyEscalated { until } => {
                write!(f, "already escalated; next reminder after {until}")
            }
            HoldReason::RateAboveMaximum {
                rate_per_s,
                running_per_s,
                max_rate_per_s,
            } => {
                if *running_per_s > 0.0 {
                    write!(
                        f,
                        "{rate_per_s}/s on top of the {running_per_s}/s of running re-drives is above the policy's redrive.max_rate of {max_rate_per_s}/s"
                    )
                } else {
                    write!(
                        f,
                        "{rate_per_s}/s is above the policy's redrive.max_rate of {max_rate_per_s}/s"
                    )
                }
            }
            HoldReason::RedriveRunning { since } => {
                write!(f, "a re-drive of this queue is running since {since}")
            }
            HoldReason::RedriveClaimed { owner, since } => {
                write!(f, "{owner} is re-driving this queue since {since}")
            }
            HoldReason::RedriveGaveUp { end, until } => write!(
                f,
                "the last re-drive of this queue {end}; not started again before {until} unless a person does"
            ),
            HoldReason::PerformersPaused { since } => write!(
                f,
                "performers are asked to pause since {since}; re-drives wait for the resume"
            ),
            HoldReason::FunctionFailing { function, errors } => write!(
                f,
                "{function} reported {errors:.0} error(s) recently; not re-driving into a failing lambda"
            ),
            HoldReason::Implausible {
                signal,
                value,
                minute,
                bound,
            } => write!(
                f,
                "implausible: {signal} = {} in the minute from {minute}, outside what AWS can produce ({bound}); signal set aside",
                crate::model::figure(*value)
            ),
            HoldReason::ClockSkew { field, recorded } => write!(
                f,
                "clock skew: {field} was recorded at {recorded}, ahead of this host's clock; waiting until then"
            ),
            HoldReason::StateUnwritable { error } => write!(
                f,
                "not done: the state store could not record it first ({error})"
            ),
            HoldReason::Halted {
                mode,
                by,
                since,
                reason,
            } => write!(
                f,
                "{} by {by} at {since} ({reason}): `remediator resume` lifts it",
                mode.label()
            ),
            HoldReason::LeaseLost { owner, epoch } => write!(
                f,
                "not done: lease epoch {epoch} of {owner} was lost before it could be recorded"
            ),
            HoldReason::Refused { error, until } => {
                write!(
                    f,
                    "refused by AWS ({error}); needs a person; tried again after {until}"
                )
            }
        }
    }
}

/// An action not taken (or, for missing data, not even formed) and the reason.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Held {
    pub kind: String,
    pub subject: String,
    pub reason: HoldReason,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub action: Option<Action>,
}

impl Held {
    #[must_use]
    pub fn action(action: Action, reason: HoldReason) -> Self {
        Self {
            kind: action.kind().to_string(),
            subject: action.subject(),
            reason,
            action: Some(action),
        }
    }
}
