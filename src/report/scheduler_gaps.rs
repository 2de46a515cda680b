//! Who holds each queue's scheduler lock over time, how long no live scheduler did, and when
//! two schedulers both believed they did.
//!
//! ```text
//!  redis holder  │ s1 ██████████│░░░░ gap ░░░░│ s2 ████████████████
//!  believers     │ s1 ──────────────────────────────────┐ (paused, wakes, still believes)
//!                │                            s2 ───────┼───────────
//!                │                                 ▲ dual period ▲
//! ```
//!
//! The truth in Redis comes from `observe_lock` (the runner calls it every second and at each
//! lock event) and from the `redis_holder` of lock events; beliefs come from
//! `LockView::believes_held` of scheduler events. A scheduler that dies or whose process is
//! killed believes nothing any more; a paused one still does, which is the point.
//!
//! Two gaps are measured per queue, because they differ exactly when it matters:
//! - **lock absent**: the key `rq:scheduler-lock:<q>` is not in Redis;
//! - **no live scheduler** (the *scheduler gap*): no live scheduler process holds the lock,
//!   either because the key is absent or because its holder was killed or died and the key
//!   only waits for its TTL (up to 61 s in which nothing enqueues due jobs). A paused holder
//!   still counts as live; if the pause outlasts the TTL the key goes, and so does the holder.
//!
//! Only queues that some `--with-scheduler` worker serves are followed.

use std::collections::{BTreeMap, BTreeSet};

use crate::event::{Event, EventKind, EventSink, KindFilter, Name};
use crate::sim::{SimDuration, SimTime};

/// Holder intervals kept per queue for the chart; past this, only the numbers are kept.
pub const MAX_INTERVALS_PER_QUEUE: usize = 20_000;

/// `holder` held the lock in Redis (or nobody did, `None`) from `start` to `end`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HolderInterval {
    pub holder: Option<Name>,
    pub start: SimTime,
    pub end: SimTime,
}

/// A period in which two or more schedulers believed they held the same queue's lock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DualPeriod {
    pub start: SimTime,
    pub end: SimTime,
    /// Every scheduler that believed it held the lock during the period, by name.
    pub schedulers: Vec<Name>,
}

/// One queue's lock history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueLockTimeline {
    pub queue: Name,
    /// Changes only, in time order, covering the first observation to the end of the run.
    pub intervals: Vec<HolderInterval>,
    pub dual_periods: Vec<DualPeriod>,
    /// The longest interval with no live scheduler process holding the lock.
    pub longest_gap: SimDuration,
    pub longest_gap_start: Option<SimTime>,
    /// The longest interval with no lock key in Redis.
    pub longest_lock_absent: SimDuration,
    pub longest_lock_absent_start: Option<SimTime>,
    pub dual_total: SimDuration,
    /// More than [`MAX_INTERVALS_PER_QUEUE`] changes: `intervals` stops early.
    pub truncated: bool,
}

/// What [`SchedulerGaps::finish`] returns.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SchedulerGapReport {
    pub end: SimTime,
    /// By queue name.
    pub queues: Vec<QueueLockTimeline>,
}

impl SchedulerGapReport {
    /// The longest time any followed queue went without a live scheduler holding its lock;
    /// `None` when no queue is served by a scheduler.
    pub fn longest_gap(&self) -> Option<SimDuration> {
        self.queues.iter().map(|q| q.longest_gap).max()
    }

    /// The longest time any followed queue's lock key was absent from Redis.
    pub fn longest_lock_absent(&self) -> Option<SimDuration> {
        self.queues.iter().map(|q| q.longest_lock_absent).max()
    }

    /// Total time, summed over queues, with two or more believing schedulers.
    pub fn dual_total(&self) -> SimDuration {
        self.queues
            .iter()
            .fold(SimDuration::ZERO, |sum, q| sum + q.dual_total)
    }
}

#[derive(Debug)]
struct QueueState {
    holder: Option<Name>,
    since: SimTime,
    /// Whether a live scheduler process holds the lock, and since when that has been so.
    live_holding: bool,
    live_since: SimTime,
    timeline: QueueLockTimeline,
    believers: BTreeSet<Name>,
    dual_since: Option<SimTime>,
    dual_names: BTreeSet<Name>,
}

impl QueueState {
    fn new(queue: Name, time: SimTime) -> QueueState {
        QueueState {
            holder: None,
            since: time,
            live_holding: false,
            live_since: time,
            timeline: QueueLockTimeline {
                queue,
                intervals: Vec::new(),
                dual_periods: Vec::new(),
                longest_gap: SimDuration::ZERO,
                longest_gap_start: None,
                longest_lock_absent: SimDuration::ZERO,
                longest_lock_absent_start: None,
                dual_total: SimDuration::ZERO,
                truncated: false,
            },
            believers: BTreeSet::new(),
            dual_since: None,
            dual_names: BTreeSet::new(),
        }
    }

