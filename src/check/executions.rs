//! Which executions of each job are running, and whether a new one is a duplicate.
//!
//! An execution starts with `job_started` and ends with `job_finished`, `job_failed` or a
//! `process_killed` naming the job. A start is a **duplicate** when
//! - another execution of the job is still running (§9 R2, R1 when both copies are picked up);
//! - the job already finished (§9 R6: an extra execution of a finished job);
//! - nothing authorised it: each job may start once after it is created and once more after
//!   each retry decision (`job_retry_scheduled`, `job_retry_requeued`); a start beyond those
//!   comes from a second copy of the id in a queue (§9 R1 stale scheduler enqueue, R7 re-sent
//!   push), even when the first copy's run has ended.
//!
//! A successful run of a job with `Repeat` and repeats left ends with `job_repeat_requeued`
//! or `job_repeat_scheduled` instead of `job_finished`; that decision authorises one more
//! start, as a retry decision does, and the job is not done until the repeat has started
//! (docs/repeat-and-webhooks.md).
//!
//! The last kind is judged when the execution ends, not when it starts: a horse sends the
//! retry's `ZADD` before the transaction that records the retry (§3.7), so a scheduler can
//! move the job and a worker start it just before the retry decision is announced (§9 R9).
//! A retry decision that arrives while such an execution runs authorises it after all; an
//! execution's own failure cannot, because `job_failed` ends it before its retry follows.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use crate::event::{Event, EventKind, JobId, Name};
use crate::sim::SimTime;

use crate::jobs::{JobSet, JobTable};

/// One running execution.
#[derive(Clone, Debug)]
struct Running {
    /// The process that emitted `job_started` (the horse).
    process: Option<Name>,
    /// The worker that owns the horse (its main process may report the horse's end).
    worker: Name,
    /// Started without authorisation; a duplicate unless a retry decision comes while it runs.
    unauthorised: Option<Duplicate>,
}

#[derive(Clone, Debug, Default)]
struct JobRuns {
    running: Vec<Running>,
    starts: u32,
    /// Starts authorised so far: 1 for the creation plus one per retry or repeat decision.
    permits: u32,
    /// Repeat decisions whose run has not started yet: the job is not done while one is.
    repeats_pending: u32,
    finished: bool,
    duplicates: u32,
}

/// Why a start is a duplicate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DuplicateKind {
    Concurrent,
    AfterFinish,
    Unauthorised,
}

/// A duplicate start, with the processes of the executions it duplicates.
#[derive(Clone, Debug)]
pub struct Duplicate {
    pub kind: DuplicateKind,
    pub job: JobId,
    pub queue: Option<Name>,
    /// When the duplicate started.
    pub time: SimTime,
    pub attempt: u32,
    /// The duplicate's process first, then the other running executions' processes.
    pub processes: Vec<Name>,
}

impl Duplicate {
    pub fn describe(&self) -> String {
        let (job, attempt) = (&self.job, self.attempt);
        match self.kind {
            DuplicateKind::Concurrent => {
                format!("execution {attempt} of {job} started while another execution was running")
            }
            DuplicateKind::AfterFinish => {
                format!("execution {attempt} of {job} started after the job had finished")
            }
            DuplicateKind::Unauthorised => format!(
                "execution {attempt} of {job} ran with no retry decided since the previous one \
                 (a second copy of the id was queued)"
            ),
        }
    }
}

/// Tracks executions per job; see the module docs for what counts as a duplicate.
///
/// A job that has finished or failed for good, with no execution running, is *retired*: its
/// state is dropped and only a bit remains (two for a finished one), so memory follows the
/// jobs in flight. A retired job that starts again comes back as a duplicate: after a finish,
/// or with no start authorised.
#[derive(Default)]
pub struct ExecutionTracker {
    jobs: JobTable<JobRuns>,
    retired: JobSet,
    retired_finished: JobSet,
    /// Whether the latest `observe` retired its event's job.
    retired_last: bool,
}

