//! Smooth pacing of re-drive invocations: an absolute schedule, a sliding-window cap, and a rate
//! that halves on throttling and climbs back gradually.
//!
//! Why not `governor`: its GCRA limiter with a burst of one re-anchors on every late wake-up,
//! and timers wake up late by up to a millisecond (more on a busy machine), so at 1000/s it
//! loses a tenth or more of the requested rate. Here each invocation has a due time
//! `anchor + k / rate`; a sender that wakes late sends the overdue ones at once, so a busy
//! machine does not quietly lower the rate. The window cap bounds that catching up and keeps the
//! promise the 2017 tool broke: in any 100 ms no more than ⌈rate × 0.1⌉ + 1 leave.
//!
//! Being late is not the same as having nothing to send. When the sender could not send (no
//! visible message in the budget, the in-flight limit, the maximum) it says so with
//! [`Pacer::idle_until`] and the schedule restarts from then: what fell due meanwhile is not
//! owed, so a stall never ends in a burst. Throttling restarts it too, one (longer) period on.
//! And lateness beyond one window cap of invocations is forgiven: a sender that far behind was
//! stopped (a suspended VM, a blocked runtime), not busy, and catching all of it up would run
//! above the rate for as long again. `cargo bench --bench redrive` measures both promises, also
//! with a CPU hog beside the sender.
//!
//! The cap leaves room for one or two invocations per window above the rate, so catching up
//! goes at 10–20/s above it at best: a 50 ms hiccup at 100/s is repaid within half a second,
//! its gap recurring once per window meanwhile. Each time the cap binds, a freed place is
//! reused only when the sender next wakes, and tokio's timer wakes on whole milliseconds: at
//! 1000/s and above that eats the room, so lateness is carried (and beyond one cap forgiven)
//! rather than repaid. No schedule can both catch that up and keep the cap; the bench shows it.
//!
//! Time is passed in, so the pacer is tested value-in, value-out (`tests/props_pacer.rs`).

use std::collections::VecDeque;
use std::time::Duration;
use tokio::time::Instant;

pub use crate::domain::redrive::{MAX_RATE, MIN_RATE};

/// The window over which bursts are bounded.
pub const WINDOW: Duration = Duration::from_millis(100);
/// Time without throttling before each step back up.
const RECOVERY_STEP: Duration = Duration::from_secs(1);
/// Each recovery step adds this share of the requested rate.
const RECOVERY_SHARE: f64 = 0.1;
/// Throttling never takes the rate below requested / this.
const MAX_SLOWDOWN: f64 = 16.0;

/// `rate` brought into [`MIN_RATE`, `MAX_RATE`]: what [`Pacer::new`] paces at. NaN, zero and
/// negative rates give the slowest pace (a wrong number must not flood a lambda), infinity the
/// fastest. The CLI and the policy refuse such rates before they get here; this keeps the
/// pacer's arithmetic on time finite whatever it is given.
#[must_use]
pub fn bounded_rate(rate: f64) -> f64 {
    if rate.is_nan() {
        MIN_RATE
    } else {
        rate.clamp(MIN_RATE, MAX_RATE)
    }
}

/// `seconds` as a `Duration`; non-negative and finite here (rates are bounded), and saturating
/// rather than panicking if that ever stopped being so.
fn secs(seconds: f64) -> Duration {
    Duration::try_from_secs_f64(seconds.max(0.0)).unwrap_or(Duration::MAX)
}

/// `t + d`, saturating where `Instant` ends instead of panicking (never reached by a real clock
/// with bounded rates).
fn later(t: Instant, mut d: Duration) -> Instant {
    loop {
        if let Some(at) = t.checked_add(d) {
            return at;
        }
        d /= 2;
    }
}

