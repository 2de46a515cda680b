//! Maintenance (rq-semantics §5) on the RQ model: the idle cadence of 810 s, and abandoned
//! jobs after a pod is killed mid-job (§5.3, §6.3, §11 "Pod killed mid-job").
//!
//! What to look at: the `maintenance` events of each pod and the `job_abandoned` event that
//! one of them produces once the dead worker's wip score has passed.

mod common;

use common::*;
use simrq::event::EventKind;
use simrq::harness::{Harness, HarnessConfig};
use simrq::sim::SimDuration;

/// §5.1: an idle worker runs maintenance at start and then every 810 s (two 405 s BLMOVE
/// timeouts, the first multiple above the 600 s interval), not every 600 s.
#[test]
fn idle_worker_runs_maintenance_every_810_s() {
    let harness = Harness::new(HarnessConfig::default(), vec![]);
    let host = harness.add_host();
    harness.start_worker("worker-0", host, &["default"], false);
    harness.run_for(SimDuration::from_secs(4 * 3_600));
    let times = maintenance_times(&harness, "worker-0");
    // 0, 810, …, 14 580 s: 18 runs in 4 h.
    assert_eq!(times.len(), 18, "{times:?}");
    assert!(times[0] < 0.01, "first run at start: {}", times[0]);
    for pair in times.windows(2) {
        let gap = pair[1] - pair[0];
        assert!((810.0..810.1).contains(&gap), "gap {gap} in {times:?}");
    }
}

/// §3.3, §5.1: every BLMOVE gets its full 405 s timeout. A worker that runs a 1 s job at
/// 100 s blocks again from ~101 s, wakes at ~506 s (not due: 506 s < 600 s after its first
/// run) and runs maintenance at ~911 s; an earlier block's timer must not cut the new block
/// short (which would put the run at 810 s).
#[test]
fn after_a_job_the_next_idle_maintenance_waits_two_full_dequeue_timeouts() {
    let class = long_class("short", 1, None);
    let harness = Harness::new(HarnessConfig::default(), vec![class]);
    let host = harness.add_host();
    harness.start_worker("worker-0", host, &["default"], false);
    harness.run_until(at(100.0));
    harness.enqueue("short");
    harness.run_until(at(1_000.0));
    let finished = job_events(&harness, "job_finished", "j1");
    let finished_s = secs(finished[0].time);
    let times = maintenance_times(&harness, "worker-0");
    assert_eq!(times.len(), 2, "{times:?}");
    let expected_s = finished_s + 810.0;
    assert!(
        (expected_s..expected_s + 0.1).contains(&times[1]),
        "{times:?}"
    );
}

/// Starts worker-a, enqueues a 1200 s job that worker-a takes, starts an idle worker-b, and
/// kills worker-a's pod at 100 s. Returns worker-b's start-up maintenance time.
fn kill_pod_mid_job(harness: &Harness) -> f64 {
    let host_a = harness.add_host();
    let host_b = harness.add_host();
    harness.start_worker("worker-a", host_a, &["default"], false);
    harness.run_for(SimDuration::from_secs(1));
    harness.enqueue("long");
    harness.run_for(SimDuration::from_secs(1));
    harness.start_worker("worker-b", host_b, &["default"], false);
    harness.run_until(at(100.0));
    assert_eq!(job_events(harness, "job_started", "j1").len(), 1);
    harness.kill_pod("worker-a");
    maintenance_times(harness, "worker-b")[0]
}

/// §5.3, §6.3, §11: worker-a's last heartbeat is at ~91 s (ticks every 30 s from the start
/// at ~1 s), so the wip score is ≤ kill + 90 s. worker-b's next maintenance run (810 s after
/// its start-up run) finds the entry expired and retries the job with `interval 0`,
/// consuming its one retry; worker-b runs it to the end.
#[test]
fn abandoned_job_is_retried_by_another_workers_next_maintenance() {
    let harness = Harness::new(
        HarnessConfig::default(),
        vec![long_class("long", 1_200, Some(1))],
    );
    let first_run_b = kill_pod_mid_job(&harness);
    let wip = harness.redis(|s, now| s.peek_zset(now, "rq:wip:default"));
    assert_eq!(wip.len(), 1);
    let score_s = wip[0].1 - simrq::event::EPOCH_UNIX_S as f64;
    assert!(
        (180.0..=190.0).contains(&score_s),
        "wip score at {score_s} s"
    );
    harness.run_until(at(2_200.0));

    let abandoned = job_events(&harness, "job_abandoned", "j1");
    assert_eq!(abandoned.len(), 1);
    assert_eq!(abandoned[0].pod.as_deref(), Some("worker-b"));
    let detected_s = secs(abandoned[0].time);
    let expected_s = first_run_b + 810.0;
    assert!(
        (expected_s..expected_s + 0.1).contains(&detected_s),
        "abandoned at {detected_s} s, worker-b's second run due at {expected_s} s"
    );
    let requeued = job_events(&harness, "job_retry_requeued", "j1");
    assert_eq!(requeued.len(), 1);
    assert_eq!(
        requeued[0].kind,
        EventKind::JobRetryRequeued { retries_left: 0 }
    );
    let starts = job_events(&harness, "job_started", "j1");
    assert_eq!(starts.len(), 2);
    assert_eq!(starts[1].pod.as_deref(), Some("worker-b"));
    assert!(secs(starts[1].time) - detected_s < 0.1);
    assert_eq!(job_events(&harness, "job_finished", "j1").len(), 1);
    assert_eq!(
        hash_field(&harness, "rq:job:j1", "status").as_deref(),
        Some("finished")
    );
    assert_eq!(
        hash_field(&harness, "rq:job:j1", "retries_left").as_deref(),
        Some("0")
    );
    assert!(zset_members(&harness, "rq:wip:default").is_empty());
}

/// §5.3: without retries left the abandoned job goes to FailedJobRegistry with
/// AbandonedJobError and never runs again.
#[test]
fn abandoned_job_without_retries_moves_to_failed_registry() {
    let harness = Harness::new(
        HarnessConfig::default(),
        vec![long_class("long", 1_200, None)],
    );
    let first_run_b = kill_pod_mid_job(&harness);
    harness.run_until(at(2_200.0));

    let moved = job_events(&harness, "job_moved_to_failed", "j1");
    assert_eq!(moved.len(), 1);
    assert_eq!(moved[0].pod.as_deref(), Some("worker-b"));
    assert_eq!(
        moved[0].kind,
        EventKind::JobMovedToFailed {
            reason: "AbandonedJobError".into()
        }
    );
    let moved_s = secs(moved[0].time);
    assert!((first_run_b + 810.0..first_run_b + 810.1).contains(&moved_s));
    assert_eq!(job_events(&harness, "job_started", "j1").len(), 1);
    assert_eq!(
        hash_field(&harness, "rq:job:j1", "status").as_deref(),
        Some("failed")
    );
    assert_eq!(zset_members(&harness, "rq:failed:default"), ["j1"]);
    assert!(zset_members(&harness, "rq:wip:default").is_empty());
    assert!(list(&harness, "rq:queue:default").is_empty());
}
