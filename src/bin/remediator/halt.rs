//! `remediator halt` and `resume`: the kill switch every replica reads at its next tick.

use crate::support::{open_store, operator, runtime};
use remediator::cli::{HaltArgs, ResumeArgs};
use remediator::policy::Policy;
use remediator::state::{Halt, HaltMode, StateStore as _};
use remediator::time::Timestamp;
use std::process::ExitCode;

pub fn halt(args: HaltArgs) -> anyhow::Result<ExitCode> {
    let HaltArgs {
        policy,
        state,
        up_only,
        reason,
        by,
    } = args;
    let policy = Policy::load(&policy)?;
    let runtime = runtime()?;
    let store = runtime.block_on(open_store(&policy, state));
    let halt = Halt {
        mode: if up_only {
            HaltMode::UpOnly
        } else {
            HaltMode::All
        },
        reason,
        by: operator(by),
        at: Timestamp::now(),
    };
    runtime.block_on(store.set_halt(Some(&halt)))?;
    println!(
        "{}: {halt}; every replica holds at its next tick; `remediator resume` lifts it",
        store.name()
    );
    Ok(ExitCode::SUCCESS)
}

pub fn resume(args: ResumeArgs) -> anyhow::Result<ExitCode> {
    let ResumeArgs { policy, state } = args;
    let policy = Policy::load(&policy)?;
    let runtime = runtime()?;
    let store = runtime.block_on(open_store(&policy, state));
    runtime.block_on(store.set_halt(None))?;
    println!(
        "{}: kill switch lifted; every replica acts again at its next tick",
        store.name()
    );
    Ok(ExitCode::SUCCESS)
}
