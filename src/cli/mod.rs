//! The command line: `simrq run | validate | schema | explore | sweep | report | compare |
//! calibrate`.
//! Exit codes: 0 every check held, 1 a check was violated, 2 bad input or usage.

mod calibrate_cmd;
mod explore_cmd;
mod progress;
mod report_cmd;
mod run_cmd;
mod run_many;
mod sweep_cmd;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Exit code for bad input or usage.
pub const EXIT_USAGE: i32 = 2;

/// The largest seed: the largest TOML integer, so that `[run] seed` in a scenario (and in the
/// files `explore` writes) can name every seed a command line accepts.
pub const MAX_SEED: u64 = i64::MAX as u64;

/// Parses a `--seed` or `--first-seed` value: a whole number from 0 to [`MAX_SEED`].
fn seed_arg(text: &str) -> Result<u64, String> {
    text.trim()
        .parse::<u64>()
        .ok()
        .filter(|seed| *seed <= MAX_SEED)
        .ok_or_else(|| {
            format!(
                "expected a whole number from 0 to {MAX_SEED} (the largest TOML integer, so \
                 that `[run] seed` can name it)"
            )
        })
}

/// The last of `count` seeds from `first`, or an error naming `flag` when it passes
/// [`MAX_SEED`].
pub fn last_seed(first: u64, count: u64, flag: &str) -> Result<u64, String> {
    first
        .checked_add(count.saturating_sub(1))
        .filter(|last| *last <= MAX_SEED)
        .ok_or_else(|| {
            format!(
                "{flag}: seeds {first}.. and {count} of them pass the largest seed {MAX_SEED} \
                 (the largest TOML integer)"
            )
        })
}

/// `simrq --version`: the build, and the versions of what it models.
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (models RQ 2.12.0 with redis-py 8.1 on Redis 7.0)"
);

