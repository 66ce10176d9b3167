//! A simulated BOSS in virtual time: scenarios, the world, the baselines, and the runner that
//! drives `remediator`'s real tick (or a baseline) through it.

pub mod activity;
pub mod activity_report;
pub mod baselines;
pub mod batch;
mod check;
pub mod cloud;
pub mod goal;
pub mod jobs;
pub mod lambdas;
pub mod limits;
pub mod performers;
pub mod plot;
pub mod report;
pub mod runner;
pub mod scenario;
mod seeded;
pub mod seeds;
pub mod series;
pub mod world;

pub use runner::{ControllerKind, RunResult, Summary, run};
pub use scenario::Scenario;
