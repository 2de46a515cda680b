//! `rq worker -w rq.worker.SimpleWorker` on the RQ model (docs/rq-dependencies-and-operations.md
//! §2.3, §3.3, §3.4; `rq/worker/worker_classes.py SimpleWorker`): the job runs in the worker's
//! own process, the heartbeat TTL is the job's timeout + 60 and nothing refreshes it while the
//! job runs, the timeout is an ordinary failure, a kill takes the job with the worker, and the
//! worker's own signal handlers run during the job.
//!
//! Each test compares a SimpleWorker with a regular worker, or with the same run without the
//! event under test, so that a model that ignored the worker class fails.

mod common;

use common::*;
use simrq::event::{Event, EventKind};
use simrq::harness::{Harness, HarnessConfig};
use simrq::rq::command::WorkerCommand;
use simrq::rq::{JobClass, Role};
use simrq::sim::kernel::EPOCH_UNIX_MICROS;
use simrq::sim::{ExitStatus, Signal, SimDuration, SimTime};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Class {
    Worker,
    Simple,
}

/// A job class on `default`: `duration_s` long, `timeout_s` as its `job_timeout`.
fn class(duration_s: u64, timeout_s: i64, retry_max: Option<i64>) -> JobClass {
    let mut class = long_class("job", duration_s, retry_max);
    class.job_timeout_s = Some(timeout_s);
    class
}

fn harness_with(job: JobClass, config: HarnessConfig) -> Harness {
    Harness::new(config, vec![job])
}

fn start(harness: &Harness, pod: &str, class: Class) -> simrq::sim::Pid {
    let host = harness.add_host();
    match class {
        Class::Worker => harness.start_worker(pod, host, &["default"], false),
        Class::Simple => harness.start_simple_worker(pod, host, &["default"]),
    }
}

/// One worker of `class` with the one job of `job` enqueued at 0 s.
fn one_job(class: Class, job: JobClass) -> Harness {
    let harness = harness_with(job, HarnessConfig::default());
    start(&harness, "w", class);
    harness.enqueue("job");
    harness
}

fn the_job(harness: &Harness) -> String {
    let created = harness.events_of("job_created");
    created[0].job.as_ref().expect("a job").name().to_string()
}

fn process_of(event: &Event) -> String {
    event.process.as_deref().unwrap_or("-").to_string()
}

fn failure_reasons(harness: &Harness) -> Vec<String> {
    harness
        .events_of("job_failed")
        .into_iter()
        .filter_map(|event| match event.kind {
            EventKind::JobFailed { reason } => Some(reason),
            _ => None,
        })
        .collect()
}

/// Unix seconds of `time` on a host whose clock is true (the harness's hosts).
fn unix_s(time: SimTime) -> f64 {
    EPOCH_UNIX_MICROS as f64 / 1e6 + time.as_secs_f64()
}

/// The one wip member of the run, and its score.
fn wip_entry(harness: &Harness) -> Option<(String, f64)> {
    let entries = harness.redis(|server, now| server.peek_zset(now, "rq:wip:default"));
    assert!(entries.len() <= 1, "{entries:?}");
    entries.into_iter().next()
}

/// §2.3: "No fork, no `monitor_work_horse`, no horse". While the job runs the SimpleWorker's
/// pod has no horse process, and the job's events come from the worker process itself; a
/// regular worker's come from `<worker>:horse`.
#[test]
fn a_simple_worker_runs_the_job_in_its_own_process() {
    let run = |class: Class| {
        let harness = one_job(class, self::class(20, 3_600, None));
        harness.run_until(at(5.0));
        let horses = harness.processes("w", Role::Horse).len();
        let worker = process(&harness, "w", Role::Worker).name.to_string();
        harness.run_until(at(60.0));
        let started = harness.events_of("job_started");
        let finished = harness.events_of("job_finished");
        assert_eq!((started.len(), finished.len()), (1, 1), "{class:?}");
        (
            horses,
            worker,
            process_of(&started[0]),
            process_of(&finished[0]),
        )
    };
    let (horses, worker, started_by, finished_by) = run(Class::Simple);
    assert_eq!(horses, 0, "no horse");
    assert_eq!(started_by, worker);
    assert_eq!(finished_by, worker);

    let (horses, worker, started_by, _) = run(Class::Worker);
    assert_eq!(horses, 1);
    assert_eq!(started_by, format!("{worker}:horse"));
}