impl ExecutionTracker {
    /// Updates the state with `event`; returns a duplicate the event reveals: a start, or the
    /// end of an execution that nothing authorised.
    pub fn observe(&mut self, event: &Event) -> Option<Duplicate> {
        self.retired_last = false;
        let job = event.job?;
        if event.kind.is_requeue() {
            // An operator requeued a failed job: one more start is authorised, whether or
            // not its state had been retired.
            self.revive(job);
            authorise_one_more(self.jobs.entry(job));
            return None;
        }
        let runs = self.runs_of(job, &event.kind)?;
        let found = match &event.kind {
            EventKind::JobStarted { worker } => start(runs, event, job, worker),
            EventKind::JobRetryScheduled { .. } | EventKind::JobRetryRequeued { .. } => {
                authorise_one_more(runs);
                None
            }
            EventKind::JobRepeatRequeued { .. } | EventKind::JobRepeatScheduled { .. } => {
                // The run ends here (its own decision cannot authorise it), then the
                // decision authorises the next run.
                let ended = end(runs, event).and_then(|ended| ended.unauthorised);
                runs.repeats_pending += 1;
                authorise_one_more(runs);
                ended
            }
            EventKind::JobFinished => {
                runs.finished = true;
                end(runs, event).and_then(|ended| ended.unauthorised)
            }
            EventKind::JobFailed { .. } | EventKind::ProcessKilled => {
                end(runs, event).and_then(|ended| ended.unauthorised)
            }
            _ => None,
        };
        if found.is_some() {
            runs.duplicates += 1;
        }
        let done = runs.finished || matches!(event.kind, EventKind::JobMovedToFailed { .. });
        if done && runs.running.is_empty() && runs.repeats_pending == 0 {
            self.retire(job);
        }
        found
    }

    /// The state of `job` for an event of `kind`: created with one start authorised for a
    /// new job; for a retired job only a start brings it back (nothing authorised, finished
    /// if it had), and other events about it are ignored.
    fn runs_of(&mut self, job: JobId, kind: &EventKind) -> Option<&mut JobRuns> {
        let (retired, retired_finished) = (&self.retired, &self.retired_finished);
        self.jobs.get_or_try_insert_with(job, || {
            if !retired.contains(job) {
                return Some(JobRuns {
                    permits: 1,
                    ..JobRuns::default()
                });
            }
            matches!(kind, EventKind::JobStarted { .. }).then(|| JobRuns {
                finished: retired_finished.contains(job),
                ..JobRuns::default()
            })
        })
    }

    /// Brings a retired job back with nothing authorised yet (see `observe`'s requeue).
    fn revive(&mut self, job: JobId) {
        if self.jobs.get(job).is_none() && self.retired.contains(job) {
            self.retired.remove(job);
            self.retired_finished.remove(job);
            self.jobs.insert(job, JobRuns::default());
        }
    }

    fn retire(&mut self, job: JobId) {
        if let Some(runs) = self.jobs.remove(job) {
            self.retired_last = true;
            self.retired.insert(job);
            if runs.finished {
                self.retired_finished.insert(job);
            }
        }
    }

    /// Whether `job` is done and its state dropped (see the type's docs).
    pub fn is_retired(&self, job: JobId) -> bool {
        self.jobs.get(job).is_none() && self.retired.contains(job)
    }

    /// Whether the latest [`ExecutionTracker::observe`] retired its event's job: the one
    /// event after which [`ExecutionTracker::is_retired`] turns true, told without a lookup.
    pub fn retired_last(&self) -> bool {
        self.retired_last
    }

    /// Jobs whose state is held: those not retired.
    pub fn jobs_held(&self) -> usize {
        self.jobs.len()
    }

