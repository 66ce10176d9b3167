//! What the controller remembers between ticks (and, through the state port, between runs):
//! the changes it made, the escalations it sent, so guardrails can count and cool down.

use crate::domain::action::{Action, EscalationCause};
use crate::domain::notice::{Channel, NoticeRecord};
use crate::domain::observed::Observed;
use crate::domain::pause::{Episode, FlowLimit, PauseMemory, ResumeCause};
use crate::domain::redrive::Claim;
use crate::domain::resource::{CapacityKey, Resource, TableStatus};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::time::Duration;

pub mod capacity;
mod intent;
pub mod validate;

pub use capacity::CapacityMemory;
pub use intent::Intent;

const DAY: Duration = Duration::from_secs(86_400);
const HOUR: Duration = Duration::from_secs(3_600);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Direction {
    Raise,
    Lower,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeRecord {
    pub key: CapacityKey,
    pub at: Timestamp,
    pub from: u32,
    pub to: u32,
    pub direction: Direction,
    /// When the controller first saw the table ACTIVE again after this change: metric minutes
    /// from then on show the new capacity. `None` while the update is still in progress.
    #[serde(default)]
    pub settled_at: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EscalationRecord {
    pub resource: Resource,
    pub cause: EscalationCause,
    pub at: Timestamp,
}

/// A change AWS refused for a reason retrying will not fix (access denied, validation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefusalRecord {
    pub key: CapacityKey,
    pub at: Timestamp,
    pub error: String,
}

/// A re-drive started by this controller or an operator, and how it ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RedriveRecord {
    pub queue: String,
    pub at: Timestamp,
    pub manual: bool,
    /// Invocations per second, so the guard can bound all running re-drives together.
    #[serde(default)]
    pub rate_per_s: f64,
    /// `None` while it runs.
    #[serde(default)]
    pub end: Option<RedriveEnd>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedriveEnd {
    pub at: Timestamp,
    /// `drained`, `no-progress`, ... (see `redrive::End::label`).
    pub label: String,
    /// The end in words, for hold reasons.
    pub describe: String,
    /// It stopped for want of progress or on an error: a person must look.
    pub gave_up: bool,
}

impl RedriveEnd {
    #[must_use]
    pub fn new(at: Timestamp, end: &crate::domain::redrive::End) -> Self {
        Self {
            at,
            label: end.label().to_string(),
            describe: end.to_string(),
            gave_up: end.needs_person(),
        }
    }
}

/// Since when an ingest queue's visible count has not fallen, with its uploads finished.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueWatch {
    pub queue: String,
    /// The visible count at the last reading.
    pub visible: u64,
    pub since: Timestamp,
    /// Kept through a tick whose reading failed: what happened meanwhile is unknown, so the
    /// clock restarts at the next reading rather than counting the gap as "not fallen".
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unread: bool,
}

/// The controller's memory. Kept small: entries older than a day are pruned.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Memory {
    pub changes: Vec<ChangeRecord>,
    pub escalations: Vec<EscalationRecord>,
    #[serde(default)]
    pub refusals: Vec<RefusalRecord>,
    #[serde(default)]
    pub redrives: Vec<RedriveRecord>,
    #[serde(default)]
    pub queue_watch: Vec<QueueWatch>,
    /// The performer pause, learned baselines, flow limits to undo, and notices sent.
    #[serde(default)]
    pub pause: PauseMemory,
    /// Actions written before acting and not yet followed by their outcome: a process that
    /// stopped mid-act left them; the next tick resolves them against the world.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub intents: Vec<Intent>,
    /// Job upload rates, units per tile and start-of-day capacities (the capacity rule's).
    #[serde(default)]
    pub capacity: CapacityMemory,
    /// Queues being re-driven by any claimant (an operator's `redrive`, this or another
    /// replica), read from the state store every tick and never saved: the guard bounds their
    /// rates together with this controller's own re-drives.
    #[serde(skip)]
    pub claims: Vec<Claim>,
}

impl Memory {
    /// The latest change to one capacity dimension.
    #[must_use]
    pub fn last_change(&self, key: &CapacityKey) -> Option<&ChangeRecord> {
        self.changes.iter().rev().find(|c| &c.key == key)
    }

