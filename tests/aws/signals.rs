//! `remediator signals test` through the real binary: SNS Publish into moto (read back from an
//! SQS queue subscribed to the topic) and the chat webhook against a loopback server.

use super::stack::{Stack, moto_url};
use super::stack_pause::SnsInbox;
use super::webhook::{LoopbackWebhook, Reply, closed_url};
use super::{domain, isolated, scratch};
use crate::common::{Run, output};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The shipped local policy on `domain` with the given `[signals]` channels switched on.
fn signals_policy(
    dir: &Path,
    domain: &str,
    topic_arn: Option<&str>,
    webhook: Option<(&str, &str)>,
) -> PathBuf {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/policies/local.toml"))
        .expect("local policy");
    let mut policy: toml::Table = text.parse().expect("the local policy is TOML");
    policy
        .get_mut("stack")
        .and_then(toml::Value::as_table_mut)
        .expect("[stack]")
        .insert("domain".into(), domain.into());
    let signals = policy
        .entry("signals")
        .or_insert_with(|| toml::Table::new().into())
        .as_table_mut()
        .expect("[signals] is a table");
    let mut sns = toml::Table::new();
    sns.insert("enabled".into(), topic_arn.is_some().into());
    if let Some(arn) = topic_arn {
        sns.insert("topic_arn".into(), arn.into());
    }
    signals.insert("sns".into(), sns.into());
    let mut hook = toml::Table::new();
    hook.insert("enabled".into(), webhook.is_some().into());
    if let Some((url, timeout)) = webhook {
        hook.insert("url".into(), url.into());
        hook.insert("timeout".into(), timeout.into());
    }
    signals.insert("webhook".into(), hook.into());
    let path = dir.join("policy.toml");
    std::fs::write(&path, toml::to_string(&policy).expect("policy TOML")).expect("write policy");
    path
}

/// `signals test` with this policy, on a blocking thread so the test's servers keep serving.
async fn signals_test(endpoint: &str, policy: &Path, message: Option<&str>) -> Run {
    let mut args = vec![
        "signals".to_string(),
        "test".to_string(),
        "--policy".to_string(),
        policy.to_string_lossy().into_owned(),
    ];
    if let Some(m) = message {
        args.extend(["--message".to_string(), m.to_string()]);
    }
    let endpoint = endpoint.to_string();
    tokio::task::spawn_blocking(move || output(isolated(&endpoint, true).args(&args)))
        .await
        .expect("join")
}

/// Nothing listens here: a webhook-only run must not need AWS at all.
const NO_AWS: &str = "http://127.0.0.1:9";

