//! One re-drive per queue, whoever started it: before a re-drive starts, its queue is claimed
//! in the state store; the claim is renewed every tick while the re-drive runs and given back
//! when it ends. A queue an operator's `remediator redrive` (or a replica that led before)
//! holds is not re-driven twice: the re-drive is held with the claimant's name.

use crate::domain::action::Action;
use crate::domain::hold::{Held, HoldReason};
use crate::memory::Memory;
use crate::reconcile::Prepared;
use crate::redrive::fleet::Snapshot;
use crate::state::{Claim, StateError, StateStore};
use crate::time::Timestamp;
use std::time::Duration;

/// Claims the queue of every admitted re-drive; those claimed by another are held.
///
/// # Errors
/// The store failed (not a claim refused): the caller holds the tick.
pub async fn claim_redrives<S: StateStore>(
    store: &S,
    prepared: &mut Prepared,
    owner: &str,
    hold_for: Duration,
) -> Result<(), StateError> {
    let at = prepared.at;
    let mut kept = Vec::new();
    for action in std::mem::take(&mut prepared.admitted) {
        let Action::Redrive(order) = &action else {
            kept.push(action);
            continue;
        };
        let claim = Claim {
            queue: order.target.queue.clone(),
            owner: owner.to_string(),
            since: at,
            expires: at.plus(hold_for),
            rate_per_s: order.settings.rate_per_s,
        };
        match store.claim(&claim, at).await {
            Ok(()) => kept.push(action),
            Err(StateError::Claimed { owner, since, .. }) => prepared.held.push(Held::action(
                action,
                HoldReason::RedriveClaimed { owner, since },
            )),
            Err(e) => {
                prepared.admitted = kept;
                return Err(e);
            }
        }
    }
    prepared.admitted = kept;
    Ok(())
}

/// Renews the claims of the re-drives running; a failure is logged (the claim then lapses and
/// another claimant may start, which the running one's own checks survive).
pub async fn renew<S: StateStore>(
    store: &S,
    running: &[Snapshot],
    memory: &Memory,
    owner: &str,
    at: Timestamp,
    hold_for: Duration,
) {
    for r in running {
        let claim = Claim {
            queue: r.queue.clone(),
            owner: owner.to_string(),
            since: r.started,
            expires: at.plus(hold_for),
            rate_per_s: memory.last_redrive(&r.queue).map_or(0.0, |m| m.rate_per_s),
        };
        if let Err(e) = store.claim(&claim, at).await {
            tracing::warn!(queue = %r.queue, "cannot renew the re-drive's claim: {e}");
        }
    }
}

/// Gives the claims of ended re-drives back.
pub async fn release<S: StateStore>(store: &S, queues: &[String], owner: &str) {
    for queue in queues {
        if let Err(e) = store.unclaim(queue, owner).await {
            tracing::warn!(%queue, "cannot release the re-drive's claim (it lapses): {e}");
        }
    }
}
