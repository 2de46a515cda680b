//! The `[[cron]]` keys, `[[pods]] cron` / `worker`, the cron `[checks]` and fault target
//! `cron` change what happens (docs/scenario-format.md, docs/cron.md): each test runs a
//! scenario with the key against one without it, or checks the located error.

mod outputs;

use outputs::{of_kind, read_events, EventRow};
use simrq::check::cron::CronJobStats;
use simrq::run::{run_scenario, RunOptions, RunResult};
use simrq::scenario::{parse, CronSpec, CRON_RESULT_TTL};
use simrq::sim::SimDuration;

/// A 10-minute run: one worker pod, and the pods and cron jobs given.
fn scenario(pods: &str, cron: &str, extra: &str) -> String {
    format!(
        "[run]\nduration = \"10m\"\ndrain = \"1m\"\nseed = 1\n\n\
         [[pods]]\nname = \"worker\"\nreplicas = 1\nqueues = [\"default\", \"other\"]\n\n\
         {pods}\n{cron}\n{extra}\n"
    )
}

fn run_text(text: &str) -> (RunResult, Vec<EventRow>) {
    let dir = tempfile::tempdir().unwrap();
    let parsed = parse(text, "inline.toml").unwrap_or_else(|e| panic!("{e}"));
    let mut options = RunOptions::new(1, dir.path().join("out"), "inline.toml");
    options.charts = false;
    let result = run_scenario(&parsed, &options).unwrap();
    let events = read_events(&dir.path().join("out"));
    (result, events)
}

fn cron_stats(result: &RunResult, name: &str) -> CronJobStats {
    result.summary.cron.as_ref().expect("a cron section")[name].clone()
}

const CRON_PODS: &str = "[[pods]]\nname = \"cron\"\nreplicas = 1\nworker = false\ncron = true\n";
const TICK: &str = "[[cron]]\nname = \"tick\"\ninterval = \"60s\"\n";

fn cron_pods(replicas: u32) -> String {
    CRON_PODS.replace("replicas = 1", &format!("replicas = {replicas}"))
}

/// `[[pods]] cron = true` runs `rq cron` in each pod: three pods enqueue each run three times;
/// without it nothing runs the cron jobs.
#[test]
fn pods_cron_runs_rq_cron_in_every_pod() {
    let (one, _) = run_text(&scenario(&cron_pods(1), TICK, ""));
    let (three, _) = run_text(&scenario(&cron_pods(3), TICK, ""));
    let one = cron_stats(&one, "tick");
    let three = cron_stats(&three, "tick");
    assert_eq!(one.duplicates, 0);
    assert_eq!(three.enqueues, 3 * one.enqueues);
    assert_eq!(three.duplicates, 2 * one.enqueues);

    let without = CRON_PODS.replace("cron = true", "cron = false\nwith_scheduler = false");
    let text = scenario(
        &without.replace("worker = false", "worker = true"),
        TICK,
        "",
    );
    let (none, events) = run_text(&text);
    assert_eq!(cron_stats(&none, "tick").enqueues, 0);
    assert!(of_kind(&events, "cron_scheduler_started").is_empty());
}

/// `worker = false`: the cron pods run no worker, so only the worker pod executes jobs; with
/// `worker = true` the cron pods take jobs too.
#[test]
fn pods_worker_false_runs_no_worker() {
    let (_, events) = run_text(&scenario(&cron_pods(2), TICK, ""));
    let started = of_kind(&events, "job_started");
    assert!(!started.is_empty());
    assert!(started.iter().all(|e| e.pod.starts_with("worker-")));
    assert!(of_kind(&events, "worker_born")
        .iter()
        .all(|e| e.pod.starts_with("worker-")));

    let both = cron_pods(2).replace("worker = false", "worker = true");
    let (_, events) = run_text(&scenario(&both, TICK, ""));
    assert!(of_kind(&events, "worker_born")
        .iter()
        .any(|e| e.pod.starts_with("cron-")));
}

