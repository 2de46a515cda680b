//! `jobs.csv` and the per-job numbers of the summary: each job's life rebuilt from the events.
//!
//! ```text
//!  job_enqueued ──► job_started ──► job_failed ──► job_retry_scheduled (t, I) ─┐
//!   (or job_scheduled)   ▲                                                     │ due = t + I
//!                        └──────── job_started: lateness = start − due ◄───────┘
//!  … job_finished / job_moved_to_failed: the row is written and the job's state dropped
//!  (a run that repeats ends with job_repeat_requeued / job_repeat_scheduled instead)
//! ```
//!
//! Memory stays bounded: only jobs that have not ended are kept (a [`JobTable`]); an ended
//! job leaves one bit (a [`JobSet`]) so that a run of it after its end is still recognised.
//!
//! A job that finishes (or is failed for good) while a retry of it is still scheduled or
//! queued has not ended: that retry will run it again (§9 R17: a cleaner scheduled a retry of
//! a job whose worker was about to run it; R2: a cleaner retried a job still running). Its row
//! waits for the retry's run, or for the end of the run, so that `executions` counts every
//! start; a start after such a finish is still counted as a duplicate. Retries are matched to
//! starts first in, first out: each start runs the oldest retry still waiting.

use std::io::Write;

use crate::event::{Event, EventKind, EventSink, JobId, Name};
use crate::jobs::{JobSet, JobTable};
use crate::report::csv::Row;
use crate::report::histogram::LogHistogram;
use crate::report::output_dir::{AtomicFile, OutputDir, ReportError};
use crate::sim::{SimDuration, SimTime};

/// The file name.
pub const JOBS_CSV: &str = "jobs.csv";

/// The header row: the stable columns of the design, then `duplicate_executions` and
/// `max_queue_wait_s`.
pub const JOBS_HEADER: &str = "job,queue,enqueued_s,executions,retries_used,outcome,\
first_start_s,end_s,max_retry_lateness_s,duplicate_executions,max_queue_wait_s";

/// Where a job stands: its last state, or how it ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    Finished,
    Failed,
    Queued,
    Scheduled,
    Started,
    Lost,
    /// Created with parents that had not all finished (`rq:deferred:<q>`) and never released:
    /// only a parent's end enqueues it, and nothing in RQ looks at it again.
    Deferred,
    /// An operator canceled it (`Job.cancel`) and nothing ran it after.
    Canceled,
    /// An operator's `Queue.empty` deleted it.
    Deleted,
}

impl Outcome {
    pub const ALL: [Outcome; 9] = [
        Outcome::Finished,
        Outcome::Failed,
        Outcome::Queued,
        Outcome::Scheduled,
        Outcome::Started,
        Outcome::Lost,
        Outcome::Deferred,
        Outcome::Canceled,
        Outcome::Deleted,
    ];

    /// Whether charts and tables show this outcome even at zero: `deferred` appears only in
    /// runs with a stranded dependent, the operator's outcomes only where an operator acted,
    /// so runs without them keep their six bars and their summary.
    pub fn always_shown(self) -> bool {
        !matches!(
            self,
            Outcome::Deferred | Outcome::Canceled | Outcome::Deleted
        )
    }

    /// The `outcome` column.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Finished => "finished",
            Outcome::Failed => "failed",
            Outcome::Queued => "queued",
            Outcome::Scheduled => "scheduled",
            Outcome::Started => "started",
            Outcome::Lost => "lost",
            Outcome::Deferred => "deferred",
            Outcome::Canceled => "canceled",
            Outcome::Deleted => "deleted",
        }
    }
}

/// How many jobs ended in each outcome.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OutcomeCounts {
    pub finished: u64,
    pub failed: u64,
    pub queued: u64,
    pub scheduled: u64,
    pub started: u64,
    pub lost: u64,
    pub deferred: u64,
    pub canceled: u64,
    pub deleted: u64,
}

impl OutcomeCounts {
    pub fn get(&self, outcome: Outcome) -> u64 {
        match outcome {
            Outcome::Finished => self.finished,
            Outcome::Failed => self.failed,
            Outcome::Queued => self.queued,
            Outcome::Scheduled => self.scheduled,
            Outcome::Started => self.started,
            Outcome::Lost => self.lost,
            Outcome::Deferred => self.deferred,
            Outcome::Canceled => self.canceled,
            Outcome::Deleted => self.deleted,
        }
    }

