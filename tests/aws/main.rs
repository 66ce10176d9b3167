//! The real binary against moto server through the official AWS SDK: `run`, `plan`, dry-run,
//! the journal and the state file, Application Auto Scaling, and server faults.
//!
//! moto never throttles, so throttling is injected as CloudWatch data in `AWS/DynamoDB`. moto
//! matches a query's dimensions as a subset (a `TableName`-only query also sums the GSI's
//! datapoints); the expected values below hold either way because the policy's `min_step`
//! dominates the raise.

// The shared binary runner; its argument-only `remediator` is not used here.
mod adapters;
#[allow(dead_code)]
#[path = "../common/mod.rs"]
mod common;
mod emf;
#[path = "../loopback/http.rs"]
mod http;
#[path = "../loopback/lambda.rs"]
mod lambda;
#[path = "../loopback/lambda_front.rs"]
mod lambda_front;
mod pause;
mod proxy;
mod redrive;
mod replicas;
mod restarts;
mod secrets;
mod signals;
mod stack;
mod stack_pause;
mod trust;
#[path = "../loopback/webhook.rs"]
mod webhook;

use common::{Run, output};
use serde_json::Value;
use stack::{Capacity, GSI, Stack, moto_url};
use std::path::{Path, PathBuf};
use std::process::Command;

/// This test's stack domain, unique per test process so reruns against a long-lived moto
/// server never meet the tables of an earlier run.
fn domain(name: &str) -> String {
    format!("{name}{}.test", std::process::id())
}

/// A scratch directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("aws-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// The shipped local policy on this test's domain.
fn policy(dir: &Path, domain: &str) -> PathBuf {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/policies/local.toml"))
        .expect("local policy");
    let text = text.replace("domain = \"local.boss\"", &format!("domain = \"{domain}\""));
    // Drift detection watches Lambda functions these stacks do not have, and the alert topic
    // is the demo stack's; the pause tests switch both on with resources they create.
    let text = text
        .replace("[drift]\nenabled = true", "[drift]\nenabled = false")
        .replace(
            "[signals.sns]\nenabled = true",
            "[signals.sns]\nenabled = false",
        )
        .replace(
            "topic_arn = \"arn:aws:sns:us-east-1:123456789012:local-boss-alerts\"",
            "",
        );
    let path = dir.join("policy.toml");
    std::fs::write(&path, text).expect("write policy");
    path
}

/// [`policy`] with lines changed, `(old, new)`: each old line must be there, so a policy
/// reworded since the test was written fails here rather than testing the default.
fn policy_with(dir: &Path, domain: &str, changes: &[(&str, &str)]) -> PathBuf {
    let path = policy(dir, domain);
    let mut text = std::fs::read_to_string(&path).expect("policy");
    for (old, new) in changes {
        assert!(text.contains(old), "policy has no `{old}`");
        text = text.replace(old, new);
    }
    std::fs::write(&path, text).expect("policy");
    path
}

/// Starts the binary in the background: its log to `log` (read once it stops), its stdout (the
/// metrics lines) discarded.
fn spawn_logged(cmd: &mut Command, log: &Path) -> std::process::Child {
    cmd.stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(log).expect("log file"))
        .spawn()
        .expect("start the binary")
}

/// Sends `signal` (`TERM`, `INT`, `KILL`, `STOP`, `CONT`) to a process the test started.
fn signal(child: &std::process::Child, signal: &str) {
    let sent = Command::new("kill")
        .args([format!("-{signal}"), child.id().to_string()])
        .status()
        .is_ok_and(|s| s.success());
    assert!(sent, "kill -{signal} {}", child.id());
}

/// Waits for a process the test started (on a blocking thread) and collects what it printed.
async fn finish(child: std::process::Child) -> Run {
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().expect("wait"))
        .await
        .expect("join");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into(),
        stderr: String::from_utf8_lossy(&out.stderr).into(),
    }
}

/// The binary pointed at `endpoint`, with nothing from the environment that could point it
/// elsewhere (profiles, config files, instance metadata), and test credentials if asked.
fn isolated(endpoint: &str, credentials: bool) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_remediator"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", env!("CARGO_TARGET_TMPDIR"))
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_REGION", stack::REGION)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        .env("REMEDIATOR_LOG", "info");
    if credentials {
        cmd.env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing");
    }
    cmd
}