/// What a 100 s job with `job_timeout = 150` leaves in Redis: the TTLs after its start, and
/// the heartbeats at 80 s.
struct Heartbeats {
    /// Seconds from the job's start to the expiry of `rq:execution:<id>:<exec>`.
    execution_ttl_s: f64,
    /// Seconds from the start to the expiry of `rq:worker:<w>`.
    worker_key_ttl_s: f64,
    /// The wip score minus the start, in Unix seconds.
    wip_ttl_s: f64,
    /// Whether the wip score, the worker's `last_heartbeat` and the execution's changed by
    /// 80 s.
    wip_refreshed: bool,
    worker_heartbeat_refreshed: bool,
    execution_heartbeat_refreshed: bool,
}

fn heartbeats(class: Class) -> Heartbeats {
    let harness = one_job(class, self::class(100, 150, None));
    harness.run_until(at(2.0));
    let start = harness.events_of("job_started")[0].time;
    let worker = process(&harness, "w", Role::Worker).name.to_string();
    let worker_key = format!("rq:worker:{worker}");
    let (member, score) = wip_entry(&harness).expect("the job's wip entry");
    let (job, exec) = member.rsplit_once(':').unwrap();
    let exec_key = format!("rq:execution:{job}:{exec}");
    let expiry = |key: &str| {
        let at = harness.redis(|server, now| server.peek_expire_at(now, key));
        at.expect("a TTL").since(start).as_secs_f64()
    };
    let (execution_ttl_s, worker_key_ttl_s) = (expiry(&exec_key), expiry(&worker_key));
    let worker_beat = hash_field(&harness, &worker_key, "last_heartbeat");
    let exec_beat = hash_field(&harness, &exec_key, "last_heartbeat");
    harness.run_until(at(80.0));
    let (_, later_score) = wip_entry(&harness).expect("still running");
    Heartbeats {
        execution_ttl_s,
        worker_key_ttl_s,
        wip_ttl_s: score - unix_s(start),
        wip_refreshed: later_score != score,
        worker_heartbeat_refreshed: hash_field(&harness, &worker_key, "last_heartbeat")
            != worker_beat,
        execution_heartbeat_refreshed: hash_field(&harness, &exec_key, "last_heartbeat")
            != exec_beat,
    }
}

/// §2.3 "Heartbeat TTL" and "No heartbeat during the job": `SimpleWorker.get_heartbeat_ttl`
/// is timeout + 60 = 210 s for the execution hash, the wip score and `rq:worker:<w>`, and
/// nothing is written while the job runs. A regular worker's are monitoring interval + 60 =
/// 90 s, refreshed every 30 s (rq-semantics §3.5).
#[test]
fn a_simple_worker_sets_timeout_plus_60_once_and_never_heartbeats_during_the_job() {
    assert_heartbeats(&heartbeats(Class::Simple), 210.0, false);
    assert_heartbeats(&heartbeats(Class::Worker), 90.0, true);
}

/// Each TTL within a second of `ttl_s`, and the three refreshes all seen or all absent.
fn assert_heartbeats(seen: &Heartbeats, ttl_s: f64, refreshed: bool) {
    for (what, value) in [
        ("execution", seen.execution_ttl_s),
        ("worker key", seen.worker_key_ttl_s),
        ("wip", seen.wip_ttl_s),
    ] {
        assert!(
            (value - ttl_s).abs() <= 1.0,
            "{what} TTL {value} s, expected {ttl_s}"
        );
    }
    assert_eq!(seen.wip_refreshed, refreshed, "wip refreshed");
    assert_eq!(
        seen.worker_heartbeat_refreshed, refreshed,
        "worker heartbeat refreshed"
    );
    assert_eq!(
        seen.execution_heartbeat_refreshed, refreshed,
        "execution heartbeat refreshed"
    );
}

