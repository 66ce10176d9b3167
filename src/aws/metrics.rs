//! CloudWatch adapter for the [`Metrics`] port: every query of a tick in one GetMetricData
//! batch (500 queries a call, the API's limit), paginated, each query with its own statistic
//! (`Sum`, `Average` or `Maximum`) per period.

use super::classify;
use crate::domain::observed::{Point, Series};
use crate::domain::port_error::PortError;
use crate::ports::{MetricQuery, MetricWindow, Metrics};
use crate::time::Timestamp;
use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{
    Dimension, Metric, MetricDataQuery, MetricStat, ScanBy, StatusCode,
};
use std::collections::BTreeMap;

/// GetMetricData accepts at most this many queries per call.
pub const MAX_QUERIES_PER_CALL: usize = 500;

#[derive(Debug, Clone)]
pub struct CloudWatchMetrics {
    client: Client,
}

impl CloudWatchMetrics {
    #[must_use]
    pub fn new(client: Client) -> Self {
        Self { client }
    }
}

fn port_error(message: String) -> PortError {
    PortError::Permanent {
        service: "CloudWatch",
        operation: "GetMetricData",
        message,
    }
}

fn to_sdk_query(id: String, q: &MetricQuery, period: i32) -> MetricDataQuery {
    let dimensions = q
        .dimensions
        .iter()
        .map(|(name, value)| Dimension::builder().name(name).value(value).build())
        .collect();
    let metric = Metric::builder()
        .namespace(q.namespace)
        .metric_name(q.metric)
        .set_dimensions(Some(dimensions))
        .build();
    let stat = MetricStat::builder()
        .metric(metric)
        .period(period)
        .stat(q.statistic.name())
        .build();
    MetricDataQuery::builder()
        .id(id)
        .metric_stat(stat)
        .return_data(true)
        .build()
}

impl Metrics for CloudWatchMetrics {
    async fn fetch(
        &self,
        queries: &[MetricQuery],
        window: MetricWindow,
    ) -> Result<Vec<Series>, PortError> {
        let period = i32::try_from(window.period.as_secs())
            .map_err(|_| port_error(format!("period {:?} is too long", window.period)))?;
        let start = DateTime::from_secs(i64::try_from(window.start.0).unwrap_or(i64::MAX));
        let end = DateTime::from_secs(i64::try_from(window.end.0).unwrap_or(i64::MAX));
        // Query ids must start with a lowercase letter; the index maps results back.
        let mut points: BTreeMap<usize, Vec<Point>> = BTreeMap::new();
        for (chunk_no, chunk) in queries.chunks(MAX_QUERIES_PER_CALL).enumerate() {
            let base = chunk_no * MAX_QUERIES_PER_CALL;
            let sdk_queries = chunk
                .iter()
                .enumerate()
                .map(|(i, q)| to_sdk_query(format!("q{}", base + i), q, period))
                .collect::<Vec<_>>();
            let mut next_token: Option<String> = None;
            loop {
                let out = self
                    .client
                    .get_metric_data()
                    .set_metric_data_queries(Some(sdk_queries.clone()))
                    .start_time(start)
                    .end_time(end)
                    .scan_by(ScanBy::TimestampAscending)
                    .set_next_token(next_token.take())
                    .send()
                    .await
                    .map_err(|e| classify("CloudWatch", "GetMetricData", "metrics", &e))?;
                for result in out.metric_data_results() {
                    // A query can fail on its own (Forbidden, InternalError) while the call
                    // succeeds; an empty series would read as "no throttling".
                    if matches!(
                        result.status_code(),
                        Some(StatusCode::Forbidden | StatusCode::InternalError)
                    ) {
                        return Err(PortError::Transient {
                            service: "CloudWatch",
                            operation: "GetMetricData",
                            message: format!(
                                "query {} failed: {:?}",
                                result.id().unwrap_or("?"),
                                result.status_code()
                            ),
                        });
                    }
                    let Some(index) = result
                        .id()
                        .and_then(|id| id.strip_prefix('q'))
                        .and_then(|n| n.parse::<usize>().ok())
                    else {
                        continue;
                    };
                    let entry = points.entry(index).or_default();
                    for (t, v) in result.timestamps().iter().zip(result.values()) {
                        let secs = u64::try_from(t.secs()).unwrap_or(0);
                        entry.push(Point {
                            start: Timestamp(secs),
                            value: *v,
                        });
                    }
                }
                next_token = out.next_token().map(str::to_string);
                if next_token.is_none() {
                    break;
                }
            }
        }
        Ok((0..queries.len())
            .map(|i| {
                let mut pts = points.remove(&i).unwrap_or_default();
                pts.sort_by_key(|p| p.start);
                pts.dedup_by_key(|p| p.start);
                Series { points: pts }
            })
            .collect())
    }
}
