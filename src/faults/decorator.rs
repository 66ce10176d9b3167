//! [`Faulty`]: every port trait, passed through the gate of [`Faults`].

use super::{Faults, Op};
use crate::domain::notice::{Channel, Message};
use crate::domain::observed::{EventSourceMapping, QueueDepth, Series};
use crate::domain::port_error::PortError;
use crate::memory::Memory;
use crate::ports::{
    FunctionConfig, Functions, MetricQuery, MetricWindow, Metrics, Queues, ScalingUpdate, Signals,
    TableDescription, TableUpdate, Tables,
};
use crate::state::{
    Bid, Claim, Fence, Halt, Lease, LeaseOutcome, Note, Shared, StateError, StateStore,
};
use crate::time::Timestamp;
use std::future::Future;
use std::path::PathBuf;

/// A port implementation `P` whose calls go through [`Faults`] first.
///
/// A call is logged, and meets its fault, when the method is called; the wrapped call starts
/// only once the gate lets it through, so the returned futures hold `&P` across an await and
/// the port must be `Sync` (the simulated cloud, the AWS adapters and `FileState` are).
///
/// A clone shares the rules and the log, so a `Faulty` adapter can be handed to a re-drive
/// `Fleet` (which clones its ports into each task) and still be steered by the test.
#[derive(Debug, Clone)]
pub struct Faulty<P> {
    inner: P,
    faults: Faults,
}

impl<P> Faulty<P> {
    /// Wraps `inner` with no rules: every call passes (and is counted).
    #[must_use]
    pub fn new(inner: P) -> Self {
        Self::sharing(inner, &Faults::new())
    }

    /// Wraps `inner` with rules and a call log shared with other decorators.
    #[must_use]
    pub fn sharing(inner: P, faults: &Faults) -> Self {
        Self {
            inner,
            faults: faults.clone(),
        }
    }

    #[must_use]
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    #[must_use]
    pub fn inner(&self) -> &P {
        &self.inner
    }
}

impl<P: Metrics + Sync> Metrics for Faulty<P> {
    fn fetch(
        &self,
        queries: &[MetricQuery],
        window: MetricWindow,
    ) -> impl Future<Output = Result<Vec<Series>, PortError>> + Send {
        let values = queries.iter().flat_map(|q| q.dimensions.iter());
        let subjects: Vec<&str> = values.map(|(_, v)| v.as_str()).collect();
        let gate = self.faults.gate(Op::GetMetricData, &subjects);
        async move {
            gate.pass().await?;
            self.inner.fetch(queries, window).await
        }
    }
}

/// Passes one call of a port trait through the gate: `through!(self, Op, [subjects], call)`.
macro_rules! through {
    ($self:ident, $op:expr, [$($subject:expr),*], $call:expr) => {{
        let gate = $self.faults.gate($op, &[$($subject),*]);
        async move {
            gate.pass().await?;
            $call.await
        }
    }};
}

impl<P: Tables + Sync> Tables for Faulty<P> {
    fn describe(
        &self,
        table: &str,
    ) -> impl Future<Output = Result<TableDescription, PortError>> + Send {
        through!(self, Op::DescribeTable, [table], self.inner.describe(table))
    }

    fn update(&self, update: &TableUpdate) -> impl Future<Output = Result<(), PortError>> + Send {
        through!(
            self,
            Op::UpdateTable,
            [update.table.as_str()],
            self.inner.update(update)
        )
    }

    fn set_scaling_range(
        &self,
        update: &ScalingUpdate,
    ) -> impl Future<Output = Result<(), PortError>> + Send {
        let table = update.key.resource.table.as_str();
        let op = Op::RegisterScalableTarget;
        through!(self, op, [table], self.inner.set_scaling_range(update))
    }
}

/// A queue URL's last segment, the queue's name.
fn queue_name(url: &str) -> &str {
    url.rsplit('/').next().unwrap_or(url)
}

impl<P: Queues + Sync> Queues for Faulty<P> {
    fn list(&self, prefix: &str) -> impl Future<Output = Result<Vec<String>, PortError>> + Send {
        through!(self, Op::ListQueues, [prefix], self.inner.list(prefix))
    }

    fn url(&self, name: &str) -> impl Future<Output = Result<String, PortError>> + Send {
        through!(self, Op::GetQueueUrl, [name], self.inner.url(name))
    }

    fn depth(&self, url: &str) -> impl Future<Output = Result<QueueDepth, PortError>> + Send {
        let name = queue_name(url);
        through!(
            self,
            Op::GetQueueAttributes,
            [url, name],
            self.inner.depth(url)
        )
    }

    fn peek(&self, url: &str) -> impl Future<Output = Result<Option<String>, PortError>> + Send {
        let name = queue_name(url);
        through!(self, Op::ReceiveMessage, [url, name], self.inner.peek(url))
    }
}

