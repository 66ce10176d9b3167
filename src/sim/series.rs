//! What each table and GSI went through in a run, minute by minute: demand, throttled requests
//! and provisioned capacity per dimension, for `simulate --plot` (`plot.rs`). The summaries do
//! not read it, so recording it changes none of their figures.

use super::world::Snapshot;
use crate::domain::resource::CapacityKey;

/// Points per track at most: a run longer than a day gets a point per several minutes (the
/// peak of their means), so a month at the scenario bounds (100 tables of 21 resources) keeps
/// megabytes, not gigabytes, and its plot stays a file of some hundred kilobytes.
pub const MAX_POINTS: u64 = 1440;

/// One dimension of one table or GSI over a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Track {
    pub key: CapacityKey,
    /// Units provisioned in the run's first second; `None` for an on-demand table.
    pub initial: Option<u32>,
    /// Minutes recorded (the last may have been cut short by the end of the run).
    pub minutes: u64,
    /// Minutes each point covers: 1 for a run of a day or less.
    pub minutes_per_point: u64,
    /// In order: each minute's means, or the peak of each `minutes_per_point` minutes' means.
    pub points: Vec<Minute>,
    /// Every change of provisioned capacity, in order, at the second it took effect (an
    /// UpdateTable keeps the table UPDATING for some seconds after the controller asked).
    pub changes: Vec<Change>,
}

/// One minute (or the peak minute of a point) of a track, in units per second.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Minute {
    /// Units asked of the resource, a job's retried tiles included.
    pub demand: f64,
    /// Units refused (throttled), every attempt counted.
    pub throttled: f64,
}

/// Provisioned capacity changed from `from` to `to` units at second `at` of the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    pub at: u64,
    pub from: u32,
    pub to: u32,
}

impl Track {
    /// Units provisioned at second `at` (`None` on demand).
    #[must_use]
    pub fn provisioned_at(&self, at: u64) -> Option<u32> {
        self.changes
            .iter()
            .take_while(|c| c.at <= at)
            .last()
            .map_or(self.initial, |c| Some(c.to))
    }
}

/// Collects tracks from the world's snapshot of each second.
#[derive(Debug)]
pub struct Recorder {
    minutes_per_point: u64,
    tracks: Vec<Track>,
    /// Per track: sums of demand and throttled over the minute in progress, and the peak of the
    /// minutes of the point in progress.
    open: Vec<(Minute, Minute)>,
    seconds: u64,
    minutes: u64,
}

impl Recorder {
    /// A recorder for a run of `seconds`.
    #[must_use]
    pub fn new(seconds: u64) -> Self {
        Self {
            minutes_per_point: seconds.div_ceil(60).div_ceil(MAX_POINTS).max(1),
            tracks: Vec::new(),
            open: Vec::new(),
            seconds: 0,
            minutes: 0,
        }
    }

    /// Takes second `at` of the run (the world's resources come in the same order each second).
    pub fn record(&mut self, at: u64, snapshot: &[Snapshot]) {
        if self.tracks.is_empty() {
            self.tracks = snapshot
                .iter()
                .map(|s| Track {
                    key: CapacityKey {
                        resource: s.resource.clone(),
                        dimension: s.dimension,
                    },
                    initial: s.provisioned,
                    minutes: 0,
                    minutes_per_point: self.minutes_per_point,
                    points: Vec::new(),
                    changes: Vec::new(),
                })
                .collect();
            self.open = vec![(Minute::default(), Minute::default()); snapshot.len()];
        }
        for ((track, open), s) in self.tracks.iter_mut().zip(&mut self.open).zip(snapshot) {
            let before = track.changes.last().map_or(track.initial, |c| Some(c.to));
            if let (Some(from), Some(to)) = (before, s.provisioned)
                && from != to
            {
                track.changes.push(Change { at, from, to });
            }
            open.0.demand += s.demand;
            open.0.throttled += s.throttled;
        }
        self.seconds += 1;
        if self.seconds == 60 {
            self.close_minute();
        }
    }

    fn close_minute(&mut self) {
        #[allow(clippy::cast_precision_loss)]
        let seconds = self.seconds.max(1) as f64;
        for (sum, peak) in &mut self.open {
            peak.demand = peak.demand.max(sum.demand / seconds);
            peak.throttled = peak.throttled.max(sum.throttled / seconds);
            *sum = Minute::default();
        }
        self.seconds = 0;
        self.minutes += 1;
        if self.minutes.is_multiple_of(self.minutes_per_point) {
            self.close_point();
        }
    }

    fn close_point(&mut self) {
        for (track, (_, peak)) in self.tracks.iter_mut().zip(&mut self.open) {
            track.points.push(*peak);
            *peak = Minute::default();
        }
    }

    /// The tracks, a last partial minute and point closed, in the order of their keys (each
    /// table's read and write, then its GSIs').
    #[must_use]
    pub fn finish(mut self) -> Vec<Track> {
        if self.seconds > 0 {
            self.close_minute();
        }
        if !self.minutes.is_multiple_of(self.minutes_per_point) {
            self.close_point();
        }
        for track in &mut self.tracks {
            track.minutes = self.minutes;
        }
        self.tracks.sort_by(|a, b| a.key.cmp(&b.key));
        self.tracks
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::resource::{Dimension, Resource};

    fn second(demand: f64, provisioned: u32, throttled: f64) -> Vec<Snapshot> {
        vec![Snapshot {
            resource: Resource::table("t"),
            dimension: Dimension::Write,
            demand,
            provisioned: Some(provisioned),
            throttled,
        }]
    }

    #[test]
    fn minutes_are_means_and_changes_are_kept_at_their_second() {
        let mut recorder = Recorder::new(90);
        for at in 0..90 {
            let (demand, units) = if at < 60 { (30.0, 10) } else { (60.0, 50) };
            recorder.record(at, &second(demand, units, (demand - 10.0_f64).max(0.0)));
        }
        let tracks = recorder.finish();
        assert_eq!(tracks.len(), 1);
        let t = &tracks[0];
        assert_eq!(t.initial, Some(10));
        assert_eq!((t.minutes, t.minutes_per_point), (2, 1));
        assert_eq!(
            t.points,
            vec![
                Minute {
                    demand: 30.0,
                    throttled: 20.0
                },
                Minute {
                    demand: 60.0,
                    throttled: 50.0
                }
            ]
        );
        assert_eq!(
            t.changes,
            vec![Change {
                at: 60,
                from: 10,
                to: 50
            }]
        );
        assert_eq!(t.provisioned_at(59), Some(10));
        assert_eq!(t.provisioned_at(60), Some(50));
    }

    #[test]
    fn nothing_recorded_gives_no_track() {
        assert!(Recorder::new(60).finish().is_empty());
    }

    #[test]
    fn a_month_keeps_a_day_of_points_each_the_peak_of_its_minutes() {
        let month = 30 * 86_400;
        let mut recorder = Recorder::new(month);
        for at in 0..month {
            let minute = at / 60;
            recorder.record(at, &second((minute % 7) as f64, 10, 0.0));
        }
        let t = &recorder.finish()[0];
        assert_eq!((t.minutes, t.minutes_per_point), (43_200, 30));
        assert_eq!(t.points.len(), 1440);
        assert!(
            t.points.iter().all(|p| (p.demand - 6.0).abs() < 1e-9),
            "{:?}",
            &t.points[..3]
        );
    }
}
