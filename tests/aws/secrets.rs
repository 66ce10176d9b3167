//! No secret leaves the process, through the real binary against moto: at
//! `REMEDIATOR_LOG=trace`, `run --once` prints neither the session token nor the secret key
//! (the SDK's wire logging stays off unless named), and a webhook URL's password and token path
//! appear in no output and no journal, whether the webhook fails or cannot be reached.

use super::stack::{Stack, moto_url};
use super::webhook::{LoopbackWebhook, Reply, closed_url, leaked, origin_of};
use super::{domain, error_lines, isolated, journal, policy, scratch, strs};
use crate::common::{Run, output};
use remediator::policy::Domain;
use std::path::{Path, PathBuf};

/// Unique markers for the credentials, so finding one in the output can only mean a leak.
const SESSION_TOKEN: &str = "SessionTokenMarker7c41d9e2";
const SECRET_KEY: &str = "SecretKeyMarker93be02f6";

/// `run --once` on `policy` against moto with the marked credentials, logging at `log`, the
/// webhook URL (if any) in `REMEDIATOR_WEBHOOK_URL`.
async fn run_once(policy: &Path, dir: &Path, log: &str, webhook: Option<&str>) -> Run {
    let args = vec![
        "run".to_string(),
        "--once".to_string(),
        "--policy".to_string(),
        policy.to_string_lossy().into_owned(),
        "--state".to_string(),
        strs(dir, "state.json"),
        "--journal".to_string(),
        strs(dir, "journal.jsonl"),
    ];
    let log = log.to_string();
    let webhook = webhook.map(str::to_string);
    tokio::task::spawn_blocking(move || {
        let mut cmd = isolated(moto_url(), true);
        cmd.env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
            .env("AWS_SESSION_TOKEN", SESSION_TOKEN)
            .env("REMEDIATOR_LOG", log);
        if let Some(url) = webhook {
            cmd.env("REMEDIATOR_WEBHOOK_URL", url);
        }
        output(cmd.args(&args))
    })
    .await
    .expect("join")
}

/// The shipped local policy on `domain` with its webhook switched on (its URL then comes from
/// the environment).
fn webhook_policy(dir: &Path, domain: &str) -> PathBuf {
    let path = policy(dir, domain);
    let text = std::fs::read_to_string(&path).expect("policy").replace(
        "[signals.webhook]\nenabled = false",
        "[signals.webhook]\nenabled = true",
    );
    assert!(
        text.contains("[signals.webhook]\nenabled = true"),
        "policy edited"
    );
    std::fs::write(&path, text).expect("policy");
    path
}

/// The credential markers and webhook secrets found in `text`.
fn secrets_in(text: &str) -> Vec<&'static str> {
    let mut found = leaked(text);
    found.extend(
        [SESSION_TOKEN, SECRET_KEY]
            .into_iter()
            .filter(|m| text.contains(m)),
    );
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trace_logging_never_prints_the_session_token_or_the_secret_key() {
    let dir = scratch("secrets-trace");
    let d = domain("sectrace");
    let _stack = Stack::create(&d, moto_url()).await;
    let policy = policy(&dir, &d);
    for log in ["trace", "debug", "trace,remediator=trace"] {
        let run = run_once(&policy, &dir, log, None).await;
        assert!(run.code == 0 || run.code == 1, "{log}: {}", run.stderr);
        assert!(run.stderr.contains("tick at "), "{log}: {}", run.stderr);
        let all = format!("{}\n{}", run.stdout, run.stderr);
        assert!(
            secrets_in(&all).is_empty(),
            "{log}: {:?} leaked",
            secrets_in(&all)
        );
    }
    // Named explicitly, the SDK's wire logging is on, and the token with it: the filter above
    // is what kept it out.
    let run = run_once(&policy, &dir, "info,aws_smithy_runtime=trace", None).await;
    assert!(
        run.stderr.contains(SESSION_TOKEN),
        "aws_smithy_runtime=trace logs the signed request"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_secret_is_in_no_output_and_no_journal_when_the_webhook_fails() {
    let failing = LoopbackWebhook::scripted(&[Reply::status(500); 3]).await;
    let (failing_url, failing_origin) = (failing.url(), failing.origin());
    let closed = closed_url().await;
    let closed_origin = origin_of(&closed);
    for (name, url, origin, why) in [
        ("secfail", failing_url, failing_origin, "HTTP 500"),
        ("secdown", closed, closed_origin, "Connection refused"),
    ] {
        let dir = scratch(name);
        let d = domain(name);
        let stack = Stack::new(&d, moto_url()).await;
        // A page-out dead-letter queue with messages: an alert, sent to the webhook.
        let deadletter = Domain::new(&d).expect("a test domain").deadletter_queue();
        stack.queue(&deadletter, 1, 2, 30).await;
        let policy = webhook_policy(&dir, &d);

        let run = run_once(&policy, &dir, "trace", Some(&url)).await;
        assert_eq!(
            run.code, 1,
            "{name}: a failed channel is a problem: {}",
            run.stderr
        );
        let errors = error_lines(&run.stderr);
        assert!(
            errors.iter().any(|e| e.contains("on webhook: failed")
                && e.contains(&origin)
                && e.contains(why)),
            "{name}: {errors:?}"
        );
        let records = journal(&dir.join("journal.jsonl"));
        let deliveries: Vec<String> = records
            .iter()
            .flat_map(|r| r["actions"].as_array().cloned().unwrap_or_default())
            .filter(|a| a["action"]["kind"] == "notify")
            .flat_map(|a| {
                a["outcome"]["deliveries"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            })
            .filter_map(|d| d["error"]["message"].as_str().map(str::to_string))
            .collect();
        assert!(
            deliveries.iter().any(|e| e.contains(&origin)),
            "{name}: the journal names the webhook by scheme://host:port: {deliveries:?}"
        );
        let journal_text = std::fs::read_to_string(dir.join("journal.jsonl")).expect("journal");
        for (what, text) in [
            ("stdout", &run.stdout),
            ("stderr", &run.stderr),
            ("journal", &journal_text),
        ] {
            assert!(
                secrets_in(text).is_empty(),
                "{name}: {:?} leaked in {what}:\n{text}",
                secrets_in(text)
            );
        }
    }
    assert_eq!(failing.requests().len(), 3, "three attempts");
    assert!(
        failing.requests()[0]
            .authorization
            .as_deref()
            .is_some_and(|a| a.starts_with("Basic ")),
        "the password went as basic authorization"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_and_a_plan_need_no_webhook_url_but_acting_does() {
    let dir = scratch("secrets-nourl");
    let d = domain("secnourl");
    let _stack = Stack::create(&d, moto_url()).await;
    let policy = webhook_policy(&dir, &d);
    let policy = policy.to_str().expect("utf-8");
    let state = strs(&dir, "state.json");
    for (args, code) in [
        (vec!["plan", "--policy", policy], 0),
        (vec!["run", "--once", "--dry-run", "--policy", policy], 0),
        (
            vec!["run", "--once", "--policy", policy, "--state", &state],
            2,
        ),
    ] {
        let run = output(isolated(moto_url(), true).args(&args));
        assert_eq!(run.code, code, "{args:?}: {}", run.stderr);
        if code == 2 {
            assert!(
                run.stderr.contains(
                    "error: [signals.webhook] is on but no URL is given: set REMEDIATOR_WEBHOOK_URL"
                ),
                "{}",
                run.stderr
            );
            assert!(
                !Path::new(&state).exists(),
                "refused before anything was done"
            );
        }
    }
}
