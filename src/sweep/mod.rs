//! `simrq sweep` and `simrq merge`: a grid of scenario variations, each point run with K seeds,
//! summarised in two tidy CSV files for capacity planning.
//!
//! ```text
//!  scenario + --set options ──Grid──► points ──set_path::apply──► one validated Scenario each
//!        points × seeds ──rayon (one whole simulation per task)──► Row (figures of one run)
//!        rows sorted by (point, seed) ──► sweep.csv ──read back──► sweep-summary.csv
//!  --shard I/N keeps the points with index % N == I;  merge = union of shards' sweep.csv
//! ```
//!
//! Each simulation is single-threaded and builds its own world inside its task, so a result
//! depends only on (point, seed), never on the number of cores or shards. The summary is always
//! computed from `sweep.csv` as written, so a merged sweep has the same bytes as a single one.
//! Seeds are the same for every point (`seed`, `seed+1`, …): common random numbers make the
//! differences between points sharper than independent seeds would.

pub mod figures;
pub mod files;
pub mod grid;
pub mod set_path;

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::report::{OutputDir, ReportError};
use crate::run::{run_scenario, RunOptions, RunResult};
use crate::scenario::Scenario;

pub use figures::{FIGURES, WAITED_THRESHOLD_S};
pub use files::{merge, read_sweep, Row, SweepData};
pub use grid::{Dimension, Grid, Point, Shard};

/// `sweep.json`: what a sweep ran, enough to rerun any row of it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// The scenario file as named on the command line.
    pub scenario: String,
    /// Folder that relative trace paths of the scenario are resolved from.
    pub base_dir: String,
    /// Config hash of the scenario before `--set`.
    pub config_hash: String,
    pub seed: u64,
    pub runs: u64,
    pub points: usize,
    pub grid: Grid,
    /// The slice this directory holds; absent for a whole (or merged) sweep.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shard: Option<Shard>,
}

/// The file names in a sweep directory.
pub const SWEEP_CSV: &str = "sweep.csv";
pub const SWEEP_SUMMARY_CSV: &str = "sweep-summary.csv";
pub const MANIFEST_JSON: &str = "sweep.json";
/// A copy of the scenario file, so that a sweep directory is self-contained.
pub const SCENARIO_COPY: &str = "scenario.toml";

/// Why a sweep could not run or could not be read (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error("{0}")]
    Input(String),
    #[error("{0}")]
    Output(#[from] ReportError),
}

/// A sweep to run.
pub struct SweepPlan {
    pub manifest: Manifest,
    /// The scenario file's text (copied into the sweep directory).
    pub scenario_text: String,
    pub base: Scenario,
}

impl SweepPlan {
    pub fn new(
        base: Scenario,
        scenario_text: String,
        label: &str,
        base_dir: &Path,
        grid: Grid,
        seed: u64,
        runs: u64,
    ) -> SweepPlan {
        let manifest = Manifest {
            scenario: label.to_string(),
            base_dir: base_dir.display().to_string(),
            config_hash: crate::run::config_hash(&base),
            seed,
            runs,
            points: grid.len(),
            grid,
            shard: None,
        };
        SweepPlan {
            manifest,
            scenario_text,
            base,
        }
    }

    /// The scenario of one point, validated.
    pub fn scenario_at(&self, point: &Point) -> Result<Scenario, String> {
        let assignments: Vec<(&str, &str)> = self
            .manifest
            .grid
            .paths()
            .into_iter()
            .zip(point.values.iter().map(String::as_str))
            .collect();
        set_path::apply(&self.base, &assignments)
    }

    /// The seeds every point runs with.
    pub fn seeds(&self) -> Vec<u64> {
        (0..self.manifest.runs)
            .map(|k| self.manifest.seed + k)
            .collect()
    }

    /// Options for one run of a sweep: no events.csv, no charts, a scratch directory.
    pub fn run_options(&self, seed: u64, out: &Path) -> RunOptions {
        let mut options = RunOptions::new(seed, out, &self.manifest.scenario);
        options.force = true;
        options.base_dir = PathBuf::from(&self.manifest.base_dir);
        options.charts = false;
        options.events = Some(crate::scenario::EventRows::None);
        options
    }
}

/// Runs every point of `plan` that `shard` holds (all when `None`) with every seed, on all
/// cores, and writes the sweep directory `out`. `progress` is told of each finished run.
pub fn run_sweep(
    plan: &SweepPlan,
    shard: Option<Shard>,
    out: &Path,
    force: bool,
    progress: &(dyn Fn() + Sync),
) -> Result<SweepData, SweepError> {
    let dir = OutputDir::create(out, force)?;
    let points: Vec<(Point, Scenario)> = plan
        .manifest
        .grid
        .points()
        .into_iter()
        .filter(|p| shard.is_none_or(|s| s.holds(p.index)))
        .map(|p| plan.scenario_at(&p).map(|s| (p, s)))
        .collect::<Result<_, _>>()
        .map_err(SweepError::Input)?;
    let tasks: Vec<(&Point, &Scenario, u64)> = points
        .iter()
        .flat_map(|(p, s)| plan.seeds().into_iter().map(move |seed| (p, s, seed)))
        .collect();
    let scratch = out.join(".runs");
    let rows: Vec<Row> = tasks
        .par_iter()
        .map(|(point, scenario, seed)| {
            let row = run_point(plan, point, scenario, *seed, &scratch);
            progress();
            row
        })
        .collect::<Result<_, _>>()?;
    let _ = std::fs::remove_dir_all(&scratch);
    let mut manifest = plan.manifest.clone();
    manifest.shard = shard;
    files::write_sweep(&dir, &manifest, &plan.scenario_text, rows)
}

/// One run of one point: its figures, read off the result and its scratch directory.
fn run_point(
    plan: &SweepPlan,
    point: &Point,
    scenario: &Scenario,
    seed: u64,
    scratch: &Path,
) -> Result<Row, SweepError> {
    let run_dir = scratch.join(format!("p{}-s{}", point.index, seed));
    let result = run_scenario(scenario, &plan.run_options(seed, &run_dir))
        .map_err(|e| SweepError::Input(format!("point {} seed {seed}: {e}", point.index)))?;
    let figures = figures::figures(&result, scenario, &run_dir);
    let _ = std::fs::remove_dir_all(&run_dir);
    Ok(Row {
        point: point.index,
        seed,
        values: point.values.clone(),
        figures,
        failed_checks: failed_checks(&result),
    })
}

/// The names of the checks a run failed, `;`-separated.
fn failed_checks(result: &RunResult) -> String {
    result
        .summary
        .checks
        .iter()
        .filter(|(_, verdict)| **verdict == crate::report::summary::Verdict::Fail)
        .map(|(name, _)| name.as_str())
        .collect::<Vec<_>>()
        .join(";")
}

/// Reruns one row of a sweep with every output on (events, charts), into `out`: the way to
/// look at any number of a sweep in full.
pub fn rerun(
    plan: &SweepPlan,
    point: usize,
    seed: u64,
    out: &Path,
    charts: bool,
) -> Result<(Scenario, RunResult), SweepError> {
    let point = plan.manifest.grid.point(point);
    let scenario = plan.scenario_at(&point).map_err(SweepError::Input)?;
    let mut options = plan.run_options(seed, out);
    options.charts = charts;
    let result = run_scenario(&scenario, &options)
        .map_err(|e| SweepError::Input(format!("point {} seed {seed}: {e}", point.index)))?;
    Ok((scenario, result))
}
