//! The checkers on hand-written event streams: each check holds on a clean stream and fails on
//! one that breaks it. Section numbers refer to `rq-semantics.md`.

use simrq::check::testing::{horse, FixedEnd, Stream, QUEUE};
use simrq::check::{CheckConfig, Checkers, JobLocation, Violation, CHECK_ORDER};
use simrq::event::{EventKind, Name};
use simrq::sim::SimDuration;

fn stream_with(config: CheckConfig) -> Stream<Checkers> {
    Stream::new(Checkers::new(&config, &[Name::from(QUEUE)]))
}

fn stream() -> Stream<Checkers> {
    stream_with(CheckConfig::default())
}

fn of<'a>(violations: &'a [Violation], check: &str) -> Vec<&'a Violation> {
    violations.iter().filter(|v| v.check == check).collect()
}

fn verdict(stream: &Stream<Checkers>, check: &str) -> bool {
    let verdicts = stream.checkers().verdicts();
    verdicts
        .iter()
        .find(|(name, _)| *name == check)
        .expect("check enabled")
        .1
}

/// A run long past the drain, with `s1` holding the lock at the end.
fn drained_end() -> FixedEnd {
    FixedEnd::at(5000.0).lock(QUEUE, "s1")
}

/// §3.7 and §4: a job fails, its interval retry is moved by the lock holder and runs on time.
fn healthy_retry(stream: &mut Stream<Checkers>) {
    stream.acquire(0.0, "s1").tick(0.0, "s1", 0, true, "s1");
    stream
        .create(1.0, "j1", 3, &[10, 30, 60])
        .enqueue(1.0, "j1");
    stream
        .start(1.5, "j1", "w1")
        .fail_and_schedule(2.0, "j1", "w1", 10, 2);
    stream.refresh(11.0, "s1", "s1");
    stream
        .scheduler_enqueue(11.0, "j1", "s1")
        .tick(11.0, "s1", 1, true, "s1");
    stream.start(11.2, "j1", "w2").finish(12.0, "j1", "w2");
}

#[test]
fn a_clean_stream_passes_every_check_in_a_fixed_order() {
    let mut stream = stream();
    healthy_retry(&mut stream);
    let violations = stream.checkers().finish(&drained_end());
    assert!(violations.is_empty(), "{violations:#?}");
    let verdicts = stream.checkers().verdicts();
    let names: Vec<&str> = verdicts.iter().map(|(name, _)| *name).collect();
    assert_eq!(names, CHECK_ORDER);
    assert!(verdicts.iter().all(|(_, passed)| *passed));
    assert_eq!(stream.checkers().safety_and_liveness_passed(), (true, true));
}

#[test]
fn disabled_checks_leave_the_verdicts_and_the_rest_keep_their_order() {
    let config = CheckConfig {
        single_active_scheduler: false,
        liveness: false,
        repeat_count: false,
        ..CheckConfig::default()
    };
    let stream = stream_with(config);
    let names: Vec<&str> = stream.checkers().verdicts().iter().map(|v| v.0).collect();
    assert_eq!(
        names,
        [
            "retry_count",
            "retry_timing",
            "duplicate_execution",
            "lost_job"
        ]
    );
}

