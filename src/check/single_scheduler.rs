//! `single_active_scheduler`: per queue, one scheduler moves due jobs at a time (§4, §9 R14).
//!
//! Three parts, each reported under this check's name:
//! - **(a) enqueue without the lock** (R14's definition of "active"): a scheduler process's
//!   `scheduler_tick` with `moved > 0` whose lock view says Redis holds another value (or
//!   none). The `job_enqueued { source: Scheduler }` events of that tick name the jobs. This
//!   is §9 R1: a stalled holder resumes and enqueues after its lock expired.
//! - **(b) two believers**: two running (not paused) scheduler processes both believe they
//!   hold the queue's lock for longer than one scheduler tick plus [`OVERLAP_SLACK`]. In 2.12
//!   a scheduler that lost its lock learns so at its next heartbeat, at most one tick after it
//!   resumes (R14); 2.10's unchecked heartbeat never does (§4.9, R1b). Time spent paused does
//!   not count, as a stopped process acts on nothing.
//! - **(c) ground truth** (a sanity check on simrq itself): Redis holds one lock value per
//!   instant, so events at the same instant agree on it, and `lock_acquired` shows its
//!   scheduler as the holder.

use std::collections::{BTreeMap, BTreeSet};

use crate::event::{EnqueueSource, Event, EventKind, EventSink, JobId, LockView, Name};
use crate::sim::{SimDuration, SimTime};

use super::findings::Findings;
use super::{CheckClass, Checker, EndState, Timeline, Violation};

pub const NAME: &str = "single_active_scheduler";

/// Redis round trips and the enqueue pass on top of the 1 s sleep before the next heartbeat.
pub const OVERLAP_SLACK: SimDuration = SimDuration::from_millis(500);

#[derive(Clone, Debug)]
struct Believer {
    process: Option<Name>,
    pod: Option<Name>,
}

#[derive(Default)]
struct QueueLock {
    /// Schedulers whose `_acquired_locks` holds the queue, by scheduler name.
    believers: BTreeMap<Name, Believer>,
    /// Since when two or more running schedulers believe they hold the lock.
    overlap_since: Option<SimTime>,
    /// The schedulers' processes in the current overlap, as it began or last grew.
    overlap_processes: Vec<Name>,
    overlap_reported: bool,
    /// The holder in Redis as last reported, and when.
    truth: Option<(SimTime, Option<Name>)>,
    /// Jobs each scheduler process enqueued since its last tick.
    enqueued: BTreeMap<Name, Vec<JobId>>,
}

pub struct SingleActiveScheduler {
    overlap_bound: SimDuration,
    queues: BTreeMap<Name, QueueLock>,
    paused_processes: BTreeSet<Name>,
    paused_pods: BTreeSet<Name>,
    findings: Findings,
    finished: bool,
    timeline: Timeline,
}

impl SingleActiveScheduler {
    /// `scheduler_tick`: the scheduler's loop period (1 s in RQ).
    pub fn new(scheduler_tick: SimDuration, timeline: Timeline) -> SingleActiveScheduler {
        SingleActiveScheduler {
            overlap_bound: scheduler_tick + OVERLAP_SLACK,
            queues: BTreeMap::new(),
            paused_processes: BTreeSet::new(),
            paused_pods: BTreeSet::new(),
            findings: Findings::new(NAME, CheckClass::Safety, None),
            finished: false,
            timeline,
        }
    }

    fn report(
        &mut self,
        time: SimTime,
        queue: &Name,
        job: Option<JobId>,
        processes: Vec<Name>,
        detail: String,
    ) {
        let timeline = &self.timeline;
        self.findings.add(|| {
            let mut violation = Violation::new(NAME, CheckClass::Safety, time, detail);
            violation.timeline = timeline.lines(job, Some(queue), &processes);
            violation.queue = Some(queue.clone());
            violation.job = job.map(JobId::name);
            violation.processes = processes;
            violation
        });
    }

