//! Many independent simulations (every controller over every scenario and seed) spread over a
//! few threads, each with its own single-threaded tokio runtime; the results come back in a
//! fixed order whatever order the runs finish in.

use super::runner::{ControllerKind, Summary, run};
use super::scenario::Scenario;
use super::seeds::{ScenarioRuns, SeedRun};
use crate::policy::Policy;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// One run that has just finished, for a progress display.
#[derive(Debug, Clone, Copy)]
pub struct Finished<'a> {
    /// Runs finished so far, this one included, and runs in all.
    pub done: usize,
    pub total: usize,
    pub scenario: &'a str,
    pub seed: u64,
    pub controller: &'static str,
}

/// Runs every controller in [`ControllerKind::ALL`] over each scenario at each seed (at its own
/// seed when `seeds` is `None`) on up to `threads` threads, calling `progress` as each run ends.
///
/// # Errors
/// A thread could not start its tokio runtime.
pub fn compare(
    scenarios: &[Scenario],
    seeds: Option<&[u64]>,
    policy: &Policy,
    threads: usize,
    progress: &(dyn Fn(Finished<'_>) + Sync),
) -> std::io::Result<Vec<ScenarioRuns>> {
    let variants: Vec<Vec<Scenario>> = scenarios
        .iter()
        .map(|s| {
            seeds.map_or_else(
                || vec![s.clone()],
                |seeds| {
                    seeds
                        .iter()
                        .map(|seed| Scenario {
                            seed: *seed,
                            ..s.clone()
                        })
                        .collect()
                },
            )
        })
        .collect();
    // (scenario, seed's place, controller): where each run's summary goes.
    let mut places: Vec<(usize, usize, ControllerKind)> = variants
        .iter()
        .enumerate()
        .flat_map(|(si, seeded)| {
            (0..seeded.len())
                .flat_map(move |vi| ControllerKind::ALL.iter().map(move |k| (si, vi, *k)))
        })
        .collect();
    // Longest first, so a day-long scenario does not start last and run alone.
    places.sort_by_key(|(si, _, _)| std::cmp::Reverse(scenarios[*si].duration));
    let jobs: Vec<(&Scenario, ControllerKind)> = places
        .iter()
        .map(|(si, vi, k)| (&variants[*si][*vi], *k))
        .collect();
    let results = run_all(&jobs, policy, threads, progress)?;
    let mut out: Vec<ScenarioRuns> = scenarios
        .iter()
        .zip(&variants)
        .map(|(s, seeded)| ScenarioRuns {
            scenario: s.name.clone(),
            job_driven: super::goal::job_driven(s),
            runs: seeded
                .iter()
                .map(|v| SeedRun {
                    seed: v.seed,
                    summaries: Vec::new(),
                })
                .collect(),
        })
        .collect();
    for ((si, vi, _), summary) in places.iter().zip(results) {
        out[*si].runs[*vi].summaries.push(summary);
    }
    for s in &mut out {
        for r in &mut s.runs {
            r.summaries.sort_by_key(|x| order(x.controller));
        }
    }
    Ok(out)
}

/// A controller's place in [`ControllerKind::ALL`], so rows come out in the usual order.
fn order(controller: &str) -> usize {
    ControllerKind::ALL
        .iter()
        .position(|k| k.name() == controller)
        .unwrap_or(usize::MAX)
}

/// Runs `jobs` on up to `threads` threads; the summaries come back in the jobs' order.
fn run_all(
    jobs: &[(&Scenario, ControllerKind)],
    policy: &Policy,
    threads: usize,
    progress: &(dyn Fn(Finished<'_>) + Sync),
) -> std::io::Result<Vec<Summary>> {
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Summary>>> = Mutex::new(vec![None; jobs.len()]);
    let threads = threads.clamp(1, jobs.len().max(1));
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| -> std::io::Result<()> {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()?;
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some((scenario, kind)) = jobs.get(i) else {
                            return Ok(());
                        };
                        let summary = runtime.block_on(run(scenario, policy, *kind)).summary;
                        results
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)[i] = Some(summary);
                        progress(Finished {
                            done: done.fetch_add(1, Ordering::Relaxed) + 1,
                            total: jobs.len(),
                            scenario: &scenario.name,
                            seed: scenario.seed,
                            controller: kind.name(),
                        });
                    }
                })
            })
            .collect();
        for worker in workers {
            // A panic in a run is a bug in the simulator: let it surface as one.
            match worker.join() {
                Ok(result) => result?,
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        Ok::<(), std::io::Error>(())
    })?;
    Ok(results
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .into_iter()
        .flatten()
        .collect())
}
