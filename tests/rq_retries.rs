//! Retries (rq-semantics §3.7, §3.8, §11) on the RQ model.

use simrq::harness::{Harness, HarnessConfig};
use simrq::rq::{JobClass, Outcome};
use simrq::sim::SimDuration;

fn failing_class(max: i64, intervals: &[i64]) -> JobClass {
    let mut class = JobClass::simple("flaky", "default", SimDuration::from_millis(100));
    class.fail_probability = 1.0;
    class.retry_max = Some(max);
    class.retry_intervals_s = intervals.into();
    class
}

/// §3.7: `Retry(max=3)`, always failing: 4 executions, then FailedJobRegistry.
#[test]
fn retry_max_3_always_failing_runs_four_times_then_fails() {
    let harness = Harness::new(HarnessConfig::default(), vec![failing_class(3, &[])]);
    let host = harness.add_host();
    harness.start_worker("worker-0", host, &["default"], false);
    harness.enqueue("flaky");
    harness.run_for(SimDuration::from_secs(60));
    assert_eq!(harness.events_of("job_started").len(), 4);
    assert_eq!(harness.events_of("job_retry_requeued").len(), 3);
    assert_eq!(harness.events_of("job_moved_to_failed").len(), 1);
    let failed = harness.redis(|server, now| server.peek_zcard(now, "rq:failed:default"));
    assert_eq!(failed, 1);
    let status = harness.redis(|server, now| server.peek_hash_field(now, "rq:job:j1", "status"));
    assert_eq!(status.as_deref(), Some("failed"));
}

/// §3.7 and §11: with a healthy scheduler, an interval retry starts I−1…I+1 s after the
/// failure; the intervals follow the right-aligned index.
#[test]
fn interval_retries_follow_the_right_aligned_index_and_start_on_time() {
    for (max, expected) in [
        (3, vec![10, 30, 60]),
        (2, vec![30, 60]),
        (5, vec![10, 10, 10, 30, 60]),
    ] {
        let harness = Harness::new(
            HarnessConfig::default(),
            vec![failing_class(max, &[10, 30, 60])],
        );
        let host = harness.add_host();
        harness.start_worker("worker-0", host, &["default"], true);
        harness.enqueue("flaky");
        harness.run_for(SimDuration::from_secs(600));
        let scheduled = harness.events_of("job_retry_scheduled");
        let intervals: Vec<i64> = scheduled
            .iter()
            .map(|e| match &e.kind {
                simrq::event::EventKind::JobRetryScheduled { interval_s, .. } => *interval_s,
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(intervals, expected, "max={max}");
        let starts = harness.events_of("job_started");
        assert_eq!(starts.len() as i64, max + 1);
        for (retry, start) in scheduled.iter().zip(starts.iter().skip(1)) {
            let interval = match &retry.kind {
                simrq::event::EventKind::JobRetryScheduled { interval_s, .. } => *interval_s as f64,
                _ => unreachable!(),
            };
            let delay = start.time.as_secs_f64() - retry.time.as_secs_f64();
            assert!(
                delay >= interval - 1.0 && delay <= interval + 1.1,
                "delay {delay} for interval {interval}"
            );
        }
    }
}

/// §3.7: without a scheduler, interval retries stay in the scheduled registry.
#[test]
fn without_a_scheduler_interval_retries_stay_scheduled() {
    let harness = Harness::new(HarnessConfig::default(), vec![failing_class(3, &[10])]);
    let host = harness.add_host();
    harness.start_worker("worker-0", host, &["default"], false);
    harness.enqueue("flaky");
    harness.run_for(SimDuration::from_secs(3_600));
    assert_eq!(harness.events_of("job_started").len(), 1);
    let scheduled = harness.redis(|server, now| server.peek_zcard(now, "rq:scheduled:default"));
    assert_eq!(scheduled, 1);
}

/// §3.8: a job returning `Retry` uses left-aligned intervals over `number_of_retries`.
#[test]
fn return_value_retries_are_left_aligned() {
    let mut class = failing_class(5, &[10, 30, 60]);
    class.fail_probability = 0.0;
    class.scripted_outcomes = vec![Outcome::ReturnRetry; 6];
    class.retry_max = None;
    class.return_retry_max = 5;
    class.return_retry_intervals_s = vec![10, 30, 60];
    let harness = Harness::new(HarnessConfig::default(), vec![class]);
    let host = harness.add_host();
    harness.start_worker("worker-0", host, &["default"], true);
    harness.enqueue("flaky");
    harness.run_for(SimDuration::from_secs(900));
    let intervals: Vec<i64> = harness
        .events_of("job_retry_scheduled")
        .iter()
        .map(|e| match &e.kind {
            simrq::event::EventKind::JobRetryScheduled { interval_s, .. } => *interval_s,
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(intervals, [10, 30, 60, 60, 60]);
    assert_eq!(harness.events_of("job_started").len(), 6);
    assert_eq!(harness.events_of("job_moved_to_failed").len(), 1);
}

/// The scenario's `fail_attempts`: executions 1 and 3 raise, 2 and 4 would succeed; with
/// `Retry(max=3)` the job runs twice (1 fails, 2 finishes).
#[test]
fn fail_attempts_fail_exactly_the_listed_executions() {
    let mut class = JobClass::simple("scripted", "default", SimDuration::from_millis(100));
    class.retry_max = Some(3);
    class.fail_attempts = vec![1, 3];
    let harness = Harness::new(HarnessConfig::default(), vec![class]);
    let host = harness.add_host();
    harness.start_worker("worker-0", host, &["default"], false);
    harness.enqueue("scripted");
    harness.run_for(SimDuration::from_secs(30));
    assert_eq!(harness.events_of("job_started").len(), 2);
    assert_eq!(harness.events_of("job_failed").len(), 1);
    assert_eq!(harness.events_of("job_finished").len(), 1);
}
