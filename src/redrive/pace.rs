//! Smooth pacing of re-drive invocations: an absolute schedule, a sliding-window cap, and a rate
//! that halves on throttling and climbs back gradually.
//!
//! Why not `governor`: its GCRA limiter with a burst of one re-anchors on every late wake-up,
//! and timers wake up late by up to a millisecond, so at 1000/s it loses a tenth or more of the
//! requested rate. Here each invocation has a due time `start + k / rate`; being a little late
//! is caught up, being far behind (a stall for lack of visible messages) re-anchors instead of
//! bursting. The window cap keeps the promise the 2017 tool broke: in any 100 ms no more than
//! ⌈rate × 0.1⌉ + 1 leave. `cargo bench --bench redrive` measures both promises.
//!
//! Time is passed in, so the pacer is tested value-in, value-out.

use std::collections::VecDeque;
use std::time::Duration;
use tokio::time::Instant;

/// The slowest re-drive accepted anywhere (CLI, policy, pacer): one invocation per 100 s. Below
/// it a re-drive is not a re-drive, and periods grow towards what `Duration` cannot hold.
pub const MIN_RATE: f64 = 0.01;
/// The fastest re-drive accepted anywhere: Lambda's invocation request quota is 10 × the
/// concurrency limit, 10,000 requests/s at the default 1,000 (Lambda quotas, "Invocation
/// requests per function per Region").
pub const MAX_RATE: f64 = 10_000.0;

/// The window over which bursts are bounded.
pub const WINDOW: Duration = Duration::from_millis(100);
/// Lateness that is caught up; beyond it the schedule restarts from now. Small, so a late
/// wake-up sends at most a couple at once.
const MAX_LAG: Duration = Duration::from_millis(2);
/// Time without throttling before each step back up.
const RECOVERY_STEP: Duration = Duration::from_secs(1);
/// Each recovery step adds this share of the requested rate.
const RECOVERY_SHARE: f64 = 0.1;
/// Throttling never takes the rate below requested / this.
const MAX_SLOWDOWN: f64 = 16.0;

#[derive(Debug, Clone)]
pub struct Pacer {
    requested: f64,
    current: f64,
    next_due: Instant,
    recent: VecDeque<Instant>,
    /// The last throttle or recovery step: recovery waits a full step after either.
    last_change: Instant,
    last_halving: Option<Instant>,
}

impl Pacer {
    /// `rate` is invocations per second, finite and above zero (the CLI and policy check it).
    #[must_use]
    pub fn new(rate: f64, now: Instant) -> Self {
        Self {
            requested: rate,
            current: rate,
            next_due: now,
            recent: VecDeque::new(),
            last_change: now,
            last_halving: None,
        }
    }

    /// The rate now in force (below the requested one after throttling).
    #[must_use]
    pub fn rate(&self) -> f64 {
        self.current
    }

    fn period(&self) -> Duration {
        Duration::from_secs_f64(1.0 / self.current)
    }

    /// Most invocations allowed in any [`WINDOW`] at the current rate.
    #[must_use]
    pub fn window_cap(&self) -> usize {
        // Whole numbers of invocations; the rate is far below usize::MAX.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let cap = (self.current * WINDOW.as_secs_f64()).ceil() as usize + 1;
        cap
    }

    /// When the window cap next allows a send, if it is full.
    fn window_free(&self) -> Option<Instant> {
        let cap = self.window_cap();
        (self.recent.len() >= cap).then(|| self.recent[self.recent.len() - cap] + WINDOW)
    }

    /// When the next invocation may go.
    #[must_use]
    pub fn due(&self) -> Instant {
        self.window_free()
            .map_or(self.next_due, |free| self.next_due.max(free))
    }

    /// Records an invocation sent at `now` and schedules the next one.
    pub fn sent(&mut self, now: Instant) {
        self.recent.push_back(now);
        while self.recent.len() > self.window_cap() {
            self.recent.pop_front();
        }
        let next = self.next_due + self.period();
        self.next_due = if now.saturating_duration_since(next) > MAX_LAG {
            now + self.period()
        } else {
            next
        };
    }

