//! `cron_schedule`: every scheduled instant of every `[[cron]]` job is enqueued exactly once,
//! on time (docs/cron.md, "What simrq checks").
//!
//! ```text
//!  cron = "*/5 * * * *"   instants 00:05 00:10 00:15 …  (from the first `rq cron` start)
//!                         enqueues  ×2    ×1    ×0        → 1 duplicate, 1 miss
//!  interval = "60s"       windows [t0−30 s, t0+30 s) [t0+30 s, t0+90 s) …  around the
//!                         enqueues   ×4                ×1              first enqueue t0
//!                                                                      → 3 duplicates
//! ```
//!
//! A cron expression's instants are absolute, so each enqueue names the instant it was due
//! for (`cron_job_enqueued`'s `due_unix_ms`). An interval job has no fixed grid: every
//! `rq cron` counts from its own start, and a restart enqueues at once. Its intended schedule
//! is "once per interval", so the timeline is cut into windows of one interval centred on the
//! first enqueue's schedule (t0 + k·interval); a window with k > 1 enqueues holds k − 1
//! duplicates, an empty one a miss. Centred, because one process's own enqueues come one
//! interval after the start of its previous pass: windows that began at t0 would put each of
//! them on a boundary, where a commit a millisecond quicker than the first one's (a varying
//! Redis latency; the first enqueue's connection set-up in a real run) counts a duplicate and a
//! miss that did not happen (tests/conformance FINDINGS.md, "rq cron").
//! Lateness is the time of the enqueue's commit minus its due instant, on the true clock.
//! Overlap — a cron job's job starting while an earlier one of the same cron job still runs —
//! is reported, not judged: RQ allows it.

use std::collections::{BTreeMap, HashMap};

use crate::event::{Event, EventKind, EventSink, JobId, Name};
use crate::report::summary::round_s;
use crate::report::LogHistogram;
use crate::rq::cron::CronSchedule;
use crate::rq::cron_expr::CronExpr;
use crate::sim::{SimDuration, SimTime};

use super::findings::Findings;
use super::{CheckClass, Violation};

pub const NAME: &str = "cron_schedule";

/// An instant this close to the end of the run is not judged: its enqueue may still be on its
/// way to Redis.
const SETTLE: SimDuration = SimDuration::from_secs(1);

/// `[checks]` limits of the cron check.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CronLimits {
    /// Duplicate enqueues tolerated (`None`: none).
    pub duplicates: Option<u64>,
    /// Missed instants tolerated (`None`: none).
    pub misses: Option<u64>,
    /// Largest lateness allowed (`None`: not checked).
    pub max_lateness: Option<SimDuration>,
}

/// What happened to one cron job in a run (`summary.json`'s `cron`).
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct CronJobStats {
    /// Instants (cron expression) or windows (interval) that passed while the run watched.
    pub scheduled: u64,
    pub enqueues: u64,
    pub duplicates: u64,
    pub misses: u64,
    /// Starts while an earlier job of the same cron job was still running.
    pub overlaps: u64,
    pub lateness_p50_s: Option<f64>,
    pub lateness_p99_s: Option<f64>,
    pub lateness_max_s: Option<f64>,
}

#[derive(Default)]
struct Tracked {
    /// Commit time and due time (true-clock micros since the run's start) of each enqueue.
    enqueues: Vec<(SimTime, Option<i64>)>,
    lateness: LogHistogram,
    /// Jobs of this cron job running now, with their start count.
    running: BTreeMap<JobId, u32>,
    overlaps: u64,
}

/// The cron check: an event sink, judged at the end with [`CronCheck::finish`].
pub struct CronCheck {
    jobs: BTreeMap<Name, (CronSchedule, Tracked)>,
    /// Which cron job each enqueued job belongs to.
    owner: HashMap<JobId, Name>,
    limits: CronLimits,
    /// Unix microseconds of virtual instant zero on the true clock.
    origin_unix_micros: i64,
    first_start: Option<SimTime>,
}

impl CronCheck {
    pub fn new(jobs: Vec<(Name, CronSchedule)>, limits: CronLimits) -> CronCheck {
        CronCheck {
            jobs: jobs
                .into_iter()
                .map(|(name, schedule)| (name, (schedule, Tracked::default())))
                .collect(),
            owner: HashMap::new(),
            limits,
            origin_unix_micros: crate::sim::kernel::EPOCH_UNIX_MICROS,
            first_start: None,
        }
    }

    /// The true clock's Unix microseconds at virtual instant zero (the run's wall-clock
    /// phase), known once the world is built.
    pub fn set_origin(&mut self, origin_unix_micros: i64) {
        self.origin_unix_micros = origin_unix_micros;
    }

