//! The command line: parsed once by clap into validated values.
//!
//! Every number that reaches arithmetic is range-checked by its parser, and every name by the
//! AWS rule it must follow; clap reports a refusal with the flag, the allowed range, and exit
//! code 2.

use crate::domain::redrive::{MAX_RATE, MIN_RATE};
use crate::policy::names;
use crate::sim::ControllerKind;
use crate::sim::seeds::Seeds;
use crate::source::{excerpt, is_control};
use clap::{Args, Parser, Subcommand, ValueEnum};
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

/// Parses a re-drive rate: `40`, `40/s` or `0.5`, from [`MIN_RATE`] to [`MAX_RATE`] per second
/// (the pacer's range: a rate of 1e-19 once overflowed it).
///
/// # Errors
/// What is wrong, with the accepted forms and range.
pub fn parse_rate(text: &str) -> Result<f64, String> {
    let number = text.trim().trim_end_matches("/s").trim();
    match number.parse::<f64>() {
        Ok(rate) if (MIN_RATE..=MAX_RATE).contains(&rate) => Ok(rate),
        Ok(_) => Err(format!(
            "the rate must be from {MIN_RATE} to {MAX_RATE} invocations per second (got `{}`)",
            excerpt(text)
        )),
        Err(_) => Err(format!(
            "`{}` is not a rate: write invocations per second from {MIN_RATE} to {MAX_RATE}, e.g. 40, 40/s or 0.5",
            excerpt(text)
        )),
    }
}

/// Parses a whole number in `[low, u64::MAX]`, naming the range when it is not one.
fn whole(text: &str, low: u64, what: &str) -> Result<u64, String> {
    match text.trim().parse::<u64>() {
        Ok(n) if n >= low => Ok(n),
        _ => Err(format!(
            "{what} is a whole number from {low} to {} (got `{}`)",
            u64::MAX,
            excerpt(text)
        )),
    }
}

/// Parses `--max`: how many invocations, at least 1.
///
/// # Errors
/// Not a whole number in range.
pub fn parse_max(text: &str) -> Result<u64, String> {
    whole(text, 1, "the maximum")
}

/// Parses `--seed`: any 64-bit unsigned number.
///
/// # Errors
/// Not a whole number in range.
pub fn parse_seed(text: &str) -> Result<u64, String> {
    whole(text, 0, "a seed")
}

/// Parses `--seeds`: `A..B` (inclusive) or a comma list, at most
/// [`MAX_SEEDS`](crate::sim::seeds::MAX_SEEDS) seeds.
///
/// # Errors
/// Neither form, a backwards range, a repeated seed, or too many; the message names `--seeds`.
pub fn parse_seeds(text: &str) -> Result<Seeds, String> {
    Seeds::parse(text)
}

/// Parses `--job`: a BOSS ingest job id as it appears in queue names.
///
/// # Errors
/// The id breaks the rule.
pub fn parse_job(text: &str) -> Result<String, String> {
    names::job_id(text)
        .map(|()| text.to_string())
        .map_err(|rule| format!("`{}` {rule}", excerpt(text)))
}

/// Parses `--queue`: an SQS queue name, or a queue URL (`http(s)://…/<account>/<name>`).
///
/// # Errors
/// Neither a queue name nor a URL ending in one.
pub fn parse_queue(text: &str) -> Result<String, String> {
    let name = match text.split_once("://") {
        Some((scheme, rest)) => {
            if !matches!(scheme, "https" | "http") || !rest.contains('/') {
                return Err(format!(
                    "`{}` is not a queue URL (https://sqs.<region>.amazonaws.com/<account>/<name>)",
                    excerpt(text)
                ));
            }
            if let Some(c) = text.chars().find(|c| is_control(*c) || c.is_whitespace()) {
                return Err(format!(
                    "the queue URL holds the character U+{:04X}",
                    u32::from(c)
                ));
            }
            text.rsplit('/').next().unwrap_or(text)
        }
        None => text,
    };
    names::queue_name(name)
        .map(|()| text.to_string())
        .map_err(|rule| format!("`{}` {rule}", excerpt(name)))
}

/// Parses `--function`: a Lambda function name or ARN.
///
/// # Errors
/// Neither.
pub fn parse_function(text: &str) -> Result<String, String> {
    names::function_name_or_arn(text)
        .map(|()| text.to_string())
        .map_err(|rule| format!("`{}` {rule}", excerpt(text)))
}