    fn add(&mut self, outcome: Outcome) {
        let slot = match outcome {
            Outcome::Finished => &mut self.finished,
            Outcome::Failed => &mut self.failed,
            Outcome::Queued => &mut self.queued,
            Outcome::Scheduled => &mut self.scheduled,
            Outcome::Started => &mut self.started,
            Outcome::Lost => &mut self.lost,
            Outcome::Deferred => &mut self.deferred,
            Outcome::Canceled => &mut self.canceled,
            Outcome::Deleted => &mut self.deleted,
        };
        *slot += 1;
    }
}

/// The run's job numbers, returned by [`JobTracker::finish`].
#[derive(Clone, Debug, Default)]
pub struct JobStats {
    /// Jobs seen (rows of `jobs.csv`).
    pub jobs: u64,
    /// `job_started` events.
    pub executions: u64,
    /// `job_retry_requeued` + `job_retry_scheduled` events.
    pub retries: u64,
    /// Starts while another execution of the job was running, or after the job had ended.
    pub duplicate_executions: u64,
    /// The subset of `duplicate_executions` that started after the job had ended.
    pub executions_after_end: u64,
    /// `job_lost` events (a job can be lost and later found again).
    pub job_lost_events: u64,
    pub outcomes: OutcomeCounts,
    /// Interval retries: start − (retry time + interval), in µs.
    pub retry_lateness: LogHistogram,
    /// Interval retries still waiting for their start at the end of the run.
    pub retries_pending_at_end: u64,
    /// Of those, the largest (end of run − due), in µs: a lower bound on their lateness.
    pub max_pending_retry_overdue_micros: Option<i64>,
    /// Each start − the latest time the job was put in its queue, in µs.
    pub queue_wait: LogHistogram,
}

/// What is known about one job that has not ended yet.
#[derive(Clone, Debug)]
struct JobState {
    queue: Option<Name>,
    enqueued: Option<SimTime>,
    executions: u32,
    retries_used: u32,
    status: Outcome,
    first_start: Option<SimTime>,
    /// When the job was lost (cleared if it comes back).
    lost_at: Option<SimTime>,
    /// Due time of the oldest interval retry whose start has not been seen yet.
    retry_due: Option<SimTime>,
    /// Due times of younger interval retries waiting behind `retry_due` (empty, and so not
    /// allocated, unless two retries of the job wait at once).
    later_retry_dues: Vec<SimTime>,
    /// Retries (scheduled or requeued) decided and not yet matched by a start.
    retries_waiting: u32,
    /// When the job finished or was failed for good while `retries_waiting` > 0: it has
    /// ended in RQ's eyes, but a waiting retry will run it again.
    ended_at: Option<SimTime>,
    max_lateness_micros: Option<i64>,
    /// The latest time the job was put in its queue and not started since.
    ready_since: Option<SimTime>,
    max_queue_wait: Option<SimDuration>,
    /// Executions started and not ended (finished, failed or killed).
    running: u32,
    /// Kills of a running execution whose `job_failed` (sent by the worker's main process
    /// after its horse died) may still follow; that report must not end a second execution.
    kills_awaiting_failure: u32,
    duplicates: u32,
}

impl Default for JobState {
    fn default() -> JobState {
        JobState {
            queue: None,
            enqueued: None,
            executions: 0,
            retries_used: 0,
            status: Outcome::Queued,
            first_start: None,
            lost_at: None,
            retry_due: None,
            later_retry_dues: Vec::new(),
            retries_waiting: 0,
            ended_at: None,
            max_lateness_micros: None,
            ready_since: None,
            max_queue_wait: None,
            running: 0,
            kills_awaiting_failure: 0,
            duplicates: 0,
        }
    }
}

/// Follows every job through the event stream and streams `jobs.csv`.
pub struct JobTracker {
    file: Option<AtomicFile>,
    error: Option<ReportError>,
    row: Row,
    /// Jobs not ended yet; end-of-run rows come out in job order (j1, j2, …, j10).
    active: JobTable<JobState>,
    /// Jobs that have ended and whose rows are written (one bit per job).
    ended: JobSet,
    stats: JobStats,
}

impl JobTracker {
    pub fn create(dir: &OutputDir) -> Result<JobTracker, ReportError> {
        let mut file = dir.create_file(JOBS_CSV)?;
        writeln!(file, "{JOBS_HEADER}").map_err(|e| ReportError::io(file.tmp_path(), e))?;
        Ok(JobTracker {
            file: Some(file),
            error: None,
            row: Row::with_capacity(128),
            active: JobTable::new(),
            ended: JobSet::default(),
            stats: JobStats::default(),
        })
    }