    /// Ends the current holder interval at `time`.
    fn close_interval(&mut self, time: SimTime) {
        let span = time.since(self.since);
        let timeline = &mut self.timeline;
        if self.holder.is_none() {
            keep_longest(
                &mut timeline.longest_lock_absent,
                &mut timeline.longest_lock_absent_start,
                self.since,
                span,
            );
        }
        if span == SimDuration::ZERO {
            return;
        }
        if timeline.intervals.len() < MAX_INTERVALS_PER_QUEUE {
            timeline.intervals.push(HolderInterval {
                holder: self.holder.clone(),
                start: self.since,
                end: time,
            });
        } else {
            timeline.truncated = true;
        }
    }

    fn set_holder(&mut self, time: SimTime, holder: Option<&str>, live: &BTreeSet<Name>) {
        if self.holder.as_deref() == holder {
            return;
        }
        self.close_interval(time);
        self.holder = holder.map(Name::from);
        self.since = time;
        self.update_live_holding(time, live);
    }

    /// Starts or ends a gap without a live holder when the holder or its liveness changed.
    fn update_live_holding(&mut self, time: SimTime, live: &BTreeSet<Name>) {
        let holding = self.holder.as_ref().is_some_and(|h| live.contains(h));
        if holding == self.live_holding {
            return;
        }
        if holding {
            self.close_gap(time);
        }
        self.live_holding = holding;
        self.live_since = time;
    }

    /// Ends a gap without a live holder at `time` (a no-op while one holds the lock).
    fn close_gap(&mut self, time: SimTime) {
        if self.live_holding {
            return;
        }
        let timeline = &mut self.timeline;
        let span = time.since(self.live_since);
        keep_longest(
            &mut timeline.longest_gap,
            &mut timeline.longest_gap_start,
            self.live_since,
            span,
        );
    }

    fn set_belief(&mut self, time: SimTime, scheduler: &Name, believes: bool) {
        if believes {
            self.believers.insert(scheduler.clone());
        } else {
            self.believers.remove(scheduler);
        }
        self.update_dual(time);
    }

    fn update_dual(&mut self, time: SimTime) {
        if self.believers.len() >= 2 {
            self.dual_since.get_or_insert(time);
            self.dual_names.extend(self.believers.iter().cloned());
        } else {
            self.close_dual(time);
        }
    }

    fn close_dual(&mut self, time: SimTime) {
        let Some(start) = self.dual_since.take() else {
            return;
        };
        let span = time.since(start);
        self.timeline.dual_total = self.timeline.dual_total + span;
        self.timeline.dual_periods.push(DualPeriod {
            start,
            end: time,
            schedulers: std::mem::take(&mut self.dual_names).into_iter().collect(),
        });
    }
}

/// Keeps `span` (starting at `start`) if it is the longest so far, or the first.
fn keep_longest(
    longest: &mut SimDuration,
    longest_start: &mut Option<SimTime>,
    start: SimTime,
    span: SimDuration,
) {
    if span > *longest || longest_start.is_none() {
        *longest = span;
        *longest_start = Some(start);
    }
}

/// `queue`'s state, made at `time` if it is the first sight of the queue. A free function, so
/// that the caller can borrow the set of live schedulers beside it.
fn queue_state<'a>(
    queues: &'a mut BTreeMap<Name, QueueState>,
    queue: &str,
    time: SimTime,
) -> &'a mut QueueState {
    if !queues.contains_key(queue) {
        let name = Name::from(queue);
        queues.insert(name.clone(), QueueState::new(name, time));
    }
    queues.get_mut(queue).expect("inserted above")
}

/// Follows every queue's scheduler lock. Feed it the event stream and `observe_lock`.
#[derive(Debug, Default)]
pub struct SchedulerGaps {
    queues: BTreeMap<Name, QueueState>,
    /// Process name → scheduler name, learned from lock events, to recognise a killed one.
    scheduler_of_process: BTreeMap<Name, Name>,
    /// Schedulers whose process is alive: seen starting or taking a lock, not seen dying.
    live: BTreeSet<Name>,
}

impl SchedulerGaps {
    pub fn new() -> SchedulerGaps {
        SchedulerGaps::default()
    }

    /// The value of `rq:scheduler-lock:<queue>` in Redis at `time` (`None`: no lock). Call it
    /// at time 0 for every queue, then every second and at every lock event; only changes are
    /// kept. Times must not go backwards.
    pub fn observe_lock(&mut self, time: SimTime, queue: &str, holder: Option<&str>) {
        queue_state(&mut self.queues, queue, time).set_holder(time, holder, &self.live);
    }

