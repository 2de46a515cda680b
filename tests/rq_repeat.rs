//! `Repeat` and webhooks on the RQ model (docs/repeat-and-webhooks.md, which traces each step
//! to RQ 2.12: `rq/repeat.py Repeat.schedule`, `rq/worker/base.py handle_job_success`,
//! `perform_job`, `handle_job_failure`, `rq/webhook.py Webhook.send`).

use simrq::event::{Event, EventKind, WebhookStatus};
use simrq::harness::{Harness, HarnessConfig};
use simrq::rq::{DurationDist, JobClass, RepeatPolicy, Role, WebhookPolicy};
use simrq::sim::{SimDuration, SimTime};

fn repeating(times: i64, intervals_s: &[i64]) -> JobClass {
    let mut class = JobClass::simple("tick", "default", SimDuration::from_millis(100));
    class.repeat = Some(RepeatPolicy {
        times,
        intervals_s: intervals_s.to_vec(),
    });
    class
}

fn with_webhook(mut class: JobClass, latency_s: u64, timeout_s: u64) -> JobClass {
    class.webhooks = Some(WebhookPolicy {
        on_finished: true,
        on_failed: true,
        latency: DurationDist::Constant(SimDuration::from_secs(latency_s)),
        timeout: SimDuration::from_secs(timeout_s),
    });
    class
}

/// One worker (with or without the scheduler) and one job of `class`, run for `for_s`.
fn run_one(class: JobClass, with_scheduler: bool, for_s: u64) -> Harness {
    let name = class.name.to_string();
    let harness = Harness::new(HarnessConfig::default(), vec![class]);
    let host = harness.add_host();
    harness.start_worker("worker-0", host, &["default"], with_scheduler);
    harness.enqueue(&name);
    harness.run_for(SimDuration::from_secs(for_s));
    harness
}

fn seconds(event: &Event) -> f64 {
    event.time.as_secs_f64()
}

fn job_field(harness: &Harness, field: &str) -> Option<String> {
    harness.redis(|server, now| server.peek_hash_field(now, "rq:job:j1", field))
}

/// `Repeat.schedule` with interval 0: `Repeat(times=2)` runs three times, each repeat put back
/// in the queue by the success transaction, the last run ending `finished`.
#[test]
fn repeat_times_two_with_interval_zero_runs_three_times() {
    let harness = run_one(repeating(2, &[0]), false, 60);
    assert_eq!(harness.events_of("job_started").len(), 3);
    let requeued: Vec<EventKind> = harness
        .events_of("job_repeat_requeued")
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(
        requeued,
        [
            EventKind::JobRepeatRequeued { repeats_left: 1 },
            EventKind::JobRepeatRequeued { repeats_left: 0 },
        ]
    );
    assert_eq!(harness.events_of("job_finished").len(), 1);
    assert!(harness.events_of("job_repeat_scheduled").is_empty());
    assert_eq!(job_field(&harness, "status").as_deref(), Some("finished"));
    assert_eq!(job_field(&harness, "repeats_left").as_deref(), Some("0"));
    assert_eq!(
        job_field(&harness, "repeat_intervals").as_deref(),
        Some("[0]")
    );
}

