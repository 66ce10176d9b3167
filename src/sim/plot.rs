//! `simulate --plot FILE.svg`: what each controller did to each table and GSI over virtual time,
//! as one SVG an operator can look at.
//!
//! The comparison table says how much was throttled and what it cost; a capacity policy is
//! judged by when it moved and how far: how far ahead of demand a raise came, how long capacity
//! stayed up after the job. Each panel draws one dimension of one table or GSI: demand and
//! throttled requests (means of each minute, in units per second; past a day, the peak minute of
//! each point, see `series.rs`) and provisioned capacity as steps, each raise (▲) and lower (▼)
//! marked on it at the second the change took effect.
//!
//! Layout: panels that are compared share one time axis, stacked. A single run stacks its
//! dimensions (the GSI's back-pressure shows under the table's throttles); `--compare` gives a
//! column per dimension and a row per controller, so a raise that comes earlier sits to the left
//! of the one below it, and the same three colours mean the same thing in every panel. A panel
//! per dimension with one line per controller would put six provisioned and six throttled lines
//! (and six demands: a job's retried tiles make demand differ per controller) on one chart.
//! Each panel has its own vertical scale: controllers differ tenfold (throttle-jump's 80,000 WCU
//! against the oracle's 6,416 on `tileindex-burst`) and one scale would flatten all but the
//! largest; the axes are labelled and the magnitudes are in the comparison table.
//!
//! SVG through plotters' SVG backend only: text is written as `<text>` elements for the viewer to
//! set, so no font is read here and no font or image crate is built; the file is deterministic
//! and small enough to commit (`docs/`).

use super::runner::RunResult;
use super::series::{Minute, Track};
use crate::domain::resource::CapacityKey;
use plotters::coord::Shift;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use std::path::{Path, PathBuf};

/// Why nothing could be drawn.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("no run to draw")]
    NoRun,
    #[error("the run recorded no minute of any table")]
    NoMinute,
    #[error("drawing failed: {0}")]
    Draw(String),
}

impl<E: std::error::Error + Send + Sync> From<DrawingAreaErrorKind<E>> for RenderError {
    fn from(e: DrawingAreaErrorKind<E>) -> Self {
        RenderError::Draw(e.to_string())
    }
}

/// `--plot` failed; every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    #[error("cannot plot {}", path.display())]
    Render {
        path: PathBuf,
        #[source]
        source: RenderError,
    },
    #[error("cannot write plot {}: directory {} does not exist", path.display(), dir.display())]
    NoDirectory { path: PathBuf, dir: PathBuf },
    #[error("cannot write plot {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Draws `results` (one run, or one per controller of the same scenario and seed) and writes
/// the SVG to `path`, replacing it.
///
/// # Errors
/// [`PlotError::Render`] when there is nothing to draw, [`PlotError::NoDirectory`] or
/// [`PlotError::Write`] when the file cannot be written.
pub fn write_svg(path: &Path, results: &[RunResult]) -> Result<(), PlotError> {
    let svg = render(results).map_err(|source| PlotError::Render {
        path: path.to_path_buf(),
        source,
    })?;
    std::fs::write(path, svg).map_err(|source| {
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
        match dir {
            Some(dir) if source.kind() == std::io::ErrorKind::NotFound && !dir.is_dir() => {
                PlotError::NoDirectory {
                    path: path.to_path_buf(),
                    dir: dir.to_path_buf(),
                }
            }
            _ => PlotError::Write {
                path: path.to_path_buf(),
                source,
            },
        }
    })
}

const FONT: &str = "sans-serif";
/// plotters writes a font size of 1/1.24 of the size asked; these are the sizes asked.
const TITLE_SIZE: f64 = 24.0;
const LEGEND_SIZE: f64 = 18.0;
const NOTE_SIZE: f64 = 16.0;
const CAPTION_SIZE: f64 = 18.0;
const LABEL_SIZE: f64 = 15.0;
const HEADER: u32 = 116;
/// A panel of a single run (stacked) and of a comparison (in a grid), in pixels.
const SINGLE_PANEL: (u32, u32) = (1000, 250);
const GRID_PANEL: (u32, u32) = (520, 220);

const DEMAND: RGBColor = RGBColor(31, 119, 180);
const PROVISIONED: RGBColor = RGBColor(40, 40, 40);
const THROTTLED: RGBColor = RGBColor(214, 39, 40);
const RAISE: RGBColor = RGBColor(44, 160, 44);
const LOWER: RGBColor = RGBColor(148, 103, 189);