    /// The service throttled: halve the rate (at most once per [`WINDOW`], so the answers to
    /// one burst count once; never below requested / 16) and push the next invocation back.
    pub fn throttled(&mut self, now: Instant) {
        let halve = self
            .last_halving
            .is_none_or(|t| now.saturating_duration_since(t) >= WINDOW);
        if halve {
            self.current = (self.current / 2.0).max(self.requested / MAX_SLOWDOWN);
            self.last_halving = Some(now);
        }
        // Never earlier than a hold a CloudWatch figure set.
        self.last_change = self.last_change.max(now);
        self.next_due = self.next_due.max(now + self.period());
    }

    /// No recovery step before `until` (a CloudWatch figure holds for its minute).
    pub fn hold(&mut self, until: Instant) {
        self.last_change = self.last_change.max(until);
    }

    /// A step back towards the requested rate after [`RECOVERY_STEP`] without throttling.
    /// Returns whether the rate changed.
    pub fn recover(&mut self, now: Instant) -> bool {
        if self.current >= self.requested
            || now < self.last_change
            || now.saturating_duration_since(self.last_change) < RECOVERY_STEP
        {
            return false;
        }
        self.current = (self.current + self.requested * RECOVERY_SHARE).min(self.requested);
        self.last_change = now;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(start: Instant, ms: u64) -> Instant {
        start + Duration::from_millis(ms)
    }

    #[test]
    fn late_wake_ups_are_caught_up_without_drift() {
        let start = Instant::now();
        let mut pacer = Pacer::new(1000.0, start);
        // Each send happens 0.6 ms after it was due: the schedule keeps its 1 ms step.
        for k in 0..1000u64 {
            let due = pacer.due();
            assert_eq!(due, start + Duration::from_millis(k), "invocation {k}");
            pacer.sent(due + Duration::from_micros(600));
        }
    }

    #[test]
    fn a_long_stall_restarts_the_schedule_instead_of_bursting() {
        let start = Instant::now();
        let mut pacer = Pacer::new(100.0, start);
        pacer.sent(start);
        // Nothing sent for 2 s (no visible messages); then one send.
        pacer.sent(at(start, 2000));
        assert_eq!(
            pacer.due(),
            at(start, 2010),
            "one period later, not at once"
        );
    }

    #[test]
    fn no_window_holds_more_than_the_cap() {
        let start = Instant::now();
        let mut pacer = Pacer::new(50.0, start);
        assert_eq!(pacer.window_cap(), 6);
        let mut sent = Vec::new();
        // Sends come in late clumps of 4 ms: the window cap still holds.
        let mut now = start;
        for _ in 0..200 {
            now = now.max(pacer.due());
            sent.push(now);
            pacer.sent(now);
            now += Duration::from_micros(4000);
        }
        for (i, t) in sent.iter().enumerate() {
            let in_window = sent[i..].iter().take_while(|u| **u < *t + WINDOW).count();
            assert!(in_window <= 6, "{in_window} in the window from send {i}");
        }
    }

    #[test]
    fn throttling_halves_then_recovers_step_by_step() {
        let start = Instant::now();
        let mut pacer = Pacer::new(100.0, start);
        pacer.throttled(start);
        assert!((pacer.rate() - 50.0).abs() < 1e-9);
        // More answers from the same burst: counted once.
        pacer.throttled(at(start, 10));
        assert!((pacer.rate() - 50.0).abs() < 1e-9);
        pacer.throttled(at(start, 150));
        assert!((pacer.rate() - 25.0).abs() < 1e-9);
        assert!(
            !pacer.recover(at(start, 1000)),
            "a full second has not passed"
        );
        assert!(pacer.recover(at(start, 1150)));
        assert!((pacer.rate() - 35.0).abs() < 1e-9);
        // A CloudWatch figure holds the pace a minute; a 429 inside it does not cut that short.
        pacer.hold(at(start, 61_150));
        pacer.throttled(at(start, 2_000));
        assert!(!pacer.recover(at(start, 30_000)));
        assert!(pacer.recover(at(start, 62_200)));
        for s in 60..80 {
            pacer.recover(at(start, s * 1100));
        }
        assert!((pacer.rate() - 100.0).abs() < 1e-9);
    }

    #[test]
    fn throttling_never_goes_below_a_sixteenth() {
        let start = Instant::now();
        let mut pacer = Pacer::new(64.0, start);
        for i in 0..20 {
            pacer.throttled(at(start, i * 100));
        }
        assert!((pacer.rate() - 4.0).abs() < 1e-9);
    }
}