    /// At the end of the run: executions still running that nothing authorised.
    pub fn finish(&mut self) -> Vec<Duplicate> {
        let mut found = Vec::new();
        let jobs: Vec<JobId> = self
            .jobs
            .iter()
            .filter(|(_, runs)| runs.running.iter().any(|r| r.unauthorised.is_some()))
            .map(|(job, _)| job)
            .collect();
        for job in jobs {
            let runs = self.jobs.entry(job);
            for running in &mut runs.running {
                if let Some(duplicate) = running.unauthorised.take() {
                    runs.duplicates += 1;
                    found.push(duplicate);
                }
            }
        }
        found
    }

    /// Executions of `job` so far.
    pub fn starts(&self, job: JobId) -> u32 {
        self.jobs.get(job).map_or(0, |runs| runs.starts)
    }

    /// Duplicate executions of `job` found so far.
    pub fn duplicates(&self, job: JobId) -> u32 {
        self.jobs.get(job).map_or(0, |runs| runs.duplicates)
    }
}

/// A checker's handle on an [`ExecutionTracker`]: either its own (it observes every event it
/// sees) or one shared by the checkers of a [`super::Checkers`], which observes each event
/// once for all of them; the others read what that observation found.
#[derive(Clone)]
pub struct Executions {
    state: Rc<RefCell<Observed>>,
    records: bool,
    /// Whether this handle's `finish` was called: later calls find nothing, as a second
    /// `ExecutionTracker::finish` does.
    finished: Cell<bool>,
}

#[derive(Default)]
struct Observed {
    tracker: ExecutionTracker,
    /// What observing the latest event found.
    last: Option<Duplicate>,
    /// What [`ExecutionTracker::finish`] found, kept for every handle.
    at_end: Option<Vec<Duplicate>>,
}

impl Executions {
    /// A private tracker, for a checker used on its own.
    pub fn own() -> Executions {
        Executions {
            state: Rc::default(),
            records: true,
            finished: Cell::new(false),
        }
    }

    /// A handle on the same tracker that does not observe: someone else (the handle this is
    /// made from) observes each event first.
    pub fn follower(&self) -> Executions {
        Executions {
            state: self.state.clone(),
            records: false,
            finished: Cell::new(false),
        }
    }

    /// [`ExecutionTracker::observe`] for a recording handle, keeping what it found for the
    /// followers without returning a copy (see [`Executions::observe`]).
    pub fn record(&self, event: &Event) {
        assert!(self.records, "only the handle that observes records");
        let mut state = self.state.borrow_mut();
        state.last = state.tracker.observe(event);
    }

    /// [`ExecutionTracker::observe`] for a recording handle; for a follower, what that
    /// observation of the same event found.
    pub fn observe(&self, event: &Event) -> Option<Duplicate> {
        let mut state = self.state.borrow_mut();
        if self.records {
            state.last = state.tracker.observe(event);
        }
        state.last.clone()
    }

    /// [`ExecutionTracker::finish`], run once whichever handle asks first; each handle gets
    /// its result once.
    pub fn finish(&self) -> Vec<Duplicate> {
        if self.finished.replace(true) {
            return Vec::new();
        }
        let mut state = self.state.borrow_mut();
        let state = &mut *state;
        state
            .at_end
            .get_or_insert_with(|| state.tracker.finish())
            .clone()
    }

    pub fn starts(&self, job: JobId) -> u32 {
        self.state.borrow().tracker.starts(job)
    }

    pub fn duplicates(&self, job: JobId) -> u32 {
        self.state.borrow().tracker.duplicates(job)
    }

    /// [`ExecutionTracker::retired_last`]: whether observing the latest event retired its job.
    pub fn retired_last(&self) -> bool {
        self.state.borrow().tracker.retired_last()
    }
}

/// A retry or repeat decision: one more start is authorised, and an execution running
/// without authorisation (if any) has it after all.
fn authorise_one_more(runs: &mut JobRuns) {
    runs.permits += 1;
    if let Some(running) = runs.running.iter_mut().find(|r| r.unauthorised.is_some()) {
        running.unauthorised = None;
    }
}

