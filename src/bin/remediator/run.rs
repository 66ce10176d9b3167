//! `remediator run`: the reconcile loop (or `--once`, one tick) against AWS.

use crate::support::{
    EXIT_INTERRUPTED, connect, one_shot_exit, open_store, runtime, shutdown_signal, webhook_target,
};
use remediator::cli::RunArgs;
use remediator::controller::{Controller, Mode};
use remediator::domain::redrive::End;
use remediator::journal::Journal;
use remediator::policy::{Mode as PolicyMode, Policy};
use remediator::redrive::fleet::Fleet;
use remediator::time::{Clock, Timestamp};
use remediator::webhook;
use std::path::PathBuf;
use std::process::ExitCode;

/// Runs the subcommand with its arguments; the exit status follows the README's rules.
pub fn execute(args: RunArgs) -> anyhow::Result<ExitCode> {
    let RunArgs {
        policy,
        once,
        dry_run,
        journal,
        state,
    } = args;
    let policy = Policy::load(&policy)?;
    for warning in policy.warnings() {
        tracing::warn!("{warning}");
    }
    let mode = if dry_run || policy.controller.mode == PolicyMode::DryRun {
        Mode::DryRun
    } else {
        Mode::Enforce
    };
    // A dry run sends nothing: the webhook's URL is not needed.
    let webhook = match mode {
        Mode::Enforce => webhook_target(&policy)?,
        Mode::DryRun | Mode::Plan => None,
    };
    let journal = Journal::open(journal.as_deref())?;
    runtime()?.block_on(run(&policy, mode, once, state, journal, webhook))
}

async fn run(
    policy: &Policy,
    mode: Mode,
    once: bool,
    state: Option<PathBuf>,
    journal: Journal,
    webhook: Option<webhook::Target>,
) -> anyhow::Result<ExitCode> {
    let aws = connect(policy, once, webhook).await?;
    let store = Some(open_store(policy, state).await);
    let mut controller =
        Controller::start(aws.ports(), policy, store, journal, mode, Clock::System)
            .await?
            .with_metrics();
    if mode == Mode::Enforce && policy.redrive.enabled {
        // A forgotten AWS_ENDPOINT_URL_LAMBDA otherwise shows only as re-drives that drain nothing.
        remediator::aws::warn_lambda_endpoint();
        controller = controller.with_fleet(Fleet::new(
            aws.queues.clone(),
            aws.functions.clone(),
            aws.metrics.clone(),
        ));
    }
    if once {
        // A signal abandons the tick (a change already sent is read back at the next start).
        let report = tokio::select! {
            report = controller.tick(Timestamp::now()) => report?,
            () = shutdown_signal() => {
                controller.release().await;
                eprintln!("error: interrupted in the middle of the tick");
                return Ok(ExitCode::from(EXIT_INTERRUPTED));
            }
        };
        // Re-drives started by this tick run to their end (or until a signal).
        let ended = controller.finish_redrives(true, shutdown_signal()).await;
        // The next process (or a replica) leads at once rather than after the lease expires.
        controller.release().await;
        let ended = ended?;
        // The tick's own problems are printed whatever became of the re-drives.
        let tick = one_shot_exit(&report);
        let gave_up = ended.iter().filter(|s| s.end.needs_person());
        for summary in gave_up.clone() {
            eprintln!(
                "error: re-drive of {}: {}",
                summary.target.queue, summary.end
            );
        }
        if ended.iter().any(|s| s.end == End::Interrupted) {
            return Ok(ExitCode::from(EXIT_INTERRUPTED));
        }
        if gave_up.count() > 0 {
            return Ok(ExitCode::FAILURE);
        }
        return Ok(tick);
    }
    tracing::info!(
        mode = mode.label(),
        "running every {}; stop with SIGINT or SIGTERM",
        remediator::time::human(policy.controller.interval)
    );
    controller
        .run(policy.controller.interval, shutdown_signal())
        .await;
    Ok(ExitCode::SUCCESS)
}
