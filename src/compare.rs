//! Comparing two runs of one scenario — usually real RQ (tests/conformance/harness.py) against
//! simrq — metric by metric, each with a stated tolerance.
//!
//! ```text
//!   REAL_DIR/events.csv, jobs.csv ──┐
//!                                   ├─► RunData ──► metrics (one row each) ──► CompareReport
//!   SIM_DIR/events.csv,  jobs.csv ──┘                                          to_table(), passed()
//! ```
//!
//! The metrics, and why each tolerance:
//! - executions per job: exact. Job outcomes are drawn from the job's own arguments, so both
//!   runs see the same failures; a different count is a behavioural difference.
//! - outcome counts: exact, for the same reason.
//! - duplicate executions: exact; executions beyond `1 + retries_used` for a job, plus one
//!   per repeat of a job with `Repeat` (`job_repeat_requeued`, `job_repeat_scheduled`).
//! - retry delay (end of a failed execution, or of a run that repeats, to the start of the
//!   next one): two-sample
//!   Kolmogorov–Smirnov p-value ≥ 0.01 and medians within max(1 s, 10 %). Real runs jitter by
//!   the scheduler's 1 s tick and the harness's ~0.1 s polling.
//! - worst retry lateness (jobs.csv `max_retry_lateness_s`): within max(2 s, 10 %).
//! - time to scheduler takeover (a `fault`, then the first `lock_acquired` after it): same
//!   count, each within max(2 s, 10 %) — maintenance runs are periodic, so a takeover lands
//!   anywhere in one maintenance period. A lock that expires is seen by the real harness's
//!   poller (`lock_lost`) but by no simulated process, so the loss itself is not required.
//! - time to recover (a Redis outage's `fault` — `redis_restart`, `redis_crash`,
//!   `redis_failover`, `redis_pause` — then the first `job_finished` of an execution that
//!   started at or after it): same count, each within max(2 s, 10 %). It is the outage, the
//!   clients' reconnection back-off and the next dequeue, as one number.
//! - cron jobs (only when a run has `[[cron]]` jobs; src/compare/cron.rs): per cron job, the
//!   enqueues, duplicate enqueues and missed instants of the `cron_schedule` check (exact), and
//!   the enqueue lateness p50 and max (within max(2 s, 10 %)).

pub mod cron;
mod envelope;
mod ks;
mod table;

pub use envelope::{
    compare_envelope, plausible, quantile, Band, EnvelopeTolerances, ENVELOPE_MIN_SHARE,
    ENVELOPE_PERCENTILES, ENVELOPE_TOLERANCE_S, MIN_ENVELOPE_SEEDS,
};
pub use ks::{kolmogorov_q, ks_two_sample, KsResult};
pub use table::CsvTable;

use std::collections::BTreeMap;
use std::path::Path;

/// Retry delay distributions pass when the KS p-value is at least this.
pub const RETRY_DELAY_MIN_P_VALUE: f64 = 0.01;
/// Retry delay medians may differ by this many seconds (or the relative share below).
pub const RETRY_DELAY_MEDIAN_TOLERANCE_S: f64 = 1.0;
/// Worst retry lateness may differ by this many seconds (or the relative share below).
pub const LATENESS_TOLERANCE_S: f64 = 2.0;
/// Each takeover time may differ by this many seconds (or the relative share below).
pub const TAKEOVER_TOLERANCE_S: f64 = 2.0;
/// Each time to recover may differ by this many seconds (or the relative share below): the
/// workers' reconnection back-off doubles from 1 s, so a small shift of the outage's end moves
/// the first job by up to a back-off step.
pub const RECOVERY_TOLERANCE_S: f64 = 2.0;
/// The fault kinds after which clients cannot reach Redis for a while: the faults the time to
/// recover is measured from.
pub const OUTAGE_FAULTS: [&str; 4] = [
    "redis_restart",
    "redis_crash",
    "redis_failover",
    "redis_pause",
];

/// Median tolerance of host-timed retry delays: the width of RQ's own I − 1 … I + 1 s window
/// (due seconds are floored, the scheduler ticks every second at a phase set by the host's
/// start-up; rq-semantics §11), which the host's per-job cost shifts run to run.
pub const HOST_TIMED_MEDIAN_TOLERANCE_S: f64 = 2.0;
/// Relative tolerance applied to the real value, used when larger than the absolute one.
pub const RELATIVE_TOLERANCE: f64 = 0.10;

