//! `simrq explore`: many seeds of one scenario on every core, how often each check failed, and
//! for the first failing seed of each check the smallest scenario that still fails it.
//!
//! ```text
//!  Scenario ──seeds first..first+N, one world per task (rayon)──► SeedReport per seed
//!                                                                     │ in seed order
//!                                                                     ▼
//!                                  Exploration: failures per check, first failing seed
//!                                                                     │ each failing check
//!                                                                     ▼
//!                 shrink::shrink ──► Shrunk (scenario, seed, what was removed) ──► file
//! ```
//!
//! Every result is merged in seed order and every shrinking step picks the first candidate in
//! a fixed order that still fails, so the output is the same whatever the number of cores.
//! A world holds `Rc`s and is not `Send`: each task builds, runs and drops its own, and only
//! plain data ([`SeedReport`]) crosses threads.

pub mod shrink;
pub mod write;

use std::path::PathBuf;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;

use crate::check::{dependencies, Violation, CHECK_ORDER};
use crate::run::{run_quietly, RunError, RunResult};
use crate::scenario::Scenario;

pub use shrink::{shrink, ShrinkOptions, Shrunk};

/// How to explore a scenario.
#[derive(Clone, Debug)]
pub struct ExploreOptions {
    /// The first seed; seeds `first_seed .. first_seed + seeds` are run.
    pub first_seed: u64,
    pub seeds: u64,
    /// Turn `[run] swarm` on: each seed switches a random subset of fault kinds off.
    pub swarm: bool,
    /// Relative trace paths are resolved from here (the scenario file's folder).
    pub base_dir: PathBuf,
    /// Draw a progress bar on stderr.
    pub progress: bool,
}

/// What one seed gave: the checks it failed, in [`EXPLORED_CHECKS`], with the first violation's
/// time and detail for each.
#[derive(Clone, Debug, PartialEq)]
pub struct SeedReport {
    pub seed: u64,
    pub failed: Vec<FailedCheck>,
}

/// The first violation of one check in one run.
#[derive(Clone, Debug, PartialEq)]
pub struct FailedCheck {
    pub check: &'static str,
    pub time_s: f64,
    pub detail: String,
}

/// How often one check failed over the seeds explored.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckTally {
    pub check: &'static str,
    /// Seeds with at least one violation of this check.
    pub failed_seeds: u64,
    pub first_seed: u64,
    pub first: FailedCheck,
}

/// The checks `explore` counts and shrinks, in their order: every run's, then the two of
/// job dependencies, which run when a workload has `depends_on`.
pub const EXPLORED_CHECKS: [&str; CHECK_ORDER.len() + 2] = {
    let mut checks = [""; CHECK_ORDER.len() + 2];
    let mut index = 0;
    while index < CHECK_ORDER.len() {
        checks[index] = CHECK_ORDER[index];
        index += 1;
    }
    checks[index] = dependencies::ORDER;
    checks[index + 1] = dependencies::STRANDED;
    checks
};

/// The seeds explored and the checks that failed, in [`EXPLORED_CHECKS`].
#[derive(Clone, Debug, PartialEq)]
pub struct Exploration {
    pub seeds: u64,
    /// The checks the scenario runs, in [`EXPLORED_CHECKS`] order.
    pub checks: Vec<&'static str>,
    pub tallies: Vec<CheckTally>,
}

impl Exploration {
    /// Failing seeds of `check` per 1,000 seeds.
    pub fn per_thousand(&self, check: &str) -> f64 {
        let failed = self
            .tallies
            .iter()
            .find(|t| t.check == check)
            .map_or(0, |t| t.failed_seeds);
        failed as f64 * 1000.0 / self.seeds.max(1) as f64
    }

    pub fn tally(&self, check: &str) -> Option<&CheckTally> {
        self.tallies.iter().find(|t| t.check == check)
    }
}

/// The first violation of each check in `violations`, in [`EXPLORED_CHECKS`].
pub fn failed_checks(violations: &[Violation]) -> Vec<FailedCheck> {
    EXPLORED_CHECKS
        .iter()
        .filter_map(|check| {
            let first = violations.iter().find(|v| v.check == *check)?;
            Some(FailedCheck {
                check: first.check,
                time_s: first.time.as_secs_f64(),
                detail: first.detail.clone(),
            })
        })
        .collect()
}

/// The scenario as explored: with `swarm`, `[run] swarm` is on.
pub fn explored_scenario(scenario: &Scenario, options: &ExploreOptions) -> Scenario {
    let mut explored = scenario.clone();
    explored.run.swarm |= options.swarm;
    explored
}

/// Runs one seed without writing files.
pub fn run_seed(
    scenario: &Scenario,
    seed: u64,
    options: &ExploreOptions,
) -> Result<RunResult, RunError> {
    run_quietly(scenario, seed, &options.base_dir)
}

/// Runs every seed on all cores and tallies the failed checks. An input error (the same for
/// every seed, such as a missing trace file) stops the exploration.
pub fn explore(scenario: &Scenario, options: &ExploreOptions) -> Result<Exploration, RunError> {
    let scenario = explored_scenario(scenario, options);
    let bar = progress_bar(options);
    let reports: Vec<Result<SeedReport, String>> = (0..options.seeds)
        .into_par_iter()
        .map(|index| {
            let seed = options.first_seed + index;
            let report = run_seed(&scenario, seed, options)
                .map(|result| SeedReport {
                    seed,
                    failed: failed_checks(&result.violations),
                })
                .map_err(|error| error.to_string());
            bar.inc(1);
            report
        })
        .collect();
    bar.finish_and_clear();
    let has_dependencies = scenario.workload.iter().any(|w| w.depends_on.is_some());
    let checks = EXPLORED_CHECKS
        .into_iter()
        .filter(|check| has_dependencies || CHECK_ORDER.contains(check))
        .collect();
    let mut exploration = Exploration {
        seeds: options.seeds,
        checks,
        tallies: Vec::new(),
    };
    for report in reports {
        tally(&mut exploration, &report.map_err(RunError::Input)?);
    }
    exploration
        .tallies
        .sort_by_key(|t| EXPLORED_CHECKS.iter().position(|c| *c == t.check));
    Ok(exploration)
}

fn tally(exploration: &mut Exploration, report: &SeedReport) {
    for failed in &report.failed {
        match exploration
            .tallies
            .iter_mut()
            .find(|t| t.check == failed.check)
        {
            Some(tally) => tally.failed_seeds += 1,
            None => exploration.tallies.push(CheckTally {
                check: failed.check,
                failed_seeds: 1,
                first_seed: report.seed,
                first: failed.clone(),
            }),
        }
    }
}

fn progress_bar(options: &ExploreOptions) -> ProgressBar {
    if !options.progress {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(options.seeds), ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template("{bar:40} {pos}/{len} seeds, {elapsed} (eta {eta})")
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar
}
