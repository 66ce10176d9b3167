//! Why an action was not taken: the reasons the rules (for missing data) and the guardrails give,
//! and the held action they are attached to, as the journal and `plan` show them.

use super::action::Action;
use crate::time::Timestamp;
use serde::Serialize;
use std::fmt;

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
        reason: crate::domain::observed::Unread,
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
    /// Another claimant (an operator's `redrive`, or a replica that led before) holds the
    /// queue's re-drive claim in the state store.
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

impl HoldReason {
    /// The reason's kebab-case name, as the journal writes it (`"hold": "cooldown"`): the serde
    /// tag itself, so the log, the metrics and the journal cannot name a hold differently.
    #[must_use]
    pub fn name(&self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.get("hold")?.as_str().map(str::to_string))
            .unwrap_or_else(|| "unknown".into())
    }
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
                crate::domain::observed::figure(*value)
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
