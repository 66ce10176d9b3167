//! The ranges a policy's durations and numbers must lie in, enforced by `check` and stated in
//! the README's policy reference.
//!
//! Every value here reaches arithmetic on time or money, so each has an upper bound as well as a
//! lower one: the largest accepted values, multiplied together as the controller does, stay far
//! from overflow (`Duration`, `u32` capacity, `f64` dollars).

use std::time::Duration;

/// The shortest tick: CloudWatch publishes DynamoDB metrics once a minute, so ticking faster
/// only spends API calls (a 1 ns interval made 433 calls in 15 s).
pub const MIN_INTERVAL: Duration = Duration::from_secs(10);
/// The longest tick: a controller that looks less than hourly is not watching a 3 a.m. ingest.
pub const MAX_INTERVAL: Duration = Duration::from_secs(3600);
/// The shortest duration of any kind, timeouts and settle times included: below it a timeout
/// fails every call and a window holds no evidence.
pub const MIN_DURATION: Duration = Duration::from_millis(100);
/// The longest duration: longer than any window a controller reasons about, and far from
/// overflowing time arithmetic.
pub const MAX_DURATION: Duration = Duration::from_secs(30 * 86_400);
/// CloudWatch's finest period for DynamoDB metrics; also the shortest raise cooldown (acting
/// again before a new datapoint acts on no news).
pub const METRIC_PERIOD: Duration = Duration::from_secs(60);
/// The longest metric period: DynamoDB publishes 1-minute data, and a longer period only delays
/// every reading.
pub const MAX_METRIC_PERIOD: Duration = Duration::from_secs(3600);
/// A chat webhook that has not answered within a minute will not; the tick waits for it.
pub const MAX_WEBHOOK_TIMEOUT: Duration = Duration::from_secs(60);
/// A Lambda duration baseline lies within what Lambda runs: 1 ms (its billing granularity) to
/// 15 minutes (its longest timeout, Lambda quotas "Function timeout").
pub const MIN_BASELINE: Duration = Duration::from_millis(1);
pub const MAX_BASELINE: Duration = Duration::from_secs(900);
/// AWS allows few capacity decreases a day (4, then one per hour without one), so lowering
/// waits at least this long.
pub const MIN_QUIET_FOR: Duration = Duration::from_secs(600);

/// The largest capacity (RCU or WCU) a floor, ceiling or step may name. DynamoDB's default
/// quotas are 40,000 units per table and 80,000 per account and Region ("Quotas in Amazon
/// DynamoDB"); both can be raised and AWS documents no hard maximum, so the bound is 25× the
/// per-table default: room for any raised quota, and where a mistyped extra zero or two stops
/// looking like a plan. A table and its 20 GSIs (the default GSI quota) at this bound, raised
/// by the largest factor, stay far below `u32::MAX`.
pub const MAX_UNITS: u32 = 1_000_000;
/// The largest raise factor.
pub const MAX_FACTOR: f64 = 4.0;
/// The most capacity units one tile may cost a table: a TileIndex item is far under the 400 KB
/// item limit, and 400 WCU is a 400 KB write.
pub const MAX_UNITS_PER_TILE: f64 = 400.0;
/// At most this many table rules, watched functions or Redis clusters: each is read every tick,
/// and a BOSS stack has five tables and three functions.
pub const MAX_LISTED: usize = 100;
/// The most actions per hour: with a 10 s interval that is 28 per tick.
pub const MAX_ACTIONS_PER_HOUR: u32 = 10_000;
/// The largest spend cap, USD per hour.
pub const MAX_EXTRA_COST_USD_PER_HOUR: f64 = 1_000_000.0;
/// The largest price per unit-hour, USD: 1,500× the us-east-1 list price of a WCU-hour.
pub const MAX_PRICE_USD_PER_UNIT_HOUR: f64 = 1.0;
/// The most throttle events per minute a raise threshold may name.
pub const MAX_THROTTLE_EVENTS_PER_MINUTE: f64 = 1e9;
/// The largest raise utilisation: burst credit lets consumption pass provisioned, not by 4×.
pub const MAX_UTILISATION: f64 = 4.0;
/// The most re-drive invocations in flight: 10× Lambda's default account concurrency (1,000).
pub const MAX_IN_FLIGHT: u32 = 10_000;
/// The largest drift ratio (duration over baseline).
pub const MAX_RATIO: f64 = 100.0;
/// An event-source mapping's MaximumConcurrency and a reserved concurrency lie in 2–1,000 and
/// 1–1,000 here (Lambda: MaximumConcurrency 2–1,000; reserved 0 would stop the function).
pub const MAX_FLOW_CONCURRENCY: u32 = 1000;

// A table and its 20 GSIs at the largest capacity, raised by the largest factor (4).
const _: () = assert!((MAX_UNITS as u64) * 21 * 4 < u32::MAX as u64);
