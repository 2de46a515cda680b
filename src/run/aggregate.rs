//! Many runs of one scenario in numbers: the mean and a 95 % confidence interval of each
//! headline number over the seeds, and how many runs failed each check.
//!
//! ```text
//!  Summary(seed) ... Summary(seed+K-1)   (in seed order, whatever thread ran them)
//!        │                  │
//!        └──── Aggregate::build ────► aggregate.json, runs.csv, terminal table
//! ```
//!
//! The interval is Student's t: `mean ± t(0.975, n−1) · s / √n`, with `s` the sample standard
//! deviation. A percentile that is absent in a run (no retries happened) is left out of that
//! metric, so `n` may be smaller than the number of runs. Numbers are rounded to the
//! microsecond so that the files are the same bytes on every machine.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::Serialize;

use crate::report::csv::push_row;
use crate::report::summary::{Summary, Verdict};
use crate::report::{OutputDir, ReportError};

/// The file names.
pub const AGGREGATE_JSON: &str = "aggregate.json";
pub const RUNS_CSV: &str = "runs.csv";

/// The header of `runs.csv`.
pub const RUNS_HEADER: &str = "seed,verdict,jobs,executions,retries,duplicate_executions,\
lost_jobs,retry_lateness_p50_s,retry_lateness_p99_s,retry_lateness_max_s,queue_wait_p50_s,\
queue_wait_p99_s,longest_scheduler_gap_s,longest_lock_absent_s,dual_scheduler_s,failed_checks";

/// One metric over the runs that have it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MetricStats {
    /// Runs that had a value.
    pub n: u64,
    pub mean: Option<f64>,
    /// Half the width of the 95 % confidence interval (absent for fewer than two values).
    pub ci95_half_width: Option<f64>,
    pub ci95_low: Option<f64>,
    pub ci95_high: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

/// The headline numbers, in the order the terminal table shows them.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Metrics {
    pub jobs: MetricStats,
    pub executions: MetricStats,
    pub duplicate_executions: MetricStats,
    pub lost_jobs: MetricStats,
    pub retry_lateness_p50_s: MetricStats,
    pub retry_lateness_p99_s: MetricStats,
    pub retry_lateness_max_s: MetricStats,
    pub queue_wait_p50_s: MetricStats,
    pub queue_wait_p99_s: MetricStats,
    pub longest_scheduler_gap_s: MetricStats,
    pub longest_lock_absent_s: MetricStats,
}

/// The whole of `aggregate.json`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Aggregate {
    pub scenario: String,
    pub config_hash: String,
    pub first_seed: u64,
    pub runs: u64,
    /// Runs in which at least one check failed.
    pub runs_failed: u64,
    /// Their seeds, ascending.
    pub failed_seeds: Vec<u64>,
    pub metrics: Metrics,
    /// By check name: in how many runs it failed (0 for checks that always held).
    pub checks_failed: BTreeMap<String, u64>,
}

impl Aggregate {
    /// Aggregates `summaries`, which must be in seed order and non-empty.
    pub fn build(summaries: &[Summary]) -> Aggregate {
        assert!(!summaries.is_empty(), "aggregating no runs");
        let first = &summaries[0];
        let count = |f: fn(&Summary) -> u64| metric(summaries, |s| Some(f(s) as f64));
        let value = |f: fn(&Summary) -> Option<f64>| metric(summaries, f);
        let metrics = Metrics {
            jobs: count(|s| s.jobs),
            executions: count(|s| s.executions),
            duplicate_executions: count(|s| s.duplicate_executions),
            lost_jobs: count(|s| s.lost_jobs),
            retry_lateness_p50_s: value(|s| s.retry_lateness_s.p50),
            retry_lateness_p99_s: value(|s| s.retry_lateness_s.p99),
            retry_lateness_max_s: value(|s| s.retry_lateness_s.max),
            queue_wait_p50_s: value(|s| s.queue_wait_s.p50),
            queue_wait_p99_s: value(|s| s.queue_wait_s.p99),
            longest_scheduler_gap_s: value(|s| s.longest_scheduler_gap_s),
            longest_lock_absent_s: value(|s| s.longest_lock_absent_s),
        };
        let mut checks_failed: BTreeMap<String, u64> = BTreeMap::new();
        for summary in summaries {
            for (check, verdict) in &summary.checks {
                *checks_failed.entry(check.clone()).or_default() +=
                    u64::from(*verdict == Verdict::Fail);
            }
        }
        let failed_seeds: Vec<u64> = summaries
            .iter()
            .filter(|s| !s.all_checks_pass())
            .map(|s| s.seed)
            .collect();
        Aggregate {
            scenario: first.scenario.clone(),
            config_hash: first.config_hash.clone(),
            first_seed: first.seed,
            runs: summaries.len() as u64,
            runs_failed: failed_seeds.len() as u64,
            failed_seeds,
            metrics,
            checks_failed,
        }
    }

