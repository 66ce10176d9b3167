//! The store a command uses, as the policy (or `--state`) says: the state table shared by
//! replicas, or a local file for one process.

use super::DynamoState;
use crate::memory::Memory;
use crate::state::shared::{Bid, Claim, Fence, Halt, Lease, LeaseOutcome, Note, Shared};
use crate::state::{FileState, StateError, StateStore};
use crate::time::Timestamp;

#[derive(Debug, Clone)]
pub enum AnyState {
    Table(DynamoState),
    File(FileState),
}

macro_rules! each {
    ($self:ident, $s:ident => $e:expr) => {
        match $self {
            AnyState::Table($s) => $e,
            AnyState::File($s) => $e,
        }
    };
}

impl StateStore for AnyState {
    fn name(&self) -> String {
        each!(self, s => s.name())
    }

    async fn read(&self) -> Result<Shared, StateError> {
        each!(self, s => s.read().await)
    }

    async fn write(
        &self,
        memory: &Memory,
        version: u64,
        fence: Option<&Fence>,
    ) -> Result<u64, StateError> {
        each!(self, s => s.write(memory, version, fence).await)
    }

    async fn bid(&self, bid: &Bid) -> Result<LeaseOutcome, StateError> {
        each!(self, s => s.bid(bid).await)
    }

    async fn release(&self, lease: &Lease) -> Result<(), StateError> {
        each!(self, s => s.release(lease).await)
    }

    async fn set_halt(&self, halt: Option<&Halt>) -> Result<(), StateError> {
        each!(self, s => s.set_halt(halt).await)
    }

    async fn add_note(&self, note: &Note) -> Result<(), StateError> {
        each!(self, s => s.add_note(note).await)
    }

    async fn claim(&self, claim: &Claim, now: Timestamp) -> Result<(), StateError> {
        each!(self, s => s.claim(claim, now).await)
    }

    async fn unclaim(&self, queue: &str, owner: &str) -> Result<(), StateError> {
        each!(self, s => s.unclaim(queue, owner).await)
    }
}
