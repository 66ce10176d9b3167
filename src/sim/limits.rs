//! The ranges a scenario's values must lie in, stated in the README's "Scenarios" section, and
//! why the simulator's counts cannot wrap or saturate within them.
//!
//! A scenario is the simulator's only input; bounded here, every total the summary prints is
//! bounded too (the derivation is checked at compile time below), so no `as u64` can clamp
//! and no `u32` sum can wrap (`write = 4294967295` was once summarised as 9 WCU).

use std::time::Duration;

/// The shortest scenario: one CloudWatch period (a shorter one publishes no datapoint).
pub const MIN_SCENARIO: Duration = Duration::from_secs(60);
/// The longest scenario: a month of virtual time (`duration = "1000d"` once ran forever).
pub const MAX_SCENARIO: Duration = Duration::from_secs(30 * 86_400);
/// Seconds in the longest scenario.
pub const MAX_SECONDS: u64 = MAX_SCENARIO.as_secs();
/// Capacities (RCU, WCU, autoscaler bounds) as in a policy: 1 (DynamoDB's minimum) to
/// `policy::bounds::MAX_UNITS`.
pub const MAX_UNITS: u32 = crate::policy::bounds::MAX_UNITS;
/// Demand of one workload point, units per second: ten times the largest capacity.
pub const MAX_DEMAND: u64 = 10 * MAX_UNITS as u64;
/// Tables in a scenario (as table rules in a policy).
pub const MAX_TABLES: usize = crate::policy::bounds::MAX_LISTED;
/// GSIs per table: DynamoDB's default quota ("Quotas in Amazon DynamoDB", 20 per table).
pub const MAX_INDEXES: usize = 20;
/// Workloads in a scenario, and points in one series.
pub const MAX_WORKLOADS: usize = 100;
pub const MAX_POINTS: usize = 1000;
/// Seconds an UpdateTable keeps a table UPDATING: capacity changes take seconds to minutes
/// (DynamoDB developer guide, "UpdateTable"); a day is far beyond any seen.
pub const MAX_UPDATE_SECONDS: u64 = 86_400;
/// Seconds after its minute a datapoint is published: CloudWatch accepts datapoints up to two
/// weeks old (PutMetricData, "Timestamp").
pub const MAX_METRIC_DELAY_SECONDS: u64 = 14 * 86_400;
/// Seconds from a message to the performers' clients changing: people, within a day.
pub const MAX_COMPLIANCE_SECONDS: u64 = 86_400;
/// Tiles per second the performers upload.
pub const MAX_TILES: u64 = 1_000_000;
/// An account's concurrency: Lambda's default is 1,000 (Lambda quotas, "Concurrent
/// executions"), raised on request; 100× covers any raise.
pub const MAX_ACCOUNT_CONCURRENCY: u32 = 100_000;
/// Mean seconds before a throttled invocation is retried: at most SQS's longest visibility
/// timeout, 12 hours (SQS quotas).
pub const MAX_RETRY_SECONDS: u64 = 43_200;
/// Functions in a scenario.
pub const MAX_FUNCTIONS: usize = 50;
/// Tiles one invocation takes: an SQS event-source mapping's largest batch is 10,000 (Lambda
/// developer guide, "BatchSize").
pub const MAX_TILES_PER_INVOCATION: u32 = 10_000;
/// A function's base duration, ms: Lambda bills in 1 ms steps and runs for at most 15 minutes.
pub const MIN_BASE_MS: u64 = 1;
pub const MAX_BASE_MS: u64 = 900_000;
/// Lambda memory: 128 MB to 10,240 MB (Lambda quotas, "Function memory allocation").
pub const MEMORY_MB: (u32, u32) = (128, 10_240);
/// Contention stretches a duration by at most this factor.
pub const MAX_RATIO: u64 = 1000;
/// Table units one invocation reads or writes.
pub const MAX_UNITS_PER_INVOCATION: u64 = 1000;

/// Ingest jobs in a scenario.
pub const MAX_JOBS: usize = 20;
/// A job's id: BOSS job ids are database keys; nine digits keep every queue name derived from
/// them within SQS's 80 characters (`policy::names::QUEUE_NAME_MAX`).
pub const MAX_JOB_ID: u64 = 999_999_999;
/// Tiles in one job: more than its workers could upload over the longest scenario at the
/// largest rate is pointless.
pub const MAX_JOB_TILES: u64 = MAX_TILES_TOTAL;
/// Table units one tile writes or reads.
pub const MAX_UNITS_PER_TILE: u64 = 100;
/// Datapoints in one series of a CloudWatch export: a month of 1-minute datapoints.
pub const MAX_EXPORT_POINTS: usize = (MAX_SECONDS / 60) as usize;

/// Tiles uploaded over the longest scenario; every function serves at most one invocation per
/// tile (tiles are conserved along the ingest path, throttled invocations are retried, not
/// duplicated), so this also bounds invocations, errors and tiles ingested.
pub const MAX_TILES_TOTAL: u64 = MAX_TILES * MAX_SECONDS;
/// Throttled table requests: every workload at its largest demand (general and hot key) all the
/// time, plus every function's table units for every invocation.
pub const MAX_THROTTLED_REQUESTS: u64 = MAX_SECONDS * MAX_WORKLOADS as u64 * 2 * MAX_DEMAND
    + MAX_FUNCTIONS as u64 * MAX_TILES_TOTAL * 2 * MAX_UNITS_PER_INVOCATION
    + MAX_JOBS as u64 * MAX_TILES_TOTAL * JOB_ATTEMPTS * 2 * MAX_UNITS_PER_TILE;
/// tileUploadLambda receives a tile-index message at most this often: the queue's dead-letter
/// queue takes it after 3 receives (ndingest `TileIndexQueue.createQueue`,
/// `addDeadLetterQueue(3)`). Each job uploads at most `MAX_TILES_TOTAL` tiles.
pub const JOB_ATTEMPTS: u64 = 3;
/// Lambda throttles: each second a function is offered its arrivals and at most what its
/// concurrency could run at the shortest duration from its backlog.
pub const MAX_LAMBDA_THROTTLES: u64 = MAX_FUNCTIONS as u64
    * (MAX_TILES_TOTAL + MAX_SECONDS * MAX_ACCOUNT_CONCURRENCY as u64 * 1000 / MIN_BASE_MS);

// Every printed count stays below 2^62: an `f64` total converts to `u64` without clamping.
const _: () = assert!(MAX_THROTTLED_REQUESTS < 1 << 62);
const _: () = assert!(MAX_LAMBDA_THROTTLES < 1 << 62);
const _: () = assert!(MAX_TILES_TOTAL < 1 << 62);
