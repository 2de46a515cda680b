//! `summary.json` and the terminal table: one run in numbers, for CI and sweeps.
//!
//! Keys come out in the order of the struct fields below (serde keeps declaration order), and
//! every number of seconds is rounded to the microsecond before formatting, so the same run
//! gives the same bytes.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::Serialize;

use crate::check::cron::CronJobStats;
use crate::check::{CheckClass, Violation};
use crate::report::jobs::{JobStats, OutcomeCounts};
use crate::report::output_dir::{OutputDir, ReportError};
use crate::report::scheduler_gaps::SchedulerGapReport;
use crate::sim::SimDuration;

/// The file name.
pub const SUMMARY_JSON: &str = "summary.json";

/// What the runner knows about the run itself.
#[derive(Clone, Debug)]
pub struct RunInfo {
    pub seed: u64,
    /// The scenario's name or file.
    pub scenario: String,
    pub config_hash: String,
    pub duration: SimDuration,
    /// The exact command that replays this run.
    pub replay: String,
    /// The checks that ran, by name; each is "pass" unless a violation names it.
    pub checks: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Outcomes {
    pub finished: u64,
    pub failed: u64,
    pub queued: u64,
    pub scheduled: u64,
    pub started: u64,
    pub lost: u64,
    /// Jobs still waiting for their parents at the end; absent when none (runs without
    /// `depends_on` keep the summary they had).
    #[serde(skip_serializing_if = "is_zero")]
    pub deferred: u64,
    /// Written only when an operator canceled or deleted jobs.
    #[serde(skip_serializing_if = "is_zero")]
    pub canceled: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub deleted: u64,
}

fn is_zero(count: &u64) -> bool {
    *count == 0
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RetryLateness {
    pub p50: Option<f64>,
    pub p99: Option<f64>,
    pub max: Option<f64>,
    pub count: u64,
    /// Interval retries still not started at the end of the run.
    pub pending_at_end: u64,
    /// Their largest (end − due): how late they are at least.
    pub max_pending_overdue: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct QueueWait {
    pub mean: Option<f64>,
    pub p50: Option<f64>,
    pub p99: Option<f64>,
    pub max: Option<f64>,
    pub count: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ViolationSummary {
    pub check: String,
    pub class: &'static str,
    pub time_s: f64,
    pub queue: Option<String>,
    pub job: Option<String>,
    pub processes: Vec<String>,
    pub detail: String,
    pub timeline: Vec<String>,
}

/// A check's verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    Fail,
}

/// The whole of `summary.json`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Summary {
    pub seed: u64,
    pub scenario: String,
    pub config_hash: String,
    pub duration_s: f64,
    pub jobs: u64,
    pub executions: u64,
    pub retries: u64,
    pub duplicate_executions: u64,
    /// Starts of a job after it had finished or failed (part of `duplicate_executions`).
    pub executions_after_end: u64,
    /// Jobs whose last state at the end of the run is `lost`.
    pub lost_jobs: u64,
    pub outcomes: Outcomes,
    pub retry_lateness_s: RetryLateness,
    pub queue_wait_s: QueueWait,
    /// The longest time a queue served by a scheduler had no live scheduler process holding
    /// its lock (what "no scheduler" means); `null` when no queue is served by one.
    pub longest_scheduler_gap_s: Option<f64>,
    /// The longest time such a queue's lock key was absent from Redis (shorter than the gap
    /// by up to the lock's TTL when a holder is killed).
    pub longest_lock_absent_s: Option<f64>,
    pub dual_scheduler_s: f64,
    pub violations: Vec<ViolationSummary>,
    pub replay: String,
    /// By check name.
    pub checks: BTreeMap<String, Verdict>,
    /// Per `[[cron]]` job: scheduled instants, enqueues, duplicates, misses, overlaps and
    /// lateness; absent when the scenario has none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cron: Option<BTreeMap<String, CronJobStats>>,
    /// Redis's memory under `[redis] maxmemory`; absent when the scenario does not model it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redis_memory: Option<RedisMemory>,
}

/// What `maxmemory` did in a run (`summary.json`'s `redis_memory`).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct RedisMemory {
    /// The limit (0: none, memory measured only) and the policy.
    pub maxmemory_bytes: u64,
    pub policy: String,
    /// The most `used_memory` any command found, its own arguments included.
    pub peak_used_bytes: u64,
    pub evicted_keys: u64,
    /// Evicted keys by family: `rq:job:*`, `rq:queue:default`, `rq:scheduler-lock:default`,
    /// … (a key's text with each part after the first that holds a digit as `*`).
    pub evicted_by_family: BTreeMap<String, u64>,
    /// Commands Redis refused with `OOM`, and writes refused inside RQ's scripts.
    pub refused_commands: u64,
}

impl RedisMemory {
    /// The figures of a server's memory accounting.
    pub fn of(memory: &crate::redis::memory::Memory) -> RedisMemory {
        let limit = memory.limit();
        RedisMemory {
            maxmemory_bytes: limit.maxmemory,
            policy: limit.policy.name().to_string(),
            peak_used_bytes: memory.peak_bytes,
            evicted_keys: memory.evicted_keys,
            evicted_by_family: memory.evicted_by_family.clone(),
            refused_commands: memory.refused_commands,
        }
    }
}

/// Seconds from microseconds, exact to the microsecond.
fn micros_to_s(micros: i64) -> f64 {
    micros as f64 / 1e6
}

/// An estimated number of seconds rounded to the microsecond.
pub(crate) fn round_s(seconds: f64) -> f64 {
    (seconds * 1e6).round() / 1e6
}

impl Summary {
    pub fn build(
        run: &RunInfo,
        jobs: &JobStats,
        gaps: &SchedulerGapReport,
        violations: &[Violation],
    ) -> Summary {
        Summary {
            seed: run.seed,
            scenario: run.scenario.clone(),
            config_hash: run.config_hash.clone(),
            duration_s: micros_to_s(run.duration.as_micros() as i64),
            jobs: jobs.jobs,
            executions: jobs.executions,
            retries: jobs.retries,
            duplicate_executions: jobs.duplicate_executions,
            executions_after_end: jobs.executions_after_end,
            lost_jobs: jobs.outcomes.lost,
            outcomes: outcomes(&jobs.outcomes),
            retry_lateness_s: retry_lateness(jobs),
            queue_wait_s: queue_wait(jobs),
            longest_scheduler_gap_s: gaps
                .longest_gap()
                .map(|g| micros_to_s(g.as_micros() as i64)),
            longest_lock_absent_s: gaps
                .longest_lock_absent()
                .map(|g| micros_to_s(g.as_micros() as i64)),
            dual_scheduler_s: micros_to_s(gaps.dual_total().as_micros() as i64),
            violations: violations.iter().map(violation_summary).collect(),
            replay: run.replay.clone(),
            checks: verdicts(&run.checks, violations),
            cron: None,
            redis_memory: None,
        }
    }

