//! Lowering: when the ingest jobs writing a table are over, or demand has stayed low for the
//! quiet period, go down to demand × headroom in one decrease. AWS allows 4 decreases a UTC day
//! per table or GSI (then one an hour without one), so routine lowering keeps a reserve of them
//! for a cut that saves more than half the capacity, and does not go below the capacity the
//! table started the day with (a table kept warm starts the next burst warm) unless the policy
//! says so.

use super::evidence::TableView;
use super::plan::units;
use crate::domain::action::{CapacityChange, ChangeCause, Evidence};
use crate::domain::observed::ResourceObs;
use crate::domain::resource::{CapacityKey, Dimension, Resource};
use crate::memory::Memory;
use crate::memory::capacity::{CapacityMemory, DayStart};
use crate::policy::{Lower, TableRule};
use crate::time::Timestamp;
use std::time::Duration;

/// AWS and the BOSS autoscaler alike skip decreases of 5 units or less: not worth a decrease.
const MIN_DECREASE_UNITS: u32 = 5;
/// AWS: 4 decreases at any time of a UTC day.
const FREE_DECREASES_PER_DAY: u32 = 4;
const HOUR: Duration = Duration::from_secs(3600);
/// After the jobs are over, this many minutes of what is left are enough to size it: the
/// queues say the load is gone.
pub const AFTER_JOBS: Duration = Duration::from_secs(180);

/// What a lowering may see beyond the dimension's own series.
pub(super) struct Context {
    pub minute: Timestamp,
    /// When the ingest jobs writing the table ended, if they are over.
    pub jobs_over: Option<Timestamp>,
    /// Units/s the ingest queues still forecast for each dimension.
    pub forecast: Vec<(CapacityKey, f64)>,
    /// Resources with a hot partition escalated recently.
    pub hot_known: Vec<Resource>,
}

/// The decreases the table can make this tick.
pub(super) fn lowers(
    view: &TableView<'_>,
    rule: &TableRule,
    lower: &Lower,
    memory: &Memory,
    context: &Context,
) -> Vec<CapacityChange> {
    let mut out = Vec::new();
    for obs in view.resources() {
        for dimension in Dimension::BOTH {
            if let Some(c) = lower_one(view, rule, lower, memory, context, obs, dimension) {
                out.push(c);
            }
        }
    }
    out
}

