//! `remediator`: an unattended reconcile loop for the BOSS ingest pipeline.
//!
//! The architecture reads from the module list: `policy` is what the operator allows; `observe`
//! what the controller sees; `decide` + `rules` what it proposes; `guard` what it admits; `act`
//! what it changes; `memory` what it keeps between ticks; `reconcile` one tick of all of them;
//! `ports` the capabilities that the simulator (`sim`) and the AWS adapters (`aws`) implement.
//!
//! What those stages exchange lives in `domain`: the observation, the actions and why they were
//! held, the decision, the pause, notice and re-drive values. `domain` imports no stage, and the
//! stages import one another only downwards (the rules do not import `decide`, which runs them;
//! the adapters do not import the tick; the rules and memory do not import the re-drive loop),
//! so the module graph has no import circles among them.

pub mod act;
pub mod aws;
pub mod cli;
pub mod controller;
pub mod decide;
pub mod domain;
pub mod faults;
pub mod guard;
pub mod halt;
pub mod journal;
pub mod logging;
pub mod memory;
pub mod messages;
pub mod observe;
pub mod plan;
pub mod policy;
pub mod ports;
pub mod quote;
pub mod reconcile;
pub mod redrive;
pub mod rules;
mod serde_secs;
pub mod sim;
pub mod source;
pub mod state;
pub mod status;
pub mod time;
pub mod vet;
pub mod watch;
pub mod webhook;
