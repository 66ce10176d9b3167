//! A failed call to the outside world as a value. The ports return it, the observation keeps
//! it for what could not be read (`Unread::Call`) and the journal writes it out: one type from
//! the adapter to the record, so it lives with the domain rather than with the traits.

use serde::Serialize;

/// A port call that failed, classified so the loop knows whether to retry next tick. Carried as
/// this type from the adapter to the journal (`{"error": "transient", "service": ...}`), never
/// formatted to a string and parsed back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(tag = "error", rename_all = "kebab-case")]
pub enum PortError {
    /// Throttling, 5xx, timeouts: try again next tick.
    #[error("{service} {operation} failed (transient): {message}")]
    Transient {
        service: &'static str,
        operation: &'static str,
        message: String,
    },
    /// Access denied, validation and the like: the change is held for the escalation interval
    /// and reported loudly, since retrying at once will not help.
    #[error("{service} {operation} failed: {message}")]
    Permanent {
        service: &'static str,
        operation: &'static str,
        message: String,
    },
    /// The service asked us to slow down (HTTP 429, TooManyRequests, Throttling): transient, and
    /// a paced caller such as a re-drive lowers its rate.
    #[error("{service} {operation} throttled: {message}")]
    Throttled {
        service: &'static str,
        operation: &'static str,
        message: String,
    },
    #[error("{resource} does not exist")]
    NotFound { resource: String },
    /// The resource is being changed and accepts no further change now.
    #[error("{resource} is busy ({message})")]
    Busy { resource: String, message: String },
    /// No answer before the tick's deadline: the call was abandoned, so one hung endpoint
    /// cannot stretch a tick past its interval. Transient: the next tick asks again.
    #[error("{operation} timed out: no answer within the tick's {budget_ms} ms")]
    TimedOut {
        operation: &'static str,
        budget_ms: u64,
    },
}

impl PortError {
    /// What went wrong, without the service and operation: one cause shared by many calls
    /// (an unreachable endpoint fails every table the same way) reads as one line.
    #[must_use]
    pub fn cause(&self) -> String {
        match self {
            PortError::Transient { message, .. }
            | PortError::Permanent { message, .. }
            | PortError::Throttled { message, .. } => message.clone(),
            other => other.to_string(),
        }
    }

    #[must_use]
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            PortError::Transient { .. }
                | PortError::Throttled { .. }
                | PortError::Busy { .. }
                | PortError::TimedOut { .. }
        )
    }
}
