//! The course of one re-drive, judged from queue readings: how many invocations may go now, and
//! when to stop. Pure: every reading and send arrives with its time.

use crate::domain::observed::QueueDepth;
use crate::domain::redrive::End;
use std::collections::VecDeque;
use std::time::Duration;
use tokio::time::Instant;

/// What the re-drive loop should do after a reading.
#[derive(Debug, Clone, PartialEq)]
pub enum Next {
    Continue,
    Stop(End),
}

#[derive(Debug, Clone)]
pub struct Course {
    max: Option<u64>,
    no_progress_after: Duration,
    /// How long an accepted invocation that the queue never showed taking a message still
    /// counts against the budget. Lambda queues `Event` invocations and may start them minutes
    /// later; and when one message is taken while another comes back between two readings, the
    /// visible count hides the take. Long enough for the first, short enough for the second.
    settle: Duration,
    started: Instant,
    /// Messages in the queue at the first reading.
    first_total: Option<u64>,
    last: Option<QueueDepth>,
    /// When the queue was first read empty (nothing visible, in flight or delayed).
    empty_since: Option<Instant>,
    last_progress: Instant,
    invoked: u64,
    next_id: u64,
    /// Accepted (or still unanswered) invocations not yet matched by a fall in the visible
    /// count, oldest first, with their send times.
    unreflected: VecDeque<(u64, Instant)>,
    /// Net fall of the visible count since the oldest unreflected invocation, which matches
    /// that many of them, oldest first. A rise (a message coming back, or noise in SQS's
    /// approximate count) takes matches back, so a count bouncing 100, 98, 100 matches nothing.
    credit: i64,
    budget: u64,
}

impl Course {
    #[must_use]
    pub fn new(
        max: Option<u64>,
        no_progress_after: Duration,
        settle: Duration,
        now: Instant,
    ) -> Self {
        Self {
            max,
            no_progress_after,
            settle,
            started: now,
            first_total: None,
            last: None,
            empty_since: None,
            last_progress: now,
            invoked: 0,
            next_id: 0,
            unreflected: VecDeque::new(),
            credit: 0,
            budget: 0,
        }
    }

    /// Takes a queue reading asked for at `asked_at`. Each message that left the visible count
    /// since the last reading matches the oldest unreflected invocation; the budget is the
    /// visible count less the invocations still unmatched: never more invocations than
    /// messages waiting for one.
    pub fn read(&mut self, depth: QueueDepth, asked_at: Instant) -> Next {
        if let Some(last) = &self.last {
            let fall = i64::try_from(last.visible).unwrap_or(i64::MAX)
                - i64::try_from(depth.visible).unwrap_or(i64::MAX);
            self.credit = self.credit.saturating_add(fall);
        }
        // Expired invocations leave; the oldest are the ones the credit matched.
        let cutoff = asked_at.checked_sub(self.settle).unwrap_or(self.started);
        while self
            .unreflected
            .front()
            .is_some_and(|(_, sent)| *sent < cutoff)
        {
            self.unreflected.pop_front();
            if self.credit > 0 {
                self.credit -= 1;
            }
        }
        if self.unreflected.is_empty() {
            self.credit = 0;
        }
        self.budget = depth.visible.saturating_sub(self.unmatched());
        let total = depth.total();
        self.first_total.get_or_insert(total);
        if self.last.as_ref().is_some_and(|l| total < l.total()) {
            self.last_progress = asked_at;
        }
        self.last = Some(depth);
        if total == 0 {
            // One approximate reading of zero is not proof: SQS counts lag. Empty readings
            // for a few seconds are.
            match self.empty_since {
                Some(since) if asked_at.saturating_duration_since(since) >= DRAINED_AFTER => {
                    return Next::Stop(End::Drained);
                }
                Some(_) => {}
                None => self.empty_since = Some(asked_at),
            }
        } else {
            self.empty_since = None;
        }
        self.stalled(asked_at)
    }

    /// Gives up when the queue has not gone down for the policy's time, and, with messages in
    /// flight at the last reading, not before they could have come back after the queue's
    /// visibility timeout. Also asked when a reading fails, so failing reads cannot run forever.
    pub fn stalled(&self, now: Instant) -> Next {
        let mut limit = self.no_progress_after;
        if let Some(last) = &self.last
            && last.in_flight > 0
            && let Some(vt) = last.visibility_timeout
        {
            limit = limit.max(vt + RETURN_MARGIN);
        }
        let stalled = now.saturating_duration_since(self.last_progress);
        if stalled >= limit {
            Next::Stop(End::NoProgress {
                stalled_s: stalled.as_secs(),
                function_errors: None,
            })
        } else {
            Next::Continue
        }
    }

