//! `remediator plan`: one tick without the act step, printed as a table or JSON.

use crate::support::{connect, one_shot_exit, open_store, runtime};
use remediator::cli::{Output, PlanArgs};
use remediator::controller::{Controller, Mode};
use remediator::journal::Journal;
use remediator::policy::Policy;
use remediator::time::{Clock, Timestamp};
use std::path::PathBuf;
use std::process::ExitCode;

/// Runs the subcommand with its arguments; the exit status follows the README's rules.
pub fn execute(args: PlanArgs) -> anyhow::Result<ExitCode> {
    let PlanArgs {
        policy,
        state,
        journal,
        output,
    } = args;
    let policy = Policy::load(&policy)?;
    let journal = Journal::open(journal.as_deref())?;
    runtime()?.block_on(plan(&policy, state, journal, output))
}

async fn plan(
    policy: &Policy,
    state: Option<PathBuf>,
    journal: Journal,
    output: Output,
) -> anyhow::Result<ExitCode> {
    // A plan sends nothing: the webhook's URL is not needed.
    let aws = connect(policy, true, None).await?;
    let store = Some(open_store(policy, state).await);
    let mut controller = Controller::start(
        aws.ports(),
        policy,
        store,
        journal,
        Mode::Plan,
        Clock::System,
    )
    .await?;
    let report = controller.tick(Timestamp::now()).await?;
    let plan = remediator::plan::Plan::from_report(&report);
    match output {
        Output::Json => println!("{}", serde_json::to_string_pretty(&plan)?),
        Output::Text => print!("{}", plan.text()),
    }
    Ok(one_shot_exit(&report))
}
