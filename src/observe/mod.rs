//! The observe stage: table descriptions and one batched metrics fetch become an [`Observed`].

use crate::domain::observed::{
    DimensionObs, IngestJob, Observed, Point, ResourceObs, Series, Unobserved, Unread,
};
use crate::domain::resource::{Dimension, Resource};
use crate::policy::Policy;
mod deadline;
mod lambda;

pub use deadline::Deadline;
pub use lambda::observe_pause;

use crate::ports::{
    Functions, MetricQuery, MetricWindow, Metrics, Queues, Statistic, TableDescription, Tables,
};
use crate::time::Timestamp;
use futures_util::StreamExt as _;
use std::time::Duration;

const DYNAMODB: &str = "AWS/DynamoDB";

/// How far back to read metrics: enough for staleness judgements and the longest quiet window.
#[must_use]
pub fn lookback(policy: &Policy) -> Duration {
    let period = policy.controller.metric_period;
    let quiet = policy
        .tables
        .iter()
        .filter_map(|t| t.lower.map(|l| l.quiet_for))
        .max()
        .unwrap_or_default();
    quiet.max(policy.controller.stale_after) + period * 2
}

fn consumed_metric(dimension: Dimension) -> &'static str {
    match dimension {
        Dimension::Read => "ConsumedReadCapacityUnits",
        Dimension::Write => "ConsumedWriteCapacityUnits",
    }
}

fn throttle_metric(dimension: Dimension) -> &'static str {
    match dimension {
        Dimension::Read => "ReadThrottleEvents",
        Dimension::Write => "WriteThrottleEvents",
    }
}

fn dimensions(resource: &Resource) -> Vec<(String, String)> {
    let mut d = vec![("TableName".to_string(), resource.table.clone())];
    if let Some(index) = &resource.index {
        d.push(("GlobalSecondaryIndexName".to_string(), index.clone()));
    }
    d
}

/// Tables or ingest jobs read at once. A job reads its ingest queue, then its three other
/// queues together, so up to 3 × 16 GetQueueAttributes calls are in flight (48–50 measured by
/// `cargo bench --bench tick`): 500 jobs are read in seconds, far below SQS's API rate limits.
const CONCURRENT_CALLS: usize = 16;

/// Observes everything the policy asks for at `at`: tables, ingest jobs and functions are read
/// concurrently, each call answering by `deadline` or counted as unobserved (timed out).
pub async fn observe_all<M: Metrics, T: Tables, Q: Queues, F: Functions>(
    ports: (&M, &T, &Q, &F),
    policy: &Policy,
    at: Timestamp,
    deadline: Deadline,
) -> Observed {
    let (metrics, tables, queues, functions) = ports;
    let period = policy.controller.metric_period;
    let mut ingest = Observed::empty(at, period);
    let mut pause = Observed::empty(at, period);
    let (mut observed, (), ()) = tokio::join!(
        observe(metrics, tables, policy, at, deadline),
        observe_ingest(queues, policy, &mut ingest, deadline),
        observe_pause(metrics, queues, functions, policy, &mut pause, deadline),
    );
    observed.merge(ingest);
    observed.merge(pause);
    observed
}

