//! Two replicas on one stack, sharing the state table: one leads and acts, the other follows;
//! a stalled leader that wakes acts on nothing; a killed one is replaced within the lease; one
//! stopped with SIGTERM hands over at once; the kill switch holds both.

use super::{
    domain, isolated, journal, policy_with, proxy, remediator, scratch, spawn_logged,
    throttled_stack,
};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

/// Ticks every 10 s (the least the policy allows), lease 20 s.
const INTERVAL: &str = "interval = \"10s\"\nlease = \"20s\"";

struct Replica {
    child: Child,
    journal: PathBuf,
}

impl Replica {
    fn start(name: &'static str, endpoint: &str, policy: &Path, dir: &Path) -> Self {
        let journal = dir.join(format!("{name}.jsonl"));
        let child = spawn_logged(
            isolated(endpoint, true)
                .env("REMEDIATOR_REPLICA", name)
                .args(["run", "--policy", policy.to_str().expect("utf-8")])
                .args(["--journal", journal.to_str().expect("utf-8")]),
            &dir.join(format!("{name}.log")),
        );
        Self { child, journal }
    }

    fn records(&self) -> Vec<Value> {
        journal(&self.journal)
    }

    /// The mode of its newest tick: `enforce` while it leads, `follower` otherwise.
    fn mode(&self) -> Option<String> {
        self.records()
            .last()
            .and_then(|r| r["mode"].as_str().map(ToString::to_string))
    }

    fn signal(&self, signal: &str) {
        super::signal(&self.child, signal);
    }

    /// Actions it applied, over its whole journal.
    fn applied(&self) -> usize {
        self.records()
            .iter()
            .flat_map(|r| r["actions"].as_array().cloned().unwrap_or_default())
            .filter(|a| a["outcome"]["outcome"] == "applied" || a["outcome"] == "applied")
            .count()
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits (polling every 200 ms) until `f` holds, at most `limit`; returns the time it took.
async fn until(limit: Duration, what: &str, mut f: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < limit, "not within {limit:?}: {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    start.elapsed()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_act_once_and_hand_over_on_stop_kill_and_term() {
    let dir = scratch("replicas");
    let d = domain("replicas");
    let stack = throttled_stack(&d).await;
    let policy = policy_with(&dir, &d, &[("interval = \"30s\"", INTERVAL)]);
    let init = remediator(
        super::moto_url(),
        &["init", "--policy", policy.to_str().expect("utf-8")],
    );
    assert_eq!(init.code, 0, "{}", init.stderr);
    assert!(
        init.stdout.contains("point-in-time recovery on"),
        "{}",
        init.stdout
    );
    // Again: nothing changes, nothing fails.
    let again = remediator(
        super::moto_url(),
        &["init", "--policy", policy.to_str().expect("utf-8")],
    );
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(again.stdout.contains("exists"), "{}", again.stdout);

    let proxy = proxy::Proxy::start(super::moto_url()).await;
    let a = Replica::start("a", &proxy.url(), &policy, &dir);
    let b = Replica::start("b", &proxy.url(), &policy, &dir);
    until(Duration::from_secs(30), "both replicas ticked", || {
        !a.records().is_empty() && !b.records().is_empty()
    })
    .await;
    // Both saw the throttling at once; only the lease holder raised.
    until(Duration::from_secs(20), "the raise", || {
        proxy.seen("UpdateTable") >= 1
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        proxy.seen("UpdateTable"),
        1,
        "one UpdateTable for one episode"
    );
    assert_eq!(stack.capacity("tileindex", None).await.write, 60);
    let (leader, follower) = if a.mode().as_deref() == Some("enforce") {
        (a, b)
    } else {
        (b, a)
    };
    assert_eq!(follower.mode().as_deref(), Some("follower"));
    assert_eq!(follower.applied(), 0);

    // The leader stalls (SIGSTOP) past its lease: the follower takes over.
    leader.signal("STOP");
    let took = until(Duration::from_secs(45), "the follower leads", || {
        follower.mode().as_deref() == Some("enforce")
    })
    .await;
    assert!(took <= Duration::from_secs(35), "took over after {took:?}");
    // The new leader read the memory the old one wrote: the raise is in its cooldown, not
    // raised again.
    assert_eq!(proxy.seen("UpdateTable"), 1);
    // The old leader wakes: it journals as a follower and acts on nothing.
    let before = leader.applied();
    let ticks = leader.records().len();
    leader.signal("CONT");
    until(
        Duration::from_secs(30),
        "the woken replica ticks twice",
        || leader.records().len() >= ticks + 2,
    )
    .await;
    assert_eq!(leader.mode().as_deref(), Some("follower"));
    assert_eq!(
        leader.applied(),
        before,
        "a stalled leader acted after waking"
    );
    assert_eq!(proxy.seen("UpdateTable"), 1);

    // The kill switch: both replicas journal it at their next tick.
    let halt = remediator(
        super::moto_url(),
        &[
            "halt",
            "--policy",
            policy.to_str().expect("utf-8"),
            "--reason",
            "test",
        ],
    );
    assert_eq!(halt.code, 0, "{}", halt.stderr);
    until(Duration::from_secs(25), "both journal the halt", || {
        [&leader, &follower].iter().all(|r| {
            r.records()
                .last()
                .is_some_and(|x| x["halt"]["reason"] == "test")
        })
    })
    .await;
    let status = remediator(
        super::moto_url(),
        &["status", "--policy", policy.to_str().expect("utf-8")],
    );
    assert!(
        status.stdout.contains("KILL SWITCH"),
        "{}\ntransactions {}, puts {}, deletes {}",
        status.stdout,
        proxy.seen("TransactWriteItems"),
        proxy.seen("PutItem"),
        proxy.seen("DeleteItem")
    );
    assert!(status.stdout.contains("leader: b") || status.stdout.contains("leader: a"));
    let resume = remediator(
        super::moto_url(),
        &["resume", "--policy", policy.to_str().expect("utf-8")],
    );
    assert_eq!(resume.code, 0, "{}", resume.stderr);

    // SIGTERM releases the lease: the other takes over at its next tick, not after expiry.
    follower.signal("TERM");
    let took = until(Duration::from_secs(20), "handed over on SIGTERM", || {
        leader.mode().as_deref() == Some("enforce")
    })
    .await;
    assert!(took <= Duration::from_secs(12), "handover took {took:?}");
    drop(follower);

    // SIGKILL: no release; the other replica (started again) takes over within the lease.
    let c = Replica::start("c", &proxy.url(), &policy, &dir);
    until(Duration::from_secs(20), "c follows", || {
        c.mode().as_deref() == Some("follower")
    })
    .await;
    leader.signal("KILL");
    let took = until(Duration::from_secs(45), "c leads", || {
        c.mode().as_deref() == Some("enforce")
    })
    .await;
    assert!(took <= Duration::from_secs(32), "took over after {took:?}");
    assert_eq!(proxy.seen("UpdateTable"), 1, "nothing done twice");
}
