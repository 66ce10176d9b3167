//! The simulated world behind the same ports the AWS adapters implement.

use super::performers::Received;
use super::world::World;
use crate::domain::notice::{Channel, Message};
use crate::domain::observed::{EventSourceMapping, QueueDepth, Series};
use crate::domain::port_error::PortError;
use crate::domain::resource::Resource;
use crate::ports::{
    FunctionConfig, Functions, MetricQuery, MetricWindow, Metrics, Queues, ScalingUpdate, Signals,
    TableDescription, TableUpdate, Tables,
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

fn dimension(query: &MetricQuery, name: &str) -> Option<String> {
    query
        .dimensions
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
}

fn resource_of(query: &MetricQuery) -> Option<Resource> {
    let get = |name: &str| dimension(query, name);
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
                if let Some(function) = dimension(q, "FunctionName") {
                    let range = (window.start, window.end);
                    return world
                        .lambdas
                        .series(&function, q.metric, q.statistic, range, world.now)
                        .unwrap_or_default();
                }
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

/// Where the simulated queues live: an SQS queue URL is `https://sqs.<region>.amazonaws.com/
/// <account>/<name>`, as ListQueues and GetQueueUrl return it (the account is AWS's example one).
pub const QUEUE_URL_BASE: &str = "https://sqs.us-east-1.amazonaws.com/123456789012/";

fn queue_name(url: &str) -> &str {
    url.rsplit('/').next().unwrap_or(url)
}

fn no_queue(what: &str) -> PortError {
    PortError::NotFound {
        resource: format!("queue {what} (AWS.SimpleQueueService.NonExistentQueue)"),
    }
}

/// The ingest jobs' queues (`jobs.rs`), while their jobs run: a finished or cancelled job's
/// queues are deleted, so they answer `NotFound` as SQS does.
impl Queues for SimCloud {
    async fn list(&self, prefix: &str) -> Result<Vec<String>, PortError> {
        Ok(self
            .world()
            .jobs
            .queue_names()
            .into_iter()
            .filter(|n| n.starts_with(prefix))
            .map(|n| format!("{QUEUE_URL_BASE}{n}"))
            .collect())
    }

    async fn url(&self, name: &str) -> Result<String, PortError> {
        let world = self.world();
        if world.jobs.queue_names().iter().any(|n| n == name) {
            Ok(format!("{QUEUE_URL_BASE}{name}"))
        } else {
            Err(no_queue(name))
        }
    }

    async fn depth(&self, url: &str) -> Result<QueueDepth, PortError> {
        self.world()
            .jobs
            .depth(queue_name(url), url)
            .ok_or_else(|| no_queue(url))
    }

    async fn peek(&self, url: &str) -> Result<Option<String>, PortError> {
        self.world()
            .jobs
            .peek(queue_name(url))
            .ok_or_else(|| no_queue(url))
    }
}

/// The scenario's Lambda functions (none in a tables-only scenario). They have no event-source
/// mappings the controller could cap; reserved concurrency is modelled.
impl Functions for SimCloud {
    async fn configuration(&self, name: &str) -> Result<FunctionConfig, PortError> {
        self.world().lambdas.configuration(name)
    }

    async fn invoke_async(&self, name: &str, _payload: &[u8]) -> Result<(), PortError> {
        self.configuration(name).await.map(|_| ())
    }

    async fn event_source_mappings(
        &self,
        function: &str,
    ) -> Result<Vec<EventSourceMapping>, PortError> {
        self.world()
            .lambdas
            .configuration(function)
            .map(|_| Vec::new())
    }

    async fn set_mapping_concurrency(
        &self,
        uuid: &str,
        _max: Option<u32>,
    ) -> Result<(), PortError> {
        Err(PortError::NotFound {
            resource: format!("event-source mapping {uuid} (the simulator has none)"),
        })
    }

    async fn reserved_concurrency(&self, function: &str) -> Result<Option<u32>, PortError> {
        self.world().lambdas.reserved(function)
    }

    async fn set_reserved_concurrency(
        &self,
        function: &str,
        reserved: Option<u32>,
    ) -> Result<(), PortError> {
        self.world().lambdas.set_reserved(function, reserved)
    }

    async fn account_concurrency(&self) -> Result<u32, PortError> {
        Ok(self.world().lambdas.account_concurrency())
    }
}

/// Every message is recorded in the world; the simulated performers read it (see
/// `performers.rs` for the subjects they recognise).
impl Signals for SimCloud {
    async fn send(&self, channel: Channel, message: &Message) -> Result<String, PortError> {
        let mut world = self.world();
        let at = world.elapsed();
        world.received.push(Received {
            at,
            channel,
            subject: message.subject.clone(),
        });
        if let Some(p) = world.lambdas.performers_mut() {
            p.receive(at, &message.subject);
        }
        Ok(format!("{channel}: delivered to the simulated performers"))
    }
}
