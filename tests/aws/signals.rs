//! `remediator signals test` through the real binary: SNS Publish into moto (read back from an
//! SQS queue subscribed to the topic) and the chat webhook against a loopback server, its URL
//! (with a password and a token path) given in `REMEDIATOR_WEBHOOK_URL` or a `url_file`.

use super::stack::{Stack, moto_url};
use super::stack_pause::SnsInbox;
use super::webhook::{LoopbackWebhook, Reply, closed_url, leaked, origin_of};
use super::{domain, isolated, scratch};
use crate::common::{Run, output};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The shipped local policy on `domain` with the given `[signals]` channels switched on; the
/// webhook as `(key, value)` of its URL (`url` or `url_file`, or none) and its timeout.
fn signals_policy(
    dir: &Path,
    domain: &str,
    topic_arn: Option<&str>,
    webhook: Option<(Option<(&str, &str)>, &str)>,
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
        if let Some((key, value)) = url {
            hook.insert(key.into(), value.into());
        }
        hook.insert("timeout".into(), timeout.into());
    }
    signals.insert("webhook".into(), hook.into());
    let path = dir.join("policy.toml");
    std::fs::write(&path, toml::to_string(&policy).expect("policy TOML")).expect("write policy");
    path
}

/// The webhook switched on with this timeout, its URL from the environment.
fn from_env(timeout: &str) -> Option<(Option<(&'static str, &'static str)>, &str)> {
    Some((None, timeout))
}

/// `signals test` with this policy and `REMEDIATOR_WEBHOOK_URL=url`, on a blocking thread so
/// the test's servers keep serving.
async fn signals_test(
    endpoint: &str,
    policy: &Path,
    message: Option<&str>,
    url: Option<&str>,
) -> Run {
    signals_test_logging(endpoint, policy, message, url, "info").await
}

/// `signals test` as above, logging at `level`.
async fn signals_test_logging(
    endpoint: &str,
    policy: &Path,
    message: Option<&str>,
    url: Option<&str>,
    level: &str,
) -> Run {
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
    let url = url.map(str::to_string);
    let level = level.to_string();
    tokio::task::spawn_blocking(move || {
        let mut cmd = isolated(&endpoint, true);
        if let Some(url) = url {
            cmd.env("REMEDIATOR_WEBHOOK_URL", url);
        }
        output(cmd.env("REMEDIATOR_LOG", level).args(&args))
    })
    .await
    .expect("join")
}

/// Neither stream of `run` holds a secret of the webhook URL.
fn assert_no_secret(run: &Run) {
    let all = format!("{}\n{}", run.stdout, run.stderr);
    assert!(
        leaked(&all).is_empty(),
        "{:?} leaked in:\n{all}",
        leaked(&all)
    );
}