fn start(runs: &mut JobRuns, event: &Event, job: JobId, worker: &Name) -> Option<Duplicate> {
    runs.starts += 1;
    runs.repeats_pending = runs.repeats_pending.saturating_sub(1);
    let authorised = runs.starts <= runs.permits;
    // The bus counts every execution; `starts` restarts at 1 for a retired job that is back.
    let attempt = event.attempt.unwrap_or(runs.starts);
    let kind = if !runs.running.is_empty() {
        Some(DuplicateKind::Concurrent)
    } else if runs.finished {
        Some(DuplicateKind::AfterFinish)
    } else if !authorised {
        Some(DuplicateKind::Unauthorised)
    } else {
        None
    };
    // The processes are listed only for a duplicate: an ordinary start allocates nothing here.
    let duplicate = kind.map(|kind| {
        let own_process = event.process.clone().unwrap_or_else(|| worker.clone());
        let others = runs.running.iter();
        let others = others.map(|r| r.process.clone().unwrap_or(r.worker.clone()));
        Duplicate {
            kind,
            job,
            queue: event.queue.clone(),
            time: event.time,
            attempt,
            processes: std::iter::once(own_process).chain(others).collect(),
        }
    });
    let deferred = duplicate
        .as_ref()
        .filter(|d| d.kind == DuplicateKind::Unauthorised)
        .cloned();
    runs.running.push(Running {
        process: event.process.clone(),
        worker: worker.clone(),
        unauthorised: deferred.clone(),
    });
    if deferred.is_some() {
        return None;
    }
    duplicate
}

