//! The bench's printed tables: wall time, CPU and calls per job count, HTTP requests by
//! operation, and every tick that missed a job, left something unobserved or outlasted the
//! interval.

use crate::{Row, Run};
use remediator::faults::Op;
use remediator::policy::Policy;
use remediator::reconcile::observe_budget;
use remediator::time::human;
use std::collections::BTreeMap;
use std::time::Duration;

/// The columns of the summary: operations the issue names, Lambda's together, the rest.
const GROUPS: [(&str, &[Op]); 5] = [
    ("DescribeTable", &[Op::DescribeTable]),
    ("GetMetricData", &[Op::GetMetricData]),
    ("ListQueues", &[Op::ListQueues]),
    ("GetQueueUrl", &[Op::GetQueueUrl]),
    ("GetQueueAttributes", &[Op::GetQueueAttributes]),
];
const LAMBDA_OPS: [Op; 3] = [
    Op::GetFunctionConfiguration,
    Op::GetFunctionConcurrency,
    Op::GetAccountSettings,
];

/// The counts of one column over a row's runs: one number when every run agrees, else a range.
fn spread(values: impl Iterator<Item = usize>) -> String {
    let values: Vec<usize> = values.collect();
    let (min, max) = (
        values.iter().min().copied().unwrap_or(0),
        values.iter().max().copied().unwrap_or(0),
    );
    if min == max {
        min.to_string()
    } else {
        format!("{min}-{max}")
    }
}

fn count(run: &Run, ops: &[Op]) -> usize {
    ops.iter()
        .map(|op| run.calls.get(op.names().1).copied().unwrap_or(0))
        .sum()
}

/// Prints the tables; whether every tick read everything within the budget.
pub fn report(endpoint: &str, policy: &Policy, rows: &[Row]) -> bool {
    let interval = policy.controller.interval;
    let budget = observe_budget(interval);
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load = load
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ");
    let runs = rows.first().map_or(0, |r| r.runs.len());
    println!();
    println!(
        "one `plan` tick against moto at {endpoint}: {} table rule(s), {} drift function(s), \
         re-drive and alarms on; {runs} timed ticks per row after one untimed; load average {load}",
        policy.tables.len(),
        policy.drift.functions.len(),
    );
    println!(
        "observation budget in force: {} of the {} interval; a call still unanswered then is \
         abandoned as `unobserved: timed out`",
        human(budget),
        human(interval)
    );
    println!();
    let mut header = format!(
        "{:>5} {:>9} {:>9} {:>6} {:>6}",
        "jobs", "median ms", "max ms", "CPU ms", "calls"
    );
    for (name, _) in GROUPS {
        header.push_str(&format!(" {name:>w$}", w = name.len().max(5)));
    }
    header.push_str(&format!(
        " {:>6} {:>6} {:>5} {:>9} {:>10} {:>9}",
        "Lambda", "other", "HTTP", "in flight", "unobserved", "timed out"
    ));
    println!("{header}");
    let grouped: Vec<Op> = GROUPS
        .iter()
        .flat_map(|(_, ops)| ops.iter().copied())
        .chain(LAMBDA_OPS)
        .collect();
    for row in rows {
        let mut walls: Vec<Duration> = row.runs.iter().map(|r| r.wall).collect();
        walls.sort();
        let median = walls.get(walls.len() / 2).copied().unwrap_or_default();
        let max = walls.last().copied().unwrap_or_default();
        let mut cpus: Vec<Duration> = row.runs.iter().filter_map(|r| r.cpu).collect();
        cpus.sort();
        let cpu = cpus
            .get(cpus.len() / 2)
            .map_or_else(|| "-".to_string(), |c| c.as_millis().to_string());
        let all = |f: &dyn Fn(&Run) -> usize| spread(row.runs.iter().map(f));
        let mut line = format!(
            "{:>5} {:>9} {:>9} {:>6} {:>6}",
            row.jobs,
            median.as_millis(),
            max.as_millis(),
            cpu,
            all(&|r| r.calls.values().sum())
        );
        for (name, ops) in GROUPS {
            line.push_str(&format!(
                " {:>w$}",
                all(&|r| count(r, ops)),
                w = name.len().max(5)
            ));
        }
        line.push_str(&format!(
            " {:>6} {:>6} {:>5} {:>9} {:>10} {:>9}",
            all(&|r| count(r, &LAMBDA_OPS)),
            all(&|r| r.calls.values().sum::<usize>() - count(r, &grouped)),
            all(&|r| r.http.values().sum()),
            all(&|r| r.peak_in_flight),
            all(&|r| r.unobserved.len()),
            all(&|r| r.timed_out),
        ));
        println!("{line}");
    }
    println!(
        "CPU ms: this process's CPU in the tick (median); calls: port calls (Faulty); Lambda: configuration, concurrency and account reads; \
         HTTP: requests sent (SDK interceptor, retries and pages included); in flight: most \
         HTTP requests at once; a-b: the range over the timed ticks"
    );
    println!();
    print_http(rows);
    let problems = problems(rows, interval);
    for p in &problems {
        println!("PROBLEM: {p}");
    }
    if problems.is_empty() {
        println!(
            "every tick observed every job, nothing unobserved, nothing cut by the {} budget",
            human(budget)
        );
    }
    problems.is_empty()
}

/// Ticks that missed a job, left something unobserved, or outlasted the interval; what was
/// unobserved is summed by cause, with the first subject as an example.
fn problems(rows: &[Row], interval: Duration) -> Vec<String> {
    let mut out = Vec::new();
    for row in rows {
        for (i, run) in row.runs.iter().enumerate() {
            let tick = format!("{} job(s), tick {}", row.jobs, i + 1);
            if run.jobs_seen != row.jobs {
                out.push(format!("{tick}: observed {} job(s)", run.jobs_seen));
            }
            if run.wall > interval {
                out.push(format!(
                    "{tick}: took {} ms, longer than the {} ms interval",
                    run.wall.as_millis(),
                    interval.as_millis()
                ));
            }
            let mut causes: BTreeMap<&str, (usize, &str)> = BTreeMap::new();
            for (subject, cause) in &run.unobserved {
                causes.entry(cause).or_insert((0, subject)).0 += 1;
            }
            for (cause, (n, example)) in causes {
                out.push(format!("{tick}: {n} unobserved ({cause}), e.g. {example}"));
            }
        }
    }
    out
}

/// HTTP requests by API operation, one column per job count.
fn print_http(rows: &[Row]) {
    let mut operations: Vec<&String> = rows
        .iter()
        .flat_map(|r| r.runs.iter().flat_map(|run| run.http.keys()))
        .collect();
    operations.sort();
    operations.dedup();
    let mut header = format!("{:<28}", "HTTP requests by operation");
    for row in rows {
        header.push_str(&format!(" {:>9}", format!("{} job(s)", row.jobs)));
    }
    println!("{header}");
    for op in operations {
        let mut line = format!("{op:<28}");
        for row in rows {
            let n = spread(
                row.runs
                    .iter()
                    .map(|r| r.http.get(op).copied().unwrap_or(0)),
            );
            line.push_str(&format!(" {n:>9}"));
        }
        println!("{line}");
    }
    println!();
}
