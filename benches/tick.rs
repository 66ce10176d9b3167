//! How long one tick takes, and how many AWS calls it makes, as the number of ingest jobs grows.
//!
//! Not a timed test: `cargo bench --bench tick` prints one table, measured against the moto
//! server (`tests/moto/server.sh start`, port `MOTO_PORT`, default 5010). For each job count it
//! builds a fresh BOSS-like stack under its own domain (BOSS's tables as the moto tests make
//! them, the functions and the alert dead-letter queue of `policies/local.toml`, and per job the
//! ingest, upload, tile-index and tile-index dead-letter queues), then runs ticks exactly as `remediator plan` does: fresh
//! AWS adapters on a current-thread runtime, `Controller::start` in plan mode and one
//! `Controller::tick`, under the same observation deadline. Only the tick is timed; building
//! and deleting the stack is not. One untimed tick first lets moto load its backends.
//!
//! Calls are counted twice: per port call by wrapping each adapter in `Faulty` (which counts
//! and injects nothing here), and per HTTP request by an SDK interceptor (pagination, retries
//! and the Application Auto Scaling reads inside `DescribeTable` show up there).
//!
//! `TICK_BENCH_RUNS` (default 5, at least 3) sets the timed ticks per job count;
//! `TICK_BENCH_JOBS` (default `1,10,100,500`) the job counts; `TICK_BENCH_INTERVAL` (e.g.
//! `10s`) replaces the policy's 30 s interval, and so the observation budget. Exits non-zero
//! when moto does not answer, or when a tick missed a job, left anything unobserved or
//! outlasted the interval.

/// The moto tests' stack fixture; the bench uses only its tables and functions.
#[allow(dead_code)]
#[path = "../tests/aws/stack.rs"]
mod fixture;
#[path = "tick/report.rs"]
mod report;
#[path = "tick/stack.rs"]
mod stack;
#[path = "tick/wire.rs"]
mod wire;

use anyhow::Context as _;
use aws_config::SdkConfig;
use remediator::aws::{AwsSignals, CloudWatchMetrics, DynamoTables, LambdaFunctions, SqsQueues};
use remediator::controller::{Controller, Mode};
use remediator::domain::observed::Unread;
use remediator::domain::port_error::PortError;
use remediator::faults::{Faults, Faulty};
use remediator::journal::Journal;
use remediator::policy::Policy;
use remediator::ports::Ports;
use remediator::reconcile::TickReport;
use remediator::state::FileState;
use remediator::time::{Clock, Timestamp};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;
use std::time::{Duration, Instant};
use wire::Wire;

const DEFAULT_JOBS: [usize; 4] = [1, 10, 100, 500];
const DEFAULT_RUNS: usize = 5;
const MIN_RUNS: usize = 3;

/// What one timed tick measured.
#[derive(Debug, Clone)]
struct Run {
    wall: Duration,
    /// CPU time this process spent in the tick (`None` where `/proc` cannot tell).
    cpu: Option<Duration>,
    /// Port calls by operation, as `Faulty` counted them.
    calls: BTreeMap<&'static str, usize>,
    /// HTTP requests by API operation, as the interceptor counted them.
    http: BTreeMap<String, usize>,
    peak_in_flight: usize,
    jobs_seen: usize,
    /// Subject and cause of each reading the tick went without.
    unobserved: Vec<(String, String)>,
    timed_out: usize,
}

/// Every timed tick of one job count.
#[derive(Debug)]
struct Row {
    jobs: usize,
    runs: Vec<Run>,
}

