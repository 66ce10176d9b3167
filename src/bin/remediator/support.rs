//! What the subcommands share: exit codes, the runtime, the AWS connection, the state store,
//! the webhook target, the operator's name, the shutdown signal.

use anyhow::Context as _;
use remediator::aws::{self, Aws};
use remediator::aws::{AnyState, DynamoState};
use remediator::controller::problems;
use remediator::policy::{LOCAL_POLICY, Policy};
use remediator::reconcile::TickReport;
use remediator::source::Problems;
use remediator::state::FileState;
use remediator::webhook;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Exit code for bad input (policy, scenario, flags), as clap uses for usage errors.
pub const EXIT_BAD_INPUT: u8 = 2;
/// Exit code of a re-drive stopped by SIGINT or SIGTERM (128 + SIGINT, as shells report it).
pub const EXIT_INTERRUPTED: u8 = 130;

/// A command line that cannot be carried out as given (exit 2, like clap's usage errors).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BadInput(pub String);

pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// The AWS adapters, after checking that credentials resolve: without them every call would
/// fail the same way, and one line saying so is clearer than one per table.
pub async fn connect(
    policy: &Policy,
    one_shot: bool,
    webhook: Option<webhook::Target>,
) -> anyhow::Result<Aws> {
    let config = aws::load_config(policy.region.as_deref()).await;
    match aws::check_credentials(&config).await {
        Ok(()) => {}
        Err(e) if one_shot => return Err(e.into()),
        Err(e) => tracing::error!("{e}; every call will fail until this is fixed"),
    }
    Ok(Aws::new(&config, &policy.signals).with_webhook(webhook))
}

/// The webhook's URL, read once at start from `REMEDIATOR_WEBHOOK_URL` or the policy's
/// `url_file` or `url`; only `scheme://host[:port]` and where it came from are logged.
pub fn webhook_target(policy: &Policy) -> Result<Option<webhook::Target>, BadInput> {
    let variable = std::env::var_os(webhook::URL_VARIABLE);
    let Some(hook) = &policy.signals.webhook else {
        if variable.is_some() {
            tracing::warn!(
                "{} is set but the policy leaves [signals.webhook] off: no webhook messages",
                webhook::URL_VARIABLE
            );
        }
        return Ok(None);
    };
    let target = webhook::resolve(hook, variable).map_err(|e| BadInput(e.to_string()))?;
    tracing::info!("webhook {} (URL from {})", target.url, target.from);
    Ok(Some(target))
}

/// Prints what went wrong in a one-shot tick, one line each; non-zero if anything did.
pub fn one_shot_exit(report: &TickReport) -> ExitCode {
    let problems = problems(report);
    for p in &problems {
        eprintln!("error: {p}");
    }
    if problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Completes on the first SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(e) => {
                    tracing::error!("cannot listen for SIGTERM: {e}");
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
    tracing::info!("signal received: stopping");
}

/// The state store: the `--state` file, else the policy's `state_file`, else the state table.
pub async fn open_store(policy: &Policy, flag: Option<PathBuf>) -> AnyState {
    match flag.or_else(|| policy.controller.state_file.clone()) {
        Some(path) => AnyState::File(FileState::new(path)),
        None => {
            let config = aws::load_config(policy.region.as_deref()).await;
            AnyState::Table(DynamoState::from_config(&config, policy.state_table()))
        }
    }
}

/// Who an operator command names: `--by`, else $USER.
pub fn operator(by: Option<String>) -> String {
    by.or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "an operator".into())
}

pub fn load_policy(path: Option<&Path>) -> Result<Policy, Problems> {
    match path {
        Some(p) => Policy::load(p),
        None => Policy::parse(Path::new(LOCAL_POLICY.0), LOCAL_POLICY.1),
    }
}
