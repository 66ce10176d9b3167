//! `remediator redrive`: an operator's re-drive, resolved to names, checked against AWS, and
//! turned into the same [`RedriveOrder`] the stranded-queue rule makes, so it passes the same
//! guard and lands in the same journal.

use crate::domain::action::Action;
use crate::domain::hold::Held;
use crate::domain::observed::Observed;
use crate::domain::port_error::PortError;
use crate::domain::redrive::{RedriveOrder, RedriveOrigin};
use crate::domain::redrive::{Settings, Target};
use crate::memory::Memory;
use crate::policy::{Domain, Policy};
use crate::ports::{Functions, Queues};
use crate::time::Timestamp;

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

/// The guard's verdict on an operator's order: `Some` when it is held. The command does not
/// share the running controller's memory (that needs the shared state store of a later issue),
/// so the checks are those that stand alone: the rate against the policy's maximum.
#[must_use]
pub fn check(order: &RedriveOrder, policy: &Policy, at: Timestamp) -> Option<Held> {
    let observed = Observed::empty(at, policy.controller.metric_period);
    crate::guard::admit(
        vec![Action::Redrive(order.clone())],
        &observed,
        policy,
        &Memory::default(),
    )
    .held
    .into_iter()
    .next()
}