    /// True when no check failed.
    pub fn all_checks_pass(&self) -> bool {
        self.checks.values().all(|v| *v == Verdict::Pass)
    }

    /// Pretty JSON with a final newline.
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("a Summary always serializes");
        text.push('\n');
        text
    }

    /// Writes `summary.json` (via a temporary file).
    pub fn write(&self, dir: &OutputDir) -> Result<(), ReportError> {
        dir.write_bytes(SUMMARY_JSON, self.to_json().as_bytes())
    }
}

fn outcomes(counts: &OutcomeCounts) -> Outcomes {
    Outcomes {
        finished: counts.finished,
        failed: counts.failed,
        queued: counts.queued,
        scheduled: counts.scheduled,
        started: counts.started,
        lost: counts.lost,
        deferred: counts.deferred,
        canceled: counts.canceled,
        deleted: counts.deleted,
    }
}

fn retry_lateness(jobs: &JobStats) -> RetryLateness {
    let histogram = &jobs.retry_lateness;
    RetryLateness {
        p50: histogram.quantile_s(0.5).map(round_s),
        p99: histogram.quantile_s(0.99).map(round_s),
        max: histogram.max_micros().map(micros_to_s),
        count: histogram.count(),
        pending_at_end: jobs.retries_pending_at_end,
        max_pending_overdue: jobs.max_pending_retry_overdue_micros.map(micros_to_s),
    }
}