/// `interval` runs at once and then every interval; `cron` waits for the expression's
/// instants (whole minutes for `* * * * *`).
#[test]
fn interval_and_cron_schedule_differently() {
    let (_, events) = run_text(&scenario(&cron_pods(1), TICK, ""));
    let by_interval = of_kind(&events, "cron_job_enqueued");
    assert!(
        by_interval[0].time_s < 6.0,
        "at the start: {}",
        by_interval[0].time_s
    );

    let every_minute = "[[cron]]\nname = \"tick\"\ncron = \"* * * * *\"\n";
    let (result, events) = run_text(&scenario(&cron_pods(1), every_minute, ""));
    let by_cron = of_kind(&events, "cron_job_enqueued");
    assert!(
        (by_cron[0].time_s - 60.0).abs() < 0.1,
        "{}",
        by_cron[0].time_s
    );
    assert_eq!(cron_stats(&result, "tick").scheduled, 10);

    let every_two = "[[cron]]\nname = \"tick\"\ncron = \"*/2 * * * *\"\n";
    let (result, _) = run_text(&scenario(&cron_pods(1), every_two, ""));
    assert_eq!(cron_stats(&result, "tick").scheduled, 5);
}

/// `queue`: the cron job's jobs go to that queue.
#[test]
fn cron_queue_is_where_its_jobs_go() {
    let on_other = format!("{TICK}queue = \"other\"\n");
    for (cron, queue) in [(TICK.to_string(), "default"), (on_other, "other")] {
        let (_, events) = run_text(&scenario(&cron_pods(1), &cron, ""));
        let enqueued = of_kind(&events, "cron_job_enqueued");
        assert!(enqueued.iter().all(|e| e.queue == queue), "{queue}");
    }
}

/// `duration`, `job_timeout` and `fail_probability` shape the cron job's executions.
#[test]
fn cron_job_behaviour_keys_change_the_outcome() {
    let slow = format!("{TICK}duration = \"20s\"\n");
    let (result, _) = run_text(&scenario(&cron_pods(1), &slow, ""));
    assert_eq!(result.summary.outcomes.failed, 0);
    let timed_out = format!("{slow}job_timeout = \"10s\"\n");
    let (result, events) = run_text(&scenario(&cron_pods(1), &timed_out, ""));
    assert_eq!(result.summary.outcomes.failed, result.summary.jobs);
    assert!(of_kind(&events, "job_failed")
        .iter()
        .all(|e| e.detail.contains("JobTimeoutException")));
    let failing = format!("{TICK}fail_probability = 1.0\n");
    let (result, _) = run_text(&scenario(&cron_pods(1), &failing, ""));
    assert_eq!(result.summary.outcomes.failed, result.summary.jobs);
    assert!(result.summary.jobs >= 10);
}

/// `result_ttl`, `ttl` and `failure_ttl` reach the job class as they do for a workload (whose
/// TTL keys have their own tests); `result_ttl` defaults to RQ's 500 s, which `CronJob`
/// always passes.
#[test]
fn cron_ttl_keys_reach_the_job() {
    let plain = CronSpec::default().as_workload();
    assert_eq!(plain.result_ttl, Some(CRON_RESULT_TTL));
    let spec = CronSpec {
        result_ttl: Some(SimDuration::from_secs(7)),
        ttl: Some(SimDuration::from_secs(8)),
        failure_ttl: Some(SimDuration::from_secs(9)),
        job_timeout: Some(SimDuration::from_secs(10)),
        ..CronSpec::default()
    };
    let workload = spec.as_workload();
    let seconds = [
        workload.result_ttl,
        workload.ttl,
        workload.failure_ttl,
        workload.job_timeout,
    ];
    assert_eq!(seconds.map(|s| s.unwrap().whole_secs()), [7, 8, 9, 10]);
}