/// Parses free text that ends up in messages, the journal or the state file (`--by`,
/// `--message`): at most 1,000 characters, no control characters.
///
/// # Errors
/// Too long, or a control character (named by code point, never echoed).
pub fn parse_text(text: &str) -> Result<String, String> {
    if let Some(c) = text.chars().find(|c| is_control(*c)) {
        return Err(format!(
            "holds the control character U+{:04X}: control characters are refused",
            u32::from(c)
        ));
    }
    let n = text.chars().count();
    if n > 1000 {
        return Err(format!("is {n} characters long; at most 1000"));
    }
    Ok(text.to_string())
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate a policy file and report every problem in it.
    Check(CheckArgs),
    /// Run the reconcile loop against AWS (or an emulator via AWS_ENDPOINT_URL) every
    /// interval until SIGINT or SIGTERM (the lease is given back at once; a change already
    /// sent is read back at the next start). Replicas on one state table: one leads and acts.
    Run(RunArgs),
    /// Observe once and print what the controller would do, and what it would hold and why.
    Plan(PlanArgs),
    /// Re-drive an ingest queue: invoke the ingest lambda at a steady rate, one invocation per
    /// visible message, until the queue is drained, --max is reached, or nothing moves for the
    /// policy's `redrive.no_progress_after`. Goes through the same guardrails and journal as
    /// the controller's own re-drives.
    Redrive(RedriveArgs),
    /// Check the channels that tell people (SNS topic, chat webhook).
    Signals(SignalsArgs),
    /// Create the state table the replicas share (`controller.state_table`, default
    /// `remediator.<domain>`): on-demand billing, point-in-time recovery and time to live on.
    /// Running it again changes nothing.
    Init(InitArgs),
    /// The kill switch: every replica stops every mutating action at its next tick (people
    /// are still told). `remediator resume` lifts it.
    Halt(HaltArgs),
    /// Lift the kill switch: every replica acts again at its next tick.
    Resume(ResumeArgs),
    /// Print whether performers are asked to pause, since when and why, what flow control
    /// holds, the learned duration baselines, who leads and whether the kill switch is on
    /// (from the state table, or the state file).
    Status(StatusArgs),
    /// An operator's word on the pause in progress; the running controller takes it at its
    /// next tick.
    Pause(PauseArgs),
    /// Run the real decision core against a simulated BOSS in virtual time.
    Simulate(SimulateArgs),
}

/// The arguments of `remediator check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The policy file (TOML).
    pub policy: PathBuf,
    #[arg(long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

/// The arguments of `remediator run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The policy file (TOML).
    #[arg(long, env = "REMEDIATOR_POLICY")]
    pub policy: PathBuf,
    /// One tick, then exit: non-zero if anything could not be observed or a call failed.
    #[arg(long)]
    pub once: bool,
    /// Log every intended action as "would" with its reason and change nothing
    /// (the same as `mode = "dry-run"` in the policy).
    #[arg(long)]
    pub dry_run: bool,
    /// Also append each tick's journal record to this file (JSON lines).
    #[arg(long)]
    pub journal: Option<PathBuf>,
    /// State file for cooldowns and action counts (one process only); overrides the
    /// policy's `state_file`. Without either, the state table `controller.state_table`.
    #[arg(long)]
    pub state: Option<PathBuf>,
}

/// The arguments of `remediator plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The policy file (TOML).
    #[arg(long, env = "REMEDIATOR_POLICY")]
    pub policy: PathBuf,
    /// State file to read (never written), so cooldowns and counts are honoured.
    #[arg(long)]
    pub state: Option<PathBuf>,
    /// Also append the tick's journal record to this file (JSON lines).
    #[arg(long)]
    pub journal: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

/// The arguments of `remediator redrive`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("which").required(true).args(["job", "queue"])))]
pub struct RedriveArgs {
    /// The ingest job id: the queue is `<domain with dashes>-ingest-<job>` (needs --policy).
    #[arg(long, value_parser = parse_job)]
    pub job: Option<String>,
    /// The ingest queue, by name or URL, instead of --job.
    #[arg(long, value_parser = parse_queue)]
    pub queue: Option<String>,
    /// Invocations per second: `40`, `40/s`, or a fraction such as `0.5`; from 0.01 to
    /// 10000, and at most the policy's `redrive.max_rate`.
    #[arg(long, value_parser = parse_rate, allow_hyphen_values = true)]
    pub rate: f64,
    /// The policy file (TOML); without it, the shipped defaults and the queue's own domain.
    #[arg(long, env = "REMEDIATOR_POLICY")]
    pub policy: Option<PathBuf>,
    /// Stop after this many accepted invocations (at least 1).
    #[arg(long, value_parser = parse_max, allow_hyphen_values = true)]
    pub max: Option<u64>,
    /// The function to invoke, by name or ARN; default: the policy's `redrive.function`
    /// (`tileIngestLambda-<domain with dashes>`).
    #[arg(long, value_parser = parse_function)]
    pub function: Option<String>,
    /// Also append the re-drive's journal records to this file (JSON lines).
    #[arg(long)]
    pub journal: Option<PathBuf>,
    /// Progress display: a live bar on a terminal, JSON lines on stdout otherwise.
    #[arg(long, value_enum, default_value_t = ProgressStyle::Auto)]
    pub progress: ProgressStyle,
}

