//! `retry_count`: a job runs at most `1 + retry_max` times (§3.7: `retries_left` is the only
//! counter), plus one run per repeat decided (`job_repeat_requeued`, `job_repeat_scheduled`)
//! for a job with `Repeat`: repeats do not give the retries back (`retries_left` is not reset
//! between runs, docs/repeat-and-webhooks.md). Too many repeats are `repeat_count`'s to
//! report, not this check's. An excess that a duplicate execution explains (§9 R1, R2, R4) is reported once,
//! by `duplicate_execution`; this check stays quiet for such a job. What remains is a retry
//! granted too many times, e.g. §9 R12's stale overwrite of `retries_left`.

use std::collections::BTreeMap;

use crate::event::{Event, EventKind, EventSink, JobId, Name};

use super::executions::Executions;
use super::findings::Findings;
use super::{CheckClass, Checker, EndState, Timeline, Violation};
use crate::jobs::JobTable;

pub const NAME: &str = "retry_count";

/// The runs a job may have: one, one per retry, one per repeat decided.
#[derive(Clone, Copy, Debug)]
struct Budget {
    retry_max: u32,
    repeats: u32,
}

pub struct RetryCount {
    tracker: Executions,
    /// Per job, from `job_created`: `retry_max`, and the repeats decided so far (`None`:
    /// unknown, not checked).
    allowed: JobTable<Option<Budget>>,
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

    fn judge_start(&mut self, event: &Event, job: JobId) {
        let Some(Some(budget)) = self.allowed.get(job).copied() else {
            return;
        };
        let allowed = 1 + budget.retry_max + budget.repeats;
        let executions = self.tracker.starts(job);
        if executions <= allowed || self.pending.contains_key(&*job.name()) {
            return;
        }
        if self.tracker.duplicates(job) > 0 {
            return;
        }
        let limit = if budget.repeats > 0 {
            format!("1 + retry_max + {} repeats", budget.repeats)
        } else {
            "1 + retry_max".to_string()
        };
        let detail = format!("{job} started execution {executions}, more than {limit} = {allowed}");
        let mut violation = Violation::new(NAME, CheckClass::Safety, event.time, detail);
        let processes: Vec<Name> = event.process.iter().cloned().collect();
        violation.timeline = self.timeline.lines(Some(job), event.queue.as_deref(), &[]);
        violation.queue = event.queue.clone();
        violation.job = Some(job.name());
        violation.processes = processes;
        self.pending.insert(job.name(), violation);
    }
}

impl EventSink for RetryCount {
    fn on_event(&mut self, event: &Event) {
        self.timeline.observe(event);
        let Some(job) = event.job else { return };
        match &event.kind {
            EventKind::JobCreated { retry_max, .. } => {
                let retry_max = (*retry_max).clamp(0, i64::from(u32::MAX / 2)) as u32;
                let repeats = 0;
                *self.allowed.entry(job) = Some(Budget { retry_max, repeats });
            }
            EventKind::JobRepeatRequeued { .. } | EventKind::JobRepeatScheduled { .. } => {
                if let Some(Some(budget)) = self.allowed.get_or_try_insert_with(job, || None) {
                    budget.repeats = budget.repeats.saturating_add(1).min(u32::MAX / 2);
                }
            }
            _ => {}
        }
        if self.tracker.observe(event).is_some() {
            // A duplicate explains any excess of this job, earlier or later.
            self.pending.remove(&*job.name());
        }
        if matches!(event.kind, EventKind::JobStarted { .. }) {
            self.judge_start(event, job);
        }
        if self.tracker.retired_last() {
            // A retired job that runs again is a duplicate, which explains any excess. Only
            // `job_created` makes a budget, so once removed here it stays removed: the event
            // that retires the job is the one to look at.
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
                self.pending.remove(&*duplicate.job.name());
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
