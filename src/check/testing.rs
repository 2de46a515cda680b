//! Helpers to write event streams by hand, for the checkers' tests and for regressions that
//! pin a checker's verdict on a scripted stream: a [`Stream`] emits through a real
//! [`EventBus`] (so `seq` and `attempt` are stamped as in a run), and a [`FixedEnd`] plays
//! the end state.
//!
//! ```
//! use simrq::check::testing::{FixedEnd, Stream};
//! use simrq::check::{CheckConfig, Checkers};
//! let mut stream = Stream::new(Checkers::new(&CheckConfig::default(), &[]));
//! stream.create(0.0, "j1", 0, &[]).enqueue(0.0, "j1").start(1.0, "j1", "w1");
//! stream.finish(2.0, "j1", "w1");
//! let end = FixedEnd::at(10.0);
//! assert!(stream.checkers().finish(&end).is_empty());
//! ```

use std::cell::{RefCell, RefMut};
use std::collections::BTreeMap;
use std::rc::Rc;

use crate::event::{
    EnqueueSource, EventBus, EventContext, EventKind, EventSink, JobId, LockView, Name,
    EPOCH_UNIX_S,
};
use crate::sim::{SimDuration, SimTime};

use super::{EndState, JobLocation};

/// Seconds since the start of the run as a [`SimTime`].
pub fn secs(seconds: f64) -> SimTime {
    SimTime(SimDuration::from_secs_f64(seconds).as_micros())
}

/// The queue every helper uses unless told otherwise.
pub const QUEUE: &str = "default";

/// A hand-written event stream feeding one sink through an [`EventBus`].
///
/// Worker names are given as `w1`; the horse's process is then `w1.horse`, so that end events
/// from either the horse or its worker match the execution. Schedulers are processes named
/// after the scheduler (`s1`).
pub struct Stream<S: EventSink + 'static> {
    bus: EventBus,
    sink: Rc<RefCell<S>>,
    queue: Name,
}

