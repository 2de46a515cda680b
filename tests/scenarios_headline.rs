//! Every shipped scenario (but `capacity` and `pod-churn`, which are long runs) against what
//! `rq-semantics.md` predicts for it. Each test reads the run's own outputs (summary, jobs.csv,
//! events.csv) and checks the scenario's headline numbers, exactly or within tight bounds.

mod outputs;

use std::path::Path;

use outputs::{of_kind, read_events, read_jobs, run_into, EventRow};
use simrq::event::EPOCH_UNIX_S;
use simrq::run::RunResult;

/// Runs `name` with its own seed; returns the result and the parsed events.
fn run(name: &str) -> (RunResult, Vec<EventRow>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let result = run_into(name, None, dir.path(), false);
    let events = read_events(dir.path());
    (result, events, dir)
}

fn close(actual: f64, expected: f64, tolerance: f64) -> bool {
    (actual - expected).abs() <= tolerance
}

/// Enqueues of `job` by a scheduler, in time order.
fn scheduler_enqueues<'a>(events: &'a [EventRow], job: &str) -> Vec<&'a EventRow> {
    events
        .iter()
        .filter(|e| e.kind == "job_enqueued" && e.job == job)
        .filter(|e| e.detail("source").as_deref() == Some("scheduler"))
        .collect()
}

/// For each interval retry: (pod of the failing horse, interval s, scheduler enqueue − failure).
fn retry_delays(events: &[EventRow]) -> Vec<(String, f64, f64)> {
    let mut delays = Vec::new();
    for scheduled in of_kind(events, "job_retry_scheduled") {
        let interval: f64 = scheduled.detail("interval_s").unwrap().parse().unwrap();
        let failure = events
            .iter()
            .rev()
            .filter(|e| e.seq < scheduled.seq && e.job == scheduled.job)
            .find(|e| e.kind == "job_failed")
            .expect("a retry follows a failure");
        let enqueue = scheduler_enqueues(events, &scheduled.job)
            .into_iter()
            .find(|e| e.seq > scheduled.seq);
        if let Some(enqueue) = enqueue {
            let delay = enqueue.time_s - failure.time_s;
            delays.push((failure.pod.clone(), interval, delay));
        }
    }
    delays
}

/// §3.7: an interval-0 retry is re-enqueued at once while retries are left, so an always-failing
/// job with `Retry(max=3)` runs exactly 1 + 3 times and ends in FailedJobRegistry.
#[test]
fn retry_simple_runs_each_job_one_plus_max_times() {
    let (result, _, dir) = run("retry-simple");
    let summary = &result.summary;
    assert_eq!(summary.jobs, 20);
    assert_eq!(summary.executions, 80);
    assert_eq!(summary.retries, 60);
    assert_eq!(summary.outcomes.failed, 20);
    assert_eq!(summary.duplicate_executions, 0);
    for job in read_jobs(dir.path()) {
        assert_eq!(job["executions"], "4", "{job:?}");
        assert_eq!(job["retries_used"], "3", "{job:?}");
        assert_eq!(job["outcome"], "failed", "{job:?}");
    }
}

/// §3.7 and §11: with a healthy scheduler a retry with interval I is enqueued I − 1 … I + 1 s
/// after its failure, and the intervals `[10, 30, 60]` are used in order for `max=3`.
#[test]
fn retry_interval_enqueues_each_retry_within_a_second_of_its_interval() {
    let (result, events, _dir) = run("retry-interval");
    let summary = &result.summary;
    assert!(summary.jobs >= 100, "{}", summary.jobs);
    assert_eq!(summary.executions, 4 * summary.jobs);
    assert_eq!(summary.retries, 3 * summary.jobs);
    let delays = retry_delays(&events);
    assert_eq!(delays.len() as u64, 3 * summary.jobs);
    for (pod, interval, delay) in &delays {
        assert!(
            *delay >= interval - 1.0 && *delay <= interval + 1.0,
            "{pod}: retry with interval {interval} s enqueued {delay} s after its failure"
        );
    }
    let intervals_of_j1: Vec<String> = of_kind(&events, "job_retry_scheduled")
        .into_iter()
        .filter(|e| e.job == "j1")
        .filter_map(|e| e.detail("interval_s"))
        .collect();
    assert_eq!(intervals_of_j1, ["10", "30", "60"]);
    let lateness = &summary.retry_lateness_s;
    assert!(lateness.max.unwrap() <= 1.0 && lateness.p50.unwrap() >= -1.0);
    assert!(summary.all_checks_pass());
}