/// §2.3: a job that never times out (`job_timeout = -1`) gets `DEFAULT_WORKER_TTL`, 420 s,
/// not 59.
#[test]
fn a_simple_worker_job_without_timeout_gets_the_default_worker_ttl() {
    let harness = one_job(Class::Simple, class(100, -1, None));
    harness.run_until(at(2.0));
    let start = harness.events_of("job_started")[0].time;
    let (_, score) = wip_entry(&harness).expect("running");
    let ttl = score - unix_s(start);
    assert!((ttl - 420.0).abs() <= 1.0, "{ttl}");
}

/// §2.3 "Timeout": SIGALRM in the worker's process raises `JobTimeoutException`, an ordinary
/// failure: a 30 s job with `job_timeout = 5` and `Retry(max=1)` fails at 5 s, the retry is
/// consumed, the second run fails too and the job ends in the failed registry; nothing is
/// killed and the worker lives on. The control, a 3 s job, finishes with its retry unused.
#[test]
fn a_simple_worker_job_past_its_timeout_fails_as_an_ordinary_failure() {
    let run = |duration_s: u64| {
        let harness = one_job(Class::Simple, class(duration_s, 5, Some(1)));
        harness.run_until(at(60.0));
        let key = format!("rq:job:{}", the_job(&harness));
        let failed_at: Vec<f64> = harness
            .events_of("job_failed")
            .iter()
            .map(|e| secs(e.time))
            .collect();
        let worker = process(&harness, "w", Role::Worker).name.to_string();
        let failed_in_worker = harness
            .events_of("job_failed")
            .iter()
            .all(|e| process_of(e) == worker);
        assert!(failed_in_worker, "SIGALRM in the worker's own process");
        (
            failure_reasons(&harness),
            failed_at,
            hash_field(&harness, &key, "status"),
            hash_field(&harness, &key, "retries_left"),
            harness.events_of("process_killed").len(),
            harness.events_of("worker_died").len(),
        )
    };
    let (reasons, failed_at, status, retries_left, kills, deaths) = run(30);
    assert_eq!(reasons, ["JobTimeoutException", "JobTimeoutException"]);
    assert!((failed_at[0] - 5.0).abs() < 0.5, "{failed_at:?}");
    assert_eq!(status.as_deref(), Some("failed"));
    assert_eq!(retries_left.as_deref(), Some("0"), "the retry was consumed");
    assert_eq!((kills, deaths), (0, 0), "no hard kill, the worker lives");

    let (reasons, _, status, retries_left, _, _) = run(3);
    assert!(reasons.is_empty());
    assert_eq!(status.as_deref(), Some("finished"));
    assert_eq!(retries_left.as_deref(), Some("1"));
}