/// `Repeat.schedule` with an interval: the job goes to `rq:scheduled:<q>` due at now + 5 s,
/// and a `--with-scheduler` worker's scheduler moves it, so it starts I − 1 … I + 1 s after
/// the previous run's success. While repeats are left the job key has no TTL (`job.cleanup`
/// is skipped); the last run's success sets `result_ttl` (500 s).
#[test]
fn an_interval_repeat_runs_after_its_interval_via_the_scheduler() {
    let harness = Harness::new(HarnessConfig::default(), vec![repeating(2, &[5])]);
    let host = harness.add_host();
    harness.start_worker("worker-0", host, &["default"], true);
    harness.enqueue("tick");
    harness.run_until(SimTime::from_secs(3));
    let first = harness.events_of("job_repeat_scheduled");
    assert_eq!(
        first.len(),
        1,
        "the first run succeeded and scheduled its repeat"
    );
    let expire = harness.redis(|server, now| server.peek_expire_at(now, "rq:job:j1"));
    assert_eq!(expire, None, "no EXPIRE on the job while repeats are left");
    let scheduled = harness.redis(|server, now| server.peek_zcard(now, "rq:scheduled:default"));
    assert_eq!(scheduled, 1);
    harness.run_for(SimDuration::from_secs(60));
    let starts = harness.events_of("job_started");
    let repeats = harness.events_of("job_repeat_scheduled");
    assert_eq!(starts.len(), 3);
    assert_eq!(repeats.len(), 2);
    for (repeat, start) in repeats.iter().zip(starts.iter().skip(1)) {
        let delay = seconds(start) - seconds(repeat);
        assert!(
            (4.0..=6.1).contains(&delay),
            "repeat started {delay} s later"
        );
        assert!(matches!(
            repeat.kind,
            EventKind::JobRepeatScheduled { interval_s: 5, .. }
        ));
    }
    let moved = harness.events_of("job_enqueued");
    assert_eq!(
        moved.len(),
        3,
        "the producer's enqueue, then one move per repeat"
    );
    let finished = harness.events_of("job_finished");
    assert_eq!(finished.len(), 1);
    let expire = harness.redis(|server, now| server.peek_expire_at(now, "rq:job:j1"));
    let ttl_s =
        expire.expect("result_ttl after the last run").as_secs_f64() - seconds(&finished[0]);
    assert!((499.0..=500.1).contains(&ttl_s), "TTL {ttl_s} s");
}

/// Without a `--with-scheduler` worker nothing moves a scheduled repeat: the job ran once and
/// stays in `rq:scheduled:<q>` with status `scheduled`.
#[test]
fn an_interval_repeat_never_runs_without_a_scheduler() {
    let harness = run_one(repeating(2, &[5]), false, 600);
    assert_eq!(harness.events_of("job_started").len(), 1);
    let scheduled = harness.redis(|server, now| server.peek_zcard(now, "rq:scheduled:default"));
    assert_eq!(scheduled, 1);
    assert_eq!(job_field(&harness, "status").as_deref(), Some("scheduled"));
    assert_eq!(job_field(&harness, "repeats_left").as_deref(), Some("1"));
}