    fn on_lock_event(&mut self, event: &Event, queue: &Name, lock: &LockView) {
        self.check_truth(event, queue, lock);
        let state = self.queues.entry(queue.clone()).or_default();
        if lock.believes_held {
            let believer = Believer {
                process: event.process.clone(),
                pod: event.pod.clone(),
            };
            state.believers.insert(lock.scheduler.clone(), believer);
        } else {
            state.believers.remove(&lock.scheduler);
        }
        if let EventKind::SchedulerTick { moved, .. } = event.kind {
            self.check_tick(event, queue, lock, moved);
        }
    }

    /// Part (a): a tick that moved jobs while Redis named another holder.
    fn check_tick(&mut self, event: &Event, queue: &Name, lock: &LockView, moved: u32) {
        let key = event
            .process
            .clone()
            .unwrap_or_else(|| lock.scheduler.clone());
        let state = self.queues.entry(queue.clone()).or_default();
        let jobs = state.enqueued.remove(&key).unwrap_or_default();
        if moved == 0 || lock.redis_holder.as_ref() == Some(&lock.scheduler) {
            return;
        }
        let holder = lock.redis_holder.as_deref().unwrap_or("nobody");
        let listed: Vec<String> = jobs.iter().take(5).map(JobId::to_string).collect();
        let detail = format!(
            "scheduler {} enqueued {moved} due job(s) {listed:?} while the lock of {queue} \
             was held by {holder} (§9 R1, R14)",
            lock.scheduler
        );
        let mut processes = vec![key];
        processes.extend(lock.redis_holder.clone());
        self.report(event.time, queue, jobs.first().copied(), processes, detail);
    }

    /// Part (c): one lock value per instant.
    fn check_truth(&mut self, event: &Event, queue: &Name, lock: &LockView) {
        let state = self.queues.entry(queue.clone()).or_default();
        let previous = state.truth.replace((event.time, lock.redis_holder.clone()));
        let acquired = matches!(event.kind, EventKind::LockAcquired { .. });
        let detail = if acquired && lock.redis_holder.as_ref() != Some(&lock.scheduler) {
            format!(
                "lock_acquired by {} but Redis holds {:?} (simrq model bug)",
                lock.scheduler, lock.redis_holder
            )
        } else if let (Some((time, holder)), false) = (previous, acquired) {
            let changes = matches!(event.kind, EventKind::LockReleased { .. });
            if time != event.time || holder == lock.redis_holder || changes {
                return;
            }
            format!(
                "two lock values for {queue} at one instant: {holder:?} and {:?} \
                 (simrq model bug)",
                lock.redis_holder
            )
        } else {
            return;
        };
        let processes = event.process.iter().cloned().collect();
        self.report(event.time, queue, None, processes, detail);
    }

    fn is_running(&self, believer: &Believer) -> bool {
        let paused = believer
            .process
            .as_ref()
            .is_some_and(|p| self.paused_processes.contains(p));
        let pod_paused = believer
            .pod
            .as_ref()
            .is_some_and(|p| self.paused_pods.contains(p));
        !(paused || pod_paused)
    }

    /// Part (b) for one queue, at `now`.
    fn check_overlap(&mut self, queue: &Name, now: SimTime) {
        let Some(state) = self.queues.get(queue) else {
            return;
        };
        // Listed only when two or more run: the usual single holder allocates nothing here.
        let running_believers = || {
            let believers = state.believers.iter();
            believers.filter(|(_, believer)| self.is_running(believer))
        };
        let running: Vec<Name> = if running_believers().nth(1).is_some() {
            let name = |(scheduler, b): (&Name, &Believer)| {
                b.process.clone().unwrap_or_else(|| scheduler.clone())
            };
            running_believers().map(name).collect()
        } else {
            Vec::new()
        };
        let since = state.overlap_since;
        let reported = state.overlap_reported;
        let too_long = since.is_some_and(|since| now.since(since) > self.overlap_bound);
        if too_long && !reported {
            let since = since.expect("checked above");
            let processes = state.overlap_processes.clone();
            let detail = format!(
                "{} schedulers believed they held the lock of {queue} from {since} to at \
                 least {now}, longer than one tick ({}) (§9 R14, §4.9)",
                processes.len(),
                self.overlap_bound
            );
            self.report(now, queue, None, processes, detail);
        }
        let state = self.queues.get_mut(queue).expect("present above");
        if running.len() >= 2 {
            if since.is_none() {
                state.overlap_since = Some(now);
                state.overlap_reported = false;
            } else if too_long {
                state.overlap_reported = true;
            }
            if running.len() > state.overlap_processes.len() || since.is_none() {
                state.overlap_processes = running;
            }
        } else {
            state.overlap_since = None;
            state.overlap_reported = false;
            state.overlap_processes.clear();
        }
    }

