//! `remediator redrive` and the stranded-queue rule, through the binary, against moto's SQS and
//! the loopback ingest lambda (`tests/loopback/lambda.rs`), which takes one message from the
//! job's ingest queue per invocation and deletes it on success, like tileIngestLambda.

use super::lambda::{Backend, Behaviour, LoopbackLambda};
use super::stack::{Stack, moto_url};
use super::{
    domain, error_lines, finish, isolated, journal, policy, policy_with, scratch, signal, strs,
};
use crate::common::{Run, output};
use aws_sdk_sqs::types::QueueAttributeName;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// The loopback lambda behind `tileIngestLambda-<dom>`, draining `queue_url` in moto.
async fn ingest_lambda(
    stack: &Stack,
    queue_url: &str,
    configure: impl FnOnce(&mut Behaviour),
) -> LoopbackLambda {
    let function = format!("tileIngestLambda-{}", stack.dashed());
    let mut behaviour = Behaviour::new(
        &function,
        Backend::Sqs {
            client: stack.sqs.clone(),
            queue_url: queue_url.to_string(),
        },
    );
    behaviour.duration = Duration::from_millis(20);
    configure(&mut behaviour);
    LoopbackLambda::start(behaviour).await
}

/// One test's world: a scratch directory, a stack domain, and ingest job `job` with `messages`
/// stranded chunk messages, drained by the loopback lambda.
struct Stranded {
    dir: PathBuf,
    domain: String,
    stack: Stack,
    name: String,
    url: String,
    lambda: LoopbackLambda,
}

async fn stranded(
    test: &str,
    job: u32,
    messages: u32,
    visibility_s: u32,
    configure: impl FnOnce(&mut Behaviour),
) -> Stranded {
    let dir = scratch(&format!("redrive-{test}"));
    let domain = domain(&format!("rd{test}"));
    let stack = Stack::new(&domain, moto_url()).await;
    let name = format!("{}-ingest-{job}", stack.dashed());
    let url = stack.queue(&name, job, messages, visibility_s).await;
    let lambda = ingest_lambda(&stack, &url, configure).await;
    Stranded {
        dir,
        domain,
        stack,
        name,
        url,
        lambda,
    }
}

/// Visible + in flight + delayed, as moto reports them.
async fn remaining(stack: &Stack, url: &str) -> u64 {
    let out = stack
        .sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::All)
        .send()
        .await
        .expect("attributes");
    let attrs = out.attributes().cloned().unwrap_or_default();
    [
        QueueAttributeName::ApproximateNumberOfMessages,
        QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
        QueueAttributeName::ApproximateNumberOfMessagesDelayed,
    ]
    .iter()
    .map(|n| {
        attrs
            .get(n)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    })
    .sum()
}

/// Runs the binary on a blocking thread with Lambda pointed at the loopback server.
async fn redrive(lambda_endpoint: String, sqs_endpoint: String, args: Vec<String>) -> Run {
    tokio::task::spawn_blocking(move || {
        output(
            isolated(&sqs_endpoint, true)
                .env("AWS_ENDPOINT_URL_LAMBDA", lambda_endpoint)
                .args(&args),
        )
    })
    .await
    .expect("join")
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_string()).collect()
}

