//! The performer pause through the real binary against moto: drift in CloudWatch's Duration
//! minutes pauses performers over SNS (read back from a subscribed SQS queue) and a loopback
//! webhook, caps the tile-index mappings, survives a restart, and resumes and restores once
//! durations are steady; dry-run sends and changes nothing; a failed channel is owed.

use super::lambda_front::LambdaFront;
use super::stack::{Stack, moto_url};
use super::stack_pause::SnsInbox;
use super::webhook::{LoopbackWebhook, closed_url, leaked};
use super::{domain, error_lines, isolated, journal, policy, scratch, strs};
use crate::common::{Run, output};
use remediator::policy::Domain;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The pieces of one pause test: a stack with tileUploadLambda, two tile-index queues mapped
/// to it (one uncapped, one capped at 5), an SNS topic with an SQS inbox, a webhook (its URL,
/// password and token path in `REMEDIATOR_WEBHOOK_URL`), and the Lambda front (moto has no
/// GetAccountSettings). The state lives in a state file unless [`Scene::with_table`] switches
/// it to the state table.
pub(super) struct Scene {
    pub(super) stack: Stack,
    function: String,
    mappings: [String; 2],
    inbox: SnsInbox,
    front: LambdaFront,
    dir: PathBuf,
    policy: PathBuf,
    state: String,
    pub(super) journal: String,
    webhook_url: String,
    /// The state table (created by `init`) rather than the state file.
    table: bool,
}

pub(super) const HIGH_MS: f64 = 3000.0;
const STEADY_MS: f64 = 900.0;

impl Scene {
    pub(super) async fn new(name: &str, webhook_url: &str, flow: &str) -> Self {
        let dir = scratch(name);
        let d = domain(name);
        let stack = Stack::create(&d, moto_url()).await;
        let function = stack.function("tileUploadLambda", 120).await;
        let dashed = stack.dashed();
        let mut mappings = Vec::new();
        for (job, cap) in [(7, None), (8, Some(5))] {
            let queue = format!("{dashed}-{job}-index");
            stack.queue(&queue, job, 0, 30).await;
            mappings.push(stack.event_source_mapping(&function, &queue, cap).await);
        }
        let inbox = SnsInbox::create(&stack, &format!("{dashed}-alerts")).await;
        let front = LambdaFront::start(moto_url()).await;
        let policy = policy(&dir, &d);
        let text = std::fs::read_to_string(&policy)
            .expect("policy")
            .replace(
                "[drift]\nenabled = false\nfunctions = [\"tileIngestLambda\", \"tileUploadLambda\", \"multiLambda\"]",
                "[drift]\nenabled = true\nfunctions = [\"tileUploadLambda\"]",
            )
            .replace("sustained_for = \"5m\"", "sustained_for = \"2m\"")
            .replace("min_pause = \"15m\"", "min_pause = \"1s\"")
            .replace(
                "# [drift.baseline]\n# tileUploadLambda = \"1.2s\"",
                "[drift.baseline]\ntileUploadLambda = \"1s\"",
            )
            .replace(
                "[signals.sns]\nenabled = false",
                &format!("[signals.sns]\ntopic_arn = \"{}\"", inbox.topic_arn),
            )
            .replace(
                "[signals.webhook]\nenabled = false",
                "[signals.webhook]\nenabled = true",
            )
            .replace(
                "enabled = false\nlever = \"event-source-mapping\"\nmax_concurrency = 2",
                flow,
            );
        assert!(text.contains("tileUploadLambda = \"1s\""), "policy edited");
        std::fs::write(&policy, text).expect("policy");
        Scene {
            stack,
            function,
            mappings: [mappings[0].clone(), mappings[1].clone()],
            inbox,
            front,
            state: strs(&dir, "state.json"),
            journal: strs(&dir, "journal.jsonl"),
            webhook_url: webhook_url.to_string(),
            table: false,
            dir,
            policy,
        }
    }

