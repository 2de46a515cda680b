//! Recent events, kept so that a violation can show how it came about.
//!
//! Two bounded stores: a global ring of the last [`GLOBAL_EVENTS`] events, and for each job
//! that is not yet terminal its last [`TIMELINE_LEN`] events that have left the ring. A job's
//! store is dropped when it finishes or is moved to failed, so memory depends on the jobs in
//! flight, not on the simulated duration. Events are kept as values, each once (an event
//! moves from the ring to its job's store), and formatted only when a violation needs them.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use crate::event::{Event, EventKind, JobId, Name};

use crate::jobs::JobTable;

/// Events shown in one violation's timeline, at most.
pub const TIMELINE_LEN: usize = 12;
/// Events the global ring keeps.
pub const GLOBAL_EVENTS: usize = 256;

/// The bounded history of the event stream.
#[derive(Default)]
pub struct History {
    recent: VecDeque<Event>,
    by_job: JobTable<JobEvents>,
}

/// What is kept of one job that is not terminal, beside its events still in the ring.
#[derive(Default)]
struct JobEvents {
    /// The `seq` of the job's first event since it was last terminal: its older events
    /// belong to a life that has ended, and are not kept.
    since_seq: u64,
    /// Its last [`TIMELINE_LEN`] events from `since_seq` on that have left the ring. Most
    /// jobs end before any does, so most never allocate this.
    left_the_ring: VecDeque<Event>,
}

impl History {
    pub fn record(&mut self, event: &Event) {
        if self.recent.len() == GLOBAL_EVENTS {
            let oldest = self.recent.pop_front().expect("the ring is full");
            self.keep_for_its_job(oldest);
        }
        self.recent.push_back(event.clone());
        let Some(job) = event.job else { return };
        if is_terminal(&event.kind) {
            self.by_job.remove(job);
            return;
        }
        let since_seq = event.seq;
        let first_event = || {
            Some(JobEvents {
                since_seq,
                left_the_ring: VecDeque::new(),
            })
        };
        self.by_job.get_or_try_insert_with(job, first_event);
    }

    /// An event leaving the ring moves to its job's store if the job is not terminal and the
    /// event is from the job's current life.
    fn keep_for_its_job(&mut self, event: Event) {
        let Some(job) = event.job else { return };
        let Some(store) = self.by_job.get_mut(job) else {
            return;
        };
        if event.seq < store.since_seq {
            return;
        }
        let events = &mut store.left_the_ring;
        if events.capacity() == 0 {
            events.reserve_exact(TIMELINE_LEN);
        }
        if events.len() == TIMELINE_LEN {
            events.pop_front();
        }
        events.push_back(event);
    }

    /// The last [`TIMELINE_LEN`] events that involve `job`, or that concern `queue` without
    /// naming a job (locks, scheduler ticks), or that one of `processes` emitted; oldest first,
    /// one line each (`time_s kind process detail`).
    pub fn timeline(
        &self,
        job: Option<JobId>,
        queue: Option<&str>,
        processes: &[Name],
    ) -> Vec<String> {
        let involves = |event: &Event| {
            let same_job = job.is_some() && event.job == job;
            let same_queue =
                event.job.is_none() && queue.is_some() && event.queue.as_deref() == queue;
            let same_process = event
                .process
                .as_ref()
                .is_some_and(|p| processes.contains(p));
            same_job || same_queue || same_process
        };
        let mut picked: Vec<&Event> = self.recent.iter().filter(|e| involves(e)).collect();
        // The ring holds a job's newest events and its store the ones before them, so the
        // two hold its last TIMELINE_LEN events since it was last terminal.
        if let Some(store) = job.and_then(|job| self.by_job.get(job)) {
            picked.extend(store.left_the_ring.iter());
        }
        picked.sort_by_key(|event| event.seq);
        picked.dedup_by_key(|event| event.seq);
        let skip = picked.len().saturating_sub(TIMELINE_LEN);
        picked[skip..]
            .iter()
            .map(|event| format_line(event))
            .collect()
    }

    /// Jobs whose own history is currently held (those not terminal).
    pub fn jobs_held(&self) -> usize {
        self.by_job.len()
    }
}

/// `job_finished` and `job_moved_to_failed` end a job's life in the normal course.
#[inline]
pub fn is_terminal(kind: &EventKind) -> bool {
    matches!(
        kind,
        EventKind::JobFinished
            | EventKind::JobMovedToFailed { .. }
            | EventKind::JobCanceled
            | EventKind::JobDeleted
    )
}

/// One timeline line: `time_s kind process detail`, where the detail starts with the job and
/// its attempt when the event has them.
pub fn format_line(event: &Event) -> String {
    let process = event.process.as_deref().unwrap_or("-");
    let mut line = format!("{} {} {}", event.time, event.kind.name(), process);
    if let Some(job) = &event.job {
        line.push_str(&format!(" job={job}"));
        if let Some(attempt) = event.attempt {
            line.push_str(&format!(" attempt={attempt}"));
        }
    }
    if let Some(queue) = &event.queue {
        line.push_str(&format!(" queue={queue}"));
    }
    let detail = event.kind.to_string();
    if !detail.is_empty() {
        line.push(' ');
        line.push_str(&detail);
    }
    line
}

