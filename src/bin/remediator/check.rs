//! `remediator check`: validates a policy; prints it back as a summary or as JSON.

use remediator::cli::{CheckArgs, Output};
use remediator::policy::Policy;
use std::process::ExitCode;

/// Runs the subcommand with its arguments; the exit status follows the README's rules.
pub fn execute(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let CheckArgs { policy, output } = args;
    let policy_path = policy.clone();
    let policy = Policy::load(&policy)?;
    for warning in policy.warnings() {
        eprintln!("WARNING: {}: {warning}", policy_path.display());
    }
    match output {
        Output::Json => println!("{}", serde_json::to_string_pretty(&policy)?),
        Output::Text => println!(
            "ok: domain {}, mode {}, interval {}, {} table rule(s): {}",
            policy.domain,
            policy.controller.mode.label(),
            remediator::time::human(policy.controller.interval),
            policy.tables.len(),
            policy
                .tables
                .iter()
                .map(|t| t.table_name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
    Ok(ExitCode::SUCCESS)
}