/// One compared metric: both sides' values as text, the tolerance, and the verdict.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricResult {
    pub name: String,
    pub real: String,
    pub sim: String,
    pub tolerance: String,
    pub passed: bool,
    /// What differed, when something did (empty otherwise).
    pub note: String,
}

/// The comparison of two runs, one row per metric.
#[derive(Debug, Clone, PartialEq)]
pub struct CompareReport {
    pub metrics: Vec<MetricResult>,
}

impl CompareReport {
    /// True when every metric is within its tolerance.
    pub fn passed(&self) -> bool {
        self.metrics.iter().all(|metric| metric.passed)
    }

    /// A plain-text table, one metric a row, with a closing verdict line.
    pub fn to_table(&self) -> String {
        let headers = ["metric", "real", "sim", "tolerance", "verdict"];
        let rows: Vec<[String; 5]> = self
            .metrics
            .iter()
            .map(|m| {
                let verdict = if m.passed { "ok" } else { "DIFFERS" };
                [
                    m.name.clone(),
                    m.real.clone(),
                    m.sim.clone(),
                    m.tolerance.clone(),
                    verdict.into(),
                ]
            })
            .collect();
        let mut widths = headers.map(str::len);
        for row in &rows {
            for (width, cell) in widths.iter_mut().zip(row) {
                *width = (*width).max(cell.chars().count());
            }
        }
        let mut out = String::new();
        push_row(&mut out, &headers.map(String::from), &widths);
        let rule: Vec<String> = widths.iter().map(|width| "-".repeat(*width)).collect();
        push_row(&mut out, &[0, 1, 2, 3, 4].map(|k| rule[k].clone()), &widths);
        for row in &rows {
            push_row(&mut out, row, &widths);
        }
        for metric in self.metrics.iter().filter(|m| !m.note.is_empty()) {
            out.push_str(&format!("{}: {}\n", metric.name, metric.note));
        }
        let failed = self.metrics.iter().filter(|m| !m.passed).count();
        out.push_str(&format!(
            "{} metrics, {} within tolerance, {} outside\n",
            self.metrics.len(),
            self.metrics.len() - failed,
            failed
        ));
        out
    }
}

impl CompareReport {
    /// The report as JSON: `{"passed": bool, "metrics": [{name, real, sim, tolerance,
    /// passed, note}]}`, for scripts such as the conformance suite.
    pub fn to_json(&self) -> serde_json::Value {
        let metrics: Vec<serde_json::Value> = self
            .metrics
            .iter()
            .map(|m| {
                serde_json::json!({
                    "name": m.name,
                    "real": m.real,
                    "sim": m.sim,
                    "tolerance": m.tolerance,
                    "passed": m.passed,
                    "note": m.note,
                })
            })
            .collect();
        serde_json::json!({ "passed": self.passed(), "metrics": metrics })
    }
}

fn push_row(out: &mut String, cells: &[String; 5], widths: &[usize; 5]) {
    let padded: Vec<String> = cells
        .iter()
        .zip(widths)
        .map(|(cell, width)| format!("{cell:<width$}"))
        .collect();
    out.push_str(padded.join("  ").trim_end());
    out.push('\n');
}

/// One row of events.csv, with the columns the comparison uses.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRow {
    pub time_s: f64,
    pub kind: String,
    pub pod: String,
    pub job: String,
    pub attempt: Option<u32>,
    /// A `fault` row's kind: the `fault=<kind>` pair of its detail (`None` elsewhere, and for
    /// a file without a `detail` column).
    pub fault: Option<String>,
}

/// One row of jobs.csv, with the columns the comparison uses.
#[derive(Debug, Clone, PartialEq)]
pub struct JobRow {
    pub job: String,
    pub outcome: String,
    pub executions: u32,
    pub retries_used: u32,
    pub max_retry_lateness_s: Option<f64>,
}

/// Both files of one run directory, and its cron jobs' figures when it had any.
#[derive(Debug, Clone, PartialEq)]
pub struct RunData {
    pub events: Vec<EventRow>,
    pub jobs: Vec<JobRow>,
    /// Per cron job (see [`cron::read_cron`]); `None` without `[[cron]]` jobs.
    pub cron: Option<cron::CronRun>,
}