/// A pod `victim` of `class` runs a 100 s job (`job_timeout = 150`, `Retry(max=1)`) and is
/// killed at 5 s; a regular worker `other` starts at 6 s (maintenance every 30 s, and a 20 s
/// pop timeout, `--worker-ttl 35`, so that an idle worker gets to it). Returns
/// the job's status and wip entry at `look_s`, when the other worker's maintenance abandoned
/// it, and which pod ran it last.
fn killed_mid_job(class: Class, look_s: f64) -> (Option<String>, bool, f64, String) {
    let mut config = HarnessConfig::default();
    config.params.maintenance_interval = SimDuration::from_secs(30);
    config.params.worker_ttl = SimDuration::from_secs(35);
    let harness = harness_with(self::class(100, 150, Some(1)), config);
    start(&harness, "victim", class);
    harness.enqueue("job");
    harness.run_until(at(5.0));
    harness.kill_pod("victim");
    harness.run_until(at(6.0));
    start(&harness, "other", Class::Worker);
    harness.run_until(at(look_s));
    let key = format!("rq:job:{}", the_job(&harness));
    let status = hash_field(&harness, &key, "status");
    let in_wip = wip_entry(&harness).is_some();
    harness.run_until(at(400.0));
    let abandoned = harness.events_of("job_abandoned");
    assert_eq!(abandoned.len(), 1, "{class:?}");
    assert_eq!(abandoned[0].pod.as_deref(), Some("other"));
    let started = harness.events_of("job_started");
    assert_eq!(started.len(), 2, "retried once");
    let finished = harness.events_of("job_finished");
    assert_eq!(finished.len(), 1);
    (
        status,
        in_wip,
        secs(abandoned[0].time),
        finished[0].pod.as_deref().unwrap_or("-").to_string(),
    )
}

/// §2.3 "Crash": a kill mid-job takes the job with the worker. The job stays `started` with
/// its wip entry until the score, start + 210 s, has passed; then the other worker's
/// abandoned-job cleanup (§1.5) retries it and it runs there. A regular worker's entry is
/// start + 90 s, so the same kill is recovered before 210 s.
#[test]
fn a_killed_simple_worker_leaves_the_job_started_until_its_wip_score_passes() {
    let (status, in_wip, abandoned_at, finished_on) = killed_mid_job(Class::Simple, 200.0);
    assert_eq!(status.as_deref(), Some("started"), "still started at 200 s");
    assert!(in_wip, "its wip entry stays until start + 210 s");
    assert!(abandoned_at > 210.0, "{abandoned_at}");
    assert_eq!(finished_on, "other");

    // By 200 s the retry of the regular worker's job is running on `other`.
    let (_, _, abandoned_at, finished_on) = killed_mid_job(Class::Worker, 200.0);
    assert!(abandoned_at < 210.0, "{abandoned_at}");
    assert_eq!(finished_on, "other");
}

/// A SimpleWorker running a 20 s job with `Retry(max=1)`, sent SIGTERM at each of
/// `signals_at`. Returns the exit status at 60 s, the failure reasons and `retries_left`.
fn terminated(signals_at: &[f64]) -> (Option<ExitStatus>, Vec<String>, Option<String>) {
    let harness = one_job(Class::Simple, class(20, 3_600, Some(1)));
    harness.run_until(at(1.0));
    let worker = process(&harness, "w", Role::Worker);
    let exit = harness.sim.exit_cell(worker.pid).expect("alive");
    for &time in signals_at {
        harness.run_until(at(time));
        harness.signal(&worker, Signal::Term);
    }
    harness.run_until(at(60.0));
    let key = format!("rq:job:{}", the_job(&harness));
    (
        exit.status(),
        failure_reasons(&harness),
        hash_field(&harness, &key, "retries_left"),
    )
}

/// §2.3 "Signals": one SIGTERM during the job is a warm stop after it (the job finishes,
/// exit 0); a second one 3 s later raises `SystemExit` inside the job, which fails through
/// `perform_job`'s bare `except`, consuming the retry, and the worker then exits 0 without
/// running the retry. Without a signal the worker runs on.
#[test]
fn sigterm_during_a_simple_worker_job_is_a_warm_stop_and_a_second_fails_the_job() {
    let (status, reasons, retries_left) = terminated(&[5.0]);
    assert_eq!(status, Some(ExitStatus::Exited(0)));
    assert!(reasons.is_empty(), "{reasons:?}");
    assert_eq!(retries_left.as_deref(), Some("1"));

    let (status, reasons, retries_left) = terminated(&[5.0, 8.0]);
    assert_eq!(status, Some(ExitStatus::Exited(0)));
    assert_eq!(reasons, ["SystemExit"]);
    assert_eq!(retries_left.as_deref(), Some("0"), "the retry was consumed");

    let (status, reasons, _) = terminated(&[]);
    assert_eq!(status, None, "still running");
    assert!(reasons.is_empty());
}