/// Observes every table the policy governs at `at`. Tables that cannot be described, or whose
/// metrics cannot be read, are listed as unobserved with the reason; the rest is still observed.
pub async fn observe<M: Metrics, T: Tables>(
    metrics: &M,
    tables: &T,
    policy: &Policy,
    at: Timestamp,
    deadline: Deadline,
) -> Observed {
    let period = policy.controller.metric_period;
    let mut described: Vec<ResourceObsSkeleton> = Vec::new();
    let mut unobserved = Vec::new();
    let descriptions: Vec<_> = futures_util::stream::iter(&policy.tables)
        .map(|rule| async move {
            let result = deadline
                .call("DescribeTable", tables.describe(&rule.table_name))
                .await;
            (rule, result)
        })
        .buffered(CONCURRENT_CALLS)
        .collect()
        .await;
    for (rule, result) in descriptions {
        match result {
            Ok(desc) => {
                described.extend(skeletons(&desc, rule.include_gsis));
            }
            Err(e) => unobserved.push(Unobserved {
                subject: rule.table_name.clone(),
                reason: e.into(),
            }),
        }
    }
    let mut queries = Vec::new();
    for s in &described {
        for dimension in Dimension::BOTH {
            let dims = dimensions(&s.resource);
            queries.push(MetricQuery {
                namespace: DYNAMODB,
                metric: consumed_metric(dimension),
                dimensions: dims.clone(),
                statistic: Statistic::Sum,
            });
            queries.push(MetricQuery {
                namespace: DYNAMODB,
                metric: throttle_metric(dimension),
                dimensions: dims,
                statistic: Statistic::Sum,
            });
        }
    }
    let end = at.minute_floor();
    let window = MetricWindow {
        start: end.minus(lookback(policy)),
        end,
        period,
    };
    let series = if queries.is_empty() {
        Ok(Vec::new())
    } else {
        deadline
            .call("GetMetricData", metrics.fetch(&queries, window))
            .await
    };
    let mut resources = Vec::new();
    match series {
        Ok(series) if series.len() == queries.len() => {
            let mut it = series.into_iter();
            let per_second = period.as_secs_f64().max(1.0);
            for s in described {
                let mut dims = Vec::new();
                for dimension in Dimension::BOTH {
                    let consumed = it.next().unwrap_or_default();
                    let throttles = it.next().unwrap_or_default();
                    let consumed = Series {
                        points: consumed
                            .points
                            .iter()
                            .map(|p| Point {
                                start: p.start,
                                value: p.value / per_second,
                            })
                            .collect(),
                    };
                    let provisioned = s.throughput.map(|t| match dimension {
                        Dimension::Read => t.read,
                        Dimension::Write => t.write,
                    });
                    dims.push(DimensionObs {
                        provisioned,
                        autoscaling: s.autoscaling.get(dimension),
                        consumed,
                        throttle_events: throttles,
                    });
                }
                let write = dims.pop().unwrap_or_else(empty_dimension);
                let read = dims.pop().unwrap_or_else(empty_dimension);
                resources.push(ResourceObs {
                    resource: s.resource,
                    billing: s.billing,
                    status: s.status,
                    read,
                    write,
                });
            }
        }
        Ok(series) => {
            let reason = Unread::SeriesMismatch {
                got: series.len(),
                asked: queries.len(),
            };
            unobserved.extend(tables_of(&described).map(|subject| Unobserved {
                subject,
                reason: reason.clone(),
            }));
        }
        Err(e) => {
            unobserved.extend(tables_of(&described).map(|subject| Unobserved {
                subject,
                reason: e.clone().into(),
            }));
        }
    }
    resources.sort_by(|a, b| a.resource.cmp(&b.resource));
    unobserved.sort_by(|a, b| a.subject.cmp(&b.subject));
    Observed {
        resources,
        unobserved,
        ..Observed::empty(at, period)
    }
}

fn empty_dimension() -> DimensionObs {
    DimensionObs {
        provisioned: None,
        autoscaling: None,
        consumed: Series::default(),
        throttle_events: Series::default(),
    }
}

fn tables_of(described: &[ResourceObsSkeleton]) -> impl Iterator<Item = String> + '_ {
    let mut names: Vec<String> = described.iter().map(|s| s.resource.table.clone()).collect();
    names.dedup();
    names.into_iter()
}

/// What a description tells about one resource, before metrics are attached.
struct ResourceObsSkeleton {
    resource: Resource,
    billing: crate::domain::resource::BillingMode,
    status: crate::domain::resource::TableStatus,
    throughput: Option<crate::ports::Throughput>,
    autoscaling: crate::ports::Autoscaling,
}