fn main() -> ExitCode {
    match bench() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn bench() -> anyhow::Result<bool> {
    let jobs = job_counts()?;
    let runs = env_number("TICK_BENCH_RUNS", DEFAULT_RUNS)?;
    anyhow::ensure!(
        runs >= MIN_RUNS,
        "TICK_BENCH_RUNS={runs}: at least {MIN_RUNS}, for a median and a max"
    );
    let port = std::env::var("MOTO_PORT").unwrap_or_else(|_| "5010".into());
    let endpoint = format!("http://127.0.0.1:{port}");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        if let Err(e) = stack::answers(&endpoint).await {
            eprintln!(
                "moto does not answer on {endpoint} ({e:#}).\nStart it with `tests/moto/server.sh start` \
                 (MOTO_PORT={port}), then rerun `cargo bench --bench tick`."
            );
            return Ok(false);
        }
        let stamp = Timestamp::now().0;
        let mut rows = Vec::new();
        let mut policy_seen = None;
        for n in jobs {
            let domain = format!("tick{stamp}-{n}.boss");
            let policy = policy(&domain)?;
            eprintln!("{n} job(s): building the stack {domain} ...");
            let built = stack::Stack::build(&endpoint, &policy, n).await?;
            let measured = measure(&endpoint, &policy, n, runs).await;
            eprintln!("{n} job(s): deleting the stack ...");
            built.delete().await;
            rows.push(Row {
                jobs: n,
                runs: measured?,
            });
            policy_seen = Some(policy);
        }
        let Some(policy) = policy_seen else {
            return Ok(true);
        };
        Ok(report::report(&endpoint, &policy, &rows))
    })
}

/// The shipped local policy on `domain`, with the automatic re-drive on so ingest jobs are
/// read (the alarms, also on, read them too), and the interval `TICK_BENCH_INTERVAL` if set
/// (checked by the policy's own rules), to see what a shorter budget cuts.
fn policy(domain: &str) -> anyhow::Result<Policy> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/policies/local.toml");
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?;
    let mut replaced = text
        .replace("domain = \"local.boss\"", &format!("domain = \"{domain}\""))
        .replace("[redrive]\nenabled = false", "[redrive]\nenabled = true");
    if let Ok(interval) = std::env::var("TICK_BENCH_INTERVAL") {
        anyhow::ensure!(
            replaced.contains("\ninterval = \"30s\"\n"),
            "{path} no longer reads `interval = \"30s\"`: update benches/tick.rs"
        );
        let quoted = toml::Value::String(interval).to_string();
        replaced = replaced.replace(
            "\ninterval = \"30s\"\n",
            &format!("\ninterval = {quoted}\n"),
        );
    }
    anyhow::ensure!(
        replaced.contains(&format!("domain = \"{domain}\""))
            && replaced.contains("[redrive]\nenabled = true")
            && replaced.contains("[alarms]\nenabled = true"),
        "{path} no longer reads `domain = \"local.boss\"`, `[redrive] enabled = false` and \
         `[alarms] enabled = true` as this bench expects: update benches/tick.rs"
    );
    Policy::parse(Path::new(path), &replaced).map_err(|p| anyhow::anyhow!("{p}"))
}

/// One untimed tick, then `runs` timed ones, each with fresh adapters as `plan` makes them.
async fn measure(
    endpoint: &str,
    policy: &Policy,
    jobs: usize,
    runs: usize,
) -> anyhow::Result<Vec<Run>> {
    tick(endpoint, policy).await?;
    let mut measured = Vec::new();
    for i in 1..=runs {
        let run = tick(endpoint, policy).await?;
        eprintln!(
            "{jobs} job(s): tick {i}/{runs}: {} ms, {} port calls, {} HTTP requests",
            run.wall.as_millis(),
            run.calls.values().sum::<usize>(),
            run.http.values().sum::<usize>()
        );
        measured.push(run);
    }
    Ok(measured)
}

/// One tick through the library as `remediator plan` runs it; only `Controller::tick` is timed.
async fn tick(endpoint: &str, policy: &Policy) -> anyhow::Result<Run> {
    let sdk = stack::sdk_config(endpoint, policy).await;
    let wire = Wire::default();
    let faults = Faults::new();
    let adapters = Adapters::new(&sdk, policy, &wire, &faults);
    let mut controller = Controller::start(
        adapters.ports(),
        policy,
        None::<FileState>,
        Journal::open(None)?,
        Mode::Plan,
        Clock::System,
    )
    .await?;
    let cpu_before = cpu_time();
    let started = Instant::now();
    let report = controller.tick(Timestamp::now()).await?;
    let wall = started.elapsed();
    let cpu = cpu_time()
        .zip(cpu_before)
        .map(|(after, before)| after.saturating_sub(before));
    let mut calls = BTreeMap::new();
    for call in faults.log() {
        *calls.entry(call.op.names().1).or_insert(0) += 1;
    }
    let (unobserved, timed_out) = unobserved(&report);
    Ok(Run {
        wall,
        cpu,
        calls,
        http: wire.counts(),
        peak_in_flight: wire.peak(),
        jobs_seen: report.observed.jobs.len(),
        unobserved,
        timed_out,
    })
}