/// §4.1 and §9 R10: without a `--with-scheduler` worker nothing moves due jobs, so interval
/// retries stay in the scheduled registry: one execution per job, every job `scheduled`.
#[test]
fn no_scheduler_leaves_interval_retries_scheduled() {
    let (result, events, _dir) = run("no-scheduler");
    let summary = &result.summary;
    assert_eq!(summary.jobs, 5);
    assert_eq!(summary.executions, 5);
    assert_eq!(summary.outcomes.scheduled, 5);
    assert_eq!(summary.retry_lateness_s.count, 0);
    assert_eq!(summary.retry_lateness_s.pending_at_end, 5);
    assert_eq!(of_kind(&events, "job_retry_scheduled").len(), 5);
    let moved = events
        .iter()
        .filter(|e| e.kind == "job_enqueued" && e.detail("source").as_deref() == Some("scheduler"))
        .count();
    assert_eq!(moved, 0);
    assert_eq!(
        summary.checks["liveness"],
        simrq::report::summary::Verdict::Fail
    );
}

/// The first `lock_acquired` after `after_s`, and the process that ran it.
fn first_acquisition_after(events: &[EventRow], after_s: f64) -> &EventRow {
    events
        .iter()
        .find(|e| e.kind == "lock_acquired" && e.time_s > after_s)
        .expect("the lock is taken again")
}

/// A takeover happens inside a maintenance run of the acquiring worker (§4.8): that run's
/// `maintenance` event follows within a few milliseconds, from the same process.
fn assert_taken_at_maintenance(events: &[EventRow], acquired: &EventRow) {
    let run_end = events
        .iter()
        .find(|e| e.kind == "maintenance" && e.seq > acquired.seq && e.process == acquired.process)
        .expect("a maintenance run");
    assert!(
        run_end.time_s - acquired.time_s < 0.05,
        "lock taken at {} but {}'s maintenance ended at {}",
        acquired.time_s,
        acquired.process,
        run_end.time_s
    );
}

/// §6.3 and §11: after SIGKILL the lock lives 61 s past its last refresh; then the first
/// maintenance run (not a worker's first) of a worker without a live scheduler takes it, at
/// most one maintenance period (810 s idle) later. Retries due in the gap wait for it.
#[test]
fn holder_crash_leaves_no_scheduler_for_61_s_plus_up_to_one_maintenance_period() {
    let (result, events, _dir) = run("holder-crash");
    let kill = of_kind(&events, "fault")[0];
    assert!(
        kill.detail.starts_with("fault=pod_kill pod="),
        "{}",
        kill.detail
    );
    let killed_pod = kill.detail.trim_start_matches("fault=pod_kill pod=");
    let last_refresh = events
        .iter()
        .rfind(|e| e.kind == "lock_refreshed" && e.time_s <= kill.time_s)
        .expect("the holder refreshed its lock");
    assert_eq!(last_refresh.pod, killed_pod);
    assert!(kill.time_s - last_refresh.time_s <= 1.01);
    let expiry = last_refresh.time_s + 61.0;
    let acquired = first_acquisition_after(&events, kill.time_s);
    assert!(
        acquired.time_s >= expiry,
        "taken at {} before expiry",
        acquired.time_s
    );
    assert!(acquired.time_s - expiry <= 810.0 + 1.0);
    assert_taken_at_maintenance(&events, acquired);
    // Nobody else's maintenance ran between the expiry and the takeover (a worker's first run
    // after its start does not try the lock, §4.8).
    let births: Vec<&EventRow> = of_kind(&events, "worker_born");
    let earlier_runs = events
        .iter()
        .filter(|e| e.kind == "maintenance" && e.time_s > expiry && e.time_s < acquired.time_s);
    for run in earlier_runs {
        let born = births.iter().find(|b| b.process == run.process).unwrap();
        assert!(
            run.time_s - born.time_s < 0.1,
            "{} skipped the lock at {}",
            run.process,
            run.time_s
        );
    }
    // The lock's absence is measured from the first one-second sample without a holder; the
    // time without a live scheduler from the kill itself.
    let absent = acquired.time_s - expiry;
    let reported = result
        .summary
        .longest_lock_absent_s
        .expect("a served queue");
    assert!(
        reported <= absent + 0.001 && reported >= absent - 1.0,
        "{reported} vs {absent}"
    );
    let gap = acquired.time_s - kill.time_s;
    let reported = result
        .summary
        .longest_scheduler_gap_s
        .expect("a served queue");
    assert!((reported - gap).abs() < 0.001, "{reported} vs {gap}");
    // Every retry that fell due in the gap was enqueued by the new holder's first tick.
    let new_holder_first_tick = acquired.time_s + 0.1;
    let mut due_in_gap = 0;
    for scheduled in of_kind(&events, "job_retry_scheduled") {
        let due_s = (scheduled
            .detail("due_unix_s")
            .unwrap()
            .parse::<i64>()
            .unwrap()
            - EPOCH_UNIX_S) as f64;
        if due_s > kill.time_s && due_s < acquired.time_s - 1.0 {
            due_in_gap += 1;
            let enqueue = scheduler_enqueues(&events, &scheduled.job)
                .into_iter()
                .find(|e| e.seq > scheduled.seq)
                .unwrap();
            assert!(
                enqueue.time_s >= acquired.time_s && enqueue.time_s < new_holder_first_tick,
                "{} due at {due_s} enqueued at {}",
                scheduled.job,
                enqueue.time_s
            );
        }
    }
    // The case the loop checks must occur, or the test checks nothing.
    assert!(
        due_in_gap > 0,
        "no retry fell due between the kill at {} and the takeover at {}",
        kill.time_s,
        acquired.time_s
    );
    assert!(result.summary.retry_lateness_s.max.unwrap() <= acquired.time_s - kill.time_s);
}

