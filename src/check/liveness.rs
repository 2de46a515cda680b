//! `liveness`: once the faults have stopped and the system has had `drain` to recover, every
//! job has finished or failed for good, and a scheduler holds the lock of every queue that
//! `--with-scheduler` workers serve (§4.8, §11: a lock left without holder delays every
//! retry). Judged only at the end, and only if the run lasted `drain` past the last fault.

use crate::event::{Event, EventSink, Name};
use crate::jobs::JobTable;
use crate::sim::{SimDuration, SimTime};

use super::findings::Findings;
use super::history::is_terminal;
use super::{CheckClass, Checker, EndState, JobLocation, Timeline, Violation};

pub const NAME: &str = "liveness";

/// A job that has not (yet) finished or failed for good: its latest queue, and when it was
/// first seen (its `job_created`).
#[derive(Clone, Debug, Default)]
struct OpenJob {
    queue: Option<Name>,
    created: SimTime,
}

pub struct Liveness {
    drain: SimDuration,
    scheduler_queues: Vec<Name>,
    /// Jobs whose last word was not terminal; a terminal event removes the entry.
    jobs: JobTable<OpenJob>,
    findings: Findings,
    judged: Option<bool>,
    timeline: Timeline,
}

impl Liveness {
    pub fn new(drain: SimDuration, scheduler_queues: Vec<Name>, timeline: Timeline) -> Liveness {
        Liveness {
            drain,
            scheduler_queues,
            jobs: JobTable::new(),
            findings: Findings::new(NAME, CheckClass::Liveness, None),
            judged: None,
            timeline,
        }
    }

    /// Whether the run was long enough after the last fault to judge liveness (after `finish`).
    pub fn judged(&self) -> Option<bool> {
        self.judged
    }

    fn report(&mut self, time: SimTime, queue: Option<Name>, job: Option<Name>, detail: String) {
        let timeline = &self.timeline;
        self.findings.add(|| {
            let mut violation = Violation::new(NAME, CheckClass::Liveness, time, detail);
            violation.timeline = timeline.lines(job.as_deref(), queue.as_deref(), &[]);
            violation.queue = queue;
            violation.job = job;
            violation
        });
    }

    fn judge_jobs(&mut self, end: &dyn EndState) {
        // Every job gets the whole drain: producers stop at the end of the active phase, but
        // `rq cron` enqueues until the end, and its latest jobs may rightly still be running.
        let judged_until = end
            .end_time()
            .as_micros()
            .saturating_sub(self.drain.as_micros());
        let open: Vec<(Name, Option<Name>)> = self
            .jobs
            .iter()
            .filter(|(_, state)| state.created.as_micros() <= judged_until)
            .map(|(job, state)| (job, state.queue.clone()))
            .collect();
        for (job, queue) in open {
            let location = end.job_location(&job);
            if matches!(location, JobLocation::Finished | JobLocation::Failed) {
                continue;
            }
            let detail = format!(
                "{job} is {location:?}, not finished or failed, {} after the last fault",
                end.end_time().since(end.faults_ended_at())
            );
            self.report(end.end_time(), queue, Some(job), detail);
        }
    }

    fn judge_locks(&mut self, end: &dyn EndState) {
        for queue in self.scheduler_queues.clone() {
            if end.lock_holder(&queue).is_some() {
                continue;
            }
            let detail = format!(
                "no scheduler holds the lock of {queue} at the end, {} after the last fault",
                end.end_time().since(end.faults_ended_at())
            );
            self.report(end.end_time(), Some(queue), None, detail);
        }
    }
}

impl EventSink for Liveness {
    fn on_event(&mut self, event: &Event) {
        self.timeline.observe(event);
        let Some(job) = &event.job else { return };
        if is_terminal(&event.kind) {
            self.jobs.remove(job);
            return;
        }
        let known = self.jobs.get(job).is_some();
        let state = self.jobs.entry(job);
        if !known {
            state.created = event.time;
        }
        if event.queue.is_some() {
            state.queue = event.queue.clone();
        }
    }
}

impl Checker for Liveness {
    fn name(&self) -> &'static str {
        NAME
    }

    fn finish(&mut self, end: &dyn EndState) -> Vec<Violation> {
        if self.judged.is_none() {
            let drained = end.end_time() >= end.faults_ended_at() + self.drain;
            self.judged = Some(drained);
            if drained {
                self.judge_jobs(end);
                self.judge_locks(end);
            }
        }
        self.findings.violations()
    }

    fn passed(&self) -> bool {
        self.findings.passed()
    }
}
