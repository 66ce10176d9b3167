//! Counts the HTTP requests the AWS SDK clients send, by API operation, and how many were in
//! flight at once: the port-call counts of `Faulty` do not see pagination, retries, or the
//! Application Auto Scaling read behind a provisioned table's `DescribeTable`.

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_types::config_bag::{Storable, StoreReplace};
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
        // A retry's guard replaces (drops) the previous attempt's before counting itself.
        cfg.interceptor_state()
            .store_put(InFlight(Arc::clone(&self.0)));
        let now = self.0.in_flight.fetch_add(1, Ordering::Relaxed) + 1;
        self.0.peak.fetch_max(now, Ordering::Relaxed);
        Ok(())
    }
}

/// One call with a request on the wire, until its operation ends: the guard lives in the
/// operation's config bag, which is dropped when the call returns or when the observation
/// deadline abandons it (an interceptor hook would never run for an abandoned call).
#[derive(Debug)]
struct InFlight(Arc<Book>);

impl Storable for InFlight {
    type Storer = StoreReplace<Self>;
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}