/// A checker's handle on the history: either its own (it records every event it sees) or one
/// shared by all the checkers of a [`super::Checkers`], which records each event once.
#[derive(Clone)]
pub struct Timeline {
    history: Rc<RefCell<History>>,
    records: bool,
}

impl Timeline {
    /// A private history, for a checker used on its own.
    pub fn own() -> Timeline {
        Timeline {
            history: Rc::new(RefCell::new(History::default())),
            records: true,
        }
    }

    /// A view of a history that someone else records into.
    pub fn shared(history: &Rc<RefCell<History>>) -> Timeline {
        Timeline {
            history: history.clone(),
            records: false,
        }
    }

    /// Call first in `on_event`, so that the event being judged is in its own timeline.
    #[inline]
    pub fn observe(&self, event: &Event) {
        if self.records {
            self.history.borrow_mut().record(event);
        }
    }

    pub fn lines(
        &self,
        job: Option<JobId>,
        queue: Option<&str>,
        processes: &[Name],
    ) -> Vec<String> {
        self.history.borrow().timeline(job, queue, processes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::SimTime;

    fn event(seq: u64, job: Option<JobId>, kind: EventKind) -> Event {
        Event {
            time: SimTime::from_secs(seq),
            seq,
            pod: None,
            process: Some(Name::from("w1")),
            queue: Some(Name::from("default")),
            job,
            attempt: None,
            kind,
        }
    }

    #[test]
    fn timelines_are_bounded_and_name_each_event() {
        let mut history = History::default();
        for seq in 0..40 {
            history.record(&event(seq, Some(JobId(1)), EventKind::JobDequeued));
        }
        let lines = history.timeline(Some(JobId(1)), None, &[]);
        assert_eq!(lines.len(), TIMELINE_LEN);
        assert_eq!(
            lines.last().unwrap(),
            "39.000000 job_dequeued w1 job=j1 queue=default"
        );
    }

    #[test]
    fn a_terminal_job_drops_its_own_history_and_the_ring_stays_bounded() {
        let mut history = History::default();
        for number in 0..1000 {
            let job = Some(JobId(number));
            history.record(&event(2 * number, job, EventKind::JobDequeued));
            history.record(&event(2 * number + 1, job, EventKind::JobFinished));
        }
        assert_eq!(history.jobs_held(), 0);
        assert_eq!(history.recent.len(), GLOBAL_EVENTS);
    }

    /// The history as it was first written: every event copied into the ring and, for a job
    /// not terminal, into the job's own store of its last TIMELINE_LEN events.
    #[derive(Default)]
    struct CopyingHistory {
        recent: VecDeque<Event>,
        by_job: JobTable<VecDeque<Event>>,
    }

    impl CopyingHistory {
        fn record(&mut self, event: &Event) {
            if self.recent.len() == GLOBAL_EVENTS {
                self.recent.pop_front();
            }
            self.recent.push_back(event.clone());
            let Some(job) = event.job else { return };
            if is_terminal(&event.kind) {
                self.by_job.remove(job);
                return;
            }
            let events = self.by_job.entry(job);
            if events.len() == TIMELINE_LEN {
                events.pop_front();
            }
            events.push_back(event.clone());
        }

        fn timeline(&self, job: JobId) -> Vec<String> {
            let mut picked: Vec<&Event> =
                self.recent.iter().filter(|e| e.job == Some(job)).collect();
            picked.extend(self.by_job.get(job).into_iter().flatten());
            picked.sort_by_key(|event| event.seq);
            picked.dedup_by_key(|event| event.seq);
            let skip = picked.len().saturating_sub(TIMELINE_LEN);
            picked[skip..].iter().map(|e| format_line(e)).collect()
        }
    }

    /// Moving events out of the ring instead of copying them shows the same timelines, for
    /// jobs with long lives, short ones, and lives that resume after a terminal event.
    #[test]
    fn timelines_match_the_copying_history() {
        let (mut moving, mut copying) = (History::default(), CopyingHistory::default());
        let mut state = 7u64;
        for seq in 0..20_000 {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            let draw = state >> 33;
            let job = (draw % 5 != 0).then_some(JobId(draw % 40));
            let kind = match draw % 23 {
                0 => EventKind::JobFinished,
                1 => EventKind::JobMovedToFailed {
                    reason: "boom".into(),
                },
                _ => EventKind::JobDequeued,
            };
            let event = event(seq, job, kind);
            moving.record(&event);
            copying.record(&event);
            if seq % 97 == 0 {
                for number in 0..40 {
                    let lines = moving.timeline(Some(JobId(number)), None, &[]);
                    let expected = copying.timeline(JobId(number));
                    let same_job = |line: &String| line.contains(&format!("job=j{number} "));
                    let lines: Vec<String> = lines.into_iter().filter(same_job).collect();
                    let expected: Vec<String> = expected.into_iter().filter(same_job).collect();
                    assert_eq!(lines, expected, "j{number} at seq {seq}");
                }
            }
        }
    }
}
