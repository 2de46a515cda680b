//! The two checks of job dependencies (docs/rq-dependencies-and-operations.md §1.9), run when
//! a workload has `depends_on`:
//!
//! - `dependency_order` (safety): a job with parents starts only after each parent has
//!   finished a run, or failed for good when the job allows failures. Stock RQ breaks it
//!   when a job with `depends_on` is enqueued with `enqueue_in`, which registers nothing
//!   (race D10), and when a parent's hash is gone before it ran (`ttl`): RQ counts a missing
//!   parent as met.
//! - `stranded_dependents` (liveness): once the run has drained, no job is still deferred
//!   whose parents have all ended in a way that releases it (finished, or failed with
//!   `allow_failure`): nothing in RQ looks at a deferred job again (§1.8), so a release that
//!   was missed, by a death between a failure and `enqueue_dependents` (race D3), or by a
//!   job enqueued after its parent failed (D4), is for good. A job whose parent failed
//!   without `allow_failure`, or was stopped, is deferred by design and not counted.

use crate::event::{Event, EventKind, EventSink, JobId, Name};
use crate::jobs::{JobSet, JobTable};
use crate::rq::failure::STOPPED_REASON;
use crate::sim::{SimDuration, SimTime};

use super::findings::Findings;
use super::{CheckClass, Timeline, Violation};

pub const ORDER: &str = "dependency_order";
pub const STRANDED: &str = "stranded_dependents";

/// A job with parents, until it first starts.
#[derive(Clone, Debug, Default)]
struct Child {
    parents: Vec<JobId>,
    allow_failure: bool,
    queue: Option<Name>,
    /// In the deferred registry since this time (a `job_deferred`, no `job_enqueued` since).
    deferred_at: Option<SimTime>,
}

/// What became of a parent, as far as its children are concerned.
#[derive(Debug, PartialEq, Eq)]
enum ParentState {
    /// A run finished (every child may go).
    Finished,
    /// Failed for good: only children that allow failures may go.
    Failed,
    /// Stopped by `stop-job`: no child may go.
    Stopped,
    /// Canceled or deleted by an operator (`Job.cancel`, `Queue.empty`): nothing releases its
    /// children (§1.6, §3.8).
    Withdrawn,
    /// Neither yet: queued, running, retrying.
    Open,
}

/// `[checks] dependency_order` and `stranded_dependents`: violations tolerated (`None`: none).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DependencyLimits {
    pub order: Option<u64>,
    pub stranded: Option<u64>,
    /// How long a parent's release may take after its last word (a final failure's
    /// webhooks come before `enqueue_dependents`): a child whose parent ended later than
    /// this before the end of the run is not judged.
    pub release_grace: SimDuration,
}

pub struct DependencyChecks {
    children: JobTable<Child>,
    /// Jobs that finished a run (`job_finished`, or a repeat's requeue or schedule).
    finished: JobSet,
    /// Jobs whose latest word was `job_finished`: done, no repeat to come.
    settled_finished: JobSet,
    /// Jobs whose latest word was a move to the failed registry.
    failed: JobSet,
    /// Jobs stopped by `stop-job`: they release no child, by design (§1.5).
    stopped: JobSet,
    /// Jobs an operator canceled or deleted: they release no child either (§1.6, §3.8).
    withdrawn: JobSet,
    /// Jobs some job depends on, and when each one's latest word came.
    parents: JobSet,
    settled_at: JobTable<SimTime>,
    release_grace: SimDuration,
    order: Findings,
    stranded: Findings,
    timeline: Timeline,
}

impl DependencyChecks {
    pub fn new(limits: DependencyLimits) -> DependencyChecks {
        DependencyChecks {
            children: JobTable::new(),
            finished: JobSet::default(),
            settled_finished: JobSet::default(),
            failed: JobSet::default(),
            stopped: JobSet::default(),
            withdrawn: JobSet::default(),
            parents: JobSet::default(),
            settled_at: JobTable::new(),
            release_grace: limits.release_grace,
            order: Findings::new(ORDER, CheckClass::Safety, limits.order),
            stranded: Findings::new(STRANDED, CheckClass::Liveness, limits.stranded),
            timeline: Timeline::own(),
        }
    }

    /// Where `parent` stands for a child starting now: one finished run is enough, since RQ
    /// releases the children of a repeated job after its first.
    fn parent_state(&self, parent: JobId) -> ParentState {
        if self.finished.contains(parent) {
            ParentState::Finished
        } else {
            self.final_state(parent)
        }
    }

    /// Where `parent` stands at its latest word, for a child still deferred at the end: a
    /// child registered between two runs of a repeated parent waits for a later run, which
    /// may still be to come, or may fail for good and block the child by design.
    fn final_state(&self, parent: JobId) -> ParentState {
        if self.withdrawn.contains(parent) {
            ParentState::Withdrawn
        } else if self.stopped.contains(parent) {
            ParentState::Stopped
        } else if self.failed.contains(parent) {
            ParentState::Failed
        } else if self.settled_finished.contains(parent) {
            ParentState::Finished
        } else {
            ParentState::Open
        }
    }

    /// Whether `parent`, in `state`, lets `child` go.
    fn releases(child: &Child, state: ParentState) -> bool {
        match state {
            ParentState::Finished => true,
            ParentState::Failed => child.allow_failure,
            ParentState::Stopped | ParentState::Withdrawn | ParentState::Open => false,
        }
    }

