//! `simrq explore FILE [--seeds N] [--first-seed S] [--swarm] [--out DIR] [--no-shrink]`.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use clap::Args;

use super::run_cmd::{load, scenario_stem};
use super::EXIT_USAGE;
use crate::explore::write::write_shrunk;
use crate::explore::EXPLORED_CHECKS;
use crate::explore::{explore, shrink, Exploration, ExploreOptions, ShrinkOptions};
use crate::report::OutputDir;
use crate::run::base_dir_of;

#[derive(Args, Debug)]
pub struct ExploreArgs {
    /// The scenario file (TOML).
    pub file: PathBuf,
    /// How many seeds to run.
    #[arg(long, default_value_t = 1000)]
    pub seeds: u64,
    /// The first seed; seeds S, S+1, … are run.
    #[arg(long, default_value_t = 0, value_parser = super::seed_arg)]
    pub first_seed: u64,
    /// Swarm testing: each seed switches a random subset of the fault kinds off.
    #[arg(long)]
    pub swarm: bool,
    /// Where the shrunk scenarios go; default `out/<scenario name>-explore`.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Only count failures; do not shrink.
    #[arg(long)]
    pub no_shrink: bool,
    /// Most runs spent shrinking each failing check.
    #[arg(long, default_value_t = 400)]
    pub shrink_runs: usize,
}

pub fn run(args: ExploreArgs) -> i32 {
    let scenario = match load(&args.file) {
        Ok(scenario) => scenario,
        Err(code) => return code,
    };
    let options = ExploreOptions {
        first_seed: args.first_seed,
        seeds: args.seeds,
        swarm: args.swarm,
        base_dir: base_dir_of(&args.file),
        progress: std::io::stderr().is_terminal(),
    };
    let last = match super::last_seed(args.first_seed, args.seeds, "--first-seed/--seeds") {
        Ok(last) => last,
        Err(error) => {
            eprintln!("error: {error}");
            return EXIT_USAGE;
        }
    };
    println!(
        "exploring {} with seeds {}..={last}{}",
        args.file.display(),
        args.first_seed,
        if args.swarm { " (swarm)" } else { "" }
    );
    let exploration = match explore(&scenario, &options) {
        Ok(exploration) => exploration,
        Err(error) => {
            eprintln!("error: {error}");
            return EXIT_USAGE;
        }
    };
    print!("{}", failure_table(&exploration));
    if exploration.tallies.is_empty() {
        return 0;
    }
    if args.no_shrink {
        return 1;
    }
    let out = args.out.clone().unwrap_or_else(|| {
        PathBuf::from("out").join(format!("{}-explore", scenario_stem(&args.file)))
    });
    match shrink_all(&args, &scenario, &exploration, &options, &out) {
        Ok(()) => 1,
        Err(message) => {
            eprintln!("error: {message}");
            EXIT_USAGE
        }
    }
}

/// One line per check: failing seeds, per 1,000 seeds, the first failing seed.
fn failure_table(exploration: &Exploration) -> String {
    let mut text = format!(
        "{:<26} {:>8} {:>10}  first failing seed\n",
        "check", "seeds", "per 1000"
    );
    for &check in &exploration.checks {
        match exploration.tally(check) {
            Some(tally) => text.push_str(&format!(
                "{check:<26} {:>8} {:>10.1}  {}\n",
                tally.failed_seeds,
                exploration.per_thousand(check),
                tally.first_seed
            )),
            None => text.push_str(&format!("{check:<26} {:>8} {:>10.1}  -\n", 0, 0.0)),
        }
    }
    text.push_str(&format!("({} seeds)\n", exploration.seeds));
    text
}

fn shrink_all(
    args: &ExploreArgs,
    scenario: &crate::scenario::Scenario,
    exploration: &Exploration,
    options: &ExploreOptions,
    out: &Path,
) -> Result<(), String> {
    let dir = OutputDir::create(out, true).map_err(|e| e.to_string())?;
    for check in EXPLORED_CHECKS {
        // A file left by an earlier exploration must not pass for this one's.
        let _ = std::fs::remove_file(dir.file(&format!("{check}.toml")));
    }
    let explored = crate::explore::explored_scenario(scenario, options);
    let shrink_options = ShrinkOptions {
        base_dir: options.base_dir.clone(),
        max_runs: args.shrink_runs,
    };
    let origin = args.file.display().to_string();
    for tally in &exploration.tallies {
        println!(
            "shrinking `{}` (seed {}: {:.3} s, {})",
            tally.check, tally.first_seed, tally.first.time_s, tally.first.detail
        );
        let shrunk = shrink(&explored, tally.check, tally.first_seed, &shrink_options)
            .map_err(|e| e.to_string())?;
        let path = write_shrunk(&dir, &shrunk, &origin).map_err(|e| e.to_string())?;
        println!(
            "  {} changes in {} runs -> {}",
            shrunk.changes.len(),
            shrunk.runs,
            path.display()
        );
        println!(
            "  replay: simrq run {} --seed {}",
            path.display(),
            shrunk.seed
        );
    }
    Ok(())
}