    /// The state in the state table (`remediator init` first) instead of the state file.
    pub(super) async fn with_table(mut self) -> Self {
        let policy = self.policy.to_str().expect("utf-8").to_string();
        let init = self.run(&["init", "--policy", &policy]).await;
        assert_eq!(init.code, 0, "{}", init.stderr);
        self.table = true;
        self
    }

    /// `--state FILE`, or nothing (the state table).
    pub(super) fn store_args(&self) -> Vec<&str> {
        if self.table {
            Vec::new()
        } else {
            vec!["--state", &self.state]
        }
    }

    pub(super) fn policy(&self) -> &str {
        self.policy.to_str().expect("utf-8")
    }

    /// Minutes `ago` of average duration.
    pub(super) async fn durations(&self, points: &[(i64, f64)]) {
        self.stack
            .put_lambda_metric(&self.function, "Duration", points)
            .await;
    }

    /// Runs the binary with Lambda behind the front; `extra` after the command's own flags.
    pub(super) async fn run(&self, args: &[&str]) -> Run {
        self.run_through(moto_url(), args).await
    }

    /// [`Self::run`] with every service but Lambda reached through `endpoint`.
    pub(super) async fn run_through(&self, endpoint: &str, args: &[&str]) -> Run {
        let args: Vec<String> = args.iter().map(|s| (*s).to_string()).collect();
        let aws = endpoint.to_string();
        let endpoint = self.front.endpoint();
        let url = self.webhook_url.clone();
        tokio::task::spawn_blocking(move || {
            output(
                isolated(&aws, true)
                    .env("AWS_ENDPOINT_URL_LAMBDA", endpoint)
                    .env("REMEDIATOR_WEBHOOK_URL", url)
                    .args(args),
            )
        })
        .await
        .expect("the binary ran")
    }

    pub(super) async fn run_once(&self, dry_run: bool) -> Run {
        let args = self.run_once_args(dry_run);
        self.run(&args).await
    }

    /// `run --once` with this scene's policy, store and journal.
    pub(super) fn run_once_args(&self, dry_run: bool) -> Vec<&str> {
        let mut args = vec!["run", "--once", "--policy", self.policy()];
        args.extend(self.store_args());
        args.extend(["--journal", &self.journal]);
        if dry_run {
            args.push("--dry-run");
        }
        args
    }

    pub(super) async fn status(&self) -> String {
        let mut args = vec!["status", "--policy", self.policy()];
        args.extend(self.store_args());
        let run = self.run(&args).await;
        assert_eq!(run.code, 0, "{}", run.stderr);
        run.stdout
    }

    pub(super) async fn caps(&self) -> [Option<i32>; 2] {
        [
            self.stack.mapping(&self.mappings[0]).await.1,
            self.stack.mapping(&self.mappings[1]).await.1,
        ]
    }

    /// `(kind, outcome)` of every action of the last journal record.
    pub(super) fn last_actions(&self) -> Vec<(String, String)> {
        let records = journal(Path::new(&self.journal));
        super::outcomes(records.last().expect("a journal record"))
    }
}

pub(super) const MAPPING_FLOW: &str =
    "enabled = true\nlever = \"event-source-mapping\"\nmax_concurrency = 2";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_pauses_performers_caps_the_mappings_and_a_restarted_controller_resumes_and_restores()
{
    let hook = LoopbackWebhook::start().await;
    let scene = Scene::new("pause", &hook.url(), MAPPING_FLOW).await;
    pause_restart_resume(&hook, scene).await;
}

