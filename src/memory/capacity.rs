//! What the capacity rule learns between ticks: how fast the ingest jobs upload tiles, what a
//! tile costs each table and GSI, and the capacity each dimension had when the UTC day began.
//! The rule's `feed_forward::learn` fills it; the values are data, the logic lives there.

use crate::domain::resource::CapacityKey;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CapacityMemory {
    /// The latest reading of each running job's upload queue.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub jobs: Vec<JobReading>,
    /// Tiles all jobs uploaded between consecutive readings, oldest first (the last 20 minutes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub uploads: Vec<Uploaded>,
    /// Units one tile costs each dimension of a fed table and its GSIs, learned from history.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub units_per_tile: Vec<UnitsPerTile>,
    /// Capacity each governed dimension had when the UTC day began (or when first seen that day).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub day_start: Vec<DayStart>,
    /// Levels kept while a dimension's bursts recur (lowering stays at or above them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warm: Vec<Warm>,
}

/// Tiles still to upload in one job (its upload queue: visible, in flight and delayed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobReading {
    pub job: String,
    pub at: Timestamp,
    pub tiles_left: u64,
}

/// Tiles taken from the upload queues of every job between two readings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Uploaded {
    pub from: Timestamp,
    pub to: Timestamp,
    pub tiles: u64,
}

impl Uploaded {
    /// Tiles per second over the span.
    #[must_use]
    #[allow(clippy::cast_precision_loss)]
    pub fn rate(&self) -> f64 {
        self.tiles as f64 / self.to.since(self.from).as_secs_f64().max(1.0)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnitsPerTile {
    pub key: CapacityKey,
    pub units: f64,
    /// The newest CloudWatch minute learned from (each minute is learned once).
    pub minute: Timestamp,
    /// Minutes learned from so far.
    pub minutes: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayStart {
    pub key: CapacityKey,
    /// Days since the Unix epoch (UTC).
    pub day: u64,
    pub units: u32,
}

/// A dimension whose load came back soon after it was cut: kept at `units` until `until`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Warm {
    pub key: CapacityKey,
    /// The raise that showed the load recurs.
    pub since: Timestamp,
    pub units: u32,
    /// Moved on by every burst seen while warm.
    pub until: Timestamp,
}

impl CapacityMemory {
    #[must_use]
    pub fn units_per_tile(&self, key: &CapacityKey) -> Option<&UnitsPerTile> {
        self.units_per_tile.iter().find(|u| &u.key == key)
    }

    /// The capacity `key` had when the UTC day of `at` began, if seen that day.
    #[must_use]
    pub fn day_start(&self, key: &CapacityKey, at: Timestamp) -> Option<u32> {
        let day = at.0 / 86_400;
        self.day_start
            .iter()
            .find(|d| &d.key == key && d.day == day)
            .map(|d| d.units)
    }
}
