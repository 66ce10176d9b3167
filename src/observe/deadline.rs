//! The observation deadline: every port call of a tick's observation answers by then or is
//! abandoned as [`PortError::TimedOut`], so a hung endpoint costs one tick a bounded time (the
//! issue that motivated it saw 9 sequential calls × 25 s against a 30 s interval).

use crate::domain::port_error::PortError;
use std::future::Future;
use std::time::Duration;
use tokio::time::Instant;

/// When observation must be over; `None` where calls cannot hang (the simulator), so no timer
/// is needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    at: Option<(Instant, Duration)>,
}

impl Deadline {
    /// No deadline: every call runs to its own end.
    #[must_use]
    pub fn none() -> Self {
        Self { at: None }
    }

    /// Calls must answer within `budget` from now (tokio's clock, so paused time applies).
    #[must_use]
    pub fn after(budget: Duration) -> Self {
        Self {
            at: Some((Instant::now() + budget, budget)),
        }
    }

    /// Runs one port call, abandoning it at the deadline.
    ///
    /// # Errors
    /// The call's own error, or [`PortError::TimedOut`] naming `operation`.
    pub async fn call<T>(
        self,
        operation: &'static str,
        call: impl Future<Output = Result<T, PortError>>,
    ) -> Result<T, PortError> {
        let Some((at, budget)) = self.at else {
            return call.await;
        };
        match tokio::time::timeout_at(at, call).await {
            Ok(result) => result,
            Err(_) => Err(PortError::TimedOut {
                operation,
                budget_ms: u64::try_from(budget.as_millis()).unwrap_or(u64::MAX),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_hung_call_is_abandoned_at_the_deadline() {
        let deadline = Deadline::after(Duration::from_secs(5));
        let started = Instant::now();
        let result: Result<(), PortError> =
            deadline.call("DescribeTable", std::future::pending()).await;
        assert_eq!(
            result,
            Err(PortError::TimedOut {
                operation: "DescribeTable",
                budget_ms: 5000
            })
        );
        assert_eq!(started.elapsed(), Duration::from_secs(5));
    }

    #[tokio::test(start_paused = true)]
    async fn calls_share_one_deadline() {
        let deadline = Deadline::after(Duration::from_secs(5));
        let slow = deadline
            .call("first", async {
                tokio::time::sleep(Duration::from_secs(4)).await;
                Ok(1)
            })
            .await;
        assert_eq!(slow, Ok(1));
        let late = deadline
            .call("second", async {
                tokio::time::sleep(Duration::from_secs(4)).await;
                Ok(2)
            })
            .await;
        assert!(matches!(late, Err(PortError::TimedOut { .. })));
    }
}