/// Runs the binary against `endpoint` with test credentials.
fn remediator(endpoint: &str, args: &[&str]) -> Run {
    output(isolated(endpoint, true).args(args))
}

/// `run --once` with this policy and state file, against moto.
fn run_once(policy: &Path, state: &str) -> Run {
    let policy = policy.to_str().expect("utf-8");
    remediator(
        moto_url(),
        &["run", "--once", "--policy", policy, "--state", state],
    )
}

/// Runs the binary on a blocking thread so the test's runtime (and the fault proxy) keeps going.
async fn remediator_async(endpoint: String, args: Vec<String>) -> Run {
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        remediator(&endpoint, &args)
    })
    .await
    .expect("join")
}

fn journal(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("journal line is JSON"))
        .collect()
}

fn strs(dir: &Path, file: &str) -> String {
    dir.join(file).to_string_lossy().into_owned()
}

/// The `error:` lines a one-shot command printed.
fn error_lines(stderr: &str) -> Vec<&str> {
    stderr.lines().filter(|l| l.starts_with("error:")).collect()
}

/// `(name, number field)` of every entry of a JSON array in the journal (queues, functions).
fn name_and_number(entries: &Value, field: &str) -> Vec<(String, u64)> {
    entries
        .as_array()
        .unwrap_or_else(|| panic!("no such array in the journal: {entries}"))
        .iter()
        .map(|e| {
            let name = e["name"].as_str().unwrap_or_default().to_string();
            (name, e[field].as_u64().unwrap_or(u64::MAX))
        })
        .collect()
}