/// §9 R1: s1 reads the due j1 and stalls past its lock's TTL; s2 acquires and enqueues j1,
/// which runs; s1 resumes and enqueues its stale copy, which runs again. Both the unlocked
/// enqueue (R14's definition) and the second execution are reported; retry_count stays quiet
/// although j1 ran 3 times with retry_max 1, because the duplicate explains the excess.
#[test]
fn r1_two_schedulers_enqueue_the_same_job() {
    let mut stream = stream();
    stream.acquire(0.0, "s1");
    stream.create(1.0, "j1", 1, &[10]).enqueue(1.0, "j1");
    stream
        .start(1.5, "j1", "w1")
        .fail_and_schedule(2.0, "j1", "w1", 10, 0);
    stream.refresh(12.0, "s1", "s1").pause(12.0, "s1");
    stream.acquire(100.0, "s2");
    stream
        .scheduler_enqueue(100.0, "j1", "s2")
        .tick(100.0, "s2", 1, true, "s2");
    stream.start(100.1, "j1", "w2").finish(101.0, "j1", "w2");
    stream.resume(103.0, "s1");
    stream
        .scheduler_enqueue(103.0, "j1", "s1")
        .tick(103.0, "s1", 1, true, "s2");
    stream.start(103.1, "j1", "w3").finish(104.0, "j1", "w3");
    stream.lose(104.0, "s1", "s2");
    let end = FixedEnd::at(5000.0).lock(QUEUE, "s2");
    let violations = stream.checkers().finish(&end);

    let unlocked = of(&violations, "single_active_scheduler");
    assert_eq!(unlocked.len(), 1, "{violations:#?}");
    assert_eq!(unlocked[0].job.as_deref(), Some("j1"));
    assert_eq!(unlocked[0].processes, [Name::from("s1"), Name::from("s2")]);
    assert!(unlocked[0].detail.contains("held by s2"));

    let duplicates = of(&violations, "duplicate_execution");
    assert_eq!(duplicates.len(), 1, "{violations:#?}");
    assert!(duplicates[0].detail.contains("after the job had finished"));
    assert_eq!(duplicates[0].time.as_secs_f64(), 103.1);
    assert!(of(&violations, "retry_count").is_empty());
    assert!(!verdict(&stream, "single_active_scheduler"));
    assert!(verdict(&stream, "retry_count"));
}

/// §9 R14 with §4.9 (2.10): two running schedulers both believe they hold the lock for
/// seconds. A 2.12 scheduler that resumes learns at its next heartbeat, within one tick.
#[test]
fn r14_two_believers_longer_than_a_tick_fail_one_tick_passes() {
    let mut lasting = stream();
    lasting.acquire(0.0, "s1").acquire(70.0, "s2");
    lasting.refresh(71.0, "s1", "s2").refresh(75.0, "s1", "s2");
    let violations = lasting.checkers().finish(&drained_end());
    let overlaps = of(&violations, "single_active_scheduler");
    assert_eq!(overlaps.len(), 1, "{violations:#?}");
    assert!(overlaps[0].detail.contains("from 70.000000"));
    assert_eq!(overlaps[0].processes, [Name::from("s1"), Name::from("s2")]);
    assert!(overlaps[0]
        .timeline
        .iter()
        .any(|l| l.contains("lock_acquired s2")));

    let mut brief = stream();
    brief
        .acquire(0.0, "s1")
        .pause(5.0, "s1")
        .acquire(70.0, "s2");
    brief.resume(80.0, "s1").lose(81.0, "s1", "s2");
    let violations = brief.checkers().finish(&drained_end());
    assert!(
        of(&violations, "single_active_scheduler").is_empty(),
        "{violations:#?}"
    );
}

/// §9 R14 (c): Redis holds one value; an acquisition Redis does not show is a model bug.
#[test]
fn an_acquisition_that_redis_does_not_show_is_reported() {
    let mut stream = stream();
    stream.acquire(0.0, "s1");
    let lock = simrq::event::LockView {
        scheduler: Name::from("s2"),
        believes_held: true,
        redis_holder: Some(Name::from("s1")),
    };
    stream.emit(1.0, "s2", "", EventKind::LockAcquired { lock });
    let violations = stream.checkers().finish(&drained_end());
    let found = of(&violations, "single_active_scheduler");
    assert!(
        found.iter().any(|v| v.detail.contains("model bug")),
        "{violations:#?}"
    );
}

