//! The re-drive loop: read the queue, invoke at the pace, collect Lambda's answers, stop when
//! the course says so. The only clock reads of a re-drive happen here.

use super::course::{Course, Next};
use super::pace::Pacer;
use super::{Progress, Summary, payload};
use crate::domain::observed::{QueueDepth, Series};
use crate::domain::port_error::PortError;
use crate::domain::redrive::{End, Settings, Target};
use crate::ports::{Functions, MetricQuery, MetricWindow, Metrics, Queues};
use crate::time::Timestamp;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinSet;
use tokio::time::{Instant, MissedTickBehavior, interval, sleep_until};

const REPORT_EVERY: Duration = Duration::from_secs(1);
/// Lambda publishes `Throttles` once a minute.
const THROTTLE_CHECK_EVERY: Duration = Duration::from_secs(60);
const ERRORS_LOOKBACK: Duration = Duration::from_secs(15 * 60);

/// A CloudWatch `Throttles` check under way: the newest minute with throttles, if any.
type ThrottleCheck<'a> = std::pin::Pin<Box<dyn Future<Output = Option<Timestamp>> + Send + 'a>>;

/// A queue reading under way, with the time it was asked for: invocations sent after that may
/// not show in it.
type Reading<'a> =
    std::pin::Pin<Box<dyn Future<Output = (Result<QueueDepth, PortError>, Instant)> + Send + 'a>>;

/// Counts that the course does not keep.
#[derive(Debug, Default)]
struct Tally {
    throttled: u64,
    failed: u64,
    last_error: Option<String>,
}

