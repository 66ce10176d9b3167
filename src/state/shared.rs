//! What replicas and operators share through the state store besides the memory: the leader
//! lease, the kill switch, operator notes on a pause, and claims on queues being re-driven.
//! Each is its own small item, written conditionally, so no writer overwrites another's.

pub use crate::domain::redrive::Claim;
pub use crate::halt::{Halt, HaltMode};
use crate::memory::Memory;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::Duration;

/// Everything read from the store at the start of a tick (or by a command).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Shared {
    pub memory: Memory,
    /// Bumped by every write of the memory; a write names the version it read.
    pub version: u64,
    pub lease: Option<Lease>,
    pub halt: Option<Halt>,
    /// Operators' notes on the pause the memory records (none when it records none).
    pub notes: Vec<Note>,
    /// Queues being re-driven, by whom and how fast (lapsed claims included).
    pub claims: Vec<Claim>,
}

/// The leader lease: only its holder acts. The epoch grows by one with every change of holder,
/// so a write fenced on an old epoch fails even if its holder comes back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    pub owner: String,
    pub epoch: u64,
    pub expires: Timestamp,
}

impl Lease {
    #[must_use]
    pub fn live_at(&self, now: Timestamp) -> bool {
        self.expires > now
    }
}

impl fmt::Display for Lease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (epoch {}, until {})",
            self.owner, self.epoch, self.expires
        )
    }
}

/// A replica asking for the lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bid {
    pub owner: String,
    /// The epoch it holds now, to renew; `None` to take a free or expired lease.
    pub epoch: Option<u64>,
    pub now: Timestamp,
    pub hold_for: Duration,
}

/// What a bid got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeaseOutcome {
    /// This replica holds the lease until its expiry.
    Held(Lease),
    /// Another replica holds it.
    Follower(Lease),
}

/// A write made only while `owner` still holds the lease at `epoch` at `now`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fence {
    pub owner: String,
    pub epoch: u64,
    pub now: Timestamp,
}

impl Fence {
    #[must_use]
    pub fn of(lease: &Lease, now: Timestamp) -> Self {
        Self {
            owner: lease.owner.clone(),
            epoch: lease.epoch,
            now,
        }
    }

    /// Whether `lease` (as stored) still lets this fence write.
    #[must_use]
    pub fn admits(&self, lease: Option<&Lease>) -> bool {
        lease.is_some_and(|l| l.owner == self.owner && l.epoch == self.epoch && l.live_at(self.now))
    }
}

/// An operator's word on the pause that began at `episode` (`remediator pause ack|end`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    pub episode: Timestamp,
    pub kind: NoteKind,
    pub by: String,
    pub at: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NoteKind {
    Acknowledge,
    End,
}

/// Notes are kept this long, then forgotten (a pause longer than this is reminded of anyway).
pub const NOTE_KEEP: Duration = Duration::from_secs(86_400);
