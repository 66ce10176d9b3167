//! `remediator simulate`: scenarios in virtual time, one controller or all, one seed or many.

use crate::support::{BadInput, load_policy, runtime};
use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle as BarStyle};
use remediator::cli::{Output, SimulateArgs};
use remediator::policy::Policy;
use remediator::sim::scenario::SHIPPED;
use remediator::sim::seeds::Seeds;
use remediator::sim::{self, ControllerKind, Scenario};
use std::io::IsTerminal as _;
use std::path::Path;
use std::process::ExitCode;

/// The scenario argument that stands for every shipped scenario.
const ALL_SCENARIOS: &str = "all";

/// Runs the subcommand with its arguments; the exit status follows the README's rules.
pub fn execute(args: SimulateArgs) -> anyhow::Result<ExitCode> {
    let SimulateArgs {
        scenario,
        policy,
        compare,
        controller,
        seed,
        seeds,
        goal,
        output,
        plot,
    } = args;
    let policy = load_policy(policy.as_deref())?;
    if scenario == ALL_SCENARIOS || seeds.is_some() {
        let many = Many {
            compare,
            seed,
            seeds: seeds.as_ref(),
            goal,
            output,
            plot: plot.as_deref(),
        };
        return simulate_many(&scenario, &policy, &many);
    }
    let mut scenario = Scenario::load(&scenario)?;
    if let Some(seed) = seed {
        scenario.seed = seed;
    }
    let runtime = runtime()?;
    if compare {
        let results: Vec<sim::RunResult> = ControllerKind::ALL
            .iter()
            .map(|k| runtime.block_on(sim::run(&scenario, &policy, *k)))
            .collect();
        let rows: Vec<sim::Summary> = results.iter().map(|r| r.summary.clone()).collect();
        match output {
            Output::Json => println!("{}", serde_json::to_string_pretty(&rows)?),
            Output::Text => print!(
                "{}",
                sim::report::comparison(&scenario.name, scenario.seed, &rows)
            ),
        }
        if let Some(path) = &plot {
            sim::plot::write_svg(path, &results)?;
        }
    } else {
        let result = runtime.block_on(sim::run(&scenario, &policy, controller));
        match output {
            Output::Json => println!("{}", serde_json::to_string_pretty(&result)?),
            Output::Text => {
                println!("scenario {}: {}", scenario.name, scenario.description);
                print!("{}", sim::report::timeline(&result.timeline));
                print!("{}", sim::report::summary(&result));
            }
        }
        if let Some(path) = &plot {
            sim::plot::write_svg(path, std::slice::from_ref(&result))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// How `simulate --compare` runs many simulations (`all`, `--seeds`).
struct Many<'a> {
    compare: bool,
    seed: Option<u64>,
    seeds: Option<&'a Seeds>,
    goal: bool,
    output: Output,
    plot: Option<&'a Path>,
}

/// `simulate --compare` over every shipped scenario (`all`) and/or many seeds: the runs go in
/// parallel, one thread per core, with progress on stderr; then a table per scenario, the total,
/// and with `--goal` the verdicts (exit 1 when any fails).
fn simulate_many(name: &str, policy: &Policy, many: &Many<'_>) -> anyhow::Result<ExitCode> {
    if !many.compare {
        return Err(BadInput(format!(
            "the scenario `{ALL_SCENARIOS}` needs --compare (it runs every controller)"
        ))
        .into());
    }
    if name == ALL_SCENARIOS && many.plot.is_some() {
        return Err(BadInput(format!(
            "--plot draws one scenario: name it instead of `{ALL_SCENARIOS}`"
        ))
        .into());
    }
    let mut scenarios = if name == ALL_SCENARIOS {
        SHIPPED
            .iter()
            .map(|(n, _)| Scenario::load(n))
            .collect::<Result<Vec<_>, _>>()?
    } else {
        vec![Scenario::load(name)?]
    };
    if let Some(seed) = many.seed {
        for s in &mut scenarios {
            s.seed = seed;
        }
    }
    let seeds = many.seeds.map(Seeds::as_slice);
    let total = scenarios.len() * seeds.map_or(1, <[u64]>::len) * ControllerKind::ALL.len();
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let started = std::time::Instant::now();
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
        let style = BarStyle::with_template("{bar:30} {pos}/{len} runs · {elapsed} · {msg}")
            .unwrap_or_else(|_| BarStyle::default_bar());
        bar.set_style(style);
        bar
    });
    let show = |f: sim::batch::Finished<'_>| {
        let what = format!("{} seed {} {}", f.scenario, f.seed, f.controller);
        match &bar {
            Some(bar) => {
                bar.set_position(f.done as u64);
                bar.set_message(what);
            }
            None => eprintln!(
                "[{}/{}] {:>5.0}s {what}",
                f.done,
                f.total,
                started.elapsed().as_secs_f64()
            ),
        }
    };
    let runs = sim::batch::compare(&scenarios, seeds, policy, threads, &show)
        .context("starting a simulation thread")?;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let blocks = sim::seeds::blocks(&runs);
    let verdicts = many.goal.then(|| sim::goal::check(&runs));
    match many.output {
        Output::Json => println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "blocks": blocks,
                "goal": verdicts,
            }))?
        ),
        Output::Text => {
            print!("{}", sim::seeds::render(&blocks));
            if let Some(verdicts) = &verdicts {
                print!("{}", sim::goal::render(verdicts));
            }
        }
    }
    if let (Some(path), Some(scenario)) = (many.plot, scenarios.first()) {
        // The batch keeps summaries only: the first seed's runs again (a run is the same for
        // the same seed).
        let mut scenario = scenario.clone();
        if let Some(&seed) = seeds.and_then(<[u64]>::first) {
            scenario.seed = seed;
        }
        let runtime = runtime()?;
        let results: Vec<sim::RunResult> = ControllerKind::ALL
            .iter()
            .map(|k| runtime.block_on(sim::run(&scenario, policy, *k)))
            .collect();
        sim::plot::write_svg(path, &results)?;
    }
    Ok(match verdicts {
        Some(v) if !sim::goal::all_pass(&v) => ExitCode::FAILURE,
        _ => ExitCode::SUCCESS,
    })
}