    /// A scheduler process runs: a lock it holds counts as held by a live scheduler.
    fn scheduler_alive(&mut self, time: SimTime, scheduler: &Name) {
        if self.live.insert(scheduler.clone()) {
            for state in self.queues.values_mut() {
                state.update_live_holding(time, &self.live);
            }
        }
    }

    /// The scheduler no longer runs: it believes nothing, on every queue, and a lock it still
    /// holds in Redis is held by nobody alive.
    fn forget_scheduler(&mut self, time: SimTime, scheduler: &Name) {
        self.live.remove(scheduler);
        for state in self.queues.values_mut() {
            if state.believers.contains(scheduler) {
                state.set_belief(time, scheduler, false);
            }
            state.update_live_holding(time, &self.live);
        }
    }

    /// Closes every open interval and period at `end` and hands the timelines over.
    pub fn finish(&mut self, end: SimTime) -> SchedulerGapReport {
        let queues = std::mem::take(&mut self.queues);
        let timelines = queues
            .into_values()
            .map(|mut state| {
                state.close_interval(end);
                state.close_gap(end);
                state.close_dual(end);
                state.timeline
            })
            .collect();
        SchedulerGapReport {
            end,
            queues: timelines,
        }
    }
}

impl EventSink for SchedulerGaps {
    /// Scheduler starts and deaths, kills, and the lock events: about one event in twenty.
    fn kinds(&self) -> Option<KindFilter> {
        Some(|kind| {
            matches!(
                kind,
                EventKind::SchedulerStarted { .. }
                    | EventKind::SchedulerDied { .. }
                    | EventKind::ProcessKilled
            ) || kind.lock_view().is_some()
        })
    }