    /// Invocations not yet matched by a net fall of the visible count.
    fn unmatched(&self) -> u64 {
        let len = self.unreflected.len() as u64;
        len - u64::try_from(self.credit.max(0)).unwrap_or(0).min(len)
    }

    /// Whether one more invocation may go now.
    #[must_use]
    pub fn may_send(&self) -> bool {
        self.budget > 0 && !self.max_reached()
    }

    #[must_use]
    pub fn max_reached(&self) -> bool {
        self.max.is_some_and(|m| self.invoked >= m)
    }

    /// An invocation was sent at `now`; the id names it when its answer comes.
    pub fn sent(&mut self, now: Instant) -> u64 {
        self.budget = self.budget.saturating_sub(1);
        self.invoked += 1;
        self.next_id += 1;
        self.unreflected.push_back((self.next_id, now));
        self.next_id
    }

    /// A sent invocation was not accepted (throttled or failed): its message still waits. The
    /// budget gets it back only if no reading has accounted for it yet.
    pub fn not_accepted(&mut self, id: u64) {
        self.invoked = self.invoked.saturating_sub(1);
        // A fall matched to it was another invocation's take: the credit stays for the rest.
        if let Some(i) = self.unreflected.iter().position(|(sent, _)| *sent == id) {
            self.unreflected.remove(i);
            self.budget += 1;
        }
    }

    /// Accepted invocations so far.
    #[must_use]
    pub fn invoked(&self) -> u64 {
        self.invoked
    }

    #[must_use]
    pub fn last(&self) -> Option<&QueueDepth> {
        self.last.as_ref()
    }

    /// Messages not yet taken by an invocation: the first reading less what was invoked since,
    /// never more than the queue holds now. SQS's counts lag the invocations by seconds to
    /// minutes; this does not. When failures have put messages back (the queue holds more than
    /// this says), the queue's own count.
    #[must_use]
    pub fn left(&self) -> u64 {
        let now = self.last.as_ref().map_or(0, QueueDepth::total);
        match self.first_total {
            Some(first) if first > self.invoked => (first - self.invoked).min(now),
            _ => now,
        }
    }

    /// Messages gone from the queue since the first reading.
    #[must_use]
    pub fn drained(&self) -> u64 {
        match (self.first_total, &self.last) {
            (Some(first), Some(last)) => first.saturating_sub(last.total()),
            _ => 0,
        }
    }
}

/// How long the queue must read empty before it counts as drained.
const DRAINED_AFTER: Duration = Duration::from_secs(3);

/// Time after a visibility timeout by which a returning message shows in the counts.
const RETURN_MARGIN: Duration = Duration::from_secs(5);

#[cfg(test)]
mod tests {
    use super::*;

    fn depth(visible: u64, in_flight: u64) -> QueueDepth {
        QueueDepth {
            name: "local-boss-ingest-7".into(),
            url: "http://q/local-boss-ingest-7".into(),
            visible,
            in_flight,
            delayed: 0,
            visibility_timeout: Some(Duration::from_secs(30)),
        }
    }

    fn secs(t0: Instant, s: u64) -> Instant {
        t0 + Duration::from_secs(s)
    }

    fn course(now: Instant) -> Course {
        Course::new(None, Duration::from_secs(60), Duration::from_secs(120), now)
    }

    #[test]
    fn what_is_left_follows_the_invocations_not_the_lagging_count() {
        let t0 = Instant::now();
        let mut c = course(t0);
        c.read(depth(100, 0), t0);
        assert_eq!(c.left(), 100);
        for _ in 0..40 {
            c.sent(t0);
        }
        // SQS still shows 100 a second later: 60 are left to invoke, not 100.
        c.read(depth(100, 0), secs(t0, 1));
        assert_eq!(c.left(), 60);
        // The count caught up, and below what was invoked: the queue is the bound.
        c.read(depth(50, 0), secs(t0, 2));
        assert_eq!(c.left(), 50);
        // Failures put messages back after everything was invoked: the queue's count again.
        for _ in 0..60 {
            c.sent(secs(t0, 3));
        }
        c.read(depth(12, 0), secs(t0, 40));
        assert_eq!(c.left(), 12);
    }

    #[test]
    fn never_more_invocations_than_visible_messages_while_lambda_lags() {
        let t0 = Instant::now();
        let mut c = course(t0);
        assert_eq!(c.read(depth(3, 0), t0), Next::Continue);
        for _ in 0..3 {
            assert!(c.may_send());
            c.sent(t0);
        }
        assert!(!c.may_send());
        // Lambda has queued the three events and not started them: still no budget, a minute on.
        for s in 1..60 {
            c.read(depth(3, 0), secs(t0, s));
            assert!(!c.may_send(), "at {s} s");
        }
        // It takes two of them: one visible is left, and one invocation still waits for it.
        c.read(depth(1, 2), secs(t0, 61));
        assert!(!c.may_send());
    }