/// §3.7, §8, §11: a retry with interval 10 s scheduled at 10 s is due at 20 s; RQ's floor
/// allows a start from 19 s, not at 18 s.
#[test]
fn a_retry_two_seconds_early_fails_and_one_within_the_floor_passes() {
    for (start_s, early) in [(18.0, true), (19.2, false)] {
        let mut stream = stream();
        stream.create(0.0, "j1", 1, &[10]).enqueue(0.0, "j1");
        stream
            .start(1.0, "j1", "w1")
            .fail_and_schedule(10.0, "j1", "w1", 10, 0);
        stream
            .start(start_s, "j1", "w2")
            .finish(start_s + 1.0, "j1", "w2");
        let violations = stream.checkers().finish(&FixedEnd::at(100.0));
        let timing = of(&violations, "retry_timing");
        assert_eq!(
            timing.len(),
            usize::from(early),
            "start {start_s}: {violations:#?}"
        );
        if early {
            assert!(timing[0].detail.contains("2s before its due time"));
            assert_eq!(
                timing[0].processes,
                [Name::from(horse("w2")), Name::from(horse("w1"))]
            );
        }
    }
}

/// §9 R10: with `max_retry_lateness = 30s`, a retry 31 s late fails, 29 s late passes, and a
/// retry still waiting when the run ends past its bound fails.
#[test]
fn retry_lateness_is_bounded_when_configured() {
    let config = CheckConfig {
        max_retry_lateness: Some(SimDuration::from_secs(30)),
        ..CheckConfig::default()
    };
    for (start_s, late) in [(51.0, true), (49.0, false)] {
        let mut stream = stream_with(config.clone());
        stream.create(0.0, "j1", 1, &[10]).enqueue(0.0, "j1");
        stream
            .start(1.0, "j1", "w1")
            .fail_and_schedule(10.0, "j1", "w1", 10, 0);
        stream
            .start(start_s, "j1", "w2")
            .finish(start_s + 1.0, "j1", "w2");
        let violations = stream.checkers().finish(&FixedEnd::at(100.0));
        assert_eq!(of(&violations, "retry_timing").len(), usize::from(late));
    }
    let mut waiting = stream_with(config);
    waiting.create(0.0, "j1", 1, &[10]).enqueue(0.0, "j1");
    waiting
        .start(1.0, "j1", "w1")
        .fail_and_schedule(10.0, "j1", "w1", 10, 0);
    let end = FixedEnd::at(100.0).job("j1", JobLocation::Scheduled);
    let violations = waiting.checkers().finish(&end);
    let timing = of(&violations, "retry_timing");
    assert_eq!(timing.len(), 1, "{violations:#?}");
    assert_eq!(timing[0].time.as_secs_f64(), 50.0);
    assert!(timing[0].detail.contains("had not started"));
}

/// §3.7: "a job runs at most 1 + max times in the absence of races". Here each retry is a
/// proper retry decision (as after §9 R12's stale overwrite of retries_left), so the fifth
/// execution with max 3 is retry_count's, not a duplicate.
#[test]
fn five_executions_with_retry_max_three_fail_retry_count() {
    let mut stream = stream();
    stream.create(0.0, "j1", 3, &[]).enqueue(0.0, "j1");
    for attempt in 0..5 {
        let at = 10.0 * f64::from(attempt) + 1.0;
        stream
            .start(at, "j1", "w1")
            .fail_and_requeue(at + 1.0, "j1", "w1", 2 - i64::from(attempt));
    }
    let violations = stream.checkers().finish(&FixedEnd::at(100.0));
    let counts = of(&violations, "retry_count");
    assert_eq!(counts.len(), 1, "{violations:#?}");
    assert!(counts[0].detail.contains("execution 5"));
    assert_eq!(counts[0].time.as_secs_f64(), 41.0);
    assert!(of(&violations, "duplicate_execution").is_empty());
}

