//! `simrq report`: a design-review report of a sweep (or of one scenario run with K seeds),
//! as `report.md` with SVG charts beside it and one self-contained `report.html`.
//!
//! ```text
//!  sweep dir (sweep.csv, sweep.json, scenario.toml) ──► tables: figures, SLOs, what-if
//!        └─ worst row rerun (same point, same seed) ──► lock timeline, queue depth
//!        └─ each variant rerun at that point and seed ──► retry lateness CDFs
//!  points × [redis] settings ──► jobs lost and run twice per million (redis.rs)
//!  scenarios/mmc.toml × seeds ──► Erlang C agreement (theory.rs)
//!  blocks (doc.rs) ──► report.md + charts/*.svg, report.html
//! ```
//!
//! Every number in a table is a mean over a point's seeds with its 95 % confidence interval,
//! labelled with the point, which is the `point` column of `sweep.csv`, whose rows carry the
//! seeds; any row can be rerun in full with the command the report prints.

pub mod charts;
pub mod cron;
pub mod doc;
pub mod redis;
pub mod sections;
pub mod slo;
pub mod theory;

use std::path::{Path, PathBuf};

use crate::report::OutputDir;
use crate::scenario::Scenario;
use crate::sweep::{SweepData, SweepError, SweepPlan};

use doc::Block;

/// How to write a report.
pub struct ReportOptions {
    pub out: PathBuf,
    pub force: bool,
    /// Seeds of the M/M/c check; `None` leaves the section out.
    pub theory_runs: Option<u64>,
    /// The command that regenerates the report, printed in it.
    pub command: String,
}

/// A sweep read back with its plan, for sections that rerun rows.
pub struct ReportInput<'a> {
    pub data: &'a SweepData,
    pub plan: SweepPlan,
    /// Where the sweep's files are, relative to the report (for links).
    pub sweep_dir: String,
}

impl ReportInput<'_> {
    pub fn new<'a>(data: &'a SweepData, sweep_dir: &str) -> Result<ReportInput<'a>, SweepError> {
        let manifest = &data.manifest;
        let base: Scenario = crate::scenario::parse(&data.scenario_text, &manifest.scenario)
            .map_err(|e| SweepError::Input(e.to_string()))?;
        let plan = SweepPlan::new(
            base,
            data.scenario_text.clone(),
            &manifest.scenario,
            Path::new(&manifest.base_dir),
            manifest.grid.clone(),
            manifest.seed,
            manifest.runs,
        );
        Ok(ReportInput {
            data,
            plan,
            sweep_dir: sweep_dir.to_string(),
        })
    }

    /// Mean ± CI of a figure at a point, formatted with `decimals`.
    pub fn cell(&self, point: usize, figure: &str, decimals: usize) -> String {
        match self.data.mean_ci(point, figure) {
            Some((mean, half)) if half.is_finite() && half > 0.0 => {
                format!("{mean:.decimals$} ± {half:.decimals$}")
            }
            Some((mean, _)) => format!("{mean:.decimals$}"),
            None => "–".to_string(),
        }
    }

    /// The point's `--set` values as `path=value` pairs.
    pub fn point_label(&self, point: usize) -> String {
        let values = self.plan.manifest.grid.point(point).values;
        let pairs: Vec<String> = self
            .plan
            .manifest
            .grid
            .paths()
            .iter()
            .zip(&values)
            .map(|(p, v)| format!("{}={v}", short_path(p)))
            .collect();
        if pairs.is_empty() {
            "as written".to_string()
        } else {
            pairs.join(", ")
        }
    }
}

/// The last two segments of a path (`worker.replicas`), enough to name it in a table.
pub fn short_path(path: &str) -> String {
    let segments: Vec<&str> = path.split('.').collect();
    segments[segments.len().saturating_sub(2)..].join(".")
}

/// Writes `report.md`, `charts/*.svg` and `report.html` into `options.out`.
pub fn write_report(
    input: &ReportInput<'_>,
    options: &ReportOptions,
) -> Result<PathBuf, SweepError> {
    let dir = OutputDir::create(&options.out, options.force)?;
    let charts_dir = OutputDir::create(&options.out.join("charts"), true)?;
    let scratch = options.out.join(".reruns");
    let mut blocks = sections::opening(input, &options.command);
    blocks.extend(sections::scenario_in_words(input));
    blocks.extend(sections::results_table(input));
    blocks.extend(slo::slo_section(input));
    blocks.extend(sections::charts(input, &scratch)?);
    blocks.extend(sections::what_if(input));
    blocks.extend(redis::redis_section(input));
    blocks.extend(cron::cron_section(input, &scratch)?);
    if let Some(runs) = options.theory_runs {
        let check = theory::check_mmc(
            theory::MMC_SCENARIO,
            "scenarios/mmc.toml",
            runs,
            &scratch.join("mmc"),
        )?;
        blocks.extend(sections::theory(&check));
    }
    blocks.extend(sections::assumptions(input));
    let _ = std::fs::remove_dir_all(&scratch);
    for block in &blocks {
        if let Block::Chart { name, svg, .. } = block {
            charts_dir.write_bytes(&format!("{name}.svg"), svg.as_bytes())?;
        }
    }
    let title = format!("simrq report: {}", input.plan.manifest.scenario);
    dir.write_bytes("report.md", doc::markdown(&blocks).as_bytes())?;
    dir.write_bytes("report.html", doc::html(&title, &blocks).as_bytes())?;
    Ok(options.out.join("report.md"))
}
