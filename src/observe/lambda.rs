//! What the pause and alarm rules read: each watched Lambda function (configuration,
//! concurrency ceiling, and its Duration, Invocations, Errors, Throttles and
//! ConcurrentExecutions minutes), the Redis clusters the policy names, the stack's page-out
//! dead-letter queue, and the flow-control function's event-source mappings.

use super::Deadline;
use crate::domain::observed::{CacheObs, FunctionObs, Observed, Series, Unobserved};
use crate::domain::port_error::PortError;
use crate::policy::{FlowLever, Policy};
use crate::ports::{Functions, MetricQuery, MetricWindow, Metrics, Queues, Statistic};
use std::time::Duration;

const LAMBDA: &str = "AWS/Lambda";
const ELASTICACHE: &str = "AWS/ElastiCache";

/// The Lambda metrics read per function, in the order [`FunctionObs`] takes them.
const FUNCTION_METRICS: [(&str, Statistic); 5] = [
    ("Duration", Statistic::Average),
    ("Invocations", Statistic::Sum),
    ("Errors", Statistic::Sum),
    ("Throttles", Statistic::Sum),
    ("ConcurrentExecutions", Statistic::Maximum),
];

/// Functions to watch, sorted and unique, and whether each needs its configuration and
/// concurrency (drift functions, for the capacity rule; the function whose reserved concurrency
/// flow control sets, to know what to put back) or only its metrics (the re-drive's function,
/// whose errors hold the automatic re-drive, and tileIngestLambda for the alarms). A function
/// watched for metrics only is never reported missing: CloudWatch simply has no minutes for it.
#[must_use]
pub fn watched_functions(policy: &Policy) -> Vec<(String, bool)> {
    let mut names: Vec<(String, bool)> = Vec::new();
    if policy.drift.enabled {
        names.extend(policy.drift.functions.iter().map(|f| (f.clone(), true)));
    }
    if let Some(fc) = &policy.signals.flow_control
        && fc.lever == FlowLever::ReservedConcurrency
    {
        names.push((fc.function.clone(), true));
    }
    if policy.redrive.enabled {
        names.push((policy.redrive.function.clone(), false));
    }
    if policy.alarms.enabled {
        names.push((policy.domain.function("tileIngestLambda"), false));
    }
    // Configured entries first, so dedup keeps them.
    names.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    names.dedup_by(|a, b| a.0 == b.0);
    names
}

/// How far back the pause rules look: two sustained windows (one to judge, one to compare),
/// the growth window, and the staleness allowance.
#[must_use]
pub fn lookback(policy: &Policy) -> Duration {
    (policy.drift.sustained_for * 2).max(policy.alarms.growing_for)
        + policy.controller.stale_after
        + policy.controller.metric_period * 2
}

