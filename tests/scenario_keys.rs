//! Keys that must change what happens: each test runs a scenario with the key against one
//! without it (or checks the error), so a key the model ignores fails here.

mod outputs;

use outputs::load;
use simrq::run::{run_scenario, RunOptions, RunResult};
use simrq::scenario::Scenario;
use simrq::sim::SimDuration;

fn run(scenario: &Scenario, seed: u64) -> RunResult {
    let dir = tempfile::tempdir().unwrap();
    let mut options = RunOptions::new(seed, dir.path().join("out"), "keys.toml");
    options.charts = false;
    options.events = Some(simrq::scenario::EventRows::None);
    run_scenario(scenario, &options).unwrap()
}

/// Runs a scenario written inline (seed 1, no charts) and returns its events.csv rows.
fn events_of(text: &str) -> Vec<outputs::EventRow> {
    let dir = tempfile::tempdir().unwrap();
    let parsed = simrq::scenario::parse(text, "inline.toml").unwrap_or_else(|e| panic!("{e}"));
    let mut options = RunOptions::new(1, dir.path().join("out"), "inline.toml");
    options.charts = false;
    run_scenario(&parsed, &options).unwrap();
    outputs::read_events(&dir.path().join("out"))
}

/// `scenarios/mmc.toml` cut to 10 minutes: an M/M/3 queue where jobs wait now and then.
fn short_mmc() -> Scenario {
    let mut scenario = load("mmc");
    scenario.run.duration = SimDuration::from_secs(600);
    scenario.run.drain = SimDuration::from_secs(60);
    scenario
}

#[test]
fn max_queue_wait_p99_is_a_check_with_a_verdict_and_an_exit_code() {
    let free = run(&short_mmc(), 1);
    assert!(
        !free.summary.checks.contains_key("queue_wait_p99"),
        "absent: not checked"
    );
    let p99_s = free.summary.queue_wait_s.p99.expect("jobs waited");
    assert!(
        p99_s > 0.5,
        "the M/M/3 queue makes jobs wait: p99 {p99_s} s"
    );

    let mut tight = short_mmc();
    tight.checks.max_queue_wait_p99 = Some(SimDuration::from_millis(100));
    let result = run(&tight, 1);
    assert_eq!(result.exit_code(), 1);
    let violation = result
        .violations
        .iter()
        .find(|v| v.check == "queue_wait_p99")
        .expect("a queue_wait_p99 violation");
    assert!(
        violation.detail.contains("above max_queue_wait_p99"),
        "{}",
        violation.detail
    );

    let mut loose = short_mmc();
    loose.checks.max_queue_wait_p99 = Some(SimDuration::from_secs(3_600));
    let result = run(&loose, 1);
    assert_eq!(result.exit_code(), 0);
    assert_eq!(
        result.summary.checks["queue_wait_p99"],
        simrq::report::summary::Verdict::Pass
    );
}

/// `[checks] duplicate_executions` absent means none tolerated; a limit tolerates that many.
#[test]
fn duplicate_executions_absent_tolerates_none_and_a_limit_loosens_it() {
    // scheduler-pause seed 8: a paused scheduler's stale enqueue runs a job twice (race R1).
    let stock = run(&load("scheduler-pause"), 8);
    assert!(
        stock.summary.duplicate_executions > 0,
        "seed 8 has a duplicate"
    );
    assert_eq!(
        stock.summary.checks["duplicate_execution"],
        simrq::report::summary::Verdict::Fail
    );
    let mut tolerant = load("scheduler-pause");
    tolerant.checks.duplicate_executions = Some(1_000);
    let result = run(&tolerant, 8);
    assert_eq!(
        result.summary.checks["duplicate_execution"],
        simrq::report::summary::Verdict::Pass
    );
}

/// `[checks] lost_jobs` absent means none tolerated; a limit tolerates that many.
#[test]
fn lost_jobs_absent_tolerates_none_and_a_limit_loosens_it() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/conformance/scenarios/redis-restart.toml");
    let restart = simrq::scenario::load(&path).unwrap();
    let verdict = |scenario: &Scenario| run(scenario, 1).summary.checks["lost_job"];
    assert_eq!(verdict(&restart), simrq::report::summary::Verdict::Fail);
    let mut tolerant = restart.clone();
    tolerant.checks.lost_jobs = Some(3);
    assert_eq!(verdict(&tolerant), simrq::report::summary::Verdict::Pass);
    tolerant.checks.lost_jobs = Some(2);
    assert_eq!(verdict(&tolerant), simrq::report::summary::Verdict::Fail);
}

