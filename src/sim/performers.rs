//! The performers: the teams whose ingest-clients upload tiles. They follow their plan (tiles
//! per second over time) and read the controller's messages. A pause message makes them lower
//! their rate to `pause_share` of it after a seeded compliance delay (people read mail, then
//! stop their clients); a resume message lets them return, after another such delay, to
//! `resume_share` of their pre-pause rate (they restart with a lower `ingest-client -p`). The
//! shares compound: a second pause and resume leave them at 0.7 × 0.7 of the plan.
//!
//! Messages are recognised by their subject: the controller starts every subject with
//! `[remediator] PAUSE` (a pause, a reminder or the alarm), `[remediator] RESUME` or
//! `[remediator] ALERT` (other alarms, which the performers ignore).

use super::activity::PerformersSpec;
use super::scenario::interpolate;
use super::seeded::{hash, unit};
use crate::domain::notice::Channel;
use serde::Serialize;

pub const PAUSE_PREFIX: &str = "[remediator] PAUSE";
pub const RESUME_PREFIX: &str = "[remediator] RESUME";

/// One message the controller sent (the performers and on-call read it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Received {
    /// Seconds since the scenario began.
    pub at: u64,
    pub channel: Channel,
    pub subject: String,
}

/// Something the performers did about a message, when they did it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Complied {
    pub at: u64,
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Running,
    /// Told to pause; their clients stop at the second given.
    PausePending(u64),
    Paused,
    /// Told to resume; their clients start again at the second given.
    ResumePending(u64),
}

#[derive(Debug, Clone)]
pub struct Performers {
    spec: PerformersSpec,
    seed: u64,
    /// The share of the plan they upload.
    factor: f64,
    before_pause: f64,
    state: State,
    pub complied: Vec<Complied>,
    /// Pauses they carried out.
    pub pauses: u32,
    /// Seconds their clients were held back by a pause.
    pub paused_seconds: u64,
}

impl Performers {
    #[must_use]
    pub fn new(spec: &PerformersSpec, seed: u64) -> Self {
        Self {
            spec: spec.clone(),
            seed,
            factor: 1.0,
            before_pause: 1.0,
            state: State::Running,
            complied: Vec::new(),
            pauses: 0,
            paused_seconds: 0,
        }
    }

    /// The planned rate in tiles per second at a scenario second, with the seeded noise.
    #[must_use]
    pub fn planned(&self, second: u64) -> f64 {
        let noise = if self.spec.noise > 0.0 {
            1.0 + self.spec.noise * (2.0 * unit(hash(&[self.seed, 0x7113, second / 60])) - 1.0)
        } else {
            1.0
        };
        interpolate(&self.spec.points, second) * noise
    }

    /// The share of the plan they upload now.
    #[must_use]
    pub fn factor(&self) -> f64 {
        self.factor
    }

    /// Whether their clients are held back by a pause now.
    #[must_use]
    pub fn paused(&self) -> bool {
        matches!(self.state, State::Paused | State::ResumePending(_))
    }

    /// Carries out a change whose delay is over; returns the tiles uploaded this second.
    pub fn step(&mut self, second: u64) -> f64 {
        match self.state {
            State::PausePending(due) if second >= due => {
                self.before_pause = self.factor;
                self.factor *= self.spec.pause_share;
                self.state = State::Paused;
                self.pauses += 1;
                self.complied.push(Complied {
                    at: second,
                    text: format!(
                        "paused: clients stopped, {:.0} % of the plan still uploading",
                        self.factor * 100.0
                    ),
                });
            }
            State::ResumePending(due) if second >= due => {
                self.factor = self.before_pause * self.spec.resume_share;
                self.state = State::Running;
                self.complied.push(Complied {
                    at: second,
                    text: format!(
                        "resumed with fewer processes: {:.0} % of the plan",
                        self.factor * 100.0
                    ),
                });
            }
            _ => {}
        }
        if self.paused() {
            self.paused_seconds += 1;
        }
        self.planned(second) * self.factor
    }

