//! `simrq run FILE [--seed N] [--runs K] [--out DIR] [--force]`.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use clap::Args;

use super::progress::stderr_bar;
use super::EXIT_USAGE;
use crate::run::{base_dir_of, run_scenario_with_progress, RunOptions};
use crate::scenario::Scenario;
use crate::sim::SimDuration;

#[derive(Args, Debug)]
pub struct RunArgs {
    /// The scenario file (TOML).
    pub file: PathBuf,
    /// Root seed; default: the scenario's `[run] seed`, else one picked and printed.
    #[arg(long, value_parser = super::seed_arg)]
    pub seed: Option<u64>,
    /// Run this many seeds (seed, seed+1, …) on all cores and aggregate them.
    #[arg(long, default_value_t = 1)]
    pub runs: u64,
    /// Output directory; default `out/<scenario name>`.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Replace an existing output directory.
    #[arg(long)]
    pub force: bool,
    /// Skip the SVG/PNG charts.
    #[arg(long)]
    pub no_charts: bool,
    /// Which rows events.csv gets, overriding `[run] events`: all, faults (no routine job
    /// rows, lock refreshes or ticks) or none (no file; checks still see every event).
    #[arg(long, value_name = "ROWS")]
    pub events: Option<crate::scenario::EventRows>,
}

impl RunArgs {
    /// The run's options from the command line, for `seed` (the first, with `--runs`).
    pub(super) fn options(&self, seed: u64, out: &Path) -> RunOptions {
        RunOptions {
            seed,
            out: out.to_path_buf(),
            force: self.force,
            base_dir: base_dir_of(&self.file),
            scenario_label: self.file.display().to_string(),
            charts: !self.no_charts,
            events: self.events,
        }
    }
}

pub(super) fn load(file: &Path) -> Result<Scenario, i32> {
    match crate::scenario::load_with_warnings(file) {
        Ok(loaded) => {
            for warning in &loaded.warnings {
                eprintln!("{warning}");
            }
            Ok(loaded.scenario)
        }
        Err(error) => {
            eprintln!("error: {error}");
            Err(EXIT_USAGE)
        }
    }
}

/// A seed for runs that name none: from the clock, printed so that the run can be replayed.
fn fresh_seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    (nanos as u64) % 1_000_000_000
}

pub(super) fn scenario_stem(file: &Path) -> String {
    file.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "run".to_string())
}

/// `h:mm:ss` of a simulated span.
fn clock(span: SimDuration) -> String {
    let seconds = span.whole_secs();
    format!(
        "{}:{:02}:{:02}",
        seconds / 3_600,
        seconds / 60 % 60,
        seconds % 60
    )
}

pub fn run(args: RunArgs) -> i32 {
    if args.runs == 0 {
        eprintln!("error: --runs must be at least 1");
        return EXIT_USAGE;
    }
    let scenario = match load(&args.file) {
        Ok(scenario) => scenario,
        Err(code) => return code,
    };
    let seed = args.seed.or(scenario.run.seed).unwrap_or_else(fresh_seed);
    println!("seed: {seed}");
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("out").join(scenario_stem(&args.file)));
    if args.runs > 1 {
        return super::run_many::run_many(&scenario, &args, seed, &out);
    }
    let options = args.options(seed, &out);
    // A 24-hour scenario with 50 pods takes minutes: show the simulated time reached.
    let bar = stderr_bar(0, "{bar:40} {msg}, {elapsed} ({eta})");
    let result = run_scenario_with_progress(&scenario, &options, &|done, total| {
        bar.set_length(total.whole_secs());
        bar.set_position(done.whole_secs());
        bar.set_message(format!("{} of {} simulated", clock(done), clock(total)));
    });
    bar.finish_and_clear();
    match result {
        Ok(result) => {
            print!("{}", result.terminal_table(std::io::stdout().is_terminal()));
            println!("outputs: {}", out.display());
            if result.exit_code() != 0 {
                println!("replay: {}", result.summary.replay);
            }
            result.exit_code()
        }
        Err(error) => {
            eprintln!("error: {error}");
            EXIT_USAGE
        }
    }
}
