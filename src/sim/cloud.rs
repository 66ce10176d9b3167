//! The simulated world behind the same ports the AWS adapters implement.

use super::world::World;
use crate::model::{Resource, Series};
use crate::ports::{
    FunctionConfig, Functions, MetricQuery, MetricWindow, Metrics, PortError, QueueDepth, Queues,
    ScalingUpdate, TableDescription, TableUpdate, Tables,
};
use std::sync::{Mutex, MutexGuard};

/// Shares one [`World`] between the controller under test (through the ports) and the runner.
#[derive(Debug)]
pub struct SimCloud {
    world: Mutex<World>,
}

impl SimCloud {
    #[must_use]
    pub fn new(world: World) -> Self {
        Self {
            world: Mutex::new(world),
        }
    }

    /// The world, for the runner and the baselines. A poisoned lock only means a panic elsewhere
    /// already ended the run, so the state is still readable.
    pub fn world(&self) -> MutexGuard<'_, World> {
        self.world
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn resource_of(query: &MetricQuery) -> Option<Resource> {
    let get = |name: &str| {
        query
            .dimensions
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let table = get("TableName")?;
    Some(Resource {
        table,
        index: get("GlobalSecondaryIndexName"),
    })
}

impl Metrics for SimCloud {
    async fn fetch(
        &self,
        queries: &[MetricQuery],
        window: MetricWindow,
    ) -> Result<Vec<Series>, PortError> {
        let world = self.world();
        Ok(queries
            .iter()
            .map(|q| {
                resource_of(q).map_or_else(Series::default, |r| {
                    world.series(&r, q.metric, window.start, window.end)
                })
            })
            .collect())
    }
}

impl Tables for SimCloud {
    async fn describe(&self, table: &str) -> Result<TableDescription, PortError> {
        self.world().describe(table)
    }

    async fn update(&self, update: &TableUpdate) -> Result<(), PortError> {
        self.world().update(update)
    }

    /// The simulated BOSS has no Application Auto Scaling targets, so the controller never
    /// asks; answering as AWS would for an unknown target keeps the port total.
    async fn set_scaling_range(&self, update: &ScalingUpdate) -> Result<(), PortError> {
        Err(PortError::NotFound {
            resource: format!("scalable target for {}", update.key.resource),
        })
    }
}

/// The simulated BOSS models tables only: it has no ingest queues, and no Lambda functions
/// (a policy that enables drift detection sees them as unobserved).
impl Queues for SimCloud {
    async fn list(&self, _prefix: &str) -> Result<Vec<String>, PortError> {
        Ok(Vec::new())
    }

    async fn url(&self, name: &str) -> Result<String, PortError> {
        Err(PortError::NotFound {
            resource: format!("queue {name} (the simulator has no queues)"),
        })
    }

    async fn depth(&self, url: &str) -> Result<QueueDepth, PortError> {
        Err(PortError::NotFound {
            resource: url.to_string(),
        })
    }

    async fn peek(&self, url: &str) -> Result<Option<String>, PortError> {
        Err(PortError::NotFound {
            resource: url.to_string(),
        })
    }
}

impl Functions for SimCloud {
    async fn configuration(&self, name: &str) -> Result<FunctionConfig, PortError> {
        Err(PortError::NotFound {
            resource: format!("function {name} (the simulator has no Lambda functions)"),
        })
    }

    async fn invoke_async(&self, name: &str, _payload: &[u8]) -> Result<(), PortError> {
        self.configuration(name).await.map(|_| ())
    }

    async fn event_source_mappings(
        &self,
        function: &str,
    ) -> Result<Vec<crate::ports::EventSourceMapping>, PortError> {
        Err(PortError::NotFound {
            resource: format!("mappings of {function} (STUB)"),
        })
    }

    async fn set_mapping_concurrency(&self, uuid: &str, _max: Option<u32>) -> Result<(), PortError> {
        Err(PortError::NotFound {
            resource: format!("mapping {uuid} (STUB)"),
        })
    }

    async fn reserved_concurrency(&self, function: &str) -> Result<Option<u32>, PortError> {
        Err(PortError::NotFound {
            resource: format!("function {function} (STUB)"),
        })
    }

    async fn set_reserved_concurrency(
        &self,
        function: &str,
        _reserved: Option<u32>,
    ) -> Result<(), PortError> {
        Err(PortError::NotFound {
            resource: format!("function {function} (STUB)"),
        })
    }

    async fn account_concurrency(&self) -> Result<u32, PortError> {
        Err(PortError::NotFound {
            resource: "account settings (STUB)".to_string(),
        })
    }
}

/// The simulated performers read the signals: STUB until the too-much-activity model lands.
impl crate::ports::Signals for SimCloud {
    async fn send(
        &self,
        channel: crate::ports::Channel,
        message: &crate::ports::Message,
    ) -> Result<String, PortError> {
        Ok(format!("{channel}: {}", message.subject))
    }
}
