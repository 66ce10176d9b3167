//! The act stage, the only place the controller changes the world. Capacity changes for one
//! table are merged into one UpdateTable (DynamoDB accepts one update at a time per table).
//! A dimension an autoscaler manages is changed through the autoscaler's MinCapacity instead,
//! so the autoscaler and the controller never undo each other's work.

use crate::domain::action::{Action, CapacityChange};
use crate::domain::notice::{Channel, Notice};
use crate::domain::observed::Observed;
use crate::domain::pause::{FlowChange, FlowTarget, cap_text};
use crate::domain::port_error::PortError;
use crate::domain::resource::{Dimension, Resource, ScalingRange};
use crate::ports::{Functions, ScalingUpdate, Signals, TableUpdate, Tables, Throughput};
use crate::redrive::fleet::Launcher;
use serde::Serialize;
use std::collections::BTreeMap;

/// Why an admitted action was not carried out, as a type from the port to the journal.
/// In the journal every shape has an `error` field naming it: a port error's own
/// (`transient`, `permanent`, `timed-out`, ...), `launch` or `not-tried`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "error", rename_all = "kebab-case")]
pub enum Failure {
    /// A re-drive could not be started (one is already running on the queue).
    #[error("{message}")]
    Launch { message: String },
    /// The channel failed earlier in this tick; the notice stays owed for the next.
    #[error("not tried: {channel} failed earlier in this tick")]
    NotTried { channel: Channel },
    #[error(transparent)]
    #[serde(untagged)]
    Call(#[from] PortError),
}

/// What became of one admitted action.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum Outcome {
    /// Carried out by the named call (e.g. `UpdateTable tileindex.bossdb.boss`).
    Applied {
        call: String,
    },
    /// Dry-run or plan: the action was admitted and deliberately not carried out.
    WouldApply,
    /// An escalation, or a notice with no channel configured: journal and log (WARN) only; an
    /// escalation also becomes an `alert/capacity` notice from the alarms rule.
    Reported,
    Failed {
        error: Failure,
        transient: bool,
    },
    /// A change of the controller's own state (the pause episode): no call was made.
    Recorded,
    /// A notice, channel by channel.
    Sent {
        deliveries: Vec<Delivery>,
    },
}

/// How one channel took a notice: a receipt, or the error after retries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Delivery {
    pub channel: crate::domain::notice::Channel,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<Failure>,
}

/// Carries out admitted actions; returns one outcome per action, in order.
pub async fn act<T: Tables, F: Functions, N: Signals, L: Launcher>(
    ports: (&T, &F, &N),
    launcher: &mut L,
    admitted: &[Action],
    observed: &Observed,
) -> Vec<Outcome> {
    let (tables, functions, signals) = ports;
    let mut outcomes: Vec<Option<Outcome>> = vec![None; admitted.len()];
    let mut per_table: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    let mut new_minimums: Vec<ScalingUpdate> = Vec::new();
    let mut notices: Vec<usize> = Vec::new();
    for (i, action) in admitted.iter().enumerate() {
        match action {
            Action::RaiseCapacity(c) | Action::LowerCapacity(c) => {
                if let Some(update) = scaling_update(c, observed) {
                    let call = format!(
                        "RegisterScalableTarget {} {} min {} max {}",
                        c.key.resource, c.key.dimension, update.range.min, update.range.max
                    );
                    outcomes[i] = Some(match tables.set_scaling_range(&update).await {
                        Ok(()) => {
                            new_minimums.push(update);
                            Outcome::Applied { call }
                        }
                        Err(e) => failed(&e),
                    });
                } else {
                    per_table
                        .entry(c.key.resource.table.clone())
                        .or_default()
                        .push(i);
                }
            }
            Action::Escalate(_) => outcomes[i] = Some(Outcome::Reported),
            Action::Pause(_) | Action::Resume(_) => outcomes[i] = Some(Outcome::Recorded),
            // Sent last: a channel that times out must not delay a capacity change.
            Action::Notify(_) => notices.push(i),
            Action::LimitFlow(change) | Action::RestoreFlow(change) => {
                outcomes[i] = Some(change_flow(functions, change).await);
            }
            Action::Redrive(order) => {
                outcomes[i] = Some(
                    match launcher.launch(&order.target, &order.settings, observed.at) {
                        Ok(call) => Outcome::Applied { call },
                        Err(message) => Outcome::Failed {
                            error: Failure::Launch { message },
                            transient: false,
                        },
                    },
                );
            }
        }
    }
    for (table, indices) in per_table {
        let update = table_update(
            &table,
            indices.iter().map(|&i| &admitted[i]),
            observed,
            &new_minimums,
        );
        let outcome = match tables.update(&update).await {
            Ok(()) => Outcome::Applied {
                call: format!("UpdateTable {table}"),
            },
            Err(e) => failed(&e),
        };
        for i in indices {
            outcomes[i] = Some(outcome.clone());
        }
    }
    let mut down = Vec::new();
    for i in notices {
        if let Action::Notify(notice) = &admitted[i] {
            outcomes[i] = Some(notify(signals, notice, &mut down).await);
        }
    }
    outcomes
        .into_iter()
        .map(|o| o.unwrap_or(Outcome::Reported))
        .collect()
}