/// The SVG of `results`, as [`write_svg`] writes it.
///
/// # Errors
/// [`RenderError::NoRun`] for no results, [`RenderError::NoMinute`] when no run recorded a
/// minute of any table, [`RenderError::Draw`] if plotters fails.
pub fn render(results: &[RunResult]) -> Result<String, RenderError> {
    let first = results.first().ok_or(RenderError::NoRun)?;
    let minutes = results
        .iter()
        .flat_map(|r| &r.series)
        .map(|t| t.minutes)
        .max()
        .unwrap_or(0);
    if minutes == 0 {
        return Err(RenderError::NoMinute);
    }
    let keys = shown(results);
    let single = results.len() == 1;
    let (panel, rows, cols) = if single {
        (SINGLE_PANEL, keys.len(), 1)
    } else {
        (GRID_PANEL, results.len(), keys.len())
    };
    let size = (
        (panel.0 * u32::try_from(cols).unwrap_or(u32::MAX)).max(SINGLE_PANEL.0),
        panel.1 * u32::try_from(rows).unwrap_or(u32::MAX) + HEADER,
    );
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        root.fill(&WHITE)?;
        let (header, body) = root.split_vertically(HEADER);
        let title = if single {
            format!(
                "{}, seed {}, controller {}",
                first.scenario, first.seed, first.summary.controller
            )
        } else {
            format!(
                "{}, seed {}: one row per controller",
                first.scenario, first.seed
            )
        };
        let per_point = results
            .iter()
            .flat_map(|r| &r.series)
            .map(|t| t.minutes_per_point)
            .max()
            .unwrap_or(1);
        draw_header(&header, &title, per_point)?;
        let body = body.margin(0, 0, 0, size.0.saturating_sub(panel.0 * to_u32(cols)));
        let areas = body.split_evenly((rows, cols));
        for (r, result) in results.iter().enumerate() {
            for (k, key) in keys.iter().enumerate() {
                let Some(track) = result.series.iter().find(|t| &t.key == key) else {
                    continue;
                };
                let at = if single { k } else { r * cols + k };
                let caption = if single {
                    key.to_string()
                } else {
                    format!("{} · {key}", result.summary.controller)
                };
                draw_panel(&areas[at], &caption, track, minutes)?;
            }
        }
        root.present()?;
    }
    Ok(svg)
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The dimensions drawn, in key order: those where any run saw demand, throttling or a change
/// of capacity (a GSI nobody reads is left out); all of them if none did.
fn shown(results: &[RunResult]) -> Vec<CapacityKey> {
    let active = |t: &Track| {
        !t.changes.is_empty()
            || t.points
                .iter()
                .any(|m| m.demand >= 0.5 || m.throttled > 0.0)
    };
    let mut keys: Vec<CapacityKey> = results
        .iter()
        .flat_map(|r| &r.series)
        .filter(|t| active(t))
        .map(|t| t.key.clone())
        .collect();
    if keys.is_empty() {
        keys = results
            .iter()
            .flat_map(|r| &r.series)
            .map(|t| t.key.clone())
            .collect();
    }
    keys.sort();
    keys.dedup();
    keys
}

fn draw_header<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    minutes_per_point: u64,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    area.draw(&Text::new(title, (14, 10), (FONT, TITLE_SIZE)))?;
    let y = 52;
    let mut x = 14;
    for (label, color, width) in [
        ("demand", DEMAND, 2),
        ("provisioned", PROVISIONED, 2),
        ("throttled", THROTTLED, 2),
    ] {
        area.draw(&PathElement::new(
            vec![(x, y), (x + 24, y)],
            color.stroke_width(width),
        ))?;
        area.draw(&Text::new(label, (x + 30, y - 8), (FONT, LEGEND_SIZE)))?;
        x += 40 + 9 * to_i32(label.len());
    }
    for (label, up) in [("raise", true), ("lower", false)] {
        area.draw(&marker((x + 8, y), up))?;
        area.draw(&Text::new(label, (x + 20, y - 8), (FONT, LEGEND_SIZE)))?;
        x += 30 + 9 * to_i32(label.len());
    }
    let each = if minutes_per_point > 1 {
        format!("the peak of each {minutes_per_point} minutes' means")
    } else {
        "the mean of each minute".to_string()
    };
    let notes = [
        format!(
            "demand and throttled: units per second, {each} (throttled: every attempt, retries \
             included)"
        ),
        "provisioned: units, each change where it took effect; time since the scenario began \
         (h:mm)"
            .to_string(),
    ];
    let grey = RGBColor(90, 90, 90);
    for (i, note) in (0..).zip(notes) {
        area.draw(&Text::new(
            note,
            (14, y + 18 + 20 * i),
            (FONT, NOTE_SIZE).into_font().color(&grey),
        ))?;
    }
    Ok(())
}

