//! Invariant checkers: they consume the event stream and return verdicts, never driving the
//! simulation.
//!
//! ```text
//!  EventBus ──► Checkers (one EventSink) ──► History (bounded: ring + jobs in flight)
//!                  │ each event, in a fixed order
//!                  ├─► retry_count              safety   §3.7: executions ≤ 1 + max
//!                  ├─► retry_timing             safety   §3.7, §8, §11: not early, not too late
//!                  ├─► single_active_scheduler  safety   §4, §9 R1, R14
//!                  ├─► duplicate_execution      safety   §9 R1, R2, R4, R6, R7
//!                  ├─► lost_job                 safety   §9 R5, R8, R9, R15
//!                  ├─► liveness                 liveness quiet period after the last fault
//!                  └─► repeat_count             safety   Repeat(times=n): n + 1 successes
//!  end of run: Checkers::finish(&dyn EndState) ──► Vec<Violation>, Checkers::verdicts()
//! ```
//!
//! Start with [`Checkers`]: the runner builds it from the scenario's `[checks]`
//! ([`CheckConfig`]), hands it to the bus (through an `Rc<RefCell<_>>`, which is itself an
//! [`EventSink`]), and at the end calls [`Checkers::finish`] with a view of Redis
//! ([`EndState`]). Each checker is also usable alone ([`Checker`]).

pub mod cron;
pub mod dependencies;
pub mod duplicates;
pub mod executions;
pub mod findings;
pub mod history;
pub mod liveness;
pub mod lost_jobs;
pub mod repeat_count;
pub mod retry_count;
pub mod retry_timing;
pub mod single_scheduler;
pub mod testing;
pub mod violation;

use std::cell::RefCell;
use std::rc::Rc;

use crate::event::{Event, EventSink, KindFilter, Name};
use crate::sim::{SimDuration, SimTime};

pub use duplicates::DuplicateExecution;
pub use executions::Executions;
pub use history::{History, Timeline};
pub use liveness::Liveness;
pub use lost_jobs::LostJob;
pub use repeat_count::RepeatCount;
pub use retry_count::RetryCount;
pub use retry_timing::RetryTiming;
pub use single_scheduler::SingleActiveScheduler;
pub use violation::{CheckClass, Violation};

/// Where a job's id is in Redis at the end of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobLocation {
    /// `rq:finished:<q>`.
    Finished,
    /// `rq:failed:<q>`.
    Failed,
    /// `rq:queue:<q>`.
    Queued,
    /// `rq:scheduled:<q>`.
    Scheduled,
    /// `rq:wip:<q>` (StartedJobRegistry).
    Started,
    /// Only in the intermediate list `rq:queue:<q>:intermediate` (§5.4, §9 R5b).
    Intermediate,
    /// In no list or registry.
    Missing,
}

/// What the checkers need to know about the world when the run ends.
pub trait EndState {
    fn job_location(&self, job: &str) -> JobLocation;
    /// Where a job is, not counting `rq:finished:<q>`: every successful run of a job with
    /// `Repeat` leaves its id there (for `result_ttl`), so for such a job only the other
    /// places say where it stands. By default the same as [`EndState::job_location`].
    fn job_location_outside_finished(&self, job: &str) -> JobLocation {
        self.job_location(job)
    }
    /// The value of `rq:scheduler-lock:<queue>`, if any.
    fn lock_holder(&self, queue: &str) -> Option<String>;
    fn end_time(&self) -> SimTime;
    /// When the last fault ended; liveness is judged only `drain` after it.
    fn faults_ended_at(&self) -> SimTime;
}

/// One invariant checker: it watches events and, at the end, gives its violations (those
/// found during the stream as well as those only the end state reveals).
pub trait Checker: EventSink {
    fn name(&self) -> &'static str;
    fn finish(&mut self, end: &dyn EndState) -> Vec<Violation>;
    /// Whether the check held; meaningful after `finish`.
    fn passed(&self) -> bool;
}