    fn on_enqueued(&mut self, event: &Event, cron_job: &Name, due_unix_ms: Option<i64>) {
        let origin = self.origin_unix_micros;
        let Some((_, tracked)) = self.jobs.get_mut(cron_job) else {
            return;
        };
        let due = due_unix_ms.map(|ms| ms * 1000 - origin);
        if let Some(due) = due {
            let lateness = (event.time.as_micros() as i64 - due).max(0);
            tracked.lateness.record(lateness);
        }
        tracked.enqueues.push((event.time, due));
        if let Some(job) = &event.job {
            self.owner.insert(*job, cron_job.clone());
        }
    }

    /// A job's execution started or ended (`job_started`; `job_finished`, `job_failed`, or
    /// its horse killed).
    fn on_execution(&mut self, job: JobId, started: bool) {
        let Some(cron_job) = self.owner.get(&job) else {
            return;
        };
        let Some((_, tracked)) = self.jobs.get_mut(cron_job) else {
            return;
        };
        if started {
            let others_running = tracked.running.keys().any(|other| *other != job);
            if others_running {
                tracked.overlaps += 1;
            }
            *tracked.running.entry(job).or_default() += 1;
        } else if let Some(count) = tracked.running.get_mut(&job) {
            *count -= 1;
            if *count == 0 {
                tracked.running.remove(&job);
            }
        }
    }

    /// Each cron job's figures and the violations, judged over the run up to `end`.
    pub fn finish(&self, end: SimTime) -> (BTreeMap<String, CronJobStats>, Vec<Violation>) {
        let mut fire_count = Findings::new(NAME, CheckClass::Safety, None);
        let mut stats = BTreeMap::new();
        let mut duplicates = 0;
        let mut misses = 0;
        let mut worst_late: Option<(SimDuration, Name)> = None;
        for (name, (schedule, tracked)) in &self.jobs {
            let slots = match schedule {
                CronSchedule::Interval(seconds) => {
                    let interval = SimDuration::from_secs(*seconds as u64);
                    interval_windows(&tracked.enqueues, interval, end)
                }
                CronSchedule::Expression { expr, .. } => {
                    self.instants(expr, &tracked.enqueues, end)
                }
            };
            let job_stats = CronJobStats {
                scheduled: slots.iter().filter(|s| s.counted).count() as u64,
                enqueues: tracked.enqueues.len() as u64,
                duplicates: slots.iter().map(|s| s.enqueues.saturating_sub(1)).sum(),
                misses: slots
                    .iter()
                    .filter(|s| s.counted && s.enqueues == 0)
                    .count() as u64,
                overlaps: tracked.overlaps,
                lateness_p50_s: tracked.lateness.quantile_s(0.5).map(round_s),
                lateness_p99_s: tracked.lateness.quantile_s(0.99).map(round_s),
                lateness_max_s: tracked.lateness.max_micros().map(|m| m as f64 / 1e6),
            };
            duplicates += job_stats.duplicates;
            misses += job_stats.misses;
            if let Some(max) = tracked.lateness.max_micros() {
                let late = SimDuration(max.max(0) as u64);
                if worst_late.as_ref().is_none_or(|(worst, _)| late > *worst) {
                    worst_late = Some((late, name.clone()));
                }
            }
            report_slots(&mut fire_count, name, &slots);
            stats.insert(name.to_string(), job_stats);
        }
        let mut violations = Vec::new();
        let allowed_dup = self.limits.duplicates.unwrap_or(0);
        let allowed_miss = self.limits.misses.unwrap_or(0);
        if duplicates > allowed_dup || misses > allowed_miss {
            violations = fire_count.violations();
            let detail = format!(
                "{duplicates} duplicate enqueues (allowed {allowed_dup}) and {misses} missed \
                 instants (allowed {allowed_miss})"
            );
            violations.insert(0, Violation::new(NAME, CheckClass::Safety, end, detail));
        }
        if let (Some(limit), Some((late, name))) = (self.limits.max_lateness, worst_late) {
            if late > limit {
                let detail = format!(
                    "cron job {name} was enqueued {late} after its due instant (limit {limit})"
                );
                violations.push(Violation::new(NAME, CheckClass::Safety, end, detail));
            }
        }
        violations.truncate(super::findings::KEPT_PER_CHECK);
        (stats, violations)
    }

    /// A cron expression's instants from the first `rq cron` start to `end`, each with the
    /// enqueues due for it.
    fn instants(
        &self,
        expr: &CronExpr,
        enqueues: &[(SimTime, Option<i64>)],
        end: SimTime,
    ) -> Vec<Slot> {
        let mut by_due: BTreeMap<i64, u64> = BTreeMap::new();
        for due in enqueues.iter().filter_map(|(_, due)| *due) {
            *by_due.entry(due).or_default() += 1;
        }
        let mut slots = Vec::new();
        if let Some(start) = self.first_start {
            let to_unix_s = |t: i64| (t + self.origin_unix_micros).div_euclid(1_000_000);
            let watched_until = end.as_micros() as i64 - SETTLE.as_micros() as i64;
            let mut instant = expr.next_after(to_unix_s(start.as_micros() as i64));
            while let Some(unix_s) = instant {
                let at = unix_s * 1_000_000 - self.origin_unix_micros;
                if at > watched_until {
                    break;
                }
                slots.push(Slot {
                    at: SimTime(at.max(0) as u64),
                    enqueues: by_due.remove(&at).unwrap_or(0),
                    counted: true,
                });
                instant = expr.next_after(unix_s);
            }
        }
        // Enqueues due for an instant outside the watched span (a skewed clock) still count.
        slots.extend(by_due.into_iter().map(|(at, enqueues)| Slot {
            at: SimTime(at.max(0) as u64),
            enqueues,
            counted: false,
        }));
        slots
    }
}