/// `(kind, outcome)` of every action of a journal record.
fn outcomes(record: &Value) -> Vec<(String, String)> {
    record["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .map(|d| {
            (
                d["action"]["kind"].as_str().unwrap_or_default().to_string(),
                d["outcome"]["outcome"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect()
}

/// `(kind, resource)` of every entry of a JSON array.
fn kinds(entries: &Value) -> Vec<(String, String)> {
    entries
        .as_array()
        .expect("array")
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap_or_default().to_string(),
                e["resource"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// tileindex and its GSI throttle on writes; idIndex (on demand) throttles too.
async fn throttled_stack(domain: &str) -> Stack {
    let stack = Stack::create(domain, moto_url()).await;
    stack.throttle_writes("tileindex", None, 120.0).await;
    stack.throttle_writes("tileindex", Some(GSI), 120.0).await;
    stack.calm_reads("tileindex", None).await;
    stack.calm_reads("tileindex", Some(GSI)).await;
    stack
        .put_metric("idIndex", None, "WriteThrottleEvents", 300.0, &[3, 2, 1])
        .await;
    stack
        .put_metric(
            "idIndex",
            None,
            "ConsumedWriteCapacityUnits",
            6000.0,
            &[3, 2, 1],
        )
        .await;
    stack
}

const UNCHANGED: Capacity = Capacity {
    read: 10,
    write: 10,
};
/// The plan for this data: demand (10 consumed + 2 throttled)/s × headroom is 15, and a raise
/// adds at least min_step (50): 60.
const RAISED: Capacity = Capacity {
    read: 10,
    write: 60,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_once_raises_exactly_the_throttled_dimensions_then_cools_down() {
    let dir = scratch("raise");
    let stack = throttled_stack(&domain("raise")).await;
    let policy = policy(&dir, &domain("raise"));
    let (state, journal_path) = (strs(&dir, "state.json"), strs(&dir, "journal.jsonl"));
    let args = [
        "run",
        "--once",
        "--policy",
        policy.to_str().expect("utf-8"),
        "--state",
        &state,
        "--journal",
        &journal_path,
    ];
    let first = remediator(moto_url(), &args);
    assert_eq!(first.code, 0, "stderr: {}", first.stderr);
    assert_eq!(stack.capacity("tileindex", None).await, RAISED);
    assert_eq!(stack.capacity("tileindex", Some(GSI)).await, RAISED);
    assert_eq!(
        stack.billing_mode("idIndex").await,
        Some(aws_sdk_dynamodb::types::BillingMode::PayPerRequest)
    );
    let records = journal(Path::new(&journal_path));
    assert_eq!(records.len(), 1);
    let done: Vec<(String, String, String)> = records[0]["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .map(|d| {
            (
                d["action"]["kind"].as_str().unwrap_or_default().to_string(),
                d["outcome"]["outcome"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                d["action"]["key"]["dimension"]
                    .as_str()
                    .or(d["action"]["resource"]["table"].as_str())
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect();
    let raises = done.iter().filter(|d| d.0 == "raise-capacity").count();
    assert_eq!(raises, 2, "journal actions: {done:?}");
    assert!(done.iter().all(|d| d.1 == "applied" || d.1 == "reported"));
    assert!(
        done.iter().any(|d| d.0 == "escalate" && d.1 == "reported"),
        "idIndex throttling is escalated: {done:?}"
    );
    // With no signal channel configured, the escalation's notice goes to the log only.
    assert!(
        done.iter().any(|d| d.0 == "notify" && d.1 == "reported"),
        "and told to people: {done:?}"
    );
    assert!(
        first.stderr.contains("did raise-capacity"),
        "{}",
        first.stderr
    );

    // Inside the cooldown: nothing changes, and the journal says why.
    let second = remediator(moto_url(), &args);
    assert_eq!(second.code, 0, "stderr: {}", second.stderr);
    assert_eq!(stack.capacity("tileindex", None).await, RAISED);
    assert_eq!(stack.capacity("tileindex", Some(GSI)).await, RAISED);
    let records = journal(Path::new(&journal_path));
    assert_eq!(records.len(), 2);
    assert_eq!(records[1]["actions"].as_array().map(Vec::len), Some(0));
    let held: Vec<(String, String)> = records[1]["held"]
        .as_array()
        .expect("held")
        .iter()
        .map(|h| {
            let subject = h["subject"].as_str().unwrap_or_default().to_string();
            (
                subject,
                h["reason"]["hold"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    // The raised dimensions are not proposed again: while the change is taking effect the
    // table's plan waits for it, and once it has, the same minutes' demand fits the new
    // capacity (targets are sized from demand, not stepped from the current capacity).
    let d = domain("raise");
    let verdict_of = |subject: &str| {
        records[1]["verdicts"]
            .as_array()
            .expect("verdicts")
            .iter()
            .find(|v| v["subject"] == subject)
            .map(|v| v["finding"].as_str().unwrap_or_default().to_string())
            .unwrap_or_default()
    };
    let table = verdict_of(&format!("tileindex.{d}"));
    for subject in [
        format!("tileindex.{d} write"),
        format!("tileindex.{d}/index/task_id_index write"),
    ] {
        let own = verdict_of(&subject);
        assert!(
            table.starts_with("waiting for the change") || own.contains("fits"),
            "{subject}: {own} (table: {table})"
        );
    }
    assert!(
        held.contains(&(format!("idIndex.{d}"), "already-escalated".to_string())),
        "{held:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_and_plan_change_nothing_and_agree_with_run() {
    let dir = scratch("dry");
    let d = domain("dry");
    let stack = throttled_stack(&d).await;
    let policy = policy(&dir, &domain("dry"));
    let policy = policy.to_str().expect("utf-8");
    let journal_path = strs(&dir, "journal.jsonl");
    let dry = remediator(
        moto_url(),
        &[
            "run",
            "--once",
            "--dry-run",
            "--policy",
            policy,
            "--journal",
            &journal_path,
        ],
    );
    assert_eq!(dry.code, 0, "stderr: {}", dry.stderr);
    assert!(
        dry.stderr.contains("would raise-capacity"),
        "{}",
        dry.stderr
    );
    let plan = remediator(
        moto_url(),
        &["plan", "--policy", policy, "--output", "json"],
    );
    assert_eq!(plan.code, 0, "stderr: {}", plan.stderr);
    assert_eq!(stack.capacity("tileindex", None).await, UNCHANGED);
    assert_eq!(stack.capacity("tileindex", Some(GSI)).await, UNCHANGED);

    let plan: Value = serde_json::from_str(&plan.stdout).expect("plan JSON");
    let resources: Vec<String> = kinds(&plan["actions"]).into_iter().map(|k| k.1).collect();
    assert_eq!(
        resources.len(),
        4,
        "two raises, one escalation and its notice: {resources:?}"
    );
    assert!(
        resources.contains(&format!("tileindex.{d} write")),
        "{resources:?}"
    );
    assert!(
        resources.contains(&format!("tileindex.{d}/index/task_id_index write")),
        "{resources:?}"
    );
    for entry in plan["actions"].as_array().expect("actions") {
        assert!(entry["reason"].as_str().is_some_and(|r| !r.is_empty()));
    }
    let planned = identities(plan["actions"].as_array().expect("actions").iter());
    let records = journal(Path::new(&journal_path));
    let dry_actions = records[0]["actions"].as_array().expect("actions");
    assert!(
        dry_actions
            .iter()
            .all(|d| d["outcome"]["outcome"] == "would-apply"),
        "{dry_actions:?}"
    );
    assert_eq!(
        identities(dry_actions.iter()),
        planned,
        "dry-run and plan agree"
    );

    // Then `run` does what plan said, and applies it.
    let state = strs(&dir, "state.json");
    let run = remediator(
        moto_url(),
        &[
            "run",
            "--once",
            "--policy",
            policy,
            "--state",
            &state,
            "--journal",
            &journal_path,
        ],
    );
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    let records = journal(Path::new(&journal_path));
    let done = records[1]["actions"].as_array().expect("actions");
    assert_eq!(identities(done.iter()), planned, "run did what plan said");
    assert_eq!(stack.capacity("tileindex", None).await, RAISED);
    assert_eq!(stack.capacity("tileindex", Some(GSI)).await, RAISED);
}

/// What an action is, without its evidence (whose age differs from run to run): kind, target
/// (key or resource), new capacity or cause. Accepts plan entries and journal entries, which
/// both carry the action under `action`; sorted.
fn identities<'a>(entries: impl Iterator<Item = &'a Value>) -> Vec<String> {
    let mut out: Vec<String> = entries
        .map(|e| {
            let a = &e["action"];
            // A notice's key carries the time it was first formed: the two runs differ there.
            let key = match a["key"].as_str() {
                Some(k) => Value::from(k.split('@').next().unwrap_or(k)),
                None => a["key"].clone(),
            };
            serde_json::json!([a["kind"], key, a["resource"], a["to"], a["cause"]]).to_string()
        })
        .collect();
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_prints_a_readable_table() {
    let dir = scratch("plantext");
    let _stack = throttled_stack(&domain("plantext")).await;
    let policy = policy(&dir, &domain("plantext"));
    let plan = remediator(
        moto_url(),
        &["plan", "--policy", policy.to_str().expect("utf-8")],
    );
    assert_eq!(plan.code, 0, "stderr: {}", plan.stderr);
    assert!(plan.stdout.contains("WOULD DO"), "{}", plan.stdout);
    assert!(plan.stdout.contains("HELD"), "{}", plan.stdout);
    assert!(
        plan.stdout.contains(&format!(
            "raise-capacity  tileindex.{} write",
            domain("plantext")
        )),
        "{}",
        plan.stdout
    );
    assert!(plan.stdout.contains("escalate"), "{}", plan.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_or_missing_metrics_hold() {
    let dir = scratch("stale");
    let stack = Stack::create(&domain("stale"), moto_url()).await;
    // Throttling ten minutes ago, nothing since: older than stale_after (5 m).
    stack
        .put_metric("tileindex", None, "WriteThrottleEvents", 500.0, &[10])
        .await;
    stack
        .put_metric(
            "tileindex",
            None,
            "ConsumedWriteCapacityUnits",
            600.0,
            &[10],
        )
        .await;
    let policy = policy(&dir, &domain("stale"));
    let plan = remediator(
        moto_url(),
        &[
            "plan",
            "--policy",
            policy.to_str().expect("utf-8"),
            "--output",
            "json",
        ],
    );
    assert_eq!(plan.code, 0, "stderr: {}", plan.stderr);
    let plan: Value = serde_json::from_str(&plan.stdout).expect("plan JSON");
    assert_eq!(plan["actions"].as_array().map(Vec::len), Some(0), "{plan}");
    let reason_for = |resource: String| {
        plan["held"]
            .as_array()
            .expect("held")
            .iter()
            .find(|h| h["resource"] == resource.as_str())
            .map(|h| h["reason"].as_str().unwrap_or_default().to_string())
            .unwrap_or_else(|| panic!("{resource} not held: {}", plan["held"]))
    };
    let d = domain("stale");
    let table = reason_for(format!("tileindex.{d} write"));
    assert!(table.starts_with("stale data"), "{table}");
    let gsi = reason_for(format!("tileindex.{d}/index/task_id_index write"));
    assert!(
        gsi.starts_with("missing data"),
        "the GSI has no data at all: {gsi}"
    );
    assert_eq!(stack.capacity("tileindex", None).await, UNCHANGED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn autoscaled_dimension_gets_its_minimum_raised_instead_of_update_table() {
    use aws_sdk_applicationautoscaling::types::{ScalableDimension, ServiceNamespace};
    let dir = scratch("scaling");
    let stack = throttled_stack(&domain("scaling")).await;
    let resource_id = format!("table/{}", stack.table("tileindex"));
    stack
        .autoscaling
        .register_scalable_target()
        .service_namespace(ServiceNamespace::Dynamodb)
        .resource_id(&resource_id)
        .scalable_dimension(ScalableDimension::DynamoDbTableWriteCapacityUnits)
        .min_capacity(5)
        .max_capacity(40000)
        .send()
        .await
        .expect("register scalable target");
    let policy = policy(&dir, &domain("scaling"));
    let state = strs(&dir, "state.json");
    let run = run_once(&policy, &state);
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    let targets = stack
        .autoscaling
        .describe_scalable_targets()
        .service_namespace(ServiceNamespace::Dynamodb)
        .resource_ids(&resource_id)
        .send()
        .await
        .expect("describe scalable targets");
    let target = targets
        .scalable_targets()
        .iter()
        .find(|t| t.scalable_dimension() == &ScalableDimension::DynamoDbTableWriteCapacityUnits)
        .expect("target");
    assert_eq!((target.min_capacity(), target.max_capacity()), (60, 40000));
    // The table itself went through the autoscaler, not UpdateTable; the GSI has no target.
    assert_eq!(stack.capacity("tileindex", None).await, UNCHANGED);
    assert_eq!(stack.capacity("tileindex", Some(GSI)).await, RAISED);
    assert!(
        run.stderr.contains("RegisterScalableTarget"),
        "{}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_table_beside_an_autoscaler_raise_keeps_the_new_minimum() {
    use aws_sdk_applicationautoscaling::types::{ScalableDimension, ServiceNamespace};
    let dir = scratch("mixed");
    let d = domain("mixed");
    let stack = throttled_stack(&d).await;
    // Reads throttle too, and an autoscaler manages them: in one tick the read raise goes
    // through RegisterScalableTarget and the write raise through UpdateTable, which must send
    // the new read minimum rather than the read capacity observed before the tick.
    stack
        .put_metric(
            "tileindex",
            None,
            "ConsumedReadCapacityUnits",
            600.0,
            &[3, 2, 1],
        )
        .await;
    stack
        .put_metric("tileindex", None, "ReadThrottleEvents", 120.0, &[3, 2, 1])
        .await;
    stack
        .autoscaling
        .register_scalable_target()
        .service_namespace(ServiceNamespace::Dynamodb)
        .resource_id(format!("table/{}", stack.table("tileindex")))
        .scalable_dimension(ScalableDimension::DynamoDbTableReadCapacityUnits)
        .min_capacity(5)
        .max_capacity(40000)
        .send()
        .await
        .expect("register scalable target");
    let policy = policy(&dir, &d);
    let run = run_once(&policy, &strs(&dir, "state.json"));
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    assert!(
        run.stderr.contains("RegisterScalableTarget"),
        "{}",
        run.stderr
    );
    assert_eq!(
        stack.capacity("tileindex", None).await,
        Capacity {
            read: 60,
            write: 60
        }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_table_is_one_clear_line_and_the_rest_still_works() {
    let dir = scratch("missing");
    let d = domain("missing");
    let stack = Stack::create(&d, moto_url()).await;
    stack.throttle_writes("tileindex", None, 120.0).await;
    stack
        .dynamodb
        .delete_table()
        .table_name(stack.table("s3index"))
        .send()
        .await
        .expect("delete s3index");
    let policy = policy(&dir, &domain("missing"));
    let state = strs(&dir, "state.json");
    let run = run_once(&policy, &state);
    assert_eq!(
        run.code, 1,
        "one-shot with a missing table fails: {}",
        run.stderr
    );
    let errors = error_lines(&run.stderr);
    assert_eq!(
        errors,
        [format!(
            "error: s3index.{d}: not observed: s3index.{d} does not exist"
        )],
        "{}",
        run.stderr
    );
    assert_eq!(stack.capacity("tileindex", None).await.write, 60);
}

#[test]
fn unreachable_endpoint_is_one_clear_line() {
    let dir = scratch("unreachable");
    let policy = policy(&dir, &domain("unreachable"));
    // Nothing listens on port 9 (discard) on loopback.
    let plan = remediator(
        "http://127.0.0.1:9",
        &["plan", "--policy", policy.to_str().expect("utf-8")],
    );
    assert_eq!(plan.code, 1, "{}", plan.stderr);
    let errors = error_lines(&plan.stderr);
    assert_eq!(
        errors.len(),
        1,
        "every table fails the same way: one line\n{}",
        plan.stderr
    );
    assert!(errors[0].contains("not observed"), "{}", errors[0]);
    assert!(errors[0].contains("Connection refused"), "{}", errors[0]);
    assert!(
        !errors[0].contains("DispatchFailure {"),
        "no Debug dump: {}",
        errors[0]
    );
}

#[test]
fn missing_credentials_is_one_clear_line() {
    let dir = scratch("nocreds");
    let policy = policy(&dir, &domain("nocreds"));
    let plan = output(isolated(moto_url(), false).args([
        "plan",
        "--policy",
        policy.to_str().expect("utf-8"),
    ]));
    let stderr = plan.stderr;
    assert_eq!(plan.code, 1, "{stderr}");
    let errors = error_lines(&stderr);
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(errors[0].contains("no AWS credentials"), "{stderr}");
}

#[test]
fn run_without_a_state_table_says_to_create_it_and_acts_on_nothing() {
    let dir = scratch("nostate");
    let policy = policy(&dir, &domain("nostate"));
    let run = remediator(
        moto_url(),
        &["run", "--once", "--policy", policy.to_str().expect("utf-8")],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "state table remediator.{} does not exist",
            domain("nostate")
        )),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("remediator init"), "{}", run.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_faults_are_retried_or_held_never_double_applied() {
    let dir = scratch("faults");
    let stack = throttled_stack(&domain("faults")).await;
    let policy = policy(&dir, &domain("faults"));
    let policy = policy.to_str().expect("utf-8").to_string();
    let state = strs(&dir, "state.json");
    let journal_path = strs(&dir, "journal.jsonl");
    let args = |extra: &[&str]| -> Vec<String> {
        let mut a: Vec<String> = ["run", "--once", "--policy", &policy, "--state", &state]
            .iter()
            .map(|s| (*s).to_string())
            .collect();
        a.extend(["--journal".to_string(), journal_path.clone()]);
        a.extend(extra.iter().map(|s| (*s).to_string()));
        a
    };

    // 1. GetMetricData answers 500 twice: the SDK's retries get through, the tick acts.
    let proxy = proxy::Proxy::start(moto_url()).await;
    proxy.fail("GetMetricData", proxy::Fault::ServerError, 2);
    // 2. UpdateTable is throttled on every attempt of this tick: held as transient, not applied.
    proxy.fail("UpdateTable", proxy::Fault::Throttling, 3);
    let run = remediator_async(proxy.url(), args(&[])).await;
    assert_eq!(
        run.code, 1,
        "a failed call makes the one-shot fail: {}",
        run.stderr
    );
    assert!(
        run.stderr.contains("will retry next tick"),
        "{}",
        run.stderr
    );
    assert_eq!(stack.capacity("tileindex", None).await, UNCHANGED);
    assert_eq!(
        proxy.seen("UpdateTable"),
        3,
        "three attempts, then the tick gave up"
    );
    assert!(proxy.seen("GetMetricData") >= 3);

    // 3. The next tick succeeds and applies the raise exactly once.
    let run = remediator_async(proxy.url(), args(&[])).await;
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    assert_eq!(stack.capacity("tileindex", None).await, RAISED);
    assert_eq!(proxy.seen("UpdateTable"), 4);

    // 4. A DescribeTable answered after the 10 s attempt timeout is abandoned and retried; the
    //    tick completes with every table observed, and the cooldown from tick 3 is honoured:
    //    no second UpdateTable.
    let described = proxy.seen("DescribeTable");
    proxy.fail("DescribeTable", proxy::Fault::Slow, 1);
    let run = remediator_async(proxy.url(), args(&[])).await;
    assert_eq!(
        run.code, 0,
        "every table observed after the retry: {}",
        run.stderr
    );
    assert_eq!(
        proxy.seen("DescribeTable") - described,
        5,
        "the policy's four tables, one of them asked twice"
    );
    assert_eq!(proxy.seen("UpdateTable"), 4, "{}", run.stderr);
    assert_eq!(stack.capacity("tileindex", None).await, RAISED);
    let records = journal(Path::new(&journal_path));
    assert_eq!(records.len(), 3);
    let failed = records[0]["actions"].to_string();
    assert!(failed.contains("\"transient\":true"), "{failed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ingest_queues_and_functions_are_observed_for_the_later_rules() {
    let dir = scratch("ingest");
    let d = domain("ingest");
    let stack = Stack::create(&d, moto_url()).await;
    let q1 = stack.ingest_queue(1, 3).await;
    let q2 = stack.ingest_queue(2, 0).await;
    stack
        .sqs
        .create_queue()
        .queue_name(format!("{}-other", stack.dashed()))
        .send()
        .await
        .expect("unrelated queue");
    for short in ["tileIngestLambda", "tileUploadLambda"] {
        stack.function(short, 120).await;
    }
    // multiLambda is left out: it must show as unobserved, and the rest still be read.
    let policy = policy_with(
        &dir,
        &domain("ingest"),
        &[
            ("[redrive]\nenabled = false", "[redrive]\nenabled = true"),
            ("[drift]\nenabled = false", "[drift]\nenabled = true"),
        ],
    );
    let journal_path = strs(&dir, "journal.jsonl");
    // moto has no GetAccountSettings: the front answers it and forwards the rest to moto.
    let front = lambda_front::LambdaFront::start(moto_url()).await;
    front.set_account_concurrency(700);
    let args = [
        "plan".to_string(),
        "--policy".to_string(),
        policy.to_str().expect("utf-8").to_string(),
        "--journal".to_string(),
        journal_path.clone(),
    ];
    let endpoint = front.endpoint();
    let plan = tokio::task::spawn_blocking(move || {
        output(
            isolated(moto_url(), true)
                .env("AWS_ENDPOINT_URL_LAMBDA", endpoint)
                .args(args),
        )
    })
    .await
    .expect("plan ran");
    assert_eq!(plan.code, 1, "{}", plan.stderr);
    let errors = error_lines(&plan.stderr);
    assert_eq!(errors.len(), 1, "{}", plan.stderr);
    assert!(errors[0].contains("multiLambda-"), "{}", errors[0]);
    assert!(front.account_settings_calls() >= 1);
    let record = &journal(Path::new(&journal_path))[0];
    let ingest: Vec<Value> = record["jobs"]
        .as_array()
        .unwrap_or_else(|| panic!("no jobs in the journal: {record}"))
        .iter()
        .map(|j| j["ingest"].clone())
        .collect();
    let queues = name_and_number(&Value::from(ingest), "visible");
    assert_eq!(queues, [(q1, 3), (q2, 0)]);
    // multiLambda does not exist: reported above, and judged on its (absent) metrics alone.
    let functions = name_and_number(&record["functions"], "timeout");
    assert_eq!(
        functions,
        [
            (format!("multiLambda-{}", stack.dashed()), u64::MAX),
            (format!("tileIngestLambda-{}", stack.dashed()), 120),
            (format!("tileUploadLambda-{}", stack.dashed()), 120)
        ]
    );
    let limits = name_and_number(&record["functions"], "concurrency_limit");
    assert_eq!(
        limits,
        [
            (format!("multiLambda-{}", stack.dashed()), u64::MAX),
            (format!("tileIngestLambda-{}", stack.dashed()), 700),
            (format!("tileUploadLambda-{}", stack.dashed()), 700)
        ],
        "no reserved concurrency: the account's limit"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_change_is_reported_loudly_and_held_not_hammered() {
    let dir = scratch("refused");
    let stack = throttled_stack(&domain("refused")).await;
    let policy = policy(&dir, &domain("refused"));
    let policy = policy.to_str().expect("utf-8").to_string();
    let state = strs(&dir, "state.json");
    let args: Vec<String> = ["run", "--once", "--policy", &policy, "--state", &state]
        .iter()
        .map(|s| (*s).to_string())
        .collect();
    let proxy = proxy::Proxy::start(moto_url()).await;
    proxy.fail("UpdateTable", proxy::Fault::AccessDenied, 100);
    let first = remediator_async(proxy.url(), args.clone()).await;
    assert_eq!(first.code, 1, "{}", first.stderr);
    assert!(
        first.stderr.contains("AccessDeniedException"),
        "{}",
        first.stderr
    );
    assert!(first.stderr.contains("needs a person"), "{}", first.stderr);
    assert_eq!(proxy.seen("UpdateTable"), 1, "access denied is not retried");
    // Past the 2-minute cooldown would not matter: a refusal holds for the escalation interval.
    let second = remediator_async(proxy.url(), args).await;
    assert_eq!(proxy.seen("UpdateTable"), 1, "{}", second.stderr);
    // The tick's line counts the holds by reason (each one is in the journal).
    assert!(
        second
            .stderr
            .lines()
            .any(|l| l.contains("tick at") && l.contains("refused ")),
        "{}",
        second.stderr
    );
    assert_eq!(stack.capacity("tileindex", None).await, UNCHANGED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_loop_stops_gracefully_on_sigterm() {
    let dir = scratch("sigterm");
    let _stack = Stack::create(&domain("sigterm"), moto_url()).await;
    let policy = policy(&dir, &domain("sigterm"));
    let state = strs(&dir, "state.json");
    let journal_path = strs(&dir, "journal.jsonl");
    let stderr_path = dir.join("stderr.log");
    let mut child = isolated(moto_url(), true);
    child
        .args([
            "run",
            "--policy",
            policy.to_str().expect("utf-8"),
            "--state",
            &state,
        ])
        .args(["--journal", &journal_path]);
    let child = spawn_logged(&mut child, &stderr_path);
    // The first tick runs at once; wait for its journal record.
    let mut waited = 0;
    while journal(Path::new(&journal_path)).is_empty() {
        assert!(waited < 200, "no tick within 20 s");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        waited += 1;
    }
    signal(&child, "TERM");
    let out = finish(child).await;
    let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
    assert_eq!(out.code, 0, "{stderr}");
    assert!(
        stderr.contains("INFO") && stderr.contains("stopped"),
        "{stderr}"
    );
    assert_eq!(journal(Path::new(&journal_path)).len(), 1);
}

#[test]
fn a_damaged_state_file_is_named_and_never_overwritten() {
    let dir = scratch("badstate");
    let policy = policy(&dir, &domain("badstate"));
    let state = dir.join("state.json");
    std::fs::write(
        &state,
        "{\"version\": 1, \"memory\": {\"changes\": [oops]}}",
    )
    .expect("state");
    let run = run_once(&policy, state.to_str().expect("utf-8"));
    assert_eq!(run.code, 2, "{}", run.stderr);
    let errors = error_lines(&run.stderr);
    assert_eq!(errors.len(), 1, "{}", run.stderr);
    assert!(
        errors[0].contains("state.json is not a remediator state file"),
        "{}",
        errors[0]
    );
    assert!(errors[0].contains("line 1, column"), "{}", errors[0]);
    assert_eq!(
        std::fs::read_to_string(&state).expect("state"),
        "{\"version\": 1, \"memory\": {\"changes\": [oops]}}",
        "left as it was for a person to look at"
    );
}
