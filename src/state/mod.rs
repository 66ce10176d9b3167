//! What must outlive a process, and what replicas and operators share: the memory (cooldowns,
//! action counts, the decrease budget, escalations, baselines, queue watches, the pause and
//! what to restore, running re-drives, intents), the leader lease, the kill switch, operator
//! notes and re-drive claims.
//!
//! One trait with two homes: a DynamoDB table (`aws::DynamoState`, the production one, shared
//! by replicas and commands) and a local JSON file (`FileState`, for one process and the
//! simulator, locked against the commands that write it too). Every write is conditional:
//! the memory on the version read and, for the leader, on its lease (the fence), so a writer
//! that lost the lease or raced another cannot overwrite what it did not see.

mod file;
pub mod shared;

pub use file::FileState;
pub use shared::{Bid, Claim, Fence, Halt, HaltMode, Lease, LeaseOutcome, Note, NoteKind, Shared};

use crate::domain::port_error::PortError;
use crate::memory::Memory;
use std::future::Future;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot read state file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A damaged state file is never silently replaced: that would reset every cooldown.
    #[error(
        "state file {path} is not a remediator state file ({message}); move it aside to start with an empty memory"
    )]
    Corrupt { path: PathBuf, message: String },
    /// Remembered values no controller could have written, or times beyond the clock skew
    /// tolerated: the controller refuses to start rather than crash-loop or act on them.
    #[error(
        "{store} holds values that cannot be trusted: {}; fix or move it aside to start with an empty memory",
        problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
    )]
    Invalid {
        store: String,
        problems: Vec<crate::memory::validate::Problem>,
    },
    #[error("cannot write state file {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The state table answered with an error (or not at all).
    #[error("state table: {0}")]
    Table(PortError),
    /// The state table does not exist: `remediator init` creates it.
    #[error("state table {table} does not exist: create it with `remediator init --policy FILE`")]
    NoTable { table: String },
    /// Someone else wrote the memory since it was read (a second leader, or a command): the
    /// write was refused so nothing they wrote is lost.
    #[error("{store}: the memory changed since it was read (version {read}); not overwritten")]
    Conflict { store: String, read: u64 },
    /// The lease this write was fenced on is no longer this replica's (expired, or another
    /// replica took it): the write, and whatever it was to be followed by, is refused.
    #[error("{store}: lease epoch {epoch} of {owner} is no longer held; nothing written")]
    Fenced {
        store: String,
        owner: String,
        epoch: u64,
    },
    /// Another re-drive of the queue is running.
    #[error("{queue} is already being re-driven by {owner} (since {since})")]
    Claimed {
        queue: String,
        owner: String,
        since: crate::time::Timestamp,
    },
}

impl StateError {
    /// Whether the write was refused because another writer holds the lease or wrote first:
    /// not a fault of the store, a reason to stop acting.
    #[must_use]
    pub fn lost_race(&self) -> bool {
        matches!(
            self,
            StateError::Conflict { .. } | StateError::Fenced { .. }
        )
    }
}

pub trait StateStore: Sync {
    /// What the store is, for messages (`state file /var/lib/remediator/state.json`).
    fn name(&self) -> String {
        "the state store".to_string()
    }

    /// Everything stored (an empty memory at version 0 if nothing was ever saved).
    fn read(&self) -> impl Future<Output = Result<Shared, StateError>> + Send;

    /// Writes the memory if it is still at `version`, and with a fence only while the fence's
    /// lease holds; returns the new version.
    fn write(
        &self,
        memory: &Memory,
        version: u64,
        fence: Option<&Fence>,
    ) -> impl Future<Output = Result<u64, StateError>> + Send;

    /// Takes a free or expired lease (the epoch grows by one), or renews one held.
    fn bid(&self, bid: &Bid) -> impl Future<Output = Result<LeaseOutcome, StateError>> + Send;

    /// Gives the lease up (SIGTERM), so a follower takes it at its next tick.
    fn release(&self, lease: &Lease) -> impl Future<Output = Result<(), StateError>> + Send;

    /// Sets the kill switch, or lifts it with `None`.
    fn set_halt(&self, halt: Option<&Halt>) -> impl Future<Output = Result<(), StateError>> + Send;

    /// Adds an operator's note; notes older than a day are forgotten.
    fn add_note(&self, note: &Note) -> impl Future<Output = Result<(), StateError>> + Send;

    /// Claims a queue for a re-drive, or renews the claimant's own claim. Refused with
    /// [`StateError::Claimed`] while another claimant's claim is live.
    fn claim(
        &self,
        claim: &Claim,
        now: crate::time::Timestamp,
    ) -> impl Future<Output = Result<(), StateError>> + Send;

    /// Lets a queue go (the re-drive ended).
    fn unclaim(
        &self,
        queue: &str,
        owner: &str,
    ) -> impl Future<Output = Result<(), StateError>> + Send;

    /// The memory alone.
    fn load(&self) -> impl Future<Output = Result<Memory, StateError>> + Send {
        async move { Ok(self.read().await?.memory) }
    }
}
