//! How `remediator redrive` shows its progress: a live bar on a terminal, one JSON line per
//! second otherwise (for logs and scripts), and a summary at the end.

use super::{Progress, Summary};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use std::time::Duration;

/// Where progress goes.
#[derive(Debug)]
pub enum Show {
    Bar(ProgressBar),
    JsonLines,
    Quiet,
}

#[derive(Serialize)]
struct Line<'a, T: Serialize> {
    event: &'static str,
    #[serde(flatten)]
    body: &'a T,
}

impl Show {
    /// A bar for `total` messages on stderr.
    #[must_use]
    pub fn bar(total: u64) -> Self {
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template("{bar:30} {pos}/{len} drained · {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar.enable_steady_tick(Duration::from_millis(200));
        Self::Bar(bar)
    }

    pub fn update(&self, p: &Progress) {
        match self {
            Show::Bar(bar) => {
                bar.set_length(p.drained + p.remaining);
                bar.set_position(p.drained);
                bar.set_message(message(p));
            }
            Show::JsonLines => print_line("progress", p),
            Show::Quiet => {}
        }
    }

    pub fn finish(&self, summary: &Summary) {
        match self {
            Show::Bar(bar) => {
                bar.finish_and_clear();
                println!("{}", text(summary));
            }
            Show::JsonLines => print_line(
                "summary",
                &Described {
                    summary,
                    message: text(summary),
                },
            ),
            Show::Quiet => println!("{}", text(summary)),
        }
    }
}

/// The summary line carries the sentence a person would read, too.
#[derive(Serialize)]
struct Described<'a> {
    #[serde(flatten)]
    summary: &'a Summary,
    message: String,
}

fn print_line<T: Serialize>(event: &'static str, body: &T) {
    match serde_json::to_string(&Line { event, body }) {
        Ok(line) => println!("{line}"),
        Err(e) => tracing::error!("progress line not serialisable: {e}"),
    }
}

fn message(p: &Progress) -> String {
    let eta = p.eta_s.map_or_else(
        || "ETA unknown".to_string(),
        |s| {
            format!(
                "ETA {}",
                crate::time::human(Duration::from_secs_f64(s.max(0.0)))
            )
        },
    );
    let throttled = if p.throttled > 0 {
        format!(" · {} throttled, pace {:.1}/s", p.throttled, p.pace_per_s)
    } else {
        String::new()
    };
    format!(
        "{} invoked · {} remaining ({} visible, {} in flight) · {:.1}/s · {eta}{throttled}",
        p.invoked, p.remaining, p.visible, p.in_flight, p.rate_per_s
    )
}

/// The summary as a person reads it.
#[must_use]
pub fn text(summary: &Summary) -> String {
    let p = &summary.progress;
    format!(
        "re-drive of {} through {}: {}\n  {} invoked ({} throttled, {} failed) in {:.1}s at {:.1}/s; {} drained, {} remaining",
        summary.target.queue,
        summary.target.function,
        summary.end,
        p.invoked,
        p.throttled,
        p.failed,
        p.elapsed_s,
        p.rate_per_s,
        p.drained,
        p.remaining
    )
}
