//! The binary in a hostile environment, against moto: a hung endpoint, SIGTERM in the middle of
//! a hung tick, a state file that cannot be trusted or written, and metrics no AWS service can
//! produce. Each of these once stretched a tick to minutes, panicked, or acted.

use super::proxy::{Fault, Proxy};
use super::{
    Stack, UNCHANGED, domain, error_lines, isolated, journal, moto_url, policy, remediator,
    scratch, strs, throttled_stack,
};
use common::output;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use super::common;

/// The shipped local policy with a 10 s interval: observation must end within 2/3 of it.
fn fast_policy(dir: &Path, domain: &str) -> std::path::PathBuf {
    let path = policy(dir, domain);
    let text = std::fs::read_to_string(&path).expect("policy");
    let text = text.replace("interval = \"30s\"", "interval = \"10s\"");
    assert!(
        text.contains("interval = \"10s\""),
        "the local policy sets interval"
    );
    std::fs::write(&path, text).expect("write policy");
    path
}

/// A proxy in front of moto whose describe, list and metrics calls never answer.
async fn hung_proxy() -> Proxy {
    let proxy = Proxy::start(moto_url()).await;
    for op in ["DescribeTable", "GetMetricData", "ListQueues"] {
        proxy.fail(op, Fault::Hang, 1000);
    }
    proxy
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_endpoint_costs_one_tick_its_deadline_not_minutes() {
    let dir = scratch("hung");
    let name = domain("hung");
    let _stack = Stack::create(&name, moto_url()).await;
    let policy = fast_policy(&dir, &name);
    let proxy = hung_proxy().await;
    let started = Instant::now();
    let args = [
        "run".to_string(),
        "--once".into(),
        "--policy".into(),
        policy.to_string_lossy().into_owned(),
        "--state".into(),
        strs(&dir, "state.json"),
    ];
    let endpoint = proxy.url();
    let run = tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        remediator(&endpoint, &args)
    })
    .await
    .expect("join");
    let took = started.elapsed();
    // 6.7 s of observation (2/3 of 10 s) and the process around it; before the deadline this
    // took minutes (each hung call waited out the SDK's 25 s, one after another).
    assert!(
        took < Duration::from_secs(20),
        "took {took:?}: {}",
        run.stderr
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let errors = error_lines(&run.stderr).join("\n");
    assert!(errors.contains("timed out"), "{errors}");
    assert!(proxy.seen("DescribeTable") >= 1);
}

