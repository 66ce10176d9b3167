//! Restarts with the state table (issue 13), through the binary against moto: `init` first and
//! never `--state`, so every process reads and writes `remediator.<domain>`. A restart inside a
//! cooldown makes no UpdateTable; a process killed between its intent and the outcome is read
//! back (no false hot-partition alert, no second UpdateTable); a pause and what it is to restore
//! survive restarts; a `pause ack` written during a tick is kept and adopted; the kill switch
//! (up only, all, lifted) holds or lets a raise through.

use super::pause::{HIGH_MS, MAPPING_FLOW, Scene, pause_restart_resume};
use super::proxy::{Fault, Proxy};
use super::stack::{Capacity, GSI, Stack, moto_url};
use super::webhook::LoopbackWebhook;
use super::{
    RAISED, domain, finish, isolated, journal, outcomes, policy, policy_with, remediator,
    remediator_async, scratch, signal, spawn_logged, strs, throttled_stack,
};
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::Value;
use std::path::Path;
use std::time::{Duration, Instant};

/// `remediator init`: the state table every later command of the test uses.
fn init(policy: &str) {
    let init = remediator(moto_url(), &["init", "--policy", policy]);
    assert_eq!(init.code, 0, "{}", init.stderr);
}

/// `run --once` on the state table, journalling to `journal`.
fn once(policy: &str, journal: &str) -> Vec<String> {
    ["run", "--once", "--policy", policy, "--journal", journal]
        .iter()
        .map(|s| (*s).to_string())
        .collect()
}

