//! `remediator init`: creates the state table the replicas share.

use crate::support::runtime;
use remediator::aws::{self, DynamoState};
use remediator::cli::InitArgs;
use remediator::policy::Policy;
use remediator::state::StateStore as _;
use std::process::ExitCode;

/// Runs the subcommand with its arguments; the exit status follows the README's rules.
pub fn execute(args: InitArgs) -> anyhow::Result<ExitCode> {
    let InitArgs { policy } = args;
    let policy = Policy::load(&policy)?;
    let runtime = runtime()?;
    let config = runtime.block_on(aws::load_config(policy.region.as_deref()));
    let store = DynamoState::from_config(&config, policy.state_table());
    let report = runtime.block_on(store.init())?;
    for line in report.lines {
        println!("{}: {line}", store.name());
    }
    Ok(ExitCode::SUCCESS)
}