/// The scenario's `[checks]` section.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckConfig {
    /// How late an interval retry may start after its due time; `None`: not checked (an early
    /// start is always a violation).
    pub max_retry_lateness: Option<SimDuration>,
    /// Duplicate executions tolerated; `None` reports every one.
    pub duplicate_executions: Option<u64>,
    /// Lost jobs tolerated; `None` reports every one.
    pub lost_jobs: Option<u64>,
    pub single_active_scheduler: bool,
    pub liveness: bool,
    /// `Repeat(times=n)` jobs succeed n + 1 times (docs/repeat-and-webhooks.md).
    pub repeat_count: bool,
    /// Quiet time after the last fault before liveness is judged.
    pub drain: SimDuration,
    /// The scheduler's loop period (`RQScheduler` interval, 1 s).
    pub scheduler_tick: SimDuration,
}

impl Default for CheckConfig {
    /// Everything on, nothing tolerated. The drain covers the slowest recovery of §11 with
    /// default settings: abandoned-job detection (≤ 90 s + 810 s + a 899 s stale maintenance
    /// lock) followed by a scheduler takeover (≤ ~871 s), rounded up to one hour.
    fn default() -> CheckConfig {
        CheckConfig {
            max_retry_lateness: None,
            duplicate_executions: None,
            lost_jobs: None,
            single_active_scheduler: true,
            liveness: true,
            repeat_count: true,
            drain: SimDuration::from_secs(3600),
            scheduler_tick: SimDuration::from_secs(1),
        }
    }
}

/// Every enabled checker as one [`EventSink`], sharing one bounded history.
pub struct Checkers {
    history: Rc<RefCell<History>>,
    /// One execution tracker for `retry_count` and `duplicate_execution`, observed here once
    /// per event rather than once by each.
    executions: Executions,
    retry_count: RetryCount,
    retry_timing: RetryTiming,
    single_scheduler: Option<SingleActiveScheduler>,
    duplicates: DuplicateExecution,
    lost_jobs: LostJob,
    liveness: Option<Liveness>,
    repeat_count: Option<RepeatCount>,
    violations: Vec<Violation>,
    finished: bool,
}

/// The fixed order of checks in verdicts and among violations at the same instant.
pub const CHECK_ORDER: [&str; 7] = [
    retry_count::NAME,
    retry_timing::NAME,
    single_scheduler::NAME,
    duplicates::NAME,
    lost_jobs::NAME,
    liveness::NAME,
    repeat_count::NAME,
];

impl Checkers {
    /// `scheduler_queues`: the queues served by `--with-scheduler` workers, whose lock must
    /// have a holder once the run has drained.
    pub fn new(config: &CheckConfig, scheduler_queues: &[Name]) -> Checkers {
        let history = Rc::new(RefCell::new(History::default()));
        let timeline = || Timeline::shared(&history);
        let executions = Executions::own();
        let single_scheduler = config
            .single_active_scheduler
            .then(|| SingleActiveScheduler::new(config.scheduler_tick, timeline()));
        let liveness = config
            .liveness
            .then(|| Liveness::new(config.drain, scheduler_queues.to_vec(), timeline()));
        let repeat_count = config
            .repeat_count
            .then(|| RepeatCount::new(timeline(), executions.follower()));
        Checkers {
            retry_count: RetryCount::new(timeline(), executions.follower()),
            retry_timing: RetryTiming::new(config.max_retry_lateness, timeline()),
            single_scheduler,
            duplicates: DuplicateExecution::new(
                config.duplicate_executions,
                timeline(),
                executions.follower(),
            ),
            lost_jobs: LostJob::new(config.lost_jobs, timeline()),
            liveness,
            repeat_count,
            history,
            executions,
            violations: Vec::new(),
            finished: false,
        }
    }

    /// The enabled checkers, in [`CHECK_ORDER`].
    fn enabled(&self) -> impl Iterator<Item = &dyn Checker> {
        let all: [Option<&dyn Checker>; 7] = [
            Some(&self.retry_count),
            Some(&self.retry_timing),
            self.single_scheduler.as_ref().map(|c| c as &dyn Checker),
            Some(&self.duplicates),
            Some(&self.lost_jobs),
            self.liveness.as_ref().map(|c| c as &dyn Checker),
            self.repeat_count.as_ref().map(|c| c as &dyn Checker),
        ];
        all.into_iter().flatten()
    }