/// §9 R2: j1 is declared abandoned while w1's horse still runs it; w2 runs it meanwhile, and
/// w1's horse then fails and consumes another retry, so j1 runs 3 times with max 1. The
/// concurrent execution is the violation, reported with both processes; retry_count is quiet.
#[test]
fn a_duplicate_explains_an_excess_of_executions() {
    let mut stream = stream();
    stream.create(0.0, "j1", 1, &[]).enqueue(0.0, "j1");
    stream.start(1.0, "j1", "w1");
    let abandoned = EventKind::JobAbandoned {
        reason: "wip score expired".into(),
    };
    stream.emit(100.0, "w9", "j1", abandoned);
    stream.emit(
        100.0,
        "w9",
        "j1",
        EventKind::JobRetryRequeued { retries_left: 0 },
    );
    stream.start(101.0, "j1", "w2").fail(101.5, "j1", "w2");
    stream.fail_and_requeue(102.0, "j1", "w1", 0);
    // The third execution is itself no duplicate: nothing runs, j1 has not finished and a
    // retry was decided. Only the earlier duplicate explains it.
    stream.start(104.0, "j1", "w3").finish(105.0, "j1", "w3");
    let violations = stream.checkers().finish(&FixedEnd::at(200.0));
    let duplicates = of(&violations, "duplicate_execution");
    assert_eq!(duplicates.len(), 1, "{violations:#?}");
    assert!(duplicates[0]
        .detail
        .contains("while another execution was running"));
    let processes = [Name::from(horse("w2")), Name::from(horse("w1"))];
    assert_eq!(duplicates[0].processes, processes);
    assert!(of(&violations, "retry_count").is_empty(), "{violations:#?}");
}

/// `duplicate_executions = 1` tolerates one duplicate; the second is the violation.
#[test]
fn the_duplicate_threshold_counts_occurrences() {
    for (runs_after_finish, passes) in [(1, true), (2, false)] {
        let config = CheckConfig {
            duplicate_executions: Some(1),
            ..CheckConfig::default()
        };
        let mut stream = stream_with(config);
        stream.create(0.0, "j1", 0, &[]).enqueue(0.0, "j1");
        stream.start(1.0, "j1", "w1").finish(2.0, "j1", "w1");
        for run in 0..runs_after_finish {
            let at = 10.0 + 10.0 * f64::from(run);
            stream.start(at, "j1", "w2").finish(at + 1.0, "j1", "w2");
        }
        let violations = stream.checkers().finish(&FixedEnd::at(100.0));
        assert_eq!(verdict(&stream, "duplicate_execution"), passes);
        assert_eq!(
            of(&violations, "duplicate_execution").len(),
            usize::from(!passes)
        );
    }
}

/// §9 R5: a job never seen again after its dequeue and in no registry at the end is lost,
/// reported with its last event; a finished job whose hash expired (result_ttl) is not, nor
/// are queued, scheduled or started ones.
#[test]
fn a_job_never_seen_again_is_lost() {
    let mut stream = stream();
    for job in ["j1", "j2", "j3", "j4"] {
        stream.create(0.0, job, 0, &[]).enqueue(0.0, job);
    }
    stream.emit(1.0, "w1", "j1", EventKind::JobDequeued);
    stream.start(1.0, "j2", "w2").finish(2.0, "j2", "w2");
    let end = FixedEnd::at(100.0)
        .job("j1", JobLocation::Missing)
        .job("j2", JobLocation::Missing)
        .job("j3", JobLocation::Queued)
        .job("j4", JobLocation::Intermediate);
    let violations = stream.checkers().finish(&end);
    let lost = of(&violations, "lost_job");
    let jobs: Vec<&str> = lost.iter().filter_map(|v| v.job.as_deref()).collect();
    assert_eq!(jobs, ["j4", "j1"], "sorted by time: {violations:#?}");
    assert!(lost[1].detail.contains("job_dequeued"));
    assert!(lost[1]
        .timeline
        .last()
        .unwrap()
        .contains("job_dequeued w1 job=j1"));
}