impl<P: Functions + Sync> Functions for Faulty<P> {
    fn configuration(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<FunctionConfig, PortError>> + Send {
        let op = Op::GetFunctionConfiguration;
        through!(self, op, [name], self.inner.configuration(name))
    }

    fn invoke_async(
        &self,
        name: &str,
        payload: &[u8],
    ) -> impl Future<Output = Result<(), PortError>> + Send {
        through!(
            self,
            Op::Invoke,
            [name],
            self.inner.invoke_async(name, payload)
        )
    }

    fn event_source_mappings(
        &self,
        function: &str,
    ) -> impl Future<Output = Result<Vec<EventSourceMapping>, PortError>> + Send {
        let op = Op::ListEventSourceMappings;
        through!(
            self,
            op,
            [function],
            self.inner.event_source_mappings(function)
        )
    }

    fn set_mapping_concurrency(
        &self,
        uuid: &str,
        max: Option<u32>,
    ) -> impl Future<Output = Result<(), PortError>> + Send {
        let op = Op::UpdateEventSourceMapping;
        through!(
            self,
            op,
            [uuid],
            self.inner.set_mapping_concurrency(uuid, max)
        )
    }

    fn reserved_concurrency(
        &self,
        function: &str,
    ) -> impl Future<Output = Result<Option<u32>, PortError>> + Send {
        let op = Op::GetFunctionConcurrency;
        through!(
            self,
            op,
            [function],
            self.inner.reserved_concurrency(function)
        )
    }

    fn set_reserved_concurrency(
        &self,
        function: &str,
        reserved: Option<u32>,
    ) -> impl Future<Output = Result<(), PortError>> + Send {
        let op = match reserved {
            Some(_) => Op::PutFunctionConcurrency,
            None => Op::DeleteFunctionConcurrency,
        };
        let inner = &self.inner;
        through!(
            self,
            op,
            [function],
            inner.set_reserved_concurrency(function, reserved)
        )
    }

    fn account_concurrency(&self) -> impl Future<Output = Result<u32, PortError>> + Send {
        through!(
            self,
            Op::GetAccountSettings,
            [],
            self.inner.account_concurrency()
        )
    }
}

impl<P: Signals + Sync> Signals for Faulty<P> {
    fn send(
        &self,
        channel: Channel,
        message: &Message,
    ) -> impl Future<Output = Result<String, PortError>> + Send {
        let op = match channel {
            Channel::Sns => Op::Publish,
            Channel::Webhook => Op::PostWebhook,
        };
        let subject = message.subject.as_str();
        through!(self, op, [subject], self.inner.send(channel, message))
    }
}

/// An injected fault as the state store reports it: an I/O error on a path that says so.
fn state_error(e: &PortError, save: bool) -> StateError {
    let kind = match e {
        PortError::NotFound { .. } => std::io::ErrorKind::NotFound,
        PortError::Permanent { .. } => std::io::ErrorKind::PermissionDenied,
        _ => std::io::ErrorKind::Other,
    };
    let path = PathBuf::from("<injected fault>");
    let source = std::io::Error::new(kind, e.to_string());
    if save {
        StateError::Write { path, source }
    } else {
        StateError::Read { path, source }
    }
}

impl<S: StateStore + Sync> StateStore for Faulty<S> {
    fn name(&self) -> String {
        self.inner.name()
    }

    fn read(&self) -> impl Future<Output = Result<Shared, StateError>> + Send {
        let gate = self.faults.gate(Op::LoadState, &[]);
        async move {
            gate.pass().await.map_err(|e| state_error(&e, false))?;
            self.inner.read().await
        }
    }

    fn write(
        &self,
        memory: &Memory,
        version: u64,
        fence: Option<&Fence>,
    ) -> impl Future<Output = Result<u64, StateError>> + Send {
        let gate = self.faults.gate(Op::SaveState, &[]);
        async move {
            gate.pass().await.map_err(|e| state_error(&e, true))?;
            self.inner.write(memory, version, fence).await
        }
    }

    fn bid(&self, bid: &Bid) -> impl Future<Output = Result<LeaseOutcome, StateError>> + Send {
        let gate = self.faults.gate(Op::Lease, &[]);
        async move {
            gate.pass().await.map_err(|e| state_error(&e, true))?;
            self.inner.bid(bid).await
        }
    }

    fn release(&self, lease: &Lease) -> impl Future<Output = Result<(), StateError>> + Send {
        self.inner.release(lease)
    }

    fn set_halt(&self, halt: Option<&Halt>) -> impl Future<Output = Result<(), StateError>> + Send {
        self.inner.set_halt(halt)
    }

    fn add_note(&self, note: &Note) -> impl Future<Output = Result<(), StateError>> + Send {
        self.inner.add_note(note)
    }

    fn claim(
        &self,
        claim: &Claim,
        now: Timestamp,
    ) -> impl Future<Output = Result<(), StateError>> + Send {
        self.inner.claim(claim, now)
    }

    fn unclaim(
        &self,
        queue: &str,
        owner: &str,
    ) -> impl Future<Output = Result<(), StateError>> + Send {
        self.inner.unclaim(queue, owner)
    }
}