/// Ends the execution that the event's process runs: its horse (`job_started`'s process) or
/// the worker owning the horse (`JobStarted.worker`, which reports a horse's death). An end
/// from a process that runs none is a second report of an execution already ended (the
/// worker's `job_failed` after its horse's `process_killed`) and changes nothing; an end with
/// no process ends the oldest execution.
fn end(runs: &mut JobRuns, event: &Event) -> Option<Running> {
    let index = match event.process.as_ref() {
        Some(by) => runs
            .running
            .iter()
            .position(|r| r.process.as_ref() == Some(by) || &r.worker == by),
        None => (!runs.running.is_empty()).then_some(0),
    };
    index.map(|index| runs.running.remove(index))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::testing::Stream;
    use crate::event::EventSink;

    /// Collects the duplicates the tracker finds.
    #[derive(Default)]
    struct Found {
        tracker: ExecutionTracker,
        duplicates: Vec<DuplicateKind>,
    }

    impl EventSink for Found {
        fn on_event(&mut self, event: &Event) {
            self.duplicates
                .extend(self.tracker.observe(event).map(|d| d.kind));
        }
    }

    /// §9 R1/R7: a second copy of the id runs after the first copy's run failed for good
    /// enough to be retried once; the third start has no retry behind it.
    #[test]
    fn a_start_without_a_retry_decision_is_unauthorised() {
        let mut stream = Stream::new(Found::default());
        stream.create(0.0, "j1", 1, &[]).start(1.0, "j1", "w1");
        stream.fail_and_requeue(2.0, "j1", "w1", 0);
        stream.start(3.0, "j1", "w2").fail(4.0, "j1", "w2");
        assert!(stream.checkers().duplicates.is_empty());
        stream.start(5.0, "j1", "w3");
        assert!(
            stream.checkers().duplicates.is_empty(),
            "judged when it ends"
        );
        stream.fail_and_requeue(6.0, "j1", "w3", 0);
        assert_eq!(stream.checkers().duplicates, [DuplicateKind::Unauthorised]);
        assert_eq!(stream.checkers().tracker.starts(JobId(1)), 3);
    }

    /// §9 R9: the horse's ZADD precedes the transaction that records the retry; the job may
    /// start elsewhere before the retry decision is announced. That start is authorised.
    #[test]
    fn a_retry_decision_announced_during_the_execution_authorises_it() {
        let mut stream = Stream::new(Found::default());
        stream
            .create(0.0, "j1", 1, &[])
            .start(1.0, "j1", "w1")
            .fail(2.0, "j1", "w1");
        stream.start(3.0, "j1", "w2");
        stream.emit(
            3.1,
            "w1.horse",
            "j1",
            EventKind::JobRetryScheduled {
                due_unix_s: 0,
                interval_s: 1,
                retries_left: 0,
            },
        );
        stream.finish(4.0, "j1", "w2");
        assert!(stream.checkers().duplicates.is_empty());
        assert!(stream.checkers().tracker.finish().is_empty());
    }

    /// Memory follows the jobs in flight: a finished job's state is dropped, and it still
    /// counts as finished when a stale copy runs it again (§9 R6).
    #[test]
    fn a_finished_job_is_retired_and_a_later_start_is_after_finish() {
        let mut stream = Stream::new(Found::default());
        for job in ["j1", "j2", "j3"] {
            stream.create(0.0, job, 1, &[]).start(1.0, job, "w1");
            stream.finish(2.0, job, "w1");
        }
        assert_eq!(stream.checkers().tracker.jobs_held(), 0);
        assert!(stream.checkers().tracker.is_retired(JobId(2)));
        stream.start(3.0, "j2", "w2");
        assert_eq!(stream.checkers().duplicates, [DuplicateKind::AfterFinish]);
        stream.finish(4.0, "j2", "w2");
        assert_eq!(stream.checkers().tracker.jobs_held(), 0);
    }

    /// A job failed for good is retired too; running it again has no retry behind it.
    #[test]
    fn a_job_failed_for_good_is_retired_and_a_later_start_is_unauthorised() {
        let mut stream = Stream::new(Found::default());
        stream.create(0.0, "j1", 0, &[]).start(1.0, "j1", "w1");
        stream.fail_for_good(2.0, "j1", "w1");
        assert_eq!(stream.checkers().tracker.jobs_held(), 0);
        stream.start(3.0, "j1", "w2").fail_for_good(4.0, "j1", "w2");
        assert_eq!(stream.checkers().duplicates, [DuplicateKind::Unauthorised]);
    }

    /// A job with an execution still running is not retired when another copy finishes.
    #[test]
    fn a_job_is_not_retired_while_an_execution_runs() {
        let mut stream = Stream::new(Found::default());
        stream.create(0.0, "j1", 1, &[]).start(1.0, "j1", "w1");
        stream.start(1.5, "j1", "w2").finish(2.0, "j1", "w1");
        assert_eq!(stream.checkers().tracker.jobs_held(), 1);
        stream.finish(3.0, "j1", "w2");
        assert_eq!(stream.checkers().tracker.jobs_held(), 0);
        assert_eq!(stream.checkers().duplicates, [DuplicateKind::Concurrent]);
    }

    /// An unauthorised execution still running when the run ends is a duplicate too.
    #[test]
    fn an_unauthorised_execution_running_at_the_end_is_reported_by_finish() {
        let mut stream = Stream::new(Found::default());
        stream
            .create(0.0, "j1", 1, &[])
            .start(1.0, "j1", "w1")
            .fail(2.0, "j1", "w1");
        stream.start(3.0, "j1", "w2");
        let found = stream.checkers().tracker.finish();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].time.as_secs_f64(), 3.0);
        assert_eq!(stream.checkers().tracker.duplicates(JobId(1)), 1);
    }

    /// Followers of one tracker each get what the end of the run reveals, once, as checkers
    /// with trackers of their own would.
    #[test]
    fn each_handle_on_a_shared_tracker_gets_the_end_once() {
        let own = Executions::own();
        let (first, second) = (own.follower(), own.follower());
        let mut stream = Stream::new(Found::default());
        stream
            .create(0.0, "j1", 1, &[])
            .start(1.0, "j1", "w1")
            .fail(2.0, "j1", "w1");
        stream.start(3.0, "j1", "w2");
        let mut recorder = Stream::new(Recorder(own.clone()));
        recorder
            .create(0.0, "j1", 1, &[])
            .start(1.0, "j1", "w1")
            .fail(2.0, "j1", "w1");
        recorder.start(3.0, "j1", "w2");
        let expected = stream.checkers().tracker.finish().len();
        assert_eq!(expected, 1);
        assert_eq!(first.finish().len(), expected);
        assert_eq!(second.finish().len(), expected);
        assert!(first.finish().is_empty() && own.finish().len() == expected);
    }

    struct Recorder(Executions);

    impl EventSink for Recorder {
        fn on_event(&mut self, event: &Event) {
            self.0.observe(event);
        }
    }

    /// docs/repeat-and-webhooks.md: each run of a `Repeat(times=2)` job is authorised by the
    /// previous run's repeat decision; none is a duplicate, and the job is retired only after
    /// its last run finishes.
    #[test]
    fn repeated_runs_are_authorised_by_their_repeat_decisions() {
        let mut stream = Stream::new(Found::default());
        stream.create_repeating(0.0, "j1", 0, &[], 2);
        stream
            .start(1.0, "j1", "w1")
            .repeat_requeue(2.0, "j1", "w1", 1);
        assert_eq!(stream.checkers().tracker.jobs_held(), 1);
        stream
            .start(3.0, "j1", "w2")
            .repeat_schedule(4.0, "j1", "w2", 5, 0);
        stream.start(9.0, "j1", "w1").finish(10.0, "j1", "w1");
        assert!(stream.checkers().duplicates.is_empty());
        assert_eq!(stream.checkers().tracker.jobs_held(), 0);
        stream.start(11.0, "j1", "w3");
        assert_eq!(stream.checkers().duplicates, [DuplicateKind::AfterFinish]);
    }

    /// A repeat whose success transaction failed after its ZADD (the run then failed for
    /// good) still runs: the job stays held and that run is authorised.
    #[test]
    fn a_job_failed_with_a_repeat_pending_is_not_retired() {
        let mut stream = Stream::new(Found::default());
        stream.create_repeating(0.0, "j1", 0, &[], 1);
        stream
            .start(1.0, "j1", "w1")
            .repeat_schedule(2.0, "j1", "w1", 5, 0);
        stream.fail_for_good(2.1, "j1", "w1");
        assert_eq!(stream.checkers().tracker.jobs_held(), 1);
        stream.start(7.0, "j1", "w2").finish(8.0, "j1", "w2");
        assert!(stream.checkers().duplicates.is_empty());
        assert_eq!(stream.checkers().tracker.jobs_held(), 0);
    }

    /// §3.9: after a horse dies, its worker reports the failure; that report must not end
    /// another worker's execution of the same job.
    #[test]
    fn a_worker_reporting_its_dead_horse_ends_only_its_own_execution() {
        let mut stream = Stream::new(Found::default());
        stream.create(0.0, "j1", 2, &[]).start(1.0, "j1", "w1");
        stream.kill_horse(2.0, "j1", "w1");
        stream.emit(
            2.0,
            "w9",
            "j1",
            EventKind::JobRetryRequeued { retries_left: 1 },
        );
        stream.start(3.0, "j1", "w2");
        stream.emit(
            3.5,
            "w1",
            "j1",
            EventKind::JobFailed {
                reason: "horse died".into(),
            },
        );
        stream.emit(
            3.5,
            "w1",
            "j1",
            EventKind::JobRetryRequeued { retries_left: 0 },
        );
        stream.start(4.0, "j1", "w3");
        assert_eq!(stream.checkers().duplicates, [DuplicateKind::Concurrent]);
    }
}