    /// Jobs currently followed (not ended): the tracker's memory is proportional to this.
    pub fn active_jobs(&self) -> usize {
        self.active.len()
    }

    /// Writes the rows of the jobs that have not ended (outcome `queued`, `scheduled`,
    /// `started`, `lost` or `deferred`), renames the file to `jobs.csv` and returns the run's numbers.
    /// Events that arrive afterwards are ignored.
    pub fn finish(&mut self, end: SimTime) -> Result<JobStats, ReportError> {
        let active = std::mem::take(&mut self.active);
        for (job, state) in active.iter() {
            for &due in state.retry_due.iter().chain(&state.later_retry_dues) {
                self.stats.retries_pending_at_end += 1;
                let overdue = micros_between(due, end);
                let max = &mut self.stats.max_pending_retry_overdue_micros;
                *max = Some(max.map_or(overdue, |m| m.max(overdue)));
            }
            let end = match state.status {
                Outcome::Finished | Outcome::Failed => state.ended_at,
                _ => state.lost_at,
            };
            self.write_row(job, state, end);
        }
        let file = self.file.take();
        if let Some(error) = self.error.take() {
            return Err(error);
        }
        if let Some(file) = file {
            file.commit()?;
        }
        Ok(std::mem::take(&mut self.stats))
    }

    /// A job that has ended runs again: that is a duplicate execution by definition.
    fn on_event_after_end(&mut self, event: &Event) {
        if matches!(event.kind, EventKind::JobStarted { .. }) {
            self.stats.executions += 1;
            self.stats.duplicate_executions += 1;
            self.stats.executions_after_end += 1;
        }
    }

    fn end_job(&mut self, job: JobId, outcome: Outcome, time: SimTime) {
        let mut state = self.active.remove(job).expect("the job is active");
        state.status = outcome;
        self.write_row(job, &state, Some(time));
        self.ended.insert(job);
    }

    fn write_row(&mut self, job: JobId, state: &JobState, end: Option<SimTime>) {
        self.stats.jobs += 1;
        self.stats.outcomes.add(state.status);
        // Appended cell by cell into the reused row: only the queue name can need
        // quoting; numbers, times and the outcome never do.
        let row = &mut self.row;
        row.clear();
        row.job(job);
        row.text(state.queue.as_deref().unwrap_or(""));
        row.optional_time(state.enqueued);
        row.unsigned(u64::from(state.executions));
        row.unsigned(u64::from(state.retries_used));
        row.plain(state.status.name());
        row.optional_time(state.first_start);
        row.optional_time(end);
        match state.max_lateness_micros {
            Some(lateness) => row.signed_seconds(lateness),
            None => row.empty(),
        }
        row.unsigned(u64::from(state.duplicates));
        row.optional_time(state.max_queue_wait.map(|wait| SimTime(wait.as_micros())));
        let (Some(file), None) = (self.file.as_mut(), self.error.as_ref()) else {
            return;
        };
        if let Err(e) = file.write_all(self.row.end()) {
            self.error = Some(ReportError::io(file.tmp_path(), e));
        }
    }
}

impl EventSink for JobTracker {
    fn on_event(&mut self, event: &Event) {
        if self.file.is_none() {
            return;
        }
        let Some(job) = event.job else { return };
        if self.ended.contains(job) && event.kind.is_requeue() {
            // An operator's requeue starts a new life of a failed job: its row was written
            // when it failed, and the new life gets a row of its own.
            self.ended.remove(job);
        } else if self.ended.contains(job) {
            self.on_event_after_end(event);
            return;
        }
        if matches!(event.kind, EventKind::ProcessKilled) && self.active.get(job).is_none() {
            return;
        }
        let state = self.active.entry(job);
        if state.queue.is_none() {
            state.queue = event.queue.clone();
        }
        if let Some(outcome) = apply(state, &mut self.stats, event) {
            if state.retries_waiting == 0 {
                self.end_job(job, outcome, event.time);
            } else {
                state.status = outcome;
                state.ended_at = Some(event.time);
            }
        }
    }
}