fn queue_wait(jobs: &JobStats) -> QueueWait {
    let histogram = &jobs.queue_wait;
    QueueWait {
        mean: histogram.mean_s().map(round_s),
        p50: histogram.quantile_s(0.5).map(round_s),
        p99: histogram.quantile_s(0.99).map(round_s),
        max: histogram.max_micros().map(micros_to_s),
        count: histogram.count(),
    }
}

fn violation_summary(violation: &Violation) -> ViolationSummary {
    let name = |n: &crate::event::Name| n.to_string();
    ViolationSummary {
        check: violation.check.to_string(),
        class: match violation.class {
            CheckClass::Safety => "safety",
            CheckClass::Liveness => "liveness",
        },
        time_s: micros_to_s(violation.time.as_micros() as i64),
        queue: violation.queue.as_ref().map(name),
        job: violation.job.as_ref().map(name),
        processes: violation.processes.iter().map(name).collect(),
        detail: violation.detail.clone(),
        timeline: violation.timeline.clone(),
    }
}

/// Every check that ran passes unless a violation names it; a violation of a check not in
/// the list still shows up, as failed.
fn verdicts(checks: &[String], violations: &[Violation]) -> BTreeMap<String, Verdict> {
    let mut verdicts: BTreeMap<String, Verdict> =
        checks.iter().map(|c| (c.clone(), Verdict::Pass)).collect();
    for violation in violations {
        verdicts.insert(violation.check.to_string(), Verdict::Fail);
    }
    verdicts
}

/// A compact, aligned text summary for the terminal; `color` adds ANSI colours to verdicts
/// (pass only when writing to a terminal).
pub fn terminal_table(summary: &Summary, color: bool) -> String {
    let seconds = |value: Option<f64>| value.map_or("-".to_string(), |s| format!("{s:.3} s"));
    let lateness = &summary.retry_lateness_s;
    let wait = &summary.queue_wait_s;
    let mut rows: Vec<(String, String)> = vec![
        ("seed".into(), summary.seed.to_string()),
        ("jobs".into(), summary.jobs.to_string()),
        ("executions".into(), summary.executions.to_string()),
        ("retries".into(), summary.retries.to_string()),
        (
            "duplicate executions".into(),
            summary.duplicate_executions.to_string(),
        ),
        ("lost jobs".into(), summary.lost_jobs.to_string()),
        (
            "retry lateness p50 / p99 / max".into(),
            [lateness.p50, lateness.p99, lateness.max]
                .map(seconds)
                .join(" / "),
        ),
        (
            "queue wait p50 / p99".into(),
            [wait.p50, wait.p99].map(seconds).join(" / "),
        ),
        (
            "longest time without a live scheduler".into(),
            seconds(summary.longest_scheduler_gap_s),
        ),
        (
            "longest time without the lock key".into(),
            seconds(summary.longest_lock_absent_s),
        ),
        (
            "time with two schedulers".into(),
            seconds(Some(summary.dual_scheduler_s)),
        ),
    ];
    for (name, cron) in summary.cron.iter().flatten() {
        rows.push((
            format!("cron {name}: instants / enqueues"),
            format!("{} / {}", cron.scheduled, cron.enqueues),
        ));
        rows.push((
            format!("cron {name}: duplicates / misses / overlaps"),
            format!("{} / {} / {}", cron.duplicates, cron.misses, cron.overlaps),
        ));
        rows.push((
            format!("cron {name}: lateness p99 / max"),
            [cron.lateness_p99_s, cron.lateness_max_s]
                .map(seconds)
                .join(" / "),
        ));
    }
    for (check, verdict) in &summary.checks {
        rows.push((format!("check {check}"), verdict_text(*verdict, color)));
    }
    let width = rows
        .iter()
        .map(|(label, _)| label.chars().count())
        .max()
        .unwrap_or(0);
    let mut table = String::new();
    for (label, value) in rows {
        writeln!(table, "  {label:<width$}  {value}").expect("writing to a String");
    }
    table
}