    fn enabled_mut(&mut self) -> impl Iterator<Item = &mut dyn Checker> {
        let all: [Option<&mut dyn Checker>; 7] = [
            Some(&mut self.retry_count),
            Some(&mut self.retry_timing),
            self.single_scheduler
                .as_mut()
                .map(|c| c as &mut dyn Checker),
            Some(&mut self.duplicates),
            Some(&mut self.lost_jobs),
            self.liveness.as_mut().map(|c| c as &mut dyn Checker),
            self.repeat_count.as_mut().map(|c| c as &mut dyn Checker),
        ];
        all.into_iter().flatten()
    }

    /// All violations, sorted by time, then by check in [`CHECK_ORDER`]. Call once, at the end.
    pub fn finish(&mut self, end: &dyn EndState) -> Vec<Violation> {
        assert!(
            !self.finished,
            "Checkers::finish is called once, at the end of a run"
        );
        self.finished = true;
        let mut all: Vec<Violation> = Vec::new();
        for checker in self.enabled_mut() {
            all.extend(checker.finish(end));
        }
        all.sort_by_key(|v| (v.time, check_rank(v.check)));
        self.violations = all.clone();
        all
    }

    /// The violations `finish` returned.
    pub fn violations(&self) -> &[Violation] {
        &self.violations
    }

    /// Each enabled check's name and whether it held, in [`CHECK_ORDER`]. Liveness passes
    /// when the run ended too soon after the last fault to judge it (see `liveness_judged`).
    pub fn verdicts(&self) -> Vec<(&'static str, bool)> {
        self.enabled().map(|c| (c.name(), c.passed())).collect()
    }

    /// Whether every safety check held, and whether the liveness check held.
    pub fn safety_and_liveness_passed(&self) -> (bool, bool) {
        let safety_ok = self
            .enabled()
            .filter(|c| c.name() != liveness::NAME)
            .all(|c| c.passed());
        let liveness_ok = self.liveness.as_ref().is_none_or(|c| c.passed());
        (safety_ok, liveness_ok)
    }

    /// After `finish`: `Some(true)` if liveness was judged, `Some(false)` if the run ended
    /// less than `drain` after the last fault; `None` if liveness is off or not finished.
    pub fn liveness_judged(&self) -> Option<bool> {
        self.liveness.as_ref().and_then(Liveness::judged)
    }

    /// Duplicate executions seen, tolerated ones included (`summary.json`).
    pub fn duplicate_executions(&self) -> u64 {
        self.duplicates.count()
    }

    /// Lost jobs found, tolerated ones included; complete after `finish`.
    pub fn lost_jobs(&self) -> u64 {
        self.lost_jobs.count()
    }

    /// The latest start of an interval retry after its due time.
    pub fn worst_retry_lateness(&self) -> SimDuration {
        self.retry_timing.worst_lateness()
    }
}

fn check_rank(check: &str) -> usize {
    CHECK_ORDER
        .iter()
        .position(|name| *name == check)
        .unwrap_or(CHECK_ORDER.len())
}

impl EventSink for Checkers {
    /// Each checker in [`CHECK_ORDER`], called directly rather than through `enabled_mut`'s
    /// trait objects: every event comes through here, and direct calls let the compiler
    /// inline each checker's early return for the kinds it ignores.
    fn on_event(&mut self, event: &Event) {
        self.history.borrow_mut().record(event);
        self.executions.record(event);
        self.retry_count.on_event(event);
        self.retry_timing.on_event(event);
        if let Some(checker) = &mut self.single_scheduler {
            checker.on_event(event);
        }
        self.duplicates.on_event(event);
        self.lost_jobs.on_event(event);
        if let Some(checker) = &mut self.liveness {
            checker.on_event(event);
        }
        if let Some(checker) = &mut self.repeat_count {
            checker.on_event(event);
        }
    }
}

/// Lets the runner give the bus a sink and keep a handle to read verdicts from at the end.
impl<T: EventSink + ?Sized> EventSink for Rc<RefCell<T>> {
    fn on_event(&mut self, event: &Event) {
        self.borrow_mut().on_event(event);
    }

    fn kinds(&self) -> Option<KindFilter> {
        self.borrow().kinds()
    }
}
