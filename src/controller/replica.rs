//! This replica's standing among the replicas sharing a state store: each tick it reads the
//! store and bids for the leader lease. The holder acts; the others observe and journal as
//! followers, taking the memory the leader wrote so their view is warm when they take over.

use crate::memory::Memory;
use crate::state::{Bid, Fence, Halt, Lease, LeaseOutcome, StateError, StateStore};
use crate::time::Timestamp;
use std::time::Duration;

/// Who this replica is and what it holds.
#[derive(Debug, Clone)]
pub struct Replica {
    /// Its name in the lease (`host:pid` unless given).
    pub name: String,
    pub lease_for: Duration,
    /// The lease while this replica holds it.
    pub lease: Option<Lease>,
    /// The memory version read or written last.
    pub version: u64,
    /// Whether this replica bids at all (a dry run or a plan never leads).
    pub bids: bool,
}

/// What one tick learned from the store.
#[derive(Debug)]
pub struct Standing {
    pub leader: bool,
    /// The lease holder when it is another replica.
    pub holder: Option<Lease>,
    pub halt: Option<Halt>,
    /// This replica has just taken the lease (from nobody, or from one that died or stopped).
    pub took_over: bool,
}

impl Replica {
    #[must_use]
    pub fn new(name: String, lease_for: Duration, bids: bool) -> Self {
        Self {
            name,
            lease_for,
            lease: None,
            version: 0,
            bids,
        }
    }

    /// The default name: `REMEDIATOR_REPLICA` if set, else the host and the process id,
    /// unique among live replicas.
    #[must_use]
    pub fn default_name() -> String {
        if let Ok(name) = std::env::var("REMEDIATOR_REPLICA")
            && !name.trim().is_empty()
        {
            return name;
        }
        let host = std::env::var("HOSTNAME")
            .ok()
            .filter(|h| !h.is_empty())
            .or_else(|| {
                std::fs::read_to_string("/proc/sys/kernel/hostname")
                    .ok()
                    .map(|h| h.trim().to_string())
            })
            .unwrap_or_else(|| "localhost".into());
        format!("{host}:{}", std::process::id())
    }

    /// Reads the store and bids for the lease. A replica that does not lead takes the stored
    /// memory as its own; a new leader takes it too (the last leader wrote it), and the
    /// operators' notes are adopted either way.
    ///
    /// # Errors
    /// The store could not be read or the bid not made: this replica must not act this tick.
    pub async fn refresh<S: StateStore>(
        &mut self,
        store: &S,
        memory: &mut Memory,
        now: Timestamp,
    ) -> Result<Standing, StateError> {
        let shared = store.read().await?;
        let was_leader = self.lease.is_some();
        let outcome = if self.bids {
            Some(
                store
                    .bid(&Bid {
                        owner: self.name.clone(),
                        epoch: self.lease.as_ref().map(|l| l.epoch),
                        now,
                        hold_for: self.lease_for,
                    })
                    .await,
            )
        } else {
            None
        };
        let (leader, holder) = match outcome {
            Some(Ok(LeaseOutcome::Held(lease))) => {
                self.lease = Some(lease);
                (true, None)
            }
            Some(Ok(LeaseOutcome::Follower(holder))) => {
                self.lease = None;
                (false, Some(holder))
            }
            Some(Err(e)) => {
                self.lease = None;
                return Err(e);
            }
            None => (false, shared.lease.clone().filter(|l| l.live_at(now))),
        };
        let took_over = leader && !was_leader;
        // A leader keeps the memory it wrote unless someone else wrote since (they would have
        // had to hold the lease: then this replica's copy is the stale one). A dry run keeps
        // its own rehearsal.
        if self.bids && (!leader || took_over || shared.version != self.version) {
            *memory = shared.memory;
            self.version = shared.version;
        }
        memory.adopt_operator_notes(&shared.notes);
        memory.claims = shared.claims;
        Ok(Standing {
            leader,
            holder,
            halt: shared.halt,
            took_over,
        })
    }

    /// The fence of a write made now under the lease held.
    #[must_use]
    pub fn fence(&self, now: Timestamp) -> Option<Fence> {
        self.lease.as_ref().map(|l| Fence::of(l, now))
    }
}