/// `check` and `signals test` both refuse `policy` as bad input (exit 2, nothing on stdout, no
/// secret of the webhook URL anywhere), naming `field` and saying `why`.
fn assert_refused(policy: &Path, field: &str, why: &str) {
    let policy = policy.to_str().expect("utf-8");
    for args in [
        vec!["check", policy],
        vec!["signals", "test", "--policy", policy],
    ] {
        let run = output(isolated(NO_AWS, true).args(&args));
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(
            run.stderr.contains(&format!("{field}: ")) && run.stderr.contains(why),
            "{args:?}: {}",
            run.stderr
        );
        assert!(run.stdout.is_empty(), "{args:?}: {}", run.stdout);
        assert_no_secret(&run);
    }
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
    let run = signals_test(moto_url(), &policy, Some("drill 42 → ok"), None).await;
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
    let policy = signals_policy(&dir, &domain("sighook"), None, from_env("5s"));
    let run = signals_test(NO_AWS, &policy, Some("from the drill"), Some(&hook.url())).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.stdout.trim(), "webhook: delivered (webhook HTTP 200)");
    // Where the URL came from is logged, as scheme://host[:port] only.
    assert!(
        run.stderr.contains(&format!(
            "webhook {} (URL from environment variable REMEDIATOR_WEBHOOK_URL)",
            hook.origin()
        )),
        "{}",
        run.stderr
    );
    assert_no_secret(&run);
    let requests = hook.requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert_eq!(requests[0].method, "POST");
    assert_eq!(requests[0].path, super::webhook::PATH);
    // The URL's user:password@ goes as basic authorization: base64("remediator:pw-Secret-51e7").
    assert_eq!(
        requests[0].authorization.as_deref(),
        Some("Basic cmVtZWRpYXRvcjpwdy1TZWNyZXQtNTFlNw==")
    );
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
    let policy = signals_policy(&dir, &domain("sigretry"), None, from_env("5s"));
    let run = signals_test(NO_AWS, &policy, None, Some(&hook.url())).await;
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
    let policy = signals_policy(&dir, &domain("siglate"), None, from_env("1s"));
    let run = signals_test(NO_AWS, &policy, None, Some(&hook.url())).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(hook.requests().len(), 2);

    // 429 is retried too; three in a row fail as throttled.
    let dir = scratch("signals-429");
    let hook = LoopbackWebhook::scripted(&[Reply::status(429); 3]).await;
    let policy = signals_policy(&dir, &domain("sig429"), None, from_env("5s"));
    let run = signals_test(NO_AWS, &policy, None, Some(&hook.url())).await;
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
async fn failures_show_only_scheme_host_and_port_even_at_trace() {
    // A refusal: not retried. Its body quotes the URL's path and holds a terminal escape.
    let dir = scratch("signals-404");
    let hook = LoopbackWebhook::scripted(&[Reply::status(404)]).await;
    let policy = signals_policy(&dir, &domain("sig404"), None, from_env("5s"));
    let run = signals_test_logging(NO_AWS, &policy, None, Some(&hook.url()), "trace").await;
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(hook.requests().len(), 1, "4xx is permanent");
    let failed = line(&run, "webhook");
    assert!(
        failed.contains(&format!("{}: HTTP 404", hook.origin())),
        "{failed}"
    );
    assert!(
        failed.contains("scripted failure \\u{1b}[31mno hook at"),
        "the body's excerpt, its escape made inert: {failed}"
    );
    // (The log's own colours are escapes too; the body's is the one before "no hook".)
    assert!(!run.stdout.contains('\u{1b}') && !run.stderr.contains("\u{1b}[31mno hook"));
    assert_no_secret(&run);

    // Server errors: retried, then reported with the last body.
    let dir = scratch("signals-500");
    let hook = LoopbackWebhook::scripted(&[Reply::status(500); 3]).await;
    let policy = signals_policy(&dir, &domain("sig500"), None, from_env("5s"));
    let run = signals_test_logging(NO_AWS, &policy, None, Some(&hook.url()), "trace").await;
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(hook.requests().len(), 3);
    assert!(line(&run, "webhook").contains("HTTP 500"), "{}", run.stdout);
    assert_no_secret(&run);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_webhook_fails_while_sns_still_delivers() {
    let dir = scratch("signals-down");
    let d = domain("sigdown");
    let stack = Stack::new(&d, moto_url()).await;
    let inbox = SnsInbox::create(&stack, &format!("{}-alerts", stack.dashed())).await;
    let url = closed_url().await;
    let policy = signals_policy(&dir, &d, Some(&inbox.topic_arn), from_env("2s"));
    let run = signals_test_logging(moto_url(), &policy, None, Some(&url), "trace").await;
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.stdout.lines().count(), 2, "{}", run.stdout);
    assert!(line(&run, "sns").starts_with("sns: delivered (SNS Publish "));
    let failed = line(&run, "webhook");
    assert!(
        failed.starts_with(&format!(
            "webhook: failed: webhook POST failed (transient): {}: ",
            origin_of(&url)
        )) && failed.contains("Connection refused")
            && failed.contains("after 3 attempts"),
        "{failed}"
    );
    assert_no_secret(&run);
    assert_eq!(inbox.take().await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_url_can_come_from_a_file_and_the_variable_wins_over_it() {
    let dir = scratch("signals-file");
    let hook = LoopbackWebhook::start().await;
    let file = dir.join("webhook-url");
    std::fs::write(&file, format!("\n{}\n", hook.url())).expect("url file");
    let file = file.to_str().expect("utf-8");
    let policy = signals_policy(
        &dir,
        &domain("sigfile"),
        None,
        Some((Some(("url_file", file)), "5s")),
    );
    let run = signals_test(NO_AWS, &policy, None, None).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr
            .contains(&format!("webhook {} (URL from {file}:2)", hook.origin())),
        "{}",
        run.stderr
    );
    assert_eq!(hook.requests().len(), 1);

    // The environment wins over the file.
    let other = LoopbackWebhook::start().await;
    let run = signals_test(NO_AWS, &policy, None, Some(&other.url())).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!((hook.requests().len(), other.requests().len()), (1, 1));

    // A second line is refused before anything is sent, naming the file and line.
    std::fs::write(file, format!("{}\n{}\n", hook.url(), hook.url())).expect("url file");
    let run = signals_test(NO_AWS, &policy, None, None).await;
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "error: {file}:2: the webhook URL file has a second line"
        )),
        "{}",
        run.stderr
    );
    assert_eq!(hook.requests().len(), 1, "nothing sent");
    assert_no_secret(&run);
}

