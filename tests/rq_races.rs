//! The races of rq-semantics §9 reproduced on the RQ model, each with exact counts: R1 (two
//! schedulers enqueue one job) and its what-if fixes, R2 (abandoned while running), R3 (a
//! successful job re-run after a Redis error), R4 (interval retry committed half-way) and
//! R15 (idle warm shutdown swallows a job) and R17 (a stale `first_seen` fails a running
//! retry as stuck in the intermediate list).
//!
//! What to look at: `job_started` per job (its `attempt` column), who enqueued it, and where
//! the id sits in Redis at the end.

mod common;

use common::*;
use simrq::event::{EventKind, EPOCH_UNIX_S};
use simrq::harness::{Harness, HarnessConfig};
use simrq::net::{LinkFault, Verdict};
use simrq::rq::{JobClass, Outcome, Role, WhatIf};
use simrq::sim::{Signal, SimDuration};

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
    assert_eq!(
        due[0].kind,
        EventKind::JobScheduled {
            due_unix_s: EPOCH_UNIX_S + 31
        }
    );
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

// ----- R2 --------------------------------------------------------------------------------

/// §9 R2, §5.3: worker-a runs a 1200 s job (one retry, interval 0); its main process is
/// SIGSTOPped at 50 s, after its heartbeat at ~31 s set the wip score to ~121 s. worker-b's
/// maintenance at ~812 s declares the job abandoned and requeues it; worker-b runs it while
/// worker-a's horse still runs the first execution. Both finish: two executions, overlapping.
#[test]
fn r2_job_declared_abandoned_while_its_horse_runs_executes_twice() {
    let harness = Harness::new(
        HarnessConfig::default(),
        vec![long_class("long", 1_200, Some(1))],
    );
    let (host_a, host_b) = (harness.add_host(), harness.add_host());
    harness.start_worker("worker-a", host_a, &["default"], false);
    harness.run_until(at(1.0));
    harness.enqueue("long");
    harness.run_until(at(2.0));
    harness.start_worker("worker-b", host_b, &["default"], false);
    harness.run_until(at(50.0));
    let worker_a = process(&harness, "worker-a", Role::Worker);
    harness.signal(&worker_a, Signal::Stop);
    harness.run_until(at(1_000.0));
    let horse_a = process(&harness, "worker-a", Role::Horse);
    let horse_b = process(&harness, "worker-b", Role::Horse);
    assert_eq!(horse_a.tag.as_deref(), Some("j1"));
    assert_eq!(horse_b.tag.as_deref(), Some("j1"));
    harness.signal(&worker_a, Signal::Cont);
    harness.run_until(at(2_500.0));

    let abandoned = job_events(&harness, "job_abandoned", "j1");
    assert_eq!(abandoned.len(), 1);
    assert_eq!(abandoned[0].pod.as_deref(), Some("worker-b"));
    assert!((812.0..812.1).contains(&secs(abandoned[0].time)));
    let starts = job_events(&harness, "job_started", "j1");
    let finishes = job_events(&harness, "job_finished", "j1");
    assert_eq!(starts.len(), 2);
    assert_eq!(finishes.len(), 2);
    assert_eq!(starts[1].pod.as_deref(), Some("worker-b"));
    assert_eq!(finishes[0].pod.as_deref(), Some("worker-a"));
    assert!(starts[1].time < finishes[0].time, "the executions overlap");
    assert_eq!(
        hash_field(&harness, "rq:job:j1", "status").as_deref(),
        Some("finished")
    );
    assert_eq!(
        hash_field(&harness, "rq:job:j1", "retries_left").as_deref(),
        Some("0")
    );
}

// ----- R3 --------------------------------------------------------------------------------