    /// Pretty JSON with a final newline.
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("an Aggregate always serializes");
        text.push('\n');
        text
    }

    /// Writes `aggregate.json` and `runs.csv` (one row per seed, in seed order).
    pub fn write(&self, dir: &OutputDir, summaries: &[Summary]) -> Result<(), ReportError> {
        dir.write_bytes(AGGREGATE_JSON, self.to_json().as_bytes())?;
        dir.write_bytes(RUNS_CSV, runs_csv(summaries).as_bytes())
    }

    /// 0 when every run passed every check, 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        i32::from(self.runs_failed > 0)
    }

    /// A compact table: one line per metric (mean, 95 % CI, min…max), then the checks.
    pub fn terminal_table(&self) -> String {
        let mut table = String::new();
        let runs = self.runs;
        writeln!(table, "  {runs} runs, seeds {}..{}", self.first_seed, {
            self.first_seed + runs - 1
        })
        .expect("writing to a String");
        writeln!(
            table,
            "  {:<32}  {:>12}  {:>12}  {:>25}",
            "metric", "mean", "± 95% CI", "min … max"
        )
        .expect("writing to a String");
        for (name, stats) in self.metrics.rows() {
            let range = format!("{} … {}", number(stats.min), number(stats.max));
            writeln!(
                table,
                "  {name:<32}  {:>12}  {:>12}  {range:>25}",
                number(stats.mean),
                number(stats.ci95_half_width),
            )
            .expect("writing to a String");
        }
        for (check, failed) in &self.checks_failed {
            writeln!(table, "  check {check}: failed in {failed} of {runs} runs")
                .expect("writing to a String");
        }
        table
    }
}