/// §11 "Graceful stop" and §9 R10: in a rollout the new pod starts before the old one
/// releases the lock, so nobody holds it until the new worker's next maintenance run, 810 s
/// after its start when idle (two 405 s dequeue timeouts, §5.1).
#[test]
fn rolling_deploy_leaves_the_lock_free_until_the_new_pods_maintenance() {
    let (result, events, _dir) = run("rolling-deploy");
    let released = of_kind(&events, "lock_released")[0];
    let new_worker = of_kind(&events, "worker_born")
        .into_iter()
        .find(|e| e.pod != released.pod)
        .expect("a new pod");
    assert!(
        new_worker.time_s < released.time_s,
        "the new pod started first"
    );
    let acquired = first_acquisition_after(&events, released.time_s);
    assert_eq!(acquired.process, new_worker.process);
    assert_taken_at_maintenance(&events, acquired);
    let since_start = acquired.time_s - new_worker.time_s;
    assert!(
        close(since_start, 810.0, 0.05),
        "taken {since_start} s after the start"
    );
    let gap = acquired.time_s - released.time_s;
    assert!(gap > 800.0 && gap < 810.0, "{gap}");
    // A released lock: no live holder and no key, the same gap either way.
    let absent = result
        .summary
        .longest_lock_absent_s
        .expect("a served queue");
    let reported = result
        .summary
        .longest_scheduler_gap_s
        .expect("a served queue");
    assert!((absent - reported).abs() < 1.0, "{absent} vs {reported}");
    assert!(
        reported <= gap + 0.001 && reported >= gap - 1.0,
        "{reported} vs {gap}"
    );
    // The ten retries fell due at ~6 min, inside the gap, and move in the takeover's first tick.
    assert_eq!(result.summary.retries, 10);
    for job in 1..=10 {
        let enqueues = scheduler_enqueues(&events, &format!("j{job}"));
        assert_eq!(enqueues.len(), 1);
        assert!(enqueues[0].time_s - acquired.time_s < 0.1);
    }
    let lateness_max = result.summary.retry_lateness_s.max.unwrap();
    assert!(
        close(lateness_max, acquired.time_s - 361.0, 1.1),
        "{lateness_max}"
    );
}

/// Errors of one worker's dequeue block, in time order.
fn dequeue_errors<'a>(events: &'a [EventRow], process: &str) -> Vec<&'a EventRow> {
    events
        .iter()
        .filter(|e| e.kind == "redis_error" && e.process == process)
        .filter(|e| e.detail("phase").as_deref() == Some("dequeue"))
        .collect()
}

