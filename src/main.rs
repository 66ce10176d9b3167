//! Entry point: parse the command line, run the command, map failures to exit codes
//! (2 for bad input, 1 for failures while running).

use anyhow::Context as _;
use clap::Parser;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle as BarStyle};
use remediator::aws::{self, Aws};
use remediator::aws::{AnyState, DynamoState};
use remediator::cli::{Cli, Command, Output, PauseCommand, ProgressStyle, SignalsCommand};
use remediator::controller::{Controller, Mode, problems};
use remediator::domain::action::Action;
use remediator::domain::hold::HoldReason;
use remediator::domain::redrive::End;
use remediator::journal::Journal;
use remediator::journal::RedriveEntry;
use remediator::policy::{LOCAL_POLICY, Mode as PolicyMode, Policy};
use remediator::reconcile::TickReport;
use remediator::redrive::drive;
use remediator::redrive::fleet::Fleet;
use remediator::redrive::manual::{self, ManualError, Request, Sharing};
use remediator::redrive::show::Show;
use remediator::sim::scenario::SHIPPED;
use remediator::sim::seeds::Seeds;
use remediator::sim::{self, ControllerKind, Scenario};
use remediator::source::Problems;
use remediator::state::{FileState, Halt, HaltMode, StateStore as _};
use remediator::status;
use remediator::time::{Clock, Timestamp};
use remediator::webhook;
use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Exit code for bad input (policy, scenario, flags), as clap uses for usage errors.
const EXIT_BAD_INPUT: u8 = 2;
/// How long a manual re-drive's claim on its queue lasts unless renewed (every third of it).
const CLAIM_FOR: std::time::Duration = std::time::Duration::from_secs(60);
/// Exit code of a re-drive stopped by SIGINT or SIGTERM (128 + SIGINT, as shells report it).
const EXIT_INTERRUPTED: u8 = 130;

