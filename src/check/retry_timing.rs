//! `retry_timing`: an interval retry starts neither early nor too late.
//!
//! A retry scheduled at `t` with interval `I` is due at `t + I`. RQ floors the due second and
//! the scheduler ticks every second, so with agreeing clocks it is enqueued between `I − 1 s`
//! and `I + 1 s` after the failure (§3.7, §8, §11): a start before `t + I − 1 s` is early (a
//! skewed scheduler clock, a stale second copy). Lateness is `start − (t + I)`; with
//! `max_retry_lateness` set it must not exceed that bound (§9 R10, R11), and a retry still
//! waiting when the run ends counts as late once the bound has passed.

use crate::event::{Event, EventKind, EventSink, JobId, Name};
use crate::jobs::JobTable;
use crate::sim::{SimDuration, SimTime};

use super::findings::Findings;
use super::{CheckClass, Checker, EndState, Timeline, Violation};

pub const NAME: &str = "retry_timing";

/// RQ floors the due time to whole seconds, so a retry may come this much before `t + I`.
pub const FLOOR_TOLERANCE: SimDuration = SimDuration::from_secs(1);

#[derive(Clone, Debug)]
struct ScheduledRetry {
    scheduled_at: SimTime,
    interval: SimDuration,
    process: Option<Name>,
    queue: Option<Name>,
}

impl ScheduledRetry {
    fn due(&self) -> SimTime {
        self.scheduled_at + self.interval
    }
}

pub struct RetryTiming {
    max_lateness: Option<SimDuration>,
    /// Interval retries decided and not started yet.
    waiting: JobTable<ScheduledRetry>,
    /// The worst lateness seen, for the summary.
    worst_lateness: SimDuration,
    findings: Findings,
    finished: bool,
    timeline: Timeline,
}

impl RetryTiming {
    pub fn new(max_lateness: Option<SimDuration>, timeline: Timeline) -> RetryTiming {
        RetryTiming {
            max_lateness,
            waiting: JobTable::new(),
            worst_lateness: SimDuration::ZERO,
            findings: Findings::new(NAME, CheckClass::Safety, None),
            finished: false,
            timeline,
        }
    }

    /// The latest start of an interval retry after its due time.
    pub fn worst_lateness(&self) -> SimDuration {
        self.worst_lateness
    }

    fn judge_start(&mut self, event: &Event, job: JobId, retry: ScheduledRetry) {
        let earliest = retry.due() - FLOOR_TOLERANCE;
        let lateness = event.time.since(retry.due());
        self.worst_lateness = self.worst_lateness.max(lateness);
        let detail = if event.time < earliest {
            let early = retry.due().since(event.time);
            format!(
                "retry of {job} (interval {}) started {early} before its due time {}",
                retry.interval,
                retry.due()
            )
        } else if self.max_lateness.is_some_and(|max| lateness > max) {
            format!(
                "retry of {job} (interval {}) started {lateness} after its due time {}",
                retry.interval,
                retry.due()
            )
        } else {
            return;
        };
        let mut processes: Vec<Name> = event.process.iter().cloned().collect();
        processes.extend(retry.process);
        let timeline = &self.timeline;
        self.findings.add(|| {
            let mut violation = Violation::new(NAME, CheckClass::Safety, event.time, detail);
            violation.timeline = timeline.lines(Some(job), event.queue.as_deref(), &[]);
            violation.queue = event.queue.clone();
            violation.job = Some(job.name());
            violation.processes = processes;
            violation
        });
    }

    /// Retries still waiting at the end whose bound has passed.
    fn judge_waiting(&mut self, end_time: SimTime) {
        let Some(max) = self.max_lateness else { return };
        let overdue: Vec<(JobId, ScheduledRetry)> = self
            .waiting
            .iter()
            .map(|(job, retry)| (job, retry.clone()))
            .filter(|(_, retry)| end_time.since(retry.due()) > max)
            .collect();
        for (job, retry) in overdue {
            let late_at = retry.due() + max;
            let detail = format!(
                "retry of {job} (interval {}) due at {} had not started when the run ended at {}",
                retry.interval,
                retry.due(),
                end_time
            );
            let timeline = &self.timeline;
            self.findings.add(|| {
                let mut violation = Violation::new(NAME, CheckClass::Safety, late_at, detail);
                violation.timeline = timeline.lines(Some(job), retry.queue.as_deref(), &[]);
                violation.queue = retry.queue.clone();
                violation.processes = retry.process.iter().cloned().collect();
                violation.job = Some(job.name());
                violation
            });
        }
    }
}

impl EventSink for RetryTiming {
    fn on_event(&mut self, event: &Event) {
        self.timeline.observe(event);
        let Some(job) = event.job else { return };
        match &event.kind {
            EventKind::JobRetryScheduled { interval_s, .. } => {
                let retry = ScheduledRetry {
                    scheduled_at: event.time,
                    interval: SimDuration::from_secs((*interval_s).max(0) as u64),
                    process: event.process.clone(),
                    queue: event.queue.clone(),
                };
                self.waiting.insert(job, retry);
            }
            EventKind::JobRetryRequeued { .. } | EventKind::JobMovedToFailed { .. } => {
                // A later decision replaces the interval retry (§9 R4's second copy).
                self.waiting.remove(job);
            }
            EventKind::JobStarted { .. } => {
                if let Some(retry) = self.waiting.remove(job) {
                    self.judge_start(event, job, retry);
                }
            }
            _ => {}
        }
    }
}

impl Checker for RetryTiming {
    fn name(&self) -> &'static str {
        NAME
    }

    fn finish(&mut self, end: &dyn EndState) -> Vec<Violation> {
        if !self.finished {
            self.finished = true;
            self.judge_waiting(end.end_time());
        }
        self.findings.violations()
    }

    fn passed(&self) -> bool {
        self.findings.passed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::testing::{FixedEnd, Stream};

    /// §3.7: an interval-0 retry decided after an interval retry replaces it, so its prompt
    /// start is not "early".
    #[test]
    fn a_requeue_replaces_a_waiting_interval_retry() {
        let mut stream = Stream::new(RetryTiming::new(None, Timeline::own()));
        stream.create(0.0, "j1", 2, &[]).start(1.0, "j1", "w1");
        stream.fail_and_schedule(2.0, "j1", "w1", 60, 1);
        stream.emit(
            3.0,
            "w9",
            "j1",
            EventKind::JobRetryRequeued { retries_left: 0 },
        );
        stream.start(4.0, "j1", "w2");
        let violations = stream.checkers().finish(&FixedEnd::at(10.0));
        assert!(violations.is_empty(), "{violations:#?}");
        assert_eq!(stream.checkers().worst_lateness(), SimDuration::ZERO);
    }
}