/// The intervals are read from the end (`get_interval(repeats_left − 1, intervals)`, the last
/// one reused): `Repeat(times=3, interval=[1, 3])` waits 3, 3, then 1 s.
#[test]
fn repeat_intervals_are_taken_from_the_end_of_the_list() {
    let harness = run_one(repeating(3, &[1, 3]), true, 120);
    let intervals: Vec<i64> = harness
        .events_of("job_repeat_scheduled")
        .iter()
        .map(|e| match e.kind {
            EventKind::JobRepeatScheduled { interval_s, .. } => interval_s,
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(intervals, [3, 3, 1]);
    assert_eq!(harness.events_of("job_started").len(), 4);
}

/// `handle_job_failure` never calls `Repeat.schedule`: a run that fails with no retries left
/// ends the job in the failed registry with its repeats unused.
#[test]
fn a_failure_stops_the_repeats() {
    let mut class = repeating(3, &[0]);
    class.fail_attempts = vec![2];
    let harness = run_one(class, false, 60);
    assert_eq!(harness.events_of("job_started").len(), 2);
    assert_eq!(harness.events_of("job_repeat_requeued").len(), 1);
    assert_eq!(harness.events_of("job_moved_to_failed").len(), 1);
    assert!(harness.events_of("job_finished").is_empty());
    assert_eq!(job_field(&harness, "status").as_deref(), Some("failed"));
    assert_eq!(job_field(&harness, "repeats_left").as_deref(), Some("2"));
}

/// `Retry` and `Repeat` together: a failed run is retried (not repeated), and `retries_left`
/// is not reset by a repeat, so `Retry(max=1)` covers one failure over all runs. Executions 2
/// and 4 fail: run 1 succeeds (repeat), run 2 fails (retry), run 3 succeeds (repeat), run 4
/// fails with no retry left and the job fails for good.
#[test]
fn retry_and_repeat_share_one_retry_budget() {
    let mut class = repeating(2, &[0]);
    class.retry_max = Some(1);
    class.fail_attempts = vec![2, 4];
    let harness = run_one(class, false, 60);
    let kinds: Vec<&str> = harness
        .events()
        .iter()
        .filter(|e| e.job.is_some())
        .map(|e| e.kind.name())
        .filter(|kind| !matches!(*kind, "job_dequeued" | "job_created" | "job_enqueued"))
        .collect();
    assert_eq!(
        kinds,
        [
            "job_started",
            "job_repeat_requeued",
            "job_started",
            "job_failed",
            "job_retry_requeued",
            "job_started",
            "job_repeat_requeued",
            "job_started",
            "job_failed",
            "job_moved_to_failed",
        ]
    );
    assert_eq!(job_field(&harness, "retries_left").as_deref(), Some("0"));
    assert_eq!(job_field(&harness, "repeats_left").as_deref(), Some("0"));
}

/// Two one-second jobs on one worker: when the second one starts.
fn second_start_s(class: JobClass) -> f64 {
    let name = class.name.to_string();
    let harness = Harness::new(HarnessConfig::default(), vec![class]);
    let host = harness.add_host();
    harness.start_worker("worker-0", host, &["default"], false);
    harness.enqueue(&name);
    harness.enqueue(&name);
    harness.run_for(SimDuration::from_secs(60));
    let starts = harness.events_of("job_started");
    assert_eq!(starts.len(), 2);
    seconds(&starts[1])
}

/// `perform_job` sends the finished webhooks in the horse after `handle_job_success`: a 4 s
/// endpoint keeps the horse alive 4 s longer, so its worker takes the next job 4 s later.
#[test]
fn a_slow_finished_webhook_delays_the_workers_next_job() {
    let plain = JobClass::simple("slow", "default", SimDuration::from_secs(1));
    let without = second_start_s(plain.clone());
    let with = second_start_s(with_webhook(plain, 4, 10));
    let delay = with - without;
    assert!((delay - 4.0).abs() < 0.01, "delayed {delay} s");
}

/// `Webhook.send`: `urlopen(…, timeout=10)` gives up after 10 s however slow the endpoint.
#[test]
fn the_webhook_timeout_caps_the_delay() {
    let plain = JobClass::simple("slow", "default", SimDuration::from_secs(1));
    let without = second_start_s(plain.clone());
    let class = with_webhook(plain, 30, 10);
    let delay = second_start_s(class.clone()) - without;
    assert!((delay - 10.0).abs() < 0.01, "delayed {delay} s");
    let harness = run_one(class, false, 60);
    let sent = harness.events_of("webhook_sent");
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].kind,
        EventKind::WebhookSent {
            status: WebhookStatus::Finished,
            took: SimDuration::from_secs(10),
            timed_out: true,
        }
    );
    assert_eq!(
        sent[0].kind.to_string(),
        "status=finished took_s=10.000000 timed_out=true"
    );
}

/// Every successful run of a repeated job sends the finished webhook, not only the last.
#[test]
fn each_run_of_a_repeated_job_sends_its_finished_webhook() {
    let harness = run_one(with_webhook(repeating(2, &[0]), 1, 10), false, 60);
    assert_eq!(harness.events_of("webhook_sent").len(), 3);
}

/// `handle_job_failure` sends the failed webhooks after the failure commit, in whichever
/// process runs it: after a horse is killed, its worker's main process, which is then busy
/// for the endpoint's latency before it takes the next job.
#[test]
fn a_failed_webhook_after_a_horse_dies_is_sent_by_the_worker() {
    let mut class = JobClass::simple("long", "default", SimDuration::from_secs(10));
    class = with_webhook(class, 4, 10);
    let harness = Harness::new(HarnessConfig::default(), vec![class]);
    let host = harness.add_host();
    harness.start_worker("worker-0", host, &["default"], false);
    harness.enqueue("long");
    harness.enqueue("long");
    harness.run_until(SimTime::from_secs(3));
    let horse = harness.processes("worker-0", Role::Horse);
    harness.kill(&horse[0]);
    harness.run_for(SimDuration::from_secs(30));
    let sent = harness.events_of("webhook_sent");
    let failed = sent
        .iter()
        .find(|e| {
            matches!(
                e.kind,
                EventKind::WebhookSent {
                    status: WebhookStatus::Failed,
                    ..
                }
            )
        })
        .expect("a failed webhook");
    assert_eq!(failed.process.as_deref(), Some("worker-0.w1"));
    let moved = harness.events_of("job_moved_to_failed");
    assert_eq!(moved.len(), 1);
    assert!((seconds(failed) - seconds(&moved[0]) - 4.0).abs() < 0.01);
    let second = &harness.events_of("job_started")[1];
    assert!(
        seconds(second) >= seconds(failed),
        "the worker was busy sending"
    );
}

