//! The spend cap, allocated by need. When the raises of one tick together cost more per hour
//! than the cap leaves, capacity goes first where requests are being throttled now (a throttling
//! GSI limits its table's writes), then to raises made ahead of demand; within each, every
//! raise gets the same share of the increase it asked for, so a table and its GSI rise
//! together. A raise trimmed or held leaves demand unmet: that is escalated with the shortfall.

use crate::domain::action::{CapacityChange, ChangeCause, Escalation, EscalationCause};
use crate::domain::hold::HoldReason;
use crate::domain::resource::Resource;
use crate::policy::Policy;
use std::collections::BTreeMap;

/// Whether a raise answers throttling now, rather than a forecast or high utilisation.
fn urgent(change: &CapacityChange) -> bool {
    matches!(
        change.cause,
        ChangeCause::Throttling | ChangeCause::FollowsTable | ChangeCause::BelowFloor
    )
}

/// What the cap made of one tick's raises.
#[derive(Default)]
pub(super) struct Allocation {
    pub admitted: Vec<CapacityChange>,
    pub held: Vec<(CapacityChange, HoldReason)>,
    /// Raises held or trimmed: the change as asked, and the capacity it got.
    pub short: Vec<(CapacityChange, u32)>,
}

/// Splits the raises into admitted (perhaps trimmed) and held for budget.
pub(super) fn allocate(
    raises: Vec<CapacityChange>,
    extra_cost: f64,
    policy: &Policy,
) -> Allocation {
    let cap = policy.guardrails.max_extra_cost_usd_per_hour;
    let prices = policy.guardrails.prices;
    let cost = |c: &CapacityChange| {
        f64::from(c.to.saturating_sub(c.from)) * prices.per_unit_hour(c.key.dimension)
    };
    let mut left = (cap - extra_cost).max(0.0);
    let mut out = Allocation::default();
    let (first, then): (Vec<_>, Vec<_>) = raises.into_iter().partition(urgent);
    for tier in [first, then] {
        let wanted: f64 = tier.iter().map(cost).sum();
        let share = if wanted <= left {
            1.0
        } else if wanted > 0.0 {
            left / wanted
        } else {
            0.0
        };
        for change in tier {
            let increase = f64::from(change.to.saturating_sub(change.from)) * share;
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let to = change
                .from
                .saturating_add(increase.floor().clamp(0.0, f64::from(u32::MAX)) as u32)
                .min(change.to);
            if to < change.to {
                out.short.push((change.clone(), to));
            }
            if to <= change.from {
                let reason = HoldReason::BudgetExhausted {
                    extra_usd_per_hour: cap - left,
                    cap_usd_per_hour: cap,
                };
                out.held.push((change, reason));
                continue;
            }
            let trimmed = CapacityChange { to, ..change };
            left = (left - cost(&trimmed)).max(0.0);
            out.admitted.push(trimmed);
        }
    }
    out
}

/// One escalation per table whose raises the cap held or trimmed, with the shortfall.
pub(super) fn shortfalls(short: &[(CapacityChange, u32)], policy: &Policy) -> Vec<Escalation> {
    let cap = policy.guardrails.max_extra_cost_usd_per_hour;
    let mut per_table: BTreeMap<&str, Vec<&(CapacityChange, u32)>> = BTreeMap::new();
    for s in short {
        per_table
            .entry(s.0.key.resource.table.as_str())
            .or_default()
            .push(s);
    }
    per_table
        .into_iter()
        .map(|(table, dims)| {
            let list: Vec<String> = dims
                .iter()
                .map(|(c, given)| {
                    let demand = c.demand.map(|d| format!(" for demand about {d:.0}/s")).unwrap_or_default();
                    format!("{} needs {}{demand}, gets {given} (short {})", c.key, c.to, c.to - given)
                })
                .collect();
            Escalation {
                resource: Resource::table(table),
                cause: EscalationCause::SpendCapReached,
                evidence: dims[0].0.evidence,
                advice: format!(
                    "the spend cap (${cap:.2}/h for capacity above the floors) leaves demand unmet: {}; raise guardrails.max_extra_cost_usd_per_hour if the spend is justified, or slow the performers",
                    list.join("; ")
                ),
            }
        })
        .collect()
}