impl RunData {
    /// Reads `dir/events.csv` and `dir/jobs.csv`, and the cron figures from `summary.json`
    /// (simrq) or `settings.json` (the conformance harness).
    pub fn read(dir: &Path) -> Result<RunData, String> {
        let events = read_events(&CsvTable::read(&dir.join("events.csv"))?)?;
        let jobs = read_jobs(&CsvTable::read(&dir.join("jobs.csv"))?)?;
        let cron = cron::read_cron(dir)?;
        Ok(RunData { events, jobs, cron })
    }

    /// Parses the bytes of an events.csv and a jobs.csv; the labels name them in errors.
    pub fn parse(
        (events_label, events): (&str, &[u8]),
        (jobs_label, jobs): (&str, &[u8]),
    ) -> Result<RunData, String> {
        let events = read_events(&CsvTable::parse_bytes(events_label, events)?)?;
        let jobs = read_jobs(&CsvTable::parse_bytes(jobs_label, jobs)?)?;
        Ok(RunData {
            events,
            jobs,
            cron: None,
        })
    }
}

fn read_events(table: &CsvTable) -> Result<Vec<EventRow>, String> {
    let [time, kind, pod, job, attempt] =
        ["time_s", "kind", "pod", "job", "attempt"].map(|name| table.column(name));
    let (time, kind, pod, job, attempt) = (time?, kind?, pod?, job?, attempt?);
    let detail = table.column("detail").ok();
    let mut events = Vec::with_capacity(table.rows().len());
    for (index, row) in table.rows().iter().enumerate() {
        let time_s = table.number(index, time)?.ok_or_else(|| {
            format!(
                "{}: column `time_s`: expected seconds, found an empty field",
                table.locate(index)
            )
        })?;
        let attempt = table.count(index, attempt)?;
        let fault = match detail {
            Some(column) if row[kind] == "fault" => fault_kind(&row[column]),
            _ => None,
        };
        events.push(EventRow {
            time_s,
            kind: row[kind].clone(),
            pod: row[pod].clone(),
            job: row[job].clone(),
            attempt,
            fault,
        });
    }
    Ok(events)
}

/// The kind a `fault` row's detail names first (`fault=redis_failover partition=false …`).
fn fault_kind(detail: &str) -> Option<String> {
    detail
        .split(' ')
        .find_map(|pair| pair.strip_prefix("fault="))
        .map(str::to_string)
}

fn read_jobs(table: &CsvTable) -> Result<Vec<JobRow>, String> {
    let names = [
        "job",
        "outcome",
        "executions",
        "retries_used",
        "max_retry_lateness_s",
    ];
    let [job, outcome, executions, retries, lateness] = names.map(|name| table.column(name));
    let (job, outcome, executions, retries, lateness) =
        (job?, outcome?, executions?, retries?, lateness?);
    let mut jobs = Vec::with_capacity(table.rows().len());
    for (index, row) in table.rows().iter().enumerate() {
        jobs.push(JobRow {
            job: row[job].clone(),
            outcome: row[outcome].clone(),
            executions: table.count(index, executions)?.unwrap_or(0),
            retries_used: table.count(index, retries)?.unwrap_or(0),
            max_retry_lateness_s: table.number(index, lateness)?,
        });
    }
    Ok(jobs)
}

/// Reads both run directories and compares them.
pub fn compare_dirs(real: &Path, sim: &Path) -> Result<CompareReport, String> {
    compare_dirs_with(real, sim, TAKEOVER_TOLERANCE_S)
}

/// As [`compare_dirs`], with the absolute takeover tolerance widened to `takeover_tolerance_s`
/// (for a scenario where RQ itself decides the takeover by a race of maintenance phases).
pub fn compare_dirs_with(
    real: &Path,
    sim: &Path,
    takeover_tolerance_s: f64,
) -> Result<CompareReport, String> {
    compare_dirs_with_options(real, sim, takeover_tolerance_s, false)
}

/// As [`compare_dirs_with`]; with `host_timed_delays` the retry delays are compared by their
/// medians only, without the KS test: for interval-0 retries the delay is the host's per-job
/// cost (fork, imports), which varies run to run on a real machine, not RQ's logic.
pub fn compare_dirs_with_options(
    real: &Path,
    sim: &Path,
    takeover_tolerance_s: f64,
    host_timed_delays: bool,
) -> Result<CompareReport, String> {
    let real = RunData::read(real)?;
    let sim = RunData::read(sim)?;
    let mut report = compare_runs(&real, &sim);
    if host_timed_delays {
        let widened = retry_delays_median_only(&retry_delays(&real), &retry_delays(&sim));
        if let Some(slot) = report.metrics.iter_mut().find(|m| m.name == widened.name) {
            *slot = widened;
        }
    }
    if takeover_tolerance_s > TAKEOVER_TOLERANCE_S {
        let (real_times, sim_times) = (takeover_times(&real), takeover_times(&sim));
        let widened = takeover_metric(&real_times, &sim_times, takeover_tolerance_s);
        if let Some(slot) = report.metrics.iter_mut().find(|m| m.name == widened.name) {
            *slot = widened;
        }
    }
    Ok(report)
}