#[derive(Parser, Debug)]
#[command(
    name = "simrq",
    version = VERSION,
    about = "Deterministic simulation of Python-RQ 2.12 deployments: retries, scheduler locks, pod churn",
    after_help = "Examples:\n  simrq run scenarios/pod-churn.toml\n  simrq run scenarios/scheduler-pause.toml --seed 7 --out out/pause --force\n  simrq run scenarios/pod-churn.toml --runs 20\n  simrq validate scenarios/pod-churn.toml\n  simrq schema > simrq-scenario.schema.json\n  simrq calibrate --redis redis://10.0.0.5:6379/0 --out calibrated.toml\n\nExit codes: 0 all checks hold, 1 a check was violated, 2 bad input or usage."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run a scenario: CSV files, summary.json, charts and a verdict.
    #[command(
        after_help = "Examples:\n  simrq run scenarios/pod-churn.toml\n  simrq run scenarios/holder-crash.toml --seed 3 --out out/crash --force\n  simrq run scenarios/pod-churn.toml --runs 16   # 16 seeds on all cores, with confidence intervals"
    )]
    Run(run_cmd::RunArgs),
    /// Run many seeds on all cores, count failures per check, shrink each to a minimal file.
    #[command(
        after_help = "Examples:\n  simrq explore scenarios/scheduler-pause.toml\n  simrq explore scenarios/pod-churn.toml --seeds 200 --swarm --out out/churn-explore"
    )]
    Explore(explore_cmd::ExploreArgs),
    /// Check a scenario file and report every problem with file, line, column and key.
    Validate {
        /// The scenario file (TOML).
        file: PathBuf,
    },
    /// Print the JSON Schema of the scenario format (for editors).
    Schema,
    /// Run a grid of scenario variations (points × seeds) on all cores: sweep.csv and
    /// sweep-summary.csv.
    #[command(
        after_help = "Examples:\n  simrq sweep scenarios/capacity.toml --set pods.worker.replicas=2..20 --set workload.default.arrival.poisson_per_s=5,10,20 --runs 5\n  simrq sweep scenarios/capacity.toml --set pods.worker.replicas=2..20 --shard $JOB_COMPLETION_INDEX/8 --out out/shard-$JOB_COMPLETION_INDEX"
    )]
    Sweep(sweep_cmd::SweepArgs),
    /// Combine the shard directories of `simrq sweep --shard` into one sweep directory.
    Merge(sweep_cmd::MergeArgs),
    /// Fit a scenario to an RQ 2.x deployment's Redis, read-only: arrivals, durations,
    /// failures, retries, timeouts, workers and the host's per-job cost.
    #[command(
        after_help = "Reads with SCAN/HMGET/ZCARD/SMEMBERS only (never KEYS, never a write); the written file opens with a comment giving, for every fitted value, its sample (n, window) and the fit's error, and carries a [calibration] table that `simrq report` quotes.\n\nExamples:\n  simrq calibrate --redis redis://10.0.0.5:6379/0 --out calibrated.toml\n  simrq calibrate --redis redis://:PASSWORD@redis:6379/0 --queues emails,reports --since 24h --out calibrated.toml\n  simrq calibrate --redis redis://127.0.0.1:6379/0 --trace --max-jobs 50000 --out replay.toml\n  simrq calibrate --redis redis://redis:6379/0 --k8s k8s/workers.yaml --k8s k8s/batch.yaml --out calibrated.toml\n  simrq validate calibrated.toml && simrq run calibrated.toml --runs 10"
    )]
    Calibrate(calibrate_cmd::CalibrateArgs),
    /// A design-review report (report.md and a self-contained report.html) of a scenario or
    /// a sweep directory.
    Report(report_cmd::ReportArgs),
    /// Compare a run of one scenario (usually real RQ) against simrq metric by metric: against
    /// one simulated run, or against the envelope of many seeds; exit 1 when a metric is
    /// outside its tolerance.
    #[command(
        after_help = "Each directory holds events.csv and jobs.csv, as `simrq run` and tests/conformance/harness.py write them.\n\nWith one SIM_DIR each metric is compared pairwise. With several (at least 100, one per seed; the conformance suite uses 300), each count of the real run must be one that at least 1 % of the seeds give, and each time metric must lie within the 1st-99th percentile of the seeds' values, widened by 0.5 s.\n\nExamples:\n  simrq compare runs/holder-crash/real runs/holder-crash/sim-1\n  simrq compare runs/holder-crash/real runs/holder-crash/sim-*"
    )]
    Compare {
        /// The reference run (e.g. real RQ, written by tests/conformance/harness.py).
        real: PathBuf,
        /// The simulated runs (written by `simrq run … --out DIR`): one, or one per seed.
        #[arg(required = true, num_args = 1..)]
        sims: Vec<PathBuf>,
        /// Print the report as JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Pairwise only: widen the takeover tolerance to this many seconds (default 2).
        #[arg(long, value_name = "SECONDS", default_value_t = crate::compare::TAKEOVER_TOLERANCE_S)]
        takeover_tolerance: f64,
        /// Compare retry delays by their medians only, with a 1 s envelope margin (pairwise:
        /// no KS test): for scenarios whose retries are immediate, so that their delay is
        /// the host's per-job cost.
        #[arg(long)]
        host_timed_delays: bool,
    },
}

/// Parses the command line and runs the command; returns the process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let code = if error.use_stderr() { EXIT_USAGE } else { 0 };
            let _ = error.print();
            return code;
        }
    };
    match cli.command {
        Command::Run(args) => run_cmd::run(args),
        Command::Explore(args) => explore_cmd::run(args),
        Command::Validate { file } => validate(&file),
        Command::Sweep(args) => sweep_cmd::run(args),
        Command::Merge(args) => sweep_cmd::run_merge(args),
        Command::Report(args) => report_cmd::run(args),
        Command::Calibrate(args) => calibrate_cmd::run(args),
        Command::Schema => {
            println!("{}", crate::scenario::json_schema());
            0
        }
        Command::Compare {
            real,
            sims,
            json,
            takeover_tolerance,
            host_timed_delays,
        } => crate::compare::run_compare_cli(&crate::compare::CompareRequest {
            real: &real,
            sims: &sims,
            json,
            takeover_tolerance_s: takeover_tolerance,
            host_timed_delays,
        }),
    }
}

fn validate(file: &std::path::Path) -> i32 {
    match crate::scenario::load_with_warnings(file) {
        Ok(loaded) => {
            for warning in &loaded.warnings {
                eprintln!("{warning}");
            }
            println!("{}: ok", file.display());
            0
        }
        Err(error) => {
            eprintln!("error: {error}");
            EXIT_USAGE
        }
    }
}
