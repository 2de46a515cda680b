//! `simrq report (FILE | SWEEP_DIR) --out reports/NAME [--set PATH=VALUES…] [--runs K]`.

use std::path::{Path, PathBuf};

use clap::Args;

use super::sweep_cmd::{plan, run_with_progress};
use super::EXIT_USAGE;
use crate::review::{write_report, ReportInput, ReportOptions};
use crate::sweep::read_sweep;

#[derive(Args, Debug)]
pub struct ReportArgs {
    /// A scenario file (run as a sweep first) or a sweep directory.
    pub input: PathBuf,
    /// Output directory: report.md, report.html, charts/ (and sweep/ for a scenario file).
    #[arg(long)]
    pub out: PathBuf,
    /// For a scenario file: a sweep dimension, as for `simrq sweep`.
    #[arg(long = "set", value_name = "PATH=VALUES")]
    pub set: Vec<String>,
    /// For a scenario file: seeds per point (default 5).
    #[arg(long)]
    pub runs: Option<u64>,
    /// For a scenario file: the first seed.
    #[arg(long, value_parser = super::seed_arg)]
    pub seed: Option<u64>,
    /// Seeds of the M/M/c check against Erlang C.
    #[arg(long, default_value_t = 10)]
    pub theory_runs: u64,
    /// Leave out the M/M/c check.
    #[arg(long)]
    pub no_theory: bool,
    /// Replace an existing output directory.
    #[arg(long)]
    pub force: bool,
}

pub fn run(args: ReportArgs) -> i32 {
    match report(&args) {
        Ok(path) => {
            println!("report: {} and report.html", path.display());
            0
        }
        Err(message) => {
            eprintln!("error: {message}");
            EXIT_USAGE
        }
    }
}

/// The command line that regenerates this report, as the report prints it.
fn command(args: &ReportArgs) -> String {
    let mut words = vec![
        "simrq report".to_string(),
        args.input.display().to_string(),
        format!("--out {}", args.out.display()),
    ];
    words.extend(args.set.iter().map(|s| format!("--set {s}")));
    if args.input.is_file() {
        words.push(format!("--runs {}", args.runs.unwrap_or(DEFAULT_RUNS)));
        words.extend(args.seed.map(|s| format!("--seed {s}")));
    }
    words.push("--force".to_string());
    words.join(" ")
}

/// Seeds per point when a scenario file is run as a sweep without `--runs`.
const DEFAULT_RUNS: u64 = 5;

fn report(args: &ReportArgs) -> Result<PathBuf, String> {
    if args.input.is_dir() && (!args.set.is_empty() || args.runs.is_some() || args.seed.is_some()) {
        return Err(format!(
            "{} is a sweep directory, reported as it was run: --set, --runs and --seed apply \
             only to a scenario file",
            args.input.display()
        ));
    }
    let non_empty = args.out.read_dir().is_ok_and(|mut d| d.next().is_some());
    if non_empty && !args.force {
        return Err(format!(
            "{} is not empty; use --force to replace it",
            args.out.display()
        ));
    }
    let (sweep_dir, link) = if args.input.is_dir() {
        (args.input.clone(), relative_link(&args.input, &args.out))
    } else {
        let runs = args.runs.unwrap_or(DEFAULT_RUNS);
        let plan = plan(&args.input, &args.set, args.seed, runs)?;
        let dir = args.out.join("sweep");
        println!(
            "seed: {} ({} points × {} seeds)",
            plan.manifest.seed, plan.manifest.points, plan.manifest.runs
        );
        run_with_progress(&plan, None, &dir, true)?;
        (dir, "sweep".to_string())
    };
    let data = read_sweep(&sweep_dir).map_err(|e| e.to_string())?;
    let input = ReportInput::new(&data, &link).map_err(|e| e.to_string())?;
    let options = ReportOptions {
        out: args.out.clone(),
        force: true,
        theory_runs: (!args.no_theory).then_some(args.theory_runs),
        command: command(args),
    };
    write_report(&input, &options).map_err(|e| e.to_string())
}

/// How the report names the sweep directory: as given on the command line.
fn relative_link(sweep: &Path, _out: &Path) -> String {
    sweep.display().to_string()
}
