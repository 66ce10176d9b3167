//! Counts the HTTP requests the AWS SDK clients send, by API operation, and how many were in
//! flight at once: the port-call counts of `Faulty` do not see pagination, retries, or the
//! Application Auto Scaling read behind a provisioned table's `DescribeTable`.

use aws_sdk_dynamodb::config::interceptors::{
    BeforeTransmitInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Debug, Default)]
struct Book {
    counts: Mutex<BTreeMap<String, usize>>,
    in_flight: AtomicUsize,
    peak: AtomicUsize,
}

/// One interceptor shared by every client of a tick (a clone shares the counts).
#[derive(Debug, Clone, Default)]
pub struct Wire(Arc<Book>);

impl Wire {
    /// Requests sent so far, by operation (every attempt of a retried call counts).
    pub fn counts(&self) -> BTreeMap<String, usize> {
        self.0.counts.lock().map(|c| c.clone()).unwrap_or_default()
    }

    /// The most requests in flight at one moment.
    pub fn peak(&self) -> usize {
        self.0.peak.load(Ordering::Relaxed)
    }
}

impl Intercept for Wire {
    fn name(&self) -> &'static str {
        "tick bench request counter"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let operation = cfg
            .load::<Metadata>()
            .map_or_else(|| "unknown".to_string(), |m| m.name().to_string());
        if let Ok(mut counts) = self.0.counts.lock() {
            *counts.entry(operation).or_insert(0) += 1;
        }
        let now = self.0.in_flight.fetch_add(1, Ordering::Relaxed) + 1;
        self.0.peak.fetch_max(now, Ordering::Relaxed);
        Ok(())
    }

    fn read_after_attempt(
        &self,
        _context: &FinalizerInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        // An attempt that failed before it was sent ends here too: never below zero.
        let _ = self
            .0
            .in_flight
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
        Ok(())
    }
}