/// §9 R5a: a `job_lost` event counts at once, once; `lost_jobs = 1` tolerates it.
#[test]
fn a_job_lost_event_counts_and_respects_the_threshold() {
    for (allowed, passes) in [(None, false), (Some(1), true)] {
        let config = CheckConfig {
            lost_jobs: allowed,
            ..CheckConfig::default()
        };
        let mut stream = stream_with(config);
        stream
            .create(0.0, "j1", 0, &[])
            .enqueue(0.0, "j1")
            .lost(1.0, "j1", "w1");
        let end = FixedEnd::at(10.0).job("j1", JobLocation::Missing);
        let violations = stream.checkers().finish(&end);
        assert_eq!(of(&violations, "lost_job").len(), usize::from(!passes));
        assert_eq!(verdict(&stream, "lost_job"), passes);
    }
}

/// §4.8, §11: after the drain, a queue served by `--with-scheduler` workers without a lock
/// holder, or a job still queued, breaks liveness; before the drain nothing is judged.
#[test]
fn liveness_is_judged_only_after_the_drain() {
    let config = CheckConfig {
        drain: SimDuration::from_secs(600),
        ..CheckConfig::default()
    };
    let cases = [(1000.0, 0), (1100.0, 2)];
    for (end_s, expected) in cases {
        let mut stream = stream_with(config.clone());
        stream.create(0.0, "j1", 0, &[]).enqueue(0.0, "j1");
        let end = FixedEnd::at(end_s)
            .faults_ended(450.0)
            .job("j1", JobLocation::Queued);
        let violations = stream.checkers().finish(&end);
        let liveness = of(&violations, "liveness");
        assert_eq!(liveness.len(), expected, "end {end_s}: {violations:#?}");
        assert_eq!(
            stream.checkers().safety_and_liveness_passed(),
            (true, expected == 0)
        );
    }
}

#[test]
fn no_lock_holder_after_the_drain_names_the_queue() {
    let mut stream = stream();
    healthy_retry(&mut stream);
    let violations = stream.checkers().finish(&FixedEnd::at(5000.0));
    let liveness = of(&violations, "liveness");
    assert_eq!(liveness.len(), 1, "{violations:#?}");
    assert_eq!(liveness[0].queue.as_deref(), Some(QUEUE));
    assert!(liveness[0].detail.contains("no scheduler holds the lock"));
}

/// Timelines show at most 12 lines, the newest last, each naming its event kind.
#[test]
fn timelines_are_bounded_and_name_the_events() {
    let mut stream = stream();
    stream.create(0.0, "j1", 30, &[]).enqueue(0.0, "j1");
    for attempt in 0..20 {
        let at = 10.0 * f64::from(attempt) + 1.0;
        stream
            .start(at, "j1", "w1")
            .fail_and_requeue(at + 1.0, "j1", "w1", 1);
    }
    stream.start(300.0, "j1", "w1").start(300.5, "j1", "w2");
    let violations = stream.checkers().finish(&FixedEnd::at(400.0));
    let duplicate = of(&violations, "duplicate_execution")[0];
    assert_eq!(duplicate.timeline.len(), 12);
    let last = duplicate.timeline.last().unwrap();
    assert!(
        last.starts_with("300.500000 job_started w2.horse job=j1 attempt=22"),
        "{last}"
    );
    assert!(duplicate.timeline[10].contains("job_started w1.horse"));
}

/// Violations come sorted by time, then by check order.
#[test]
fn violations_are_sorted_by_time_then_check() {
    let mut stream = stream();
    stream.create(0.0, "j2", 0, &[]).enqueue(0.0, "j2");
    stream.create(0.0, "j1", 0, &[]).enqueue(0.0, "j1");
    stream
        .start(1.0, "j1", "w1")
        .finish(2.0, "j1", "w1")
        .start(5.0, "j1", "w1");
    let end = FixedEnd::at(5000.0)
        .lock(QUEUE, "s1")
        .job("j2", JobLocation::Missing)
        .job("j1", JobLocation::Started);
    let violations = stream.checkers().finish(&end);
    let order: Vec<(f64, &str)> = violations
        .iter()
        .map(|v| (v.time.as_secs_f64(), v.check))
        .collect();
    assert_eq!(
        order,
        [
            (0.0, "lost_job"),
            (5.0, "duplicate_execution"),
            (5000.0, "liveness"),
            (5000.0, "liveness"),
        ]
    );
}

