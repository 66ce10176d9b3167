//! Bursts that come back. Small ingest jobs one after another load a table in bursts with quiet
//! gaps between them; lowering to the floor in each gap makes every burst start cold, and each
//! cold start throttles for the minutes CloudWatch takes to report it. The first gap cannot be
//! told from the end of the day's work, so it is lowered as usual; but a table cut by more than
//! half and raised from there again within `RECUR_WITHIN` has shown that its load recurs. From
//! then on lowering keeps it at the level its bursts need (the one it was lowered from) until
//! no burst has come for `WARM_FOR`.

use super::evidence::TableView;
use crate::domain::resource::{CapacityKey, Dimension};
use crate::memory::capacity::{CapacityMemory, Warm};
use crate::memory::{ChangeRecord, Direction};
use crate::time::Timestamp;
use std::time::Duration;

/// A raise this soon after a big cut means the cut was premature: the load recurs.
pub const RECUR_WITHIN: Duration = Duration::from_secs(2 * 3600);
/// Kept warm until no burst has come for this long.
pub const WARM_FOR: Duration = Duration::from_secs(2 * 3600);
/// A minute with demand at this share of the warm level is a burst come again.
const BURST_SHARE: f64 = 0.5;

/// Updates the warm levels from the changes made so far and this tick's newest minute.
pub(super) fn note(
    memory: &mut CapacityMemory,
    changes: &[ChangeRecord],
    view: &TableView<'_>,
    at: Timestamp,
) {
    memory.warm.retain(|w| w.until > at);
    let minute = view.minute();
    for obs in view.resources() {
        for dimension in Dimension::BOTH {
            let key = CapacityKey {
                resource: obs.resource.clone(),
                dimension,
            };
            if let Some((since, units)) = recurrence(changes, &key) {
                let known = memory.warm.iter().any(|w| w.key == key && w.since >= since);
                if !known {
                    memory.warm.retain(|w| w.key != key);
                    memory.warm.push(Warm {
                        key: key.clone(),
                        since,
                        units,
                        until: since.plus(WARM_FOR),
                    });
                }
            }
            let demand = minute.and_then(|m| view.demand(obs, dimension, m).map(|d| (m, d)));
            if let (Some(warm), Some((m, demand))) =
                (memory.warm.iter_mut().find(|w| w.key == key), demand)
                && demand >= f64::from(warm.units) * BURST_SHARE
            {
                warm.until = warm.until.max(m.plus(WARM_FOR));
            }
        }
    }
}

/// The latest cut of more than half that the next change undid: a raise within `RECUR_WITHIN`
/// back to at least half of what the cut was made from (the load it assumed gone came back, not
/// a slow climb from a new low). When that raise came, and the level the cut was made from (at
/// most what the raise went to).
fn recurrence(changes: &[ChangeRecord], key: &CapacityKey) -> Option<(Timestamp, u32)> {
    let mine: Vec<&ChangeRecord> = changes.iter().filter(|c| &c.key == key).collect();
    mine.windows(2).rev().find_map(|pair| {
        let (cut, raise) = (pair[0], pair[1]);
        let big_cut =
            cut.direction == Direction::Lower && u64::from(cut.to) * 2 < u64::from(cut.from);
        let came_back = raise.direction == Direction::Raise
            && raise.at.since(cut.at) < RECUR_WITHIN
            && u64::from(raise.to) * 2 >= u64::from(cut.from);
        (big_cut && came_back).then(|| (raise.at, cut.from.min(raise.to)))
    })
}

/// The level lowering keeps `key` at while its bursts recur.
#[must_use]
pub(super) fn level(memory: &CapacityMemory, key: &CapacityKey, at: Timestamp) -> u32 {
    memory
        .warm
        .iter()
        .find(|w| &w.key == key && w.until > at)
        .map_or(0, |w| w.units)
}
