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

    #[must_use]
    pub fn plus(self, d: Duration) -> Self {
        Self(self.0 + d.as_secs())
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

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = std::time::UNIX_EPOCH + Duration::from_secs(self.0);
        write!(f, "{}", humantime::format_rfc3339_seconds(t))
    }
}

/// Formats a duration the way the policy file writes them (`90s`, `5m`, `1h 30m`).
#[must_use]
pub fn human(d: Duration) -> String {
    humantime::format_duration(d).to_string()
}