/// The numbers `summary.json` reports come from the same checkers, tolerated ones included.
#[test]
fn counts_for_the_summary_include_tolerated_occurrences() {
    let config = CheckConfig {
        duplicate_executions: Some(5),
        lost_jobs: Some(5),
        drain: SimDuration::from_secs(600),
        ..CheckConfig::default()
    };
    let mut stream = stream_with(config);
    stream.create(0.0, "j1", 1, &[10]).enqueue(0.0, "j1");
    stream
        .start(1.0, "j1", "w1")
        .fail_and_schedule(2.0, "j1", "w1", 10, 0);
    stream.start(20.0, "j1", "w2").start(21.0, "j1", "w3");
    stream.create(0.0, "j2", 0, &[]).enqueue(0.0, "j2");
    let end = FixedEnd::at(100.0).job("j2", JobLocation::Missing);
    let violations = stream.checkers().finish(&end);
    let checkers = stream.checkers();
    assert!(of(&violations, "duplicate_execution").is_empty());
    assert_eq!(checkers.duplicate_executions(), 1);
    assert_eq!(checkers.lost_jobs(), 1);
    assert_eq!(checkers.worst_retry_lateness(), SimDuration::from_secs(8));
    assert_eq!(checkers.liveness_judged(), Some(false));
}

/// §9 R7: a producer's push is re-sent, so j1 is queued twice; its two runs do not overlap
/// and j1 never fails, yet it ran twice. The second run is the duplicate, reported with the
/// time it started once it has ended.
#[test]
fn a_second_copy_of_the_id_runs_again_and_is_a_duplicate() {
    let mut stream = stream();
    stream
        .create(0.0, "j1", 0, &[])
        .enqueue(0.0, "j1")
        .enqueue(0.0, "j1");
    stream.start(1.0, "j1", "w1").fail(2.0, "j1", "w1");
    stream.start(3.0, "j1", "w2").fail(4.0, "j1", "w2");
    let violations = stream.checkers().finish(&FixedEnd::at(100.0));
    let duplicates = of(&violations, "duplicate_execution");
    assert_eq!(duplicates.len(), 1, "{violations:#?}");
    assert_eq!(duplicates[0].time.as_secs_f64(), 3.0);
    assert!(duplicates[0].detail.contains("no retry decided"));
    assert!(of(&violations, "retry_count").is_empty(), "{violations:#?}");
}

/// docs/repeat-and-webhooks.md: `Repeat(times=2)` with a retried failure between its runs is
/// three successes and one retry; every check holds and each repeat is a legitimate run.
#[test]
fn a_repeated_job_with_a_retry_between_its_runs_passes_every_check() {
    let mut stream = stream();
    stream.acquire(0.0, "s1");
    stream
        .create_repeating(1.0, "j1", 1, &[], 2)
        .enqueue(1.0, "j1");
    stream
        .start(2.0, "j1", "w1")
        .repeat_requeue(3.0, "j1", "w1", 1);
    stream
        .start(4.0, "j1", "w2")
        .fail_and_requeue(5.0, "j1", "w2", 0);
    stream
        .start(6.0, "j1", "w1")
        .repeat_schedule(7.0, "j1", "w1", 10, 0);
    stream.scheduler_enqueue(17.0, "j1", "s1");
    stream.start(17.1, "j1", "w2").finish(18.0, "j1", "w2");
    let violations = stream.checkers().finish(&drained_end());
    assert!(violations.is_empty(), "{violations:#?}");
    assert!(verdict(&stream, "repeat_count"));
}

