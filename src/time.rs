//! Time as a value: the decision core never reads a clock; `Timestamp`s arrive in observations.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::Duration;

/// Seconds since the Unix epoch (UTC). Second resolution is all CloudWatch and the guardrails need.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(pub u64);

impl Timestamp {
    /// The start of the minute this instant falls in (CloudWatch periods are minute-aligned).
    #[must_use]
    pub fn minute_floor(self) -> Self {
        Self(self.0 - self.0 % 60)
    }

    /// Time elapsed from `earlier` to `self`, zero if `earlier` is later.
    #[must_use]
    pub fn since(self, earlier: Timestamp) -> Duration {
        Duration::from_secs(self.0.saturating_sub(earlier.0))
    }

    /// Saturates at the end of time: a duration from a damaged input must not wrap or panic.
    #[must_use]
    pub fn plus(self, d: Duration) -> Self {
        Self(self.0.saturating_add(d.as_secs()))
    }

    #[must_use]
    pub fn minus(self, d: Duration) -> Self {
        Self(self.0.saturating_sub(d.as_secs()))
    }

    /// The wall clock; only the run loop's edge calls this.
    #[must_use]
    pub fn now() -> Self {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Self(secs)
    }
}

/// The one clock the controller's edge reads (the pure core never does: time arrives in
/// `Observed::at`). `System` is the wall clock; `Following` counts from an origin with tokio's
/// clock, so a test under paused time sees timestamps that advance with virtual time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    System,
    Following {
        origin: Timestamp,
        since: tokio::time::Instant,
    },
}

impl Clock {
    /// A clock at `origin` now, advancing with tokio's (possibly paused) clock.
    #[must_use]
    pub fn following_tokio(origin: Timestamp) -> Self {
        Clock::Following {
            origin,
            since: tokio::time::Instant::now(),
        }
    }

    /// A monotonic reading, for measuring how long something took (a tick's duration). Both
    /// clocks measure with tokio's, so paused time measures virtual time.
    #[must_use]
    pub fn instant(&self) -> tokio::time::Instant {
        tokio::time::Instant::now()
    }

    #[must_use]
    pub fn now(&self) -> Timestamp {
        match self {
            Clock::System => Timestamp::now(),
            Clock::Following { origin, since } => origin.plus(since.elapsed()),
        }
    }
}

/// 9999-12-31T23:59:59Z: RFC 3339 has four-digit years, and humantime panics beyond them.
pub const LAST_RFC3339: Timestamp = Timestamp(253_402_300_799);

impl fmt::Display for Timestamp {
    /// RFC 3339 (`2026-01-05T14:10:00Z`); an instant past year 9999, which only a damaged input
    /// can hold, as `@<seconds>` so it is still shown rather than panicking.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if *self > LAST_RFC3339 {
            return write!(f, "@{}", self.0);
        }
        let t = std::time::UNIX_EPOCH + Duration::from_secs(self.0);
        write!(f, "{}", humantime::format_rfc3339_seconds(t))
    }
}

/// Formats a duration the way the policy file writes them (`90s`, `5m`, `1h 30m`).
#[must_use]
pub fn human(d: Duration) -> String {
    humantime::format_duration(d).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_past_year_9999_are_shown_not_panicked_on() {
        assert_eq!(Timestamp(99_999_999_999_999).to_string(), "@99999999999999");
        assert_eq!(Timestamp(u64::MAX).to_string(), format!("@{}", u64::MAX));
        assert_eq!(LAST_RFC3339.to_string(), "9999-12-31T23:59:59Z");
    }

    #[test]
    fn plus_saturates() {
        assert_eq!(
            Timestamp(u64::MAX - 1).plus(Duration::from_secs(10)),
            Timestamp(u64::MAX)
        );
    }
}

#[cfg(test)]
mod clock_tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_following_clock_advances_with_paused_time() {
        let clock = Clock::following_tokio(Timestamp(1_000));
        tokio::time::sleep(Duration::from_secs(90)).await;
        assert_eq!(clock.now(), Timestamp(1_090));
    }
}