    /// A job's timeline followed by its parent's.
    fn lines(&self, job: JobId, parent: JobId) -> Vec<String> {
        let mut lines = self.timeline.lines(Some(job), None, &[]);
        lines.extend(self.timeline.lines(Some(parent), None, &[]));
        lines
    }

    fn judge_start(&mut self, job: JobId, time: SimTime) {
        let Some(child) = self.children.remove(job) else {
            return;
        };
        let Some(&blocking) = child
            .parents
            .iter()
            .find(|&&parent| !Self::releases(&child, self.parent_state(parent)))
        else {
            return;
        };
        let state = match self.parent_state(blocking) {
            ParentState::Failed => "had failed, and the job does not allow failures",
            ParentState::Stopped => "had been stopped",
            ParentState::Withdrawn => "had been canceled or deleted",
            _ => "had not finished",
        };
        let detail = format!("{job} started while its parent {blocking} {state}");
        let lines = self.lines(job, blocking);
        self.order.add(|| {
            let mut violation = Violation::new(ORDER, CheckClass::Safety, time, detail);
            violation.queue = child.queue.clone();
            violation.job = Some(job.name());
            violation.timeline = lines;
            violation
        });
    }

    /// The end of the run: deferred jobs whose parents all released them. `drained`: the run
    /// lasted its drain after the last fault (otherwise a release may still be under way).
    pub fn finish(&mut self, end: SimTime, drained: bool) -> Vec<Violation> {
        if drained {
            self.judge_deferred(end);
        }
        let mut violations = self.order.violations();
        violations.extend(self.stranded.violations());
        violations
    }

    fn judge_deferred(&mut self, end: SimTime) {
        let mut stranded: Vec<(JobId, Child)> = self
            .children
            .iter()
            .filter(|(_, child)| child.deferred_at.is_some())
            .filter(|(_, child)| {
                let latest = end
                    .as_micros()
                    .saturating_sub(self.release_grace.as_micros());
                (child.parents.iter()).all(|&p| {
                    self.settled_at
                        .get(p)
                        .is_none_or(|at| at.as_micros() <= latest)
                })
            })
            .filter(|(_, child)| {
                (child.parents.iter()).all(|&p| Self::releases(child, self.final_state(p)))
            })
            .map(|(job, child)| (job, child.clone()))
            .collect();
        stranded.sort_by_key(|(job, _)| *job);
        for (job, child) in stranded {
            let since = child.deferred_at.expect("filtered on it");
            let parents: Vec<String> = child.parents.iter().map(JobId::to_string).collect();
            let detail = format!(
                "{job} is still deferred at the end (since {since}), though its parents {} \
                 all ended in a way that releases it",
                parents.join(", ")
            );
            let lines = self.lines(job, child.parents[0]);
            self.stranded.add(|| {
                let mut violation = Violation::new(STRANDED, CheckClass::Liveness, end, detail);
                violation.queue = child.queue.clone();
                violation.job = Some(job.name());
                violation.timeline = lines;
                violation
            });
        }
    }

    /// `(check, passed)` for both checks, after `finish`.
    pub fn verdicts(&self) -> [(&'static str, bool); 2] {
        [
            (ORDER, self.order.passed()),
            (STRANDED, self.stranded.passed()),
        ]
    }
}

impl EventSink for DependencyChecks {
    fn on_event(&mut self, event: &Event) {
        self.timeline.observe(event);
        let Some(job) = event.job else { return };
        match &event.kind {
            EventKind::JobDependsOn {
                parents,
                allow_failure,
            } => {
                let child = self.children.entry(job);
                child.parents = parents.iter().map(|id| JobId::of(id)).collect();
                for &parent in &child.parents {
                    self.parents.insert(parent);
                }
                child.allow_failure = *allow_failure;
                child.queue = event.queue.clone();
            }
            EventKind::JobDeferred => {
                if let Some(child) = self.children.get_mut(job) {
                    child.deferred_at = Some(event.time);
                }
            }
            EventKind::JobEnqueued { .. } | EventKind::JobScheduled { .. } => {
                if let Some(child) = self.children.get_mut(job) {
                    child.deferred_at = None;
                }
                if event.kind.is_requeue() {
                    // An operator's requeue: the failed (or stopped) parent is open again.
                    self.failed.remove(job);
                    self.stopped.remove(job);
                }
            }
            EventKind::JobStarted { .. } => self.judge_start(job, event.time),
            EventKind::JobFinished => {
                self.finished.insert(job);
                self.settled_finished.insert(job);
                self.failed.remove(job);
            }
            EventKind::JobRepeatRequeued { .. } | EventKind::JobRepeatScheduled { .. } => {
                self.finished.insert(job);
                self.settled_finished.remove(job);
                self.failed.remove(job);
            }
            EventKind::JobMovedToFailed { reason } if reason == STOPPED_REASON => {
                self.stopped.insert(job)
            }
            EventKind::JobMovedToFailed { .. } => self.failed.insert(job),
            EventKind::JobCanceled | EventKind::JobDeleted => {
                // A canceled or deleted child is no longer waiting to be judged.
                self.children.remove(job);
                self.withdrawn.insert(job);
            }
            _ => return,
        }
        let ended = matches!(
            event.kind,
            EventKind::JobFinished
                | EventKind::JobRepeatRequeued { .. }
                | EventKind::JobRepeatScheduled { .. }
                | EventKind::JobMovedToFailed { .. }
                | EventKind::JobCanceled
                | EventKind::JobDeleted
        );
        if ended && self.parents.contains(job) {
            self.settled_at.insert(job, event.time);
        }
    }
}