/// §7 "Back-off detail": a ConnectionError in the dequeue block sleeps 1, 2, 4, 8 … s; the
/// worker resumes only after the sleep that ends past the outage. §4.8: the scheduler
/// process dies on its first error and is re-forked at a maintenance run.
#[test]
fn redis_blip_backs_off_one_two_four_eight_seconds_and_resumes() {
    let (result, events, _dir) = run("redis-blip");
    let outage_start = 120.0;
    let outage_end = 140.0;
    for process in ["worker-0.w1", "worker-1.w2"] {
        let errors = dequeue_errors(&events, process);
        let times: Vec<f64> = errors.iter().map(|e| e.time_s - outage_start).collect();
        assert_eq!(times.len(), 5, "{process}: {times:?}");
        for (index, pause) in [1.0, 2.0, 4.0, 8.0].iter().enumerate() {
            let step = times[index + 1] - times[index];
            assert!(close(step, *pause, 0.01), "{process}: {times:?}");
        }
        let last_error = errors.last().unwrap().time_s;
        assert!(last_error < outage_end);
        let resumed = events
            .iter()
            .find(|e| e.process == process && e.time_s > last_error && e.kind == "job_dequeued")
            .expect("the worker resumes");
        assert!(
            close(resumed.time_s, last_error + 16.0, 0.05),
            "{}",
            resumed.time_s
        );
    }
    let died = of_kind(&events, "scheduler_died");
    assert_eq!(died.len(), 1);
    assert!(died[0].time_s >= outage_start && died[0].time_s < outage_start + 1.1);
    let acquired = first_acquisition_after(&events, outage_start);
    assert_taken_at_maintenance(&events, acquired);
    assert_eq!(result.summary.duplicate_executions, 0);
}

/// §5.3, §9 R11 and §11 "Pod killed mid-job": the wip score is the last heartbeat + 90 s
/// (≤ kill + 90 s, > kill + 60 s with 30 s heartbeats); the first maintenance run after the
/// score retries the job (interval 0: requeued at once), which then runs a second time.
#[test]
fn abandoned_job_is_retried_at_the_first_maintenance_run_after_its_score() {
    let (result, events, dir) = run("abandoned-job");
    let kill = of_kind(&events, "fault")[0];
    assert_eq!(kill.detail, "fault=pod_kill pod=runner-0");
    let abandoned = of_kind(&events, "job_abandoned");
    assert_eq!(abandoned.len(), 1);
    let abandoned = abandoned[0];
    assert!(abandoned.time_s - kill.time_s > 90.0);
    assert!(abandoned.time_s - kill.time_s <= 90.0 + 810.0);
    let first_run_after_score = events
        .iter()
        .find(|e| e.kind == "maintenance" && e.time_s > kill.time_s + 60.0)
        .unwrap();
    assert_eq!(first_run_after_score.process, abandoned.process);
    assert!(first_run_after_score.time_s - abandoned.time_s < 0.05);
    let requeued = of_kind(&events, "job_retry_requeued");
    assert_eq!(requeued.len(), 1);
    assert_eq!(requeued[0].detail("retries_left").as_deref(), Some("0"));
    let starts = of_kind(&events, "job_started");
    assert_eq!(starts.len(), 2);
    assert!(starts[1].time_s - abandoned.time_s < 0.1);
    assert_eq!(result.summary.executions, 2);
    assert_eq!(result.summary.outcomes.finished, 1);
    let jobs = read_jobs(Path::new(dir.path()));
    assert_eq!(jobs[0]["executions"], "2");
}

/// §8: a retry's due time comes from the horse's clock and is compared on the scheduler's;
/// with skew Δ = scheduler − horse it is enqueued Δ early (Δ > 0) or late, ± the 1 s floors.
#[test]
fn clock_skew_shifts_retries_by_the_horses_offset() {
    let (_result, events, _dir) = run("clock-skew");
    let offsets = [("sched-0", 0.0), ("workers-0", 20.0), ("workers-1", -20.0)];
    let delays = retry_delays(&events);
    for (pod, offset) in offsets {
        let of_pod: Vec<f64> = delays
            .iter()
            .filter(|(p, _, _)| p == pod)
            .map(|(_, _, delay)| *delay)
            .collect();
        assert!(of_pod.len() >= 5, "{pod}: only {} retries", of_pod.len());
        let expected = 60.0 + offset;
        for delay in of_pod {
            assert!(
                delay >= expected - 1.0 && delay <= expected + 1.0,
                "{pod}: enqueued {delay} s after the failure, expected {expected} ± 1"
            );
        }
    }
}

/// The `[redis]` crash windows of a run: (what the disk held up to, the crash), in seconds,
/// from the `fault` rows.
fn crash_windows(events: &[EventRow]) -> Vec<(f64, f64)> {
    of_kind(events, "fault")
        .into_iter()
        .filter(|e| e.detail("fault").as_deref() == Some("redis_crash"))
        .map(|e| {
            let synced: f64 = e.detail("synced_to").unwrap().parse().unwrap();
            (synced, e.time_s)
        })
        .collect()
}

