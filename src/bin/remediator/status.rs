//! `remediator status`: the store, who leads, the kill switch and the pause, as text or JSON.

use crate::support::{open_store, runtime};
use remediator::cli::{Output, StatusArgs};
use remediator::policy::Policy;
use remediator::state::StateStore as _;
use remediator::status;
use remediator::time::Timestamp;
use std::process::ExitCode;

/// Runs the subcommand with its arguments; the exit status follows the README's rules.
pub fn execute(args: StatusArgs) -> anyhow::Result<ExitCode> {
    let StatusArgs {
        policy,
        state,
        output,
    } = args;
    let policy = Policy::load(&policy)?;
    let runtime = runtime()?;
    let store = runtime.block_on(open_store(&policy, state));
    let shared = runtime.block_on(store.read())?;
    let memory = &shared.memory;
    let now = Timestamp::now();
    let leader = shared.lease.as_ref().filter(|l| l.live_at(now));
    match output {
        Output::Json => println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "store": store.name(),
                "leader": leader,
                "halt": shared.halt,
                "pause": status::status(memory, now),
            }))?
        ),
        Output::Text => {
            println!("{}", store.name());
            match leader {
                Some(l) => println!("leader: {l}"),
                None => println!("leader: none (no replica holds the lease)"),
            }
            match &shared.halt {
                Some(h) => println!("KILL SWITCH: {h}; `remediator resume` lifts it"),
                None => println!("kill switch: off"),
            }
            print!("{}", status::render(memory, &policy, now));
        }
    }
    Ok(ExitCode::SUCCESS)
}