/// `(subject, hold)` of every held entry of a journal record.
fn holds(record: &Value) -> Vec<(String, String)> {
    record["held"]
        .as_array()
        .expect("held")
        .iter()
        .map(|h| {
            (
                h["subject"].as_str().unwrap_or_default().to_string(),
                h["reason"]["hold"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// One item of the state table (a strongly consistent read).
async fn item(
    stack: &Stack,
    pk: &str,
) -> Option<std::collections::HashMap<String, AttributeValue>> {
    stack
        .dynamodb
        .get_item()
        .table_name(format!("remediator.{}", stack.domain))
        .key("pk", AttributeValue::S(pk.to_string()))
        .consistent_read(true)
        .send()
        .await
        .expect("GetItem on the state table")
        .item
}

/// The memory item: its version and its body.
async fn memory(stack: &Stack) -> (u64, Value) {
    let item = item(stack, "memory").await.expect("a memory item");
    let version = item["version"]
        .as_n()
        .expect("version")
        .parse()
        .expect("number");
    let body = serde_json::from_str(item["body"].as_s().expect("body")).expect("JSON");
    (version, body)
}

fn now_s() -> u64 {
    remediator::time::Timestamp::now().0
}

/// Waits for the next whole second: a change is settled once its table is seen ACTIVE in a
/// later second than the change.
async fn next_second() {
    let start = now_s();
    while now_s() == start {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_inside_the_cooldown_makes_no_update_table_and_journals_the_hold() {
    let dir = scratch("rcool");
    let d = domain("rcool");
    let stack = throttled_stack(&d).await;
    let policy = policy(&dir, &d);
    let policy = policy.to_str().expect("utf-8").to_string();
    init(&policy);
    let journal_path = strs(&dir, "journal.jsonl");
    let proxy = Proxy::start(moto_url()).await;

    let started = Instant::now();
    let first = remediator_async(proxy.url(), once(&policy, &journal_path)).await;
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert_eq!(proxy.seen("UpdateTable"), 1, "{}", first.stderr);
    assert_eq!(stack.capacity("tileindex", None).await, RAISED);
    assert!(
        proxy.seen("TransactWriteItems") >= 1,
        "the raise was recorded under the lease: {}",
        first.stderr
    );

    // The throttling goes on, heavier: (20 consumed + 62 throttled)/s × 1.25 is above the 60
    // just set, so the table plans another raise, two minutes' cooldown away.
    stack.throttle_writes("tileindex", None, 3000.0).await;
    stack.throttle_writes("tileindex", Some(GSI), 3000.0).await;
    next_second().await;
    let second = remediator_async(proxy.url(), once(&policy, &journal_path)).await;
    let took = started.elapsed();
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert_eq!(
        proxy.seen("UpdateTable"),
        1,
        "a new process inside the cooldown raised again: {}",
        second.stderr
    );
    assert_eq!(stack.capacity("tileindex", None).await, RAISED);
    let records = journal(Path::new(&journal_path));
    assert_eq!(records.len(), 2);
    assert_eq!(records[1]["mode"], "enforce", "the restarted process leads");
    assert!(
        outcomes(&records[1])
            .iter()
            .all(|a| a.0 != "raise-capacity"),
        "{:?}",
        outcomes(&records[1])
    );
    let held = holds(&records[1]);
    assert!(
        held.contains(&(format!("tileindex.{d} write"), "cooldown".to_string())),
        "{held:?}\n{}",
        records[1]["verdicts"]
    );
    // The hold names the end of the cooldown: two minutes after the first raise.
    let cooldown = records[1]["held"]
        .as_array()
        .expect("held")
        .iter()
        .find(|h| h["reason"]["hold"] == "cooldown")
        .expect("the cooldown hold");
    let (_, body) = memory(&stack).await;
    let raised_at = body["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .find(|c| c["key"]["resource"]["table"] == format!("tileindex.{d}"))
        .and_then(|c| c["at"].as_u64())
        .expect("the raise in the stored memory");
    assert_eq!(
        cooldown["reason"]["until"].as_u64(),
        Some(raised_at + 120),
        "{cooldown}"
    );
    eprintln!("restart inside the cooldown: two one-shot runs in {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_killed_between_intent_and_outcome_is_read_back_without_alert_or_repeat() {
    let dir = scratch("rkill");
    let d = domain("rkill");
    let stack = throttled_stack(&d).await;
    let policy = policy_with(
        &dir,
        &d,
        &[("interval = \"30s\"", "interval = \"10s\"\nlease = \"20s\"")],
    );
    let policy = policy.to_str().expect("utf-8").to_string();
    init(&policy);
    let journal_path = strs(&dir, "journal.jsonl");
    let proxy = Proxy::start(moto_url()).await;
    // moto makes the change; the process never hears back.
    proxy.fail("UpdateTable", Fault::ForwardThenHang, 1);
    let mut child = spawn_logged(
        isolated(&proxy.url(), true).args(once(&policy, &journal_path)),
        &dir.join("killed.log"),
    );
    let start = Instant::now();
    while stack.capacity("tileindex", None).await != RAISED {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no UpdateTable reached moto within 20 s (seen {})",
            proxy.seen("UpdateTable")
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // SIGKILL, well inside the SDK's 10 s attempt timeout: no retry, no outcome, no release.
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
    assert_eq!(proxy.seen("UpdateTable"), 1);
    assert!(
        journal(Path::new(&journal_path)).is_empty(),
        "the killed process journalled nothing"
    );
    let (_, body) = memory(&stack).await;
    let intended: Vec<&str> = body["intents"][0]["actions"]
        .as_array()
        .unwrap_or_else(|| panic!("no intent in the stored memory: {body}"))
        .iter()
        .filter_map(|a| a["kind"].as_str())
        .collect();
    assert!(intended.contains(&"raise-capacity"), "{intended:?}");
    let intent_at = body["intents"][0]["at"].clone();
    assert!(intent_at.is_u64(), "{intent_at}");
    assert!(
        body["changes"].as_array().is_none_or(Vec::is_empty),
        "the outcome was not recorded: {}",
        body["changes"]
    );

    // The dead process holds the lease until it expires (20 s from its last bid).
    let lease = item(&stack, "lease").await.expect("a lease");
    let expires: u64 = lease["expires"]
        .as_n()
        .expect("expires")
        .parse()
        .expect("number");
    let killed_at = Instant::now();
    while now_s() < expires {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let restart = remediator_async(proxy.url(), once(&policy, &journal_path)).await;
    let restarted_after = killed_at.elapsed();
    assert_eq!(restart.code, 0, "{}", restart.stderr);
    assert_eq!(
        proxy.seen("UpdateTable"),
        1,
        "the change was made again: {}",
        restart.stderr
    );
    assert_eq!(stack.capacity("tileindex", None).await, RAISED);
    let records = journal(Path::new(&journal_path));
    assert_eq!(records.len(), 1);
    let record = &records[0];
    assert_eq!(record["mode"], "enforce", "{record}");
    let read_back: Vec<&str> = record["verdicts"]
        .as_array()
        .expect("verdicts")
        .iter()
        .filter(|v| v["rule"] == "intent")
        .filter_map(|v| v["finding"].as_str())
        .collect();
    assert!(
        read_back
            .iter()
            .any(|f| f.starts_with("raise-capacity intended at") && f.contains("took effect")),
        "{read_back:?}"
    );
    // The throttled minutes were under the old capacity: no hot partition at 60.
    let table = format!("tileindex.{d}");
    for entry in record["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .chain(record["held"].as_array().expect("held"))
    {
        let a = &entry["action"];
        assert_ne!(a["cause"], "hot-partition", "false alert: {entry}");
        assert!(
            !(["escalate", "notify", "raise-capacity"].contains(&a["kind"].as_str().unwrap_or(""))
                && a.to_string().contains(&table)),
            "acted on {table} again: {entry}"
        );
    }
    let (_, body) = memory(&stack).await;
    assert!(
        body["intents"].as_array().is_none_or(Vec::is_empty),
        "{}",
        body["intents"]
    );
    let recorded = body["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .find(|c| c["key"]["resource"]["table"] == table.as_str())
        .unwrap_or_else(|| panic!("the raise recorded: {}", body["changes"]));
    assert_eq!(
        recorded["at"], intent_at,
        "recorded when it was made: {recorded}"
    );
    eprintln!(
        "killed mid-UpdateTable; restarted {restarted_after:?} later, once the lease expired"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pause_and_what_it_restores_survive_restarts_with_the_state_table() {
    let hook = LoopbackWebhook::start().await;
    let scene = Scene::new("rpause", &hook.url(), MAPPING_FLOW)
        .await
        .with_table()
        .await;
    pause_restart_resume(&hook, scene).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pause_ack_written_during_a_tick_is_kept_and_adopted_at_the_next() {
    let hook = LoopbackWebhook::start().await;
    let scene = Scene::new("rack", &hook.url(), MAPPING_FLOW)
        .await
        .with_table()
        .await;
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
    let status = scene.status().await;
    assert!(status.contains("not acknowledged"), "{status}");
    let (paused_version, _) = memory(&scene.stack).await;

    // A tick whose first DescribeTable answers after the 10 s attempt timeout: it has read the
    // state and is still observing when the operator acknowledges.
    let proxy = Proxy::start(moto_url()).await;
    proxy.fail("DescribeTable", Fault::Slow, 1);
    let args: Vec<String> = scene
        .run_once_args(false)
        .iter()
        .map(|s| (*s).to_string())
        .collect();
    let slow = async {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        scene.run_through(&proxy.url(), &args).await
    };
    let ack = async {
        let start = Instant::now();
        while proxy.seen("DescribeTable") == 0 {
            assert!(start.elapsed() < Duration::from_secs(20), "no tick began");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let (during, _) = memory(&scene.stack).await;
        let mut args = vec!["pause", "ack", "--by", "erin", "--policy", scene.policy()];
        args.extend(scene.store_args());
        let ack = scene.run(&args).await;
        (during, ack, Instant::now())
    };
    let (slow, (during, ack, acked_at)) = tokio::join!(slow, ack);
    let tick_ran_on = acked_at.elapsed();
    assert_eq!(ack.code, 0, "{}", ack.stderr);
    assert!(
        ack.stdout.contains("pause acknowledged by erin"),
        "{}",
        ack.stdout
    );
    assert_eq!(slow.code, 0, "{}", slow.stderr);
    let (after, body) = memory(&scene.stack).await;
    assert!(
        after > during && during >= paused_version,
        "the slow tick saved after the ack (versions {paused_version}, {during}, {after})"
    );
    assert!(
        body["pause"]["episode"]["acknowledged"].is_null(),
        "the slow tick read the memory before the ack: {}",
        body["pause"]["episode"]
    );
    let since = body["pause"]["episode"]["since"]
        .as_u64()
        .expect("the episode");
    let note = item(&scene.stack, &format!("notes#{since}"))
        .await
        .expect("the note survived the tick's save");
    assert!(format!("{note:?}").contains("erin"), "{note:?}");

    // The next tick adopts it: stored in the memory, shown by status.
    let third = scene.run_once(false).await;
    assert_eq!(third.code, 0, "{}", third.stderr);
    let (_, body) = memory(&scene.stack).await;
    assert_eq!(
        body["pause"]["episode"]["acknowledged"]["by"], "erin",
        "{}",
        body["pause"]["episode"]
    );
    let status = scene.status().await;
    assert!(status.contains("acknowledged by erin"), "{status}");
    assert_eq!(scene.caps().await, [Some(2), Some(2)], "still paused");
    eprintln!("pause ack during a tick: the tick ran on {tick_ran_on:?} after the ack");
}

/// `halt` with `flags`, or `resume`, on the state table.
fn switch(policy: &str, command: &str, flags: &[&str]) {
    let mut args = vec![command, "--policy", policy];
    args.extend(flags);
    let run = remediator(moto_url(), &args);
    assert_eq!(run.code, 0, "{command} {flags:?}: {}", run.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn halt_up_only_lets_a_raise_through_halt_holds_it_and_resume_lets_it_go() {
    let dir = scratch("rhalt");
    let d = domain("rhalt");
    let stack = throttled_stack(&d).await;
    let policy = policy(&dir, &d);
    let policy = policy.to_str().expect("utf-8").to_string();
    init(&policy);
    let journal_path = strs(&dir, "journal.jsonl");
    let proxy = Proxy::start(moto_url()).await;
    let read = format!("tileindex.{d} read");

    // Up only: the write raise goes.
    switch(
        &policy,
        "halt",
        &["--up-only", "--reason", "drill", "--by", "frank"],
    );
    let run = remediator_async(proxy.url(), once(&policy, &journal_path)).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(proxy.seen("UpdateTable"), 1, "{}", run.stderr);
    assert_eq!(stack.capacity("tileindex", None).await, RAISED);
    let records = journal(Path::new(&journal_path));
    assert_eq!(
        records[0]["halt"]["mode"], "up-only",
        "{}",
        records[0]["halt"]
    );
    assert!(
        holds(&records[0]).iter().all(|h| h.1 != "halted"),
        "{:?}",
        holds(&records[0])
    );

    // Reads throttle now; the whole switch is up: the read raise is held, and says why.
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
    switch(&policy, "halt", &["--reason", "drill", "--by", "frank"]);
    next_second().await;
    let run = remediator_async(proxy.url(), once(&policy, &journal_path)).await;
    assert_eq!(proxy.seen("UpdateTable"), 1, "{}", run.stderr);
    assert_eq!(stack.capacity("tileindex", None).await, RAISED);
    let records = journal(Path::new(&journal_path));
    let held = records[1]["held"]
        .as_array()
        .expect("held")
        .iter()
        .find(|h| h["subject"] == read.as_str())
        .unwrap_or_else(|| panic!("{read} not held: {}", records[1]["held"]));
    assert_eq!(held["reason"]["hold"], "halted", "{held}");
    assert_eq!(held["reason"]["mode"], "all", "{held}");
    assert_eq!(held["reason"]["by"], "frank", "{held}");
    assert_eq!(held["reason"]["reason"], "drill", "{held}");
    assert_eq!(held["action"]["kind"], "raise-capacity", "{held}");
    // People are still told while halted.
    assert!(
        outcomes(&records[1]).contains(&("escalate".to_string(), "reported".to_string()))
            || holds(&records[1])
                .iter()
                .any(|h| h.1 == "already-escalated"),
        "{:?}",
        outcomes(&records[1])
    );

    // Lifted: the same raise goes at the next run.
    switch(&policy, "resume", &[]);
    let status = remediator(moto_url(), &["status", "--policy", &policy]);
    assert!(
        status.stdout.contains("kill switch: off"),
        "{}",
        status.stdout
    );
    let run = remediator_async(proxy.url(), once(&policy, &journal_path)).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(proxy.seen("UpdateTable"), 2, "{}", run.stderr);
    assert_eq!(
        stack.capacity("tileindex", None).await,
        Capacity {
            read: 60,
            write: 60
        }
    );
    let records = journal(Path::new(&journal_path));
    assert!(records[2]["halt"].is_null(), "{}", records[2]["halt"]);
    assert!(
        holds(&records[2]).iter().all(|h| h.1 != "halted"),
        "{:?}",
        holds(&records[2])
    );
    assert!(
        outcomes(&records[2]).contains(&("raise-capacity".to_string(), "applied".to_string())),
        "{:?}",
        outcomes(&records[2])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_loop_journals_the_cooldown_a_real_run_would_meet_and_changes_nothing() {
    let dir = scratch("rdry");
    let d = domain("rdry");
    let stack = throttled_stack(&d).await;
    let policy = policy_with(&dir, &d, &[("interval = \"30s\"", "interval = \"10s\"")]);
    let policy = policy.to_str().expect("utf-8").to_string();
    init(&policy);
    let journal_path = strs(&dir, "journal.jsonl");
    let proxy = Proxy::start(moto_url()).await;
    let child = spawn_logged(
        isolated(&proxy.url(), true).args([
            "run",
            "--dry-run",
            "--policy",
            &policy,
            "--journal",
            &journal_path,
        ]),
        &dir.join("dry.log"),
    );
    let start = Instant::now();
    while journal(Path::new(&journal_path)).len() < 2 {
        assert!(start.elapsed() < Duration::from_secs(45), "no second tick");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    signal(&child, "TERM");
    let out = finish(child).await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let records = journal(Path::new(&journal_path));
    let write = format!("tileindex.{d} write");
    // Tick 1 would raise; tick 2 remembers it and meets the cooldown, as `run` would.
    assert!(
        outcomes(&records[0]).contains(&("raise-capacity".to_string(), "would-apply".to_string())),
        "{:?}",
        outcomes(&records[0])
    );
    assert!(
        holds(&records[1]).contains(&(write.clone(), "cooldown".to_string())),
        "{:?}",
        holds(&records[1])
    );
    assert!(
        outcomes(&records[1])
            .iter()
            .all(|a| a.0 != "raise-capacity"),
        "{:?}",
        outcomes(&records[1])
    );
    // Nothing changed, nothing written: no UpdateTable, no memory, no lease in the table.
    assert_eq!(proxy.seen("UpdateTable"), 0);
    for op in ["PutItem", "UpdateItem", "TransactWriteItems", "DeleteItem"] {
        assert_eq!(proxy.seen(op), 0, "the dry run called {op}");
    }
    assert_eq!(stack.capacity("tileindex", None).await.write, 10);
    assert!(item(&stack, "memory").await.is_none());
}
