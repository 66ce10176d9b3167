//! The Lambda functions and performers in simulation results: timeline entries (messages sent,
//! what the performers did, what the functions looked like) and the summary's figures.

use super::report::{clock, clock_span};
use super::runner::{Summary, TimelineEntry};
use super::world::World;
use serde::Serialize;
use std::fmt::Write as _;

/// Adds the messages and compliance since `seen` (counts already shown) to the timeline;
/// returns the new counts.
pub(super) fn messages(
    world: &World,
    seen: (usize, usize),
    timeline: &mut Vec<TimelineEntry>,
) -> (usize, usize) {
    for m in world.received.iter().skip(seen.0) {
        timeline.push(TimelineEntry {
            at: m.at,
            kind: "signalled",
            subject: m.channel.to_string(),
            text: m.subject.clone(),
        });
    }
    let complied = world
        .lambdas
        .performers()
        .map_or(&[][..], |p| p.complied.as_slice());
    for c in complied.iter().skip(seen.1) {
        timeline.push(TimelineEntry {
            at: c.at,
            kind: "complied",
            subject: "performers".to_string(),
            text: c.text.clone(),
        });
    }
    (world.received.len(), complied.len())
}

/// What the performers and every busy function look like now.
pub(super) fn saw(world: &World, at: u64, timeline: &mut Vec<TimelineEntry>) {
    let Some(p) = world.lambdas.performers() else {
        return;
    };
    let planned = p.planned(at.saturating_sub(1));
    if planned >= 0.5 || p.paused() {
        let paused = if p.paused() { ", paused" } else { "" };
        timeline.push(TimelineEntry {
            at,
            kind: "saw",
            subject: "performers".to_string(),
            text: format!(
                "uploading {:.0} tiles/s ({:.0} % of the planned {planned:.0}/s){paused}",
                planned * p.factor(),
                p.factor() * 100.0
            ),
        });
    }
    for f in world.lambdas.snapshot() {
        if f.offered < 0.01 && f.backlog < 0.5 {
            continue;
        }
        let mut text = format!(
            "duration {:.0} ms ({:.2}× base), {:.1} invocations/s, concurrency {:.0} of {:.0} (ρ {:.2})",
            f.duration_ms,
            f.duration_ms / f.base_ms,
            f.invocations,
            f.concurrency,
            f.limit,
            f.rho
        );
        if f.throttled >= 0.05 || f.backlog >= 0.5 {
            let _ = write!(
                text,
                ", throttled {:.1}/s, {:.0} waiting to be retried",
                f.throttled, f.backlog
            );
        }
        timeline.push(TimelineEntry {
            at,
            kind: "saw",
            subject: f.name.clone(),
            text,
        });
    }
}

/// The summary's Lambda and performer figures.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Figures {
    /// Simulated Lambda functions; 0 for a scenario of tables only (the figures below are 0).
    pub functions: u32,
    /// Pauses the performers carried out, and how long their clients were held back.
    pub pauses: u32,
    pub paused_seconds: u64,
    /// Messages the controller sent (each channel counted).
    pub messages: u32,
    /// Minutes whose mean ρ (invocations/s × duration / concurrency available) reached 1.
    pub tipped_minutes: u64,
    /// Start of the first tipped minute, in seconds since the scenario began.
    pub first_tipped_at: Option<u64>,
    /// The highest minute-average Duration relative to its function's base, with that
    /// function and its minute average.
    pub peak_duration_function: String,
    pub peak_duration_ms: f64,
    pub peak_duration_ratio: f64,
    pub lambda_throttles: u64,
    pub lambda_errors: u64,
    pub tiles_uploaded: u64,
    /// Tiles through the last function of the ingest path.
    pub tiles_ingested: u64,
}