/// The autoscaler range that carries out a change on an autoscaled dimension: the minimum moves
/// up to a raise's target; for a lowering it only comes down (to undo an earlier raise), never
/// up, so the autoscaler stays free to go lower on its own.
fn scaling_update(change: &CapacityChange, observed: &Observed) -> Option<ScalingUpdate> {
    let range = observed
        .resources
        .iter()
        .find(|r| r.resource == change.key.resource)?
        .dimension(change.key.dimension)
        .autoscaling?;
    let min = if change.to > change.from {
        range.min.max(change.to)
    } else {
        range.min.min(change.to)
    };
    Some(ScalingUpdate {
        key: change.key.clone(),
        range: ScalingRange {
            min,
            max: range.max.max(min),
        },
    })
}

/// Sends a notice on every channel it is owed on. One channel failing does not stop the others;
/// with no channel configured the notice is only logged.
/// A channel that failed once this tick (after its own retries) is `down` for the rest of
/// the tick: its notices stay owed for the next tick instead of each waiting out the same
/// timeouts again.
async fn notify<N: Signals>(signals: &N, notice: &Notice, down: &mut Vec<Channel>) -> Outcome {
    if notice.channels.is_empty() {
        return Outcome::Reported;
    }
    let mut deliveries = Vec::new();
    for &channel in &notice.channels {
        if down.contains(&channel) {
            deliveries.push(Delivery {
                channel,
                receipt: None,
                error: Some(Failure::NotTried { channel }),
            });
            continue;
        }
        let result = signals.send(channel, &notice.message).await;
        if result.is_err() {
            down.push(channel);
        }
        deliveries.push(Delivery {
            channel,
            receipt: result.as_ref().ok().cloned(),
            error: result.err().map(Failure::from),
        });
    }
    Outcome::Sent { deliveries }
}

async fn change_flow<F: Functions>(functions: &F, change: &FlowChange) -> Outcome {
    let (result, call) = match &change.target {
        FlowTarget::Mapping { uuid, .. } => (
            functions.set_mapping_concurrency(uuid, change.to).await,
            format!(
                "UpdateEventSourceMapping {uuid} MaximumConcurrency {}",
                cap_text(change.to)
            ),
        ),
        FlowTarget::Reserved { function } => match change.to {
            Some(n) => (
                functions.set_reserved_concurrency(function, Some(n)).await,
                format!("PutFunctionConcurrency {function} {n}"),
            ),
            None => (
                functions.set_reserved_concurrency(function, None).await,
                format!("DeleteFunctionConcurrency {function}"),
            ),
        },
    };
    match result {
        Ok(()) => Outcome::Applied { call },
        Err(e) => failed(&e),
    }
}

fn failed(e: &PortError) -> Outcome {
    Outcome::Failed {
        error: e.clone().into(),
        transient: e.is_transient(),
    }
}

/// Builds one UpdateTable from the changes to a table and its GSIs. UpdateTable needs both
/// dimensions; the one not changed keeps its observed value, or the autoscaler minimum raised
/// this tick if that is higher, so the UpdateTable never undoes the autoscaler's scale-out.
fn table_update<'a>(
    table: &str,
    actions: impl Iterator<Item = &'a Action>,
    observed: &Observed,
    new_minimums: &[ScalingUpdate],
) -> TableUpdate {
    let mut targets: BTreeMap<Resource, Throughput> = BTreeMap::new();
    for action in actions {
        let (Action::RaiseCapacity(c) | Action::LowerCapacity(c)) = action else {
            continue;
        };
        let entry = targets.entry(c.key.resource.clone()).or_insert_with(|| {
            let mut now = current(&c.key.resource, observed);
            for m in new_minimums
                .iter()
                .filter(|m| m.key.resource == c.key.resource)
            {
                match m.key.dimension {
                    Dimension::Read => now.read = now.read.max(m.range.min),
                    Dimension::Write => now.write = now.write.max(m.range.min),
                }
            }
            now
        });
        match c.key.dimension {
            Dimension::Read => entry.read = c.to,
            Dimension::Write => entry.write = c.to,
        }
    }
    let mut update = TableUpdate {
        table: table.to_string(),
        table_throughput: None,
        indexes: Vec::new(),
    };
    for (resource, throughput) in targets {
        match resource.index {
            None => update.table_throughput = Some(throughput),
            Some(index) => update.indexes.push((index, throughput)),
        }
    }
    update
}

fn current(resource: &Resource, observed: &Observed) -> Throughput {
    observed
        .resources
        .iter()
        .find(|r| &r.resource == resource)
        .map_or(Throughput { read: 1, write: 1 }, |r| Throughput {
            read: r.read.provisioned.unwrap_or(1),
            write: r.write.provisioned.unwrap_or(1),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_failure_names_itself_in_the_journal() {
        let shapes = [
            Failure::NotTried {
                channel: Channel::Webhook,
            },
            Failure::Launch {
                message: "running".into(),
            },
            Failure::Call(PortError::TimedOut {
                operation: "Publish",
                budget_ms: 20_000,
            }),
        ];
        let names: Vec<String> = shapes
            .iter()
            .map(|f| serde_json::to_value(f).expect("json")["error"].to_string())
            .collect();
        assert_eq!(names, [r#""not-tried""#, r#""launch""#, r#""timed-out""#]);
    }
}
