//! `liveness`: once the faults have stopped and the system has had `drain` to recover, every
//! job has finished or failed for good, and a scheduler holds the lock of every queue that
//! `--with-scheduler` workers serve (§4.8, §11: a lock left without holder delays every
//! retry). Judged only at the end, and only if the run lasted `drain` past the last fault.

use crate::event::{Event, EventKind, EventSink, JobId, Name};
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
    /// A run of it repeated (`Repeat`): its id in `rq:finished:<q>`, where each successful
    /// run leaves it, does not mean the job is done.
    repeated: bool,
    /// A repeat was decided and has not started.
    repeat_pending: bool,
    /// Waiting for a parent in `rq:deferred:<q>` (`job_deferred`, no `job_enqueued` since):
    /// `stranded_dependents` judges it, by its parents' fate.
    deferred: bool,
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

    fn report(&mut self, time: SimTime, queue: Option<Name>, job: Option<JobId>, detail: String) {
        let timeline = &self.timeline;
        self.findings.add(|| {
            let mut violation = Violation::new(NAME, CheckClass::Liveness, time, detail);
            violation.timeline = timeline.lines(job, queue.as_deref(), &[]);
            violation.queue = queue;
            violation.job = job.map(JobId::name);
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
        let open: Vec<(JobId, OpenJob)> = self
            .jobs
            .iter()
            .filter(|(_, state)| state.created.as_micros() <= judged_until)
            .filter(|(_, state)| !state.deferred)
            .map(|(job, state)| (job, state.clone()))
            .collect();
        for (job, state) in open {
            let id = job.to_string();
            let location = if state.repeated {
                end.job_location_outside_finished(&id)
            } else {
                end.job_location(&id)
            };
            let settled = matches!(location, JobLocation::Finished | JobLocation::Failed);
            if settled && !state.repeat_pending {
                continue;
            }
            let since = end.end_time().since(end.faults_ended_at());
            let detail = if state.repeat_pending {
                format!(
                    "{job} has a repeat that never started (its id is {location:?}), \
                     {since} after the last fault"
                )
            } else if state.repeated {
                format!(
                    "{job} has not finished its repeats (its id is {location:?} besides \
                     rq:finished), {since} after the last fault"
                )
            } else {
                format!(
                    "{job} is {location:?}, not finished or failed, {since} after the last fault"
                )
            };
            let queue = state.queue;
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
        let Some(job) = event.job else { return };
        // A webhook is sent after the job's terminal commit: it is no word on where the job
        // stands, and must not bring a finished job back as open.
        if matches!(event.kind, EventKind::WebhookSent { .. }) {
            return;
        }
        if is_terminal(&event.kind) {
            self.jobs.remove(job);
            return;
        }
        let first_seen = || {
            Some(OpenJob {
                created: event.time,
                ..OpenJob::default()
            })
        };
        let state = self
            .jobs
            .get_or_try_insert_with(job, first_seen)
            .expect("made when missing");
        if event.queue.is_some() {
            state.queue = event.queue.clone();
        }
        match event.kind {
            EventKind::JobRepeatRequeued { .. } | EventKind::JobRepeatScheduled { .. } => {
                state.repeated = true;
                state.repeat_pending = true;
            }
            EventKind::JobStarted { .. } => state.repeat_pending = false,
            EventKind::JobDeferred => state.deferred = true,
            EventKind::JobEnqueued { .. } | EventKind::JobScheduled { .. } => {
                state.deferred = false
            }
            _ => {}
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