/// An injected violation of "no more": `Repeat(times=1)` succeeds three times, each run
/// authorised by the previous one's repeat decision (a stale `repeats_left`, no overlap).
/// `repeat_count` reports it; `retry_count` and `duplicate_execution` do not.
#[test]
fn repeat_count_reports_a_job_that_repeats_too_often() {
    let mut stream = stream();
    stream
        .create_repeating(0.0, "j1", 0, &[], 1)
        .enqueue(0.0, "j1");
    stream
        .start(1.0, "j1", "w1")
        .repeat_schedule(2.0, "j1", "w1", 1, 0);
    stream
        .start(3.0, "j1", "w2")
        .repeat_schedule(4.0, "j1", "w2", 1, 0);
    stream.start(5.0, "j1", "w2").finish(6.0, "j1", "w2");
    let violations = stream.checkers().finish(&drained_end());
    let checks: Vec<&str> = violations.iter().map(|v| v.check).collect();
    assert_eq!(checks, ["repeat_count"], "{violations:#?}");
    assert_eq!(violations[0].time.as_secs_f64(), 6.0);
    assert!(violations[0].detail.contains("succeeded 3 times"));
    assert!(!verdict(&stream, "repeat_count"));
}

/// An injected violation of "no fewer": `Repeat(times=2)` finishes after one repeat.
#[test]
fn repeat_count_reports_a_job_that_finished_with_repeats_missing() {
    let mut stream = stream();
    stream
        .create_repeating(0.0, "j1", 0, &[], 2)
        .enqueue(0.0, "j1");
    stream
        .start(1.0, "j1", "w1")
        .repeat_requeue(2.0, "j1", "w1", 1);
    stream.start(3.0, "j1", "w1").finish(4.0, "j1", "w1");
    let violations = stream.checkers().finish(&drained_end());
    let found = of(&violations, "repeat_count");
    assert_eq!(found.len(), 1, "{violations:#?}");
    assert!(found[0]
        .detail
        .contains("finished after 2 successful runs, fewer than"));
    assert_eq!(violations.len(), 1, "{violations:#?}");
}

/// Two copies of a repeated job run at once (§9 R2-like): `duplicate_execution` reports it,
/// and the extra success it causes is not reported a second time by `repeat_count`.
#[test]
fn an_excess_of_repeats_that_a_duplicate_explains_is_left_to_duplicate_execution() {
    let mut stream = stream();
    stream
        .create_repeating(0.0, "j1", 0, &[], 1)
        .enqueue(0.0, "j1");
    stream.start(1.0, "j1", "w1").start(1.5, "j1", "w2");
    stream.repeat_requeue(2.0, "j1", "w1", 0);
    stream.repeat_requeue(2.5, "j1", "w2", 0);
    stream.start(3.0, "j1", "w1").finish(4.0, "j1", "w1");
    let violations = stream.checkers().finish(&drained_end());
    assert_eq!(
        of(&violations, "duplicate_execution").len(),
        1,
        "{violations:#?}"
    );
    assert!(
        of(&violations, "repeat_count").is_empty(),
        "{violations:#?}"
    );
}

/// A repeat decided and never started (no scheduler moved it) fails liveness once the run
/// has drained, although the id is still in `rq:finished:<q>` from the earlier run.
#[test]
fn a_repeat_that_never_runs_fails_liveness_even_with_its_id_in_the_finished_registry() {
    let mut stream = stream();
    stream
        .create_repeating(0.0, "j1", 0, &[], 1)
        .enqueue(0.0, "j1");
    stream
        .start(1.0, "j1", "w1")
        .repeat_schedule(2.0, "j1", "w1", 5, 0);
    let end = drained_end().job("j1", JobLocation::Finished);
    let violations = stream.checkers().finish(&end);
    let liveness = of(&violations, "liveness");
    assert_eq!(liveness.len(), 1, "{violations:#?}");
    assert!(liveness[0]
        .detail
        .contains("has a repeat that never started"));
    assert!(of(&violations, "repeat_count").is_empty());
}