/// One instant or window and the enqueues it got; `counted`: it lies in the watched span.
struct Slot {
    at: SimTime,
    enqueues: u64,
    counted: bool,
}

/// Windows of one `interval`, window k spanning first + (k ± ½)·interval around the first
/// enqueue; only whole windows before `end` count. `at` is a window's nominal instant,
/// first + k·interval.
fn interval_windows(
    enqueues: &[(SimTime, Option<i64>)],
    interval: SimDuration,
    end: SimTime,
) -> Vec<Slot> {
    let Some(&(first, _)) = enqueues.first() else {
        return Vec::new();
    };
    let width = interval.as_micros().max(1) as i64;
    let first = first.as_micros() as i64;
    let opens = first - width / 2;
    let whole = ((end.as_micros() as i64 - opens) / width).max(0);
    let mut counts: BTreeMap<i64, u64> = (0..whole).map(|k| (k, 0)).collect();
    for (time, _) in enqueues {
        let k = (time.as_micros() as i64 - opens).div_euclid(width);
        *counts.entry(k).or_default() += 1;
    }
    counts
        .into_iter()
        .map(|(k, enqueues)| Slot {
            at: SimTime((first + k * width).max(0) as u64),
            enqueues,
            counted: k < whole,
        })
        .collect()
}

/// One finding per duplicate enqueue and per missed instant, kept up to the cap.
fn report_slots(findings: &mut Findings, name: &Name, slots: &[Slot]) {
    for slot in slots {
        for extra in 1..slot.enqueues {
            findings.add(|| {
                let detail = format!(
                    "cron job {name}: instant {} enqueued {} times (duplicate {extra})",
                    slot.at, slot.enqueues
                );
                Violation::new(NAME, CheckClass::Safety, slot.at, detail)
            });
        }
        if slot.counted && slot.enqueues == 0 {
            findings.add(|| {
                let detail = format!("cron job {name}: instant {} was never enqueued", slot.at);
                Violation::new(NAME, CheckClass::Safety, slot.at, detail)
            });
        }
    }
}

impl EventSink for CronCheck {
    fn on_event(&mut self, event: &Event) {
        match &event.kind {
            EventKind::CronSchedulerStarted { .. } => {
                self.first_start.get_or_insert(event.time);
            }
            EventKind::CronJobEnqueued {
                cron_job,
                due_unix_ms,
            } => self.on_enqueued(event, cron_job, *due_unix_ms),
            EventKind::JobStarted { .. } => {
                if let Some(job) = event.job {
                    self.on_execution(job, true);
                }
            }
            EventKind::JobFinished | EventKind::JobFailed { .. } | EventKind::ProcessKilled => {
                if let Some(job) = event.job {
                    self.on_execution(job, false);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at_ms(ms: &[u64]) -> Vec<(SimTime, Option<i64>)> {
        ms.iter().map(|m| (SimTime(m * 1000), None)).collect()
    }

    fn judge(enqueues_ms: &[u64], end_ms: u64) -> (u64, u64, u64) {
        let slots = interval_windows(
            &at_ms(enqueues_ms),
            SimDuration::from_secs(5),
            SimTime(end_ms * 1000),
        );
        let duplicates = slots.iter().map(|s| s.enqueues.saturating_sub(1)).sum();
        let misses = slots
            .iter()
            .filter(|s| s.counted && s.enqueues == 0)
            .count() as u64;
        let counted = slots.iter().filter(|s| s.counted).count() as u64;
        (counted, duplicates, misses)
    }

    /// One process every 5 s whose first commit took 2.6 ms and the later ones 0.4 ms (a real
    /// `rq cron`: the first enqueue opens the connection): no duplicate, no miss.
    #[test]
    fn a_quicker_commit_than_the_first_is_no_duplicate() {
        let one = [1_002, 5_999, 10_999, 16_000, 21_000];
        assert_eq!(judge(&one, 23_000), (4, 0, 0));
    }

    #[test]
    fn two_processes_duplicate_and_a_gap_misses() {
        let two = [1_000, 1_700, 6_000, 6_700, 11_000, 11_700];
        assert_eq!(judge(&two, 13_000), (2, 3, 0));
        // Killed after 11 s, restarted at 24.1 s: the windows around 16 s and 21 s are empty.
        let restarted = [1_000, 6_000, 11_000, 24_100];
        assert_eq!(judge(&restarted, 27_000), (5, 0, 2));
    }
}