fn verdict_text(verdict: Verdict, color: bool) -> String {
    match (verdict, color) {
        (Verdict::Pass, false) => "pass".into(),
        (Verdict::Fail, false) => "FAIL".into(),
        (Verdict::Pass, true) => "\x1b[32mpass\x1b[0m".into(),
        (Verdict::Fail, true) => "\x1b[1;31mFAIL\x1b[0m".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Name;
    use crate::sim::SimTime;

    fn run_info() -> RunInfo {
        RunInfo {
            seed: 7,
            scenario: "pod-churn".into(),
            config_hash: "abc123".into(),
            duration: SimDuration::from_secs(3_600),
            replay: "simrq run scenarios/pod-churn.toml --seed 7".into(),
            checks: vec!["lost_job".into(), "single_active_scheduler".into()],
        }
    }

    fn violation() -> Violation {
        Violation {
            check: "single_active_scheduler",
            class: CheckClass::Safety,
            time: SimTime(1_250_000),
            queue: Some(Name::from("default")),
            job: None,
            processes: vec![Name::from("s1"), Name::from("s2")],
            detail: "two schedulers".into(),
            timeline: vec!["1.000000 lock_acquired".into()],
        }
    }

    fn summary() -> Summary {
        let mut jobs = JobStats {
            jobs: 3,
            ..JobStats::default()
        };
        jobs.retry_lateness.record(2_500_000);
        let gaps = SchedulerGapReport::default();
        Summary::build(&run_info(), &jobs, &gaps, &[violation()])
    }

    #[test]
    fn keys_come_out_in_a_fixed_order() {
        let json = summary().to_json();
        let top_level_keys: Vec<&str> = json
            .lines()
            .filter_map(|line| line.strip_prefix("  \""))
            .filter_map(|rest| rest.split_once("\":").map(|(key, _)| key))
            .collect();
        let expected = [
            "seed",
            "scenario",
            "config_hash",
            "duration_s",
            "jobs",
            "executions",
            "retries",
            "duplicate_executions",
            "executions_after_end",
            "lost_jobs",
            "outcomes",
            "retry_lateness_s",
            "queue_wait_s",
            "longest_scheduler_gap_s",
            "longest_lock_absent_s",
            "dual_scheduler_s",
            "violations",
            "replay",
            "checks",
        ];
        assert_eq!(top_level_keys, expected);
    }

    #[test]
    fn violations_fail_their_check_and_others_pass() {
        let summary = summary();
        assert_eq!(summary.checks["lost_job"], Verdict::Pass);
        assert_eq!(summary.checks["single_active_scheduler"], Verdict::Fail);
        assert!(!summary.all_checks_pass());
        let json: serde_json::Value = serde_json::from_str(&summary.to_json()).unwrap();
        assert_eq!(json["violations"][0]["time_s"], 1.25);
        assert_eq!(json["violations"][0]["class"], "safety");
        assert_eq!(json["checks"]["single_active_scheduler"], "fail");
        assert_eq!(json["retry_lateness_s"]["max"], 2.5);
        assert!(json["queue_wait_s"]["p50"].is_null());
    }

    #[test]
    fn the_terminal_table_is_aligned_and_colourless_when_asked() {
        let table = terminal_table(&summary(), false);
        assert!(!table.contains('\x1b'));
        assert!(table.contains("check single_active_scheduler"));
        assert!(table.contains("FAIL"));
        let starts: Vec<usize> = table.lines().map(value_start).collect();
        assert!(starts.windows(2).all(|w| w[0] == w[1]), "{table}");
        assert!(terminal_table(&summary(), true).contains('\x1b'));
    }

    /// Where the value column begins: after the label and its padding.
    fn value_start(line: &str) -> usize {
        let label_end = line[2..].find("  ").unwrap() + 2;
        label_end + line[label_end..].chars().take_while(|c| *c == ' ').count()
    }
}