    fn on_event(&mut self, event: &Event) {
        match &event.kind {
            EventKind::SchedulerStarted { scheduler } => {
                self.scheduler_alive(event.time, scheduler);
            }
            EventKind::SchedulerDied { scheduler, .. } => {
                self.forget_scheduler(event.time, scheduler);
            }
            EventKind::ProcessKilled => {
                let Some(process) = &event.process else {
                    return;
                };
                if let Some(scheduler) = self.scheduler_of_process.remove(process) {
                    self.forget_scheduler(event.time, &scheduler);
                }
            }
            kind => {
                let (Some(lock), Some(queue)) = (kind.lock_view(), &event.queue) else {
                    return;
                };
                if let Some(process) = &event.process {
                    self.scheduler_of_process
                        .insert(process.clone(), lock.scheduler.clone());
                }
                if lock.believes_held {
                    // Its process emitted this event: it is alive (a worker taking the lock
                    // for its scheduler, or a `--burst` worker's own pass).
                    self.scheduler_alive(event.time, &lock.scheduler);
                }
                let state = queue_state(&mut self.queues, queue, event.time);
                state.set_holder(event.time, lock.redis_holder.as_deref(), &self.live);
                state.set_belief(event.time, &lock.scheduler, lock.believes_held);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::LockView;

    fn lock_event(time_s: u64, scheduler: &str, believes: bool, holder: Option<&str>) -> Event {
        let lock = LockView {
            scheduler: Name::from(scheduler),
            believes_held: believes,
            redis_holder: holder.map(Name::from),
        };
        Event {
            time: SimTime::from_secs(time_s),
            seq: 0,
            pod: None,
            process: Some(Name::from(format!("proc-{scheduler}"))),
            queue: Some(Name::from("default")),
            job: None,
            attempt: None,
            kind: EventKind::LockRefreshed { lock },
        }
    }

    #[test]
    fn holder_changes_become_intervals_and_the_longest_gap_is_found() {
        let mut gaps = SchedulerGaps::new();
        gaps.observe_lock(SimTime::from_secs(0), "default", None);
        gaps.observe_lock(SimTime::from_secs(5), "default", Some("s1"));
        gaps.observe_lock(SimTime::from_secs(6), "default", Some("s1"));
        gaps.observe_lock(SimTime::from_secs(100), "default", None);
        gaps.observe_lock(SimTime::from_secs(400), "default", Some("s2"));
        let report = gaps.finish(SimTime::from_secs(500));
        let timeline = &report.queues[0];
        let spans: Vec<(Option<&str>, u64, u64)> = timeline
            .intervals
            .iter()
            .map(|i| {
                (
                    i.holder.as_deref(),
                    i.start.as_micros() / 1_000_000,
                    i.end.as_micros() / 1_000_000,
                )
            })
            .collect();
        let expected = [
            (None, 0, 5),
            (Some("s1"), 5, 100),
            (None, 100, 400),
            (Some("s2"), 400, 500),
        ];
        assert_eq!(spans, expected);
        assert_eq!(
            report.longest_lock_absent(),
            Some(SimDuration::from_secs(300))
        );
        assert_eq!(
            timeline.longest_lock_absent_start,
            Some(SimTime::from_secs(100))
        );
        // Nobody was seen alive: from the first observation, no live scheduler held it.
        assert_eq!(report.longest_gap(), Some(SimDuration::from_secs(500)));
    }

    #[test]
    fn two_believers_make_a_dual_period_until_one_is_killed() {
        let mut gaps = SchedulerGaps::new();
        gaps.on_event(&lock_event(10, "s1", true, Some("s1")));
        gaps.on_event(&lock_event(80, "s2", true, Some("s2")));
        gaps.on_event(&lock_event(81, "s1", true, Some("s2")));
        let kill = Event {
            kind: EventKind::ProcessKilled,
            time: SimTime::from_secs(95),
            queue: None,
            ..lock_event(95, "s1", false, None)
        };
        gaps.on_event(&kill);
        let report = gaps.finish(SimTime::from_secs(120));
        let timeline = &report.queues[0];
        assert_eq!(timeline.dual_periods.len(), 1);
        let period = &timeline.dual_periods[0];
        assert_eq!(
            (period.start, period.end),
            (SimTime::from_secs(80), SimTime::from_secs(95))
        );
        let names: Vec<&str> = period.schedulers.iter().map(|n| &**n).collect();
        assert_eq!(names, ["s1", "s2"]);
        assert_eq!(report.dual_total(), SimDuration::from_secs(15));
    }

    #[test]
    fn a_queue_never_held_is_one_gap_to_the_end() {
        let mut gaps = SchedulerGaps::new();
        gaps.observe_lock(SimTime::from_secs(0), "low", None);
        let report = gaps.finish(SimTime::from_secs(60));
        assert_eq!(report.longest_gap(), Some(SimDuration::from_secs(60)));
        assert_eq!(
            report.longest_lock_absent(),
            Some(SimDuration::from_secs(60))
        );
        assert_eq!(report.dual_total(), SimDuration::ZERO);
    }

    #[test]
    fn no_followed_queue_means_no_gap_at_all() {
        let report = SchedulerGaps::new().finish(SimTime::from_secs(60));
        assert_eq!(report.longest_gap(), None);
        assert_eq!(report.longest_lock_absent(), None);
    }

    /// The holder is SIGKILLed at 100 s; its key lives until 150 s (the TTL), and a standby
    /// takes over at 170 s. The key was absent 20 s; no live scheduler held it for 70 s.
    #[test]
    fn a_killed_holder_leaves_a_gap_that_starts_at_the_kill_not_at_the_expiry() {
        let mut gaps = SchedulerGaps::new();
        gaps.observe_lock(SimTime::from_secs(0), "default", None);
        gaps.on_event(&lock_event(10, "s1", true, Some("s1")));
        let kill = Event {
            kind: EventKind::ProcessKilled,
            queue: None,
            ..lock_event(100, "s1", false, None)
        };
        gaps.on_event(&kill);
        gaps.observe_lock(SimTime::from_secs(150), "default", None);
        gaps.on_event(&lock_event(170, "s2", true, Some("s2")));
        let report = gaps.finish(SimTime::from_secs(300));
        let timeline = &report.queues[0];
        assert_eq!(
            report.longest_lock_absent(),
            Some(SimDuration::from_secs(20))
        );
        assert_eq!(report.longest_gap(), Some(SimDuration::from_secs(70)));
        assert_eq!(timeline.longest_gap_start, Some(SimTime::from_secs(100)));
    }

    /// A paused holder still counts as live: a pause within the TTL is no gap.
    #[test]
    fn a_live_holder_is_no_gap_and_a_scheduler_started_event_marks_it_live() {
        let mut gaps = SchedulerGaps::new();
        gaps.observe_lock(SimTime::from_secs(0), "default", Some("s1"));
        let started = Event {
            kind: EventKind::SchedulerStarted {
                scheduler: Name::from("s1"),
            },
            queue: None,
            ..lock_event(4, "s1", false, None)
        };
        gaps.on_event(&started);
        gaps.observe_lock(SimTime::from_secs(50), "default", Some("s1"));
        let report = gaps.finish(SimTime::from_secs(100));
        assert_eq!(report.longest_gap(), Some(SimDuration::from_secs(4)));
        assert_eq!(report.longest_lock_absent(), Some(SimDuration::ZERO));
    }
}