/// worker-a runs j1 of class `ten` (a 10 s function); its link loses every reply from 1 µs
/// before the function returns until `after` past it. Runs to 60 s; returns j1's start.
fn lose_replies_at_the_end_of_j1(harness: &Harness, after: SimDuration) -> simrq::sim::SimTime {
    let host_a = harness.add_host();
    harness.start_worker("worker-a", host_a, &["default"], false);
    harness.run_until(at(1.0));
    harness.enqueue("ten");
    step_until(harness, SimDuration::from_secs(5), |h| {
        !job_events(h, "job_started", "j1").is_empty()
    });
    let started = job_events(harness, "job_started", "j1")[0].time;
    let body_end = started + SimDuration::from_secs(10);
    harness.run_until(simrq::sim::SimTime(body_end.0 - 1));
    harness.network.add_link_fault(LinkFault {
        host: Some(host_a),
        verdict: Verdict::LoseReply,
        until: body_end + after,
    });
    harness.run_until(at(60.0));
    started
}

/// §9 R3, §7: j1's function returns after 10 s; the reply to the horse's first command after
/// it (`HSET last_heartbeat`) is lost on worker-a's link (a 2 µs fault window around that
/// instant). The horse handles the ConnectionError as a job failure and requeues j1 (one
/// retry, interval 0): the job ran to completion and runs again.
#[test]
fn r3_successful_job_is_rerun_after_a_redis_error_at_its_end() {
    let mut class = long_class("ten", 10, Some(1));
    class.scripted_outcomes = vec![Outcome::Succeed, Outcome::Succeed];
    let harness = Harness::new(HarnessConfig::default(), vec![class]);
    let started = lose_replies_at_the_end_of_j1(&harness, SimDuration::from_micros(1));

    let failed = job_events(&harness, "job_failed", "j1");
    assert_eq!(failed.len(), 1);
    assert_eq!(
        failed[0].kind,
        EventKind::JobFailed {
            reason: "ConnectionError after the job ran".into()
        }
    );
    let failed_after_s = failed[0].time.since(started).as_secs_f64();
    assert!((10.0..10.01).contains(&failed_after_s), "{failed_after_s}");
    let requeued = job_events(&harness, "job_retry_requeued", "j1");
    assert_eq!(
        requeued[0].kind,
        EventKind::JobRetryRequeued { retries_left: 0 }
    );
    assert_eq!(job_events(&harness, "job_started", "j1").len(), 2);
    assert_eq!(job_events(&harness, "job_finished", "j1").len(), 1);
    assert!(pod_events(&harness, "worker_died", "worker-a").is_empty());
    assert_eq!(
        hash_field(&harness, "rq:job:j1", "status").as_deref(),
        Some("finished")
    );
    assert_eq!(
        hash_field(&harness, "rq:job:j1", "retries_left").as_deref(),
        Some("0")
    );
}

/// §9 R3 with no retry left, §3.7: the replies are lost on worker-a's link for 5 ms from the
/// end of j1's function, so the horse sees a ConnectionError and then never reads the reply
/// to its failure transaction, which Redis did commit. `job_moved_to_failed` is stamped when
/// Redis commits: the job is failed in Redis and in the event stream alike, not left
/// "started" forever in jobs.csv. (Found by the no-job-vanishes property.)
#[test]
fn a_move_to_failed_whose_reply_is_lost_is_still_reported() {
    let harness = Harness::new(HarnessConfig::default(), vec![long_class("ten", 10, None)]);
    lose_replies_at_the_end_of_j1(&harness, SimDuration::from_millis(5));

    let failed = job_events(&harness, "job_failed", "j1");
    assert_eq!(failed.len(), 1);
    let moved = job_events(&harness, "job_moved_to_failed", "j1");
    assert_eq!(
        moved.len(),
        1,
        "reported although the horse never read the reply"
    );
    let after_failure = moved[0].time.since(failed[0].time);
    assert!(
        after_failure < SimDuration::from_millis(5),
        "{after_failure}"
    );
    assert_eq!(
        hash_field(&harness, "rq:job:j1", "status").as_deref(),
        Some("failed")
    );
}

