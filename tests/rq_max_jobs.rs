//! `rq worker --max-jobs N` on the RQ model (docs/rq-dependencies-and-operations.md §2.1,
//! `rq/worker/base.py BaseWorker.work`): the worker counts every executed job, whatever its
//! outcome, after the job and its heartbeat; at N it leaves the loop, tears down and exits 0.
//! Jobs still queued stay queued for the next worker.
//!
//! Each test has a control without `--max-jobs`, so that a model that ignored it fails.

mod common;

use common::*;
use simrq::harness::{Harness, HarnessConfig};
use simrq::rq::JobClass;
use simrq::sim::{ExitStatus, SimDuration};

fn world() -> Harness {
    let mut failing = JobClass::simple("failing", "default", SimDuration::from_millis(100));
    failing.fail_probability = 1.0;
    let quick = JobClass::simple("quick", "default", SimDuration::from_millis(100));
    Harness::new(HarnessConfig::default(), vec![failing, quick])
}

/// Three jobs, the first failing, and `--max-jobs 2`: the failed job counts, the worker quits
/// after the second job with exit 0 and "finished executing 2 jobs", the third stays queued.
/// Without the option the same worker runs all three and keeps waiting.
#[test]
fn a_max_jobs_worker_counts_failed_jobs_and_exits_0_leaving_the_rest_queued() {
    let harness = world();
    harness.enqueue("failing");
    harness.enqueue("quick");
    harness.enqueue("quick");
    harness.run_until(at(1.0));
    let host = harness.add_host();
    let pid = harness.start_max_jobs_worker("worker", host, &["default"], 2);
    let exit = harness.sim.exit_cell(pid).expect("just started");
    harness.run_until(at(60.0));
    assert_eq!(exit.status(), Some(ExitStatus::Exited(0)));
    assert_eq!(
        died_reasons(&harness),
        ["finished executing 2 jobs, quitting"]
    );
    assert_eq!(harness.events_of("job_started").len(), 2);
    assert_eq!(harness.events_of("job_failed").len(), 1);
    assert_eq!(list(&harness, "rq:queue:default").len(), 1, "the third job");

    let control = world();
    control.enqueue("failing");
    control.enqueue("quick");
    control.enqueue("quick");
    control.run_until(at(1.0));
    let host = control.add_host();
    let pid = control.start_worker("worker", host, &["default"], false);
    let exit = control.sim.exit_cell(pid).expect("just started");
    control.run_until(at(60.0));
    assert_eq!(control.events_of("job_started").len(), 3);
    assert_eq!(exit.status(), None, "still waiting for work");
    assert!(died_reasons(&control).is_empty());
}

/// The check comes only after a job: `--max-jobs 0` quits after the first job, as 1 does, and
/// a worker with nothing to do does not quit at all.
#[test]
fn max_jobs_0_behaves_as_1_and_an_idle_worker_never_quits() {
    let harness = world();
    harness.enqueue("quick");
    harness.enqueue("quick");
    harness.run_until(at(1.0));
    let host = harness.add_host();
    harness.start_max_jobs_worker("worker", host, &["default"], 0);
    harness.run_until(at(60.0));
    assert_eq!(harness.events_of("job_started").len(), 1);
    assert_eq!(
        died_reasons(&harness),
        ["finished executing 1 jobs, quitting"]
    );

    let idle = world();
    let host = idle.add_host();
    let pid = idle.start_max_jobs_worker("worker", host, &["default"], 0);
    let exit = idle.sim.exit_cell(pid).expect("just started");
    idle.run_until(at(600.0));
    assert_eq!(exit.status(), None);
    assert!(died_reasons(&idle).is_empty());
}
