//! The course of one re-drive, judged from queue readings: how many invocations may go now, and
//! when to stop. Pure: every reading and send arrives with its time.

use super::End;
use crate::ports::QueueDepth;
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
    /// Invocations sent this long before a reading may not show in it yet: an asynchronous
    /// invocation takes its message some time after Lambda accepts it.
    settle: Duration,
    started: Instant,
    first: Option<QueueDepth>,
    last: Option<QueueDepth>,
    last_progress: Instant,
    invoked: u64,
    /// Send times of accepted invocations within `settle` of now.
    recent: VecDeque<Instant>,
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
            first: None,
            last: None,
            last_progress: now,
            invoked: 0,
            recent: VecDeque::new(),
            budget: 0,
        }
    }

    /// Takes a queue reading. The budget becomes the visible count less the invocations that
    /// may not show in it yet: never more invocations than messages waiting for one.
    pub fn read(&mut self, depth: QueueDepth, now: Instant) -> Next {
        let cutoff = now.checked_sub(self.settle).unwrap_or(self.started);
        while self.recent.front().is_some_and(|t| *t < cutoff) {
            self.recent.pop_front();
        }
        let unsettled = self.recent.len() as u64;
        self.budget = depth.visible.saturating_sub(unsettled);
        let fell = self.last.as_ref().is_none_or(|l| depth.total() < l.total());
        if fell {
            self.last_progress = now;
        }
        if self.first.is_none() {
            self.first = Some(depth.clone());
        }
        let total = depth.total();
        self.last = Some(depth);
        if total == 0 {
            return Next::Stop(End::Drained);
        }
        let stalled = now.saturating_duration_since(self.last_progress);
        if stalled >= self.no_progress_after {
            return Next::Stop(End::NoProgress {
                stalled_s: stalled.as_secs(),
                function_errors: None,
            });
        }
        Next::Continue
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

    /// An invocation was sent at `now`.
    pub fn sent(&mut self, now: Instant) {
        self.budget = self.budget.saturating_sub(1);
        self.invoked += 1;
        self.recent.push_back(now);
    }

    /// A sent invocation was not accepted (throttled or failed): its message still waits.
    pub fn not_accepted(&mut self) {
        self.budget += 1;
        self.invoked = self.invoked.saturating_sub(1);
        self.recent.pop_back();
    }

    /// Accepted invocations so far.
    #[must_use]
    pub fn invoked(&self) -> u64 {
        self.invoked
    }

    #[must_use]
    pub fn first(&self) -> Option<&QueueDepth> {
        self.first.as_ref()
    }

    #[must_use]
    pub fn last(&self) -> Option<&QueueDepth> {
        self.last.as_ref()
    }

    /// Messages gone from the queue since the first reading.
    #[must_use]
    pub fn drained(&self) -> u64 {
        match (&self.first, &self.last) {
            (Some(f), Some(l)) => f.total().saturating_sub(l.total()),
            _ => 0,
        }
    }
}

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
        }
    }

    fn course(now: Instant) -> Course {
        Course::new(None, Duration::from_secs(60), Duration::from_secs(3), now)
    }

    #[test]
    fn never_more_invocations_than_visible_messages() {
        let t0 = Instant::now();
        let mut c = course(t0);
        assert_eq!(c.read(depth(3, 0), t0), Next::Continue);
        for _ in 0..3 {
            assert!(c.may_send());
            c.sent(t0);
        }
        assert!(!c.may_send());
        // The queue has not caught up with the three invocations yet: still no budget.
        assert_eq!(
            c.read(depth(3, 0), t0 + Duration::from_secs(1)),
            Next::Continue
        );
        assert!(!c.may_send());
    }

    #[test]
    fn in_flight_messages_are_waited_for_not_invoked() {
        let t0 = Instant::now();
        let mut c = course(t0);
        c.read(depth(0, 5), t0);
        assert!(!c.may_send());
        // They come back after their visibility timeout: re-driven then.
        c.read(depth(5, 0), t0 + Duration::from_secs(10));
        assert!(c.may_send());
    }

    #[test]
    fn drained_only_when_nothing_is_visible_or_in_flight() {
        let t0 = Instant::now();
        let mut c = course(t0);
        c.read(depth(2, 0), t0);
        assert_eq!(c.read(depth(0, 1), t0), Next::Continue);
        assert_eq!(c.read(depth(0, 0), t0), Next::Stop(End::Drained));
        assert_eq!(c.drained(), 2);
    }

    #[test]
    fn no_progress_for_the_policy_time_stops() {
        let t0 = Instant::now();
        let mut c = course(t0);
        c.read(depth(10, 0), t0);
        assert_eq!(
            c.read(depth(4, 6), t0 + Duration::from_secs(30)),
            Next::Continue
        );
        assert_eq!(
            c.read(depth(10, 0), t0 + Duration::from_secs(60)),
            Next::Stop(End::NoProgress {
                stalled_s: 60,
                function_errors: None
            })
        );
    }

    #[test]
    fn a_falling_total_is_progress() {
        let t0 = Instant::now();
        let mut c = course(t0);
        c.read(depth(10, 0), t0);
        c.read(depth(8, 0), t0 + Duration::from_secs(50));
        assert_eq!(
            c.read(depth(8, 0), t0 + Duration::from_secs(100)),
            Next::Continue
        );
    }

    #[test]
    fn max_stops_sending() {
        let t0 = Instant::now();
        let mut c = Course::new(Some(2), Duration::from_secs(60), Duration::ZERO, t0);
        c.read(depth(10, 0), t0);
        c.sent(t0);
        c.sent(t0);
        assert!(c.max_reached());
        assert!(!c.may_send());
        c.not_accepted();
        assert!(c.may_send(), "a throttled invocation does not count");
    }
}
