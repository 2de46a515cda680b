//! `simrq run FILE --runs K`: K seeds side by side on every core, then aggregated.

use std::path::Path;

use super::progress::stderr_bar;
use super::run_cmd::RunArgs;
use super::EXIT_USAGE;
use crate::run::run_many_with_progress;
use crate::scenario::Scenario;

pub fn run_many(scenario: &Scenario, args: &RunArgs, seed: u64, out: &Path) -> i32 {
    let end = match super::last_seed(seed, args.runs, "--seed/--runs") {
        Ok(last) => last + 1,
        Err(error) => {
            eprintln!("error: {error}");
            return EXIT_USAGE;
        }
    };
    let options = args.options(seed, out);
    let bar = stderr_bar(args.runs, "{bar:40} {pos}/{len} runs, {elapsed} ({eta})");
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
