//! What the pause and alarm rules learn after each decision, kept in [`PauseMemory`]:
//! duration baselines from steady minutes, since when queues have been growing, the end of an
//! operator's suppression, and flow limits that can no longer be put back. Pure, like
//! `decide`: the observation in, the memory updated.

use crate::domain::observed::Observed;
use crate::domain::pause::{Baseline, FlowTarget, GrowthWatch, PauseMemory};
use crate::policy::Policy;
use crate::rules::drift::{Frame, assess};
use std::time::Duration;

/// Minutes of an hour: a learned baseline moves by 1/60 of each steady minute's difference, so
/// it follows a slow change over hours but not a creep over minutes.
const FOLLOW_MINUTES: f64 = 60.0;

/// Updates every watch from this tick's observation.
pub fn learn(memory: &mut PauseMemory, observed: &Observed, policy: &Policy) {
    if policy.drift.enabled {
        learn_baselines(memory, observed, policy);
        end_suppression(memory, observed, policy);
    }
    watch_growth(memory, observed);
    forget_lost_flow_limits(memory, observed);
}

/// Folds new minutes into each function's learned baseline: every minute until `learn_for` is
/// covered, then only steady minutes (at or below baseline × exit ratio), never while paused,
/// and never beyond a band of exit ratio around the first learned value, so a slow creep cannot
/// drag the baseline up with it (nor a quiet spell down).
fn learn_baselines(memory: &mut PauseMemory, observed: &Observed, policy: &Policy) {
    let period = policy.controller.metric_period.as_secs().max(1);
    let learn =
        u32::try_from(policy.drift.learn_for.as_secs().div_ceil(period)).unwrap_or(u32::MAX);
    let paused = memory.episode.is_some();
    for f in &observed.functions {
        if !policy.drift.functions.contains(&f.name) || policy.drift.baselines.contains_key(&f.name)
        {
            continue;
        }
        let index = match memory.baselines.iter().position(|b| b.function == f.name) {
            Some(i) => i,
            None => {
                memory.baselines.push(Baseline {
                    function: f.name.clone(),
                    ms: 0.0,
                    learned_ms: 0.0,
                    minutes: 0,
                    through: crate::time::Timestamp(0),
                });
                memory.baselines.len() - 1
            }
        };
        let b = &mut memory.baselines[index];
        let through = b.through;
        for p in f.duration_ms.points.iter().filter(|p| p.start > through) {
            let band = policy.drift.exit_ratio;
            if b.minutes < learn {
                b.ms = (b.ms * f64::from(b.minutes) + p.value) / f64::from(b.minutes + 1);
                b.minutes += 1;
                if b.minutes == learn {
                    b.learned_ms = b.ms;
                }
            } else if !paused && p.value <= b.ms * band {
                if b.learned_ms <= 0.0 {
                    b.learned_ms = b.ms;
                }
                let followed = b.ms + (p.value - b.ms) / FOLLOW_MINUTES;
                b.ms = followed.clamp(b.learned_ms / band, b.learned_ms * band);
                b.minutes = b.minutes.saturating_add(1);
            }
            b.through = p.start;
        }
    }
    memory.baselines.sort_by(|a, b| a.function.cmp(&b.function));
}

/// The baseline a function is judged against: fixed in the policy, or learned once it covers
/// `learn_for`.
#[must_use]
pub fn baseline_ms(memory: &PauseMemory, policy: &Policy, function: &str) -> Option<f64> {
    if let Some(fixed) = policy.drift.baselines.get(function) {
        return Some(fixed.as_secs_f64() * 1000.0);
    }
    let period = policy.controller.metric_period.as_secs().max(1);
    let learn =
        u32::try_from(policy.drift.learn_for.as_secs().div_ceil(period)).unwrap_or(u32::MAX);
    memory
        .baseline(function)
        .filter(|b| b.minutes >= learn)
        .map(|b| b.ms)
}

/// After an operator ended a pause, a new one may start once every watched function has been
/// steady again.
fn end_suppression(memory: &mut PauseMemory, observed: &Observed, policy: &Policy) {
    if memory.suppressed_since.is_none() {
        return;
    }
    let frame = Frame::new(policy, observed);
    // Functions that could not be observed cannot drift as far as the controller knows: they
    // must not keep the suppression forever.
    let steady = observed
        .functions
        .iter()
        .filter(|f| policy.drift.functions.contains(&f.name))
        .all(|f| assess(f, baseline_ms(memory, policy, &f.name), &frame).steady);
    if steady {
        memory.suppressed_since = None;
    }
}

/// Tracks every job's ingest and tile-index queue: since when its total has not fallen, and
/// from what total. A queue that falls or empties starts again; one not read keeps its watch.
fn watch_growth(memory: &mut PauseMemory, observed: &Observed) {
    let mut next = Vec::new();
    for job in &observed.jobs {
        for depth in [Some(&job.ingest), job.index.as_ref()]
            .into_iter()
            .flatten()
        {
            let total = depth.total();
            let watch = match memory.growth.iter().find(|g| g.queue == depth.name) {
                Some(w) if total > 0 && total >= w.total => GrowthWatch { total, ..w.clone() },
                _ => GrowthWatch {
                    queue: depth.name.clone(),
                    total,
                    rising_since: observed.at,
                    from_total: total,
                },
            };
            next.push(watch);
        }
    }
    for old in memory.growth.drain(..) {
        if observed.queue_unread(&old.queue) && !next.iter().any(|n| n.queue == old.queue) {
            next.push(old);
        }
    }
    next.sort_by(|a, b| a.queue.cmp(&b.queue));
    memory.growth = next;
}

/// How long a queue has grown, and by how much; `None` if it has not.
#[must_use]
pub fn growth(
    memory: &PauseMemory,
    queue: &str,
    at: crate::time::Timestamp,
) -> Option<(Duration, u64)> {
    memory
        .growth
        .iter()
        .find(|g| g.queue == queue && g.total > g.from_total)
        .map(|g| (at.since(g.rising_since), g.total - g.from_total))
}

/// Once no pause runs, a limit whose mapping is gone (BOSS deletes a job's queues as the job
/// moves on) or whose setting someone else has changed since is forgotten: there is nothing to
/// put back, and their setting wins over ours. While paused every limit is kept, whatever a
/// possibly stale reading says.
fn forget_lost_flow_limits(memory: &mut PauseMemory, observed: &Observed) {
    if memory.episode.is_some() {
        return;
    }
    memory.flow_limits.retain(|limit| match &limit.target {
        // A mapping no longer in a listing that was read is gone.
        FlowTarget::Mapping { uuid, .. } => observed.mappings.as_ref().is_none_or(|listed| {
            listed
                .iter()
                .any(|m| &m.uuid == uuid && m.max_concurrency == limit.limited_to)
        }),
        FlowTarget::Reserved { .. } => observed
            .flow_setting(&limit.target)
            .is_none_or(|now| now == limit.limited_to),
    });
}