#[test]
fn a_bad_url_in_the_variable_is_bad_input_naming_the_variable_not_the_url() {
    let dir = scratch("signals-badenv");
    let policy = signals_policy(&dir, &domain("sigbadenv"), None, from_env("5s"));
    let policy = policy.to_str().expect("utf-8");
    let secret = format!(
        "http://u:{}@127.0.0.1:99999{}",
        super::webhook::PASSWORD,
        super::webhook::PATH
    );
    for (url, why) in [
        (
            secret.clone(),
            "has a port that is not a number from 1 to 65535",
        ),
        (
            format!("{}\r\nX-Injected: 1", secret.replace("99999", "9")),
            "has a control character (U+000D)",
        ),
        (String::new(), "is empty"),
    ] {
        let run = output(
            isolated(NO_AWS, true)
                .env("REMEDIATOR_WEBHOOK_URL", &url)
                .args(["signals", "test", "--policy", policy]),
        );
        assert_eq!(run.code, 2, "{}", run.stderr);
        assert!(
            run.stderr.contains(&format!(
                "error: environment variable REMEDIATOR_WEBHOOK_URL: the webhook URL {why}"
            )),
            "{}",
            run.stderr
        );
        assert_no_secret(&run);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_refuses_a_secret_in_the_policy_naming_the_field_and_allows_a_plain_relay() {
    let dir = scratch("signals-check");
    let hook = LoopbackWebhook::start().await;
    let token_path = format!("{}/relay{}", hook.origin(), super::webhook::PATH);
    let bad_port = format!("http://relay.internal:99999/{}", super::webhook::TOKEN);
    for (url, enabled, why) in [
        (
            hook.url(),
            true,
            "the URL carries credentials (user:password@); a policy may be committed",
        ),
        (hook.url(), false, "the URL carries credentials"),
        (token_path, true, "that looks like a token"),
        (
            bad_port,
            true,
            "has a port that is not a number from 1 to 65535",
        ),
    ] {
        let d = domain("sigcheck");
        let policy = signals_policy(&dir, &d, None, Some((Some(("url", &url)), "5s")));
        let mut table: toml::Table = std::fs::read_to_string(&policy)
            .expect("policy")
            .parse()
            .expect("TOML");
        table["signals"]["webhook"]
            .as_table_mut()
            .expect("[signals.webhook]")
            .insert("enabled".into(), enabled.into());
        std::fs::write(&policy, toml::to_string(&table).expect("TOML")).expect("policy");
        assert_refused(&policy, "signals.webhook.url", why);
    }
    assert!(hook.requests().is_empty(), "nothing sent");

    // A URL without anything secret-looking (an internal relay) may stay in the policy.
    let relay = format!("{}/alerts/boss", hook.origin());
    let policy = signals_policy(
        &dir,
        &domain("sigrelay"),
        None,
        Some((Some(("url", &relay)), "5s")),
    );
    let run = signals_test(NO_AWS, &policy, None, None).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(hook.requests()[0].path, "/alerts/boss");
    let json = output(isolated(NO_AWS, true).args([
        "check",
        "--output",
        "json",
        policy.to_str().expect("utf-8"),
    ]));
    assert_eq!(json.code, 0, "{}", json.stderr);
    assert!(
        json.stdout
            .contains(&format!("\"policy\": \"{}\"", hook.origin()))
            && !json.stdout.contains("/alerts/boss"),
        "check's JSON shows scheme://host[:port] only: {}",
        json.stdout
    );
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
    assert_refused(&policy, "signals.sns.topic_arn", "not-a-topic");
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