#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
pub(super) fn summary(world: &World) -> Figures {
    let l = &world.lambdas;
    let t = &l.totals;
    let peak = l
        .peaks()
        .into_iter()
        .max_by(|a, b| (a.1 / a.2).total_cmp(&(b.1 / b.2)));
    let (peak_function, peak_ms, peak_ratio) = peak
        .filter(|p| p.1 > 0.0)
        .map_or((String::new(), 0.0, 0.0), |(name, ms, base)| {
            (name.to_string(), ms, ms / base)
        });
    Figures {
        functions: u32::try_from(l.snapshot().len()).unwrap_or(u32::MAX),
        pauses: l.performers().map_or(0, |p| p.pauses),
        paused_seconds: l.performers().map_or(0, |p| p.paused_seconds),
        messages: u32::try_from(world.received.len()).unwrap_or(u32::MAX),
        tipped_minutes: t.tipped_minutes,
        first_tipped_at: t.first_tipped_at,
        peak_duration_function: peak_function,
        peak_duration_ms: peak_ms,
        peak_duration_ratio: peak_ratio,
        // Bounded by `limits::MAX_LAMBDA_THROTTLES` and `MAX_TILES_TOTAL` (< 2^62): the casts
        // never clamp.
        lambda_throttles: t.throttles.round() as u64,
        lambda_errors: t.errors.round() as u64,
        tiles_uploaded: t.tiles_uploaded.round() as u64,
        tiles_ingested: t.tiles_ingested.round() as u64,
    }
}

/// The summary's lines about the functions and performers (none for a tables-only scenario).
#[must_use]
pub fn summary_lines(s: &Summary) -> String {
    let mut out = String::new();
    if s.activity.functions == 0 {
        if s.activity.messages > 0 {
            let _ = writeln!(out, "  messages sent           {}", s.activity.messages);
        }
        return out;
    }
    let _ = writeln!(
        out,
        "  performer pauses        {} (held back {}), {} message(s) sent",
        s.activity.pauses,
        clock_span(s.activity.paused_seconds),
        s.activity.messages
    );
    let first = s
        .activity
        .first_tipped_at
        .map_or_else(String::new, |at| format!(", the first at {}", clock(at)));
    let _ = writeln!(
        out,
        "  tipped over             {} minute(s){first}",
        s.activity.tipped_minutes
    );
    let _ = writeln!(
        out,
        "  peak duration           {:.0} ms ({:.1}× base) {}",
        s.activity.peak_duration_ms,
        s.activity.peak_duration_ratio,
        s.activity.peak_duration_function
    );
    let _ = writeln!(
        out,
        "  lambda throttles        {}, errors {}",
        s.activity.lambda_throttles, s.activity.lambda_errors
    );
    let _ = writeln!(
        out,
        "  tiles                   {} uploaded, {} ingested",
        s.activity.tiles_uploaded, s.activity.tiles_ingested
    );
    out
}

/// A second comparison table for the functions and performers, when the scenario has any.
#[must_use]
pub fn comparison_lines(rows: &[Summary]) -> String {
    let mut out = String::new();
    if rows.iter().all(|s| s.activity.functions == 0) {
        return out;
    }
    let _ = writeln!(
        out,
        "\n{:<16} {:>6} {:>10} {:>7} {:>9} {:>6} {:>12} {:>8} {:>11} {:>11}",
        "controller",
        "pauses",
        "held back",
        "tipped",
        "peak ms",
        "×base",
        "λ throttles",
        "λ errors",
        "tiles up",
        "tiles in"
    );
    for s in rows {
        let _ = writeln!(
            out,
            "{:<16} {:>6} {:>10} {:>6}m {:>9.0} {:>6.1} {:>12} {:>8} {:>11} {:>11}",
            s.controller,
            s.activity.pauses,
            clock_span(s.activity.paused_seconds),
            s.activity.tipped_minutes,
            s.activity.peak_duration_ms,
            s.activity.peak_duration_ratio,
            s.activity.lambda_throttles,
            s.activity.lambda_errors,
            s.activity.tiles_uploaded,
            s.activity.tiles_ingested
        );
    }
    out
}