    /// Reads one message (the world records it). Reminders of a pause already carried out
    /// change nothing; a resume before the pause was carried out cancels it.
    pub fn receive(&mut self, second: u64, subject: &str) {
        let (lo, hi) = self.spec.compliance_seconds;
        let due = second + lo + hash(&[self.seed, 0xC0_4D1E, second]) % (hi - lo + 1);
        if subject.starts_with(PAUSE_PREFIX) {
            self.state = match self.state {
                State::Running => State::PausePending(due),
                State::ResumePending(_) => State::Paused,
                other => other,
            };
        } else if subject.starts_with(RESUME_PREFIX) {
            self.state = match self.state {
                State::PausePending(_) => State::Running,
                State::Paused => State::ResumePending(due),
                other => other,
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn performers() -> Performers {
        Performers::new(
            &PerformersSpec {
                points: vec![(0, 100.0)],
                noise: 0.0,
                compliance_seconds: (120, 300),
                pause_share: 0.25,
                resume_share: 0.7,
            },
            3,
        )
    }

    /// Steps to `to` and returns the rates of the last second.
    fn run(p: &mut Performers, from: u64, to: u64) -> f64 {
        (from..to).map(|s| p.step(s)).last().unwrap_or(0.0)
    }

    #[test]
    fn a_pause_is_carried_out_after_the_compliance_delay_and_a_resume_returns_lower() {
        let mut p = performers();
        assert!((run(&mut p, 0, 100) - 100.0).abs() < 1e-9);
        p.receive(100, "[remediator] PAUSE uploads: x drifting");
        // Within the compliance delay nothing changes yet.
        assert!((run(&mut p, 100, 220) - 100.0).abs() < 1e-9);
        let paused_at = p.complied.first().map(|c| c.at);
        assert!(paused_at.is_none());
        assert!((run(&mut p, 220, 401) - 25.0).abs() < 1e-9);
        let paused_at = p.complied.first().map_or(0, |c| c.at);
        assert!((220..=400).contains(&paused_at), "{paused_at}");
        assert_eq!(p.pauses, 1);
        // A reminder changes nothing; an alert is ignored.
        p.receive(500, "[remediator] PAUSE still in effect: 1h");
        p.receive(510, "[remediator] ALERT redis-cpu: c1");
        assert!((run(&mut p, 401, 900) - 25.0).abs() < 1e-9);
        p.receive(900, "[remediator] RESUME uploads: paused since x");
        assert!((run(&mut p, 900, 1201) - 70.0).abs() < 1e-9);
        assert_eq!((p.pauses, p.complied.len()), (1, 2));
        assert!(p.paused_seconds >= 500 + 120, "{}", p.paused_seconds);
        // A second episode compounds the shares.
        p.receive(1300, "[remediator] PAUSE uploads");
        run(&mut p, 1201, 1700);
        p.receive(1700, "[remediator] RESUME uploads");
        assert!((run(&mut p, 1700, 2100) - 49.0).abs() < 1e-9);
    }

    #[test]
    fn a_resume_before_the_pause_was_carried_out_cancels_it() {
        let mut p = performers();
        p.receive(10, "[remediator] PAUSE uploads");
        p.receive(20, "[remediator] RESUME uploads");
        assert!((run(&mut p, 0, 1000) - 100.0).abs() < 1e-9);
        assert_eq!((p.pauses, p.paused_seconds), (0, 0));
    }

    #[test]
    fn compliance_delays_are_seeded_and_within_the_range() {
        let mut delays = Vec::new();
        for at in [0, 61, 3_600, 7_777] {
            let mut p = performers();
            p.receive(at, "[remediator] PAUSE uploads");
            run(&mut p, at, at + 400);
            let done = p.complied.first().map_or(u64::MAX, |c| c.at) - at;
            assert!((120..=300).contains(&done), "{done}");
            delays.push(done);
        }
        let mut again = performers();
        again.receive(61, "[remediator] PAUSE uploads");
        run(&mut again, 61, 461);
        assert_eq!(again.complied.first().map(|c| c.at - 61), Some(delays[1]));
    }
}
