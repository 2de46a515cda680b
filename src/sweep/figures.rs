//! The figures of one run that a sweep keeps: one column each in `sweep.csv`, a mean and a
//! 95 % confidence interval each in `sweep-summary.csv`.

use std::path::Path;

use crate::report::LogHistogram;
use crate::run::RunResult;
use crate::scenario::Scenario;

/// A queue wait longer than this counts as "waited" (`waited_fraction`). It is far above the
/// model's own dequeue overhead (a few Redis round trips) and far below a real wait for a
/// busy worker, and `tests/queueing.rs` compares it with Erlang C's P(W > 10 ms).
pub const WAITED_THRESHOLD_S: f64 = 0.010;

/// Column names, in file order. Every figure is a number; an empty cell means "none" (for
/// example no interval retry ran, so there is no retry lateness).
pub const FIGURES: [&str; 26] = [
    "jobs",
    "executions",
    "throughput_per_s",
    "queue_wait_mean_s",
    "queue_wait_p50_s",
    "queue_wait_p95_s",
    "queue_wait_p99_s",
    "queue_wait_max_s",
    "waited_fraction",
    "worker_utilisation",
    "retry_lateness_p50_s",
    "retry_lateness_p99_s",
    "retry_lateness_max_s",
    "duplicate_executions",
    "lost_jobs",
    "duplicates_per_million",
    "lost_per_million",
    "longest_scheduler_gap_s",
    "longest_lock_absent_s",
    "dual_scheduler_s",
    "violations",
    "checks_passed",
    "events_run",
    // Under `[redis] maxmemory` only (docs/redis-as-deployed.md): empty otherwise.
    "redis_peak_used_bytes",
    "redis_evicted_keys",
    "redis_refused_commands",
];

/// The position of a figure in [`FIGURES`]; panics on a name that is not there (a bug).
pub fn figure_index(name: &str) -> usize {
    FIGURES
        .iter()
        .position(|f| *f == name)
        .unwrap_or_else(|| panic!("unknown figure {name}"))
}

/// One run's figures, in [`FIGURES`] order.
pub fn figures(result: &RunResult, scenario: &Scenario, run_dir: &Path) -> Vec<Option<f64>> {
    let summary = &result.summary;
    let jobs = &result.jobs;
    let active_s = scenario.run.duration.as_micros() as f64 / 1e6;
    let ended = (jobs.outcomes.finished + jobs.outcomes.failed) as f64;
    let per_million =
        |count: u64| (summary.jobs > 0).then(|| count as f64 * 1e6 / summary.jobs as f64);
    let wait = &jobs.queue_wait;
    let lateness = &summary.retry_lateness_s;
    let memory = summary.redis_memory.as_ref();
    vec![
        Some(summary.jobs as f64),
        Some(summary.executions as f64),
        Some(ended / active_s),
        wait.mean_s(),
        wait.quantile_s(0.5),
        wait.quantile_s(0.95),
        wait.quantile_s(0.99),
        wait.max_s(),
        fraction_above(wait, WAITED_THRESHOLD_S),
        worker_utilisation(run_dir, active_s),
        lateness.p50,
        lateness.p99,
        lateness.max,
        Some(summary.duplicate_executions as f64),
        Some(summary.lost_jobs as f64),
        per_million(summary.duplicate_executions),
        per_million(summary.lost_jobs),
        summary.longest_scheduler_gap_s,
        summary.longest_lock_absent_s,
        Some(summary.dual_scheduler_s),
        Some(summary.violations.len() as f64),
        Some(if summary.all_checks_pass() { 1.0 } else { 0.0 }),
        Some(result.events_run as f64),
        memory.map(|m| m.peak_used_bytes as f64),
        memory.map(|m| m.evicted_keys as f64),
        memory.map(|m| m.refused_commands as f64),
    ]
}

/// The fraction of recorded values above `threshold_s` (within the histogram's 1 %).
pub fn fraction_above(histogram: &LogHistogram, threshold_s: f64) -> Option<f64> {
    if histogram.is_empty() {
        return None;
    }
    let at_or_below = histogram
        .cdf_s()
        .iter()
        .take_while(|(value, _)| *value <= threshold_s)
        .last()
        .map_or(0.0, |(_, fraction)| *fraction);
    Some(1.0 - at_or_below)
}

/// Busy workers / live workers, summed over the samples of `timeseries.csv` taken while the
/// workload ran (rows repeat the cluster's counts once per queue: each time counts once). The
/// file is read as CSV by column name, so a queue name holding a comma or a quote is no harm.
pub fn worker_utilisation(run_dir: &Path, active_s: f64) -> Option<f64> {
    let bytes = std::fs::read(run_dir.join(crate::report::timeseries::TIMESERIES_CSV)).ok()?;
    utilisation_of(&bytes, active_s)
}

fn utilisation_of(bytes: &[u8], active_s: f64) -> Option<f64> {
    let mut reader = crate::csv_input::reader(bytes);
    let mut records = reader.records();
    let header = records.next()?.ok()?;
    let column = |name: &str| header.iter().position(|c| c == name);
    let (time_at, live_at, busy_at) = (
        column("time_s")?,
        column("live_workers")?,
        column("busy_workers")?,
    );
    let (mut busy, mut live) = (0.0, 0.0);
    let mut last_time: Option<String> = None;
    for record in records {
        let record = record.ok()?;
        let time_field = record.get(time_at)?;
        if last_time.as_deref() == Some(time_field) {
            continue;
        }
        let time: f64 = time_field.parse().ok()?;
        if time > active_s {
            break;
        }
        last_time = Some(time_field.to_string());
        live += record.get(live_at)?.parse::<f64>().ok()?;
        busy += record.get(busy_at)?.parse::<f64>().ok()?;
    }
    (live > 0.0).then(|| busy / live)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utilisation_reads_columns_past_a_quoted_queue_name() {
        let text = "time_s,queue,depth,scheduled,started,failed,finished,live_workers,busy_workers,lock_holder\r\n\
                    1.000000,\"a,b\",0,0,0,0,0,4,1,\r\n\
                    1.000000,c,0,0,0,0,0,4,1,\r\n\
                    2.000000,\"a,b\",0,0,0,0,0,4,3,\"w,1\"\r\n\
                    9.000000,c,0,0,0,0,0,4,0,\r\n";
        assert_eq!(utilisation_of(text.as_bytes(), 5.0), Some(0.5));
    }
}