/// worker-a (no scheduler) and, from 0.5 s, worker-b `--with-scheduler`, each on its own
/// host; a job of `class` (named "flaky") is enqueued at 1 s and worker-a, idle first, takes
/// it. Returns the harness and worker-a's host.
fn flaky_job_beside_a_scheduler(class: JobClass) -> (Harness, simrq::sim::HostId) {
    let harness = Harness::new(HarnessConfig::default(), vec![class]);
    let (host_a, host_b) = (harness.add_host(), harness.add_host());
    harness.start_worker("worker-a", host_a, &["default"], false);
    harness.run_until(at(0.5));
    harness.start_worker("worker-b", host_b, &["default"], true);
    harness.run_until(at(1.0));
    harness.enqueue("flaky");
    (harness, host_a)
}

/// §3.7, §3.9: an interval retry sends `HSET status scheduled` and `ZADD rq:scheduled` one
/// by one, outside the failure pipeline. Here the ZADD executes but its reply is lost on
/// worker-a's link: the horse gets a ConnectionError and exits 1, and worker-a handles the
/// failure again from the job hash, whose `retries_left` the lost pipeline never decremented.
/// Both retry decisions happened in Redis, so both are reported, the horse's when its ZADD
/// executed; the one scheduled entry runs j1 once more, ~60 s later, on worker-b.
#[test]
fn an_interval_retry_whose_zadd_reply_is_lost_is_still_reported() {
    let mut class = long_class("flaky", 5, Some(2));
    class.retry_intervals_s = [60].into();
    class.scripted_outcomes = vec![Outcome::Raise, Outcome::Succeed];
    let (harness, host_a) = flaky_job_beside_a_scheduler(class);
    step_until(&harness, SimDuration::from_secs(10), |h| {
        hash_field(h, "rq:job:j1", "status").as_deref() == Some("scheduled")
    });
    // The HSET just executed; its reply reaches the horse in one latency (300 µs), and the
    // horse sends the ZADD then: only that send falls inside the fault window.
    let hset_executed = harness.now();
    harness.network.add_link_fault(LinkFault {
        host: Some(host_a),
        verdict: Verdict::LoseReply,
        until: hset_executed + SimDuration::from_micros(301),
    });
    harness.run_until(at(100.0));

    let scheduled = job_events(&harness, "job_retry_scheduled", "j1");
    let retries_left: Vec<i64> = scheduled
        .iter()
        .map(|e| match &e.kind {
            EventKind::JobRetryScheduled { retries_left, .. } => *retries_left,
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(retries_left, [1, 1], "the horse's, then the worker's");
    assert_eq!(
        scheduled[0].time.since(hset_executed),
        SimDuration::from_micros(600),
        "stamped when the ZADD executed, although its reply was lost"
    );
    let failures = job_events(&harness, "job_failed", "j1");
    assert_eq!(
        failures[1].kind,
        EventKind::JobFailed {
            reason: "Work-horse terminated unexpectedly".into()
        }
    );
    let starts = job_events(&harness, "job_started", "j1");
    assert_eq!(starts.len(), 2);
    assert_eq!(starts[1].pod.as_deref(), Some("worker-b"));
}

// ----- R4 --------------------------------------------------------------------------------

/// §9 R4, §3.7: j1 (Retry(max=2, interval=60)) fails on worker-a at ~6 s. Its immediate
/// `HSET status scheduled` and `ZADD rq:scheduled` succeed; the failure transaction after
/// them is black-holed (1 ms drop window on worker-a's link), so `retries_left` stays 2 and
/// the wip entry stays. worker-b's scheduler enqueues j1 at ~66 s (run 2); worker-a's next
/// maintenance (~826 s) finds the stale wip entry and schedules j1 again (run 3).
/// Three executions, and `retries_left` went down by one. (The horse's TX times out after
/// the 415 s socket timeout; meanwhile worker-a's heartbeats keep the wip entry fresh, so it
/// expires at ~511 s.)
#[test]
fn r4_interval_retry_committed_half_way_runs_the_job_again_later() {
    let mut class = long_class("flaky", 5, Some(2));
    class.retry_intervals_s = [60].into();
    class.scripted_outcomes = vec![Outcome::Raise, Outcome::Succeed, Outcome::Succeed];
    // With the default 500 s the finished hash would be gone by the time of the cleaner's
    // run, and the stale wip entry would be skipped silently (§5.3).
    class.result_ttl_s = Some(3_600);
    let (harness, host_a) = flaky_job_beside_a_scheduler(class);
    step_until(&harness, SimDuration::from_secs(10), |h| {
        h.redis(|s, now| s.peek_zscore(now, "rq:scheduled:default", "j1").is_some())
    });
    let now = harness.now();
    harness.network.add_link_fault(LinkFault {
        host: Some(host_a),
        verdict: Verdict::Drop,
        until: now + SimDuration::from_millis(1),
    });
    harness.run_until(at(100.0));
    assert_eq!(
        hash_field(&harness, "rq:job:j1", "retries_left").as_deref(),
        Some("2")
    );
    assert_eq!(zset_members(&harness, "rq:wip:default").len(), 1);
    harness.run_until(at(1_200.0));

    let starts = job_events(&harness, "job_started", "j1");
    assert_eq!(starts.len(), 3);
    assert_eq!(starts[1].pod.as_deref(), Some("worker-b"));
    assert!(
        (66.0..67.1).contains(&secs(starts[1].time)),
        "{}",
        secs(starts[1].time)
    );
    let scheduled: Vec<(String, i64)> = job_events(&harness, "job_retry_scheduled", "j1")
        .iter()
        .map(|e| match &e.kind {
            EventKind::JobRetryScheduled { retries_left, .. } => {
                (e.pod.as_deref().unwrap_or("-").to_string(), *retries_left)
            }
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(
        scheduled,
        [("worker-a".to_string(), 1), ("worker-a".to_string(), 1)]
    );
    let abandoned = job_events(&harness, "job_abandoned", "j1");
    assert_eq!(abandoned.len(), 1);
    assert!((826.0..826.1).contains(&secs(abandoned[0].time)));
    assert!(secs(starts[2].time) - secs(abandoned[0].time) < 62.0);
    assert_eq!(job_events(&harness, "job_finished", "j1").len(), 2);
    assert_eq!(
        hash_field(&harness, "rq:job:j1", "status").as_deref(),
        Some("finished")
    );
    assert_eq!(
        hash_field(&harness, "rq:job:j1", "retries_left").as_deref(),
        Some("1")
    );
}

// ----- R15 -------------------------------------------------------------------------------

/// worker-a (`--with-scheduler`, holding the lock) listens on `queues`, idle. Right after one
/// of its scheduler's ticks (at ~20 s) the worker gets SIGTERM 0.1 s into the scheduler's
/// 1 s sleep; j1 is pushed 50 ms later, inside the window, and j2 1.2 s after the SIGTERM,
/// after it. Returns the SIGTERM time (s).
fn idle_warm_shutdown_with_a_push(harness: &Harness, queues: &[&str]) -> f64 {
    let host_a = harness.add_host();
    harness.start_worker("worker-a", host_a, queues, true);
    harness.run_until(at(20.0));
    step_until(harness, SimDuration::from_secs(2), |h| {
        pod_events(h, "lock_refreshed", "worker-a")
            .last()
            .is_some_and(|e| secs(e.time) >= 20.0)
    });
    let tick_s = secs(harness.now());
    harness.run_until(at(tick_s + 0.1));
    let worker_a = process(harness, "worker-a", Role::Worker);
    harness.signal(&worker_a, Signal::Term);
    harness.run_until(at(tick_s + 0.15));
    harness.enqueue("quick");
    harness.run_until(at(tick_s + 1.3));
    harness.enqueue("quick");
    harness.run_until(at(tick_s + 30.0));
    let released: Vec<_> = pod_events(harness, "lock_released", "worker-a")
        .into_iter()
        .filter(|e| e.queue.as_deref() == Some("default"))
        .collect();
    assert_eq!(released.len(), 1);
    let released_after_s = secs(released[0].time) - (tick_s + 0.1);
    assert!((0.8..1.0).contains(&released_after_s), "{released_after_s}");
    let died = pod_events(harness, "worker_died", "worker-a");
    assert_eq!(died.len(), 1);
    assert!(secs(died[0].time) < tick_s + 1.2);
    tick_s + 0.1
}

/// §9 R15, §6.1, §5.4: single queue (BLMOVE). j1, pushed 50 ms after the SIGTERM, is moved
/// to the intermediate list by the dying worker and never run by it; j2, pushed after the
/// scheduler stopped, stays queued. A worker started later runs j2, and handles j1 as stuck
/// at its second maintenance run (810 s after its start): j1 fails without ever running.
#[test]
fn r15_idle_warm_shutdown_parks_a_job_in_the_intermediate_list() {
    let harness = Harness::new(HarnessConfig::default(), vec![quick_class()]);
    idle_warm_shutdown_with_a_push(&harness, &["default"]);
    assert_eq!(list(&harness, "rq:queue:default:intermediate"), ["j1"]);
    assert_eq!(list(&harness, "rq:queue:default"), ["j2"]);
    assert_eq!(
        hash_field(&harness, "rq:job:j1", "status").as_deref(),
        Some("queued")
    );
    assert!(harness.events_of("job_dequeued").is_empty());

    let host_b = harness.add_host();
    harness.start_worker("worker-b", host_b, &["default"], false);
    harness.run_until(at(1_000.0));
    let runs = maintenance_times(&harness, "worker-b");
    assert_eq!(job_events(&harness, "job_started", "j2").len(), 1);
    assert!(job_events(&harness, "job_started", "j1").is_empty());
    let stuck = job_events(&harness, "job_abandoned", "j1");
    assert_eq!(stuck.len(), 1);
    assert_eq!(
        stuck[0].kind,
        EventKind::JobAbandoned {
            reason: "Job was stuck in intermediate queue.".into()
        }
    );
    assert!(
        (runs[1] - 0.1..=runs[1]).contains(&secs(stuck[0].time)),
        "{runs:?}"
    );
    assert_eq!(
        hash_field(&harness, "rq:job:j1", "status").as_deref(),
        Some("failed")
    );
    assert_eq!(zset_members(&harness, "rq:failed:default"), ["j1"]);
    assert!(list(&harness, "rq:queue:default:intermediate").is_empty());
}

/// §9 R15, R5a: two queues (BLPOP). j1, pushed inside the window, is popped by the dying
/// worker and is then in no list or registry, still `queued`; a later worker never runs it.
#[test]
fn r15_idle_warm_shutdown_loses_a_job_with_two_queues() {
    let harness = Harness::new(HarnessConfig::default(), vec![quick_class()]);
    idle_warm_shutdown_with_a_push(&harness, &["high", "default"]);
    assert!(list(&harness, "rq:queue:default:intermediate").is_empty());
    assert_eq!(list(&harness, "rq:queue:default"), ["j2"]);

    let host_b = harness.add_host();
    harness.start_worker("worker-b", host_b, &["high", "default"], false);
    harness.run_until(at(2_000.0));
    assert_eq!(job_events(&harness, "job_started", "j2").len(), 1);
    assert!(job_events(&harness, "job_started", "j1").is_empty());
    assert_eq!(
        hash_field(&harness, "rq:job:j1", "status").as_deref(),
        Some("queued")
    );
    for key in [
        "rq:queue:default",
        "rq:queue:high",
        "rq:queue:default:intermediate",
    ] {
        assert!(!list(&harness, key).contains(&"j1".to_string()), "{key}");
    }
    for key in [
        "rq:wip:default",
        "rq:failed:default",
        "rq:scheduled:default",
    ] {
        assert!(
            !zset_members(&harness, key).contains(&"j1".to_string()),
            "{key}"
        );
    }
}

// ----- R17 -------------------------------------------------------------------------------

/// A job that fails once, then succeeds, with `Retry(max=2, interval=70)`.
fn fails_once_then_retries_after_70_s() -> JobClass {
    let mut class = long_class("flaky", 5, Some(2));
    class.retry_intervals_s = [70].into();
    class.fail_attempts = vec![1];
    class
}

/// Two workers on one queue, each running maintenance every ≤ 15 s while idle (worker TTL 30 s:
/// a 15 s BLMOVE; maintenance interval 10 s); worker-a also runs the scheduler. Twice, on the
/// job's first pass and on its retry, the worker that popped j1 is SIGSTOPped for 20 s right
/// after the pop (`job_dequeued`), before `prepare_execution` puts it in `rq:wip:default`, so
/// that the other worker's maintenance finds j1 in the intermediate list only.
fn job_stalled_after_its_pop_twice(what_if: WhatIf) -> Harness {
    let mut config = HarnessConfig::default();
    config.params.what_if = what_if;
    config.params.worker_ttl = SimDuration::from_secs(30);
    config.params.maintenance_interval = SimDuration::from_secs(10);
    let harness = Harness::new(config, vec![fails_once_then_retries_after_70_s()]);
    let (host_a, host_b) = (harness.add_host(), harness.add_host());
    harness.start_worker("worker-a", host_a, &["default"], true);
    harness.start_worker("worker-b", host_b, &["default"], false);
    harness.run_until(at(1.0));
    harness.enqueue("flaky");
    for pass in 1..=2 {
        step_until(&harness, SimDuration::from_secs(120), |h| {
            job_events(h, "job_dequeued", "j1").len() == pass
        });
        let popper = job_events(&harness, "job_dequeued", "j1")[pass - 1].clone();
        let pod = popper.pod.as_deref().expect("a worker popped it");
        let worker = process(&harness, pod, Role::Worker);
        assert_eq!(list(&harness, "rq:queue:default:intermediate"), ["j1"]);
        assert!(zset_members(&harness, "rq:wip:default").is_empty());
        harness.signal(&worker, Signal::Stop);
        harness.run_for(SimDuration::from_secs(20));
        harness.signal(&worker, Signal::Cont);
    }
    harness.run_for(SimDuration::from_secs(200));
    harness
}

/// §9 R17 on stock RQ 2.12: the first stall leaves `first_seen` set (the other worker's
/// `SET NX` wins, so it waits); the retry's stall, > 60 s later, finds that stale key and fails
/// j1 as "stuck in intermediate queue" while its worker goes on to run it: j1 succeeds, then
/// runs a third time from the retry the cleaner scheduled.
#[test]
fn r17_a_stale_first_seen_fails_a_retry_as_stuck_and_the_job_runs_after_finishing() {
    let harness = job_stalled_after_its_pop_twice(WhatIf::default());
    let abandoned = job_events(&harness, "job_abandoned", "j1");
    assert_eq!(abandoned.len(), 1, "{abandoned:?}");
    assert_eq!(
        abandoned[0].kind,
        EventKind::JobAbandoned {
            reason: "Job was stuck in intermediate queue.".into()
        }
    );
    let started = job_events(&harness, "job_started", "j1");
    let finished = job_events(&harness, "job_finished", "j1");
    assert_eq!(started.len(), 3, "fail, success, and a run after success");
    assert_eq!(finished.len(), 2);
    assert!(
        started[2].time > finished[0].time,
        "the third run came after success"
    );
    assert!(
        secs(abandoned[0].time) < secs(started[1].time),
        "failed before it ran"
    );
}

/// What-if `first_seen_per_enqueue`: the retry was enqueued anew, so its stall sets a key of
/// its own and the cleaner waits: two runs.
#[test]
fn r17_first_seen_per_enqueue_runs_the_job_twice_only() {
    let what_if = WhatIf {
        first_seen_per_enqueue: true,
        ..WhatIf::default()
    };
    let harness = job_stalled_after_its_pop_twice(what_if);
    assert!(job_events(&harness, "job_abandoned", "j1").is_empty());
    assert_eq!(job_events(&harness, "job_started", "j1").len(), 2);
    assert_eq!(job_events(&harness, "job_finished", "j1").len(), 1);
}