impl<S: EventSink + 'static> Stream<S> {
    pub fn new(sink: S) -> Stream<S> {
        let sink = Rc::new(RefCell::new(sink));
        let mut bus = EventBus::new();
        bus.add_sink(Box::new(sink.clone()));
        Stream {
            bus,
            sink,
            queue: Name::from(QUEUE),
        }
    }

    /// The sink, e.g. to call `finish` on checkers.
    pub fn checkers(&self) -> RefMut<'_, S> {
        self.sink.borrow_mut()
    }

    /// Emits any event: `process` and `job` may be empty strings for none.
    pub fn emit(&mut self, at_s: f64, process: &str, job: &str, kind: EventKind) -> &mut Self {
        let name = |text: &str| (!text.is_empty()).then(|| Name::from(text));
        let context = EventContext {
            pod: name(process).map(|p| pod_of(&p)),
            process: name(process),
            queue: Some(self.queue.clone()),
            job: (!job.is_empty()).then(|| JobId::of(job)),
        };
        self.bus.emit(secs(at_s), context, kind);
        self
    }

    pub fn create(
        &mut self,
        at_s: f64,
        job: &str,
        retry_max: i64,
        intervals_s: &[i64],
    ) -> &mut Self {
        self.create_repeating(at_s, job, retry_max, intervals_s, 0)
    }

    /// A job created with `Retry(max=retry_max, interval=intervals_s)` and
    /// `Repeat(times=repeat_times)` (0: no `Repeat`).
    pub fn create_repeating(
        &mut self,
        at_s: f64,
        job: &str,
        retry_max: i64,
        intervals_s: &[i64],
        repeat_times: i64,
    ) -> &mut Self {
        let kind = EventKind::JobCreated {
            retry_max,
            retry_intervals_s: intervals_s.into(),
            job_timeout_s: 180,
            repeat_times,
        };
        self.emit(at_s, "producer", job, kind)
    }

    pub fn enqueue(&mut self, at_s: f64, job: &str) -> &mut Self {
        let kind = EventKind::JobEnqueued {
            source: EnqueueSource::Producer,
            at_front: false,
        };
        self.emit(at_s, "producer", job, kind)
    }

    /// `worker`'s horse starts `job`.
    pub fn start(&mut self, at_s: f64, job: &str, worker: &str) -> &mut Self {
        let kind = EventKind::JobStarted {
            worker: Name::from(worker),
        };
        self.emit(at_s, &horse(worker), job, kind)
    }

    pub fn finish(&mut self, at_s: f64, job: &str, worker: &str) -> &mut Self {
        self.emit(at_s, &horse(worker), job, EventKind::JobFinished)
    }

    /// `worker`'s horse ends a successful run of `job` with repeats left: `Repeat.schedule`
    /// with interval 0 puts it back in the queue.
    pub fn repeat_requeue(
        &mut self,
        at_s: f64,
        job: &str,
        worker: &str,
        repeats_left: i64,
    ) -> &mut Self {
        let kind = EventKind::JobRepeatRequeued { repeats_left };
        self.emit(at_s, &horse(worker), job, kind)
    }

    /// `worker`'s horse ends a successful run of `job` with repeats left: `Repeat.schedule`
    /// schedules the next run in `interval_s`.
    pub fn repeat_schedule(
        &mut self,
        at_s: f64,
        job: &str,
        worker: &str,
        interval_s: i64,
        repeats_left: i64,
    ) -> &mut Self {
        let kind = EventKind::JobRepeatScheduled {
            due_unix_s: due_unix_s(at_s, interval_s),
            interval_s,
            repeats_left,
        };
        self.emit(at_s, &horse(worker), job, kind)
    }

    pub fn fail(&mut self, at_s: f64, job: &str, worker: &str) -> &mut Self {
        let kind = EventKind::JobFailed {
            reason: "ValueError".into(),
        };
        self.emit(at_s, &horse(worker), job, kind)
    }

    /// The horse fails `job` and schedules its retry in `interval_s` (§3.7).
    pub fn fail_and_schedule(
        &mut self,
        at_s: f64,
        job: &str,
        worker: &str,
        interval_s: i64,
        retries_left: i64,
    ) -> &mut Self {
        self.fail(at_s, job, worker);
        let kind = EventKind::JobRetryScheduled {
            due_unix_s: due_unix_s(at_s, interval_s),
            interval_s,
            retries_left,
        };
        self.emit(at_s, &horse(worker), job, kind)
    }

    /// The horse fails `job` and puts it back in the queue at once (interval 0, §3.7).
    pub fn fail_and_requeue(
        &mut self,
        at_s: f64,
        job: &str,
        worker: &str,
        retries_left: i64,
    ) -> &mut Self {
        self.fail(at_s, job, worker);
        let kind = EventKind::JobRetryRequeued { retries_left };
        self.emit(at_s, &horse(worker), job, kind)
    }

    pub fn fail_for_good(&mut self, at_s: f64, job: &str, worker: &str) -> &mut Self {
        self.fail(at_s, job, worker);
        let kind = EventKind::JobMovedToFailed {
            reason: "no retries left".into(),
        };
        self.emit(at_s, &horse(worker), job, kind)
    }

    /// The scheduler process `scheduler` moves `job` from the scheduled registry to the queue.
    pub fn scheduler_enqueue(&mut self, at_s: f64, job: &str, scheduler: &str) -> &mut Self {
        let kind = EventKind::JobEnqueued {
            source: EnqueueSource::Scheduler,
            at_front: false,
        };
        self.emit(at_s, scheduler, job, kind)
    }

    /// A `scheduler_tick` of `scheduler`, with Redis holding `holder` (`""`: no lock).
    pub fn tick(
        &mut self,
        at_s: f64,
        scheduler: &str,
        moved: u32,
        believes: bool,
        holder: &str,
    ) -> &mut Self {
        let lock = lock_view(scheduler, believes, holder);
        self.emit(
            at_s,
            scheduler,
            "",
            EventKind::SchedulerTick { moved, lock },
        )
    }

    pub fn acquire(&mut self, at_s: f64, scheduler: &str) -> &mut Self {
        let lock = lock_view(scheduler, true, scheduler);
        self.emit(at_s, scheduler, "", EventKind::LockAcquired { lock })
    }

    pub fn refresh(&mut self, at_s: f64, scheduler: &str, holder: &str) -> &mut Self {
        let lock = lock_view(scheduler, true, holder);
        self.emit(at_s, scheduler, "", EventKind::LockRefreshed { lock })
    }

    /// `scheduler`'s heartbeat found the lock taken by `holder` (`""`: expired and gone).
    pub fn lose(&mut self, at_s: f64, scheduler: &str, holder: &str) -> &mut Self {
        let lock = lock_view(scheduler, false, holder);
        self.emit(at_s, scheduler, "", EventKind::LockLost { lock })
    }

    pub fn pause(&mut self, at_s: f64, process: &str) -> &mut Self {
        self.emit(at_s, process, "", EventKind::ProcessPaused)
    }

    pub fn resume(&mut self, at_s: f64, process: &str) -> &mut Self {
        self.emit(at_s, process, "", EventKind::ProcessResumed)
    }

    /// The horse of `worker` dies while running `job`.
    pub fn kill_horse(&mut self, at_s: f64, job: &str, worker: &str) -> &mut Self {
        self.emit(at_s, &horse(worker), job, EventKind::ProcessKilled)
    }

    pub fn lost(&mut self, at_s: f64, job: &str, worker: &str) -> &mut Self {
        let kind = EventKind::JobLost {
            reason: "BLPOP reply lost".into(),
        };
        self.emit(at_s, worker, job, kind)
    }
}

