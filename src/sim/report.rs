//! Readable renderings of simulation results: the timeline, one summary, the comparison table.

use super::runner::{RunResult, Summary, TimelineEntry};
use std::fmt::Write as _;

/// `+hh:mm:ss` since the scenario began.
#[must_use]
pub fn clock(seconds: u64) -> String {
    format!(
        "+{:02}:{:02}:{:02}",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}

/// `12m05s`: a span of time in the summary and the comparison table.
#[must_use]
pub fn clock_span(seconds: u64) -> String {
    format!("{}m{:02}s", seconds / 60, seconds % 60)
}

/// `1.234 %`: a share in the summary and the tables.
#[must_use]
pub fn percent(share: f64) -> String {
    format!("{:.3} %", share * 100.0)
}

#[must_use]
pub fn timeline(entries: &[TimelineEntry]) -> String {
    let mut out = String::new();
    for e in entries {
        let _ = writeln!(
            out,
            "{}  {:<9} {:<52} {}",
            clock(e.at),
            e.kind,
            e.subject,
            e.text
        );
    }
    out
}

#[must_use]
pub fn summary(result: &RunResult) -> String {
    let s = &result.summary;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "summary ({}, seed {}, controller {}):",
        result.scenario, result.seed, s.controller
    );
    let _ = writeln!(out, "  throttled requests      {}", s.throttled_requests);
    let _ = writeln!(out, "  requests demanded       {}", s.requests_demanded);
    let _ = writeln!(
        out,
        "  throttled share         {}",
        percent(s.throttled_share)
    );
    let _ = writeln!(
        out,
        "  time with throttling    {}",
        clock_span(s.seconds_with_throttling)
    );
    let _ = writeln!(
        out,
        "  peak provisioned        {} RCU, {} WCU",
        s.peak_read_units, s.peak_write_units
    );
    let _ = writeln!(
        out,
        "  mean provisioned        {:.0} RCU, {:.0} WCU",
        s.mean_read_units, s.mean_write_units
    );
    let _ = writeln!(out, "  capacity cost           ${:.2}", s.capacity_cost_usd);
    let _ = writeln!(out, "  capacity changes        {}", s.actions);
    let _ = writeln!(out, "  escalations             {}", s.escalations);
    out.push_str(&super::activity_report::summary_lines(s));
    out
}

#[must_use]
pub fn comparison(scenario: &str, seed: u64, rows: &[Summary]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "scenario {scenario}, seed {seed}");
    let _ = writeln!(
        out,
        "{:<16} {:>14} {:>14} {:>11} {:>12} {:>9} {:>9} {:>9} {:>9} {:>10} {:>8} {:>11}",
        "controller",
        "throttled req",
        "demanded req",
        "thr. share",
        "throttling",
        "peak RCU",
        "peak WCU",
        "mean RCU",
        "mean WCU",
        "cost USD",
        "actions",
        "escalations"
    );
    for s in rows {
        let _ = writeln!(
            out,
            "{:<16} {:>14} {:>14} {:>11} {:>12} {:>9} {:>9} {:>9.0} {:>9.0} {:>10.2} {:>8} {:>11}",
            s.controller,
            s.throttled_requests,
            s.requests_demanded,
            percent(s.throttled_share),
            clock_span(s.seconds_with_throttling),
            s.peak_read_units,
            s.peak_write_units,
            s.mean_read_units,
            s.mean_write_units,
            s.capacity_cost_usd,
            s.actions,
            s.escalations
        );
    }
    out.push_str(&super::activity_report::comparison_lines(rows));
    out
}