/// Starts `run` (with `extra` flags) through a hung proxy, sends SIGTERM once the first tick
/// hangs, and returns how long the process took to stop, its exit code and its stderr.
async fn sigterm_during_a_hung_tick(test: &str, extra: &[&str]) -> (Duration, Option<i32>, String) {
    let dir = scratch(test);
    let name = domain(test);
    let _stack = Stack::create(&name, moto_url()).await;
    let policy = fast_policy(&dir, &name);
    let proxy = hung_proxy().await;
    let stderr_path = dir.join("stderr.log");
    let child = isolated(&proxy.url(), true)
        .args([
            "run",
            "--policy",
            policy.to_str().expect("utf-8"),
            "--state",
            &strs(&dir, "state.json"),
        ])
        .args(extra)
        .stderr(std::fs::File::create(&stderr_path).expect("stderr file"))
        .spawn()
        .expect("start run");
    // The first tick starts at once and hangs on DescribeTable.
    let mut waited = 0;
    while proxy.seen("DescribeTable") == 0 {
        assert!(waited < 100, "no DescribeTable within 10 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += 1;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let killed = Instant::now();
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let out = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .expect("join")
        .expect("wait");
    let took = killed.elapsed();
    let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
    (took, out.status.code(), stderr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_a_hung_tick_stops_within_seconds() {
    let (took, code, stderr) = sigterm_during_a_hung_tick("hungterm", &[]).await;
    assert!(
        took < Duration::from_secs(5),
        "SIGTERM took {took:?}: {stderr}"
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("stopped in the middle of a tick"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_a_hung_one_shot_tick_exits_130_within_seconds() {
    let (took, code, stderr) = sigterm_during_a_hung_tick("hungonce", &["--once"]).await;
    assert!(
        took < Duration::from_secs(5),
        "SIGTERM took {took:?}: {stderr}"
    );
    assert_eq!(code, Some(130), "{stderr}");
    assert!(
        stderr.contains("interrupted in the middle of the tick"),
        "{stderr}"
    );
}

/// A state file whose one change is dated `at` (seconds since the epoch).
fn state_with_change_at(dir: &Path, at: u64) -> String {
    let path = strs(dir, "state.json");
    let text = format!(
        r#"{{"version": 1, "memory": {{"changes": [{{"key": {{"resource": {{"table": "tileindex.x"}}, "dimension": "write"}}, "at": {at}, "from": 10, "to": 60, "direction": "raise"}}], "escalations": []}}}}"#
    );
    std::fs::write(&path, text).expect("state");
    path
}

#[test]
fn a_state_time_far_in_the_future_refuses_to_start_naming_file_and_field() {
    let dir = scratch("futurestate");
    let policy = policy(&dir, &domain("futurestate"));
    let policy = policy.to_str().expect("utf-8");
    let a_day_ahead = remediator::time::Timestamp::now().0 + 86_400;
    for at in [99_999_999_999_999, a_day_ahead] {
        let state = state_with_change_at(&dir, at);
        for command in [
            vec!["run", "--once", "--policy", policy, "--state", &state],
            vec!["plan", "--policy", policy, "--state", &state],
        ] {
            let run = remediator(moto_url(), &command);
            assert_eq!(run.code, 2, "{command:?}: {}", run.stderr);
            assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
            let errors = error_lines(&run.stderr);
            assert_eq!(errors.len(), 1, "{}", run.stderr);
            assert!(errors[0].contains(&state), "{}", errors[0]);
            assert!(errors[0].contains("changes[0].at"), "{}", errors[0]);
        }
    }
}

#[test]
fn a_state_time_a_minute_ahead_is_clock_skew_held_with_a_warning() {
    let dir = scratch("skewstate");
    let policy = policy(&dir, &domain("skewstate"));
    let state = state_with_change_at(&dir, remediator::time::Timestamp::now().0 + 60);
    let run = remediator(
        moto_url(),
        &[
            "plan",
            "--policy",
            policy.to_str().expect("utf-8"),
            "--state",
            &state,
        ],
    );
    assert!(run.stderr.contains("WARN"), "{}", run.stderr);
    assert!(
        run.stderr.contains("clock skew: changes[0].at"),
        "{}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_state_file_in_a_missing_directory_fails_before_anything_is_done() {
    let dir = scratch("nostatedir");
    let name = domain("nostatedir");
    let stack = throttled_stack(&name).await;
    let policy = policy(&dir, &name);
    let state = strs(&dir, "missing/dir/state.json");
    let run = remediator(
        moto_url(),
        &[
            "run",
            "--once",
            "--policy",
            policy.to_str().expect("utf-8"),
            "--state",
            &state,
        ],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        error_lines(&run.stderr)
            .join("\n")
            .contains("missing/dir/state.json"),
        "{}",
        run.stderr
    );
    assert_eq!(
        stack.capacity("tileindex", None).await,
        UNCHANGED,
        "nothing raised"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn impossible_metrics_are_held_with_their_value_and_never_acted_on() {
    let dir = scratch("implausible");
    let name = domain("implausible");
    let stack = Stack::create(&name, moto_url()).await;
    stack
        .put_metric(
            "tileindex",
            None,
            "ConsumedWriteCapacityUnits",
            1e300,
            &[3, 2, 1],
        )
        .await;
    stack
        .put_metric("tileindex", None, "WriteThrottleEvents", 1e300, &[3, 2, 1])
        .await;
    stack.calm_reads("tileindex", None).await;
    let policy = policy(&dir, &name);
    let journal_path = strs(&dir, "journal.jsonl");
    let run = output(isolated(moto_url(), true).args([
        "run",
        "--once",
        "--policy",
        policy.to_str().expect("utf-8"),
        "--state",
        &strs(&dir, "state.json"),
        "--journal",
        &journal_path,
    ]));
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    assert_eq!(
        stack.capacity("tileindex", None).await,
        UNCHANGED,
        "{}",
        run.stderr
    );
    let records = journal(Path::new(&journal_path));
    let held = &records[0]["held"];
    let implausible: Vec<_> = held
        .as_array()
        .expect("held")
        .iter()
        .filter(|h| h["reason"]["hold"] == "implausible")
        .collect();
    assert_eq!(implausible.len(), 1, "{held}");
    assert_eq!(
        implausible[0]["subject"],
        format!("{} write", stack.table("tileindex"))
    );
    assert!(
        records[0]["actions"]
            .as_array()
            .expect("actions")
            .iter()
            .all(|a| a["action"]["kind"] != "raise-capacity"),
        "{}",
        records[0]["actions"]
    );
}