/// `[checks] cron_duplicates` / `cron_misses`: absent tolerates none; a limit tolerates that
/// many.
#[test]
fn cron_duplicate_and_miss_limits() {
    let (strict, _) = run_text(&scenario(&cron_pods(2), TICK, ""));
    assert_eq!(strict.exit_code(), 1);
    let duplicates = cron_stats(&strict, "tick").duplicates;
    assert!(duplicates >= 10);
    let loose = format!("[checks]\ncron_duplicates = {duplicates}\n");
    let (tolerant, _) = run_text(&scenario(&cron_pods(2), TICK, &loose));
    assert_eq!(tolerant.exit_code(), 0);

    let kill = "[[faults]]\nkind = \"pod_kill\"\npods = \"cron\"\nat = \"30s\"\n\
                [[faults]]\nkind = \"pod_kill\"\npods = \"cron\"\nat = \"70s\"\n";
    let slow_restart = CRON_PODS.replace(
        "cron = true",
        "cron = true\ncrash_loop_backoff = { initial = \"200s\", cap = \"300s\" }",
    );
    let (missed, _) = run_text(&scenario(&slow_restart, TICK, kill));
    let misses = cron_stats(&missed, "tick").misses;
    assert!(misses >= 2, "{misses}");
    assert_eq!(missed.exit_code(), 1);
    let extra = format!("{kill}[checks]\ncron_misses = {misses}\n");
    let (tolerant, _) = run_text(&scenario(&slow_restart, TICK, &extra));
    assert_eq!(tolerant.exit_code(), 0, "{:?}", tolerant.violations);
}

/// `[checks] max_cron_lateness` and fault target `cron`: pausing only the cron process for
/// 90 s makes the next enqueue up to 90 s late; the limit turns it into a violation.
#[test]
fn max_cron_lateness_and_the_cron_fault_target() {
    let pause = "[[faults]]\nkind = \"pause\"\ntarget = \"cron\"\npods = \"cron\"\nat = \"100s\"\n\
                 for = \"90s\"\n";
    // The pause also leaves a window without an enqueue: tolerated, to judge lateness alone.
    let tolerate_misses = "[checks]\ncron_misses = 5\n";
    let (late, events) = run_text(&scenario(
        &cron_pods(1),
        TICK,
        &format!("{pause}{tolerate_misses}"),
    ));
    let stats = cron_stats(&late, "tick");
    let lateness = stats.lateness_max_s.unwrap();
    assert!(lateness > 20.0, "{lateness}");
    assert!(stats.misses >= 1);
    assert_eq!(
        late.exit_code(),
        0,
        "lateness is not checked without a limit: {:?}",
        late.violations
    );
    let paused = of_kind(&events, "process_paused");
    assert_eq!(paused.len(), 1);
    assert!(paused[0].process.contains(".cron"), "{}", paused[0].process);

    let limited = format!("{pause}{tolerate_misses}max_cron_lateness = \"10s\"\n");
    let (strict, _) = run_text(&scenario(&cron_pods(1), TICK, &limited));
    assert_eq!(strict.exit_code(), 1);
    assert!(strict
        .violations
        .iter()
        .any(|v| v.check == "cron_schedule" && v.detail.contains("after its due instant")));
}

/// A pod_kill of `target = "cron"` kills only `rq cron`: the worker of the same pod lives on
/// (no second `worker_born`), while the cron container restarts.
#[test]
fn pod_kill_of_the_cron_target_spares_the_worker() {
    let both = cron_pods(1).replace("worker = false", "worker = true");
    let kill_cron = "[[faults]]\nkind = \"pod_kill\"\ntarget = \"cron\"\npods = \"cron\"\n\
                     at = \"30s\"\n";
    let (_, events) = run_text(&scenario(&both, TICK, kill_cron));
    let born = |events: &[EventRow]| {
        of_kind(events, "worker_born")
            .iter()
            .filter(|e| e.pod == "cron-0")
            .count()
    };
    assert_eq!(born(&events), 1);
    assert_eq!(of_kind(&events, "cron_scheduler_started").len(), 2);

    let kill_pod = kill_cron.replace("target = \"cron\"\n", "");
    let (_, events) = run_text(&scenario(&both, TICK, &kill_pod));
    assert_eq!(born(&events), 2, "the whole pod restarts");
}

