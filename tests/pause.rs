//! The performer pause, value in, value out: drift detection with hysteresis, the episode's
//! notices and flow limits, and the runbook's other alarms. Every test drives the pure core
//! minute by minute, remembering as the controller does.

use remediator::decide::decide;
use remediator::domain::action::Action;
use remediator::domain::hold::HoldReason;
use remediator::domain::notice::{Channel, Topic};
use remediator::domain::observed::{
    EventSourceMapping, FunctionObs, Observed, Point, QueueDepth, Series,
};
use remediator::domain::pause::{FlowTarget, OperatorNote, ResumeCause, TroubleKind};
use remediator::guard::admit;
use remediator::memory::Memory;
use remediator::policy::Policy;
use remediator::time::Timestamp;
use std::path::Path;
use std::time::Duration;

/// 2026-01-05T14:00:00Z, minute-aligned.
const T0: Timestamp = Timestamp(1_767_621_600);
const FUNCTION: &str = "tileUploadLambda-test-boss";
const BASE_MS: f64 = 1000.0;

fn policy_with(extra: &str) -> Policy {
    let text = format!(
        r#"
[stack]
domain = "test.boss"
[controller]
interval = "60s"
[drift]
enabled = true
functions = ["tileUploadLambda"]
ratio = 1.5
exit_ratio = 1.2
sustained_for = "5m"
min_pause = "15m"
renotify_every = "1h"
alarm_after = "2h"
learn_for = "15m"
{extra}
"#
    );
    Policy::parse(Path::new("test.toml"), &text).unwrap_or_else(|e| panic!("{e}"))
}

fn policy() -> Policy {
    policy_with("")
}

/// A deterministic value in [-1, 1] for minute `m` (splitmix-style hash).
fn noise(m: usize) -> f64 {
    let mut x = (m as u64).wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^= x >> 31;
    (x % 20_001) as f64 / 10_000.0 - 1.0
}

/// What the pure core did over a run: (minute, action) for every admitted action.
struct Replay {
    policy: Policy,
    memory: Memory,
    done: Vec<(usize, Action)>,
    held: Vec<(usize, HoldReason)>,
    /// Channels that take a notice; the others fail.
    working: Vec<Channel>,
}

impl Replay {
    fn new(policy: Policy) -> Self {
        Self {
            working: policy.signals.channels(),
            policy,
            memory: Memory::default(),
            done: Vec::new(),
            held: Vec::new(),
        }
    }

    /// Observes minute `m` 90 s after it ends, with minutes up to `m` of the series.
    fn observed(&self, m: usize, durations: &[f64], per_minute: f64, limit: u32) -> Observed {
        let at = T0.plus(Duration::from_secs(m as u64 * 60 + 150));
        let from = m.saturating_sub(30);
        let points = |f: &dyn Fn(usize) -> f64| Series {
            points: (from..=m)
                .map(|i| Point {
                    start: T0.plus(Duration::from_secs(i as u64 * 60)),
                    value: f(i),
                })
                .collect(),
        };
        let function = FunctionObs {
            name: FUNCTION.to_string(),
            timeout: Some(Duration::from_secs(120)),
            reserved_concurrency: None,
            reservation_read: true,
            concurrency_limit: Some(limit),
            duration_ms: points(&|i| durations[i]),
            invocations: points(&|_| per_minute),
            errors: Series::default(),
            throttles: Series::default(),
            concurrent: Series::default(),
        };
        Observed {
            functions: vec![function],
            ..Observed::empty(at, Duration::from_secs(60))
        }
    }