    /// Mutating actions within the hour before `at`: the changes of one table made at one time
    /// went as one UpdateTable, so they count once.
    #[must_use]
    pub fn actions_in_last_hour(&self, at: Timestamp) -> u32 {
        let mut updates: Vec<(&str, Timestamp)> = self
            .changes
            .iter()
            .filter(|c| at.since(c.at) < HOUR && c.at <= at)
            .map(|c| (c.key.resource.table.as_str(), c.at))
            .collect();
        updates.sort_unstable();
        updates.dedup();
        let n = updates.len();
        u32::try_from(n).unwrap_or(u32::MAX)
    }

    /// Decreases of this dimension since the start of the UTC day of `at`, and the latest one.
    #[must_use]
    pub fn decreases_today(&self, key: &CapacityKey, at: Timestamp) -> (u32, Option<Timestamp>) {
        let day_start = Timestamp(at.0 - at.0 % DAY.as_secs());
        let lowers: Vec<_> = self
            .changes
            .iter()
            .filter(|c| &c.key == key && c.direction == Direction::Lower && c.at >= day_start)
            .collect();
        (
            u32::try_from(lowers.len()).unwrap_or(u32::MAX),
            lowers.last().map(|c| c.at),
        )
    }

    #[must_use]
    pub fn last_escalation(
        &self,
        resource: &Resource,
        cause: EscalationCause,
    ) -> Option<Timestamp> {
        self.escalations
            .iter()
            .rev()
            .find(|e| &e.resource == resource && e.cause == cause)
            .map(|e| e.at)
    }

    /// The latest refusal of a change to this dimension.
    #[must_use]
    pub fn last_refusal(&self, key: &CapacityKey) -> Option<&RefusalRecord> {
        self.refusals.iter().rev().find(|r| &r.key == key)
    }

    /// Records that AWS refused a change for a permanent reason.
    pub fn record_refusal(&mut self, action: &Action, at: Timestamp, error: &str) {
        if let Action::RaiseCapacity(c) | Action::LowerCapacity(c) = action {
            self.refusals.push(RefusalRecord {
                key: c.key.clone(),
                at,
                error: error.to_string(),
            });
        }
    }

    /// The latest re-drive of a queue.
    #[must_use]
    pub fn last_redrive(&self, queue: &str) -> Option<&RedriveRecord> {
        self.redrives.iter().rev().find(|r| r.queue == queue)
    }

    /// Re-drives remembered as running.
    pub fn running_redrives(&self) -> impl Iterator<Item = &RedriveRecord> {
        self.redrives.iter().filter(|r| r.end.is_none())
    }

    /// Records how a re-drive ended.
    pub fn record_redrive_end(
        &mut self,
        queue: &str,
        at: Timestamp,
        end: &crate::domain::redrive::End,
    ) {
        if let Some(record) = self
            .redrives
            .iter_mut()
            .rev()
            .find(|r| r.queue == queue && r.end.is_none())
        {
            record.end = Some(RedriveEnd::new(at, end));
        }
    }

    /// Re-drives remembered as running belonged to a process that has stopped: they are marked
    /// interrupted when a new controller starts.
    pub fn interrupt_orphaned_redrives(&mut self, at: Timestamp) {
        for record in self.redrives.iter_mut().filter(|r| r.end.is_none()) {
            record.end = Some(RedriveEnd::new(
                at,
                &crate::domain::redrive::End::Interrupted,
            ));
        }
    }

    /// The watch of one ingest queue: since when its visible count has not fallen.
    #[must_use]
    pub fn queue_watch(&self, queue: &str) -> Option<&QueueWatch> {
        self.queue_watch.iter().find(|w| w.queue == queue)
    }

    /// Updates the watches from this tick's ingest jobs. The clock restarts whenever the visible
    /// count falls from one reading to the next, the queue is empty, or the job's upload or
    /// tile-index queue still holds messages (the pipeline is still feeding it). A queue that
    /// could not be read this tick keeps its watch: one failed call must not restart the clock.
    pub fn watch_queues(&mut self, observed: &Observed) {
        let mut watches: Vec<QueueWatch> = Vec::new();
        for job in &observed.jobs {
            let visible = job.ingest.visible;
            let feeding = [&job.upload, &job.index]
                .iter()
                .any(|q| q.as_ref().is_some_and(|d| d.total() > 0));
            let since = match self.queue_watch(&job.ingest.name) {
                Some(w) if visible > 0 && visible >= w.visible && !feeding && !w.unread => w.since,
                _ => observed.at,
            };
            watches.push(QueueWatch {
                queue: job.ingest.name.clone(),
                visible,
                since,
                unread: false,
            });
        }
        let unread: Vec<QueueWatch> = self
            .queue_watch
            .drain(..)
            .filter(|w| {
                let listed = watches.iter().any(|n| n.queue == w.queue);
                !listed && observed.queue_unread(&w.queue)
            })
            .map(|w| QueueWatch { unread: true, ..w })
            .collect();
        watches.extend(unread);
        self.queue_watch = watches;
    }