/// §7 with the AOF's `everysec` (docs/scenario-format.md, `[redis] appendfsync`): a crash of
/// Redis's node loses the writes since the last whole second. The jobs lost were all
/// created in such a second, the jobs run twice were all popped or ended in one, and with
/// `always` the same run loses nothing and runs nothing twice.
#[test]
fn redis_crash_loses_the_last_seconds_writes_and_runs_their_pops_again() {
    let (result, events, _dir) = run("redis-crash");
    let windows = crash_windows(&events);
    assert_eq!(windows.len(), 2, "two crashes");
    assert!(windows.iter().all(|(synced, crash)| crash - synced < 1.0));
    let in_a_window = |t: f64| windows.iter().any(|(s, c)| (*s..*c).contains(&t));
    let created: std::collections::BTreeMap<&str, f64> = of_kind(&events, "job_created")
        .into_iter()
        .map(|e| (e.job.as_str(), e.time_s))
        .collect();
    let lost = of_kind(&events, "job_lost");
    assert!(!lost.is_empty() && result.summary.lost_jobs > 0);
    for row in &lost {
        assert_eq!(
            row.detail("reason").as_deref(),
            Some("the Redis crash lost it")
        );
        assert!(in_a_window(created[row.job.as_str()]), "{row:?}");
    }
    // A job runs again when the disk lost its pop (it is back in the queue) or its end (it is
    // `started` again, and abandoned once its worker is gone).
    assert!(result.summary.duplicate_executions > 0);
    let first = |kinds: &[&str], job: &str| {
        events
            .iter()
            .find(|e| e.job == job && kinds.contains(&e.kind.as_str()))
            .map(|e| e.time_s)
            .unwrap()
    };
    for violation in result
        .violations
        .iter()
        .filter(|v| v.check == "duplicate_execution")
    {
        let job: &str = violation.job.as_ref().unwrap();
        let popped = first(&["job_dequeued"], job);
        let ended = first(&["job_finished", "job_failed"], job);
        assert!(
            in_a_window(popped) || in_a_window(ended),
            "{job}: popped at {popped}, ended at {ended}"
        );
    }

    let text = std::fs::read_to_string(outputs::scenario_path("redis-crash")).unwrap();
    let always = text.replace("appendfsync = \"everysec\"", "appendfsync = \"always\"");
    assert_ne!(always, text);
    let scenario = simrq::scenario::parse(&always, "redis-crash.toml").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut options = simrq::run::RunOptions::new(1, dir.path(), "redis-crash.toml");
    options.charts = false;
    let synced = simrq::run::run_scenario(&scenario, &options).unwrap();
    assert_eq!(synced.summary.lost_jobs, 0);
    assert_eq!(synced.summary.duplicate_executions, 0);
}

/// The failover's fault row: (what the replica had up to, the fault, the promotion), seconds.
fn failover_window(events: &[EventRow]) -> (f64, f64, f64) {
    let row = of_kind(events, "fault")
        .into_iter()
        .find(|e| e.detail("fault").as_deref() == Some("redis_failover"))
        .expect("the failover's row");
    let at = |key: &str| row.detail(key).unwrap().parse::<f64>().unwrap();
    (at("replicated_to"), row.time_s, at("promoted_at"))
}

