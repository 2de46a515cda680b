//! `simrq sweep FILE --set PATH=VALUES… [--runs K] [--seed N] [--shard I/N] [--out DIR]` and
//! `simrq merge SHARD_DIR… --out DIR`.

use std::path::{Path, PathBuf};

use super::progress::stderr_bar;
use clap::Args;

use super::EXIT_USAGE;
use crate::run::base_dir_of;
use crate::sweep::{merge, run_sweep, Grid, Shard, SweepData, SweepPlan};

#[derive(Args, Debug)]
pub struct SweepArgs {
    /// The scenario file (TOML).
    pub file: PathBuf,
    /// A dimension of the grid: PATH=V1,V2,… or PATH=A..B[:STEP] (integers, inclusive).
    /// Paths follow the file: pods.<group>.replicas, workload.<name or queue>.arrival.poisson_per_s,
    /// rq.variant, checks.max_queue_wait_p99 …
    #[arg(long = "set", value_name = "PATH=VALUES")]
    pub set: Vec<String>,
    /// Seeds per point (seed, seed+1, …).
    #[arg(long, default_value_t = 5)]
    pub runs: u64,
    /// First seed; default: the scenario's `[run] seed`, else 1.
    #[arg(long, value_parser = super::seed_arg)]
    pub seed: Option<u64>,
    /// Run only slice I of N (0 <= I < N), e.g. --shard $JOB_COMPLETION_INDEX/8.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
    /// Output directory; default `out/<scenario>-sweep` (`-shard-I-of-N` with --shard).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Replace an existing output directory.
    #[arg(long)]
    pub force: bool,
}

#[derive(Args, Debug)]
pub struct MergeArgs {
    /// Shard directories written by `simrq sweep --shard`.
    #[arg(required = true)]
    pub shards: Vec<PathBuf>,
    /// Output directory for the merged sweep.
    #[arg(long)]
    pub out: PathBuf,
    /// Replace an existing output directory.
    #[arg(long)]
    pub force: bool,
}

/// Builds the plan of a sweep from a scenario file and `--set` options.
pub fn plan(
    file: &Path,
    set: &[String],
    seed: Option<u64>,
    runs: u64,
) -> Result<SweepPlan, String> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("{}: cannot read the scenario: {e}", file.display()))?;
    let loaded = crate::scenario::load_with_warnings(file).map_err(|e| e.to_string())?;
    for warning in &loaded.warnings {
        eprintln!("{warning}");
    }
    let grid = Grid::parse(set)?;
    if runs == 0 {
        return Err("--runs must be at least 1".to_string());
    }
    let seed = seed.or(loaded.scenario.run.seed).unwrap_or(1);
    super::last_seed(seed, runs, "--seed/--runs")?;
    let label = file.display().to_string();
    Ok(SweepPlan::new(
        loaded.scenario,
        text,
        &label,
        &base_dir_of(file),
        grid,
        seed,
        runs,
    ))
}

/// Runs a plan with a progress bar on stderr.
pub fn run_with_progress(
    plan: &SweepPlan,
    shard: Option<Shard>,
    out: &Path,
    force: bool,
) -> Result<SweepData, String> {
    let held = (0..plan.manifest.points)
        .filter(|p| shard.is_none_or(|s| s.holds(*p)))
        .count() as u64;
    let template = "{bar:40} {pos}/{len} runs, {elapsed} elapsed, eta {eta}";
    let bar = stderr_bar(held * plan.manifest.runs, template);
    let result = run_sweep(plan, shard, out, force, &|| bar.inc(1));
    bar.finish_and_clear();
    result.map_err(|e| e.to_string())
}

pub fn run(args: SweepArgs) -> i32 {
    match sweep(&args) {
        Ok(code) => code,
        Err(message) => {
            eprintln!("error: {message}");
            EXIT_USAGE
        }
    }
}

fn sweep(args: &SweepArgs) -> Result<i32, String> {
    let shard = args.shard.as_deref().map(Shard::parse).transpose()?;
    let plan = plan(&args.file, &args.set, args.seed, args.runs)?;
    let stem = args
        .file
        .file_stem()
        .map_or("sweep".into(), |s| s.to_string_lossy().into_owned());
    let out = args.out.clone().unwrap_or_else(|| match shard {
        Some(s) => {
            PathBuf::from("out").join(format!("{stem}-sweep-shard-{}-of-{}", s.index, s.count))
        }
        None => PathBuf::from("out").join(format!("{stem}-sweep")),
    });
    println!(
        "seed: {} (seeds {}..={} at each of {} points)",
        plan.manifest.seed,
        plan.manifest.seed,
        plan.manifest.seed + plan.manifest.runs - 1,
        plan.manifest.points
    );
    let data = run_with_progress(&plan, shard, &out, args.force)?;
    println!(
        "{} runs of {} points: {}",
        data.rows.len(),
        data.points().len(),
        out.display()
    );
    Ok(0)
}

pub fn run_merge(args: MergeArgs) -> i32 {
    let shards: Vec<&Path> = args.shards.iter().map(PathBuf::as_path).collect();
    match merge(&shards, &args.out, args.force) {
        Ok(data) => {
            println!(
                "{} runs of {} points: {}",
                data.rows.len(),
                data.points().len(),
                args.out.display()
            );
            0
        }
        Err(error) => {
            eprintln!("error: {error}");
            EXIT_USAGE
        }
    }
}
