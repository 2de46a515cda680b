//! Shutdown of a busy worker (rq-semantics §6.1, §6.2) on the RQ model: a warm stop lets the
//! job finish and releases the scheduler lock within about a second; a second signal more
//! than 1 s later kills the horse and leaves the job to the abandoned-job cleaner.
//!
//! What to look at: `lock_released`, `process_killed`, `worker_died` of worker-a, and the
//! job's state in Redis afterwards.

mod common;

use common::*;
use simrq::event::EventKind;
use simrq::harness::{Harness, HarnessConfig};
use simrq::rq::Role;
use simrq::sim::Signal;

/// worker-a (`--with-scheduler`) runs a 60 s job from ~1 s; worker-b (no scheduler) idles.
/// SIGTERM reaches worker-a at each of `signals_s`.
fn busy_worker_signalled(signals_s: &[f64]) -> Harness {
    let harness = Harness::new(HarnessConfig::default(), vec![long_class("long", 60, None)]);
    let (host_a, host_b) = (harness.add_host(), harness.add_host());
    harness.start_worker("worker-a", host_a, &["default"], true);
    harness.run_until(at(1.0));
    harness.enqueue("long");
    harness.run_until(at(2.0));
    harness.start_worker("worker-b", host_b, &["default"], false);
    let worker_a = process(&harness, "worker-a", Role::Worker);
    for signal_s in signals_s {
        harness.run_until(at(*signal_s));
        harness.signal(&worker_a, Signal::Term);
    }
    harness
}

/// §6.1: warm shutdown of a busy worker. The scheduler is stopped at once and its lock
/// released within 1 s; the job runs to completion (finished at ~61 s) and the worker
/// leaves after it.
#[test]
fn warm_shutdown_of_a_busy_worker_finishes_the_job_and_releases_the_lock_within_a_second() {
    let harness = busy_worker_signalled(&[10.0]);
    harness.run_until(at(11.05));
    assert_eq!(lock_value(&harness), None);
    let released = pod_events(&harness, "lock_released", "worker-a");
    assert_eq!(released.len(), 1);
    let after_s = secs(released[0].time) - 10.0;
    assert!(after_s <= 1.05, "released {after_s} s after SIGTERM");
    harness.run_until(at(120.0));

    let finished = job_events(&harness, "job_finished", "j1");
    assert_eq!(finished.len(), 1);
    assert_eq!(finished[0].pod.as_deref(), Some("worker-a"));
    assert!((61.0..61.1).contains(&secs(finished[0].time)));
    assert_eq!(job_events(&harness, "job_started", "j1").len(), 1);
    let died = pod_events(&harness, "worker_died", "worker-a");
    assert_eq!(died.len(), 1);
    assert!(secs(died[0].time) >= secs(finished[0].time));
    assert!(harness.processes("worker-a", Role::Worker).is_empty());
    assert_eq!(
        hash_field(&harness, "rq:job:j1", "status").as_deref(),
        Some("finished")
    );
    assert!(hash_field(&harness, "rq:worker:worker-a.w1", "death").is_some());
}

/// §6.2: a second SIGTERM within 1 s of the first is ignored: the job still finishes.
#[test]
fn second_signal_within_a_second_is_ignored() {
    let harness = busy_worker_signalled(&[10.0, 10.5]);
    harness.run_until(at(120.0));
    assert!(harness.events_of("process_killed").is_empty());
    assert_eq!(job_events(&harness, "job_finished", "j1").len(), 1);
    assert_eq!(
        hash_field(&harness, "rq:job:j1", "status").as_deref(),
        Some("finished")
    );
}

/// §6.2, §5.3: a second SIGTERM 5 s after the first kills the horse and the worker exits;
/// the job stays `started` with its wip entry (score ≤ last heartbeat + 90 s), and worker-b's
/// next maintenance run (810 s after its start) moves it to FailedJobRegistry.
#[test]
fn cold_shutdown_abandons_the_job_to_the_cleaner() {
    let harness = busy_worker_signalled(&[10.0, 15.0]);
    harness.run_until(at(16.0));
    let killed = job_events(&harness, "process_killed", "j1");
    assert_eq!(killed.len(), 1);
    assert!((15.0..15.01).contains(&secs(killed[0].time)));
    assert!(harness.processes("worker-a", Role::Worker).is_empty());
    assert!(harness.processes("worker-a", Role::Horse).is_empty());
    assert_eq!(
        hash_field(&harness, "rq:job:j1", "status").as_deref(),
        Some("started")
    );
    let wip = zset_members(&harness, "rq:wip:default");
    assert_eq!(wip.len(), 1);
    assert!(wip[0].starts_with("j1:"));
    harness.run_until(at(1_000.0));

    assert!(job_events(&harness, "job_finished", "j1").is_empty());
    let moved = job_events(&harness, "job_moved_to_failed", "j1");
    assert_eq!(moved.len(), 1);
    assert_eq!(moved[0].pod.as_deref(), Some("worker-b"));
    assert_eq!(
        moved[0].kind,
        EventKind::JobMovedToFailed {
            reason: "AbandonedJobError".into()
        }
    );
    let runs = maintenance_times(&harness, "worker-b");
    assert!(
        (runs[1] - 0.1..=runs[1]).contains(&secs(moved[0].time)),
        "{runs:?}"
    );
    assert!((812.0..812.1).contains(&runs[1]), "{runs:?}");
    assert_eq!(
        hash_field(&harness, "rq:job:j1", "status").as_deref(),
        Some("failed")
    );
    assert_eq!(job_events(&harness, "job_started", "j1").len(), 1);
}
