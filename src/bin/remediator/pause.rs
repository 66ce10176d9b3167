//! `remediator pause ack|end`: an operator's word on the pause in progress, as a note in the
//! state store that every replica adopts at its next tick.

use crate::support::{BadInput, open_store, operator, runtime};
use remediator::cli::{PauseArgs, PauseCommand};
use remediator::policy::Policy;
use remediator::state::StateStore as _;
use remediator::status;
use remediator::time::Timestamp;
use std::process::ExitCode;

/// Runs the subcommand with its arguments; the exit status follows the README's rules.
pub fn execute(args: PauseArgs) -> anyhow::Result<ExitCode> {
    let PauseArgs {
        command,
        policy,
        state,
        by,
    } = args;
    let policy = policy.ok_or_else(|| BadInput("--policy is required".into()))?;
    let policy = Policy::load(&policy)?;
    let runtime = runtime()?;
    let store = runtime.block_on(open_store(&policy, state));
    let by = operator(by);
    let note = match command {
        PauseCommand::Ack => status::Note::Acknowledge,
        PauseCommand::End => status::Note::End,
    };
    match runtime.block_on(status::note(&store, note, &by, Timestamp::now())) {
        Ok(said) => println!("{}: {said}", store.name()),
        Err(status::PauseCommandError::State(e)) => return Err(e.into()),
        Err(e) => return Err(BadInput(e.to_string()).into()),
    }
    Ok(ExitCode::SUCCESS)
}
