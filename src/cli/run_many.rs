//! `simrq run FILE --runs K`: K seeds side by side on every core, then aggregated.

use std::io::IsTerminal;
use std::path::Path;

use indicatif::{ProgressBar, ProgressStyle};

use super::run_cmd::RunArgs;
use super::EXIT_USAGE;
use crate::run::{base_dir_of, run_many_with_progress, RunOptions};
use crate::scenario::Scenario;

/// A progress bar on stderr when it is a terminal; a hidden one (drawing nothing) otherwise.
fn progress_bar(runs: u64) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(runs);
    if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len} runs, {elapsed} ({eta})")
    {
        bar.set_style(style);
    }
    bar
}

pub fn run_many(scenario: &Scenario, args: &RunArgs, seed: u64, out: &Path) -> i32 {
    let Some(end) = seed.checked_add(args.runs) else {
        eprintln!("error: seed {seed} + {} runs overflows", args.runs);
        return EXIT_USAGE;
    };
    let options = RunOptions {
        seed,
        out: out.to_path_buf(),
        force: args.force,
        base_dir: base_dir_of(&args.file),
        scenario_label: args.file.display().to_string(),
        charts: !args.no_charts,
        events_csv: true,
    };
    let bar = progress_bar(args.runs);
    let result = run_many_with_progress(scenario, &options, seed..end, 0, &|| bar.inc(1));
    bar.finish_and_clear();
    match result {
        Ok(many) => {
            print!("{}", many.aggregate.terminal_table());
            println!("outputs: {}", out.display());
            for failed in &many.aggregate.failed_seeds {
                println!(
                    "replay: simrq run {} --seed {failed}",
                    options.scenario_label
                );
            }
            many.aggregate.exit_code()
        }
        Err(error) => {
            eprintln!("error: {error}");
            EXIT_USAGE
        }
    }
}
