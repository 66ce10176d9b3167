//! The kill switch as a value: what `remediator halt` stores, the guard applies and `status`
//! shows. Kept apart from the state store so the pure core can name it.

use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The kill switch, set by `remediator halt` and lifted by `remediator resume`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Halt {
    pub mode: HaltMode,
    pub reason: String,
    pub by: String,
    pub at: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HaltMode {
    /// No mutating action at all (people are still told).
    All,
    /// Raises and re-drives still go; nothing lowers capacity or flow, nothing pauses.
    UpOnly,
}

impl HaltMode {
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            HaltMode::All => "halted",
            HaltMode::UpOnly => "halted except raises and re-drives",
        }
    }
}

impl fmt::Display for Halt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} by {} at {}: {}",
            self.mode.label(),
            self.by,
            self.at,
            self.reason
        )
    }
}