#[derive(Debug, Clone)]
pub struct Pacer {
    requested: f64,
    current: f64,
    /// When invocation 0 of the current schedule is due. Moves when the rate changes, after an
    /// idle spell or a throttle, and when lateness beyond the window cap is forgiven.
    anchor: Instant,
    /// Invocations sent on the current schedule: the next is due at `anchor + scheduled / rate`.
    scheduled: u64,
    recent: VecDeque<Instant>,
    /// The last throttle or recovery step: recovery waits a full step after either.
    last_change: Instant,
    last_halving: Option<Instant>,
}

impl Pacer {
    /// Paces at `rate` invocations per second from `now`. Any `f64` is safe: it is brought into
    /// [`MIN_RATE`, `MAX_RATE`] by [`bounded_rate`] (the CLI and policy refuse rates outside).
    #[must_use]
    pub fn new(rate: f64, now: Instant) -> Self {
        let rate = bounded_rate(rate);
        Self {
            requested: rate,
            current: rate,
            anchor: now,
            scheduled: 0,
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
        secs(1.0 / self.current)
    }

    /// When the next invocation of the schedule falls due, the window cap aside.
    fn next_due(&self) -> Instant {
        // Exact below 2^53 invocations: centuries at the highest rate.
        #[allow(clippy::cast_precision_loss)]
        let offset = self.scheduled as f64 / self.current;
        later(self.anchor, secs(offset))
    }

    /// Starts a new schedule whose first invocation is due at `at`.
    fn restart(&mut self, at: Instant) {
        self.anchor = at;
        self.scheduled = 0;
    }

    /// Most invocations allowed in any [`WINDOW`] at the current rate.
    #[must_use]
    pub fn window_cap(&self) -> usize {
        // Whole numbers of invocations; the rate is at most MAX_RATE, the cap at most 1001.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let cap = (self.current * WINDOW.as_secs_f64()).ceil() as usize + 1;
        cap
    }

    /// When the window cap next allows a send, if it is full.
    fn window_free(&self) -> Option<Instant> {
        let cap = self.window_cap();
        (self.recent.len() >= cap).then(|| later(self.recent[self.recent.len() - cap], WINDOW))
    }

    /// When the next invocation may go: its due time, or later if the window cap is full.
    /// In the past when the sender is behind: then send at once.
    #[must_use]
    pub fn due(&self) -> Instant {
        let next = self.next_due();
        self.window_free().map_or(next, |free| next.max(free))
    }

    /// Records an invocation sent at `now` (not before [`Pacer::due`]) and schedules the next
    /// one `1 / rate` after this one's due time, so lateness is caught up. At most one window
    /// cap of invocations stays owed; lateness beyond that is forgiven.
    pub fn sent(&mut self, now: Instant) {
        self.recent.push_back(now);
        let cap = self.window_cap();
        while self.recent.len() > cap {
            self.recent.pop_front();
        }
        self.scheduled += 1;
        // With the next due `cap - 1` periods ago, `cap` invocations are owed.
        #[allow(clippy::cast_precision_loss)]
        let most_owed = secs((cap - 1) as f64 / self.current);
        if now.saturating_duration_since(self.next_due()) > most_owed {
            self.restart(now.checked_sub(most_owed).unwrap_or(now));
        }
    }

    /// Nothing could be sent until `now` (no visible message in the budget, the in-flight limit
    /// reached): invocations that fell due meanwhile are not owed, and the schedule restarts at
    /// `now` if it was behind. Call it when sending becomes possible again.
    pub fn idle_until(&mut self, now: Instant) {
        if self.next_due() < now {
            self.restart(now);
        }
    }

    /// The service throttled: halve the rate (at most once per [`WINDOW`], so the answers to
    /// one burst count once; never below requested / 16) and push the next invocation back
    /// to a period from now at least; nothing owed is caught up.
    pub fn throttled(&mut self, now: Instant) {
        let halve = self
            .last_halving
            .is_none_or(|t| now.saturating_duration_since(t) >= WINDOW);
        let next = self.next_due();
        if halve {
            self.current = (self.current / 2.0).max(self.requested / MAX_SLOWDOWN);
            self.last_halving = Some(now);
        }
        // Never earlier than a hold a CloudWatch figure set.
        self.last_change = self.last_change.max(now);
        self.restart(next.max(later(now, self.period())));
    }

    /// No recovery step before `until` (a CloudWatch figure holds for its minute).
    pub fn hold(&mut self, until: Instant) {
        self.last_change = self.last_change.max(until);
    }

    /// A step back towards the requested rate after [`RECOVERY_STEP`] without throttling.
    /// Returns whether the rate changed. The next invocation keeps its due time; the ones after
    /// it follow at the new rate.
    pub fn recover(&mut self, now: Instant) -> bool {
        if self.current >= self.requested
            || now < self.last_change
            || now.saturating_duration_since(self.last_change) < RECOVERY_STEP
        {
            return false;
        }
        let next = self.next_due();
        self.current = (self.current + self.requested * RECOVERY_SHARE).min(self.requested);
        self.restart(next);
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
    fn lateness_of_several_milliseconds_is_caught_up_not_lost() {
        let start = Instant::now();
        let mut pacer = Pacer::new(1000.0, start);
        // A busy machine: every tenth wake-up comes 7 ms late, then the overdue ones go at once.
        let mut now = start;
        let mut sent = 0u64;
        while now < at(start, 1000) {
            let due = pacer.due();
            if due > now {
                now = due;
                if sent.is_multiple_of(10) {
                    now += Duration::from_millis(7);
                }
            }
            pacer.sent(now);
            sent += 1;
        }
        // Due by 1000 ms: invocations 0..=1000; the last wake-up may leave a few owed.
        assert!((993..=1001).contains(&sent), "{sent} sent in 1 s at 1000/s");
    }

    #[test]
    fn a_stall_with_nothing_to_send_restarts_the_schedule_instead_of_bursting() {
        let start = Instant::now();
        let mut pacer = Pacer::new(100.0, start);
        pacer.sent(start);
        // Nothing to send for 2 s (no visible messages); then the sender may send again.
        pacer.idle_until(at(start, 2000));
        assert_eq!(pacer.due(), at(start, 2000), "at once, one invocation");
        pacer.sent(at(start, 2000));
        assert_eq!(
            pacer.due(),
            at(start, 2010),
            "one period later, not at once"
        );
    }

    #[test]
    fn a_sender_stopped_for_long_owes_at_most_one_window_cap() {
        let start = Instant::now();
        let mut pacer = Pacer::new(100.0, start);
        pacer.sent(start);
        // The process was stopped for 2 s without being idle (a suspended VM).
        let now = at(start, 2000);
        pacer.sent(now);
        let mut burst = 0;
        while pacer.due() <= now {
            pacer.sent(now);
            burst += 1;
        }
        assert_eq!(pacer.window_cap(), 11);
        assert_eq!(burst + 1, 11, "the window cap at once, not 200");
    }

    #[test]
    fn any_rate_is_brought_into_the_accepted_range() {
        let start = Instant::now();
        for (given, paced) in [
            (f64::NAN, MIN_RATE),
            (0.0, MIN_RATE),
            (-5.0, MIN_RATE),
            (1e-19, MIN_RATE),
            (f64::NEG_INFINITY, MIN_RATE),
            (f64::INFINITY, MAX_RATE),
            (1e300, MAX_RATE),
            (42.0, 42.0),
        ] {
            let mut pacer = Pacer::new(given, start);
            assert!(
                pacer.rate().total_cmp(&paced).is_eq(),
                "{given} paced at {}",
                pacer.rate()
            );
            pacer.sent(start);
            pacer.throttled(start);
            let _ = pacer.due();
        }
        let mut slowest = Pacer::new(1e-19, start);
        slowest.sent(start);
        assert_eq!(slowest.due(), at(start, 100_000), "one per 100 s");
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
