//! `rq worker --burst` on the RQ model (rq-semantics §1 "Which dequeue command", §4.1): pops
//! without blocking, quits once every queue is empty, and with `--with-scheduler` enqueues the
//! due jobs once in its own process instead of forking a scheduler.
//!
//! Each test has a control: the same world with a long-lived worker, so that a model that
//! ignored `burst` fails.

mod common;

use common::*;
use simrq::event::{Event, EventKind};
use simrq::harness::{Harness, HarnessConfig};
use simrq::rq::{JobClass, Role};
use std::rc::Rc;

use simrq::sim::kernel::ExitCell;
use simrq::sim::{ExitStatus, Pid, SimDuration};

fn quick(name: &str, queue: &str) -> JobClass {
    JobClass::simple(name, queue, SimDuration::from_millis(100))
}

fn world() -> Harness {
    let classes = vec![
        quick("quick", "default"),
        quick("high", "high"),
        quick("low", "low"),
    ];
    Harness::new(HarnessConfig::default(), classes)
}

/// The exit cell of a process just started (the kernel forgets a process once it is gone).
fn exit_of(harness: &Harness, pid: Pid) -> Rc<ExitCell> {
    harness.sim.exit_cell(pid).expect("just started")
}

fn started_queues(harness: &Harness) -> Vec<String> {
    harness
        .events_of("job_started")
        .iter()
        .map(|event: &Event| event.queue.as_deref().unwrap_or("").to_string())
        .collect()
}

/// The name of the scheduler that first took the lock.
fn scheduler_name(harness: &Harness) -> String {
    match &harness.events_of("lock_acquired")[0].kind {
        EventKind::LockAcquired { lock } => lock.scheduler.to_string(),
        other => panic!("{other:?}"),
    }
}

/// §1: one queue, `LMOVE` without blocking: three queued jobs run, then the worker exits 0
/// ("done, quitting") long before a blocking pop's 405 s timeout. The control worker is still
/// waiting on its BLMOVE.
#[test]
fn a_burst_worker_drains_its_queue_and_exits_0() {
    let harness = world();
    for _ in 0..3 {
        harness.enqueue("quick");
    }
    harness.run_until(at(1.0));
    let host = harness.add_host();
    let burst = exit_of(
        &harness,
        harness.start_burst_worker("burst", host, &["default"], false),
    );
    harness.run_until(at(60.0));
    assert_eq!(harness.events_of("job_finished").len(), 3);
    assert_eq!(burst.status(), Some(ExitStatus::Exited(0)));
    assert_eq!(died_reasons(&harness), ["burst: queues empty, quitting"]);
    let died_s = secs(harness.events_of("worker_died")[0].time);
    assert!(
        died_s < 10.0,
        "quit at {died_s} s, not after a blocking pop"
    );
    assert!(list(&harness, "rq:queue:default:intermediate").is_empty());

    let control = world();
    control.enqueue("quick");
    control.run_until(at(1.0));
    let host = control.add_host();
    let worker = exit_of(
        &control,
        control.start_worker("worker", host, &["default"], false),
    );
    control.run_until(at(60.0));
    assert_eq!(control.events_of("job_finished").len(), 1);
    assert_eq!(worker.status(), None, "still blocked in BLMOVE");
    assert!(died_reasons(&control).is_empty());
}

/// §1: several queues, `LPOP` of each in priority order: the high queue's jobs first, then
/// the low queue's, then exit; nothing goes through an intermediate list.
#[test]
fn a_burst_worker_on_several_queues_pops_them_in_priority_order() {
    let harness = world();
    harness.enqueue("low");
    harness.enqueue("high");
    harness.enqueue("low");
    harness.run_until(at(1.0));
    let host = harness.add_host();
    let burst = exit_of(
        &harness,
        harness.start_burst_worker("burst", host, &["high", "low"], false),
    );
    harness.run_until(at(60.0));
    assert_eq!(started_queues(&harness), ["high", "low", "low"]);
    assert_eq!(burst.status(), Some(ExitStatus::Exited(0)));
    assert!(!exists(&harness, "rq:queue:low:intermediate"));
}

/// §4.1: with `--with-scheduler`, a burst worker takes the lock, enqueues the jobs that are
/// already due once, releases the lock and deletes its scheduler hash, all in its own process:
/// no scheduler process is forked. A job due later stays scheduled, and the worker still quits.
#[test]
fn a_burst_worker_with_scheduler_enqueues_due_jobs_once_and_lets_the_lock_go() {
    let harness = world();
    harness.enqueue_in("quick", 1);
    harness.enqueue_in("quick", 600);
    harness.run_until(at(5.0));
    let host = harness.add_host();
    let burst = exit_of(
        &harness,
        harness.start_burst_worker("burst", host, &["default"], true),
    );
    harness.run_until(at(60.0));
    assert_eq!(
        harness.events_of("job_finished").len(),
        1,
        "the due job ran"
    );
    assert_eq!(zset_members(&harness, "rq:scheduled:default").len(), 1);
    assert_eq!(lock_value(&harness), None, "the lock was released");
    assert!(harness.processes("burst", Role::Scheduler).is_empty());
    assert_eq!(harness.events_of("lock_acquired").len(), 1);
    assert_eq!(harness.events_of("lock_released").len(), 1);
    let scheduler = scheduler_name(&harness);
    assert!(
        !exists(&harness, &format!("rq:scheduler:{scheduler}")),
        "register_death"
    );
    assert_eq!(burst.status(), Some(ExitStatus::Exited(0)));

    let control = world();
    control.enqueue_in("quick", 1);
    control.run_until(at(5.0));
    let host = control.add_host();
    control.start_worker("worker", host, &["default"], true);
    control.run_until(at(60.0));
    let scheduler = scheduler_name(&control);
    assert_eq!(lock_value(&control), Some(scheduler.clone()));
    assert!(exists(&control, &format!("rq:scheduler:{scheduler}")));
    assert_eq!(control.processes("worker", Role::Scheduler).len(), 1);
}