/// The pause, a restart while still drifting, then the resume and the restore by a third
/// process: with the state file, or (`restarts`) with the state table.
pub(super) async fn pause_restart_resume(hook: &LoopbackWebhook, scene: Scene) {
    scene
        .durations(&[(6, HIGH_MS), (5, HIGH_MS), (4, HIGH_MS), (3, HIGH_MS)])
        .await;

    let first = scene.run_once(false).await;
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert!(
        first.stderr.contains("did pause performers"),
        "{}",
        first.stderr
    );
    let notes = scene.inbox.take().await;
    assert_eq!(notes.len(), 1, "one pause message over SNS: {notes:?}");
    assert!(
        notes[0].subject.starts_with("[remediator] PAUSE"),
        "{notes:?}"
    );
    assert!(notes[0].subject.contains(&scene.function), "{notes:?}");
    for expected in [
        "ingest-client -p",
        "3000 ms",
        "baseline of 1000 ms",
        "remediator pause ack",
    ] {
        assert!(
            notes[0].message.contains(expected),
            "{expected}: {}",
            notes[0].message
        );
    }
    let posts = hook.requests();
    assert_eq!(posts.len(), 1, "one webhook POST");
    let text = posts[0].text().expect("Slack-compatible text");
    assert!(
        text.contains("PAUSE") && text.contains(&scene.function),
        "{text}"
    );
    assert_eq!(scene.caps().await, [Some(2), Some(2)], "mappings capped");
    let status = scene.status().await;
    assert!(status.contains("ASKED TO PAUSE"), "{status}");
    assert!(status.contains("to be put back to 5"), "{status}");
    let kinds = scene.last_actions();
    assert!(
        kinds.contains(&("pause".into(), "recorded".into())),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&("notify".into(), "sent".into())),
        "{kinds:?}"
    );
    assert_eq!(
        kinds
            .iter()
            .filter(|k| k.0 == "limit-flow" && k.1 == "applied")
            .count(),
        2,
        "{kinds:?}"
    );

    // A new process (a restart) while still drifting: nothing is sent twice.
    let second = scene.run_once(false).await;
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert!(
        scene.inbox.take().await.is_empty(),
        "no second pause message"
    );
    assert_eq!(hook.requests().len(), 1);
    assert_eq!(scene.caps().await, [Some(2), Some(2)]);

    // Steady again (and the policy's 1 s minimum pause over, in whole seconds): the next
    // process resumes and puts the originals back.
    scene.durations(&[(2, STEADY_MS), (1, STEADY_MS)]).await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let third = scene.run_once(false).await;
    assert_eq!(third.code, 0, "{}", third.stderr);
    let notes = scene.inbox.take().await;
    assert_eq!(notes.len(), 1, "{notes:?}\n{}", third.stderr);
    assert!(
        notes[0].subject.starts_with("[remediator] RESUME"),
        "{notes:?}"
    );
    assert!(
        notes[0].message.contains("Putting back"),
        "{}",
        notes[0].message
    );
    assert_eq!(hook.requests().len(), 2);
    assert_eq!(scene.caps().await, [None, Some(5)], "originals restored");
    let status = scene.status().await;
    assert!(status.contains("not paused (last pause"), "{status}");
    assert!(!status.contains("flow control"), "{status}");
    drop(scene.dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_says_it_would_pause_and_sends_and_changes_nothing() {
    let hook = LoopbackWebhook::start().await;
    let scene = Scene::new("pausedry", &hook.url(), MAPPING_FLOW).await;
    scene
        .durations(&[(5, HIGH_MS), (4, HIGH_MS), (3, HIGH_MS)])
        .await;
    let run = scene.run_once(true).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("would pause performers"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("would limit-flow"), "{}", run.stderr);
    assert!(scene.inbox.take().await.is_empty(), "nothing published");
    assert!(hook.requests().is_empty(), "nothing posted");
    assert_eq!(scene.caps().await, [None, Some(5)], "nothing changed");
    let kinds = scene.last_actions();
    assert!(!kinds.is_empty());
    assert!(kinds.iter().all(|k| k.1 == "would-apply"), "{kinds:?}");
    assert!(!Path::new(&scene.state).exists(), "dry-run writes no state");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_webhook_is_reported_and_owed_while_sns_still_goes_out_once() {
    let dead = closed_url().await;
    let scene = Scene::new(
        "pausehook",
        &dead,
        "enabled = true\nlever = \"reserved-concurrency\"\nfunction = \"tileUploadLambda\"\nmax_concurrency = 3",
    )
    .await;
    scene
        .stack
        .set_reserved_concurrency(&scene.function, Some(50))
        .await;
    scene
        .durations(&[(5, HIGH_MS), (4, HIGH_MS), (3, HIGH_MS)])
        .await;
    let first = scene.run_once(false).await;
    assert_eq!(
        first.code, 1,
        "a failed channel is a problem: {}",
        first.stderr
    );
    let errors = error_lines(&first.stderr);
    assert_eq!(errors.len(), 1, "{}", first.stderr);
    assert!(errors[0].contains("on webhook: failed"), "{}", errors[0]);
    assert!(
        !errors[0].contains("/services/"),
        "no webhook secret: {}",
        errors[0]
    );
    // Nowhere: not in the error line, the ERROR log, or the journal.
    let journal_text = std::fs::read_to_string(&scene.journal).expect("journal");
    for text in [&first.stdout, &first.stderr, &journal_text] {
        assert!(
            leaked(text).is_empty(),
            "{:?} leaked in:\n{text}",
            leaked(text)
        );
    }
    assert_eq!(scene.inbox.take().await.len(), 1, "SNS still delivered");
    assert_eq!(
        scene.stack.reserved_concurrency(&scene.function).await,
        Some(3),
        "reserved concurrency lowered"
    );
    let records = journal(Path::new(&scene.journal));
    let sent = records[0]["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .find(|d| d["action"]["kind"] == "notify")
        .map(|d| d["outcome"]["deliveries"].clone())
        .unwrap_or(Value::Null);
    assert_eq!(sent[0]["channel"], "sns", "{sent}");
    assert!(sent[0]["receipt"].as_str().is_some(), "{sent}");
    assert_eq!(sent[1]["channel"], "webhook", "{sent}");
    assert!(sent[1]["error"]["message"].as_str().is_some(), "{sent}");

    // The next tick owes the webhook only.
    let second = scene.run_once(false).await;
    assert_eq!(second.code, 1, "{}", second.stderr);
    assert!(scene.inbox.take().await.is_empty(), "SNS not sent twice");
    let kinds = scene.last_actions();
    assert_eq!(
        kinds.iter().filter(|k| k.0 == "notify").count(),
        1,
        "{kinds:?}"
    );

    // Ended by an operator: resumed at the next tick, reserved concurrency put back.
    let policy = scene.policy.to_str().expect("utf-8");
    let end = scene
        .run(&[
            "pause",
            "end",
            "--by",
            "carol",
            "--policy",
            policy,
            "--state",
            &scene.state,
        ])
        .await;
    assert_eq!(end.code, 0, "{}", end.stderr);
    assert!(end.stdout.contains("carol"), "{}", end.stdout);
    let third = scene.run_once(false).await;
    assert!(third.stderr.contains("ended by carol"), "{}", third.stderr);
    let notes = scene.inbox.take().await;
    assert!(
        notes
            .iter()
            .any(|n| n.subject.starts_with("[remediator] RESUME")),
        "{notes:?}"
    );
    assert_eq!(
        scene.stack.reserved_concurrency(&scene.function).await,
        Some(50),
        "original reserved concurrency restored"
    );
    let again = scene
        .run(&["pause", "ack", "--policy", policy, "--state", &scene.state])
        .await;
    assert_eq!(again.code, 2, "nothing to acknowledge: {}", again.stderr);
    assert!(
        again.stderr.contains("no pause in progress"),
        "{}",
        again.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_controller_takes_an_operators_end_at_its_next_tick() {
    let hook = LoopbackWebhook::start().await;
    let scene = Scene::new("pauselive", &hook.url(), MAPPING_FLOW).await;
    let text = std::fs::read_to_string(&scene.policy)
        .expect("policy")
        .replace("interval = \"30s\"", "interval = \"10s\"");
    std::fs::write(&scene.policy, text).expect("policy");
    scene
        .durations(&[(5, HIGH_MS), (4, HIGH_MS), (3, HIGH_MS)])
        .await;
    let policy = scene.policy.to_str().expect("utf-8").to_string();
    let child = isolated(moto_url(), true)
        .env("AWS_ENDPOINT_URL_LAMBDA", scene.front.endpoint())
        .env("REMEDIATOR_WEBHOOK_URL", &scene.webhook_url)
        .env("REMEDIATOR_LOG", "info,remediator::journal=off")
        .args(["run", "--policy", &policy, "--state", &scene.state])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the controller starts");
    // Wait for the pause to be saved (the first tick), then end it while the loop runs on; the
    // next tick comes 10 s later (the shortest interval `check` allows).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !(Path::new(&scene.state).exists() && scene.status().await.contains("ASKED TO PAUSE")) {
        assert!(std::time::Instant::now() < deadline, "no pause within 30 s");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(scene.caps().await, [Some(2), Some(2)]);
    let end = scene
        .run(&[
            "pause",
            "end",
            "--by",
            "dave",
            "--policy",
            &policy,
            "--state",
            &scene.state,
        ])
        .await;
    assert_eq!(end.code, 0, "{}", end.stderr);
    // Taken at the next tick, at most one interval (10 s) away; two, should a tick be under way.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while scene.caps().await != [None, Some(5)] {
        assert!(
            std::time::Instant::now() < deadline,
            "the running controller did not take the end within 30 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    // Another tick: still drifting, but no new pause after an operator's end.
    tokio::time::sleep(std::time::Duration::from_secs(11)).await;
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let out = child.wait_with_output().expect("the controller stops");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        stderr.matches("did pause performers").count(),
        1,
        "{stderr}"
    );
    assert!(stderr.contains("ended by dave"), "{stderr}");
    let notes = scene.inbox.take().await;
    let subjects: Vec<&str> = notes.iter().map(|n| n.subject.as_str()).collect();
    assert_eq!(subjects.len(), 2, "{subjects:?}");
    assert!(
        subjects[0].starts_with("[remediator] PAUSE"),
        "{subjects:?}"
    );
    assert!(
        subjects[1].starts_with("[remediator] RESUME"),
        "{subjects:?}"
    );
    let status = scene.status().await;
    assert!(
        status.contains("an operator ended the last pause"),
        "{status}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_that_failed_is_not_tried_again_in_the_same_tick() {
    let dead = closed_url().await;
    let scene = Scene::new("pausedown", &dead, MAPPING_FLOW).await;
    // A page-out dead-letter queue with messages: a second notice in the same tick.
    let d = domain("pausedown");
    let deadletter = Domain::new(&d).expect("a test domain").deadletter_queue();
    scene.stack.queue(&deadletter, 1, 2, 30).await;
    scene
        .durations(&[(5, HIGH_MS), (4, HIGH_MS), (3, HIGH_MS)])
        .await;
    let run = scene.run_once(false).await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    let records = journal(Path::new(&scene.journal));
    let webhook: Vec<String> = records[0]["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .filter(|d| d["action"]["kind"] == "notify")
        .map(|d| {
            d["outcome"]["deliveries"][1]["error"]["error"]
                .as_str()
                .unwrap_or("")
                .to_string()
        })
        .collect();
    assert_eq!(webhook.len(), 2, "a pause and an alert: {webhook:?}");
    assert_eq!(
        webhook.iter().filter(|e| *e == "not-tried").count(),
        1,
        "the second notice does not wait on the dead webhook again: {webhook:?}"
    );
    let subjects: Vec<String> = scene
        .inbox
        .take()
        .await
        .into_iter()
        .map(|n| n.subject)
        .collect();
    assert_eq!(subjects.len(), 2, "both still over SNS: {subjects:?}");
    assert!(
        subjects
            .iter()
            .any(|s| s.contains("ALERT page-out-dead-letters")),
        "{subjects:?}"
    );
}