/// Located errors for what `CronJob` and croniter refuse, and for `cron = true` without jobs.
#[test]
fn bad_cron_settings_are_located_errors() {
    let cases = [
        (
            "[[cron]]\nname = \"t\"\ninterval = \"60s\"\ncron = \"* * * * *\"\n",
            "not both",
        ),
        ("[[cron]]\nname = \"t\"\n", "needs `interval`"),
        (
            "[[cron]]\nname = \"t\"\ninterval = \"1500ms\"\n",
            "whole seconds",
        ),
        (
            "[[cron]]\nname = \"t\"\ncron = \"61 * * * *\"\n",
            "outside 0-59",
        ),
        (
            "[[cron]]\nname = \"t\"\ncron = \"0 0 31 2 *\"\n",
            "never fires",
        ),
        (
            "[[cron]]\nname = \"default\"\ninterval = \"60s\"\n",
            "duplicate name",
        ),
    ];
    let workload = "[[workload]]\nqueue = \"default\"\n";
    for (cron, expected) in cases {
        let text = scenario(&cron_pods(1), cron, workload);
        let error = parse(&text, "inline.toml").expect_err(cron).to_string();
        assert!(error.contains(expected), "{cron}: {error}");
        assert!(error.contains("inline.toml:"), "located: {error}");
    }
    let no_jobs = scenario(&cron_pods(1), "", workload);
    let error = parse(&no_jobs, "inline.toml").unwrap_err().to_string();
    assert!(error.contains("needs jobs"), "{error}");
}

/// `[rq] cron_lock_ttl` (what-if): with a lock around `rq cron`, three cron pods enqueue each
/// instant once; without it, three times.
#[test]
fn cron_lock_ttl_leaves_one_enqueuer() {
    let (stock, _) = run_text(&scenario(&cron_pods(3), TICK, ""));
    let locked_text = scenario(&cron_pods(3), TICK, "")
        .replace("[run]\n", "[rq]\ncron_lock_ttl = \"90s\"\n\n[run]\n");
    let (locked, _) = run_text(&locked_text);
    let stock = cron_stats(&stock, "tick");
    let locked = cron_stats(&locked, "tick");
    assert!(stock.duplicates >= 20, "{stock:?}");
    assert_eq!((locked.duplicates, locked.misses), (0, 0), "{locked:?}");
    assert_eq!(locked.enqueues, stock.enqueues / 3);
}

/// `liveness` judges the jobs that had the whole drain: `rq cron` enqueues until the end, so a
/// slow cron job enqueued in the last minute is still running when the run ends, and that is
/// not a liveness failure. A job enqueued before the drain that never ran still is one.
#[test]
fn liveness_gives_every_cron_job_the_whole_drain() {
    let slow = "[[cron]]\nname = \"tick\"\ninterval = \"60s\"\nduration = \"57s\"\n";
    let (result, _) = run_text(&scenario(&cron_pods(1), slow, ""));
    let unfinished = result.summary.outcomes.started + result.summary.outcomes.queued;
    assert!(
        unfinished >= 1,
        "a cron job runs at the end: {:?}",
        result.summary.outcomes
    );
    assert_eq!(
        result.summary.checks["liveness"],
        simrq::report::summary::Verdict::Pass
    );

    // The control: the same cron job on a queue no worker serves, so its early jobs never run.
    let stranded = format!("{slow}queue = \"nobody\"\n");
    let (result, _) = run_text(&scenario(&cron_pods(1), &stranded, ""));
    assert_eq!(
        result.summary.checks["liveness"],
        simrq::report::summary::Verdict::Fail
    );
}