/// The arguments of `remediator signals`.
#[derive(Debug, Args)]
pub struct SignalsArgs {
    #[command(subcommand)]
    pub command: SignalsCommand,
}

/// The arguments of `remediator init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The policy file (TOML).
    #[arg(long, env = "REMEDIATOR_POLICY")]
    pub policy: PathBuf,
}

/// The arguments of `remediator halt`.
#[derive(Debug, Args)]
pub struct HaltArgs {
    /// The policy file (TOML).
    #[arg(long, env = "REMEDIATOR_POLICY")]
    pub policy: PathBuf,
    /// State file instead of the state table (one-process use).
    #[arg(long)]
    pub state: Option<PathBuf>,
    /// Still allow raises and re-drives; hold only what lowers or pauses.
    #[arg(long)]
    pub up_only: bool,
    /// Why, for the journal and `status`.
    #[arg(long, value_parser = parse_text, default_value = "no reason given")]
    pub reason: String,
    /// Who says so; default: $USER.
    #[arg(long, value_parser = parse_text)]
    pub by: Option<String>,
}

/// The arguments of `remediator resume`.
#[derive(Debug, Args)]
pub struct ResumeArgs {
    /// The policy file (TOML).
    #[arg(long, env = "REMEDIATOR_POLICY")]
    pub policy: PathBuf,
    /// State file instead of the state table (one-process use).
    #[arg(long)]
    pub state: Option<PathBuf>,
}

/// The arguments of `remediator status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The policy file (TOML).
    #[arg(long, env = "REMEDIATOR_POLICY")]
    pub policy: PathBuf,
    /// State file instead of the state table; default: the policy's `controller.state_file`.
    #[arg(long)]
    pub state: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

/// The arguments of `remediator pause`.
#[derive(Debug, Args)]
pub struct PauseArgs {
    #[command(subcommand)]
    pub command: PauseCommand,
    /// The policy file (TOML).
    #[arg(long, env = "REMEDIATOR_POLICY", global = true)]
    pub policy: Option<PathBuf>,
    /// State file instead of the state table; default: the policy's `controller.state_file`.
    #[arg(long, global = true)]
    pub state: Option<PathBuf>,
    /// Who says so, for the messages and the journal; default: $USER.
    #[arg(long, global = true, value_parser = parse_text)]
    pub by: Option<String>,
}

/// The arguments of `remediator simulate`.
#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// A shipped scenario (backtest-export, burst-26k, diurnal, gsi-heavy,
    /// idindex-hot-partition, job-cancelled, noisy, read-heavy, short-bursts, slow-ramp,
    /// step-down-up, three-tables, tileindex-burst, too-much-activity), a scenario file, or
    /// `all` (every shipped scenario; needs --compare).
    #[arg(default_value = "tileindex-burst")]
    pub scenario: String,
    /// Policy file; default: the shipped policies/local.toml.
    #[arg(long, env = "REMEDIATOR_POLICY")]
    pub policy: Option<PathBuf>,
    /// Run every controller (remediator and the baselines) and print one table.
    #[arg(long)]
    pub compare: bool,
    /// Which controller to run when not comparing.
    #[arg(long, value_enum, default_value_t = ControllerKind::Remediator, conflicts_with = "compare")]
    pub controller: ControllerKind,
    /// Override the scenario's seed (0 to 18446744073709551615).
    #[arg(long, value_parser = parse_seed, allow_hyphen_values = true)]
    pub seed: Option<u64>,
    /// With --compare: run every controller over each of these seeds and print, per
    /// controller, the mean and worst figures. `A..B` (inclusive) or a comma list, at most
    /// 1000 seeds. Runs go in parallel, one per core; progress goes to stderr.
    #[arg(long, value_parser = parse_seeds, requires = "compare", conflicts_with = "seed", allow_hyphen_values = true)]
    pub seeds: Option<Seeds>,
    /// With --compare --seeds: check the goal (remediator against the baselines and
    /// the oracle), one PASS/FAIL line per clause and scenario; exit 1 when any fails.
    #[arg(long, requires = "seeds")]
    pub goal: bool,
    #[arg(long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
    /// Also draw, per table, GSI and controller, demand, provisioned capacity (raises and
    /// lowers marked) and throttled requests over virtual time to this SVG file. With
    /// --seeds, the first seed only; not with `all`.
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,
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
        #[arg(long, value_parser = parse_text)]
        message: Option<String>,
    },
}
