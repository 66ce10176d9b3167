//! The printed table: each row judged against its goal, and a legend of the columns.

use crate::cpu::thread_cpu;
use crate::rows::{Goal, Measured};
use crate::{
    FLOOD_GOAL, FLOOD_IN_FLIGHT, FLOOD_RATE, HOG_RATE_TOLERANCE, POLL_EVERY, RATE_TOLERANCE, SETTLE,
};
use remediator::redrive::pace::Pacer;

/// ⌈rate × 0.1⌉ + 1: the pacer's own window cap at `rate`.
fn window_cap(rate: f64) -> usize {
    Pacer::new(rate, tokio::time::Instant::now()).window_cap()
}

/// PASS, or which goal a row missed.
fn judge(rate_ok: bool, window_ok: bool) -> String {
    match (rate_ok, window_ok) {
        (true, true) => "PASS",
        (false, true) => "FAIL rate",
        (true, false) => "FAIL window",
        (false, false) => "FAIL both",
    }
    .to_string()
}

fn fmt_opt(value: Option<f64>, decimals: usize) -> String {
    value.map_or_else(|| "-".to_string(), |v| format!("{v:.decimals$}"))
}

/// A plain text table: the first column left-aligned, the others right-aligned.
fn print_table(rows: &[Vec<String>]) {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for (i, row) in rows.iter().enumerate() {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            if c == 0 {
                line.push_str(&format!("{cell:<w$}", w = widths[c]));
            } else {
                line.push_str(&format!("  {cell:>w$}", w = widths[c]));
            }
        }
        println!("{}", line.trim_end());
        if i == 0 {
            let total = widths.iter().sum::<usize>() + 2 * widths.len().saturating_sub(1);
            println!("{}", "-".repeat(total));
        }
    }
}

/// Prints the table and its legend; returns the rows that missed their goal, with how.
pub fn report(rows: &[Measured], seconds: f64, cores: usize, load: &str) -> Vec<String> {
    let cpu_source = thread_cpu().map_or("unavailable", |(_, source)| source);
    println!();
    println!(
        "remediator redrive pacing: {cores} CPUs (available_parallelism), {seconds} s per paced row, \
         load average {load} before the first row"
    );
    println!(
        "loopback Lambda (Event invocations, 0 ms work) on its own multi-thread runtime; drive() on a \
         current-thread runtime on its own thread"
    );
    println!("controller CPU from {cpu_source}");
    println!();

    let mut table = vec![
        [
            "row",
            "requested",
            "n",
            "achieved/s",
            "error %",
            "pre-tail/s",
            "sent/100ms",
            "goal",
            "recv/100ms",
            "CPU ms/1000",
            "wall s",
            "errors",
            "end",
            "result",
        ]
        .map(String::from)
        .to_vec(),
    ];
    let mut misses = Vec::new();
    for m in rows {
        let achieved = m.achieved();
        let window = m.sent_window();
        let mut pre_tail = None;
        let (error, goal, result) = match m.goal {
            Goal::Paced(rate, tolerance) => {
                let tail = (rate * (POLL_EVERY + SETTLE).as_secs_f64()).ceil() as usize;
                pre_tail = m.achieved_until(m.times.len().saturating_sub(1 + tail));
                let cap = window_cap(rate);
                let error = achieved.map(|a| (a - rate) / rate * 100.0);
                let rate_ok = error.is_some_and(|e| e.abs() <= tolerance * 100.0);
                (
                    fmt_opt(error, 2),
                    format!("±{}%, <= {cap}", tolerance * 100.0),
                    judge(rate_ok, window <= cap),
                )
            }
            Goal::Flood(rate) => {
                let cap = window_cap(rate);
                let rate_ok = achieved.is_some_and(|a| a > FLOOD_GOAL);
                (
                    "-".to_string(),
                    format!("> {FLOOD_GOAL}/s, <= {cap}"),
                    judge(rate_ok, window <= cap),
                )
            }
            Goal::None => ("-".to_string(), "-".to_string(), "-".to_string()),
        };
        if result.starts_with("FAIL") {
            misses.push(format!("{}: {result}", m.label));
        }
        table.push(vec![
            m.label.clone(),
            m.requested.clone(),
            m.times.len().to_string(),
            fmt_opt(achieved, 2),
            error,
            fmt_opt(pre_tail, 2),
            window.to_string(),
            goal,
            m.window().to_string(),
            fmt_opt(m.cpu_per_1000_ms(), 1),
            format!("{:.1}", m.wall.as_secs_f64()),
            m.errors.to_string(),
            m.end.clone(),
            result,
        ]);
    }
    print_table(&table);
    println!();
    println!("legend:");
    println!(
        "  achieved/s   at the loopback: (n - 1) / (last accepted - first accepted); n = invocations it accepted"
    );
    println!(
        "  error %      achieved against requested; goal within {} % ({} % beside the CPU hog)",
        RATE_TOLERANCE * 100.0,
        HOG_RATE_TOLERANCE * 100.0
    );
    println!(
        "  pre-tail/s   the same without the last rate x (poll_every + settle) invocations: the pace alone, before the end of the queue"
    );
    println!(
        "  sent/100ms   most Invoke calls the controller sent in any 100 ms (sliding); goal <= ceil(rate x 0.1) + 1"
    );
    println!(
        "  recv/100ms   the same at the loopback: sent plus HTTP delivery jitter on this machine (shown, not judged)"
    );
    println!(
        "  CPU ms/1000  controller thread CPU (user + system) over the row, per 1000 accepted invocations"
    );
    println!("  wall s       the row's duration on the controller, drive() start to return");
    println!("  errors       invocations the controller saw throttled or failed");
    println!(
        "  2017 tool    30 concurrent invocations, 5 s sleep, 3 times, same SDK client (no goal)"
    );
    println!(
        "  CPU hog      drive() with {} thread(s) busy-looping at normal priority for the row",
        cores.max(1)
    );
    println!(
        "  highest      drive() at {FLOOD_RATE}/s (MAX_RATE) with {FLOOD_IN_FLIGHT} in flight, stopped after {} s; goal above {FLOOD_GOAL}/s within the window cap",
        seconds / 2.0
    );
    misses
}