/// Re-drives `target` until it is drained, `settings.max` is reached, no progress is made for
/// `settings.no_progress_after`, an error needs a person, or `stop` completes. `report` gets a
/// snapshot every second and at the end.
pub async fn drive<Q, F, M>(
    target: &Target,
    settings: &Settings,
    queues: &Q,
    functions: &F,
    metrics: &M,
    mut report: impl FnMut(&Progress),
    stop: impl Future<Output = ()>,
) -> Summary
where
    Q: Queues + Sync,
    F: Functions + Clone + Send + Sync + 'static,
    M: Metrics + Sync,
{
    let started = Instant::now();
    let started_at = Timestamp::now();
    let mut course = Course::new(
        settings.max,
        settings.no_progress_after,
        settings.settle,
        started,
    );
    let mut pacer = Pacer::new(settings.rate_per_s, started);
    let mut tally = Tally::default();
    let finish = |course: &Course, pacer: &Pacer, tally: &Tally, end: End| Summary {
        target: target.clone(),
        started: started_at,
        ended: Timestamp::now(),
        progress: progress(course, pacer, tally, started),
        end,
    };

    let payload = match first_payload(target, queues, &mut course).await {
        Ok(payload) => payload,
        Err(end) => {
            let summary = finish(&course, &pacer, &tally, end);
            report(&summary.progress);
            return summary;
        }
    };
    let function: Arc<str> = target.function.as_str().into();
    let mut in_flight: JoinSet<(u64, Result<(), PortError>)> = JoinSet::new();
    let mut reads = interval(settings.poll_every);
    reads.set_missed_tick_behavior(MissedTickBehavior::Delay);
    reads.reset();
    let mut reports = interval(REPORT_EVERY);
    reports.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut throttle_checks = interval(THROTTLE_CHECK_EVERY);
    throttle_checks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    // Throttles from before this re-drive are the pipeline's own, not a reaction to it.
    let mut newest_throttle_minute: Option<Timestamp> = Some(Timestamp::now().minute_floor());
    let mut throttle_check: Option<ThrottleCheck<'_>> = None;
    let max_in_flight = usize::try_from(settings.max_in_flight).unwrap_or(usize::MAX);
    let mut stop = std::pin::pin!(stop);
    let mut reading: Option<Reading<'_>> = None;
    // Whether the last pass could not send. The pacer catches up a late wake-up but not a
    // spell with nothing to send: it hears when sending resumes. True at first, as reading the
    // queue and peeking a message took time.
    let mut idle = true;

    let end = loop {
        let can_send = course.may_send() && in_flight.len() < max_in_flight;
        if can_send && idle {
            pacer.idle_until(Instant::now());
        }
        idle = !can_send;
        let due = pacer.due();
        tokio::select! {
            biased;
            () = &mut stop => break End::Interrupted,
            Some(joined) = in_flight.join_next(), if !in_flight.is_empty() => {
                if let Some(end) = answer(joined, &mut course, &mut pacer, &mut tally) {
                    break end;
                }
            }
            Some((depth, asked_at)) = finish_side(&mut reading), if reading.is_some() => {
                reading = None;
                match depth {
                    Ok(depth) => {
                        if let Next::Stop(end) = course.read(depth, asked_at) {
                            break end;
                        }
                    }
                    Err(e @ PortError::NotFound { .. }) => break End::Failed {
                        error: format!("the queue is gone ({e}): was the job completed or deleted?"),
                    },
                    Err(e) if e.is_transient() => {
                        tracing::warn!(queue = %target.queue, "queue reading failed, carrying on: {e}");
                        tally.last_error = Some(e.to_string());
                        if let Next::Stop(end) = course.stalled(Instant::now()) {
                            break end;
                        }
                    }
                    Err(e) => break End::Failed { error: e.to_string() },
                }
                if pacer.recover(Instant::now()) {
                    tracing::debug!(queue = %target.queue, "pace back up to {:.1}/s", pacer.rate());
                }
                if course.max_reached() && in_flight.is_empty() {
                    break End::MaxReached;
                }
            }
            // Reads run beside the invocations: a slow GetQueueAttributes must not pause the pace.
            _ = reads.tick(), if reading.is_none() => {
                let asked_at = Instant::now();
                let url = target.queue_url.as_str();
                reading = Some(Box::pin(async move { (queues.depth(url).await, asked_at) }));
            }
            _ = reports.tick() => report(&progress(&course, &pacer, &tally, started)),
            Some(minute) = finish_side(&mut throttle_check), if throttle_check.is_some() => {
                throttle_check = None;
                if let Some(minute) = minute
                    && newest_throttle_minute.is_none_or(|seen| minute > seen)
                {
                    newest_throttle_minute = Some(minute);
                    tracing::warn!(function = %target.function, "Lambda reports Throttles in the minute from {minute}: slowing down until the next minute's figure");
                    // For asynchronous invocations this is the real signal (Lambda queues the
                    // events rather than answering 429): hold the lower pace a full minute.
                    pacer.throttled(Instant::now());
                    pacer.hold(Instant::now() + THROTTLE_CHECK_EVERY);
                }
            }
            _ = throttle_checks.tick(), if throttle_check.is_none() => {
                let function = target.function.as_str();
                throttle_check = Some(Box::pin(throttled_minute(metrics, function)));
            }
            () = sleep_until(due), if can_send => {
                let id = course.sent(Instant::now());
                let functions = functions.clone();
                let function = Arc::clone(&function);
                let payload = Arc::clone(&payload);
                in_flight.spawn(async move { (id, functions.invoke_async(&function, &payload).await) });
                // The pacer counts the call once it has started (the yield lets the new task
                // run up to its request): when catching up, calls queued behind each other
                // would otherwise leave later than the times the window cap counted, and a
                // window could carry more than the cap.
                tokio::task::yield_now().await;
                pacer.sent(Instant::now());
            }
        }
    };
    // Invocations already sent were made; their answers still count.
    while let Some(joined) = in_flight.join_next().await {
        answer(joined, &mut course, &mut pacer, &mut tally);
    }
    let end = match end {
        End::NoProgress { stalled_s, .. } => End::NoProgress {
            stalled_s,
            function_errors: recent_errors(metrics, &target.function).await,
        },
        other => other,
    };
    let summary = finish(&course, &pacer, &tally, end);
    report(&summary.progress);
    summary
}

/// Awaits a side call (queue reading, CloudWatch check) kept beside the loop; `None` when there
/// is none under way. The call stays in its slot if the loop picks another branch first.
async fn finish_side<F: Future + Unpin>(slot: &mut Option<F>) -> Option<F::Output> {
    match slot.as_mut() {
        Some(call) => Some(call.await),
        None => None,
    }
}

/// Reads the queue once and one chunk key from it, or says why there is nothing to do.
async fn first_payload<Q: Queues>(
    target: &Target,
    queues: &Q,
    course: &mut Course,
) -> Result<Arc<[u8]>, End> {
    let failed = |e: PortError| End::Failed {
        error: e.to_string(),
    };
    let depth = queues.depth(&target.queue_url).await.map_err(failed)?;
    if depth.visible == 0 {
        return Err(End::NothingVisible {
            in_flight: depth.in_flight + depth.delayed,
        });
    }
    let visible = depth.visible;
    course.read(depth, Instant::now());
    let body = queues
        .peek(&target.queue_url)
        .await
        .map_err(failed)?
        .ok_or_else(|| End::Failed {
            error: format!(
                "SQS counts {visible} visible message(s) but a 2 s receive got none; try again in a moment"
            ),
        })?;
    let key = payload::chunk_key(&body).map_err(|e| End::Failed {
        error: format!("a message of {}: {e}", target.queue),
    })?;
    Ok(payload::payload(&target.job, &key).into())
}