/// The line `signals test` printed for one channel.
fn line<'a>(run: &'a Run, channel: &str) -> &'a str {
    let prefix = format!("{channel}: ");
    run.stdout
        .lines()
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no `{channel}` line in: {}\n{}", run.stdout, run.stderr))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_test_message_reaches_the_sns_topic() {
    let dir = scratch("signals-sns");
    let d = domain("sigsns");
    let stack = Stack::new(&d, moto_url()).await;
    let inbox = SnsInbox::create(&stack, &format!("{}-alerts", stack.dashed())).await;
    let policy = signals_policy(&dir, &d, Some(&inbox.topic_arn), None);
    let run = signals_test(moto_url(), &policy, Some("drill 42 → ok")).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.stdout.lines().count(), 1, "{}", run.stdout);
    assert!(
        line(&run, "sns").starts_with("sns: delivered (SNS Publish "),
        "{}",
        run.stdout
    );
    let got = inbox.take().await;
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(
        got[0].subject.starts_with("remediator signal test from ")
            && got[0].subject.ends_with(&format!("({d})")),
        "{got:?}"
    );
    assert!(got[0].subject.len() <= 100, "{got:?}");
    assert!(
        got[0].message.contains("remediator signal test from")
            && got[0].message.contains(&format!("for the stack {d}"))
            && got[0].message.ends_with("drill 42 → ok"),
        "{got:?}"
    );
    // The receipt names the message SNS delivered.
    let id = line(&run, "sns")
        .trim_start_matches("sns: delivered (SNS Publish ")
        .trim_end_matches(')');
    assert!(!id.is_empty(), "{}", run.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_webhook_gets_one_slack_post() {
    let dir = scratch("signals-hook");
    let hook = LoopbackWebhook::start().await;
    let policy = signals_policy(&dir, &domain("sighook"), None, Some((&hook.url(), "5s")));
    let run = signals_test(NO_AWS, &policy, Some("from the drill")).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.stdout.trim(), "webhook: delivered (webhook HTTP 200)");
    let requests = hook.requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert_eq!(requests[0].method, "POST");
    assert_eq!(requests[0].path, super::webhook::PATH);
    assert_eq!(
        requests[0].content_type.as_deref(),
        Some("application/json")
    );
    let text = requests[0].text().expect("a JSON body with `text`");
    assert!(
        text.starts_with("*remediator signal test from ") && text.contains("*\n"),
        "{text}"
    );
    assert!(text.ends_with("from the drill"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_and_late_answers_are_retried() {
    let dir = scratch("signals-retry");
    let hook = LoopbackWebhook::scripted(&[Reply::status(500), Reply::status(503)]).await;
    let policy = signals_policy(&dir, &domain("sigretry"), None, Some((&hook.url(), "5s")));
    let run = signals_test(NO_AWS, &policy, None).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(
        line(&run, "webhook"),
        "webhook: delivered (webhook HTTP 200)"
    );
    assert_eq!(hook.requests().len(), 3);
    let texts: Vec<_> = hook.requests().iter().map(|r| r.text()).collect();
    assert!(texts.windows(2).all(|w| w[0] == w[1]), "the same message");

    // An answer later than the policy's timeout counts as none; the next attempt gets through.
    let dir = scratch("signals-late");
    let hook = LoopbackWebhook::scripted(&[Reply::late(Duration::from_secs(5))]).await;
    let policy = signals_policy(&dir, &domain("siglate"), None, Some((&hook.url(), "1s")));
    let run = signals_test(NO_AWS, &policy, None).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(hook.requests().len(), 2);

    // 429 is retried too; three in a row fail as throttled.
    let dir = scratch("signals-429");
    let hook = LoopbackWebhook::scripted(&[Reply::status(429); 3]).await;
    let policy = signals_policy(&dir, &domain("sig429"), None, Some((&hook.url(), "5s")));
    let run = signals_test(NO_AWS, &policy, None).await;
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(hook.requests().len(), 3);
    let failed = line(&run, "webhook");
    assert!(
        failed.starts_with("webhook: failed: ")
            && failed.contains("throttled")
            && failed.contains("HTTP 429")
            && failed.contains("after 3 attempts"),
        "{failed}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_is_not_retried_and_the_url_secret_is_not_printed() {
    let dir = scratch("signals-404");
    let hook = LoopbackWebhook::scripted(&[Reply::status(404)]).await;
    let policy = signals_policy(&dir, &domain("sig404"), None, Some((&hook.url(), "5s")));
    let run = signals_test(NO_AWS, &policy, None).await;
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(hook.requests().len(), 1, "4xx is permanent");
    let failed = line(&run, "webhook");
    assert!(failed.contains("HTTP 404"), "{failed}");
    assert!(
        !run.stdout.contains(super::webhook::PATH) && !run.stderr.contains(super::webhook::PATH),
        "{}\n{}",
        run.stdout,
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_webhook_fails_while_sns_still_delivers() {
    let dir = scratch("signals-down");
    let d = domain("sigdown");
    let stack = Stack::new(&d, moto_url()).await;
    let inbox = SnsInbox::create(&stack, &format!("{}-alerts", stack.dashed())).await;
    let url = closed_url().await;
    let policy = signals_policy(&dir, &d, Some(&inbox.topic_arn), Some((&url, "2s")));
    let run = signals_test(moto_url(), &policy, None).await;
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.stdout.lines().count(), 2, "{}", run.stdout);
    assert!(line(&run, "sns").starts_with("sns: delivered (SNS Publish "));
    let failed = line(&run, "webhook");
    let host = url.trim_end_matches(super::webhook::PATH);
    assert!(
        failed.starts_with("webhook: failed: ")
            && failed.contains(host)
            && failed.contains("Connection refused")
            && failed.contains("after 3 attempts"),
        "{failed}"
    );
    assert_eq!(inbox.take().await.len(), 1);
}

#[test]
fn a_malformed_topic_arn_is_bad_input() {
    let dir = scratch("signals-arn");
    let policy = signals_policy(
        &dir,
        &domain("sigarn"),
        Some("arn:aws:sqs:us-east-1:123456789012:not-a-topic"),
        None,
    );
    let policy = policy.to_str().expect("utf-8");
    for args in [
        vec!["check", policy],
        vec!["signals", "test", "--policy", policy],
    ] {
        let run = output(isolated(NO_AWS, true).args(&args));
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(
            run.stderr.contains("signals.sns.topic_arn") && run.stderr.contains("not-a-topic"),
            "{args:?}: {}",
            run.stderr
        );
        assert!(run.stdout.is_empty(), "{}", run.stdout);
    }
}

#[test]
fn a_policy_without_channels_is_bad_input() {
    let dir = scratch("signals-none");
    let policy = signals_policy(&dir, &domain("signone"), None, None);
    let run = output(isolated(NO_AWS, true).args([
        "signals",
        "test",
        "--policy",
        policy.to_str().expect("utf-8"),
    ]));
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("error: the policy switches on no signal channel"),
        "{}",
        run.stderr
    );
}
