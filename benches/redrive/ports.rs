//! The ports `drive()` is given: the real Lambda adapter with each Invoke's departure written
//! down, an SQS queue in memory, and CloudWatch without data.

use crate::lambda::LoopbackLambda;
use crate::{CHUNK_KEY, QUEUE, QUEUE_URL};
use remediator::aws::LambdaFunctions;
use remediator::domain::observed::{EventSourceMapping, QueueDepth, Series};
use remediator::domain::port_error::PortError;
use remediator::ports::{FunctionConfig, Functions, MetricQuery, MetricWindow, Metrics, Queues};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// The Lambda adapter with the time each Invoke call leaves the controller written down: the
/// pacer's promise is about what it sends; the loopback's arrival times add the delivery jitter
/// of HTTP on a busy 2-core machine.
#[derive(Debug, Clone)]
pub struct Stamped {
    pub inner: LambdaFunctions,
    pub sent: Arc<Mutex<Vec<Instant>>>,
}

impl Stamped {
    pub fn sent_len(&self) -> usize {
        self.sent.lock().map_or(0, |s| s.len())
    }

    pub fn sent_since(&self, base: usize) -> Vec<Instant> {
        self.sent
            .lock()
            .map(|s| s.get(base..).unwrap_or_default().to_vec())
            .unwrap_or_default()
    }
}

impl Functions for Stamped {
    async fn configuration(&self, name: &str) -> Result<FunctionConfig, PortError> {
        self.inner.configuration(name).await
    }

    async fn invoke_async(&self, name: &str, payload: &[u8]) -> Result<(), PortError> {
        if let Ok(mut sent) = self.sent.lock() {
            sent.push(Instant::now());
        }
        self.inner.invoke_async(name, payload).await
    }

    async fn event_source_mappings(
        &self,
        function: &str,
    ) -> Result<Vec<EventSourceMapping>, PortError> {
        self.inner.event_source_mappings(function).await
    }

    async fn set_mapping_concurrency(&self, uuid: &str, max: Option<u32>) -> Result<(), PortError> {
        self.inner.set_mapping_concurrency(uuid, max).await
    }

    async fn reserved_concurrency(&self, function: &str) -> Result<Option<u32>, PortError> {
        self.inner.reserved_concurrency(function).await
    }

    async fn set_reserved_concurrency(
        &self,
        function: &str,
        reserved: Option<u32>,
    ) -> Result<(), PortError> {
        self.inner
            .set_reserved_concurrency(function, reserved)
            .await
    }

    async fn account_concurrency(&self) -> Result<u32, PortError> {
        self.inner.account_concurrency().await
    }
}

/// An SQS queue in memory: `total` messages, of which those the loopback accepted an invocation
/// for since `base` are gone (a warm lambda takes its message within milliseconds).
#[derive(Debug, Clone)]
pub struct FakeQueues {
    pub lambda: Arc<LoopbackLambda>,
    pub base: u64,
    pub total: u64,
}

impl Queues for FakeQueues {
    async fn list(&self, _prefix: &str) -> Result<Vec<String>, PortError> {
        Ok(vec![QUEUE_URL.to_string()])
    }

    async fn url(&self, _name: &str) -> Result<String, PortError> {
        Ok(QUEUE_URL.to_string())
    }

    async fn depth(&self, url: &str) -> Result<QueueDepth, PortError> {
        let taken = self.lambda.accepted().saturating_sub(self.base);
        Ok(QueueDepth {
            name: QUEUE.to_string(),
            url: url.to_string(),
            visible: self.total.saturating_sub(taken),
            in_flight: 0,
            delayed: 0,
            visibility_timeout: None,
        })
    }

    async fn peek(&self, _url: &str) -> Result<Option<String>, PortError> {
        Ok(Some(format!(
            r#"{{"chunk_key":"{CHUNK_KEY}","ingest_job":7}}"#
        )))
    }
}

/// CloudWatch with no data: no `Throttles`, no `Errors`.
#[derive(Debug, Clone, Copy)]
pub struct NoMetrics;

impl Metrics for NoMetrics {
    async fn fetch(
        &self,
        queries: &[MetricQuery],
        _window: MetricWindow,
    ) -> Result<Vec<Series>, PortError> {
        Ok(queries.iter().map(|_| Series::default()).collect())
    }
}