/// One job of `class` taken by `worker-0` (`--with-scheduler`), and an idle `worker-1`
/// started at 1 s, while the first run (2 s) still runs.
fn two_workers(mut class: JobClass) -> Harness {
    class.duration = DurationDist::Constant(SimDuration::from_secs(2));
    let harness = Harness::new(HarnessConfig::default(), vec![class]);
    let first = harness.add_host();
    harness.start_worker("worker-0", first, &["default"], true);
    harness.enqueue("tick");
    harness.run_until(SimTime::from_secs(1));
    let second = harness.add_host();
    harness.start_worker("worker-1", second, &["default"], false);
    harness
}

/// A race of RQ 2.12 itself (docs/repeat-and-webhooks.md, "races"): `Repeat.schedule` sends
/// its ZADD before the success transaction that decrements `repeats_left`. A horse stopped
/// between the two (SIGSTOP, a VM pause) for longer than the interval lets the scheduler move
/// the job and another worker run it from a hash that still says `repeats_left = 1`, so that
/// run repeats again: `Repeat(times=1)` succeeds three times. No execution overlaps another,
/// so `duplicate_execution` stays quiet and `repeat_count` reports it.
#[test]
fn a_horse_paused_between_its_repeat_zadd_and_exec_lets_the_job_repeat_once_more() {
    let class = || repeating(1, &[1]);
    let probe = two_workers(class());
    probe.run_for(SimDuration::from_secs(30));
    assert_eq!(
        probe.events_of("job_started").len(),
        2,
        "without the pause: 1 + 1 runs"
    );
    let zadd_at = probe.events_of("job_repeat_scheduled")[0].time;

    let harness = two_workers(class());
    // The ZADD has executed; its reply is on its way back and the EXEC not yet sent.
    harness.run_until(zadd_at + SimDuration::from_micros(100));
    let horse = harness.processes("worker-0", Role::Horse).remove(0);
    harness.signal(&horse, simrq::sim::Signal::Stop);
    harness.run_for(SimDuration::from_secs(10));
    harness.signal(&horse, simrq::sim::Signal::Cont);
    harness.run_for(SimDuration::from_secs(30));
    let starts = harness.events_of("job_started");
    assert_eq!(starts.len(), 3);
    assert_eq!(harness.events_of("job_repeat_scheduled").len(), 2);
    assert_eq!(harness.events_of("job_finished").len(), 1);

    let mut checkers = simrq::check::Checkers::new(&simrq::check::CheckConfig::default(), &[]);
    for event in harness.events() {
        simrq::event::EventSink::on_event(&mut checkers, &event);
    }
    let end = simrq::check::testing::FixedEnd::at(harness.now().as_secs_f64());
    let violations = checkers.finish(&end);
    let checks: Vec<&str> = violations.iter().map(|v| v.check).collect();
    assert_eq!(checks, ["repeat_count"], "{violations:#?}");
    assert!(violations[0]
        .detail
        .contains("succeeded 3 times, more than 1 + repeat_times = 2"));
}

/// Each successful run leaves the id in `rq:finished:<q>` (for `result_ttl`), also while the
/// job is queued or running again: at the end of a run, `liveness` and `lost_job` must look
/// past that entry. Here the run ends during the second run of a 100 s job: not finished.
#[test]
fn a_repeated_job_still_running_at_the_end_fails_liveness_despite_its_finished_entry() {
    let text = r#"
[run]
duration = "10s"
drain = "150s"
[[pods]]
start_delay = "0s"
[[workload]]
arrival = { count = 1, at = "1s" }
duration = "100s"
repeat = { times = 1 }
"#;
    let scenario = simrq::scenario::parse(text, "inline.toml").unwrap();
    let result = scenario.run_seed(1).unwrap();
    let found: Vec<(&str, &str)> = result
        .violations
        .iter()
        .map(|v| (v.check, v.detail.as_str()))
        .collect();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "liveness");
    assert!(
        found[0]
            .1
            .contains("j1 has not finished its repeats (its id is Started"),
        "{found:?}"
    );
}
