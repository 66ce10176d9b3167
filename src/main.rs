//! Entry point: parse the command line, run the command, map failures to exit codes
//! (2 for bad input, 1 for failures while running).

use anyhow::Context as _;
use clap::Parser;
use remediator::cli::{Cli, Command, LogFormat, Output};
use remediator::policy::{LOCAL_POLICY, Policy};
use remediator::sim::{self, ControllerKind, Scenario};
use remediator::source::Problems;
use std::path::Path;
use std::process::ExitCode;

/// Exit code for bad input (policy, scenario, flags), as clap uses for usage errors.
const EXIT_BAD_INPUT: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    match execute(cli.command) {
        Ok(code) => code,
        Err(e) => {
            if let Some(problems) = e.downcast_ref::<Problems>() {
                eprint!("error: {problems}");
                return ExitCode::from(EXIT_BAD_INPUT);
            }
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("REMEDIATOR_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Human => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

fn load_policy(path: Option<&Path>) -> Result<Policy, Problems> {
    match path {
        Some(p) => Policy::load(p),
        None => Policy::parse(Path::new(LOCAL_POLICY.0), LOCAL_POLICY.1),
    }
}

fn execute(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Check { policy, output } => {
            let policy = Policy::load(&policy)?;
            match output {
                Output::Json => println!("{}", serde_json::to_string_pretty(&policy)?),
                Output::Text => println!(
                    "ok: domain {}, mode {:?}, interval {}, {} table rule(s): {}",
                    policy.domain,
                    policy.controller.mode,
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
        Command::Simulate {
            scenario,
            policy,
            compare,
            controller,
            seed,
            output,
        } => {
            let policy = load_policy(policy.as_deref())?;
            let mut scenario = Scenario::load(&scenario)?;
            if let Some(seed) = seed {
                scenario.seed = seed;
            }
            let runtime = tokio::runtime::Builder::new_current_thread()
                .build()
                .context("starting the async runtime")?;
            if compare {
                let rows: Vec<sim::Summary> = ControllerKind::ALL
                    .iter()
                    .map(|k| runtime.block_on(sim::run(&scenario, &policy, *k)).summary)
                    .collect();
                match output {
                    Output::Json => println!("{}", serde_json::to_string_pretty(&rows)?),
                    Output::Text => print!(
                        "{}",
                        sim::report::comparison(&scenario.name, scenario.seed, &rows)
                    ),
                }
            } else {
                let result = runtime.block_on(sim::run(&scenario, &policy, controller));
                match output {
                    Output::Json => println!("{}", serde_json::to_string_pretty(&result)?),
                    Output::Text => {
                        println!("scenario {}: {}", scenario.name, scenario.description);
                        print!("{}", sim::report::timeline(&result.timeline));
                        print!("{}", sim::report::summary(&result));
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