    fn check_all_overlaps(&mut self, now: SimTime) {
        let queues: Vec<Name> = self.queues.keys().cloned().collect();
        for queue in queues {
            self.check_overlap(&queue, now);
        }
    }

    /// RQ's worker acquires the locks in its own process and then forks the scheduler
    /// (`Worker._start_scheduler`, rq-semantics §4.3), which alone acts on them from then on.
    /// The believer becomes the forked process, so that a pause or a kill of the scheduler
    /// process counts even before its first tick names it (it used to stay the worker, and a
    /// scheduler paused between its fork and its first tick was taken for a running one).
    fn on_scheduler_started(&mut self, event: &Event, scheduler: &Name) {
        for state in self.queues.values_mut() {
            if let Some(believer) = state.believers.get_mut(scheduler) {
                believer.process = event.process.clone();
                believer.pod = event.pod.clone();
            }
        }
    }

    /// Pauses, resumes and deaths change who is running.
    fn on_process_event(&mut self, event: &Event) {
        let process = event.process.as_ref();
        let pod = event.pod.as_ref();
        match &event.kind {
            EventKind::ProcessPaused => {
                if let Some(process) = process {
                    self.paused_processes.insert(process.clone());
                } else if let Some(pod) = pod {
                    self.paused_pods.insert(pod.clone());
                }
            }
            EventKind::ProcessResumed => {
                if let Some(process) = process {
                    self.paused_processes.remove(process);
                } else if let Some(pod) = pod {
                    self.paused_pods.remove(pod);
                }
            }
            EventKind::ProcessKilled if event.job.is_none() => {
                for state in self.queues.values_mut() {
                    state.believers.retain(|_, b| match process {
                        Some(process) => b.process.as_ref() != Some(process),
                        None => pod.is_none() || b.pod.as_ref() != pod,
                    });
                }
                if let Some(process) = process {
                    self.paused_processes.remove(process);
                }
            }
            EventKind::SchedulerDied { scheduler, .. } => {
                for state in self.queues.values_mut() {
                    state.believers.remove(scheduler);
                }
            }
            _ => {}
        }
    }
}

impl EventSink for SingleActiveScheduler {
    fn on_event(&mut self, event: &Event) {
        self.timeline.observe(event);
        match (&event.kind, &event.queue) {
            (
                EventKind::JobEnqueued {
                    source: EnqueueSource::Scheduler,
                    ..
                },
                Some(queue),
            ) => {
                if let (Some(process), Some(job)) = (&event.process, &event.job) {
                    let state = self.queues.entry(queue.clone()).or_default();
                    state
                        .enqueued
                        .entry(process.clone())
                        .or_default()
                        .push(*job);
                }
            }
            (kind, Some(queue)) if kind.lock_view().is_some() => {
                let lock = kind.lock_view().expect("matched");
                self.on_lock_event(event, queue, lock);
                self.check_overlap(queue, event.time);
            }
            (EventKind::SchedulerStarted { scheduler }, _) => {
                self.on_scheduler_started(event, scheduler);
            }
            (
                EventKind::ProcessPaused
                | EventKind::ProcessResumed
                | EventKind::ProcessKilled
                | EventKind::SchedulerDied { .. },
                _,
            ) => {
                self.on_process_event(event);
                self.check_all_overlaps(event.time);
            }
            _ => {}
        }
    }
}

