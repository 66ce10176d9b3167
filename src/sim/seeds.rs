//! Many seeds (`simulate --compare --seeds 1..10`): which seeds, every controller's figures
//! over them (mean and worst, each run set against the oracle of the same seed), and the tables
//! that show them.

use super::report::percent;
use super::runner::{ControllerKind, Summary, share};
use crate::source::excerpt;
use serde::Serialize;
use std::fmt::Write as _;

/// At most this many seeds in one `--seeds`: each seed is a run of every controller over every
/// scenario asked for, and 1,000 seeds of the shipped scenarios already take hours.
pub const MAX_SEEDS: usize = 1000;

/// The seeds of `--seeds`, in the order given, without repeats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seeds(Vec<u64>);

const FORMS: &str = "--seeds takes A..B (inclusive, e.g. 1..10) or a comma list (e.g. 3,7,11) \
                     of whole numbers from 0 to 18446744073709551615";

impl Seeds {
    /// Parses `A..B` (inclusive) or `a,b,c`.
    ///
    /// # Errors
    /// Not one of the forms, a range that runs backwards, a repeated seed, or more than
    /// [`MAX_SEEDS`]; the message names `--seeds` and the allowed forms.
    pub fn parse(text: &str) -> Result<Self, String> {
        let seed = |part: &str| {
            part.trim()
                .parse::<u64>()
                .map_err(|_| format!("`{}` is not a seed: {FORMS}", excerpt(part.trim())))
        };
        if let Some((a, b)) = text.split_once("..") {
            let (a, b) = (seed(a)?, seed(b)?);
            if a > b {
                return Err(format!(
                    "--seeds range {a}..{b} runs backwards: write A..B with A ≤ B"
                ));
            }
            let count = u128::from(b - a) + 1;
            if count > MAX_SEEDS as u128 {
                return Err(too_many(&count.to_string()));
            }
            return Ok(Self((a..=b).collect()));
        }
        let mut seeds: Vec<u64> = Vec::new();
        for part in text.split(',') {
            let s = seed(part)?;
            if seeds.contains(&s) {
                return Err(format!("--seeds names seed {s} twice"));
            }
            seeds.push(s);
            if seeds.len() > MAX_SEEDS {
                return Err(too_many(&format!("more than {MAX_SEEDS}")));
            }
        }
        Ok(Self(seeds))
    }

    #[must_use]
    pub fn as_slice(&self) -> &[u64] {
        &self.0
    }
}

/// The refusal of a `--seeds` that names `count` seeds, too many.
fn too_many(count: &str) -> String {
    format!("--seeds names {count} seeds; at most {MAX_SEEDS} (e.g. 1..{MAX_SEEDS})")
}

/// Every controller's summary for one scenario and seed.
#[derive(Debug, Clone, PartialEq)]
pub struct SeedRun {
    pub seed: u64,
    pub summaries: Vec<Summary>,
}

impl SeedRun {
    #[must_use]
    pub fn of(&self, kind: ControllerKind) -> Option<&Summary> {
        self.summaries.iter().find(|s| s.controller == kind.name())
    }
}

/// One scenario's runs, one per seed.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioRuns {
    pub scenario: String,
    /// Whether the scenario's demand comes from ingest jobs (`goal::job_driven`).
    pub job_driven: bool,
    pub runs: Vec<SeedRun>,
}

/// One controller's figures on one run, set against the oracle's on the same seed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Versus {
    pub throttled_requests: u64,
    pub throttled_share: f64,
    pub capacity_cost_usd: f64,
    /// Cost ÷ the oracle's cost: 1 when both are 0 (on-demand tables only), infinite when only
    /// the oracle's is; NaN without an oracle run.
    pub cost_vs_oracle: f64,
    /// Throttled requests beyond the oracle's, as a share of the demand (NaN without an oracle).
    pub beyond_oracle: f64,
}

impl Versus {
    #[must_use]
    pub fn new(s: &Summary, oracle: Option<&Summary>) -> Self {
        let (cost_vs_oracle, beyond_oracle) = oracle.map_or((f64::NAN, f64::NAN), |o| {
            let ratio = if o.capacity_cost_usd > 0.0 {
                s.capacity_cost_usd / o.capacity_cost_usd
            } else if s.capacity_cost_usd > 0.0 {
                f64::INFINITY
            } else {
                1.0
            };
            let beyond = s.throttled_requests.saturating_sub(o.throttled_requests);
            (ratio, share(beyond, s.requests_demanded))
        });
        Self {
            throttled_requests: s.throttled_requests,
            throttled_share: s.throttled_share,
            capacity_cost_usd: s.capacity_cost_usd,
            cost_vs_oracle,
            beyond_oracle,
        }
    }

    #[allow(clippy::cast_precision_loss)]
    fn throttled(&self) -> f64 {
        self.throttled_requests as f64
    }
}

/// A figure over many runs; for every figure here, higher is worse.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Spread {
    pub mean: f64,
    pub worst: f64,
}

