//! `retry_count`: a job runs at most `1 + retry_max` times (§3.7: `retries_left` is the only
//! counter), plus one run per repeat for a job with `Repeat(times)`: the repeats do not give
//! the retries back (`retries_left` is not reset between runs, docs/repeat-and-webhooks.md),
//! and a failure never repeats. An excess that a duplicate execution explains (§9 R1, R2, R4) is reported once,
//! by `duplicate_execution`; this check stays quiet for such a job. What remains is a retry
//! granted too many times, e.g. §9 R12's stale overwrite of `retries_left`.

use std::collections::BTreeMap;

use crate::event::{Event, EventKind, EventSink, Name};

use super::executions::Executions;
use super::findings::Findings;
use super::{CheckClass, Checker, EndState, Timeline, Violation};
use crate::jobs::JobTable;

pub const NAME: &str = "retry_count";

pub struct RetryCount {
    tracker: Executions,
    /// Executions allowed per job, `1 + retry_max + repeat_times`, and whether the job has a
    /// `Repeat`, from `job_created` (`None`: unknown, not checked).
    allowed: JobTable<Option<(u32, bool)>>,
    /// Excess found, held until the end in case a duplicate of the same job explains it.
    pending: BTreeMap<Name, Violation>,
    findings: Findings,
    finished: bool,
    timeline: Timeline,
}

impl RetryCount {
    /// `executions`: [`Executions::own`], or a follower of the tracker the caller observes.
    pub fn new(timeline: Timeline, executions: Executions) -> RetryCount {
        RetryCount {
            tracker: executions,
            allowed: JobTable::new(),
            pending: BTreeMap::new(),
            findings: Findings::new(NAME, CheckClass::Safety, None),
            finished: false,
            timeline,
        }
    }

    fn judge_start(&mut self, event: &Event, job: &Name) {
        let Some(Some((allowed, repeated))) = self.allowed.get(job).copied() else {
            return;
        };
        let executions = self.tracker.starts(job);
        if executions <= allowed || self.pending.contains_key(job) {
            return;
        }
        if self.tracker.duplicates(job) > 0 {
            return;
        }
        let limit = if repeated {
            "1 + retry_max + repeat_times"
        } else {
            "1 + retry_max"
        };
        let detail = format!("{job} started execution {executions}, more than {limit} = {allowed}");
        let mut violation = Violation::new(NAME, CheckClass::Safety, event.time, detail);
        let processes: Vec<Name> = event.process.iter().cloned().collect();
        violation.timeline = self.timeline.lines(Some(job), event.queue.as_deref(), &[]);
        violation.queue = event.queue.clone();
        violation.job = Some(job.clone());
        violation.processes = processes;
        self.pending.insert(job.clone(), violation);
    }
}

impl EventSink for RetryCount {
    fn on_event(&mut self, event: &Event) {
        self.timeline.observe(event);
        let Some(job) = &event.job else { return };
        if let EventKind::JobCreated {
            retry_max,
            repeat_times,
            ..
        } = &event.kind
        {
            let allowed = 1 + (*retry_max).max(0) + (*repeat_times).max(0);
            let allowed = allowed.min(i64::from(u32::MAX)) as u32;
            *self.allowed.entry(job) = Some((allowed, *repeat_times > 0));
        }
        if self.tracker.observe(event).is_some() {
            // A duplicate explains any excess of this job, earlier or later.
            self.pending.remove(job);
        }
        if matches!(event.kind, EventKind::JobStarted { .. }) {
            self.judge_start(event, job);
        }
        if self.tracker.is_retired(job) {
            // A retired job that runs again is a duplicate, which explains any excess.
            self.allowed.remove(job);
        }
    }
}

impl Checker for RetryCount {
    fn name(&self) -> &'static str {
        NAME
    }

    fn finish(&mut self, _end: &dyn EndState) -> Vec<Violation> {
        if !self.finished {
            self.finished = true;
            for duplicate in self.tracker.finish() {
                self.pending.remove(&duplicate.job);
            }
            for violation in std::mem::take(&mut self.pending).into_values() {
                self.findings.add(|| violation);
            }
        }
        self.findings.violations()
    }

    fn passed(&self) -> bool {
        self.findings.passed() && self.pending.is_empty()
    }
}
