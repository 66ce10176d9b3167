//! `remediator`: an unattended reconcile loop for the BOSS ingest pipeline.
//!
//! The architecture reads from the module list: `policy` is what the operator allows; `model`
//! what the controller sees; `decide` + `rules` what it proposes; `guard` what it admits; `act`
//! what it changes; `reconcile` one tick of all of them; `ports` the capabilities that the
//! simulator (`sim`) and the AWS adapters implement.

pub mod act;
pub mod action;
pub mod aws;
pub mod cli;
pub mod controller;
pub mod decide;
pub mod faults;
pub mod guard;
pub mod halt;
pub mod journal;
pub mod logging;
pub mod memory;
pub mod messages;
pub mod model;
pub mod observe;
pub mod pause;
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
