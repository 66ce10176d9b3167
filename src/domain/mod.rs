//! The domain values: what the controller sees, proposes, holds and remembers, as plain data.
//!
//! Every stage speaks of these values, so they depend on no stage: the rules and the guard read
//! an [`observed::Observed`] and exchange [`action::Action`]s and [`decision::Decision`]s; the
//! ports carry them to and from the adapters; the memory keeps [`pause`] and [`redrive`] values
//! between ticks. Nothing here does IO or reads a clock; nothing here imports a stage, so no
//! stage's imports can come back round to it.

pub mod action;
pub mod decision;
pub mod hold;
pub mod notice;
pub mod observed;
pub mod pause;
pub mod port_error;
pub mod redrive;
pub mod resource;