/// Compares two runs already read.
pub fn compare_runs(real: &RunData, sim: &RunData) -> CompareReport {
    let mut metrics = vec![
        executions_per_job(real, sim),
        outcome_counts(real, sim),
        duplicate_executions(real, sim),
        retry_delays_pair(real, sim),
        worst_lateness(real, sim),
        takeover_times_pair(real, sim),
        recovery_times_pair(real, sim),
    ];
    if cron::has_cron([real, sim].into_iter()) {
        metrics.extend([
            cron::cron_enqueues(real, sim),
            cron::cron_duplicates(real, sim),
            cron::cron_misses(real, sim),
            cron::cron_lateness_pair(real, sim),
        ]);
    }
    CompareReport { metrics }
}

/// Reads the real run and every simulated seed's run, and compares the real one against
/// their envelope (see [`compare_envelope`]). Refuses fewer than [`MIN_ENVELOPE_SEEDS`].
pub fn compare_dirs_envelope(
    real: &Path,
    sims: &[std::path::PathBuf],
    tolerances: EnvelopeTolerances,
) -> Result<CompareReport, String> {
    if sims.len() < MIN_ENVELOPE_SEEDS {
        return Err(format!(
            "an envelope needs at least {MIN_ENVELOPE_SEEDS} simulated runs, got {} \
             (give one SIM_DIR for a pairwise comparison)",
            sims.len()
        ));
    }
    let real = RunData::read(real)?;
    let sims = sims
        .iter()
        .map(|dir| RunData::read(dir).map_err(|error| format!("{}: {error}", dir.display())))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(compare_envelope(&real, &sims, tolerances))
}

/// What `simrq compare` was asked to do.
pub struct CompareRequest<'a> {
    pub real: &'a Path,
    /// One directory: a pairwise comparison; several: the envelope of the seeds.
    pub sims: &'a [std::path::PathBuf],
    pub json: bool,
    pub takeover_tolerance_s: f64,
    pub host_timed_delays: bool,
}

impl CompareRequest<'_> {
    fn report(&self) -> Result<CompareReport, String> {
        match self.sims {
            [sim] => compare_dirs_with_options(
                self.real,
                sim,
                self.takeover_tolerance_s,
                self.host_timed_delays,
            ),
            sims => {
                let tolerances = EnvelopeTolerances {
                    host_timed_delay_s: self
                        .host_timed_delays
                        .then_some(HOST_TIMED_ENVELOPE_TOLERANCE_S),
                    ..EnvelopeTolerances::default()
                };
                compare_dirs_envelope(self.real, sims, tolerances)
            }
        }
    }
}

/// Envelope margin of host-timed retry delays: immediate retries wait for the next fork, whose
/// cost on a loaded host (0.3–1.2 s measured) exceeds an idle host's (0.03 s) by more than a
/// model of the host spans.
pub const HOST_TIMED_ENVELOPE_TOLERANCE_S: f64 = 1.0;

/// The entry point of `simrq compare REAL_DIR SIM_DIR...`: prints the table (or, with `json`,
/// the JSON report) and returns the exit code (0 all metrics within tolerance, 1 some
/// outside, 2 unreadable input).
pub fn run_compare_cli(request: &CompareRequest) -> i32 {
    match request.report() {
        Ok(report) => {
            if request.json {
                println!("{}", report.to_json());
            } else {
                let sims = match request.sims {
                    [one] => one.display().to_string(),
                    many => format!("the envelope of {} runs", many.len()),
                };
                println!("compare: real {} vs sim {sims}", request.real.display());
                print!("{}", report.to_table());
            }
            if report.passed() {
                0
            } else {
                1
            }
        }
        Err(error) => {
            eprintln!("simrq compare: {error}");
            2
        }
    }
}

fn tolerance_s(absolute_s: f64, real_value_s: f64) -> f64 {
    absolute_s.max(RELATIVE_TOLERANCE * real_value_s.abs())
}