fn skeletons(desc: &TableDescription, include_gsis: bool) -> Vec<ResourceObsSkeleton> {
    let mut out = vec![ResourceObsSkeleton {
        resource: Resource::table(&desc.name),
        billing: desc.billing,
        status: desc.status,
        throughput: desc.throughput,
        autoscaling: desc.autoscaling,
    }];
    if include_gsis {
        for index in &desc.indexes {
            out.push(ResourceObsSkeleton {
                resource: Resource::index(&desc.name, &index.name),
                billing: desc.billing,
                status: desc.status,
                throughput: index.throughput,
                autoscaling: index.autoscaling,
            });
        }
    }
    out
}

/// One job's ingest queue and, beside it (same account and region, so the same URL prefix),
/// its upload and tile-index queues. `None` for a queue listed but deleted since.
async fn observe_job<Q: Queues>(
    queues: &Q,
    policy: &Policy,
    ingest_url: &str,
    deadline: Deadline,
) -> Result<Option<IngestJob>, crate::domain::port_error::PortError> {
    let Some(job) = policy.domain.job_of_ingest_queue(ingest_url) else {
        return Ok(None);
    };
    let base = ingest_url
        .rsplit_once('/')
        .map_or(String::new(), |(base, _)| format!("{base}/"));
    let optional = |name: String| {
        let url = format!("{base}{name}");
        async move {
            match deadline
                .call("GetQueueAttributes", queues.depth(&url))
                .await
            {
                Ok(depth) => Ok(Some(depth)),
                Err(crate::domain::port_error::PortError::NotFound { .. }) => Ok(None),
                Err(e) => Err(e),
            }
        }
    };
    let Some(ingest) = optional(policy.domain.ingest_queue(job)).await? else {
        return Ok(None);
    };
    let (upload, index, index_dlq) = tokio::join!(
        optional(policy.domain.upload_queue(job)),
        optional(policy.domain.index_queue(job)),
        optional(format!("{}-dlq", policy.domain.index_queue(job)))
    );
    Ok(Some(IngestJob {
        job: job.to_string(),
        ingest,
        upload: upload?,
        index: index?,
        index_dlq: index_dlq?,
    }))
}

/// Adds the depth of every ingest job's queues (ingest, upload, tile-index and its dead-letter
/// queue), read when re-drive, drift detection, the alarms or a capacity feed-forward are on:
/// the re-drive rule judges them, a pause names the jobs, the alarms watch them, and the
/// capacity rule reads demand ahead from them. Failures are listed as unobserved; the
/// capacity rules go on.
pub async fn observe_ingest<Q: Queues>(
    queues: &Q,
    policy: &Policy,
    observed: &mut Observed,
    deadline: Deadline,
) {
    let feed_forward = policy.tables.iter().any(|t| t.feed_forward.is_some());
    if policy.redrive.enabled || policy.drift.enabled || policy.alarms.enabled || feed_forward {
        let prefix = policy.domain.ingest_queue_prefix();
        match deadline.call("ListQueues", queues.list(&prefix)).await {
            Ok(mut urls) => {
                // Started from a point that moves every minute: when the deadline cuts the
                // tail, a different tail is cut each tick, so no job goes unread for long.
                if !urls.is_empty() {
                    let start = usize::try_from(observed.at.0 / 60).unwrap_or(0) % urls.len();
                    urls.rotate_left(start);
                }
                let jobs: Vec<_> = futures_util::stream::iter(urls)
                    .map(|url| async move {
                        let job = observe_job(queues, policy, &url, deadline).await;
                        (url, job)
                    })
                    .buffered(CONCURRENT_CALLS)
                    .collect()
                    .await;
                let mut jobs = jobs;
                jobs.sort_by(|a, b| a.0.cmp(&b.0));
                for (url, job) in jobs {
                    match job {
                        Ok(Some(job)) => observed.jobs.push(job),
                        Ok(None) => {}
                        Err(e) => observed.unobserved.push(Unobserved {
                            subject: url,
                            reason: e.into(),
                        }),
                    }
                }
            }
            Err(e) => observed.unobserved.push(Unobserved {
                subject: format!("{prefix}*"),
                reason: e.into(),
            }),
        }
    }
    observed
        .unobserved
        .sort_by(|a, b| a.subject.cmp(&b.subject));
}