/// Takes Lambda's answer to one invocation; `Some` when the re-drive must stop.
fn answer(
    joined: Result<(u64, Result<(), PortError>), tokio::task::JoinError>,
    course: &mut Course,
    pacer: &mut Pacer,
    tally: &mut Tally,
) -> Option<End> {
    let (id, error) = match joined {
        Ok((_, Ok(()))) => return None,
        Ok((id, Err(e))) => (id, e),
        Err(join) => {
            // The task died before or after its call: the invocation may have been queued, so
            // it stays counted against the budget until a reading or the settle time says so.
            tally.failed += 1;
            tally.last_error = Some(join.to_string());
            return None;
        }
    };
    course.not_accepted(id);
    match error {
        PortError::Throttled { .. } => {
            tally.throttled += 1;
            pacer.throttled(Instant::now());
            None
        }
        e if e.is_transient() => {
            tally.failed += 1;
            if tally.last_error.as_deref() != Some(&e.to_string()) {
                tracing::warn!("invocation failed, its message waits for the next: {e}");
            }
            tally.last_error = Some(e.to_string());
            None
        }
        e => {
            tally.failed += 1;
            Some(End::Failed {
                error: e.to_string(),
            })
        }
    }
}

fn progress(course: &Course, pacer: &Pacer, tally: &Tally, started: Instant) -> Progress {
    let elapsed = started.elapsed().as_secs_f64();
    let last = course.last();
    let remaining = last.map_or(0, crate::domain::observed::QueueDepth::total);
    let drained = course.drained();
    #[allow(clippy::cast_precision_loss)]
    let per_s = |n: u64| {
        if elapsed > 0.0 {
            n as f64 / elapsed
        } else {
            0.0
        }
    };
    // From the pace, not from how fast the queue's lagging count has fallen: the messages not
    // yet taken, at the rate invocations are being sent.
    #[allow(clippy::cast_precision_loss)]
    let eta_s = (last.is_some() && pacer.rate() > 0.0).then(|| course.left() as f64 / pacer.rate());
    Progress {
        elapsed_s: (elapsed * 10.0).round() / 10.0,
        invoked: course.invoked(),
        throttled: tally.throttled,
        failed: tally.failed,
        visible: last.map_or(0, |d| d.visible),
        in_flight: last.map_or(0, |d| d.in_flight),
        remaining,
        drained,
        rate_per_s: (per_s(course.invoked()) * 100.0).round() / 100.0,
        pace_per_s: pacer.rate(),
        eta_s: eta_s.map(f64::round),
        last_error: tally.last_error.clone(),
    }
}

fn function_query(function: &str, metric: &'static str) -> MetricQuery {
    MetricQuery {
        namespace: "AWS/Lambda",
        metric,
        dimensions: vec![("FunctionName".to_string(), function.to_string())],
        statistic: crate::ports::Statistic::Sum,
    }
}

async fn function_series<M: Metrics>(
    metrics: &M,
    function: &str,
    metric: &'static str,
    lookback: Duration,
) -> Option<Series> {
    let end = Timestamp::now().minute_floor();
    let window = MetricWindow {
        start: end.minus(lookback),
        end,
        period: Duration::from_secs(60),
    };
    match metrics
        .fetch(&[function_query(function, metric)], window)
        .await
    {
        Ok(mut series) => series.pop(),
        Err(e) => {
            tracing::warn!(%function, "cannot read {metric}: {e}");
            None
        }
    }
}

/// The newest minute with Lambda `Throttles` above zero in the last five minutes.
async fn throttled_minute<M: Metrics>(metrics: &M, function: &str) -> Option<Timestamp> {
    let series = function_series(metrics, function, "Throttles", Duration::from_secs(300)).await?;
    series
        .points
        .iter()
        .rev()
        .find(|p| p.value > 0.0)
        .map(|p| p.start)
}

/// The function's `Errors` over the last 15 minutes; `None` without data.
async fn recent_errors<M: Metrics>(metrics: &M, function: &str) -> Option<f64> {
    let series = function_series(metrics, function, "Errors", ERRORS_LOOKBACK).await?;
    (!series.points.is_empty()).then(|| series.points.iter().map(|p| p.value).sum())
}
