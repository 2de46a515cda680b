//! `lost_job`: every job created is, at the end, somewhere RQ will find it: finished, failed,
//! queued, scheduled or started (in a registry). A job whose id is only in the intermediate
//! list or nowhere (§9 R5, R8, R9, R15), or for which a `job_lost` event was emitted, is lost.
//! A job whose last word was `job_finished` or `job_moved_to_failed` is not lost when its id
//! has left Redis: `result_ttl` and `failure_ttl` expire it in the normal course.

use crate::event::{Event, EventKind, EventSink, JobId, Name};
use crate::jobs::JobTable;
use crate::sim::SimTime;

use super::findings::Findings;
use super::history::is_terminal;
use super::{CheckClass, Checker, EndState, JobLocation, Timeline, Violation};

pub const NAME: &str = "lost_job";

#[derive(Clone, Debug, Default)]
struct LastSeen {
    time: SimTime,
    kind: &'static str,
    queue: Option<Name>,
    terminal: bool,
    reported: bool,
    /// A run of it repeated (`Repeat`): its id stays in `rq:finished:<q>` from that run, so
    /// only the other places say whether it is lost.
    repeated: bool,
}

pub struct LostJob {
    /// Jobs whose last word was not terminal, and those reported lost.
    jobs: JobTable<LastSeen>,
    findings: Findings,
    finished: bool,
    timeline: Timeline,
}

impl LostJob {
    /// `allowed`: lost jobs tolerated (`None`: report every one).
    pub fn new(allowed: Option<u64>, timeline: Timeline) -> LostJob {
        LostJob {
            jobs: JobTable::new(),
            findings: Findings::new(NAME, CheckClass::Safety, allowed),
            finished: false,
            timeline,
        }
    }

    /// Lost jobs found, tolerated ones included.
    pub fn count(&self) -> u64 {
        self.findings.occurrences()
    }

    fn report(&mut self, job: JobId, time: SimTime, detail: String) {
        let seen = self.jobs.entry(job);
        seen.reported = true;
        let queue = seen.queue.clone();
        let timeline = &self.timeline;
        self.findings.add(|| {
            let mut violation = Violation::new(NAME, CheckClass::Safety, time, detail);
            violation.timeline = timeline.lines(Some(job), None, &[]);
            violation.queue = queue;
            violation.job = Some(job.name());
            violation
        });
    }
}

impl EventSink for LostJob {
    fn on_event(&mut self, event: &Event) {
        self.timeline.observe(event);
        let Some(job) = event.job else { return };
        // A webhook is sent after the job's terminal commit: it is no word on where the job
        // stands, and must not bring a finished job back as open.
        if matches!(event.kind, EventKind::WebhookSent { .. }) {
            return;
        }
        let terminal = is_terminal(&event.kind);
        if terminal && !self.jobs.get(job).is_some_and(|seen| seen.reported) {
            // Nothing to judge at the end unless the job comes back: forget it.
            self.jobs.remove(job);
            return;
        }
        let seen = self.jobs.entry(job);
        seen.time = event.time;
        seen.kind = event.kind.name();
        if event.queue.is_some() {
            seen.queue = event.queue.clone();
        }
        seen.terminal = terminal;
        if matches!(
            event.kind,
            EventKind::JobRepeatRequeued { .. } | EventKind::JobRepeatScheduled { .. }
        ) {
            seen.repeated = true;
        }
        if let EventKind::JobLost { reason } = &event.kind {
            if !seen.reported {
                let detail = format!("{job} was lost: {reason}");
                self.report(job, event.time, detail);
            }
        }
    }
}

impl Checker for LostJob {
    fn name(&self) -> &'static str {
        NAME
    }

    fn finish(&mut self, end: &dyn EndState) -> Vec<Violation> {
        if self.finished {
            return self.findings.violations();
        }
        self.finished = true;
        let suspects: Vec<(JobId, LastSeen)> = self
            .jobs
            .iter()
            .filter(|(_, seen)| !seen.terminal && !seen.reported)
            // A deferred job waits in `rq:deferred:<q>`, where RQ keeps it:
            // `stranded_dependents` judges whether it should have left.
            .filter(|(_, seen)| seen.kind != "job_deferred")
            .map(|(job, seen)| (job, seen.clone()))
            .collect();
        for (job, seen) in suspects {
            let id = job.to_string();
            let location = if seen.repeated {
                end.job_location_outside_finished(&id)
            } else {
                end.job_location(&id)
            };
            if !matches!(location, JobLocation::Intermediate | JobLocation::Missing) {
                continue;
            }
            let detail = format!(
                "{job} is {location:?} at the end; last seen at {} ({})",
                seen.time, seen.kind
            );
            self.report(job, seen.time, detail);
        }
        self.findings.violations()
    }

    fn passed(&self) -> bool {
        self.findings.passed()
    }
}