/// A command line that cannot be carried out as given (exit 2, like clap's usage errors).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct BadInput(String);

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // Help and version: clap's own rendering on stdout.
        Err(e) if !e.use_stderr() => e.exit(),
        // clap quotes the refused value: its control characters are escaped, never written.
        Err(e) => {
            let text = e.render().to_string();
            let mut stderr = std::io::stderr().lock();
            for line in text.trim_end().lines() {
                // A closed stderr is no reason to panic.
                let _ = writeln!(stderr, "{}", remediator::source::escape(line));
            }
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(EXIT_BAD_INPUT));
        }
    };
    remediator::logging::init(cli.log_format);
    match execute(cli.command) {
        Ok(code) => code,
        Err(e) => {
            if let Some(problems) = e.downcast_ref::<Problems>() {
                eprint!("error: {problems}");
                return ExitCode::from(EXIT_BAD_INPUT);
            }
            if e.is::<BadInput>() || untrusted_state(&e) {
                eprintln!("error: {e}");
                return ExitCode::from(EXIT_BAD_INPUT);
            }
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// A state file that is damaged or holds values no controller could have written: bad input,
/// like a bad policy (exit 2, so a service manager can be told not to restart on it).
fn untrusted_state(e: &anyhow::Error) -> bool {
    use remediator::controller::ControllerError;
    use remediator::state::StateError;
    let state =
        e.downcast_ref::<StateError>()
            .or_else(|| match e.downcast_ref::<ControllerError>() {
                Some(ControllerError::State(s)) => Some(s),
                _ => None,
            });
    matches!(
        state,
        Some(StateError::Corrupt { .. } | StateError::Invalid { .. })
    )
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// The AWS adapters, after checking that credentials resolve: without them every call would
/// fail the same way, and one line saying so is clearer than one per table.
async fn connect(
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
fn webhook_target(policy: &Policy) -> Result<Option<webhook::Target>, BadInput> {
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

async fn run(
    policy: &Policy,
    mode: Mode,
    once: bool,
    state: Option<PathBuf>,
    journal: Journal,
    webhook: Option<webhook::Target>,
) -> anyhow::Result<ExitCode> {
    let aws = connect(policy, once, webhook).await?;
    let store = Some(open_store(policy, state).await);
    let mut controller =
        Controller::start(aws.ports(), policy, store, journal, mode, Clock::System)
            .await?
            .with_metrics();
    if mode == Mode::Enforce && policy.redrive.enabled {
        controller = controller.with_fleet(Fleet::new(
            aws.queues.clone(),
            aws.functions.clone(),
            aws.metrics.clone(),
        ));
    }
    if once {
        // A signal abandons the tick (a change already sent is read back at the next start).
        let report = tokio::select! {
            report = controller.tick(Timestamp::now()) => report?,
            () = shutdown_signal() => {
                controller.release().await;
                eprintln!("error: interrupted in the middle of the tick");
                return Ok(ExitCode::from(EXIT_INTERRUPTED));
            }
        };
        // Re-drives started by this tick run to their end (or until a signal).
        let ended = controller.finish_redrives(true, shutdown_signal()).await;
        // The next process (or a replica) leads at once rather than after the lease expires.
        controller.release().await;
        let ended = ended?;
        // The tick's own problems are printed whatever became of the re-drives.
        let tick = one_shot_exit(&report);
        let gave_up = ended.iter().filter(|s| s.end.needs_person());
        for summary in gave_up.clone() {
            eprintln!(
                "error: re-drive of {}: {}",
                summary.target.queue, summary.end
            );
        }
        if ended.iter().any(|s| s.end == End::Interrupted) {
            return Ok(ExitCode::from(EXIT_INTERRUPTED));
        }
        if gave_up.count() > 0 {
            return Ok(ExitCode::FAILURE);
        }
        return Ok(tick);
    }
    tracing::info!(
        mode = mode.label(),
        "running every {}; stop with SIGINT or SIGTERM",
        remediator::time::human(policy.controller.interval)
    );
    controller
        .run(policy.controller.interval, shutdown_signal())
        .await;
    Ok(ExitCode::SUCCESS)
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

/// `remediator redrive`: the order is checked by the guard and journalled like the controller's
/// own actions, then driven with a live progress display.
async fn redrive(
    policy: &Policy,
    request: &Request,
    mut journal: Journal,
    style: ProgressStyle,
) -> anyhow::Result<ExitCode> {
    let aws = connect(policy, true, None).await?;
    let order = manual::order(request, policy, &aws.queues, &aws.functions)
        .await
        .map_err(|e| match e {
            ManualError::BadInput(m) => anyhow::Error::new(BadInput(m)),
            other => other.into(),
        })?;
    let queue = order.target.queue.clone();
    let entry = |event, action, held, summary| RedriveEntry {
        at: Timestamp::now().to_string(),
        mode: "enforce",
        event,
        queue: &queue,
        action,
        held,
        summary,
    };
    // One re-drive per queue, whoever started it, and one rate budget for all: the order is
    // checked against what the controllers share through the state store, and its queue is
    // claimed there (renewed while the re-drive runs).
    let store = open_store(policy, None).await;
    let owner = format!(
        "operator {} ({})",
        operator(None),
        remediator::controller::Replica::default_name()
    );
    let since = Timestamp::now();
    let claim = {
        let (queue, owner) = (queue.clone(), owner.clone());
        let rate_per_s = order.settings.rate_per_s;
        move |at: Timestamp| remediator::state::Claim {
            queue: queue.clone(),
            owner: owner.clone(),
            since,
            expires: at.plus(CLAIM_FOR),
            rate_per_s,
        }
    };
    let claimed = match manual::admit(&order, policy, &store, &claim(since)).await {
        Ok(Sharing::Claimed) => true,
        Ok(Sharing::Alone(e)) => {
            tracing::warn!(
                "{e}: cannot check the running controllers' re-drives and kill switch; going on as asked"
            );
            false
        }
        Err(held) => {
            journal.write(&entry(
                "redrive-ordered",
                held.action.as_ref(),
                Some(&held.reason),
                None,
            ))?;
            return Err(match held.reason {
                HoldReason::RateAboveMaximum {
                    running_per_s: 0.0, ..
                } => BadInput(format!("--rate: {}", held.reason)).into(),
                _ => anyhow::anyhow!("re-drive of {queue} held: {}", held.reason),
            });
        }
    };
    let renewing = claimed.then(|| {
        let store = store.clone();
        let claim = claim.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(CLAIM_FOR / 3).await;
                let now = Timestamp::now();
                if let Err(e) = store.claim(&claim(now), now).await {
                    tracing::warn!("cannot renew the re-drive's claim: {e}");
                }
            }
        })
    });
    let action = Action::Redrive(order.clone());
    tracing::info!(kind = "redrive", subject = %queue, "re-drive ordered: {}", action.reason());
    journal.write(&entry("redrive-ordered", Some(&action), None, None))?;
    let show = match style {
        ProgressStyle::Auto if std::io::stderr().is_terminal() => {
            Show::bar(order.visible + order.in_flight)
        }
        ProgressStyle::Bar => Show::bar(order.visible + order.in_flight),
        ProgressStyle::Auto | ProgressStyle::Json => Show::JsonLines,
        ProgressStyle::None => Show::Quiet,
    };
    let summary = drive(
        &order.target,
        &order.settings,
        &aws.queues,
        &aws.functions,
        &aws.metrics,
        |p| show.update(p),
        shutdown_signal(),
    )
    .await;
    show.finish(&summary);
    if let Some(task) = renewing {
        task.abort();
        if let Err(e) = store.unclaim(&queue, &owner).await {
            tracing::warn!("{e}: the re-drive's claim lapses instead");
        }
    }
    journal.write(&entry("redrive-ended", None, None, Some(&summary)))?;
    Ok(match &summary.end {
        End::Drained | End::MaxReached | End::NothingVisible { .. } => {
            tracing::info!(subject = %queue, end = summary.end.label(), "re-drive of {queue} ended: {}", summary.end);
            ExitCode::SUCCESS
        }
        End::Interrupted => {
            tracing::warn!(subject = %queue, "re-drive of {queue} interrupted");
            ExitCode::from(EXIT_INTERRUPTED)
        }
        End::NoProgress { .. } | End::Failed { .. } => {
            tracing::error!(subject = %queue, end = summary.end.label(), "escalation: re-drive of {queue} {}", summary.end);
            ExitCode::FAILURE
        }
    })
}

/// `remediator signals test`: one test message on every channel the policy switches on, one
/// line per channel; 1 if any failed.
async fn signals_test(
    policy: &Policy,
    text: Option<&str>,
    webhook: Option<webhook::Target>,
) -> ExitCode {
    use remediator::ports::Signals as _;
    let config = aws::load_config(policy.region.as_deref()).await;
    let signals = aws::AwsSignals::new(&config, &policy.signals).with_webhook(webhook);
    let message = aws::test_message(policy.domain.as_str(), text, Timestamp::now());
    let mut failed = false;
    for channel in policy.signals.channels() {
        match signals.send(channel, &message).await {
            Ok(receipt) => println!("{channel}: delivered ({receipt})"),
            Err(e) => {
                failed = true;
                // The webhook client's errors name it as scheme://host[:port] only.
                println!("{channel}: failed: {e}");
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Prints what went wrong in a one-shot tick, one line each; non-zero if anything did.
fn one_shot_exit(report: &TickReport) -> ExitCode {
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
async fn shutdown_signal() {
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
async fn open_store(policy: &Policy, flag: Option<PathBuf>) -> AnyState {
    match flag.or_else(|| policy.controller.state_file.clone()) {
        Some(path) => AnyState::File(FileState::new(path)),
        None => {
            let config = aws::load_config(policy.region.as_deref()).await;
            AnyState::Table(DynamoState::from_config(&config, policy.state_table()))
        }
    }
}

/// Who an operator command names: `--by`, else $USER.
fn operator(by: Option<String>) -> String {
    by.or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "an operator".into())
}

/// The scenario argument that stands for every shipped scenario.
const ALL_SCENARIOS: &str = "all";

/// How `simulate --compare` runs many simulations (`all`, `--seeds`).
struct Many<'a> {
    compare: bool,
    seed: Option<u64>,
    seeds: Option<&'a Seeds>,
    goal: bool,
    output: Output,
}

/// `simulate --compare` over every shipped scenario (`all`) and/or many seeds: the runs go in
/// parallel, one thread per core, with progress on stderr; then a table per scenario, the total,
/// and with `--goal` the verdicts (exit 1 when any fails).
fn simulate_many(name: &str, policy: &Policy, many: &Many<'_>) -> anyhow::Result<ExitCode> {
    if !many.compare {
        return Err(BadInput(format!(
            "the scenario `{ALL_SCENARIOS}` needs --compare (it runs every controller)"
        ))
        .into());
    }
    let mut scenarios = if name == ALL_SCENARIOS {
        SHIPPED
            .iter()
            .map(|(n, _)| Scenario::load(n))
            .collect::<Result<Vec<_>, _>>()?
    } else {
        vec![Scenario::load(name)?]
    };
    if let Some(seed) = many.seed {
        for s in &mut scenarios {
            s.seed = seed;
        }
    }
    let seeds = many.seeds.map(Seeds::as_slice);
    let total = scenarios.len() * seeds.map_or(1, <[u64]>::len) * ControllerKind::ALL.len();
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let started = std::time::Instant::now();
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
        let style = BarStyle::with_template("{bar:30} {pos}/{len} runs · {elapsed} · {msg}")
            .unwrap_or_else(|_| BarStyle::default_bar());
        bar.set_style(style);
        bar
    });
    let show = |f: sim::batch::Finished<'_>| {
        let what = format!("{} seed {} {}", f.scenario, f.seed, f.controller);
        match &bar {
            Some(bar) => {
                bar.set_position(f.done as u64);
                bar.set_message(what);
            }
            None => eprintln!(
                "[{}/{}] {:>5.0}s {what}",
                f.done,
                f.total,
                started.elapsed().as_secs_f64()
            ),
        }
    };
    let runs = sim::batch::compare(&scenarios, seeds, policy, threads, &show)
        .context("starting a simulation thread")?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let blocks = sim::seeds::blocks(&runs);
    let verdicts = many.goal.then(|| sim::goal::check(&runs));
    match many.output {
        Output::Json => println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "blocks": blocks,
                "goal": verdicts,
            }))?
        ),
        Output::Text => {
            print!("{}", sim::seeds::render(&blocks));
            if let Some(verdicts) = &verdicts {
                print!("{}", sim::goal::render(verdicts));
            }
        }
    }
    Ok(match verdicts {
        Some(v) if !sim::goal::all_pass(&v) => ExitCode::FAILURE,
        _ => ExitCode::SUCCESS,
    })
}