    /// Records an action that was carried out at `at`; for a notice, the channels that took it.
    pub fn record(&mut self, action: &Action, at: Timestamp, delivered: &[Channel]) {
        match action {
            Action::RaiseCapacity(c) | Action::LowerCapacity(c) => {
                self.changes.push(ChangeRecord {
                    key: c.key.clone(),
                    at,
                    from: c.from,
                    to: c.to,
                    direction: if matches!(action, Action::RaiseCapacity(_)) {
                        Direction::Raise
                    } else {
                        Direction::Lower
                    },
                    settled_at: None,
                })
            }
            Action::Escalate(e) => self.escalations.push(EscalationRecord {
                resource: e.resource.clone(),
                cause: e.cause,
                at,
            }),
            Action::Pause(order) => {
                self.pause.episode = Some(Episode {
                    since: at,
                    trouble: order.trouble.clone(),
                    jobs: order.jobs.clone(),
                    acknowledged: None,
                    end_requested: None,
                });
                self.pause.suppressed_since = None;
            }
            Action::Resume(order) => {
                self.pause.episode = None;
                self.pause.last_episode = Some((order.since, at));
                if matches!(order.cause, ResumeCause::Operator { .. }) {
                    self.pause.suppressed_since = Some(at);
                }
            }
            Action::Notify(notice) => {
                match self.pause.notices.iter_mut().find(|n| n.key == notice.key) {
                    Some(record) => record.delivered.extend_from_slice(delivered),
                    None => self.pause.notices.push(NoticeRecord {
                        key: notice.key.clone(),
                        at,
                        delivered: delivered.to_vec(),
                    }),
                }
            }
            Action::LimitFlow(change) => {
                // A target capped twice keeps its first original: that is what to put back.
                if !self
                    .pause
                    .flow_limits
                    .iter()
                    .any(|l| l.target == change.target)
                {
                    self.pause.flow_limits.push(FlowLimit {
                        target: change.target.clone(),
                        original: change.from,
                        limited_to: change.to,
                        at,
                    });
                }
            }
            Action::RestoreFlow(change) => {
                self.pause.flow_limits.retain(|l| l.target != change.target);
            }
            Action::Redrive(r) => self.redrives.push(RedriveRecord {
                queue: r.target.queue.clone(),
                at,
                manual: r.origin == crate::domain::redrive::RedriveOrigin::Manual,
                rate_per_s: r.settings.rate_per_s,
                end: None,
            }),
        }
    }

    /// Marks changes as settled once their table is seen ACTIVE after them.
    pub fn note_settled(&mut self, observed: &Observed) {
        for change in self
            .changes
            .iter_mut()
            .filter(|c| c.settled_at.is_none() && c.at < observed.at)
        {
            let active = observed.resources.iter().any(|r| {
                r.resource.table == change.key.resource.table && r.status == TableStatus::Active
            });
            if active {
                change.settled_at = Some(observed.at);
            }
        }
    }

    /// Forgets what no guardrail looks at any more (older than a day).
    pub fn prune(&mut self, at: Timestamp) {
        self.changes.retain(|c| at.since(c.at) < DAY);
        self.escalations.retain(|e| at.since(e.at) < DAY);
        self.refusals.retain(|r| at.since(r.at) < DAY);
        self.redrives
            .retain(|r| r.end.as_ref().is_none_or(|e| at.since(e.at) < DAY));
        // Notices of a running episode are kept however old: they deduplicate its reminders.
        let episode_key = self.pause.episode.as_ref().map(|e| episode_key(e.since));
        self.pause.notices.retain(|n| {
            at.since(n.at) < DAY || episode_key.as_ref().is_some_and(|k| n.key.starts_with(k))
        });
    }
}

/// The key prefix of every notice of the episode that began at `since`.
#[must_use]
pub fn episode_key(since: Timestamp) -> String {
    format!("pause@{since}")
}