    /// One tick: decide, learn, admit, and remember what was "carried out".
    fn tick(&mut self, m: usize, observed: &Observed) {
        let decision = decide(observed, &self.policy, &self.memory);
        self.memory.watch_queues(observed);
        remediator::watch::learn(&mut self.memory.pause, observed, &self.policy);
        let admission = admit(decision.actions, observed, &self.policy, &self.memory);
        for h in decision.held.into_iter().chain(admission.held) {
            self.held.push((m, h.reason));
        }
        for action in admission.admitted {
            let delivered: Vec<Channel> = match &action {
                Action::Notify(n) => n
                    .channels
                    .iter()
                    .copied()
                    .filter(|c| self.working.contains(c))
                    .collect(),
                _ => Vec::new(),
            };
            self.memory.record(&action, observed.at, &delivered);
            self.done.push((m, action));
        }
    }

    /// Runs every minute of `durations` at `per_minute` invocations and a limit of 1000.
    fn run(&mut self, durations: &[f64]) {
        self.run_with(durations, 600.0, 1000);
    }

    fn run_with(&mut self, durations: &[f64], per_minute: f64, limit: u32) {
        for m in 0..durations.len() {
            let observed = self.observed(m, durations, per_minute, limit);
            self.tick(m, &observed);
        }
    }

    fn minutes_of(&self, kind: &str) -> Vec<usize> {
        self.done
            .iter()
            .filter(|(_, a)| a.kind() == kind)
            .map(|(m, _)| *m)
            .collect()
    }

    fn notices(&self, topic: Topic) -> Vec<usize> {
        self.done
            .iter()
            .filter(|(_, a)| matches!(a, Action::Notify(n) if n.topic == topic))
            .map(|(m, _)| *m)
            .collect()
    }
}

fn steady(minutes: usize, spread: f64) -> Vec<f64> {
    (0..minutes)
        .map(|m| BASE_MS * (1.0 + spread * noise(m)))
        .collect()
}

#[test]
fn steady_durations_never_pause() {
    let mut r = Replay::new(policy());
    r.run(&steady(240, 0.05));
    assert!(r.minutes_of("pause").is_empty(), "{:?}", r.done);
    let learned = r.memory.pause.baseline(FUNCTION).map(|b| b.ms);
    assert!(
        learned.is_some_and(|b| (b - BASE_MS).abs() < 50.0),
        "baseline learned near 1000 ms: {learned:?}"
    );
}

#[test]
fn noisy_but_steady_durations_never_pause() {
    let mut r = Replay::new(policy());
    r.run(&steady(240, 0.2));
    assert!(r.minutes_of("pause").is_empty(), "{:?}", r.done);
}

#[test]
fn a_spike_of_two_minutes_does_not_pause() {
    let mut durations = steady(120, 0.05);
    durations[60] = 5.0 * BASE_MS;
    durations[61] = 4.0 * BASE_MS;
    let mut r = Replay::new(policy());
    r.run(&durations);
    assert!(r.minutes_of("pause").is_empty(), "{:?}", r.done);
}

#[test]
fn a_slow_creep_pauses_before_durations_double_and_is_not_learned_away() {
    // Steady for 40 minutes, then 1.5 % longer every minute.
    let durations: Vec<f64> = (0..160_i32)
        .map(|m| BASE_MS * 1.015_f64.powi((m - 40).max(0)))
        .collect();
    let doubled = durations
        .iter()
        .position(|d| *d >= 2.0 * BASE_MS)
        .expect("present");
    let mut r = Replay::new(policy());
    r.run(&durations);
    let pauses = r.minutes_of("pause");
    assert_eq!(pauses.len(), 1, "{:?}", r.done);
    assert!(
        pauses[0] < doubled,
        "paused at minute {} but durations doubled at {doubled}",
        pauses[0]
    );
    let baseline = r.memory.pause.baseline(FUNCTION).expect("present").ms;
    assert!(
        baseline < 1.1 * BASE_MS,
        "the creep dragged the baseline to {baseline}"
    );
    let Some((_, Action::Pause(order))) = r.done.iter().find(|(_, a)| a.kind() == "pause") else {
        panic!("no pause order");
    };
    assert_eq!(order.trouble[0].kind, TroubleKind::Slow);
    assert!(order.trouble[0].evidence.contains("baseline"), "{order:?}");
}