    #[test]
    fn a_take_hidden_by_a_return_is_settled_after_the_settle_time() {
        let t0 = Instant::now();
        let mut c = course(t0);
        c.read(depth(2, 0), t0);
        c.sent(t0);
        // The invocation took one message while another came back: visible still 2.
        c.read(depth(2, 1), secs(t0, 1));
        assert!(c.may_send(), "one of the two is certainly waiting");
        c.sent(secs(t0, 1));
        c.read(depth(2, 2), secs(t0, 2));
        assert!(!c.may_send());
        c.read(depth(2, 0), secs(t0, 122));
        assert!(
            c.may_send(),
            "after the settle time the old sends no longer count"
        );
    }

    #[test]
    fn a_bouncing_approximate_count_matches_nothing() {
        let t0 = Instant::now();
        let mut c = course(t0);
        c.read(depth(100, 0), t0);
        for _ in 0..100 {
            c.sent(t0);
        }
        for s in 1..50 {
            let visible = if s % 2 == 0 { 100 } else { 98 };
            c.read(depth(visible, 0), secs(t0, s));
            assert!(!c.may_send(), "at {s} s");
        }
    }

    #[test]
    fn in_flight_messages_are_waited_for_not_invoked() {
        let t0 = Instant::now();
        let mut c = course(t0);
        c.read(depth(0, 5), t0);
        assert!(!c.may_send());
        c.read(depth(5, 0), secs(t0, 10));
        assert!(
            c.may_send(),
            "they came back after their visibility timeout"
        );
    }

    #[test]
    fn drained_after_empty_readings_for_a_few_seconds() {
        let t0 = Instant::now();
        let mut c = course(t0);
        c.read(depth(2, 0), t0);
        assert_eq!(c.read(depth(0, 1), secs(t0, 1)), Next::Continue);
        assert_eq!(c.read(depth(0, 0), secs(t0, 2)), Next::Continue);
        assert_eq!(c.read(depth(0, 0), secs(t0, 3)), Next::Continue);
        assert_eq!(c.read(depth(0, 0), secs(t0, 5)), Next::Stop(End::Drained));
        assert_eq!(c.drained(), 2);
    }

    #[test]
    fn no_progress_for_the_policy_time_stops() {
        let t0 = Instant::now();
        let mut c = course(t0);
        c.read(depth(10, 0), t0);
        assert_eq!(c.read(depth(10, 0), secs(t0, 30)), Next::Continue);
        assert_eq!(
            c.read(depth(10, 0), secs(t0, 60)),
            Next::Stop(End::NoProgress {
                stalled_s: 60,
                function_errors: None
            })
        );
    }

    #[test]
    fn messages_in_flight_are_given_their_visibility_timeout() {
        let t0 = Instant::now();
        let mut c = Course::new(None, Duration::from_secs(10), Duration::from_secs(120), t0);
        c.read(depth(4, 6), t0);
        // 30 s visibility + margin beats the 10 s policy while messages are in flight.
        assert_eq!(c.read(depth(4, 6), secs(t0, 20)), Next::Continue);
        assert!(matches!(
            c.read(depth(4, 6), secs(t0, 35)),
            Next::Stop(End::NoProgress { .. })
        ));
        // Once nothing is in flight, the policy's 10 s applies again.
        c.read(depth(10, 0), secs(t0, 36));
        assert!(matches!(
            c.stalled(secs(t0, 37)),
            Next::Stop(End::NoProgress { .. })
        ));
    }

    #[test]
    fn a_falling_total_is_progress() {
        let t0 = Instant::now();
        let mut c = course(t0);
        c.read(depth(10, 0), t0);
        c.read(depth(8, 0), secs(t0, 50));
        assert_eq!(c.read(depth(8, 0), secs(t0, 100)), Next::Continue);
    }

    #[test]
    fn max_stops_sending_and_a_throttled_send_gives_its_place_back() {
        let t0 = Instant::now();
        let mut c = Course::new(Some(2), Duration::from_secs(60), Duration::ZERO, t0);
        c.read(depth(10, 0), t0);
        c.sent(t0);
        let second = c.sent(t0);
        assert!(c.max_reached());
        assert!(!c.may_send());
        c.not_accepted(second);
        assert!(c.may_send(), "a throttled invocation does not count");
    }
}