fn to_i32(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// A triangle at a pixel, pointing up (a raise) or down (a lower).
fn marker(at: (i32, i32), up: bool) -> Polygon<(i32, i32)> {
    let (x, y) = at;
    if up {
        Polygon::new(
            vec![(x, y - 6), (x + 6, y + 4), (x - 6, y + 4)],
            RAISE.filled(),
        )
    } else {
        Polygon::new(
            vec![(x, y + 6), (x + 6, y - 4), (x - 6, y - 4)],
            LOWER.filled(),
        )
    }
}

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    caption: &str,
    track: &Track,
    minutes: u64,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    #[allow(clippy::cast_precision_loss)]
    let end = minutes as f64;
    let demand = points(track, end, |m| m.demand);
    let throttled = points(track, end, |m| m.throttled);
    let provisioned = steps(track, end);
    let top = demand
        .iter()
        .chain(&throttled)
        .chain(&provisioned)
        .map(|p| p.1)
        .fold(1.0, f64::max)
        * 1.08;
    let mut chart = ChartBuilder::on(area)
        .caption(caption, (FONT, CAPTION_SIZE))
        .margin(6)
        .margin_right(18)
        .x_label_area_size(26)
        .y_label_area_size(54)
        .build_cartesian_2d(TimeAxis::new(end), 0.0..top)?;
    chart
        .configure_mesh()
        .y_labels(5)
        .x_label_formatter(&|m| clock(*m))
        .y_label_formatter(&|v| units(*v))
        .label_style((FONT, LABEL_SIZE))
        // Grid lines at the labels only: light lines between them would be most of the file.
        .max_light_lines(0)
        .bold_line_style(RGBColor(225, 225, 225))
        .draw()?;
    chart.draw_series(LineSeries::new(demand, DEMAND.stroke_width(1)))?;
    chart.draw_series(LineSeries::new(throttled, THROTTLED.stroke_width(1)))?;
    if !provisioned.is_empty() {
        chart.draw_series(LineSeries::new(provisioned, PROVISIONED.stroke_width(2)))?;
    }
    let at = |c: &super::series::Change| (seconds_to_minutes(c.at), f64::from(c.to));
    let raises = track.changes.iter().filter(|c| c.to > c.from);
    let lowers = track.changes.iter().filter(|c| c.to < c.from);
    chart.draw_series(raises.map(|c| EmptyElement::at(at(c)) + marker((0, 0), true)))?;
    chart.draw_series(lowers.map(|c| EmptyElement::at(at(c)) + marker((0, 0), false)))?;
    Ok(())
}

#[allow(clippy::cast_precision_loss)]
fn seconds_to_minutes(seconds: u64) -> f64 {
    seconds as f64 / 60.0
}

/// Each point at the middle of the minutes it covers (the last cut at `end`).
fn points(track: &Track, end: f64, value: impl Fn(&Minute) -> f64) -> Vec<(f64, f64)> {
    #[allow(clippy::cast_precision_loss)]
    let width = track.minutes_per_point as f64;
    #[allow(clippy::cast_precision_loss)]
    track
        .points
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let from = i as f64 * width;
            (from + ((from + width).min(end) - from) / 2.0, value(m))
        })
        .collect()
}

/// Provisioned capacity as a step line from the start to `end` minutes; none on demand.
fn steps(track: &Track, end: f64) -> Vec<(f64, f64)> {
    let Some(initial) = track.initial else {
        return Vec::new();
    };
    let mut out = vec![(0.0, f64::from(initial))];
    for c in &track.changes {
        let x = seconds_to_minutes(c.at);
        out.push((x, f64::from(c.from)));
        out.push((x, f64::from(c.to)));
    }
    let last = track.changes.last().map_or(initial, |c| c.to);
    out.push((end, f64::from(last)));
    out
}

/// Minutes since the scenario began, labelled at round times ([`ticks`]) rather than at
/// plotters' round decimals (0:50, 1:40).
struct TimeAxis {
    minutes: RangedCoordf64,
    ticks: Vec<f64>,
}

impl TimeAxis {
    fn new(end: f64) -> Self {
        Self {
            minutes: (0.0..end).into(),
            ticks: ticks(end),
        }
    }
}

impl Ranged for TimeAxis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.minutes.map(value, limit)
    }

    /// The labelled times for the grid's lines and labels; no light lines between them.
    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.minutes.range()
    }
}

/// Where the time axis is labelled: every 10 minutes, 15, 30, an hour, … a week, whichever gives
/// at most 8 intervals.
fn ticks(end_minutes: f64) -> Vec<f64> {
    const STEPS: [f64; 11] = [
        10.0, 15.0, 30.0, 60.0, 120.0, 180.0, 360.0, 720.0, 1440.0, 2880.0, 10_080.0,
    ];
    let step = STEPS
        .into_iter()
        .find(|s| end_minutes / s <= 8.0)
        .unwrap_or(10_080.0);
    (0..)
        .map(|i| f64::from(i) * step)
        .take_while(|m| *m <= end_minutes)
        .collect()
}

/// `1:05` for minute 65 of the run.
fn clock(minutes: f64) -> String {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let m = minutes.max(0.0).round() as u64;
    format!("{}:{:02}", m / 60, m % 60)
}

/// `950`, `12k`: an axis of units per second.
fn units(v: f64) -> String {
    if v >= 10_000.0 {
        format!("{:.0}k", v / 1000.0)
    } else {
        format!("{v:.0}")
    }
}

#[cfg(test)]
mod tests;