impl Checker for SingleActiveScheduler {
    fn name(&self) -> &'static str {
        NAME
    }

    fn finish(&mut self, end: &dyn EndState) -> Vec<Violation> {
        if !self.finished {
            self.finished = true;
            self.check_all_overlaps(end.end_time());
        }
        self.findings.violations()
    }

    fn passed(&self) -> bool {
        self.findings.passed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::testing::{FixedEnd, Stream};

    fn checker() -> Stream<SingleActiveScheduler> {
        let tick = SimDuration::from_secs(1);
        Stream::new(SingleActiveScheduler::new(tick, Timeline::own()))
    }

    /// §4.8: a killed holder's belief dies with it; the lock passing on is no overlap.
    #[test]
    fn a_killed_scheduler_no_longer_believes() {
        let mut stream = checker();
        stream.acquire(0.0, "s1");
        stream.emit(10.0, "s1", "", EventKind::ProcessKilled);
        stream.acquire(80.0, "s2").refresh(90.0, "s2", "s2");
        let violations = stream.checkers().finish(&FixedEnd::at(100.0));
        assert!(violations.is_empty(), "{violations:#?}");
    }

    /// §4.3: the worker takes the lock in its own process and forks the scheduler, which
    /// alone acts on it. A pause of the forked process before its first tick stops the
    /// believer (scheduler-pause with fenced_enqueue and first_seen_per_enqueue, seed 656:
    /// s7 was paused 18 ms after its fork and reported as running beside the next holder).
    #[test]
    fn a_scheduler_paused_between_its_fork_and_its_first_tick_is_not_running() {
        let mut stream = checker();
        let lock = LockView {
            scheduler: Name::from("s7"),
            believes_held: true,
            redis_holder: Some(Name::from("s7")),
        };
        stream.emit(0.0, "worker-2.w3", "", EventKind::LockAcquired { lock });
        let started = EventKind::SchedulerStarted {
            scheduler: Name::from("s7"),
        };
        stream.emit(0.0, "worker-2.w3:scheduler", "", started);
        stream.pause(0.02, "worker-2.w3:scheduler");
        stream.acquire(71.0, "s6").refresh(72.0, "s6", "s6");
        stream.refresh(73.0, "s6", "s6").refresh(74.0, "s6", "s6");
        stream.emit(90.0, "worker-2.w3:scheduler", "", EventKind::ProcessResumed);
        stream.lose(90.04, "s7", "s6");
        let violations = stream.checkers().finish(&FixedEnd::at(100.0));
        assert!(violations.is_empty(), "{violations:#?}");
        // The same stream with the forked scheduler running is two believers.
        let mut running = checker();
        running
            .acquire(0.0, "s7")
            .acquire(71.0, "s6")
            .refresh(73.0, "s6", "s6");
        assert_eq!(running.checkers().finish(&FixedEnd::at(74.0)).len(), 1);
    }

    /// §9 R14 (b): an overlap still open when the run ends is judged at the end.
    #[test]
    fn an_overlap_open_at_the_end_is_reported() {
        let mut stream = checker();
        stream.acquire(0.0, "s1").acquire(70.0, "s2");
        assert!(stream.checkers().findings.passed());
        let violations = stream.checkers().finish(&FixedEnd::at(100.0));
        assert_eq!(violations.len(), 1, "{violations:#?}");
        assert_eq!(violations[0].time.as_secs_f64(), 100.0);
        assert_eq!(violations[0].processes.len(), 2);
    }

    /// §4.5: a tick that moved nothing, or moved while holding the lock, is fine even when
    /// the scheduler is wrong about its lock; moving while wrong is not (§9 R1).
    #[test]
    fn only_ticks_that_move_jobs_without_the_lock_count() {
        let mut stream = checker();
        stream.acquire(0.0, "s1").tick(0.0, "s1", 3, true, "s1");
        stream.tick(70.0, "s1", 0, true, "");
        assert!(stream.checkers().findings.passed());
        stream.tick(71.0, "s1", 2, true, "");
        let violations = stream.checkers().finish(&FixedEnd::at(100.0));
        assert_eq!(violations.len(), 1, "{violations:#?}");
        assert!(violations[0].detail.contains("held by nobody"));
    }
}
