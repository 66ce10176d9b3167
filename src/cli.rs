//! The command line: parsed once by clap into validated values.

use crate::sim::ControllerKind;
use clap::{Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "remediator",
    version,
    about = "Reconcile loop for the BOSS ingest pipeline: watches DynamoDB, SQS and Lambda, acts within guardrails."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Human, env = "REMEDIATOR_LOG_FORMAT")]
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Human,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Text,
    Json,
}

/// How `redrive` shows its progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProgressStyle {
    /// A bar when stderr is a terminal, JSON lines on stdout otherwise.
    Auto,
    Bar,
    Json,
    None,
}

/// Parses a re-drive rate: `40`, `40/s` or `0.5`; finite and above zero.
///
/// # Errors
/// What is wrong, with the accepted forms.
pub fn parse_rate(text: &str) -> Result<f64, String> {
    let number = text.trim().trim_end_matches("/s").trim();
    match number.parse::<f64>() {
        Ok(rate) if rate.is_finite() && rate > 0.0 => Ok(rate),
        Ok(_) => Err(format!(
            "the rate must be a number of invocations per second above 0 (got `{text}`)"
        )),
        Err(_) => Err(format!(
            "`{text}` is not a rate: write invocations per second, e.g. 40, 40/s or 0.5"
        )),
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate a policy file and report every problem in it.
    Check {
        /// The policy file (TOML).
        policy: PathBuf,
        #[arg(long, value_enum, default_value_t = Output::Text)]
        output: Output,
    },
    /// Run the reconcile loop against AWS (or an emulator via AWS_ENDPOINT_URL) every
    /// interval until SIGINT or SIGTERM; the tick in flight is always finished.
    Run {
        /// The policy file (TOML).
        #[arg(long, env = "REMEDIATOR_POLICY")]
        policy: PathBuf,
        /// One tick, then exit: non-zero if anything could not be observed or a call failed.
        #[arg(long)]
        once: bool,
        /// Log every intended action as "would" with its reason and change nothing
        /// (the same as `mode = "dry-run"` in the policy).
        #[arg(long)]
        dry_run: bool,
        /// Also append each tick's journal record to this file (JSON lines).
        #[arg(long)]
        journal: Option<PathBuf>,
        /// State file for cooldowns and action counts; overrides the policy's `state_file`.
        #[arg(long)]
        state: Option<PathBuf>,
    },
    /// Observe once and print what the controller would do, and what it would hold and why.
    Plan {
        /// The policy file (TOML).
        #[arg(long, env = "REMEDIATOR_POLICY")]
        policy: PathBuf,
        /// State file to read (never written), so cooldowns and counts are honoured.
        #[arg(long)]
        state: Option<PathBuf>,
        /// Also append the tick's journal record to this file (JSON lines).
        #[arg(long)]
        journal: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = Output::Text)]
        output: Output,
    },
    /// Re-drive an ingest queue: invoke the ingest lambda at a steady rate, one invocation per
    /// visible message, until the queue is drained, --max is reached, or nothing moves for the
    /// policy's `redrive.no_progress_after`. Goes through the same guardrails and journal as
    /// the controller's own re-drives.
    #[command(group(clap::ArgGroup::new("which").required(true).args(["job", "queue"])))]
    Redrive {
        /// The ingest job id: the queue is `<domain with dashes>-ingest-<job>` (needs --policy).
        #[arg(long)]
        job: Option<String>,
        /// The ingest queue, by name or URL, instead of --job.
        #[arg(long)]
        queue: Option<String>,
        /// Invocations per second: `40`, `40/s`, or a fraction such as `0.5`; at most the
        /// policy's `redrive.max_rate`.
        #[arg(long, value_parser = parse_rate, allow_hyphen_values = true)]
        rate: f64,
        /// The policy file (TOML); without it, the shipped defaults and the queue's own domain.
        #[arg(long, env = "REMEDIATOR_POLICY")]
        policy: Option<PathBuf>,
        /// Stop after this many accepted invocations.
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
        max: Option<u64>,
        /// The function to invoke; default: the policy's `redrive.function`
        /// (`tileIngestLambda-<domain with dashes>`).
        #[arg(long)]
        function: Option<String>,
        /// Also append the re-drive's journal records to this file (JSON lines).
        #[arg(long)]
        journal: Option<PathBuf>,
        /// Progress display: a live bar on a terminal, JSON lines on stdout otherwise.
        #[arg(long, value_enum, default_value_t = ProgressStyle::Auto)]
        progress: ProgressStyle,
    },
    /// Check the channels that tell people (SNS topic, chat webhook).
    Signals {
        #[command(subcommand)]
        command: SignalsCommand,
    },
    /// Print whether performers are asked to pause, since when and why, what flow control
    /// holds, and the learned duration baselines (from the state file).
    Status {
        /// The policy file (TOML).
        #[arg(long, env = "REMEDIATOR_POLICY")]
        policy: PathBuf,
        /// State file; default: the policy's `controller.state_file`.
        #[arg(long)]
        state: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = Output::Text)]
        output: Output,
    },
    /// An operator's word on the pause in progress; the running controller takes it at its
    /// next tick.
    Pause {
        #[command(subcommand)]
        command: PauseCommand,
        /// The policy file (TOML).
        #[arg(long, env = "REMEDIATOR_POLICY", global = true)]
        policy: Option<PathBuf>,
        /// State file; default: the policy's `controller.state_file`.
        #[arg(long, global = true)]
        state: Option<PathBuf>,
        /// Who says so, for the messages and the journal; default: $USER.
        #[arg(long, global = true)]
        by: Option<String>,
    },
    /// Run the real decision core against a simulated BOSS in virtual time.
    Simulate {
        /// A shipped scenario name (tileindex-burst, idindex-hot-partition) or a scenario file.
        #[arg(default_value = "tileindex-burst")]
        scenario: String,
        /// Policy file; default: the shipped policies/local.toml.
        #[arg(long, env = "REMEDIATOR_POLICY")]
        policy: Option<PathBuf>,
        /// Run every controller (remediator and the baselines) and print one table.
        #[arg(long)]
        compare: bool,
        /// Which controller to run when not comparing.
        #[arg(long, value_enum, default_value_t = ControllerKind::Remediator, conflicts_with = "compare")]
        controller: ControllerKind,
        /// Override the scenario's seed.
        #[arg(long)]
        seed: Option<u64>,
        #[arg(long, value_enum, default_value_t = Output::Text)]
        output: Output,
    },
}

#[derive(Debug, Subcommand)]
pub enum PauseCommand {
    /// Someone is on it: stop the reminders and the alarm; the pause stays until steady.
    Ack,
    /// End the pause now: the controller sends the resume message and puts flow control back,
    /// and starts no new pause until every watched function has been steady again.
    End,
}

#[derive(Debug, Subcommand)]
pub enum SignalsCommand {
    /// Send one test message on every channel the policy switches on and print, one line per
    /// channel, whether it was delivered. Exit 0 all delivered, 1 any failed, 2 none enabled.
    Test {
        /// The policy file (TOML).
        #[arg(long, env = "REMEDIATOR_POLICY")]
        policy: PathBuf,
        /// Text added to the test message.
        #[arg(long)]
        message: Option<String>,
    },
}
