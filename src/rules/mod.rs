//! One module per rule. Each reads the observation and adds actions and verdicts to a decision.

pub mod alarms;
pub mod capacity;
pub mod drift;
pub mod implausible;
pub mod pause;
pub mod stranded;
