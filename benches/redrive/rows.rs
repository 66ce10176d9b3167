//! One row of the table: `drive()` (or the 2017 tool's pattern) run on the controller thread,
//! with what the controller sent, what the loopback accepted, and the CPU it took.

use crate::cpu::{CpuHog, cpu_now};
use crate::lambda::{LoopbackLambda, max_in_window};
use crate::ports::{FakeQueues, NoMetrics, Stamped};
use crate::{CHUNK_KEY, FUNCTION, POLL_EVERY, SETTLE};
use remediator::domain::redrive::{Settings, Target};
use remediator::ports::Functions;
use remediator::redrive::pace::WINDOW;
use remediator::redrive::{self, Summary};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::task::JoinSet;

/// What a row is judged against.
#[derive(Debug, Clone, Copy)]
pub enum Goal {
    /// Within the tolerance (a share) of the rate, and no more than the window cap in any
    /// 100 ms.
    Paced(f64, f64),
    /// Above [`crate::FLOOD_GOAL`], and no more than the window cap of the rate in any 100 ms.
    Flood(f64),
    /// Shown for comparison.
    None,
}

/// What one row measured.
#[derive(Debug)]
pub struct Measured {
    pub label: String,
    pub goal: Goal,
    pub requested: String,
    /// Invocations the loopback accepted in this row, in acceptance order.
    pub times: Vec<Instant>,
    /// When the controller sent each Invoke of this row.
    sent: Vec<Instant>,
    cpu: Duration,
    pub wall: Duration,
    /// Invocations the controller saw fail or throttled.
    pub errors: u64,
    pub end: String,
}

impl Measured {
    pub fn achieved(&self) -> Option<f64> {
        let (first, last) = (self.times.first()?, self.times.last()?);
        let span = last.duration_since(*first).as_secs_f64();
        (self.times.len() > 1 && span > 0.0).then(|| (self.times.len() - 1) as f64 / span)
    }

    /// The rate over the first `k + 1` invocations.
    pub fn achieved_until(&self, k: usize) -> Option<f64> {
        let (first, kth) = (self.times.first()?, self.times.get(k)?);
        let span = kth.duration_since(*first).as_secs_f64();
        (k > 0 && span > 0.0).then(|| k as f64 / span)
    }

    pub fn window(&self) -> usize {
        max_in_window(&self.times, WINDOW)
    }

    pub fn sent_window(&self) -> usize {
        max_in_window(&self.sent, WINDOW)
    }

    pub fn cpu_per_1000_ms(&self) -> Option<f64> {
        (!self.times.is_empty())
            .then(|| self.cpu.as_secs_f64() * 1000.0 * 1000.0 / self.times.len() as f64)
    }
}

/// The re-drive settings of a row; the budget may wait for queue readings near its end.
pub fn settings(rate_per_s: f64, max_in_flight: u32, max: Option<u64>) -> Settings {
    Settings {
        rate_per_s,
        max_in_flight,
        max,
        no_progress_after: Duration::from_secs(60),
        poll_every: POLL_EVERY,
        settle: SETTLE,
    }
}

/// Everything the controller thread needs, shared by every row.
#[derive(Debug)]
pub struct Bench {
    pub lambda: Arc<LoopbackLambda>,
    pub functions: Stamped,
    pub target: Target,
}

impl Bench {
    /// Waits for the loopback to be idle, then runs `work` and collects what the loopback saw.
    async fn measure<T>(
        &self,
        label: String,
        goal: Goal,
        requested: String,
        work: impl Future<Output = T>,
        judge: impl FnOnce(&T) -> (u64, String),
    ) -> Measured {
        self.lambda.wait_idle(Duration::from_secs(10)).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let base = self.lambda.accepted_times().len();
        let sent_base = self.functions.sent_len();
        let (cpu0, wall0) = (cpu_now(), Instant::now());
        let out = work.await;
        let (cpu, wall) = (cpu_now().saturating_sub(cpu0), wall0.elapsed());
        self.lambda.wait_idle(Duration::from_secs(10)).await;
        let (errors, end) = judge(&out);
        Measured {
            label,
            goal,
            requested,
            times: self.lambda.accepted_times().split_off(base),
            sent: self.functions.sent_since(sent_base),
            cpu,
            wall,
            errors,
            end,
        }
    }

    /// One `drive()` over a fake queue of `total` messages, beside `hog` busy threads.
    pub async fn drive(
        &self,
        label: String,
        goal: Goal,
        settings: Settings,
        total: u64,
        stop_after: Option<Duration>,
        hog: usize,
    ) -> Measured {
        let queues = FakeQueues {
            lambda: Arc::clone(&self.lambda),
            base: self.lambda.accepted(),
            total,
        };
        let requested = format!("{}/s", settings.rate_per_s);
        let work = async {
            let _hog = (hog > 0).then(|| CpuHog::start(hog));
            let stop = async {
                match stop_after {
                    Some(after) => tokio::time::sleep(after).await,
                    None => std::future::pending().await,
                }
            };
            redrive::drive(
                &self.target,
                &settings,
                &queues,
                &self.functions,
                &NoMetrics,
                |_| {},
                stop,
            )
            .await
        };
        self.measure(label, goal, requested, work, |summary: &Summary| {
            (
                summary.progress.failed + summary.progress.throttled,
                summary.end.label().to_string(),
            )
        })
        .await
    }

    /// The 2017 tool: `batch` invocations at once, then sleep `pause`, `rounds` times.
    pub async fn burst_and_sleep(&self, batch: usize, pause: Duration, rounds: usize) -> Measured {
        let payload: Arc<[u8]> = redrive::payload::payload("7", CHUNK_KEY).into();
        let work = async {
            let mut errors = 0u64;
            for round in 0..rounds {
                let mut calls = JoinSet::new();
                for _ in 0..batch {
                    let functions = self.functions.clone();
                    let payload = Arc::clone(&payload);
                    calls.spawn(async move { functions.invoke_async(FUNCTION, &payload).await });
                }
                while let Some(done) = calls.join_next().await {
                    if !matches!(done, Ok(Ok(()))) {
                        errors += 1;
                    }
                }
                if round + 1 < rounds {
                    tokio::time::sleep(pause).await;
                }
            }
            errors
        };
        self.measure(
            "2017 tool".to_string(),
            Goal::None,
            format!("{batch} at once, {}s sleep", pause.as_secs()),
            work,
            |errors: &u64| (*errors, "done".to_string()),
        )
        .await
    }
}