#[test]
fn recovery_resumes_once_after_the_minimum_pause_with_one_message_each() {
    // Learn for 30 minutes, 2.5× for 20 minutes, then back to normal.
    let mut durations = steady(30, 0.05);
    durations.extend(std::iter::repeat_n(2.5 * BASE_MS, 20));
    durations.extend(steady(60, 0.05));
    let mut r = Replay::new(policy());
    r.run(&durations);
    let (pauses, resumes) = (r.minutes_of("pause"), r.minutes_of("resume"));
    assert_eq!((pauses.len(), resumes.len()), (1, 1), "{:?}", r.done);
    assert!(pauses[0] >= 34 && pauses[0] <= 36, "pause at {}", pauses[0]);
    // Durations are back at minute 50; five steady minutes and 15 minutes of pause needed.
    assert!(
        resumes[0] >= 54,
        "resumed at {} before 5 steady minutes",
        resumes[0]
    );
    assert!(
        resumes[0] >= pauses[0] + 15,
        "resumed before the minimum pause"
    );
    assert!(resumes[0] <= 56, "resumed late, at {}", resumes[0]);
    assert_eq!(r.notices(Topic::Pause), vec![pauses[0]]);
    assert_eq!(r.notices(Topic::Resume), vec![resumes[0]]);
    assert!(r.memory.pause.episode.is_none());
    let Some((_, Action::Resume(order))) = r.done.iter().find(|(_, a)| a.kind() == "resume") else {
        panic!("no resume order");
    };
    assert!(matches!(order.cause, ResumeCause::Steady { .. }));
}

#[test]
fn hovering_around_either_threshold_sends_no_flapping_signals() {
    // Around the pause threshold (1.4–1.6×) for two hours: at most one pause, never a resume
    // (1.2× is never reached), so performers get at most one message.
    let mut durations = steady(30, 0.05);
    durations.extend((30..150).map(|m| BASE_MS * (1.5 + 0.1 * noise(m))));
    let mut r = Replay::new(policy());
    r.run(&durations);
    assert!(r.notices(Topic::Pause).len() <= 1, "{:?}", r.done);
    assert!(r.notices(Topic::Resume).is_empty(), "{:?}", r.done);

    // In trouble, then around the resume threshold (1.1–1.3×): one pause, at most one resume,
    // and no second pause (1.5× is never reached again).
    let mut durations = steady(30, 0.05);
    durations.extend(std::iter::repeat_n(2.0 * BASE_MS, 10));
    durations.extend((40..200).map(|m| BASE_MS * (1.2 + 0.1 * noise(m))));
    let mut r = Replay::new(policy());
    r.run(&durations);
    assert_eq!(r.notices(Topic::Pause).len(), 1, "{:?}", r.done);
    assert!(r.notices(Topic::Resume).len() <= 1, "{:?}", r.done);
}

#[test]
fn minute_to_minute_swings_count_as_unsteady() {
    let mut durations = steady(30, 0.05);
    durations.extend((30..60).map(|m| if m % 2 == 0 { 400.0 } else { 1800.0 }));
    let mut r = Replay::new(policy());
    r.run(&durations);
    let Some((_, Action::Pause(order))) = r.done.iter().find(|(_, a)| a.kind() == "pause") else {
        panic!("no pause: {:?}", r.done);
    };
    assert!(
        order
            .trouble
            .iter()
            .any(|t| t.kind == TroubleKind::Unsteady),
        "{order:?}"
    );
}

#[test]
fn near_the_concurrency_limit_pauses_even_while_learning() {
    // 50,000 invocations a minute (833/s) × 1 s ≈ 833 concurrent of 1000: the runbook's rule.
    let mut r = Replay::new(policy());
    r.run_with(&steady(12, 0.02), 50_000.0, 1000);
    let Some((m, Action::Pause(order))) = r.done.iter().find(|(_, a)| a.kind() == "pause") else {
        panic!("no pause: {:?}", r.done);
    };
    assert!(*m < 12);
    assert_eq!(order.trouble[0].kind, TroubleKind::NearCapacity);
    assert!(
        order.trouble[0].evidence.contains("of the 1000"),
        "{order:?}"
    );
}