/// The horse process of a worker in these streams.
pub fn horse(worker: &str) -> String {
    format!("{worker}.horse")
}

fn pod_of(process: &Name) -> Name {
    Name::from(process.split('.').next().unwrap_or(process))
}

fn lock_view(scheduler: &str, believes_held: bool, holder: &str) -> LockView {
    LockView {
        scheduler: Name::from(scheduler),
        believes_held,
        redis_holder: (!holder.is_empty()).then(|| Name::from(holder)),
    }
}

/// An end state given by hand: jobs default to `Finished`, no lock holders, no faults.
#[derive(Clone, Debug, Default)]
pub struct FixedEnd {
    pub end_time: SimTime,
    pub faults_ended_at: SimTime,
    pub locations: BTreeMap<String, JobLocation>,
    pub lock_holders: BTreeMap<String, String>,
}

impl FixedEnd {
    pub fn at(end_s: f64) -> FixedEnd {
        FixedEnd {
            end_time: secs(end_s),
            ..FixedEnd::default()
        }
    }

    pub fn job(mut self, job: &str, location: JobLocation) -> FixedEnd {
        self.locations.insert(job.to_string(), location);
        self
    }

    pub fn lock(mut self, queue: &str, holder: &str) -> FixedEnd {
        self.lock_holders
            .insert(queue.to_string(), holder.to_string());
        self
    }

    pub fn faults_ended(mut self, at_s: f64) -> FixedEnd {
        self.faults_ended_at = secs(at_s);
        self
    }
}

impl EndState for FixedEnd {
    fn job_location(&self, job: &str) -> JobLocation {
        self.locations
            .get(job)
            .copied()
            .unwrap_or(JobLocation::Finished)
    }

    fn lock_holder(&self, queue: &str) -> Option<String> {
        self.lock_holders.get(queue).cloned()
    }

    fn end_time(&self) -> SimTime {
        self.end_time
    }

    fn faults_ended_at(&self) -> SimTime {
        self.faults_ended_at
    }
}

/// The due time a horse at `at_s` writes for a run `interval_s` later: whole Unix seconds,
/// floored, as RQ's scheduled-job score is.
fn due_unix_s(at_s: f64, interval_s: i64) -> i64 {
    EPOCH_UNIX_S + (at_s + interval_s as f64).floor() as i64
}