/// The JSON lines `redrive` printed on stdout (it is not a terminal here).
fn lines(run: &Run) -> Vec<Value> {
    run.stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn summary(run: &Run) -> Value {
    let all = lines(run);
    let last = all.last().cloned().unwrap_or_default();
    assert_eq!(last["event"], "summary", "{}\n{}", run.stdout, run.stderr);
    last
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_stranded_messages_are_drained_at_fifty_per_second() {
    let Stranded {
        dir,
        domain: d,
        stack,
        url,
        lambda,
        ..
    } = stranded("500", 7, 500, 30, |_| {}).await;
    let policy = policy(&dir, &d);
    let journal_path = strs(&dir, "journal.jsonl");
    // The binary's SQS calls go through the proxy, which counts them.
    let proxy = super::proxy::Proxy::start(moto_url()).await;
    let run = redrive(
        lambda.endpoint(),
        proxy.url(),
        args(&[
            "redrive",
            "--job",
            "7",
            "--rate",
            "50/s",
            "--policy",
            policy.to_str().expect("utf-8"),
            "--journal",
            &journal_path,
        ]),
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let summary = summary(&run);
    assert_eq!(summary["end"], "drained", "{summary}");
    assert_eq!(remaining(&stack, &url).await, 0);
    // Every message was taken and deleted by the lambda; the controller deleted none and read
    // one message only, without taking it. (moto can hand one message to two concurrent
    // receivers, so the lambda may count a success or two more than there were messages.)
    assert!(lambda.wait_idle(Duration::from_secs(10)).await);
    assert!(lambda.succeeded() >= 500, "{}", lambda.succeeded());
    for op in ["DeleteMessage", "DeleteMessageBatch", "PurgeQueue"] {
        assert_eq!(proxy.seen(op), 0, "the controller called {op}");
    }
    assert_eq!(proxy.seen("ReceiveMessage"), 1);
    let accepted = lambda.accepted();
    assert!(
        (500..=500 + 64).contains(&accepted),
        "{accepted} invocations for 500 messages"
    );
    // Every invocation carries the job and a chunk key read from the queue.
    for invocation in lambda.invocations() {
        assert_eq!(invocation.payload["ingest_job"], 7);
        let key = invocation.payload["chunk_key"].as_str().unwrap_or_default();
        assert_eq!(key.split('&').count(), 10, "{key}");
    }
    // Paced, not bursty: at 50/s no 100 ms window holds more than ⌈5⌉ + 1, give or take the
    // loopback's own scheduling.
    let times = lambda.accepted_times();
    let busiest = super::lambda::max_in_window(&times, Duration::from_millis(100));
    assert!(busiest <= 7, "{busiest} invocations in one 100 ms window");
    // While messages were visible the pace held 50/s (moto is slower to hand them out than
    // that, so the tail of the run waits for the lambda and the overall figure is lower).
    let first_400 = times[399].duration_since(times[0]).as_secs_f64();
    let rate = 399.0 / first_400;
    assert!(
        (47.5..=50.5).contains(&rate),
        "paced at {rate:.2}/s\n{}",
        run.stdout
    );
    // Audited like the controller's own actions: the order with its reason, then the end.
    let records = journal(Path::new(&journal_path));
    let events: Vec<&str> = records
        .iter()
        .map(|r| r["event"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(events, ["redrive-ordered", "redrive-ended"]);
    assert_eq!(records[0]["action"]["kind"], "redrive");
    assert_eq!(records[0]["action"]["origin"]["origin"], "manual");
    assert_eq!(records[1]["summary"]["end"], "drained");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_percent_failing_still_drains() {
    let Stranded {
        dir,
        domain: d,
        stack,
        name,
        url,
        lambda,
    } = stranded("30", 8, 60, 2, |b| b.failure_share = 0.3).await;
    // A take hidden by a return in the same second is settled after 5 s, not the default 2 min.
    let policy = policy_with(&dir, &d, &[("settle = \"2m\"", "settle = \"5s\"")]);
    let run = redrive(
        lambda.endpoint(),
        moto_url().to_string(),
        args(&[
            "redrive",
            "--queue",
            &name,
            "--rate",
            "40",
            "--policy",
            policy.to_str().expect("utf-8"),
        ]),
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(summary(&run)["end"], "drained");
    assert_eq!(remaining(&stack, &url).await, 0);
    assert!(lambda.wait_idle(Duration::from_secs(10)).await);
    assert_eq!(lambda.succeeded(), 60);
    assert!(lambda.failed() >= 18, "{} failed", lambda.failed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lambda_that_always_fails_stops_with_no_progress_and_escalates() {
    let Stranded {
        dir,
        domain: d,
        stack,
        url,
        lambda,
        ..
    } = stranded("fail", 9, 20, 2, |b| b.failure_share = 1.0).await;
    let policy = policy_with(
        &dir,
        &d,
        &[("no_progress_after = \"10m\"", "no_progress_after = \"6s\"")],
    );
    let journal_path = strs(&dir, "journal.jsonl");
    let started = Instant::now();
    let run = redrive(
        lambda.endpoint(),
        moto_url().to_string(),
        args(&[
            "redrive",
            "--job",
            "9",
            "--rate",
            "20",
            "--policy",
            policy.to_str().expect("utf-8"),
            "--journal",
            &journal_path,
        ]),
    )
    .await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "gave up in {:?}",
        started.elapsed()
    );
    let summary = summary(&run);
    assert_eq!(summary["end"], "no-progress", "{summary}");
    assert!(run.stderr.contains("escalation"), "{}", run.stderr);
    assert!(run.stderr.contains("need a person"), "{}", run.stderr);
    assert!(
        run.stderr.contains("Errors data"),
        "the function's errors are reported: {}",
        run.stderr
    );
    assert_eq!(remaining(&stack, &url).await, 20, "nothing lost");
    assert_eq!(lambda.succeeded(), 0);
    let records = journal(Path::new(&journal_path));
    assert_eq!(
        records.last().map(|r| r["summary"]["end"].clone()),
        Some(Value::from("no-progress"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lambda_throttling_slows_the_rate_which_recovers_and_nothing_is_lost() {
    let d = domain("rd429");
    let stack = Stack::new(&d, moto_url()).await;
    let name = format!("{}-ingest-10", stack.dashed());
    let url = stack.queue(&name, 10, 300, 30).await;
    let lambda = ingest_lambda(&stack, &url, |b| {
        b.duration = Duration::from_millis(250);
        b.max_concurrency = Some(4);
    })
    .await;
    let endpoint = lambda.endpoint();
    let run = tokio::spawn(redrive(
        endpoint,
        moto_url().to_string(),
        args(&[
            "redrive",
            "--queue",
            &name,
            "--rate",
            "80",
            "--progress",
            "json",
        ]),
    ));
    // Throttled for the first 4 s, then Lambda has room again.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(
        lambda.throttled() > 0,
        "the cap of 4 concurrent invocations was never hit"
    );
    lambda.set_max_concurrency(None);
    let run = run.await.expect("join");
    assert_eq!(run.code, 0, "{}", run.stderr);
    let all = lines(&run);
    let summary = summary(&run);
    assert_eq!(summary["end"], "drained", "{summary}");
    assert!(
        summary["progress"]["throttled"]
            .as_u64()
            .unwrap_or_default()
            > 0,
        "{summary}"
    );
    assert_eq!(remaining(&stack, &url).await, 0);
    assert!(lambda.wait_idle(Duration::from_secs(10)).await);
    // moto can hand one message to two concurrent receivers (see above): one more at most.
    assert!(
        (300..=302).contains(&lambda.succeeded()),
        "nothing lost: {}",
        lambda.succeeded()
    );
    assert!(lambda.accepted() <= 300 + 64);
    let paces: Vec<f64> = all
        .iter()
        .filter(|l| l["event"] == "progress")
        .map(|l| l["pace_per_s"].as_f64().unwrap_or_default())
        .collect();
    let lowest = paces.iter().copied().fold(f64::MAX, f64::min);
    let lowest_at = paces.iter().position(|p| *p == lowest).unwrap_or_default();
    let later_highest = paces[lowest_at..].iter().copied().fold(0.0, f64::max);
    assert!(lowest <= 40.0, "the pace never halved: {paces:?}");
    assert!(
        later_highest > lowest,
        "the pace never recovered: {paces:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_one_clear_line() {
    let dir = scratch("redrive-bad");
    let d = domain("rdbad");
    let stack = Stack::new(&d, moto_url()).await;
    let empty = format!("{}-ingest-11", stack.dashed());
    let url = stack.queue(&empty, 11, 0, 30).await;
    let lambda = ingest_lambda(&stack, &url, |_| {}).await;
    let policy = policy(&dir, &d);
    let policy = policy.to_str().expect("utf-8");
    let journal_path = strs(&dir, "journal.jsonl");
    let run = |extra: &[&str]| {
        let mut list = vec!["redrive", "--policy", policy, "--journal", &journal_path];
        list.extend_from_slice(extra);
        redrive(lambda.endpoint(), moto_url().to_string(), args(&list))
    };

    let empty_queue = run(&["--job", "11", "--rate", "10"]).await;
    assert_eq!(empty_queue.code, 0, "{}", empty_queue.stderr);
    assert!(
        empty_queue.stdout.contains("nothing to re-drive"),
        "{}",
        empty_queue.stdout
    );

    let unknown = run(&["--job", "404", "--rate", "10"]).await;
    assert_eq!(unknown.code, 2, "{}", unknown.stderr);
    assert_eq!(error_lines(&unknown.stderr).len(), 1, "{}", unknown.stderr);
    assert!(unknown.stderr.contains("no queue"), "{}", unknown.stderr);

    let no_function = run(&["--job", "11", "--rate", "10", "--function", "nope"]).await;
    assert_eq!(no_function.code, 2, "{}", no_function.stderr);
    assert!(
        no_function
            .stderr
            .contains("function `nope` does not exist"),
        "{}",
        no_function.stderr
    );

    let too_fast = run(&["--job", "11", "--rate", "500"]).await;
    assert_eq!(too_fast.code, 2, "{}", too_fast.stderr);
    assert!(
        too_fast
            .stderr
            .contains("above the policy's redrive.max_rate of 100/s"),
        "{}",
        too_fast.stderr
    );
    let refused = journal(Path::new(&journal_path));
    let held = refused
        .iter()
        .find(|r| r["held"]["hold"] == "rate-above-maximum");
    assert!(held.is_some(), "the refusal is journalled: {refused:?}");

    for bad in ["0", "-3", "NaN", "fast"] {
        let r = run(&["--job", "11", "--rate", bad]).await;
        assert_eq!(r.code, 2, "--rate {bad}: {}", r.stderr);
        assert!(r.stderr.contains("--rate"), "{}", r.stderr);
    }

    // No permission to read the queue: one line, exit 1 (not a usage error).
    let proxy = super::proxy::Proxy::start(moto_url()).await;
    proxy.fail("GetQueueUrl", super::proxy::Fault::AccessDenied, 10);
    let denied = redrive(
        lambda.endpoint(),
        proxy.url(),
        args(&["redrive", "--policy", policy, "--job", "11", "--rate", "10"]),
    )
    .await;
    assert_eq!(denied.code, 1, "{}", denied.stderr);
    assert_eq!(error_lines(&denied.stderr).len(), 1, "{}", denied.stderr);
    assert!(denied.stderr.contains("AccessDenied"), "{}", denied.stderr);
    assert_eq!(lambda.accepted(), 0);
}

/// A forgotten `AWS_ENDPOINT_URL_LAMBDA` (with `AWS_ENDPOINT_URL` set) is named in one WARN
/// line at the start of `redrive` and of an enforcing `run` that may re-drive; with the variable
/// set, not a word.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forgotten_lambda_endpoint_is_named_at_start() {
    let dir = scratch("redrive-endpoint");
    let d = domain("rdendpoint");
    let stack = Stack::new(&d, moto_url()).await;
    let url = stack
        .queue(&format!("{}-ingest-12", stack.dashed()), 12, 0, 30)
        .await;
    let lambda = ingest_lambda(&stack, &url, |_| {}).await;
    let policy = automatic_policy(&dir, &d);
    let policy = policy.to_str().expect("utf-8");
    let state = strs(&dir, "state.json");
    let without_lambda = |list: Vec<String>| {
        tokio::task::spawn_blocking(move || output(isolated(moto_url(), true).args(&list)))
    };
    let warned = |run: &Run| {
        run.stderr
            .lines()
            .filter(|l| l.contains(" WARN ") && l.contains("AWS_ENDPOINT_URL_LAMBDA is not"))
            .count()
    };
    for command in [
        args(&["redrive", "--policy", policy, "--job", "12", "--rate", "10"]),
        args(&["run", "--once", "--policy", policy, "--state", &state]),
    ] {
        let forgot = without_lambda(command.clone()).await.expect("join");
        assert_eq!(warned(&forgot), 1, "{command:?}: {}", forgot.stderr);
        let set = redrive(lambda.endpoint(), moto_url().to_string(), command.clone()).await;
        assert_eq!(warned(&set), 0, "{command:?}: {}", set.stderr);
    }
    // A plan re-drives nothing: no warning either.
    let plan = without_lambda(args(&["plan", "--policy", policy]))
        .await
        .expect("join");
    assert_eq!(warned(&plan), 0, "{}", plan.stderr);
    assert_eq!(lambda.accepted(), 0, "an empty queue: nothing invoked");
}

/// Starts `run` (a loop, not `--once`) in the background.
fn start_run(lambda_endpoint: &str, args: &[&str]) -> std::process::Child {
    isolated(moto_url(), true)
        .env("AWS_ENDPOINT_URL_LAMBDA", lambda_endpoint)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start run")
}

async fn stop(child: std::process::Child) -> String {
    signal(&child, "TERM");
    let out = finish(child).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    out.stderr
}

async fn wait_until_empty(stack: &Stack, url: &str, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if remaining(stack, url).await == 0 {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    false
}

/// The policy for the automatic rule: re-drive on, the shortest tick `check` allows (10 s),
/// stranded after 2 s (so the second tick starts the re-drive).
fn automatic_policy(dir: &Path, d: &str) -> PathBuf {
    policy_with(
        dir,
        d,
        &[
            ("[redrive]\nenabled = false", "[redrive]\nenabled = true"),
            ("stranded_after = \"15m\"", "stranded_after = \"2s\""),
            ("interval = \"30s\"", "interval = \"10s\""),
        ],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_drains_a_stranded_job_and_leaves_an_uploading_job_alone() {
    let dir = scratch("redrive-auto");
    let d = domain("rdauto");
    let stack = Stack::new(&d, moto_url()).await;
    let dom = stack.dashed();
    // Job 21: uploads finished (no upload queue, empty tile-index queue), 40 messages stranded.
    let stranded = stack.queue(&format!("{dom}-ingest-21"), 21, 40, 30).await;
    stack.queue(&format!("{dom}-21-index"), 21, 0, 30).await;
    // Job 22: still uploading.
    let uploading = stack.queue(&format!("{dom}-ingest-22"), 22, 10, 30).await;
    stack.queue(&format!("{dom}-upload-22"), 22, 5, 30).await;
    let lambda = ingest_lambda(&stack, &stranded, |_| {}).await;
    let policy = automatic_policy(&dir, &d);
    let state = strs(&dir, "state.json");
    let journal_path = strs(&dir, "journal.jsonl");
    let child = start_run(
        &lambda.endpoint(),
        &[
            "run",
            "--policy",
            policy.to_str().expect("utf-8"),
            "--state",
            &state,
            "--journal",
            &journal_path,
        ],
    );
    let drained = wait_until_empty(&stack, &stranded, Duration::from_secs(45)).await;
    // The re-drive confirms the queue stays empty for a few seconds, then a tick collects it.
    let deadline = Instant::now() + Duration::from_secs(35);
    while Instant::now() < deadline
        && !journal(Path::new(&journal_path))
            .iter()
            .any(|r| r["redrives_ended"].is_array())
    {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let stderr = stop(child).await;
    assert!(drained, "the stranded job was not drained: {stderr}");
    assert_eq!(
        remaining(&stack, &uploading).await,
        10,
        "the uploading job was touched"
    );
    assert!(
        lambda
            .invocations()
            .iter()
            .all(|i| i.payload["ingest_job"] == 21)
    );
    let records = journal(Path::new(&journal_path));
    let started: Vec<&Value> = records
        .iter()
        .flat_map(|r| r["actions"].as_array().into_iter().flatten())
        .filter(|a| a["action"]["kind"] == "redrive")
        .collect();
    assert_eq!(started.len(), 1, "one re-drive per queue: {started:?}");
    assert_eq!(started[0]["outcome"]["outcome"], "applied");
    assert_eq!(started[0]["action"]["target"]["job"], "21");
    let ended: Vec<&Value> = records
        .iter()
        .flat_map(|r| r["redrives_ended"].as_array().into_iter().flatten())
        .collect();
    assert_eq!(ended.len(), 1, "{stderr}");
    assert_eq!(ended[0]["end"], "drained");
    let verdicts: Vec<String> = records
        .iter()
        .flat_map(|r| r["verdicts"].as_array().into_iter().flatten())
        .filter(|v| v["subject"] == format!("{dom}-ingest-22"))
        .map(|v| v["finding"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(
        verdicts
            .iter()
            .any(|v| v.contains("upload queue still holds 5")),
        "{verdicts:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_says_which_re_drive_it_would_start_and_starts_none() {
    let dir = scratch("redrive-dry");
    let d = domain("rddry");
    let stack = Stack::new(&d, moto_url()).await;
    let stranded = stack
        .queue(&format!("{}-ingest-31", stack.dashed()), 31, 12, 30)
        .await;
    let lambda = ingest_lambda(&stack, &stranded, |_| {}).await;
    let policy = automatic_policy(&dir, &d);
    let journal_path = strs(&dir, "journal.jsonl");
    let child = start_run(
        &lambda.endpoint(),
        &[
            "run",
            "--dry-run",
            "--policy",
            policy.to_str().expect("utf-8"),
            "--journal",
            &journal_path,
        ],
    );
    // Two ticks, 10 s apart: the second finds the queue stranded. On a loaded machine moto
    // may not answer a tick in time (held as timed out): wait for the would-be re-drive
    // (at most 90 s).
    for _ in 0..900 {
        let records = journal(Path::new(&journal_path));
        if records
            .iter()
            .any(|r| r.to_string().contains(r#""kind":"redrive""#))
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let stderr = stop(child).await;
    assert!(stderr.contains("would redrive"), "{stderr}");
    assert_eq!(lambda.accepted(), 0);
    assert_eq!(remaining(&stack, &stranded).await, 12);
    let would: Vec<Value> = journal(Path::new(&journal_path))
        .iter()
        .flat_map(|r| r["actions"].as_array().cloned().unwrap_or_default())
        .filter(|a| a["action"]["kind"] == "redrive")
        .collect();
    assert!(!would.is_empty(), "no would-apply re-drive in the journal");
    assert!(
        would
            .iter()
            .all(|a| a["outcome"]["outcome"] == "would-apply")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_stops_cleanly_and_prints_the_summary() {
    let Stranded {
        dir,
        domain: d,
        stack,
        url,
        lambda,
        ..
    } = stranded("int", 12, 100, 30, |_| {}).await;
    let policy = policy(&dir, &d);
    let child = isolated(moto_url(), true)
        .env("AWS_ENDPOINT_URL_LAMBDA", lambda.endpoint())
        .args([
            "redrive",
            "--job",
            "12",
            "--rate",
            "5",
            "--policy",
            policy.to_str().expect("utf-8"),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start redrive");
    tokio::time::sleep(Duration::from_secs(3)).await;
    signal(&child, "INT");
    let run = finish(child).await;
    assert_eq!(run.code, 130, "{}", run.stderr);
    let summary = summary(&run);
    assert_eq!(summary["end"], "interrupted", "{summary}");
    let invoked = summary["progress"]["invoked"].as_u64().unwrap_or_default();
    assert!(
        (5..=25).contains(&invoked),
        "{invoked} invoked in about 3 s at 5/s"
    );
    assert!(lambda.wait_idle(Duration::from_secs(10)).await);
    assert_eq!(
        lambda.accepted(),
        invoked,
        "every invocation sent was counted"
    );
    assert!(remaining(&stack, &url).await >= 100 - invoked);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lagging_lambda_gets_no_more_invocations_than_messages() {
    // Lambda accepts each Event invocation at once but starts it 4 s later, as a cold or busy
    // account does: the visible count does not move for 4 s, and must not be re-spent.
    let Stranded {
        dir,
        domain: d,
        stack,
        url,
        lambda,
        ..
    } = stranded("lag", 13, 40, 30, |b| {
        b.start_delay = Duration::from_secs(4)
    })
    .await;
    let policy = policy(&dir, &d);
    let run = redrive(
        lambda.endpoint(),
        moto_url().to_string(),
        args(&[
            "redrive",
            "--job",
            "13",
            "--rate",
            "40",
            "--policy",
            policy.to_str().expect("utf-8"),
        ]),
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(summary(&run)["end"], "drained");
    assert_eq!(remaining(&stack, &url).await, 0);
    assert_eq!(lambda.accepted(), 40, "one invocation per message");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redrive_of_a_claimed_queue_over_the_shared_budget_or_while_halted_is_refused() {
    let Stranded {
        dir,
        domain: d,
        stack,
        url,
        lambda,
        ..
    } = stranded("claim", 14, 80, 30, |_| {}).await;
    let policy = policy(&dir, &d);
    let policy = policy.to_str().expect("utf-8").to_string();
    let init = super::remediator(moto_url(), &["init", "--policy", &policy]);
    assert_eq!(init.code, 0, "{}", init.stderr);
    let first = isolated(moto_url(), true)
        .env("AWS_ENDPOINT_URL_LAMBDA", lambda.endpoint())
        .env("USER", "alice")
        .args(["redrive", "--job", "14", "--rate", "5", "--policy", &policy])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start redrive");
    tokio::time::sleep(Duration::from_secs(3)).await;
    let second = redrive(
        lambda.endpoint(),
        moto_url().to_string(),
        args(&[
            "redrive", "--job", "14", "--rate", "50", "--policy", &policy,
        ]),
    )
    .await;
    assert_eq!(second.code, 1, "{}", second.stderr);
    assert_eq!(error_lines(&second.stderr).len(), 1, "{}", second.stderr);
    assert!(
        second.stderr.contains("operator alice") && second.stderr.contains("is re-driving"),
        "{}",
        second.stderr
    );
    // Another queue, at a rate the first one's leaves no room for: one budget for all.
    let other = format!("{}-ingest-16", stack.dashed());
    stack.queue(&other, 16, 5, 30).await;
    let greedy = redrive(
        lambda.endpoint(),
        moto_url().to_string(),
        args(&[
            "redrive", "--job", "16", "--rate", "96", "--policy", &policy,
        ]),
    )
    .await;
    assert_eq!(greedy.code, 1, "{}", greedy.stderr);
    assert!(
        greedy
            .stderr
            .contains("on top of the 5/s of running re-drives"),
        "{}",
        greedy.stderr
    );
    // The first stops on SIGINT and gives its claim back; a third may then go on.
    signal(&first, "INT");
    let out = finish(first).await;
    assert_eq!(out.code, 130, "{}", out.stderr);
    // The kill switch holds an operator's re-drive too, until it is lifted.
    let halt = super::remediator(
        moto_url(),
        &[
            "halt", "--policy", &policy, "--reason", "drill", "--by", "bob",
        ],
    );
    assert_eq!(halt.code, 0, "{}", halt.stderr);
    let halted = redrive(
        lambda.endpoint(),
        moto_url().to_string(),
        args(&[
            "redrive", "--job", "14", "--rate", "50", "--policy", &policy,
        ]),
    )
    .await;
    assert_eq!(halted.code, 1, "{}", halted.stderr);
    assert!(
        halted.stderr.contains("by bob") && halted.stderr.contains("(drill)"),
        "{}",
        halted.stderr
    );
    let resume = super::remediator(moto_url(), &["resume", "--policy", &policy]);
    assert_eq!(resume.code, 0, "{}", resume.stderr);
    let third = redrive(
        lambda.endpoint(),
        moto_url().to_string(),
        args(&[
            "redrive", "--job", "14", "--rate", "50", "--policy", &policy,
        ]),
    )
    .await;
    assert_eq!(third.code, 0, "{}", third.stderr);
    assert_eq!(summary(&third)["end"], "drained");
    assert_eq!(remaining(&stack, &url).await, 0);
}

/// Waits until the loopback lambda has accepted `count` invocations.
async fn wait_accepted(lambda: &LoopbackLambda, count: u64, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if lambda.accepted() >= count {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_re_drive_outlives_a_killed_and_a_stopped_controller_and_is_never_doubled() {
    let Stranded {
        dir,
        domain: d,
        stack,
        url,
        lambda,
        ..
    } = stranded("restart", 15, 200, 30, |_| {}).await;
    let policy = policy_with(
        &dir,
        &d,
        &[
            ("[redrive]\nenabled = false", "[redrive]\nenabled = true"),
            ("stranded_after = \"15m\"", "stranded_after = \"2s\""),
            ("interval = \"30s\"", "interval = \"10s\"\nlease = \"20s\""),
        ],
    );
    let policy = policy.to_str().expect("utf-8").to_string();
    let init = super::remediator(moto_url(), &["init", "--policy", &policy]);
    assert_eq!(init.code, 0, "{}", init.stderr);
    let journal_path = strs(&dir, "journal.jsonl");
    let run = ["run", "--policy", &policy, "--journal", &journal_path];

    // A starts the re-drive and is SIGKILLed in the middle of it.
    let mut a = start_run(&lambda.endpoint(), &run);
    assert!(wait_accepted(&lambda, 30, Duration::from_secs(60)).await);
    a.kill().expect("SIGKILL");
    a.wait().expect("reaped");
    let after_a = lambda.accepted();
    let killed_at = Instant::now();

    // B waits out A's lease (and so A's claim on the queue), finds the queue still stranded
    // and re-drives it; it is stopped with SIGTERM in the middle of it, as a deploy does.
    let b = start_run(&lambda.endpoint(), &run);
    assert!(wait_accepted(&lambda, after_a + 30, Duration::from_secs(90)).await);
    let b_took = killed_at.elapsed();
    let after_b = lambda.accepted();
    let b_log = stop(b).await;
    // Nothing more is invoked once B has stopped.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let stopped = lambda.accepted();
    assert!(stopped <= after_b + 10, "{after_b} → {stopped}: {b_log}");
    let stopped_at = Instant::now();

    // C takes the released lease at once and drains the rest.
    let c = start_run(&lambda.endpoint(), &run);
    let drained = wait_until_empty(&stack, &url, Duration::from_secs(90)).await;
    let c_took = stopped_at.elapsed();
    let c_log = stop(c).await;
    assert!(drained, "not drained: {c_log}");
    assert!(lambda.wait_idle(Duration::from_secs(10)).await);
    // Every message went through the lambda once (moto may hand one to two receivers).
    assert!(
        (200..=202).contains(&lambda.succeeded()),
        "{} succeeded",
        lambda.succeeded()
    );
    assert!(lambda.accepted() <= 200 + 64, "{}", lambda.accepted());
    // Nothing was invoked between A's death and B's takeover: no re-drive ran twice at once.
    let times = lambda.accepted_times();
    let gap = times[after_a as usize].duration_since(times[after_a as usize - 1]);
    assert!(
        gap >= Duration::from_secs(10),
        "B re-drove {gap:?} after A's last invocation: inside A's lease"
    );
    let records = journal(Path::new(&journal_path));
    let started = records
        .iter()
        .flat_map(|r| r["actions"].as_array().into_iter().flatten())
        .filter(|a| a["action"]["kind"] == "redrive" && a["outcome"]["outcome"] == "applied")
        .count();
    assert_eq!(started, 3, "one re-drive per controller");
    let held_claimed = records
        .iter()
        .flat_map(|r| r["held"].as_array().into_iter().flatten())
        .filter(|h| h["reason"]["hold"] == "redrive-claimed")
        .count();
    eprintln!(
        "mid-re-drive: B re-drove {b_took:?} after A's SIGKILL, C drained {c_took:?} after B's \
         SIGTERM; {held_claimed} tick(s) held on a claim"
    );
}
