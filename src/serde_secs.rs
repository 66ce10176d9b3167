//! Serialises a `Duration` as whole seconds, so journals read `"age": 95` rather than a struct.

use serde::{Deserialize, Deserializer, Serializer};
use std::time::Duration;

/// # Errors
/// Never fails for a JSON serializer.
pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_secs())
}

/// # Errors
/// The value is not a whole number of seconds.
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    u64::deserialize(d).map(Duration::from_secs)
}

/// The same for an optional duration: `null` or whole seconds.
pub mod option {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    /// # Errors
    /// Never fails for a JSON serializer.
    #[allow(clippy::ref_option)]
    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&d.as_secs()),
            None => s.serialize_none(),
        }
    }

    /// # Errors
    /// The value is neither null nor a whole number of seconds.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        Option::<u64>::deserialize(d).map(|s| s.map(Duration::from_secs))
    }
}

/// A `Duration` written as the policy writes it (`"30s"`, `"2m"`, `"1h 30m"`), for showing a
/// policy back (`check --output json`).
pub mod human {
    use serde::Serializer;
    use std::time::Duration;

    /// # Errors
    /// Never fails for a JSON serializer.
    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&crate::time::human(*d))
    }
}