/// §3.3 and §3.4: a SimpleWorker has no horse (`horse_pid` 0, `kill_horse` a no-op), so
/// `kill-horse` is ignored and `stop-job` only records the id: the job runs on and finishes.
/// A regular worker's horse is killed by either.
#[test]
fn kill_horse_and_stop_job_leave_a_simple_worker_job_running() {
    let run = |class: Class, stop: bool| {
        let harness = one_job(class, self::class(20, 3_600, Some(1)));
        harness.run_until(at(5.0));
        let worker = process(&harness, "w", Role::Worker).name.to_string();
        if stop {
            harness.stop_current_job(&worker);
        } else {
            harness.send_command(&worker, WorkerCommand::KillHorse);
        }
        harness.run_until(at(60.0));
        let key = format!("rq:job:{}", the_job(&harness));
        (
            command_actions(&harness),
            hash_field(&harness, &key, "status"),
            harness.events_of("job_started").len(),
        )
    };
    let (actions, status, starts) = run(Class::Simple, false);
    assert_eq!(actions, [("kill-horse".into(), "no_horse".into())]);
    assert_eq!((status.as_deref(), starts), (Some("finished"), 1));
    let (actions, status, starts) = run(Class::Simple, true);
    assert_eq!(actions, [("stop-job".into(), "no_horse".into())]);
    assert_eq!((status.as_deref(), starts), (Some("finished"), 1));

    let (actions, _, starts) = run(Class::Worker, false);
    assert_eq!(actions, [("kill-horse".into(), "killed_horse".into())]);
    assert_eq!(starts, 2, "the killed horse's job was retried");
    let (actions, status, _) = run(Class::Worker, true);
    assert_eq!(actions, [("stop-job".into(), "killed_horse".into())]);
    assert_eq!(status.as_deref(), Some("stopped"));
}

/// §3.4 (`handle_job_failure`'s `job_is_stopped`): a `stop-job` that a SimpleWorker could not
/// act on (the job still runs at 8 s) stays recorded in `_stopped_job_id`, so when that job
/// then fails (here at its 10 s timeout) it ends `stopped` in the failed registry, its retry
/// unused. Without the command
/// the timeout consumes the retry and the job runs again.
#[test]
fn a_simple_worker_job_failing_after_an_ignored_stop_job_ends_stopped() {
    let run = |stop: bool| {
        let harness = one_job(Class::Simple, class(30, 10, Some(1)));
        harness.run_until(at(5.0));
        if stop {
            let worker = process(&harness, "w", Role::Worker).name.to_string();
            harness.stop_current_job(&worker);
        }
        harness.run_until(at(8.0));
        let job = the_job(&harness);
        let key = format!("rq:job:{job}");
        // No horse to kill: the job runs on after the command, until its timeout.
        assert_eq!(
            hash_field(&harness, &key, "status").as_deref(),
            Some("started")
        );
        harness.run_until(at(15.0));
        (
            hash_field(&harness, &key, "status"),
            hash_field(&harness, &key, "retries_left"),
            zset_members(&harness, "rq:failed:default").contains(&job),
            harness.events_of("job_started").len(),
        )
    };
    let (status, retries_left, in_failed, starts) = run(true);
    assert_eq!(status.as_deref(), Some("stopped"));
    assert_eq!(retries_left.as_deref(), Some("1"), "no retry consumed");
    assert!(in_failed);
    assert_eq!(starts, 1);

    let (status, retries_left, in_failed, starts) = run(false);
    assert_eq!(status.as_deref(), Some("started"), "the retry runs");
    assert_eq!(retries_left.as_deref(), Some("0"));
    assert!(!in_failed);
    assert_eq!(starts, 2);
}