/// `[redis] latency = { exponential = … }` is an exponential latency, not a lognormal one.
#[test]
fn an_exponential_latency_stays_exponential() {
    let mut redis = simrq::scenario::RedisSpec::default();
    let mean = SimDuration::from_millis(2);
    redis.latency = simrq::scenario::Distribution::Exponential { mean };
    let (latency, _) = simrq::run::world::network_settings(&redis);
    assert_eq!(latency, simrq::sim::DurationDist::Exponential { mean });
    let mut rng = simrq::sim::RngStreams::new(3).stream("latency");
    let draws: Vec<f64> = (0..20_000)
        .map(|_| latency.sample(&mut rng).as_secs_f64())
        .collect();
    let average = draws.iter().sum::<f64>() / draws.len() as f64;
    assert!((average - 0.002).abs() < 0.0001, "mean {average}");
    // An exponential's median is ln 2 × mean; the lognormal it used to become had median = mean.
    let below = draws
        .iter()
        .filter(|d| **d < 0.002 * std::f64::consts::LN_2)
        .count();
    assert!((below as f64 / draws.len() as f64 - 0.5).abs() < 0.02);
}

/// `[redis] socket_timeout`: RQ's `_set_connection` raises a lower timeout to dequeue timeout
/// + 10 s (415 s by default) and keeps a higher one (rq/worker/base.py).
#[test]
fn socket_timeout_above_rqs_forced_value_is_kept_and_a_lower_one_raised() {
    let text = |socket_timeout: &str| {
        format!(
            r#"
[run]
duration = "40m"
drain = "0s"
[redis]
{socket_timeout}
[[pods]]
name = "worker"
with_scheduler = false
start_delay = "0s"
[[workload]]
jobs = 1
arrival = {{ constant_per_s = 1 }}
[[faults]]
kind = "net"
mode = "drop"
target = "worker-0"
at = "10s"
for = "35m"
[checks]
liveness = false
"#
        )
    };
    // When the black-holed worker gives up: its blocking dequeue gets no reply, and it dies of
    // the TimeoutError its socket timeout raises (after one reconnect attempt).
    let died_at_s = |socket_timeout: &str| {
        let events = events_of(&text(socket_timeout));
        outputs::of_kind(&events, "worker_died")
            .first()
            .expect("the worker times out")
            .time_s
    };
    let forced = died_at_s("");
    let lower = died_at_s(r#"socket_timeout = "100s""#);
    assert_eq!(lower, forced, "a lower timeout is raised to RQ's 415 s");
    let higher = died_at_s(r#"socket_timeout = "600s""#);
    // The last, unanswered command waits the socket timeout: 600 s instead of 415 s.
    assert!(
        (higher - forced - (600.0 - 415.0)).abs() < 0.01,
        "a higher timeout is kept: died at {higher} s, {forced} s with RQ's"
    );
}

/// `[[pods]] restart_policy`: after a pod_kill (exit 137) `Always` and `OnFailure` restart the
/// container, `Never` leaves the pod terminated.
#[test]
fn restart_policy_decides_whether_a_killed_container_comes_back() {
    let workers_born_after_kill = |policy: &str| {
        let text = format!(
            r#"
[run]
duration = "2m"
drain = "0s"
[[pods]]
name = "worker"
with_scheduler = false
start_delay = "1s"
restart_policy = "{policy}"
[[workload]]
jobs = 5
arrival = {{ constant_per_s = 1 }}
[[faults]]
kind = "pod_kill"
target = "worker-0"
at = "30s"
[checks]
liveness = false
"#
        );
        let events = events_of(&text);
        outputs::of_kind(&events, "worker_born")
            .iter()
            .filter(|e| e.time_s > 30.0)
            .count()
    };
    assert_eq!(workers_born_after_kill("Always"), 1);
    assert_eq!(workers_born_after_kill("OnFailure"), 1);
    assert_eq!(workers_born_after_kill("Never"), 0);
}

/// `net` with `target = "any"` cuts off one random pod, as `any` means everywhere else;
/// `"all"` cuts off every client (or every pod of `pods`).
#[test]
fn a_net_fault_on_any_hits_one_pod_and_all_hits_everyone() {
    let fault_detail = |fault: &str| {
        let text = format!(
            r#"
[run]
duration = "1m"
drain = "0s"
[[pods]]
name = "worker"
replicas = 3
start_delay = "0s"
[[workload]]
jobs = 10
arrival = {{ constant_per_s = 1 }}
[[faults]]
kind = "net"
mode = "refuse"
at = "20s"
for = "5s"
{fault}
[checks]
liveness = false
"#
        );
        let events = events_of(&text);
        outputs::of_kind(&events, "fault")[0].detail.clone()
    };
    let one = fault_detail("");
    assert!(one.contains("pod=worker-"), "{one}");
    assert!(fault_detail(r#"target = "all""#).contains(" target=all "));
    let group = fault_detail("target = \"all\"\npods = \"worker\"");
    assert!(group.contains("group=worker"), "{group}");
    let error = simrq::scenario::parse(
        "[[pods]]\n[[workload]]\n[[faults]]\nkind = \"pod_kill\"\ntarget = \"all\"\nat = \"1m\"\n",
        "k.toml",
    )
    .unwrap_err();
    assert_eq!(error.key.as_deref(), Some("faults[0].target"), "{error}");
}

/// `pod_kill` with `target = "horse" | "scheduler"` kills only that process; `"worker"` kills
/// the container's PID 1, so the kubelet restarts the container.
#[test]
fn pod_kill_of_one_process_kills_only_that_process() {
    let run_kill = |target: &str| {
        let text = format!(
            r#"
[run]
duration = "3m"
drain = "0s"
[[pods]]
name = "worker"
with_scheduler = true
start_delay = "0s"
[[workload]]
jobs = 1
start = "5s"
arrival = {{ constant_per_s = 1 }}
duration = "30s"
[[faults]]
kind = "pod_kill"
target = "{target}"
at = "20s"
[checks]
liveness = false
"#
        );
        let events = events_of(&text);
        let killed: Vec<String> = outputs::of_kind(&events, "process_killed")
            .iter()
            .map(|e| e.process.clone())
            .collect();
        let reborn = outputs::of_kind(&events, "worker_born")
            .iter()
            .filter(|e| e.time_s > 20.0)
            .count();
        (killed, reborn)
    };
    let (killed, reborn) = run_kill("horse");
    assert_eq!(killed, ["worker-0.w1:horse"], "only the horse");
    assert_eq!(reborn, 0, "the worker lives on");
    let (killed, reborn) = run_kill("scheduler");
    assert_eq!(killed, ["worker-0.w1:scheduler"], "only the scheduler");
    assert_eq!(reborn, 0);
    let (killed, reborn) = run_kill("worker");
    assert!(killed.contains(&"worker-0.w1".to_string()), "{killed:?}");
    assert_eq!(reborn, 1, "PID 1 died: the container restarts");
    let (_, reborn) = run_kill("any");
    assert_eq!(reborn, 1, "the whole pod");
}

/// `[[pods]] rollout`: Kubernetes' RollingUpdate rules. At most replicas + maxSurge workers
/// run, at least replicas − maxUnavailable stay up, and the Deployment ends at `replicas`
/// (it used to shrink for good when maxUnavailable > maxSurge, and maxSurge = 0 became 1).
#[test]
fn rollouts_keep_within_surge_and_unavailable_and_end_at_replicas() {
    let live_workers = |surge: u32, unavailable: u32| {
        let text = format!(
            r#"
[run]
duration = "5m"
drain = "0s"
sample_interval = "1s"
[[pods]]
name = "worker"
replicas = 4
with_scheduler = false
start_delay = "5s"
termination_grace_period = "5s"
rollout = {{ max_surge = {surge}, max_unavailable = {unavailable} }}
[[workload]]
jobs = 1
arrival = {{ constant_per_s = 1 }}
[[faults]]
kind = "rolling_restart"
pods = "worker"
at = "30s"
"#
        );
        let dir = tempfile::tempdir().unwrap();
        let parsed = simrq::scenario::parse(&text, "r.toml").unwrap();
        let mut options = RunOptions::new(1, dir.path().join("out"), "r.toml");
        options.charts = false;
        run_scenario(&parsed, &options).unwrap();
        // live_workers once a second (timeseries.csv), from the rollout on.
        let series = std::fs::read_to_string(dir.path().join("out/timeseries.csv")).unwrap();
        let header: Vec<&str> = series.lines().next().unwrap().split(',').collect();
        let column = |name: &str| header.iter().position(|h| *h == name).unwrap();
        let (time, live) = (column("time_s"), column("live_workers"));
        let counts: Vec<i64> = series
            .lines()
            .skip(1)
            .map(|line| line.split(',').collect::<Vec<_>>())
            .filter(|fields| fields[time].parse::<f64>().unwrap() >= 30.0)
            .map(|fields| fields[live].parse().unwrap())
            .collect();
        let (low, high) = (*counts.iter().min().unwrap(), *counts.iter().max().unwrap());
        (low, high, *counts.last().unwrap())
    };
    assert_eq!(live_workers(1, 0), (4, 5, 4));
    let (low, high, end) = live_workers(1, 2);
    assert!(
        low == 2 && high <= 5 && end == 4,
        "surge 1, unavailable 2: {low}..{high}, end {end}"
    );
    let (low, high, end) = live_workers(0, 1);
    assert!(
        low == 3 && high <= 4 && end == 4,
        "surge 0: {low}..{high}, end {end}"
    );
}

/// `enqueue_in` is a `timedelta` in RQ: a fraction of a second counts, and the due time is
/// `timegm(now + delay)`, floored to whole seconds (rq/registry.py `schedule`).
#[test]
fn enqueue_in_keeps_its_fraction_and_floors_the_due_time() {
    let text = r#"
[run]
duration = "30s"
drain = "0s"
[[pods]]
name = "worker"
start_delay = "0s"
[[workload]]
jobs = 1
start = "0.7s"
arrival = { constant_per_s = 1 }
enqueue_in = "1500ms"
"#;
    let events = events_of(text);
    let scheduled = outputs::of_kind(&events, "job_scheduled")[0];
    let due: i64 = scheduled.detail("due_unix_s").unwrap().parse().unwrap();
    let expected = simrq::event::EPOCH_UNIX_S + (scheduled.time_s + 1.5).floor() as i64;
    assert_eq!(due, expected, "enqueued at {} s", scheduled.time_s);
    assert_ne!(
        due,
        simrq::event::EPOCH_UNIX_S + (scheduled.time_s + 1.0).floor() as i64,
        "not truncated to 1 s"
    );
}

/// `[[pods]] burst`: a burst worker exits 0 once its queue is empty and the kubelet restarts it
/// under `Always` with CrashLoopBackOff (10 s, 20 s, 40 s … after each exit), so jobs still get
/// done, in waves; without the key the one worker lives for the whole run.
#[test]
fn burst_workers_drain_exit_and_come_back_with_crash_loop_backoff() {
    let run_with = |burst: bool| {
        let text = format!(
            r#"
[run]
duration = "3m"
drain = "2m"
[[pods]]
name = "worker"
with_scheduler = false
start_delay = "1s"
burst = {burst}
[[workload]]
arrival = {{ constant_per_s = 0.5 }}
[checks]
liveness = false
"#
        );
        events_of(&text)
    };
    let burst = run_with(true);
    let born: Vec<f64> = outputs::of_kind(&burst, "worker_born")
        .iter()
        .map(|e| e.time_s)
        .collect();
    let died: Vec<f64> = outputs::of_kind(&burst, "worker_died")
        .iter()
        .map(|e| e.time_s)
        .collect();
    assert!(
        born.len() >= 4,
        "restarted after each drain: born at {born:?}"
    );
    let waits: Vec<f64> = died.iter().zip(&born[1..]).map(|(d, b)| b - d).collect();
    for (restart, wait) in waits.iter().take(3).enumerate() {
        let backoff = 10.0 * 2f64.powi(restart as i32);
        assert!(
            *wait >= backoff + 1.0 && *wait < backoff + 3.0,
            "restart {restart}: back-off {backoff} s + start_delay 1 s, waited {wait} s ({waits:?})"
        );
    }
    // Each wave drains the queue: every job created before the last start has run.
    let last_start = *born.last().expect("born");
    let waiting_then: Vec<String> = outputs::of_kind(&burst, "job_created")
        .iter()
        .filter(|e| e.time_s < last_start)
        .map(|e| e.job.clone())
        .collect();
    let finished: std::collections::BTreeSet<String> = outputs::of_kind(&burst, "job_finished")
        .iter()
        .map(|e| e.job.clone())
        .collect();
    assert!(waiting_then.len() > 50, "{} jobs", waiting_then.len());
    assert!(waiting_then.iter().all(|job| finished.contains(job)));

    let control = run_with(false);
    assert_eq!(outputs::of_kind(&control, "worker_born").len(), 1);
    assert!(outputs::of_kind(&control, "worker_died").is_empty());
}

/// The two scheduler gaps (issue: a metric must mean what its name says). In holder-crash the
/// holder is SIGKILLed: no live scheduler holds the lock from the kill, while the key lives on
/// for its 61 s TTL, so `longest_scheduler_gap_s` exceeds `longest_lock_absent_s` by that TTL.
/// A run whose queues no `--with-scheduler` worker serves has neither.
#[test]
fn scheduler_gap_counts_from_a_killed_holder_and_lock_absence_from_its_expiry() {
    let crash = run(&load("holder-crash"), 1).summary;
    let gap = crash.longest_scheduler_gap_s.expect("a served queue");
    let absent = crash.longest_lock_absent_s.expect("a served queue");
    assert!(
        (gap - absent - 61.0).abs() < 1.5,
        "gap {gap} s, lock absent {absent} s: they should differ by the 61 s TTL"
    );
    let unserved = run(&load("retry-simple"), 1).summary;
    assert_eq!(unserved.longest_scheduler_gap_s, None);
    assert_eq!(unserved.longest_lock_absent_s, None);
}

/// A scenario of two one-second jobs at 1 s on one `--with-scheduler` worker, with `extra`
/// lines added to its `[[workload]]`.
fn two_jobs_with(extra: &str) -> String {
    format!(
        r#"
[run]
duration = "2m"
drain = "2m"
[[pods]]
start_delay = "0s"
with_scheduler = true
[[workload]]
arrival = {{ count = 2, at = "1s" }}
duration = "1s"
{extra}
"#
    )
}

fn parsed(text: &str) -> Scenario {
    simrq::scenario::parse(text, "inline.toml").unwrap_or_else(|e| panic!("{e}"))
}

/// `[[workload]] repeat` (`Repeat(times, interval)`, docs/repeat-and-webhooks.md): each job
/// runs 1 + times times; the `repeat_count` check is given a verdict only when a workload
/// repeats, and `[checks] repeat_count = false` turns it off. Absent, neither the key nor the
/// check's default shows in the canonical TOML, so `config_hash` is what it was.
#[test]
fn repeat_runs_each_job_one_plus_times_and_has_its_own_check() {
    let plain = run(&parsed(&two_jobs_with("")), 1);
    assert_eq!(plain.summary.executions, 2);
    assert!(!plain.summary.checks.contains_key("repeat_count"));
    let repeated = parsed(&two_jobs_with(r#"repeat = { times = 2, interval = "3s" }"#));
    let result = run(&repeated, 1);
    assert_eq!(result.summary.executions, 6);
    assert_eq!(result.summary.jobs, 2);
    assert_eq!(
        result.summary.checks["repeat_count"],
        simrq::report::summary::Verdict::Pass
    );
    assert_eq!(result.exit_code(), 0);
    let mut unchecked = repeated.clone();
    unchecked.checks.repeat_count = false;
    assert!(!run(&unchecked, 1)
        .summary
        .checks
        .contains_key("repeat_count"));
    let canonical = Scenario::default().to_toml();
    assert!(!canonical.contains("repeat"), "{canonical}");
    assert!(!canonical.contains("webhook"), "{canonical}");
    assert!(unchecked.to_toml().contains("repeat_count = false"));
}

/// `[[workload]] webhook`: the horse sends the finished webhook before it exits, so a 4 s
/// endpoint starts the second job 4 s later on the one worker; a 30 s endpoint is cut at the
/// 10 s timeout. `webhook_sent` rows say how long each send took.
#[test]
fn webhook_latency_delays_the_next_job_up_to_its_timeout() {
    let second_start = |extra: &str| {
        let events = events_of(&two_jobs_with(extra));
        outputs::of_kind(&events, "job_started")[1].time_s
    };
    let base = second_start("");
    let slow = second_start(r#"webhook = { on = "finished", latency = "4s" }"#);
    assert!((slow - base - 4.0).abs() < 0.01, "{base} → {slow}");
    let capped = r#"webhook = { on = ["finished", "failed"], latency = "30s", timeout = "10s" }"#;
    let events = events_of(&two_jobs_with(capped));
    let sent = outputs::of_kind(&events, "webhook_sent");
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].detail("took_s").as_deref(), Some("10.000000"));
    assert_eq!(sent[0].detail("timed_out").as_deref(), Some("true"));
    let start = outputs::of_kind(&events, "job_started")[1].time_s;
    assert!((start - base - 10.0).abs() < 0.01, "{base} → {start}");
    let failed_only = r#"webhook = { on = "failed", latency = "4s" }"#;
    let events = events_of(&two_jobs_with(failed_only));
    assert!(outputs::of_kind(&events, "webhook_sent").is_empty());
}

/// RQ takes `Repeat` intervals and `Webhook.timeout` in whole seconds, `times` ≥ 1 and a
/// timeout > 0: anything else is a located error naming the key.
#[test]
fn repeat_and_webhook_values_rq_refuses_are_located_errors() {
    for (extra, expected) in [
        (
            r#"repeat = { times = 2, interval = ["1s", "1500ms"] }"#,
            "workload[0].repeat.interval[1]: 1500ms: RQ takes whole seconds",
        ),
        (
            r#"repeat = { times = 0 }"#,
            "workload[0].repeat.times: Repeat times must be at least 1",
        ),
        (
            r#"webhook = { on = "finished", timeout = "2500ms" }"#,
            "workload[0].webhook.timeout: 2500ms: RQ takes whole seconds",
        ),
        (
            r#"webhook = { on = "failed", timeout = "0s" }"#,
            "workload[0].webhook.timeout: must be greater than zero",
        ),
        (
            r#"webhook = { on = [] }"#,
            "workload[0].webhook.on: expected",
        ),
        (r#"webhook = { on = "done" }"#, "unknown value `done`"),
    ] {
        let text = two_jobs_with(extra);
        let error = simrq::scenario::parse(&text, "inline.toml")
            .expect_err(extra)
            .to_string();
        assert!(error.contains(expected), "{extra}: {error}");
        assert!(error.starts_with("inline.toml:11:"), "{extra}: {error}");
    }
}

/// A finished job's webhook is sent after its terminal commit: once `result_ttl` has removed
/// the job from Redis, `lost_job` and `liveness` must still count it as finished, not as a
/// job gone missing after its last word (`webhook_sent`).
#[test]
fn a_webhook_after_the_finish_does_not_make_an_expired_job_lost() {
    let text =
        two_jobs_with("result_ttl = \"10s\"\nwebhook = { on = \"finished\", latency = \"1s\" }")
            // Maintenance cleans the finished registry too, so that the ids leave Redis entirely
            // (an idle worker runs it only between dequeue timeouts: worker_ttl − 15 s).
            .replace(
                "[[pods]]",
                "[rq]\nmaintenance_interval = \"30s\"\nworker_ttl = \"40s\"\n[[pods]]",
            );
    let result = run(&parsed(&text), 1);
    assert_eq!(result.summary.executions, 2);
    assert_eq!(
        result.summary.checks["lost_job"],
        simrq::report::summary::Verdict::Pass
    );
    assert_eq!(
        result.summary.checks["liveness"],
        simrq::report::summary::Verdict::Pass
    );
}
