//! `remediator redrive`: an operator's re-drive, resolved to names, checked against AWS, and
//! turned into the same [`RedriveOrder`] the stranded-queue rule makes, so it passes the same
//! guard and lands in the same journal.

use crate::domain::action::Action;
use crate::domain::hold::{Held, HoldReason};
use crate::domain::observed::Observed;
use crate::domain::port_error::PortError;
use crate::domain::redrive::{Claim, Settings, Target};
use crate::domain::redrive::{RedriveOrder, RedriveOrigin};
use crate::halt::Halt;
use crate::memory::Memory;
use crate::policy::{Domain, Policy};
use crate::ports::{Functions, Queues};
use crate::state::{StateError, StateStore};
use crate::time::{Clock, Timestamp};

/// What the operator asked for.
#[derive(Debug, Clone)]
pub struct Request {
    pub job: Option<String>,
    /// A queue name or URL.
    pub queue: Option<String>,
    pub rate_per_s: f64,
    pub max: Option<u64>,
    pub function: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ManualError {
    /// The command line names something that cannot be re-driven (exit 2).
    #[error("{0}")]
    BadInput(String),
    /// AWS could not be asked, or refused (exit 1).
    #[error("{0}")]
    Failed(String),
}

/// The policy to use: the given one, or the shipped defaults on the domain of the named queue.
///
/// # Errors
/// `--job` without a policy, or a queue that is not an ingest queue.
pub fn policy_for(request: &Request, given: Option<Policy>) -> Result<Policy, ManualError> {
    if let Some(policy) = given {
        return Ok(policy);
    }
    let Some(queue) = &request.queue else {
        return Err(ManualError::BadInput(
            "--job needs --policy (or REMEDIATOR_POLICY) to know the stack's domain; or name the queue with --queue".into(),
        ));
    };
    let (domain, _) = Domain::of_ingest_queue(queue).ok_or_else(|| not_ingest(queue))?;
    let mut policy = Policy::local();
    policy.redrive.function = domain.function("tileIngestLambda");
    policy.domain = domain;
    // The shipped file names us-east-1 for moto; without a policy the environment decides.
    policy.region = None;
    Ok(policy)
}

fn not_ingest(queue: &str) -> ManualError {
    ManualError::BadInput(format!(
        "`{queue}` is not an ingest queue: ingest queues are named `<domain with dashes>-ingest-<job>`, e.g. `bossdb-boss-ingest-42`"
    ))
}

/// Resolves the queue and function, checks both exist, reads the queue, and makes the order.
///
/// # Errors
/// Unknown queue or function (bad input), or AWS errors.
pub async fn order<Q: Queues, F: Functions>(
    request: &Request,
    policy: &Policy,
    queues: &Q,
    functions: &F,
) -> Result<RedriveOrder, ManualError> {
    let domain = &policy.domain;
    let (name, url) = match (&request.job, &request.queue) {
        (Some(job), _) => (domain.ingest_queue(job), None),
        (None, Some(queue)) if queue.contains("://") => (
            queue.rsplit('/').next().unwrap_or(queue).to_string(),
            Some(queue.clone()),
        ),
        (None, Some(queue)) => (queue.clone(), None),
        (None, None) => {
            return Err(ManualError::BadInput(
                "name a job (--job) or a queue (--queue)".into(),
            ));
        }
    };
    let job = domain
        .job_of_ingest_queue(&name)
        .map(str::to_string)
        .or_else(|| Domain::of_ingest_queue(&name).map(|(_, job)| job))
        .ok_or_else(|| not_ingest(&name))?;
    let url = match url {
        Some(url) => url,
        None => queues.url(&name).await.map_err(|e| match e {
            PortError::NotFound { .. } => ManualError::BadInput(format!(
                "no queue `{name}`: is job {job} an ingest job of {domain} (the policy's stack.domain)?"
            )),
            other => ManualError::Failed(other.to_string()),
        })?,
    };
    let function = request
        .function
        .clone()
        .unwrap_or_else(|| policy.redrive.function.clone());
    functions
        .configuration(&function)
        .await
        .map_err(|e| match e {
            PortError::NotFound { .. } => ManualError::BadInput(format!(
                "function `{function}` does not exist (--function, or the policy's redrive.function)"
            )),
            other => ManualError::Failed(other.to_string()),
        })?;
    let depth = queues.depth(&url).await.map_err(|e| match e {
        PortError::NotFound { .. } => {
            ManualError::BadInput(format!("queue `{url}` does not exist"))
        }
        other => ManualError::Failed(other.to_string()),
    })?;
    Ok(RedriveOrder {
        target: Target {
            job,
            queue: name,
            queue_url: url,
            function,
        },
        settings: Settings::from_policy(policy, request.rate_per_s, request.max),
        origin: RedriveOrigin::Manual,
        visible: depth.visible,
        in_flight: depth.in_flight + depth.delayed,
    })
}

/// How an operator's admitted order stands with the controllers that share the state store.
#[derive(Debug)]
pub enum Sharing {
    /// The queue is claimed for this re-drive; renew the claim while it runs, give it back
    /// at the end.
    Claimed,
    /// The store could not be read or written: only the checks that stand alone were made
    /// (the caller says so and goes on, as the operator asked).
    Alone(StateError),
}

/// The guard's verdict on an operator's order, with what the controllers share through the
/// store: the kill switch, the re-drives running (the policy's `max_rate` bounds them all
/// together) and the queues' claims, so there is one re-drive per queue whoever started it.
/// `claim` is this order's claim on its queue, taken when the order is admitted.
///
/// # Errors
/// The order is held: the reason, with the order, for the journal.
pub async fn admit<S: StateStore>(
    order: &RedriveOrder,
    policy: &Policy,
    store: &S,
    claim: &Claim,
) -> Result<Sharing, Held> {
    let at = claim.since;
    let shared = match store.read().await {
        Ok(shared) => shared,
        Err(e) => {
            return match check(order, policy, &Memory::default(), None, at) {
                Some(held) => Err(held),
                None => Ok(Sharing::Alone(e)),
            };
        }
    };
    let mut memory = shared.memory;
    // A re-drive the memory records as running counts only while its claim lives: one whose
    // controller died (its claim lapsed) neither blocks the queue nor spends the rate.
    memory.redrives.retain(|r| {
        r.end.is_some()
            || shared
                .claims
                .iter()
                .any(|c| c.queue == r.queue && c.live(at))
    });
    memory.claims = shared.claims;
    if let Some(held) = check(order, policy, &memory, shared.halt.as_ref(), at) {
        return Err(held);
    }
    match store.claim(claim, at).await {
        Ok(()) => Ok(Sharing::Claimed),
        Err(StateError::Claimed { owner, since, .. }) => Err(Held::action(
            Action::Redrive(order.clone()),
            HoldReason::RedriveClaimed { owner, since },
        )),
        Err(e) => Ok(Sharing::Alone(e)),
    }
}

/// The guard, then the kill switch, on one order: `Some` when it is held.
fn check(
    order: &RedriveOrder,
    policy: &Policy,
    memory: &Memory,
    halt: Option<&Halt>,
    at: Timestamp,
) -> Option<Held> {
    let observed = Observed::empty(at, policy.controller.metric_period);
    let admission = crate::guard::admit(
        vec![Action::Redrive(order.clone())],
        &observed,
        policy,
        memory,
    );
    crate::guard::halt::apply(admission, halt)
        .held
        .into_iter()
        .next()
}

/// The claim of an operator's running re-drive: renewed every third of its length (from the
/// injected clock) so it does not lapse while the re-drive runs, and given back at the end.
/// A claimant that dies stops renewing; the claim then lapses and the queue is free again.
#[derive(Debug)]
pub struct KeptClaim<S: StateStore + Clone + Send + 'static> {
    store: S,
    claim: Claim,
    renewing: tokio::task::JoinHandle<()>,
}

impl<S: StateStore + Clone + Send + 'static> KeptClaim<S> {
    /// Starts renewing `claim` (already taken by [`admit`]).
    #[must_use]
    pub fn keep(store: S, claim: Claim, clock: Clock) -> Self {
        let every = claim.expires.since(claim.since) / 3;
        let length = claim.expires.since(claim.since);
        let renewing = {
            let (store, mut claim) = (store.clone(), claim.clone());
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(every).await;
                    let now = clock.now();
                    claim.expires = now.plus(length);
                    if let Err(e) = store.claim(&claim, now).await {
                        tracing::warn!("cannot renew the re-drive's claim: {e}");
                    }
                }
            })
        };
        Self {
            store,
            claim,
            renewing,
        }
    }

    /// Stops renewing and gives the queue back (if that fails, the claim lapses instead).
    pub async fn give_back(self) {
        self.renewing.abort();
        if let Err(e) = self
            .store
            .unclaim(&self.claim.queue, &self.claim.owner)
            .await
        {
            tracing::warn!("{e}: the re-drive's claim lapses instead");
        }
    }
}