/// Applies one event to a job's state; returns the outcome if the job has now ended.
fn apply(state: &mut JobState, stats: &mut JobStats, event: &Event) -> Option<Outcome> {
    let time = event.time;
    match &event.kind {
        EventKind::JobEnqueued { .. } => {
            state.enqueued.get_or_insert(time);
            become_ready(state, time, Outcome::Queued);
        }
        EventKind::JobScheduled { .. } => {
            state.enqueued.get_or_insert(time);
            state.status = Outcome::Scheduled;
            state.ready_since = None;
            state.lost_at = None;
        }
        // Waiting for its parents; a release is a `job_enqueued` (source=dependency).
        EventKind::JobDeferred => state.status = Outcome::Deferred,
        EventKind::JobStarted { .. } => start(state, stats, time),
        EventKind::JobFinished => return Some(Outcome::Finished),
        EventKind::JobMovedToFailed { .. } => return Some(Outcome::Failed),
        // A horse already running a canceled job runs on (§1.9 D5): its end decides.
        EventKind::JobCanceled if state.running == 0 => return Some(Outcome::Canceled),
        EventKind::JobDeleted => return Some(Outcome::Deleted),
        EventKind::JobFailed { .. } => {
            if state.kills_awaiting_failure > 0 {
                state.kills_awaiting_failure -= 1;
            } else {
                state.running = state.running.saturating_sub(1);
            }
        }
        EventKind::ProcessKilled if state.running > 0 => {
            state.running -= 1;
            state.kills_awaiting_failure += 1;
        }
        EventKind::JobRetryRequeued { .. } => {
            count_retry(state, stats);
            become_ready(state, time, Outcome::Queued);
        }
        EventKind::JobRetryScheduled { interval_s, .. } => {
            count_retry(state, stats);
            let interval = SimDuration::from_secs(u64::try_from(*interval_s).unwrap_or(0));
            match state.retry_due {
                None => state.retry_due = Some(time + interval),
                Some(_) => state.later_retry_dues.push(time + interval),
            }
            state.status = Outcome::Scheduled;
            state.ready_since = None;
        }
        EventKind::JobAbandoned { .. } => state.kills_awaiting_failure = 0,
        // A successful run with repeats left: it ends here, and the job waits for its next
        // run (in its queue, or in the scheduled registry until the scheduler moves it).
        EventKind::JobRepeatRequeued { .. } => {
            state.running = state.running.saturating_sub(1);
            become_ready(state, time, Outcome::Queued);
        }
        EventKind::JobRepeatScheduled { .. } => {
            state.running = state.running.saturating_sub(1);
            state.status = Outcome::Scheduled;
            state.ready_since = None;
        }
        EventKind::JobLost { .. } => {
            stats.job_lost_events += 1;
            state.status = Outcome::Lost;
            state.lost_at = Some(time);
            state.ready_since = None;
        }
        _ => {}
    }
    None
}

fn become_ready(state: &mut JobState, time: SimTime, status: Outcome) {
    state.status = status;
    state.ready_since = Some(time);
    state.lost_at = None;
}

fn count_retry(state: &mut JobState, stats: &mut JobStats) {
    state.retries_used += 1;
    state.retries_waiting += 1;
    stats.retries += 1;
    // The failure that led here has been handled: a kill's report is no longer expected.
    state.kills_awaiting_failure = 0;
}

fn start(state: &mut JobState, stats: &mut JobStats, time: SimTime) {
    state.executions += 1;
    stats.executions += 1;
    state.retries_waiting = state.retries_waiting.saturating_sub(1);
    if state.ended_at.take().is_some() {
        // It had finished (or failed for good): a run after the end, as in `on_event_after_end`.
        state.duplicates += 1;
        stats.duplicate_executions += 1;
        stats.executions_after_end += 1;
    } else if state.running > 0 {
        state.duplicates += 1;
        stats.duplicate_executions += 1;
    }
    state.running += 1;
    state.status = Outcome::Started;
    state.lost_at = None;
    state.first_start.get_or_insert(time);
    if let Some(ready) = state.ready_since.take() {
        let wait = time.since(ready);
        stats.queue_wait.record(wait.as_micros() as i64);
        state.max_queue_wait = Some(state.max_queue_wait.map_or(wait, |m| m.max(wait)));
    }
    let oldest_due = state.retry_due.take();
    if !state.later_retry_dues.is_empty() {
        state.retry_due = Some(state.later_retry_dues.remove(0));
    }
    if let Some(due) = oldest_due {
        let lateness = micros_between(due, time);
        stats.retry_lateness.record(lateness);
        let max = state
            .max_lateness_micros
            .map_or(lateness, |m| m.max(lateness));
        state.max_lateness_micros = Some(max);
    }
}

/// `later − earlier` in µs, negative when `later` is earlier.
fn micros_between(earlier: SimTime, later: SimTime) -> i64 {
    later.as_micros() as i64 - earlier.as_micros() as i64
}
