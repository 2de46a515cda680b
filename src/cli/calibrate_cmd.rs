//! `simrq calibrate --redis URL [--queues a,b] [--since 24h] [--max-jobs N] [--trace]
//! [--k8s deployment.yaml …] --out scenario.toml`.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use clap::Args;

use super::progress::stderr_bar;
use super::EXIT_USAGE;
use crate::calibrate::record::format_utc;
use crate::calibrate::scan::{self, ScanOptions};
use crate::calibrate::write::{scenario_text, trace_csv, TraceNames};
use crate::calibrate::{calibrate, Calibration};
use crate::sim::SimDuration;

#[derive(Args, Debug)]
pub struct CalibrateArgs {
    /// The deployment's Redis, `redis://[:PASSWORD@]HOST:PORT/DB`; read only (SCAN, HMGET,
    /// SMEMBERS, ZCARD, LLEN, GET, DBSIZE).
    #[arg(long, value_name = "URL")]
    pub redis: String,
    /// Only these queues, comma-separated (default: every queue found).
    #[arg(long, value_delimiter = ',', value_name = "Q1,Q2")]
    pub queues: Option<Vec<String>>,
    /// Only jobs enqueued this long before now, e.g. `24h`, `90m` (default: every job found).
    #[arg(long, value_name = "DURATION")]
    pub since: Option<String>,
    /// Keep at most this many jobs: bounds memory (about 200 bytes a job) on a large Redis.
    #[arg(long, default_value_t = 200_000)]
    pub max_jobs: usize,
    /// Write each queue's arrivals as a trace CSV beside the scenario
    /// (`<out>.<queue>.arrivals.csv`) and use `{ trace = … }` instead of a fitted rate.
    #[arg(long)]
    pub trace: bool,
    /// A Kubernetes manifest of the workers' Deployments (repeatable; several YAML documents
    /// or a List per file): the pods, their grace period and rollout, and the `rq worker`
    /// options come from it instead of from the workers Redis saw.
    #[arg(long = "k8s", value_name = "FILE")]
    pub k8s: Vec<PathBuf>,
    /// The scenario file to write.
    #[arg(long)]
    pub out: PathBuf,
    /// Replace an existing --out file.
    #[arg(long)]
    pub force: bool,
}

pub fn run(args: CalibrateArgs) -> i32 {
    match calibrate_to_file(&args) {
        Ok(calibration) => {
            for warning in &calibration.warnings {
                eprintln!("warning: {warning}");
            }
            print_summary(&calibration, &args.out);
            0
        }
        Err(message) => {
            eprintln!("error: {message}");
            EXIT_USAGE
        }
    }
}

fn now_unix_s() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

fn calibrate_to_file(args: &CalibrateArgs) -> Result<Calibration, String> {
    if args.out.exists() && !args.force {
        return Err(format!(
            "{} exists; use --force to replace it",
            args.out.display()
        ));
    }
    if args.max_jobs == 0 {
        return Err("--max-jobs must be at least 1".to_string());
    }
    let since_unix_s = match &args.since {
        Some(text) => {
            let window = SimDuration::parse(text)
                .map_err(|e| format!("--since {text}: {e} (e.g. `24h`, `90m`)"))?;
            Some(now_unix_s() - window.as_secs_f64())
        }
        None => None,
    };
    // The manifests first: a typo in a path should not cost a scan of a large Redis.
    let manifests = match args.k8s.is_empty() {
        true => None,
        false => Some(crate::k8s::read_manifests(&args.k8s).map_err(|e| e.to_string())?),
    };
    let options = ScanOptions {
        url: args.redis.clone(),
        queues: args.queues.clone(),
        since_unix_s,
        max_jobs: args.max_jobs,
    };
    let mut connection = scan::connect(&args.redis)?;
    let bar = stderr_bar(0, "{spinner} {pos} RQ keys of {len} keys [{elapsed}] {msg}");
    let sample = scan::scan(&mut connection, &options, &mut |keys, db_keys| {
        bar.set_length(db_keys);
        bar.inc(keys);
    });
    bar.finish_and_clear();
    let mut calibration = calibrate(&sample?)?;
    if let Some(deployments) = manifests {
        crate::calibrate::manifests::attach(&mut calibration, deployments);
    }
    write_files(&calibration, &args.out, args.trace)?;
    Ok(calibration)
}

fn write_files(calibration: &Calibration, out: &Path, trace: bool) -> Result<(), String> {
    let mut traces = TraceNames::new();
    if trace {
        let stem = out
            .file_name()
            .map_or("scenario".into(), |n| n.to_string_lossy());
        for queue in &calibration.queues {
            let name = format!(
                "{stem}.{}.arrivals.csv",
                queue.name.replace(['/', '\\'], "_")
            );
            let path = out.with_file_name(&name);
            std::fs::write(&path, trace_csv(queue, calibration.window_unix_s.0))
                .map_err(|e| format!("{}: {e}", path.display()))?;
            traces.insert(queue.name.clone(), name);
        }
    }
    let text = scenario_text(calibration, &traces, &format_utc(now_unix_s()));
    // The written file must be one simrq accepts: a failure here is a simrq bug, but say so
    // with the file kept for the report rather than panicking.
    std::fs::write(out, &text).map_err(|e| format!("{}: {e}", out.display()))?;
    crate::scenario::load(out).map_err(|e| {
        format!("the written scenario does not validate (a simrq bug, please report it): {e}")
    })?;
    Ok(())
}

fn print_summary(calibration: &Calibration, out: &Path) {
    println!(
        "calibrated {} jobs from {} ({} .. {}): {} queues, {}",
        calibration.jobs,
        calibration.source,
        format_utc(calibration.window_unix_s.0),
        format_utc(calibration.window_unix_s.1),
        calibration.queues.len(),
        match &calibration.manifests {
            Some(deployments) =>
                format!("{} pod groups from the manifests", deployments.groups.len()),
            None => format!("{} worker groups", calibration.workers.len()),
        }
    );
    println!(
        "wrote {} (its opening comment has every fit's sample and error)",
        out.display()
    );
}
