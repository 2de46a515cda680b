//! `repeat_count`: a job created with `Repeat(times=n)` succeeds n + 1 times, no more and no
//! fewer (docs/repeat-and-webhooks.md).
//!
//! A success is a run that ends with a repeat decision (`job_repeat_requeued`,
//! `job_repeat_scheduled`) or with `job_finished`, which only a run with no repeats left
//! gets. Failed executions do not count: a failure is retried (if retries are left) and
//! repeats nothing.
//! - **No more**, always: an (n + 2)-th success is a violation, e.g. a run that started from
//!   a copy of the job read before the previous run's transaction decremented
//!   `repeats_left`. An excess that a duplicate execution explains (§9 R1, R2, R6) is left to
//!   `duplicate_execution`, as `retry_count` does.
//! - **No fewer**, for a job that finished: `job_finished` after fewer than n + 1 successes
//!   means repeats were lost. A job that failed for good legitimately stops repeating, and is
//!   dropped. A job whose next run is still pending when the run ends is not judged here:
//!   `liveness` reports it once the run has drained, and `lost_job` an id that vanished.

use std::collections::BTreeMap;

use crate::event::{Event, EventKind, EventSink, JobId};
use crate::jobs::JobTable;

use super::executions::Executions;
use super::findings::Findings;
use super::{CheckClass, Checker, EndState, Timeline, Violation};

pub const NAME: &str = "repeat_count";

/// A job with `Repeat`, from `job_created` until it finished or failed for good.
#[derive(Clone, Copy, Debug)]
struct Repeated {
    times: u32,
    successes: u32,
}

pub struct RepeatCount {
    tracker: Executions,
    jobs: JobTable<Repeated>,
    /// Excess found, held until the end in case a duplicate of the same job explains it.
    pending: BTreeMap<JobId, Violation>,
    findings: Findings,
    finished: bool,
    timeline: Timeline,
}

impl RepeatCount {
    /// `executions`: [`Executions::own`], or a follower of the tracker the caller observes.
    pub fn new(timeline: Timeline, executions: Executions) -> RepeatCount {
        RepeatCount {
            tracker: executions,
            jobs: JobTable::new(),
            pending: BTreeMap::new(),
            findings: Findings::new(NAME, CheckClass::Safety, None),
            finished: false,
            timeline,
        }
    }

    fn violation(&self, event: &Event, job: JobId, detail: String) -> Violation {
        let mut violation = Violation::new(NAME, CheckClass::Safety, event.time, detail);
        violation.timeline = self.timeline.lines(Some(job), event.queue.as_deref(), &[]);
        violation.queue = event.queue.clone();
        violation.job = Some(job.name());
        violation.processes = event.process.iter().cloned().collect();
        violation
    }

    /// One more success of `job`; `last`: it was `job_finished` (no repeats left).
    fn judge_success(&mut self, event: &Event, job: JobId, last: bool) {
        // Only jobs created with `Repeat` have an entry; none is made here.
        let Some(state) = self.jobs.get_or_try_insert_with(job, || None) else {
            return;
        };
        state.successes += 1;
        let Repeated { times, successes } = *state;
        let expected = times + 1;
        if successes > expected && !self.pending.contains_key(&job) {
            if self.tracker.duplicates(job) == 0 {
                let detail = format!(
                    "{job} succeeded {successes} times, more than 1 + repeat_times = {expected}"
                );
                let violation = self.violation(event, job, detail);
                self.pending.insert(job, violation);
            }
        } else if last && successes < expected {
            let detail = format!(
                "{job} finished after {successes} successful runs, fewer than 1 + \
                 repeat_times = {expected}"
            );
            let violation = self.violation(event, job, detail);
            self.findings.add(|| violation);
        }
        if last {
            self.jobs.remove(job);
        }
    }

    /// Jobs with `Repeat` still followed (created, not yet finished or failed for good).
    pub fn jobs_held(&self) -> usize {
        self.jobs.len()
    }
}

impl EventSink for RepeatCount {
    fn on_event(&mut self, event: &Event) {
        self.timeline.observe(event);
        let Some(job) = event.job else { return };
        if self.tracker.observe(event).is_some() {
            // A duplicate explains any excess of this job, earlier or later.
            self.pending.remove(&job);
        }
        match &event.kind {
            EventKind::JobCreated { repeat_times, .. } if *repeat_times > 0 => {
                let times = (*repeat_times).min(i64::from(u32::MAX)) as u32;
                let successes = 0;
                self.jobs.insert(job, Repeated { times, successes });
            }
            EventKind::JobRepeatRequeued { .. } | EventKind::JobRepeatScheduled { .. } => {
                self.judge_success(event, job, false);
            }
            EventKind::JobFinished => self.judge_success(event, job, true),
            EventKind::JobMovedToFailed { .. } => {
                // Failed for good: the repeats legitimately stop.
                self.jobs.remove(job);
            }
            _ => {}
        }
    }
}

impl Checker for RepeatCount {
    fn name(&self) -> &'static str {
        NAME
    }

    fn finish(&mut self, _end: &dyn EndState) -> Vec<Violation> {
        if !self.finished {
            self.finished = true;
            for duplicate in self.tracker.finish() {
                self.pending.remove(&duplicate.job);
            }
            let mut excess: Vec<Violation> =
                std::mem::take(&mut self.pending).into_values().collect();
            excess.sort_by_key(|violation| (violation.time, violation.job.clone()));
            for violation in excess {
                self.findings.add(|| violation);
            }
        }
        self.findings.violations()
    }

    fn passed(&self) -> bool {
        self.findings.passed() && self.pending.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::testing::{FixedEnd, Stream};

    fn checker() -> Stream<RepeatCount> {
        Stream::new(RepeatCount::new(Timeline::own(), Executions::own()))
    }

    /// docs/repeat-and-webhooks.md: `Repeat(times=2)` succeeds three times; interval 0 and
    /// interval repeats both count, and failures retried between them do not.
    #[test]
    fn three_successes_of_repeat_times_two_pass() {
        let mut stream = checker();
        stream.create_repeating(0.0, "j1", 1, &[], 2);
        stream
            .start(1.0, "j1", "w1")
            .repeat_requeue(2.0, "j1", "w1", 1);
        stream
            .start(3.0, "j1", "w1")
            .fail_and_requeue(4.0, "j1", "w1", 0);
        stream
            .start(5.0, "j1", "w1")
            .repeat_schedule(6.0, "j1", "w1", 5, 0);
        stream.start(11.0, "j1", "w1").finish(12.0, "j1", "w1");
        let violations = stream.checkers().finish(&FixedEnd::at(20.0));
        assert!(violations.is_empty(), "{violations:#?}");
        assert_eq!(stream.checkers().jobs_held(), 0);
    }

    /// A job that fails for good stops repeating: not a violation.
    #[test]
    fn a_job_failed_for_good_stops_repeating() {
        let mut stream = checker();
        stream.create_repeating(0.0, "j1", 0, &[], 3);
        stream
            .start(1.0, "j1", "w1")
            .repeat_requeue(2.0, "j1", "w1", 2);
        stream.start(3.0, "j1", "w1").fail_for_good(4.0, "j1", "w1");
        assert!(stream.checkers().finish(&FixedEnd::at(9.0)).is_empty());
        assert_eq!(stream.checkers().jobs_held(), 0);
    }
}