fn executions_per_job(real: &RunData, sim: &RunData) -> MetricResult {
    let real_map: BTreeMap<&str, u32> = real
        .jobs
        .iter()
        .map(|job| (job.job.as_str(), job.executions))
        .collect();
    let sim_map: BTreeMap<&str, u32> = sim
        .jobs
        .iter()
        .map(|job| (job.job.as_str(), job.executions))
        .collect();
    let mut ids: Vec<&str> = real_map.keys().chain(sim_map.keys()).copied().collect();
    ids.sort_unstable();
    ids.dedup();
    let differing: Vec<String> = ids
        .iter()
        .filter(|id| real_map.get(*id) != sim_map.get(*id))
        .map(|id| {
            format!(
                "{id} real {} sim {}",
                show(real_map.get(id)),
                show(sim_map.get(id))
            )
        })
        .collect();
    MetricResult {
        name: "executions per job".into(),
        real: format!(
            "{} in {} jobs",
            real_map.values().sum::<u32>(),
            real_map.len()
        ),
        sim: format!(
            "{} in {} jobs",
            sim_map.values().sum::<u32>(),
            sim_map.len()
        ),
        tolerance: "equal for every job".into(),
        passed: differing.is_empty(),
        note: summarize(&differing),
    }
}

fn show(value: Option<&u32>) -> String {
    value.map_or("absent".to_string(), u32::to_string)
}

fn summarize(items: &[String]) -> String {
    const SHOWN: usize = 5;
    let mut note = items
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join("; ");
    if items.len() > SHOWN {
        note.push_str(&format!("; and {} more", items.len() - SHOWN));
    }
    note
}

