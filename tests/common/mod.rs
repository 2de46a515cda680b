//! Helpers shared by the scripted RQ scenarios: reading the event stream and Redis, and
//! stepping the kernel up to a precise instant.

#![allow(dead_code)]

use simrq::event::{EnqueueSource, Event, EventKind};
use simrq::harness::Harness;
use simrq::rq::{JobClass, ProcessInfo, Role};
use simrq::sim::{SimDuration, SimTime};

/// A job class on `default` taking `duration_s`, with a timeout of an hour so that the
/// heartbeat TTL is the plain 90 s.
pub fn long_class(name: &str, duration_s: u64, retry_max: Option<i64>) -> JobClass {
    let mut class = JobClass::simple(name, "default", SimDuration::from_secs(duration_s));
    class.job_timeout_s = Some(3_600);
    class.retry_max = retry_max;
    class
}

/// Seconds since the start of the run.
pub fn secs(time: SimTime) -> f64 {
    time.as_secs_f64()
}

pub fn at(seconds: f64) -> SimTime {
    SimTime((seconds * 1e6).round() as u64)
}

/// Events of `kind` emitted by processes of `pod`.
pub fn pod_events(harness: &Harness, kind: &str, pod: &str) -> Vec<Event> {
    harness
        .events_of(kind)
        .into_iter()
        .filter(|e| e.pod.as_deref() == Some(pod))
        .collect()
}

/// Events of `kind` about `job`.
pub fn job_events(harness: &Harness, kind: &str, job: &str) -> Vec<Event> {
    harness
        .events_of(kind)
        .into_iter()
        .filter(|e| e.job.is_some_and(|id| id.to_string() == job))
        .collect()
}

/// Times (s) of the `maintenance` events of `pod`.
pub fn maintenance_times(harness: &Harness, pod: &str) -> Vec<f64> {
    pod_events(harness, "maintenance", pod)
        .iter()
        .map(|e| secs(e.time))
        .collect()
}

/// Scheduler enqueues of `job`, as (time s, pod).
pub fn scheduler_enqueues(harness: &Harness, job: &str) -> Vec<(f64, String)> {
    job_events(harness, "job_enqueued", job)
        .iter()
        .filter(|e| {
            matches!(
                e.kind,
                EventKind::JobEnqueued {
                    source: EnqueueSource::Scheduler,
                    ..
                }
            )
        })
        .map(|e| (secs(e.time), e.pod.as_deref().unwrap_or("-").to_string()))
        .collect()
}

pub fn hash_field(harness: &Harness, key: &str, field: &str) -> Option<String> {
    harness.redis(|server, now| server.peek_hash_field(now, key, field))
}

pub fn list(harness: &Harness, key: &str) -> Vec<String> {
    harness.redis(|server, now| server.peek_list(now, key))
}

pub fn zset_members(harness: &Harness, key: &str) -> Vec<String> {
    harness.redis(|server, now| {
        server
            .peek_zset(now, key)
            .into_iter()
            .map(|(member, _)| member)
            .collect()
    })
}

pub fn exists(harness: &Harness, key: &str) -> bool {
    harness.redis(|server, now| server.peek_exists(now, key))
}

pub fn lock_value(harness: &Harness) -> Option<String> {
    harness.redis(|server, now| server.peek_string(now, "rq:scheduler-lock:default"))
}

/// The one live process of `role` on `pod`.
pub fn process(harness: &Harness, pod: &str, role: Role) -> ProcessInfo {
    let mut found = harness.processes(pod, role);
    assert_eq!(found.len(), 1, "{role:?} processes on {pod}");
    found.remove(0)
}

/// Steps the kernel until `done` holds, failing after `limit` of virtual time.
pub fn step_until(harness: &Harness, limit: SimDuration, mut done: impl FnMut(&Harness) -> bool) {
    let deadline = harness.now() + limit;
    while !done(harness) {
        assert!(harness.now() <= deadline, "condition not reached in time");
        assert!(harness.sim.step(), "the simulation ran dry");
    }
}

/// Number of events recorded so far of `kind` from `pod`.
pub fn count_pod_events(harness: &Harness, kind: &str, pod: &str) -> usize {
    pod_events(harness, kind, pod).len()
}

/// The reasons of the `worker_died` events so far, in order.
pub fn died_reasons(harness: &Harness) -> Vec<String> {
    harness
        .events_of("worker_died")
        .into_iter()
        .filter_map(|event| match event.kind {
            EventKind::WorkerDied { reason, .. } => Some(reason),
            _ => None,
        })
        .collect()
}

/// `(command, action)` of the `command_received` events: what each worker did with a pubsub
/// command.
pub fn command_actions(harness: &Harness) -> Vec<(String, String)> {
    harness
        .events_of("command_received")
        .into_iter()
        .filter_map(|event| match event.kind {
            EventKind::CommandReceived { command, action } => {
                Some((command.to_string(), action.to_string()))
            }
            _ => None,
        })
        .collect()
}