/// CPU time of every thread of this process so far (Linux: `/proc/self/task/*/schedstat`,
/// nanoseconds), so the controller's own share of a tick shows beside moto's.
fn cpu_time() -> Option<Duration> {
    let mut total = 0u64;
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let stat = std::fs::read_to_string(task.ok()?.path().join("schedstat")).ok()?;
        total += stat.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(Duration::from_nanos(total))
}

/// What the tick could not read, one line each, and how many of those the deadline cut.
fn unobserved(report: &TickReport) -> (Vec<(String, String)>, usize) {
    let list = &report.observed.unobserved;
    let timed_out = list
        .iter()
        .filter(|u| matches!(u.reason, Unread::Call(PortError::TimedOut { .. })))
        .count();
    let lines = list
        .iter()
        .map(|u| (u.subject.clone(), u.reason.to_string()))
        .collect();
    (lines, timed_out)
}

/// The ports of one tick: the AWS adapters behind `Faulty`.
type CountedPorts<'a> = Ports<
    'a,
    Faulty<CloudWatchMetrics>,
    Faulty<DynamoTables>,
    Faulty<SqsQueues>,
    Faulty<LambdaFunctions>,
    Faulty<AwsSignals>,
>;

/// The AWS adapters, each client counting its HTTP requests, each adapter counted by `Faulty`.
struct Adapters {
    metrics: Faulty<CloudWatchMetrics>,
    tables: Faulty<DynamoTables>,
    queues: Faulty<SqsQueues>,
    functions: Faulty<LambdaFunctions>,
    signals: Faulty<AwsSignals>,
}

impl Adapters {
    fn new(sdk: &SdkConfig, policy: &Policy, wire: &Wire, faults: &Faults) -> Self {
        macro_rules! client {
            ($sdk_crate:ident) => {
                $sdk_crate::Client::from_conf(
                    $sdk_crate::config::Builder::from(sdk)
                        .interceptor(wire.clone())
                        .build(),
                )
            };
        }
        Self {
            metrics: Faulty::sharing(CloudWatchMetrics::new(client!(aws_sdk_cloudwatch)), faults),
            tables: Faulty::sharing(
                DynamoTables::new(
                    client!(aws_sdk_dynamodb),
                    client!(aws_sdk_applicationautoscaling),
                ),
                faults,
            ),
            queues: Faulty::sharing(SqsQueues::new(client!(aws_sdk_sqs)), faults),
            functions: Faulty::sharing(LambdaFunctions::new(client!(aws_sdk_lambda)), faults),
            signals: Faulty::sharing(AwsSignals::new(sdk, &policy.signals), faults),
        }
    }

    fn ports(&self) -> CountedPorts<'_> {
        Ports {
            metrics: &self.metrics,
            tables: &self.tables,
            queues: &self.queues,
            functions: &self.functions,
            signals: &self.signals,
        }
    }
}

fn env_number(name: &str, default: usize) -> anyhow::Result<usize> {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .parse()
            .with_context(|| format!("{name}={v}: not a whole number")),
        Err(_) => Ok(default),
    }
}

fn job_counts() -> anyhow::Result<Vec<usize>> {
    let Ok(v) = std::env::var("TICK_BENCH_JOBS") else {
        return Ok(DEFAULT_JOBS.to_vec());
    };
    v.split(',')
        .map(|n| {
            let n: usize = n
                .trim()
                .parse()
                .with_context(|| format!("TICK_BENCH_JOBS={v}: `{n}` is not a whole number"))?;
            anyhow::ensure!(
                (1..=2000).contains(&n),
                "TICK_BENCH_JOBS={v}: {n} is outside 1..=2000"
            );
            Ok(n)
        })
        .collect()
}