fn outcome_counts(real: &RunData, sim: &RunData) -> MetricResult {
    let count = |run: &RunData| {
        let mut counts = BTreeMap::new();
        for job in &run.jobs {
            *counts.entry(job.outcome.clone()).or_insert(0u32) += 1;
        }
        counts
    };
    let (real_counts, sim_counts) = (count(real), count(sim));
    let text = |counts: &BTreeMap<String, u32>| {
        counts
            .iter()
            .map(|(outcome, n)| format!("{outcome} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    MetricResult {
        name: "outcome counts".into(),
        real: text(&real_counts),
        sim: text(&sim_counts),
        tolerance: "equal".into(),
        passed: real_counts == sim_counts,
        note: String::new(),
    }
}

/// Executions beyond `1 + retries_used`, summed over jobs.
pub fn duplicate_count(run: &RunData) -> u32 {
    let mut repeats: BTreeMap<&str, u32> = BTreeMap::new();
    for event in &run.events {
        if is_repeat(&event.kind) {
            *repeats.entry(event.job.as_str()).or_default() += 1;
        }
    }
    run.jobs
        .iter()
        .map(|job| {
            let repeated = repeats.get(job.job.as_str()).copied().unwrap_or(0);
            job.executions
                .saturating_sub(1 + job.retries_used + repeated)
        })
        .sum()
}

/// A run of a job with `Repeat` that ended with its next run decided.
fn is_repeat(kind: &str) -> bool {
    matches!(kind, "job_repeat_requeued" | "job_repeat_scheduled")
}

fn duplicate_executions(real: &RunData, sim: &RunData) -> MetricResult {
    let (real_count, sim_count) = (duplicate_count(real), duplicate_count(sim));
    MetricResult {
        name: "duplicate executions".into(),
        real: real_count.to_string(),
        sim: sim_count.to_string(),
        tolerance: "equal".into(),
        passed: real_count == sim_count,
        note: String::new(),
    }
}

/// Seconds from the end of each execution that was retried (or repeated) to the start of the
/// next one of the same job. An execution ends at its `job_failed`/`job_finished`/
/// `job_abandoned` event, or at the repeat decision of a run with repeats left.
pub fn retry_delays(run: &RunData) -> Vec<f64> {
    let mut starts: BTreeMap<(&str, u32), f64> = BTreeMap::new();
    let mut ends: BTreeMap<(&str, u32), f64> = BTreeMap::new();
    for event in &run.events {
        let Some(attempt) = event.attempt else {
            continue;
        };
        let key = (event.job.as_str(), attempt);
        let slot = match event.kind.as_str() {
            "job_started" => &mut starts,
            "job_failed" | "job_finished" | "job_abandoned" => &mut ends,
            kind if is_repeat(kind) => &mut ends,
            _ => continue,
        };
        slot.entry(key).or_insert(event.time_s);
    }
    let mut delays = Vec::new();
    for (&(job, attempt), &end) in &ends {
        // The largest attempt number has no next attempt (and must not overflow).
        let next = attempt
            .checked_add(1)
            .and_then(|next| starts.get(&(job, next)));
        if let Some(&next_start) = next {
            delays.push(next_start - end);
        }
    }
    delays
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let middle = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[middle]
    } else {
        (sorted[middle - 1] + sorted[middle]) / 2.0
    }
}

/// Takeover times as a table cell: `61.000 s, 3.002 s`, or `none`.
fn list_times(times: &[f64]) -> String {
    if times.is_empty() {
        return "none".into();
    }
    times
        .iter()
        .map(|t| format!("{t:.3} s"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn describe_sample(values: &[f64]) -> String {
    if values.is_empty() {
        return "none".into();
    }
    format!("n={} median {:.3} s", values.len(), median(values))
}

fn retry_delays_metric(real_delays: &[f64], sim_delays: &[f64]) -> MetricResult {
    let mut metric = MetricResult {
        name: "retry delay distribution".into(),
        real: describe_sample(real_delays),
        sim: describe_sample(sim_delays),
        tolerance: format!(
            "KS p >= {RETRY_DELAY_MIN_P_VALUE}, medians within max({RETRY_DELAY_MEDIAN_TOLERANCE_S} s, {:.0}%)",
            RELATIVE_TOLERANCE * 100.0
        ),
        passed: real_delays.is_empty() && sim_delays.is_empty(),
        note: String::new(),
    };
    if real_delays.is_empty() || sim_delays.is_empty() {
        if !metric.passed {
            metric.note = "one run has retries and the other has none".into();
        }
        return metric;
    }
    let ks = ks_two_sample(real_delays, sim_delays);
    let median_gap = (median(real_delays) - median(sim_delays)).abs();
    let allowed = tolerance_s(RETRY_DELAY_MEDIAN_TOLERANCE_S, median(real_delays));
    metric.passed = ks.p_value >= RETRY_DELAY_MIN_P_VALUE && median_gap <= allowed;
    metric.note = format!(
        "KS D={:.3} p={:.4} ({}), median gap {:.3} s",
        ks.statistic,
        ks.p_value,
        if ks.exact { "exact" } else { "asymptotic" },
        median_gap
    );
    metric
}

/// The retry-delay metric with the KS test left out (see [`compare_dirs_with_options`]).
fn retry_delays_median_only(real_delays: &[f64], sim_delays: &[f64]) -> MetricResult {
    let mut metric = retry_delays_metric(real_delays, sim_delays);
    if real_delays.is_empty() || sim_delays.is_empty() {
        return metric;
    }
    let median_gap = (median(real_delays) - median(sim_delays)).abs();
    let allowed = tolerance_s(HOST_TIMED_MEDIAN_TOLERANCE_S, median(real_delays));
    metric.passed = median_gap <= allowed;
    metric.tolerance = format!(
        "host-timed: medians within max({HOST_TIMED_MEDIAN_TOLERANCE_S} s, {:.0}%), no KS",
        RELATIVE_TOLERANCE * 100.0
    );
    metric
}

fn retry_delays_pair(real: &RunData, sim: &RunData) -> MetricResult {
    retry_delays_metric(&retry_delays(real), &retry_delays(sim))
}

/// The largest `max_retry_lateness_s` of any job, if any job had an interval retry.
fn worst_lateness_value(run: &RunData) -> Option<f64> {
    run.jobs
        .iter()
        .filter_map(|job| job.max_retry_lateness_s)
        .fold(None, |acc: Option<f64>, x| {
            Some(acc.map_or(x, |best| best.max(x)))
        })
}

fn worst_lateness(real: &RunData, sim: &RunData) -> MetricResult {
    let (real_worst, sim_worst) = (worst_lateness_value(real), worst_lateness_value(sim));
    let text = |value: Option<f64>| value.map_or("none".to_string(), |v| format!("{v:.3} s"));
    let passed = match (real_worst, sim_worst) {
        (None, None) => true,
        (Some(r), Some(s)) => (r - s).abs() <= tolerance_s(LATENESS_TOLERANCE_S, r),
        _ => false,
    };
    MetricResult {
        name: "worst retry lateness".into(),
        real: text(real_worst),
        sim: text(sim_worst),
        tolerance: format!(
            "within max({LATENESS_TOLERANCE_S} s, {:.0}%)",
            RELATIVE_TOLERANCE * 100.0
        ),
        passed,
        note: String::new(),
    }
}

/// For each `fault` event: seconds until the first `lock_acquired` after it (a new holder,
/// or the old one taking the lock back). Faults after which no lock was acquired contribute
/// nothing. The loss of the lock is not required: an expiry is an event only in the real
/// harness, which polls the key; no simulated process observes it.
pub fn takeover_times(run: &RunData) -> Vec<f64> {
    let mut times = Vec::new();
    for fault in run.events.iter().filter(|event| event.kind == "fault") {
        let acquired = run
            .events
            .iter()
            .find(|event| event.time_s >= fault.time_s && event.kind == "lock_acquired");
        if let Some(event) = acquired {
            times.push(event.time_s - fault.time_s);
        }
    }
    times
}

/// For each Redis outage (a `fault` row of a kind in [`OUTAGE_FAULTS`]): seconds until the
/// first `job_finished` of an execution that started at or after the fault. An execution
/// already running at the fault does not count, whatever became of it: its end says nothing
/// about when RQ could dequeue again. Outages after which no execution finished contribute
/// nothing.
pub fn recovery_times(run: &RunData) -> Vec<f64> {
    let mut starts: BTreeMap<(&str, u32), f64> = BTreeMap::new();
    for event in run
        .events
        .iter()
        .filter(|event| event.kind == "job_started")
    {
        if let Some(attempt) = event.attempt {
            starts
                .entry((event.job.as_str(), attempt))
                .or_insert(event.time_s);
        }
    }
    let outages = run.events.iter().filter(|event| {
        event.kind == "fault"
            && event
                .fault
                .as_deref()
                .is_some_and(|kind| OUTAGE_FAULTS.contains(&kind))
    });
    let mut times = Vec::new();
    for fault in outages {
        let recovered = run
            .events
            .iter()
            .filter(|event| event.kind == "job_finished" && event.time_s >= fault.time_s)
            .filter(|event| {
                let started = event
                    .attempt
                    .and_then(|attempt| starts.get(&(event.job.as_str(), attempt)));
                started.is_some_and(|start| *start >= fault.time_s)
            })
            .map(|event| event.time_s)
            .min_by(f64::total_cmp);
        if let Some(time_s) = recovered {
            times.push(time_s - fault.time_s);
        }
    }
    times
}

fn takeover_metric(real_times: &[f64], sim_times: &[f64], absolute_s: f64) -> MetricResult {
    let mut metric = times_metric(real_times, sim_times, absolute_s, "takeover");
    metric.name = "time to scheduler takeover".into();
    metric
}

/// Two lists of per-fault times: same count, and each pair within max(`absolute_s`, 10 %).
fn times_metric(
    real_times: &[f64],
    sim_times: &[f64],
    absolute_s: f64,
    noun: &str,
) -> MetricResult {
    let mut differing = Vec::new();
    if real_times.len() != sim_times.len() {
        differing.push(format!(
            "{} {noun}s vs {}",
            real_times.len(),
            sim_times.len()
        ));
    }
    for (number, (r, s)) in real_times.iter().zip(sim_times).enumerate() {
        if (r - s).abs() > tolerance_s(absolute_s, *r) {
            differing.push(format!("{noun} {} real {r:.3} s sim {s:.3} s", number + 1));
        }
    }
    MetricResult {
        name: String::new(),
        real: list_times(real_times),
        sim: list_times(sim_times),
        tolerance: format!(
            "same count, each within max({absolute_s} s, {:.0}%)",
            RELATIVE_TOLERANCE * 100.0
        ),
        passed: differing.is_empty(),
        note: summarize(&differing),
    }
}

fn recovery_times_pair(real: &RunData, sim: &RunData) -> MetricResult {
    let mut metric = times_metric(
        &recovery_times(real),
        &recovery_times(sim),
        RECOVERY_TOLERANCE_S,
        "recovery",
    );
    metric.name = "time to recover".into();
    metric
}

fn takeover_times_pair(real: &RunData, sim: &RunData) -> MetricResult {
    takeover_metric(
        &takeover_times(real),
        &takeover_times(sim),
        TAKEOVER_TOLERANCE_S,
    )
}

#[cfg(test)]
mod tests;
