//! `remediator redrive`: an operator's re-drive, through the same guard, claims and journal as
//! the controller's own.

use crate::support::{
    BadInput, EXIT_INTERRUPTED, connect, open_store, operator, runtime, shutdown_signal,
};
use remediator::aws;
use remediator::cli::{ProgressStyle, RedriveArgs};
use remediator::domain::action::Action;
use remediator::domain::hold::HoldReason;
use remediator::domain::redrive::End;
use remediator::journal::{Journal, RedriveEntry};
use remediator::policy::Policy;
use remediator::redrive::drive;
use remediator::redrive::manual::{self, KeptClaim, ManualError, Request, Sharing};
use remediator::redrive::show::Show;
use remediator::state::Claim;
use remediator::time::{Clock, Timestamp};
use std::io::IsTerminal as _;
use std::process::ExitCode;

/// How long a manual re-drive's claim on its queue lasts unless renewed (every third of it).
const CLAIM_FOR: std::time::Duration = std::time::Duration::from_secs(60);

/// Runs the subcommand with its arguments; the exit status follows the README's rules.
pub fn execute(args: RedriveArgs) -> anyhow::Result<ExitCode> {
    let RedriveArgs {
        job,
        queue,
        rate,
        policy,
        max,
        function,
        journal,
        progress,
    } = args;
    let given = policy.as_deref().map(Policy::load).transpose()?;
    let request = Request {
        job,
        queue,
        rate_per_s: rate,
        max,
        function,
    };
    let policy = manual::policy_for(&request, given).map_err(|e| BadInput(e.to_string()))?;
    let journal = Journal::open(journal.as_deref())?;
    runtime()?.block_on(redrive(&policy, &request, journal, progress))
}

/// `remediator redrive`: the order is checked by the guard and journalled like the controller's
/// own actions, then driven with a live progress display.
async fn redrive(
    policy: &Policy,
    request: &Request,
    mut journal: Journal,
    style: ProgressStyle,
) -> anyhow::Result<ExitCode> {
    let aws = connect(policy, true, None).await?;
    // A forgotten AWS_ENDPOINT_URL_LAMBDA otherwise shows only as a re-drive that drains nothing.
    aws::warn_lambda_endpoint();
    let order = manual::order(request, policy, &aws.queues, &aws.functions)
        .await
        .map_err(|e| match e {
            ManualError::BadInput(m) => anyhow::Error::new(BadInput(m)),
            other => other.into(),
        })?;
    let queue = order.target.queue.clone();
    let entry = |event, action, held, summary| RedriveEntry {
        at: Timestamp::now().to_string(),
        mode: "enforce",
        event,
        queue: &queue,
        action,
        held,
        summary,
    };
    // One re-drive per queue, whoever started it, and one rate budget for all: the order is
    // checked against what the controllers share through the state store, and its queue is
    // claimed there (renewed while the re-drive runs).
    let store = open_store(policy, None).await;
    let since = Timestamp::now();
    let claim = Claim {
        queue: queue.clone(),
        owner: format!(
            "operator {} ({})",
            operator(None),
            remediator::controller::Replica::default_name()
        ),
        since,
        expires: since.plus(CLAIM_FOR),
        rate_per_s: order.settings.rate_per_s,
    };
    let kept = match manual::admit(&order, policy, &store, &claim).await {
        Ok(Sharing::Claimed) => Some(KeptClaim::keep(store, claim, Clock::System)),
        Ok(Sharing::Alone(e)) => {
            tracing::warn!(
                "{e}: cannot check the running controllers' re-drives and kill switch; going on as asked"
            );
            None
        }
        Err(held) => {
            journal.write(&entry(
                "redrive-ordered",
                held.action.as_ref(),
                Some(&held.reason),
                None,
            ))?;
            return Err(match held.reason {
                HoldReason::RateAboveMaximum {
                    running_per_s: 0.0, ..
                } => BadInput(format!("--rate: {}", held.reason)).into(),
                _ => anyhow::anyhow!("re-drive of {queue} held: {}", held.reason),
            });
        }
    };
    let action = Action::Redrive(order.clone());
    tracing::info!(kind = "redrive", subject = %queue, "re-drive ordered: {}", action.reason());
    journal.write(&entry("redrive-ordered", Some(&action), None, None))?;
    let show = match style {
        ProgressStyle::Auto if std::io::stderr().is_terminal() => {
            Show::bar(order.visible + order.in_flight)
        }
        ProgressStyle::Bar => Show::bar(order.visible + order.in_flight),
        ProgressStyle::Auto | ProgressStyle::Json => Show::JsonLines,
        ProgressStyle::None => Show::Quiet,
    };
    let summary = drive(
        &order.target,
        &order.settings,
        &aws.queues,
        &aws.functions,
        &aws.metrics,
        |p| show.update(p),
        shutdown_signal(),
    )
    .await;
    show.finish(&summary);
    if let Some(kept) = kept {
        kept.give_back().await;
    }
    journal.write(&entry("redrive-ended", None, None, Some(&summary)))?;
    Ok(match &summary.end {
        End::Drained | End::MaxReached | End::NothingVisible { .. } => {
            tracing::info!(subject = %queue, end = summary.end.label(), "re-drive of {queue} ended: {}", summary.end);
            ExitCode::SUCCESS
        }
        End::Interrupted => {
            tracing::warn!(subject = %queue, "re-drive of {queue} interrupted");
            ExitCode::from(EXIT_INTERRUPTED)
        }
        End::NoProgress { .. } | End::Failed { .. } => {
            tracing::error!(subject = %queue, end = summary.end.label(), "escalation: re-drive of {queue} {}", summary.end);
            ExitCode::FAILURE
        }
    })
}