fn load_policy(path: Option<&Path>) -> Result<Policy, Problems> {
    match path {
        Some(p) => Policy::load(p),
        None => Policy::parse(Path::new(LOCAL_POLICY.0), LOCAL_POLICY.1),
    }
}

fn execute(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Run {
            policy,
            once,
            dry_run,
            journal,
            state,
        } => {
            let policy = Policy::load(&policy)?;
            let mode = if dry_run || policy.controller.mode == PolicyMode::DryRun {
                Mode::DryRun
            } else {
                Mode::Enforce
            };
            // A dry run sends nothing: the webhook's URL is not needed.
            let webhook = match mode {
                Mode::Enforce => webhook_target(&policy)?,
                Mode::DryRun | Mode::Plan => None,
            };
            let journal = Journal::open(journal.as_deref())?;
            runtime()?.block_on(run(&policy, mode, once, state, journal, webhook))
        }
        Command::Plan {
            policy,
            state,
            journal,
            output,
        } => {
            let policy = Policy::load(&policy)?;
            let journal = Journal::open(journal.as_deref())?;
            runtime()?.block_on(plan(&policy, state, journal, output))
        }
        Command::Redrive {
            job,
            queue,
            rate,
            policy,
            max,
            function,
            journal,
            progress,
        } => {
            let given = policy.as_deref().map(Policy::load).transpose()?;
            let request = Request {
                job,
                queue,
                rate_per_s: rate,
                max,
                function,
            };
            let policy =
                manual::policy_for(&request, given).map_err(|e| BadInput(e.to_string()))?;
            let journal = Journal::open(journal.as_deref())?;
            runtime()?.block_on(redrive(&policy, &request, journal, progress))
        }
        Command::Signals {
            command: SignalsCommand::Test { policy, message },
        } => {
            let policy = Policy::load(&policy)?;
            if policy.signals.channels().is_empty() {
                return Err(BadInput(format!(
                    "the policy switches on no signal channel: set [signals.sns] topic_arn, or \
                     add [signals.webhook] (URL in {} or a file named by url_file), and leave \
                     `enabled` out or true, to test them",
                    webhook::URL_VARIABLE
                ))
                .into());
            }
            let webhook = webhook_target(&policy)?;
            Ok(runtime()?.block_on(signals_test(&policy, message.as_deref(), webhook)))
        }
        Command::Status {
            policy,
            state,
            output,
        } => {
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
        Command::Pause {
            command,
            policy,
            state,
            by,
        } => {
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
        Command::Init { policy } => {
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
        Command::Halt {
            policy,
            state,
            up_only,
            reason,
            by,
        } => {
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
        Command::Resume { policy, state } => {
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
            seeds,
            goal,
            output,
        } => {
            let policy = load_policy(policy.as_deref())?;
            if scenario == ALL_SCENARIOS || seeds.is_some() {
                let many = Many {
                    compare,
                    seed,
                    seeds: seeds.as_ref(),
                    goal,
                    output,
                };
                return simulate_many(&scenario, &policy, &many);
            }
            let mut scenario = Scenario::load(&scenario)?;
            if let Some(seed) = seed {
                scenario.seed = seed;
            }
            let runtime = runtime()?;
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
