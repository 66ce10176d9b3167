//! Helpers of the property tests in `tests/props_inputs.rs`.

pub mod values;
pub mod within;