#[test]
fn reminders_then_one_alarm_until_someone_acknowledges() {
    let mut durations = steady(30, 0.05);
    durations.extend(std::iter::repeat_n(3.0 * BASE_MS, 200));
    let mut r = Replay::new(policy());
    r.run(&durations);
    let pause = r.minutes_of("pause")[0];
    // renotify_every 1h, alarm_after 2h.
    assert_eq!(r.notices(Topic::Reminder), vec![pause + 60], "{:?}", r.done);
    // The alarm repeats every renotify interval until someone acknowledges.
    assert_eq!(r.notices(Topic::Alarm), vec![pause + 120, pause + 180]);

    let mut r = Replay::new(policy());
    r.run(&durations[..60]);
    let episode = r.memory.pause.episode.as_mut().expect("present");
    episode.acknowledged = Some(OperatorNote {
        by: "alice".into(),
        at: T0,
    });
    for m in 60..durations.len() {
        let observed = r.observed(m, &durations, 600.0, 1000);
        r.tick(m, &observed);
    }
    assert!(r.notices(Topic::Reminder).is_empty() && r.notices(Topic::Alarm).is_empty());
    assert!(
        r.memory.pause.episode.is_some(),
        "an acknowledged pause stays"
    );
}

#[test]
fn an_operator_end_resumes_and_holds_new_pauses_until_steady() {
    let mut durations = steady(30, 0.05);
    durations.extend(std::iter::repeat_n(3.0 * BASE_MS, 60));
    durations.extend(steady(20, 0.05));
    durations.extend(std::iter::repeat_n(3.0 * BASE_MS, 20));
    let mut r = Replay::new(policy());
    r.run(&durations[..50]);
    r.memory
        .pause
        .episode
        .as_mut()
        .expect("present")
        .end_requested = Some(OperatorNote {
        by: "bob".into(),
        at: T0,
    });
    for m in 50..durations.len() {
        let observed = r.observed(m, &durations, 600.0, 1000);
        r.tick(m, &observed);
    }
    let resumes: Vec<_> = r
        .done
        .iter()
        .filter_map(|(m, a)| match a {
            Action::Resume(o) => Some((*m, o.cause.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(resumes[0].0, 50);
    assert_eq!(resumes[0].1, ResumeCause::Operator { name: "bob".into() });
    // Still drifting until minute 90: no new pause; after steady minutes, drift pauses again.
    let pauses = r.minutes_of("pause");
    assert_eq!(pauses.len(), 2, "{:?}", r.done);
    assert!(
        pauses[1] > 110,
        "paused again at {} while suppressed",
        pauses[1]
    );
}

fn flow_policy() -> Policy {
    policy_with(
        r#"
[signals.flow_control]
enabled = true
max_concurrency = 2
"#,
    )
}

fn mapping(uuid: &str, queue: &str, cap: Option<u32>) -> EventSourceMapping {
    EventSourceMapping {
        uuid: uuid.into(),
        function: "arn:aws:lambda:us-east-1:1:function:tileUploadLambda-test-boss".into(),
        queue: queue.into(),
        state: "Enabled".into(),
        max_concurrency: cap,
    }
}

#[test]
fn flow_control_caps_index_mappings_and_puts_them_back_after_a_restart() {
    let mut durations = steady(30, 0.05);
    durations.extend(std::iter::repeat_n(2.5 * BASE_MS, 20));
    durations.extend(steady(40, 0.05));
    let mut r = Replay::new(flow_policy());
    let mut caps = [None, Some(50), None];
    for m in 0..durations.len() {
        let mut observed = r.observed(m, &durations, 600.0, 1000);
        observed.mappings = Some(vec![
            mapping("a", "test-boss-7-index", caps[0]),
            mapping("b", "test-boss-8-index", caps[1]),
            mapping("c", "test-boss-ingest-7", caps[2]),
        ]);
        let before = r.done.len();
        r.tick(m, &observed);
        for (_, action) in &r.done[before..] {
            if let Action::LimitFlow(c) | Action::RestoreFlow(c) = action
                && let FlowTarget::Mapping { uuid, .. } = &c.target
            {
                caps[usize::from(uuid.as_bytes()[0] - b'a')] = c.to;
            }
        }
        if m == 45 {
            // A restart: the memory comes back from the state file.
            let text = serde_json::to_string(&r.memory).expect("memory serialises");
            r.memory = serde_json::from_str(&text).expect("memory deserialises");
            assert_eq!(r.memory.pause.flow_limits.len(), 2);
            assert_eq!(caps, [Some(2), Some(2), None], "capped while paused");
        }
    }
    assert_eq!(r.minutes_of("limit-flow").len(), 2, "{:?}", r.done);
    assert_eq!(r.minutes_of("restore-flow").len(), 2, "{:?}", r.done);
    assert_eq!(caps, [None, Some(50), None], "originals put back");
    assert!(r.memory.pause.flow_limits.is_empty());
}

fn two_channels() -> Policy {
    policy_with(
        r#"
[signals.sns]
topic_arn = "arn:aws:sns:us-east-1:123456789012:alerts"
[signals.webhook]
url = "http://127.0.0.1:9/hook"
"#,
    )
}

#[test]
fn a_failed_channel_is_owed_the_message_and_the_other_is_not_sent_twice() {
    let mut durations = steady(30, 0.05);
    durations.extend(std::iter::repeat_n(2.5 * BASE_MS, 40));
    let mut r = Replay::new(two_channels());
    r.working = vec![Channel::Sns];
    r.run(&durations[..40]);
    let pause_notices: Vec<_> = r
        .done
        .iter()
        .filter_map(|(_, a)| match a {
            Action::Notify(n) if n.topic == Topic::Pause => Some(n.channels.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(pause_notices[0], vec![Channel::Sns, Channel::Webhook]);
    assert!(
        pause_notices[1..]
            .iter()
            .all(|c| c == &vec![Channel::Webhook])
    );
    let retries = pause_notices.len() - 1;
    assert!(retries >= 3, "webhook retried each tick: {retries}");
    r.working = vec![Channel::Sns, Channel::Webhook];
    let before = r.notices(Topic::Pause).len();
    for m in 40..durations.len() {
        let observed = r.observed(m, &durations, 600.0, 1000);
        r.tick(m, &observed);
    }
    assert_eq!(
        r.notices(Topic::Pause).len(),
        before + 1,
        "delivered once, then quiet"
    );
}

fn queue(name: &str, visible: u64) -> QueueDepth {
    QueueDepth {
        name: name.into(),
        url: format!("https://sqs.us-east-1.amazonaws.com/1/{name}"),
        visible,
        in_flight: 0,
        delayed: 0,
        visibility_timeout: None,
    }
}

#[test]
fn a_non_empty_dead_letter_queue_alerts_once_per_escalation_interval() {
    let policy = policy_with("[guardrails]\nescalation_interval = \"1h\"");
    let mut r = Replay::new(policy);
    let durations = steady(150, 0.05);
    for m in 0..durations.len() {
        let mut observed = r.observed(m, &durations, 600.0, 1000);
        observed.deadletter = Some(queue("DeadletterTestBoss", 3));
        r.tick(m, &observed);
    }
    let alerts = r.notices(Topic::Alert(
        remediator::domain::notice::AlertCause::PageOutDeadLetters,
    ));
    assert_eq!(alerts, vec![0, 60, 120], "{:?}", r.done);
    let Some((_, Action::Notify(n))) = r.done.iter().find(|(_, a)| a.kind() == "notify") else {
        panic!()
    };
    assert!(n.message.subject.starts_with("[remediator] ALERT"), "{n:?}");
    assert!(n.message.body.contains("write lock"), "{n:?}");
}

#[test]
fn a_redrive_that_gave_up_is_told_to_people_once() {
    let mut r = Replay::new(policy_with("[guardrails]\nescalation_interval = \"1h\""));
    let durations = steady(90, 0.05);
    let order = remediator::domain::redrive::RedriveOrder {
        target: remediator::domain::redrive::Target {
            job: "7".into(),
            queue: "test-boss-ingest-7".into(),
            queue_url: "https://sqs.us-east-1.amazonaws.com/1/test-boss-ingest-7".into(),
            function: "tileIngestLambda-test-boss".into(),
        },
        settings: remediator::domain::redrive::Settings::from_policy(&r.policy, 10.0, None),
        origin: remediator::domain::redrive::RedriveOrigin::Manual,
        visible: 5,
        in_flight: 0,
    };
    r.memory.record(&Action::Redrive(order), T0, &[]);
    let end = remediator::domain::redrive::End::NoProgress {
        stalled_s: 600,
        function_errors: Some(5.0),
    };
    r.memory
        .record_redrive_end("test-boss-ingest-7", T0.plus(Duration::from_secs(60)), &end);
    r.run(&durations);
    let alerts = r.notices(Topic::Alert(
        remediator::domain::notice::AlertCause::RedriveGaveUp,
    ));
    assert_eq!(alerts, vec![0], "{:?}", r.done);
}

#[test]
fn a_creep_of_twenty_percent_an_hour_is_not_learned_as_normal() {
    // Learned at 1000 ms, then 0.3 % longer every minute (about 20 % an hour) for six hours.
    let durations: Vec<f64> = (0..390_i32)
        .map(|m| BASE_MS * 1.003_f64.powi((m - 30).max(0)))
        .collect();
    let mut r = Replay::new(policy());
    r.run(&durations);
    let pauses = r.minutes_of("pause");
    assert_eq!(pauses.len(), 1, "{:?}", r.done);
    let baseline = r.memory.pause.baseline(FUNCTION).expect("learned").ms;
    assert!(
        baseline <= 1.2 * BASE_MS + 1.0,
        "baseline followed the creep to {baseline}"
    );
    let at_pause = durations[pauses[0]];
    assert!(at_pause < 2.0 * BASE_MS, "paused only at {at_pause} ms");
}

fn reserved_policy() -> Policy {
    policy_with(
        r#"
[signals.flow_control]
enabled = true
lever = "reserved-concurrency"
function = "tileUploadLambda"
max_concurrency = 3
"#,
    )
}

/// Runs `durations` with the function's reserved concurrency as the controller's own actions
/// leave it (starting at `reserved`), demand for 15 concurrent executions, and
/// the reading of reserved concurrency failing at the minutes in `unread`.
fn run_reserved(
    r: &mut Replay,
    durations: &[f64],
    mut reserved: Option<u32>,
    unread: &[usize],
) -> Option<u32> {
    for m in 0..durations.len() {
        let limit = reserved.unwrap_or(1000);
        // Demand for 15 concurrent executions, served up to the limit: under our cap of 3
        // the function runs flat out at its (capped) limit.
        let busy = f64::from(limit.min(15));
        let per_minute = busy * 60.0 / (durations[m] / 1000.0);
        let mut observed = r.observed(m, durations, per_minute, limit);
        observed.functions[0].reserved_concurrency = reserved;
        if unread.contains(&m) {
            observed
                .unobserved
                .push(remediator::domain::observed::Unobserved {
                    subject: format!("{FUNCTION} reserved concurrency"),
                    reason: remediator::domain::port_error::PortError::TimedOut {
                        operation: "GetFunctionConcurrency",
                        budget_ms: 20_000,
                    }
                    .into(),
                });
            observed.functions[0].reserved_concurrency = None;
            observed.functions[0].reservation_read = false;
        }
        let before = r.done.len();
        r.tick(m, &observed);
        for (_, action) in &r.done[before..] {
            if let Action::LimitFlow(c) | Action::RestoreFlow(c) = action {
                reserved = c.to;
            }
        }
    }
    reserved
}

#[test]
fn our_own_reserved_cap_neither_keeps_the_pause_going_nor_raises_throttle_alarms() {
    let mut durations = steady(30, 0.05);
    durations.extend(std::iter::repeat_n(2.5 * BASE_MS, 20));
    durations.extend(steady(40, 0.05));
    let mut r = Replay::new(reserved_policy());
    let end = run_reserved(&mut r, &durations, Some(50), &[]);
    assert_eq!(r.minutes_of("limit-flow").len(), 1, "{:?}", r.done);
    assert_eq!(
        r.minutes_of("resume").len(),
        1,
        "the cap does not hold the pause: {:?}",
        r.done
    );
    assert_eq!(end, Some(50), "the original reservation is back");
    assert!(r.memory.pause.flow_limits.is_empty());
}

#[test]
fn an_unread_reservation_is_neither_capped_from_a_guess_nor_forgotten() {
    let mut durations = steady(30, 0.05);
    durations.extend(std::iter::repeat_n(2.5 * BASE_MS, 20));
    durations.extend(steady(40, 0.05));
    let mut r = Replay::new(reserved_policy());
    // Find the pause minute first, then make the reading fail there and at the resume.
    let mut probe = Replay::new(reserved_policy());
    run_reserved(&mut probe, &durations, Some(50), &[]);
    let pause = probe.minutes_of("pause")[0];
    let resume = probe.minutes_of("resume")[0];
    let end = run_reserved(
        &mut r,
        &durations,
        Some(50),
        &[pause, resume, resume + 1, resume + 2],
    );
    let limits: Vec<_> = r
        .done
        .iter()
        .filter_map(|(m, a)| match a {
            Action::LimitFlow(c) => Some((*m, c.from)),
            _ => None,
        })
        .collect();
    assert_eq!(
        limits,
        vec![(pause + 1, Some(50))],
        "capped once read: {:?}",
        r.done
    );
    assert_eq!(end, Some(50), "put back once read again: {:?}", r.done);
    assert!(r.memory.pause.flow_limits.is_empty());
}

#[test]
fn a_resume_after_an_operators_end_is_owed_until_its_channel_takes_it() {
    let mut durations = steady(30, 0.05);
    durations.extend(std::iter::repeat_n(3.0 * BASE_MS, 200));
    let mut r = Replay::new(two_channels());
    r.run(&durations[..50]);
    r.memory
        .pause
        .episode
        .as_mut()
        .expect("paused")
        .end_requested = Some(OperatorNote {
        by: "erin".into(),
        at: T0,
    });
    // The webhook is down for two hours after the end (still drifting: suppressed).
    r.working = vec![Channel::Sns];
    for m in 50..170 {
        let observed = r.observed(m, &durations, 600.0, 1000);
        r.tick(m, &observed);
    }
    let resumes = r.notices(Topic::Resume);
    assert_eq!(resumes[0], 50);
    assert!(resumes.len() > 100, "retried every tick: {}", resumes.len());
    r.working = vec![Channel::Sns, Channel::Webhook];
    for m in 170..durations.len() {
        let observed = r.observed(m, &durations, 600.0, 1000);
        r.tick(m, &observed);
    }
    let after: Vec<_> = r
        .notices(Topic::Resume)
        .into_iter()
        .filter(|m| *m >= 170)
        .collect();
    assert_eq!(
        after,
        vec![170],
        "delivered once the webhook is back, then quiet"
    );
}
