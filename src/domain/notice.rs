//! Telling people: the channels, the message, and the notice a rule owes on some of them.
//!
//! The pause and the runbook's alarms both send notices, the memory records where each went,
//! the `Signals` port delivers them; none of those owns the words, so they are kept here.

use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A channel that carries messages to people: the performers and on-call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Channel {
    /// The stack's SNS alert topic.
    Sns,
    /// A chat webhook (Slack-compatible JSON `{"text": ...}`).
    Webhook,
}

impl std::fmt::Display for Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Channel::Sns => "sns",
            Channel::Webhook => "webhook",
        })
    }
}

/// A human-readable message: a one-line subject (SNS allows 100 characters) and a body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub subject: String,
    pub body: String,
}

/// What a notice is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Topic {
    Pause,
    /// Still paused (every `renotify_every`).
    Reminder,
    /// Paused longer than `alarm_after` and nobody has acknowledged it.
    Alarm,
    Resume,
    Alert(AlertCause),
}

/// The runbook's other alarms (`shared/boss.md`, "Other failure modes worth watching").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AlertCause {
    /// A job's tile-index queue keeps growing: tileUploadLambda is failing.
    IndexQueueGrowing,
    /// A job's `-index-dlq` holds messages: tiles tileUploadLambda gave up on.
    IndexDeadLetters,
    /// An ingest queue keeps growing while the ingest lambda reports errors.
    IngestFailing,
    /// A watched function is being throttled.
    FunctionThrottled,
    /// `Deadletter<Domain>` holds messages: page-outs fail, write locks are near.
    PageOutDeadLetters,
    /// A Redis cluster's engine CPU at its ceiling.
    RedisCpu,
    /// A capacity escalation (hot partition, on-demand throttling, ceiling reached).
    Capacity,
    /// A re-drive stopped without draining its queue.
    RedriveGaveUp,
    /// A reading no AWS service could have produced: the signal is held, never acted on.
    Implausible,
    /// What was about to be done could not first be written to the state store: nothing done.
    StateUnwritable,
}

impl fmt::Display for AlertCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AlertCause::IndexQueueGrowing => "index-queue-growing",
            AlertCause::IndexDeadLetters => "index-dead-letters",
            AlertCause::IngestFailing => "ingest-failing",
            AlertCause::FunctionThrottled => "function-throttled",
            AlertCause::PageOutDeadLetters => "page-out-dead-letters",
            AlertCause::RedisCpu => "redis-cpu",
            AlertCause::Capacity => "capacity",
            AlertCause::RedriveGaveUp => "redrive-gave-up",
            AlertCause::Implausible => "implausible",
            AlertCause::StateUnwritable => "state-unwritable",
        })
    }
}

/// One message, owed on some channels. `key` names it for deduplication: a notice already
/// delivered on a channel is never sent there again; one that failed is owed until it goes out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    pub key: String,
    pub topic: Topic,
    /// What the notice is about: a function, a queue, a cluster, or `performers`.
    pub about: String,
    /// The channels it is still owed on; empty when no channel is configured (logged only).
    pub channels: Vec<Channel>,
    pub message: Message,
}

/// A notice and the channels it went out on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeRecord {
    pub key: String,
    pub at: Timestamp,
    pub delivered: Vec<Channel>,
}
