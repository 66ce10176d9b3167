//! Value tests of the plot: what a small run draws, and what an empty one says.

use super::*;
use crate::domain::resource::{Dimension, Resource};
use crate::sim::series::Change;
use crate::sim::{ControllerKind, Summary};

fn run(controller: ControllerKind, series: Vec<Track>) -> RunResult {
    RunResult {
        scenario: "tiny".into(),
        seed: 3,
        summary: Summary {
            controller: controller.name(),
            ..Summary::default()
        },
        timeline: Vec::new(),
        series,
    }
}

fn track(index: Option<&str>, dimension: Dimension, demand: f64) -> Track {
    Track {
        key: CapacityKey {
            resource: Resource {
                table: "tileindex.local.boss".into(),
                index: index.map(str::to_string),
            },
            dimension,
        },
        initial: Some(10),
        minutes: 30,
        minutes_per_point: 1,
        points: (0..30)
            .map(|m| Minute {
                demand: if m >= 10 { demand } else { 0.0 },
                throttled: if m == 10 { demand / 2.0 } else { 0.0 },
            })
            .collect(),
        changes: if demand > 0.0 {
            vec![
                Change {
                    at: 630,
                    from: 10,
                    to: 400,
                },
                Change {
                    at: 1500,
                    from: 400,
                    to: 200,
                },
            ]
        } else {
            Vec::new()
        },
    }
}

fn tracks() -> Vec<Track> {
    vec![
        track(None, Dimension::Read, 0.0),
        track(None, Dimension::Write, 300.0),
        track(Some("task_id_index"), Dimension::Write, 300.0),
    ]
}

/// plotters writes a `<text>` element's content on a line of its own.
fn has_text(svg: &str, text: &str) -> bool {
    svg.contains(&format!(">\n{text}\n</text>"))
}

#[test]
fn a_run_draws_each_active_dimension_with_the_legend_and_markers() {
    let svg =
        render(&[run(ControllerKind::Remediator, tracks())]).unwrap_or_else(|e| panic!("{e}"));
    assert!(svg.starts_with("<svg"), "{}", &svg[..80]);
    assert!(has_text(&svg, "tiny, seed 3, controller remediator"));
    for label in ["demand", "provisioned", "throttled", "raise", "lower"] {
        assert!(has_text(&svg, label), "legend {label}");
    }
    assert!(has_text(&svg, "tileindex.local.boss write"));
    assert!(has_text(
        &svg,
        "tileindex.local.boss/index/task_id_index write"
    ));
    // The read dimension saw nothing: left out.
    assert!(!svg.contains("tileindex.local.boss read"));
    // Time axis in h:mm.
    assert!(has_text(&svg, "0:10"), "no h:mm label");
    // Two raises and two lowers (table and GSI): legend markers plus one each.
    assert_eq!(svg.matches("<polygon").count(), 2 + 4);
}

#[test]
fn a_comparison_has_a_row_per_controller() {
    let results: Vec<RunResult> = ControllerKind::ALL
        .iter()
        .map(|k| run(*k, tracks()))
        .collect();
    let svg = render(&results).unwrap_or_else(|e| panic!("{e}"));
    assert!(has_text(&svg, "tiny, seed 3: one row per controller"));
    for k in ControllerKind::ALL {
        assert!(
            has_text(&svg, &format!("{} · tileindex.local.boss write", k.name())),
            "{}",
            k.name()
        );
    }
}

#[test]
fn rendering_is_deterministic() {
    let a = render(&[run(ControllerKind::Oracle, tracks())]).ok();
    let b = render(&[run(ControllerKind::Oracle, tracks())]).ok();
    assert!(a.is_some());
    assert_eq!(a, b);
}

#[test]
fn nothing_to_draw_is_an_error_not_a_panic() {
    assert!(matches!(render(&[]), Err(RenderError::NoRun)));
    let empty = run(ControllerKind::Remediator, Vec::new());
    assert!(matches!(render(&[empty]), Err(RenderError::NoMinute)));
    let path = Path::new("/nonexistent-dir-for-plot/out.svg");
    let e = write_svg(path, &[]).err().map(|e| e.to_string());
    assert_eq!(
        e.as_deref(),
        Some("cannot plot /nonexistent-dir-for-plot/out.svg")
    );
}

#[test]
fn a_missing_directory_is_named() {
    let path = Path::new("/nonexistent-dir-for-plot/out.svg");
    let e = write_svg(path, &[run(ControllerKind::Remediator, tracks())])
        .err()
        .map(|e| e.to_string());
    assert_eq!(
        e.as_deref(),
        Some(
            "cannot write plot /nonexistent-dir-for-plot/out.svg: directory \
             /nonexistent-dir-for-plot does not exist"
        )
    );
}

#[test]
fn the_time_axis_is_labelled_at_round_times() {
    assert_eq!(
        ticks(180.0),
        vec![0.0, 30.0, 60.0, 90.0, 120.0, 150.0, 180.0]
    );
    assert_eq!(ticks(1440.0).len(), 9);
    assert_eq!(ticks(30.0 * 1440.0)[1], 10_080.0);
}

#[test]
fn axes_read_as_clock_and_units() {
    assert_eq!(clock(65.0), "1:05");
    assert_eq!(units(950.0), "950");
    assert_eq!(units(12_000.0), "12k");
}