fn lower_one(
    view: &TableView<'_>,
    rule: &TableRule,
    lower: &Lower,
    memory: &Memory,
    context: &Context,
    obs: &ResourceObs,
    dimension: Dimension,
) -> Option<CapacityChange> {
    let observed = view.observed;
    let key = CapacityKey {
        resource: obs.resource.clone(),
        dimension,
    };
    let provisioned = obs.dimension(dimension).provisioned?;
    // The window ends with the table's minute: later minutes are still in flight. Once the jobs
    // are over it begins with the first whole minute after they ended: what they wrote before
    // says nothing of what is left.
    let period = observed.period.as_secs().max(1);
    let (window_start, quiet_for, cause) = match context.jobs_over {
        Some(ended) if rule.feed_forward.is_some() => {
            let start = Timestamp(ended.0.div_ceil(period) * period);
            (start, AFTER_JOBS, ChangeCause::JobsOver)
        }
        _ => {
            let start = context.minute.plus(observed.period).minus(lower.quiet_for);
            (start, lower.quiet_for, ChangeCause::LowUtilisation)
        }
    };
    if memory
        .last_change(&key)
        .is_some_and(|c| c.at > window_start)
    {
        return None;
    }
    let minutes: Vec<Timestamp> = obs
        .dimension(dimension)
        .consumed
        .since(window_start)
        .map(|p| p.start)
        .filter(|m| *m <= context.minute)
        .collect();
    // Three quarters of the window's minutes, so a gap in the data is not read as calm.
    let expected = quiet_for.as_secs() / period;
    if (minutes.len() as u64) * 4 < expected * 3 {
        return None;
    }
    // A throttling GSI turns its table's writes away: for writes, the table and all its GSIs
    // must have been calm, unless the throttling is a confirmed hot partition's, which no
    // capacity serves: then only what was served counts.
    let throttled: Vec<(&ResourceObs, Timestamp)> = view
        .resources()
        .filter(|r| r.resource == key.resource || dimension == Dimension::Write)
        .flat_map(|r| {
            r.dimension(dimension)
                .throttle_events
                .since(window_start)
                .filter(|p| p.value > 0.0)
                .map(move |p| (r, p.start))
        })
        .collect();
    // A hot partition already escalated: its throttle events are the hot key's.
    let hot = context.hot_known.contains(&key.resource);
    if !throttled.is_empty() && !hot {
        return None;
    }
    let peak = minutes
        .iter()
        .filter_map(|m| {
            if hot {
                TableView::minute_of(obs, dimension, *m).map(|(served, _)| served)
            } else {
                view.demand(obs, dimension, *m)
            }
        })
        .fold(0.0, f64::max);
    let still_coming = context
        .forecast
        .iter()
        .find(|(k, _)| *k == key)
        .map_or(0.0, |(_, f)| *f);
    // While jobs run, the queues say what is coming: capacity well above it and the window's
    // peak is lowered even when utilisation is not low (a forecast raise can overshoot).
    let forecast_says = still_coming > 0.0;
    if cause == ChangeCause::LowUtilisation
        && !forecast_says
        && peak / f64::from(provisioned.max(1)) >= lower.utilisation_below
    {
        return None;
    }
    let start_of_day = if lower.below_start_of_day {
        0
    } else {
        memory.capacity.day_start(&key, observed.at).unwrap_or(0)
    };
    let to = units(peak.max(still_coming) / lower.target_utilisation)
        .max(rule.limits(dimension).floor)
        .max(start_of_day);
    // Bursts that recur: a trim towards what the last burst needed is fine, a fall back to the
    // cold level below half of it is not.
    let warm = super::warm::level(&memory.capacity, &key, observed.at);
    let to = if u64::from(to) * 2 < u64::from(warm) {
        warm
    } else {
        to
    };
    let cut = provisioned.saturating_sub(to);
    // A decrease is scarce: worth one for a tenth of the capacity.
    if cut <= MIN_DECREASE_UNITS || u64::from(cut) * 10 < u64::from(provisioned) {
        return None;
    }
    if !decrease_allowed(memory, &key, observed.at, lower, cut, provisioned) {
        return None;
    }
    let (consumed, events) =
        TableView::minute_of(obs, dimension, context.minute).unwrap_or((0.0, 0.0));
    Some(CapacityChange {
        key,
        from: provisioned,
        to,
        cause,
        evidence: Evidence {
            period_start: context.minute,
            age: observed.at.since(context.minute.plus(observed.period)),
            provisioned: Some(provisioned),
            consumed,
            throttle_events: events,
        },
        demand: Some(peak),
        forecast: None,
    })
}

/// Routine lowering leaves `reserve_decreases` of the day's four free decreases unused; a cut
/// of more than half the capacity may use them. After the four, AWS allows one an hour.
fn decrease_allowed(
    memory: &Memory,
    key: &CapacityKey,
    at: Timestamp,
    lower: &Lower,
    cut: u32,
    provisioned: u32,
) -> bool {
    let (today, last) = memory.decreases_today(key, at);
    if today >= FREE_DECREASES_PER_DAY {
        return last.is_none_or(|l| at.since(l) >= HOUR);
    }
    let big = u64::from(cut) * 2 > u64::from(provisioned);
    big || today + lower.reserve_decreases < FREE_DECREASES_PER_DAY
}

/// Remembers the capacity each dimension had when the UTC day began (or when first seen that
/// day): lowering stays at or above it unless the policy says otherwise.
pub(super) fn note_day_start(memory: &mut CapacityMemory, view: &TableView<'_>, at: Timestamp) {
    let day = at.0 / 86_400;
    memory.day_start.retain(|d| d.day == day);
    for obs in view.resources() {
        for dimension in Dimension::BOTH {
            let Some(units) = obs.dimension(dimension).provisioned else {
                continue;
            };
            let key = CapacityKey {
                resource: obs.resource.clone(),
                dimension,
            };
            if memory.day_start(&key, at).is_none() {
                memory.day_start.push(DayStart { key, day, units });
            }
        }
    }
}