impl Spread {
    fn of(values: &[f64]) -> Self {
        if values.is_empty() {
            return Self::default();
        }
        #[allow(clippy::cast_precision_loss)]
        let mean = values.iter().sum::<f64>() / values.len() as f64;
        // NaN (no oracle) wins, so a missing figure shows rather than hides.
        let worst =
            values.iter().copied().fold(
                f64::NEG_INFINITY,
                |a, b| if b.is_nan() || b > a { b } else { a },
            );
        Self { mean, worst }
    }
}

/// One controller's row: its figures over every run of a block.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    pub controller: &'static str,
    pub runs: usize,
    pub throttled_requests: Spread,
    pub throttled_share: Spread,
    pub capacity_cost_usd: Spread,
    pub cost_vs_oracle: Spread,
    pub beyond_oracle: Spread,
}

/// One table: a scenario over its seeds, or the total over every scenario.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Block {
    /// The scenario's name, or `total`.
    pub scenario: String,
    pub seeds: Vec<u64>,
    pub rows: Vec<Row>,
}

/// A block per scenario, then (with more than one scenario) the total over all their runs.
#[must_use]
pub fn blocks(scenarios: &[ScenarioRuns]) -> Vec<Block> {
    let mut out: Vec<Block> = scenarios
        .iter()
        .map(|s| block(&s.scenario, &s.runs.iter().collect::<Vec<_>>()))
        .collect();
    if scenarios.len() > 1 {
        let all: Vec<&SeedRun> = scenarios.iter().flat_map(|s| &s.runs).collect();
        out.push(block("total", &all));
    }
    out
}

fn block(name: &str, runs: &[&SeedRun]) -> Block {
    let mut controllers: Vec<&'static str> = Vec::new();
    for s in runs.iter().flat_map(|r| &r.summaries) {
        if !controllers.contains(&s.controller) {
            controllers.push(s.controller);
        }
    }
    let mut seeds: Vec<u64> = runs.iter().map(|r| r.seed).collect();
    seeds.sort_unstable();
    seeds.dedup();
    let rows = controllers
        .into_iter()
        .map(|controller| {
            let each: Vec<Versus> = runs
                .iter()
                .filter_map(|r| {
                    let oracle = r.of(ControllerKind::Oracle);
                    r.summaries
                        .iter()
                        .find(|s| s.controller == controller)
                        .map(|s| Versus::new(s, oracle))
                })
                .collect();
            let spread =
                |f: fn(&Versus) -> f64| Spread::of(&each.iter().map(f).collect::<Vec<_>>());
            Row {
                controller,
                runs: each.len(),
                throttled_requests: spread(Versus::throttled),
                throttled_share: spread(|v| v.throttled_share),
                capacity_cost_usd: spread(|v| v.capacity_cost_usd),
                cost_vs_oracle: spread(|v| v.cost_vs_oracle),
                beyond_oracle: spread(|v| v.beyond_oracle),
            }
        })
        .collect();
    Block {
        scenario: name.to_string(),
        seeds,
        rows,
    }
}

/// `1..10` for a run of consecutive seeds, else `3, 7, 11`.
#[must_use]
pub fn describe(seeds: &[u64]) -> String {
    match (seeds.first(), seeds.last()) {
        (Some(a), Some(b)) if seeds.windows(2).all(|w| w[1] == w[0] + 1) && a != b => {
            format!("{a}..{b}")
        }
        _ => seeds
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// The text tables: per block, one row per controller, mean and worst of each figure.
#[must_use]
pub fn render(blocks: &[Block]) -> String {
    let mut out = String::new();
    for b in blocks {
        let runs = b.rows.first().map_or(0, |r| r.runs);
        let title = if b.scenario == "total" {
            format!("total over every scenario ({runs} runs per controller)")
        } else {
            format!("scenario {}, seeds {}", b.scenario, describe(&b.seeds))
        };
        let _ = writeln!(out, "{title}");
        let _ = writeln!(
            out,
            "{:<16} {:>25} {:>21} {:>19} {:>15} {:>21}",
            "", "throttled req", "thr. share", "cost USD", "cost ÷ oracle", "beyond oracle"
        );
        let _ = writeln!(
            out,
            "{:<16} {:>12} {:>12} {:>10} {:>10} {:>9} {:>9} {:>7} {:>7} {:>10} {:>10}",
            "controller",
            "mean",
            "worst",
            "mean",
            "worst",
            "mean",
            "worst",
            "mean",
            "worst",
            "mean",
            "worst"
        );
        for r in &b.rows {
            let _ = writeln!(
                out,
                "{:<16} {:>12.0} {:>12.0} {:>10} {:>10} {:>9.2} {:>9.2} {:>7} {:>7} {:>10} {:>10}",
                r.controller,
                r.throttled_requests.mean,
                r.throttled_requests.worst,
                percent(r.throttled_share.mean),
                percent(r.throttled_share.worst),
                r.capacity_cost_usd.mean,
                r.capacity_cost_usd.worst,
                ratio(r.cost_vs_oracle.mean),
                ratio(r.cost_vs_oracle.worst),
                percent(r.beyond_oracle.mean),
                percent(r.beyond_oracle.worst),
            );
        }
        out.push('\n');
    }
    out
}

/// `1.23×`, or `n/a` without an oracle run.
fn ratio(x: f64) -> String {
    if x.is_nan() {
        "n/a".to_string()
    } else {
        format!("{x:.2}×")
    }
}