impl Metrics {
    /// Every metric with its label, in field order.
    pub fn rows(&self) -> [(&'static str, &MetricStats); 11] {
        [
            ("jobs", &self.jobs),
            ("executions", &self.executions),
            ("duplicate executions", &self.duplicate_executions),
            ("lost jobs", &self.lost_jobs),
            ("retry lateness p50 (s)", &self.retry_lateness_p50_s),
            ("retry lateness p99 (s)", &self.retry_lateness_p99_s),
            ("retry lateness max (s)", &self.retry_lateness_max_s),
            ("queue wait p50 (s)", &self.queue_wait_p50_s),
            ("queue wait p99 (s)", &self.queue_wait_p99_s),
            (
                "longest time without a live scheduler (s)",
                &self.longest_scheduler_gap_s,
            ),
            (
                "longest time without the lock key (s)",
                &self.longest_lock_absent_s,
            ),
        ]
    }
}

fn number(value: Option<f64>) -> String {
    value.map_or("-".to_string(), |v| format!("{v:.3}"))
}

/// The statistics of one metric over the runs, in seed order.
fn metric(summaries: &[Summary], value: impl Fn(&Summary) -> Option<f64>) -> MetricStats {
    let values: Vec<f64> = summaries.iter().filter_map(value).collect();
    let n = values.len();
    if n == 0 {
        return MetricStats {
            n: 0,
            mean: None,
            ci95_half_width: None,
            ci95_low: None,
            ci95_high: None,
            min: None,
            max: None,
        };
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    let half_width = (n >= 2).then(|| {
        let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        student_t_975(n as u64 - 1) * variance.sqrt() / (n as f64).sqrt()
    });
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    MetricStats {
        n: n as u64,
        mean: Some(round_micro(mean)),
        ci95_half_width: half_width.map(round_micro),
        ci95_low: half_width.map(|h| round_micro(mean - h)),
        ci95_high: half_width.map(|h| round_micro(mean + h)),
        min: Some(round_micro(min)),
        max: Some(round_micro(max)),
    }
}

fn round_micro(value: f64) -> f64 {
    let rounded = (value * 1e6).round() / 1e6;
    // No "-0.0" in the files.
    if rounded == 0.0 {
        0.0
    } else {
        rounded
    }
}

/// Two-sided 95 % quantiles of Student's t for 1…30 degrees of freedom.
const T_975: [f64; 30] = [
    12.706205, 4.302653, 3.182446, 2.776445, 2.570582, 2.446912, 2.364624, 2.306004, 2.262157,
    2.228139, 2.200985, 2.178813, 2.160369, 2.144787, 2.131450, 2.119905, 2.109816, 2.100922,
    2.093024, 2.085963, 2.079614, 2.073873, 2.068658, 2.063899, 2.059539, 2.055529, 2.051831,
    2.048407, 2.045230, 2.042272,
];

/// The 0.975 quantile of Student's t with `df` degrees of freedom (`df` ≥ 1): a table up to
/// 30, then the Cornish–Fisher expansion around the normal quantile (error below 1e-5).
pub fn student_t_975(df: u64) -> f64 {
    assert!(df >= 1, "Student's t needs at least one degree of freedom");
    if df <= 30 {
        return T_975[df as usize - 1];
    }
    let z: f64 = 1.959_963_984_540_054;
    let n = df as f64;
    let (z3, z5, z7) = (z.powi(3), z.powi(5), z.powi(7));
    z + (z3 + z) / (4.0 * n)
        + (5.0 * z5 + 16.0 * z3 + 3.0 * z) / (96.0 * n * n)
        + (3.0 * z7 + 19.0 * z5 + 17.0 * z3 - 15.0 * z) / (384.0 * n * n * n)
}

fn optional(value: Option<f64>) -> String {
    value.map_or(String::new(), |v| format!("{v:.6}"))
}

/// `runs.csv`: one row per run, in the order given (seed order).
pub fn runs_csv(summaries: &[Summary]) -> String {
    let mut text = String::new();
    text.push_str(RUNS_HEADER);
    text.push('\n');
    for s in summaries {
        let failed: Vec<&str> = s
            .checks
            .iter()
            .filter(|(_, verdict)| **verdict == Verdict::Fail)
            .map(|(check, _)| check.as_str())
            .collect();
        let fields = [
            s.seed.to_string(),
            if s.all_checks_pass() { "pass" } else { "fail" }.to_string(),
            s.jobs.to_string(),
            s.executions.to_string(),
            s.retries.to_string(),
            s.duplicate_executions.to_string(),
            s.lost_jobs.to_string(),
            optional(s.retry_lateness_s.p50),
            optional(s.retry_lateness_s.p99),
            optional(s.retry_lateness_s.max),
            optional(s.queue_wait_s.p50),
            optional(s.queue_wait_s.p99),
            optional(s.longest_scheduler_gap_s),
            optional(s.longest_lock_absent_s),
            format!("{:.6}", s.dual_scheduler_s),
            failed.join(";"),
        ];
        push_row(&mut text, fields.iter().map(String::as_str));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{JobStats, RunInfo, SchedulerGapReport};
    use crate::sim::SimDuration;

    #[test]
    fn t_quantiles_join_the_table_smoothly() {
        assert_eq!(student_t_975(1), 12.706205);
        assert!((student_t_975(31) - 2.039513).abs() < 1e-5);
        assert!((student_t_975(60) - 2.000298).abs() < 1e-5);
        assert!((student_t_975(1_000_000) - 1.959964).abs() < 1e-5);
    }

    fn summaries(values: &[u64]) -> Vec<Summary> {
        values
            .iter()
            .enumerate()
            .map(|(i, jobs)| {
                let info = RunInfo {
                    seed: i as u64 + 3,
                    scenario: "test".into(),
                    config_hash: "0".into(),
                    duration: SimDuration::from_secs(60),
                    replay: String::new(),
                    checks: vec!["lost_job".into()],
                };
                let stats = JobStats {
                    jobs: *jobs,
                    ..JobStats::default()
                };
                Summary::build(&info, &stats, &SchedulerGapReport::default(), &[])
            })
            .collect()
    }

    #[test]
    fn the_interval_is_students_t() {
        let aggregate = Aggregate::build(&summaries(&[10, 12, 14]));
        let jobs = &aggregate.metrics.jobs;
        assert_eq!(jobs.n, 3);
        assert_eq!(jobs.mean, Some(12.0));
        // s = 2, t(0.975, 2) = 4.302653, half width = 4.302653 * 2 / sqrt(3).
        assert_eq!(jobs.ci95_half_width, Some(4.968276));
        assert_eq!((jobs.min, jobs.max), (Some(10.0), Some(14.0)));
        assert_eq!(aggregate.first_seed, 3);
        assert_eq!(aggregate.metrics.retry_lateness_p50_s.n, 0);
    }

    #[test]
    fn one_run_has_a_mean_and_no_interval() {
        let aggregate = Aggregate::build(&summaries(&[7]));
        assert_eq!(aggregate.metrics.jobs.mean, Some(7.0));
        assert_eq!(aggregate.metrics.jobs.ci95_half_width, None);
        assert_eq!(runs_csv(&summaries(&[7])).lines().count(), 2);
    }
}