/// §7 with Sentinel (docs/scenario-format.md, `redis_failover`): the promoted replica holds
/// the primary's writes up to its lag, so every job lost was created after that instant and
/// before the failover, and every job run twice was popped or ended then; no job starts
/// while nothing answers (fault to promotion, 30 s + 1.1 s). A one-minute split brain (`partition`) costs
/// more: everything the old primary took in is discarded, so jobs it queued are lost and jobs
/// it ran from the replica's queue run again.
#[test]
fn redis_failover_loses_the_writes_the_replica_had_not_received() {
    let (result, events, _dir) = run("redis-failover");
    let (replicated, failed, promoted) = failover_window(&events);
    assert!(replicated < failed && failed - replicated <= 0.5);
    assert!(
        (promoted - failed - 31.1).abs() < 1e-6,
        "down-after 30 s + promotion 1.1 s"
    );
    let lost_window = |t: f64| (replicated..failed).contains(&t);
    for row in of_kind(&events, "job_lost") {
        let created = events
            .iter()
            .find(|e| e.kind == "job_created" && e.job == row.job)
            .unwrap();
        assert!(lost_window(created.time_s), "{row:?}");
    }
    for violation in result
        .violations
        .iter()
        .filter(|v| v.check == "duplicate_execution")
    {
        let job: &str = violation.job.as_ref().unwrap();
        let times: Vec<f64> = events
            .iter()
            .filter(|e| e.job == job)
            .filter(|e| ["job_dequeued", "job_finished", "job_failed"].contains(&e.kind.as_str()))
            .map(|e| e.time_s)
            .collect();
        assert!(times.iter().any(|t| lost_window(*t)), "{job}: {times:?}");
    }
    let started_while_down = of_kind(&events, "job_started")
        .into_iter()
        .filter(|e| e.time_s > failed + 0.01 && e.time_s < promoted)
        .count();
    assert_eq!(started_while_down, 0);

    let text = std::fs::read_to_string(outputs::scenario_path("redis-failover")).unwrap();
    let split = text.replace("at = \"1800.4s\"", "at = \"1800.4s\"\npartition = true");
    assert_ne!(split, text);
    let scenario = simrq::scenario::parse(&split, "redis-failover.toml").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut options = simrq::run::RunOptions::new(1, dir.path(), "redis-failover.toml");
    options.charts = false;
    let split = simrq::run::run_scenario(&scenario, &options).unwrap();
    // The jobs the old primary took in and ran are back where the replica had them:
    // queued ones are lost, ones queued before the lag run again.
    let (lost, duplicates) = (split.summary.lost_jobs, split.summary.duplicate_executions);
    assert!(lost > result.summary.lost_jobs, "{lost} lost");
    assert!(
        duplicates > 5 * result.summary.duplicate_executions.max(1),
        "{duplicates} against {}",
        result.summary.duplicate_executions
    );
}

/// The eviction scenario as shipped and with other `[redis]` settings, each run with seed 1.
fn eviction_with(edit: impl Fn(&str) -> String) -> simrq::run::RunResult {
    let text = std::fs::read_to_string(outputs::scenario_path("eviction")).unwrap();
    let edited = edit(&text);
    let scenario = simrq::scenario::parse(&edited, "eviction.toml").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut options = simrq::run::RunOptions::new(1, dir.path(), "eviction.toml");
    options.charts = false;
    simrq::run::run_scenario(&scenario, &options).unwrap()
}

/// docs/redis-as-deployed.md, eviction: under `allkeys-lru` the backlog's job hashes are
/// evicted while their ids wait in the queue, and each such job is lost when a worker pops
/// its id (RQ skips an id without a hash, rq-semantics §3.3); under `noeviction` nothing is
/// evicted and writes are refused with OOM instead; with `maxmemory = 0` memory is only
/// measured, and its peak is what the limit cut short.
#[test]
fn eviction_loses_the_backlogs_jobs_under_allkeys_lru_and_refuses_writes_under_noeviction() {
    let (result, events, _dir) = run("eviction");
    let memory = result
        .summary
        .redis_memory
        .clone()
        .expect("memory is modelled");
    assert!(memory.evicted_by_family["rq:job:*"] > 1_000, "{memory:?}");
    assert_eq!(memory.refused_commands, 0);
    let lost = of_kind(&events, "job_lost");
    assert_eq!(lost.len() as u64, result.summary.lost_jobs);
    assert!(result.summary.lost_jobs > 100);
    for row in &lost {
        assert_eq!(
            row.detail("reason").as_deref(),
            Some("its hash was gone when a worker popped its id")
        );
    }

    let policy = "maxmemory_policy = \"allkeys-lru\"";
    let refused = eviction_with(|text| text.replace(policy, "maxmemory_policy = \"noeviction\""));
    let refused_memory = refused.summary.redis_memory.clone().unwrap();
    assert_eq!(refused_memory.evicted_keys, 0);
    assert!(
        refused_memory.refused_commands > 1_000,
        "{refused_memory:?}"
    );
    assert_eq!(refused.summary.lost_jobs, 0);
    assert!(
        refused.summary.jobs < result.summary.jobs,
        "refused enqueues"
    );

    let measured = eviction_with(|text| text.replace("maxmemory = \"8mb\"", "maxmemory = 0"));
    let measured_memory = measured.summary.redis_memory.clone().unwrap();
    assert_eq!(
        measured_memory.evicted_keys + measured_memory.refused_commands,
        0
    );
    assert_eq!(measured.summary.lost_jobs, 0);
    assert!(measured_memory.peak_used_bytes > 2 * memory.peak_used_bytes);
}
