//! The races of rq-semantics §9 reproduced on the RQ model, each with exact counts: R1 (two
//! schedulers enqueue one job) and its what-if fixes, R2 (abandoned while running), R3 (a
//! successful job re-run after a Redis error), R4 (interval retry committed half-way) and
//! R15 (idle warm shutdown swallows a job).
//!
//! What to look at: `job_started` per job (its `attempt` column), who enqueued it, and where
//! the id sits in Redis at the end.

mod common;

use common::*;
use simrq::event::{EventKind, EPOCH_UNIX_S};
use simrq::harness::{Harness, HarnessConfig};
use simrq::net::{LinkFault, Verdict};
use simrq::rq::{JobClass, Outcome, Role, WhatIf};
use simrq::sim::{SimDuration, Signal};

fn quick_class() -> JobClass {
    JobClass::simple("quick", "default", SimDuration::from_millis(100))
}

// ----- R1 --------------------------------------------------------------------------------

/// worker-a's scheduler holds the lock; j1 is due at 31 s. The kernel is stepped until the
/// scheduler's first tick at or after 31 s has sent its read of the due ids (and, with
/// `atomic_enqueue`, the WATCH before it) and Redis has answered; the scheduler is then
/// SIGSTOPped for 70 s. worker-b starts 65 s into the pause (the lock has expired), acquires
/// at start-up and enqueues j1 at once; then worker-a's scheduler is resumed.
fn scheduler_paused_between_read_and_enqueue(what_if: WhatIf) -> Harness {
    let mut config = HarnessConfig::default();
    config.params.what_if = what_if;
    let harness = Harness::new(config, vec![quick_class()]);
    let (host_a, host_b) = (harness.add_host(), harness.add_host());
    harness.start_worker("worker-a", host_a, &["default"], true);
    harness.run_until(at(1.0));
    harness.enqueue_in("quick", 30);
    harness.run_until(at(30.5));
    let due = job_events(&harness, "job_scheduled", "j1");
    assert_eq!(due[0].kind, EventKind::JobScheduled { due_unix_s: EPOCH_UNIX_S + 31 });
    step_until(&harness, SimDuration::from_secs(2), |h| {
        pod_events(h, "lock_refreshed", "worker-a")
            .last()
            .is_some_and(|e| secs(e.time) >= 31.0)
    });
    // The read went out in the same poll as the heartbeat's reply; wait until Redis has run
    // it (only this scheduler talks to Redis now: the worker blocks in BLMOVE).
    let commands_before = harness.network.commands_executed();
    let reads = if what_if.atomic_enqueue { 2 } else { 1 };
    step_until(&harness, SimDuration::from_secs(1), |h| {
        h.network.commands_executed() >= commands_before + reads
    });
    let scheduler_a = process(&harness, "worker-a", Role::Scheduler);
    harness.signal(&scheduler_a, Signal::Stop);
    let paused_s = secs(harness.now());
    assert_eq!(zset_members(&harness, "rq:scheduled:default"), ["j1"]);
    harness.run_until(at(paused_s + 65.0));
    assert_eq!(lock_value(&harness), None);
    harness.start_worker("worker-b", host_b, &["default"], true);
    harness.run_until(at(paused_s + 70.0));
    harness.signal(&scheduler_a, Signal::Cont);
    harness.run_until(at(paused_s + 100.0));
    harness
}

/// §9 R1, §4.5: the resumed scheduler fetches j1 and pushes it again although worker-b's
/// scheduler holds the lock and already enqueued it: j1 runs twice. Its next heartbeat then
/// finds the lock taken (§4.4).
#[test]
fn r1_scheduler_paused_past_the_ttl_between_read_and_enqueue_runs_a_job_twice() {
    let harness = scheduler_paused_between_read_and_enqueue(WhatIf::default());
    let enqueues = scheduler_enqueues(&harness, "j1");
    let pods: Vec<&str> = enqueues.iter().map(|(_, pod)| pod.as_str()).collect();
    assert_eq!(pods, ["worker-b", "worker-a"], "{enqueues:?}");
    assert_eq!(job_events(&harness, "job_started", "j1").len(), 2);
    assert_eq!(job_events(&harness, "job_finished", "j1").len(), 2);
    let ticks = pod_events(&harness, "scheduler_tick", "worker-a");
    let stale = ticks.last().expect("worker-a's resumed tick");
    match &stale.kind {
        EventKind::SchedulerTick { moved, lock } => {
            assert_eq!(*moved, 1);
            assert!(lock.believes_held);
            assert_ne!(lock.redis_holder.as_deref(), Some(&*lock.scheduler));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(pod_events(&harness, "lock_lost", "worker-a").len(), 1);
    assert!(list(&harness, "rq:queue:default").is_empty());
    assert!(zset_members(&harness, "rq:scheduled:default").is_empty());
}

/// What-if `fenced_enqueue`: the resumed scheduler checks the lock before its enqueue
/// transaction, finds worker-b's name and drops the queue: j1 runs once.
#[test]
fn r1_fenced_enqueue_runs_the_job_once() {
    let what_if = WhatIf {
        fenced_enqueue: true,
        ..WhatIf::default()
    };
    let harness = scheduler_paused_between_read_and_enqueue(what_if);
    let enqueues = scheduler_enqueues(&harness, "j1");
    assert_eq!(enqueues.len(), 1);
    assert_eq!(enqueues[0].1, "worker-b");
    assert_eq!(job_events(&harness, "job_started", "j1").len(), 1);
    assert_eq!(pod_events(&harness, "lock_lost", "worker-a").len(), 1);
    assert!(pod_events(&harness, "scheduler_tick", "worker-a").is_empty());
}

/// What-if `atomic_enqueue`: the resumed scheduler's transaction fails on its WATCH of the
/// scheduled registry (worker-b's scheduler removed j1 from it): j1 runs once.
#[test]
fn r1_atomic_enqueue_runs_the_job_once() {
    let what_if = WhatIf {
        atomic_enqueue: true,
        ..WhatIf::default()
    };
    let harness = scheduler_paused_between_read_and_enqueue(what_if);
    let enqueues = scheduler_enqueues(&harness, "j1");
    assert_eq!(enqueues.len(), 1);
    assert_eq!(enqueues[0].1, "worker-b");
    assert_eq!(job_events(&harness, "job_started", "j1").len(), 1);
    assert!(pod_events(&harness, "scheduler_tick", "worker-a").is_empty());
    assert_eq!(pod_events(&harness, "lock_lost", "worker-a").len(), 1);
}
