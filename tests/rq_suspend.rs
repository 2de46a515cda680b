//! `rq suspend` / `rq resume` on the RQ model (docs/rq-dependencies-and-operations.md §3.5,
//! `rq/worker/base.py BaseWorker.check_for_suspension`, `rq/suspension.py`): the worker sees
//! the suspension only at the top of its loop, marks itself `suspended`, asks again every
//! second, and on resume writes its state back; a worker blocked in its pop still takes the
//! next job; SIGTERM ends the wait.
//!
//! Each test has a control that differs only by the suspension, so that a model that ignored
//! it fails.

mod common;

use common::*;
use simrq::harness::{Harness, HarnessConfig};
use simrq::rq::{JobClass, Role};
use simrq::sim::{ExitStatus, Signal, SimDuration};

fn world() -> Harness {
    let quick = JobClass::simple("quick", "default", SimDuration::from_millis(100));
    Harness::new(HarnessConfig::default(), vec![quick])
}

/// A worker that has run one job and waits in BLMOVE; `rq suspend` at 5 s. The job pushed at
/// 10 s is still taken (the pop does not check), then the loop's top finds `rq:suspended`:
/// state `suspended`, and the job pushed at 20 s waits until `rq resume` at 40 s, after which
/// it runs and the state is written back.
#[test]
fn a_waiting_worker_takes_one_more_job_then_waits_for_resume() {
    let run = |suspend: bool| {
        let harness = world();
        let host = harness.add_host();
        harness.start_worker("worker", host, &["default"], false);
        harness.enqueue("quick");
        harness.run_until(at(5.0));
        if suspend {
            harness.suspend(None);
        }
        harness.run_until(at(10.0));
        harness.enqueue("quick");
        harness.run_until(at(20.0));
        harness.enqueue("quick");
        harness.run_until(at(30.0));
        let worker = process(&harness, "worker", Role::Worker).name;
        let state_while = hash_field(&harness, &format!("rq:worker:{worker}"), "state");
        if suspend {
            harness.resume();
        }
        harness.run_until(at(40.0));
        let state_after = hash_field(&harness, &format!("rq:worker:{worker}"), "state");
        let starts: Vec<f64> = harness
            .events_of("job_started")
            .iter()
            .map(|e| secs(e.time))
            .collect();
        (starts, state_while, state_after)
    };
    let (starts, state_while, state_after) = run(true);
    assert_eq!(starts.len(), 3, "{starts:?}");
    assert!(
        (10.0..11.0).contains(&starts[1]),
        "taken from the pop: {starts:?}"
    );
    assert!(
        (30.0..32.0).contains(&starts[2]),
        "after resume: {starts:?}"
    );
    assert_eq!(state_while.as_deref(), Some("suspended"));
    assert_ne!(state_after.as_deref(), Some("suspended"));

    let (starts, state_while, _) = run(false);
    assert!((20.0..21.0).contains(&starts[2]), "{starts:?}");
    assert_ne!(state_while.as_deref(), Some("suspended"));
}

/// SIGTERM to a suspended worker: `request_stop` sees state `suspended`, not busy, so the
/// worker stops at once (exit 0); without the signal it keeps waiting.
#[test]
fn sigterm_ends_the_suspension_wait() {
    let run = |signal: bool| {
        let harness = world();
        let host = harness.add_host();
        let pid = harness.start_worker("worker", host, &["default"], false);
        let exit = harness.sim.exit_cell(pid).expect("just started");
        harness.run_until(at(2.0));
        harness.suspend(None);
        harness.run_until(at(3.0));
        harness.enqueue("quick");
        harness.run_until(at(10.0));
        let worker = process(&harness, "worker", Role::Worker);
        let state = hash_field(&harness, &format!("rq:worker:{}", worker.name), "state");
        assert_eq!(state.as_deref(), Some("suspended"));
        if signal {
            harness.signal(&worker, Signal::Term);
        }
        harness.run_until(at(12.0));
        exit.status()
    };
    assert_eq!(run(true), Some(ExitStatus::Exited(0)));
    assert_eq!(run(false), None, "still waiting for rq resume");
}

/// The CLI checks `rq:suspended` before it builds the worker: a worker started while the
/// system is suspended exits 1; started after `rq resume`, it runs.
#[test]
fn a_worker_started_while_suspended_exits_1() {
    let run = |resume: bool| {
        let harness = world();
        harness.suspend(None);
        harness.run_until(at(1.0));
        if resume {
            harness.resume();
            harness.run_until(at(2.0));
        }
        let host = harness.add_host();
        let pid = harness.start_worker("worker", host, &["default"], false);
        let exit = harness.sim.exit_cell(pid).expect("just started");
        harness.run_until(at(5.0));
        exit.status()
    };
    assert_eq!(run(false), Some(ExitStatus::Exited(1)));
    assert_eq!(run(true), None);
}
