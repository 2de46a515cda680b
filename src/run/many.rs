//! Many seeds of one scenario side by side: `simrq run FILE --runs K`.
//!
//! ```text
//!  seeds s..s+K ──► rayon pool (threads) ── each task: its own Scenario clone, World, kernel
//!                                                 │ writes <out>/seed-<N>/
//!                                                 ▼
//!                    summaries collected in seed order ──► Aggregate ──► aggregate.json, runs.csv
//! ```
//!
//! A simulation is single-threaded and shares nothing (its `Rc`s never leave the task that
//! built it); only its `Summary`, plain data, crosses threads. Results are merged in seed
//! order, so the files are the same bytes whatever the number of threads.

use std::ops::Range;

use rayon::prelude::*;

use super::aggregate::Aggregate;
use super::{run_scenario, RunError, RunOptions};
use crate::report::{OutputDir, Summary};
use crate::scenario::Scenario;

/// What [`run_many`] produced.
#[derive(Clone, Debug)]
pub struct ManyResult {
    /// One per seed, in seed order.
    pub summaries: Vec<Summary>,
    pub aggregate: Aggregate,
}

/// The output folder of one seed's run inside a many-run output folder.
pub fn seed_dir_name(seed: u64) -> String {
    format!("seed-{seed}")
}

/// Runs `scenario` once per seed of `seeds` on a pool of `threads` threads (0: one per core),
/// each into `<options.out>/seed-<N>/`, then writes `aggregate.json` and `runs.csv` into
/// `options.out`. `options.seed` is ignored.
pub fn run_many(
    scenario: &Scenario,
    options: &RunOptions,
    seeds: Range<u64>,
    threads: usize,
) -> Result<ManyResult, RunError> {
    run_many_with_progress(scenario, options, seeds, threads, &|| {})
}

/// [`run_many`], calling `on_run_done` (from any thread) as each run ends.
pub fn run_many_with_progress(
    scenario: &Scenario,
    options: &RunOptions,
    seeds: Range<u64>,
    threads: usize,
    on_run_done: &(dyn Fn() + Sync),
) -> Result<ManyResult, RunError> {
    if seeds.is_empty() {
        return Err(RunError::Input("--runs needs at least one run".to_string()));
    }
    let dir = OutputDir::create(&options.out, options.force)?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| RunError::Input(format!("cannot start {threads} threads: {e}")))?;
    let tasks: Vec<(u64, Scenario, RunOptions)> = seeds
        .map(|seed| (seed, scenario.clone(), seed_options(options, seed)))
        .collect();
    let results: Vec<Result<Summary, RunError>> = pool.install(|| {
        tasks
            .into_par_iter()
            .map(|(_, scenario, seed_options)| {
                let result = run_scenario(&scenario, &seed_options).map(|run| run.summary);
                on_run_done();
                result
            })
            .collect()
    });
    let summaries = results
        .into_iter()
        .collect::<Result<Vec<Summary>, RunError>>()?;
    let aggregate = Aggregate::build(&summaries);
    aggregate.write(&dir, &summaries)?;
    Ok(ManyResult {
        summaries,
        aggregate,
    })
}

fn seed_options(options: &RunOptions, seed: u64) -> RunOptions {
    RunOptions {
        seed,
        out: options.out.join(seed_dir_name(seed)),
        ..options.clone()
    }
}