/// Adds functions, caches, the page-out dead-letter queue and mappings to `observed`.
/// Anything that cannot be read is listed as unobserved; the rest is still observed.
pub async fn observe_pause<M: Metrics, Q: Queues, F: Functions>(
    metrics: &M,
    queues: &Q,
    functions: &F,
    policy: &Policy,
    observed: &mut Observed,
    deadline: Deadline,
) {
    let names = watched_functions(policy);
    let mut found = Vec::new();
    // The configurations, reservations and the account's limit are read concurrently; the
    // account's limit is read once, and only used for functions without a reservation.
    let configured: Vec<&String> = names.iter().filter(|(_, c)| *c).map(|(n, _)| n).collect();
    let (readings, account) = tokio::join!(
        futures_util::future::join_all(configured.iter().map(|name| async move {
            tokio::join!(
                deadline.call("GetFunctionConfiguration", functions.configuration(name)),
                deadline.call(
                    "GetFunctionConcurrency",
                    functions.reserved_concurrency(name)
                ),
            )
        })),
        async {
            if configured.is_empty() {
                None
            } else {
                Some(
                    deadline
                        .call("GetAccountSettings", functions.account_concurrency())
                        .await,
                )
            }
        }
    );
    let mut readings = configured.into_iter().zip(readings);
    for (name, configured) in &names {
        if !configured {
            found.push(metrics_only(name));
            continue;
        }
        let Some((_, (config, reservation))) = readings.next() else {
            continue;
        };
        let config = match config {
            Ok(config) => config,
            Err(e) => {
                // A function that does not exist runs nothing and cannot drift: it is reported,
                // and judged on its (absent) metrics rather than holding every pause open.
                if matches!(e, PortError::NotFound { .. }) {
                    found.push(metrics_only(name));
                }
                unobserved(observed, name, &e);
                continue;
            }
        };
        let (reserved, reservation_read) = match reservation {
            Ok(r) => (r, true),
            Err(e) => {
                unobserved(observed, &format!("{name} reserved concurrency"), &e);
                (None, false)
            }
        };
        let limit = match reserved {
            Some(r) => Some(r),
            None => match &account {
                Some(Ok(n)) => Some(*n),
                _ => None,
            },
        };
        found.push(FunctionObs {
            name: name.clone(),
            timeout: Some(config.timeout),
            reserved_concurrency: reserved,
            reservation_read,
            concurrency_limit: limit,
            duration_ms: Series::default(),
            invocations: Series::default(),
            errors: Series::default(),
            throttles: Series::default(),
            concurrent: Series::default(),
        });
    }
    // Without the account's limit only the capacity rule goes blind (its verdict says so);
    // durations are still judged, so this is a warning, not a failed observation.
    let needed = found
        .iter()
        .any(|f| f.timeout.is_some() && f.reserved_concurrency.is_none());
    if let Some(Err(e)) = account.as_ref().filter(|_| needed) {
        tracing::warn!(
            "Lambda GetAccountSettings failed, the capacity rule cannot judge functions without reserved concurrency: {e}"
        );
    }
    let clusters = if policy.alarms.enabled {
        policy.alarms.redis_clusters.clone()
    } else {
        Vec::new()
    };
    let mut queries = Vec::new();
    for f in &found {
        for (metric, statistic) in FUNCTION_METRICS {
            queries.push(MetricQuery {
                namespace: LAMBDA,
                metric,
                dimensions: vec![("FunctionName".to_string(), f.name.clone())],
                statistic,
            });
        }
    }
    for cluster in &clusters {
        queries.push(MetricQuery {
            namespace: ELASTICACHE,
            metric: "EngineCPUUtilization",
            dimensions: vec![("CacheClusterId".to_string(), cluster.clone())],
            statistic: Statistic::Maximum,
        });
    }
    if !queries.is_empty() {
        let end = observed.at.minute_floor();
        let window = MetricWindow {
            start: end.minus(lookback(policy)),
            end,
            period: policy.controller.metric_period,
        };
        match deadline
            .call("GetMetricData", metrics.fetch(&queries, window))
            .await
        {
            Ok(series) if series.len() == queries.len() => {
                let mut it = series.into_iter();
                for f in &mut found {
                    f.duration_ms = it.next().unwrap_or_default();
                    f.invocations = it.next().unwrap_or_default();
                    f.errors = it.next().unwrap_or_default();
                    f.throttles = it.next().unwrap_or_default();
                    f.concurrent = it.next().unwrap_or_default();
                }
                for cluster in clusters {
                    observed.caches.push(CacheObs {
                        cluster,
                        engine_cpu: it.next().unwrap_or_default(),
                    });
                }
                observed.functions = found;
            }
            Ok(series) => {
                let reason = crate::domain::observed::Unread::SeriesMismatch {
                    got: series.len(),
                    asked: queries.len(),
                };
                for f in &found {
                    observed.unobserved.push(Unobserved {
                        subject: f.name.clone(),
                        reason: reason.clone(),
                    });
                }
            }
            Err(e) => {
                for f in &found {
                    unobserved(observed, &f.name, &e);
                }
                for cluster in &clusters {
                    unobserved(observed, cluster, &e);
                }
            }
        }
    }
    if policy.alarms.enabled {
        let name = policy.domain.deadletter_queue();
        match deadline.call("GetQueueUrl", queues.url(&name)).await {
            Ok(url) => match deadline
                .call("GetQueueAttributes", queues.depth(&url))
                .await
            {
                Ok(depth) => observed.deadletter = Some(depth),
                Err(PortError::NotFound { .. }) => {}
                Err(e) => unobserved(observed, &name, &e),
            },
            Err(PortError::NotFound { .. }) => {}
            Err(e) => unobserved(observed, &name, &e),
        }
    }
    if let Some(fc) = &policy.signals.flow_control
        && fc.lever == FlowLever::EventSourceMapping
    {
        match deadline
            .call(
                "ListEventSourceMappings",
                functions.event_source_mappings(&fc.function),
            )
            .await
        {
            Ok(mut mappings) => {
                mappings.sort_by(|a, b| a.queue.cmp(&b.queue).then(a.uuid.cmp(&b.uuid)));
                observed.mappings = Some(mappings);
            }
            Err(e) => unobserved(
                observed,
                &format!("{} event-source mappings", fc.function),
                &e,
            ),
        }
    }
    observed
        .unobserved
        .sort_by(|a, b| a.subject.cmp(&b.subject));
}

fn unobserved(observed: &mut Observed, subject: &str, error: &PortError) {
    observed.unobserved.push(Unobserved {
        subject: subject.to_string(),
        reason: error.clone().into(),
    });
}

/// A function read for its metrics only: no configuration, no concurrency.
fn metrics_only(name: &str) -> FunctionObs {
    FunctionObs {
        name: name.to_string(),
        timeout: None,
        reserved_concurrency: None,
        reservation_read: false,
        concurrency_limit: None,
        duration_ms: Series::default(),
        invocations: Series::default(),
        errors: Series::default(),
        throttles: Series::default(),
        concurrent: Series::default(),
    }
}
