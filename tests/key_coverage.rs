//! Every documented key changes what it says it changes (issue 15). Each test runs a small
//! scenario with the key against the same scenario without it (or with another value) and
//! asserts the documented effect, so a key the model ignores fails here. docs/key-coverage.md
//! maps every key of docs/scenario-format.md to the test that pins it; the last test of this
//! file fails when a documented key is missing from that map.

mod outputs;

use std::collections::BTreeMap;
use std::path::Path;

use outputs::{of_kind, EventRow};
use simrq::report::summary::Verdict;
use simrq::run::{run_scenario, RunOptions, RunResult};
use simrq::scenario::Scenario;

/// One run of an inline scenario: its result and the files it wrote.
struct Ran {
    result: RunResult,
    events: Vec<EventRow>,
    jobs: Vec<BTreeMap<String, String>>,
    timeseries: Vec<BTreeMap<String, String>>,
}

impl Ran {
    /// Times of the rows of `kind`.
    fn times(&self, kind: &str) -> Vec<f64> {
        of_kind(&self.events, kind)
            .iter()
            .map(|e| e.time_s)
            .collect()
    }

    fn rows(&self, kind: &str) -> Vec<&EventRow> {
        of_kind(&self.events, kind)
    }

    /// Rows of `kind` whose `detail` has `key=value`.
    fn rows_with(&self, kind: &str, key: &str, value: &str) -> Vec<&EventRow> {
        self.rows(kind)
            .into_iter()
            .filter(|e| e.detail(key).as_deref() == Some(value))
            .collect()
    }

    fn job(&self, id: &str) -> &BTreeMap<String, String> {
        self.jobs
            .iter()
            .find(|row| row["job"] == id)
            .unwrap_or_else(|| panic!("no job {id} in jobs.csv"))
    }
}

/// Parses `text` (an error fails the test with the located message) and runs it with `seed`.
fn sim(text: &str, seed: u64) -> Ran {
    let scenario = simrq::scenario::parse(text, "inline.toml").unwrap_or_else(|e| panic!("{e}"));
    run(&scenario, seed)
}

fn run(scenario: &Scenario, seed: u64) -> Ran {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let mut options = RunOptions::new(seed, &out, "inline.toml");
    options.charts = false;
    options.base_dir = Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf();
    let result = run_scenario(scenario, &options).unwrap();
    Ran {
        result,
        events: outputs::read_events(&out),
        jobs: outputs::read_jobs(&out),
        timeseries: read_table(&out.join("timeseries.csv")),
    }
}

fn read_table(path: &Path) -> Vec<BTreeMap<String, String>> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header = outputs::split_csv_line(lines.next().expect("a header"));
    lines
        .map(|line| {
            header
                .iter()
                .cloned()
                .zip(outputs::split_csv_line(line))
                .collect()
        })
        .collect()
}

/// Gaps between consecutive values.
fn gaps(times: &[f64]) -> Vec<f64> {
    times.windows(2).map(|pair| pair[1] - pair[0]).collect()
}

fn approx(value: f64, expected: f64, tolerance: f64) -> bool {
    (value - expected).abs() <= tolerance
}

// ----- [run] -----------------------------------------------------------------------------

/// `[run] duration`: arrivals and faults happen only before it (docs/scenario-format.md
/// `[run]`): a constant stream of 1 job/s makes 30 more jobs in 60 s than in 30 s, and a
/// fault at 45 s fires only in the longer run.
#[test]
fn run_duration_bounds_arrivals_and_faults() {
    let ran = |duration: &str| {
        sim(
            &format!(
                r#"
[run]
duration = "{duration}"
drain = "0s"
[[pods]]
start_delay = "0s"
[[workload]]
arrival = {{ constant_per_s = 1 }}
[[faults]]
kind = "pod_kill"
at = "45s"
[checks]
liveness = false
"#
            ),
            1,
        )
    };
    let short = ran("30s");
    let long = ran("60s");
    let created = |ran: &Ran| ran.times("job_created");
    assert_eq!(created(&short).len(), 29, "{:?}", created(&short));
    assert_eq!(created(&long).len(), 59);
    assert!(created(&short).iter().all(|t| *t < 30.0));
    assert!(short.rows("fault").is_empty());
    assert_eq!(long.times("fault"), [45.0]);
}

/// `[run] drain`: the quiet time after `duration` in which jobs settle; the run ends at
/// duration + drain and liveness is judged then.
#[test]
fn run_drain_lets_jobs_settle_before_liveness_is_judged() {
    let ran = |drain: &str| {
        sim(
            &format!(
                r#"
[run]
duration = "1m"
drain = "{drain}"
[[pods]]
start_delay = "0s"
[[workload]]
jobs = 1
start = "10s"
arrival = {{ constant_per_s = 1 }}
duration = "100s"
"#
            ),
            1,
        )
    };
    let none = ran("0s");
    assert_eq!(none.job("j1")["outcome"], "started");
    assert_eq!(none.result.summary.checks["liveness"], Verdict::Fail);
    let drained = ran("2m");
    assert_eq!(drained.job("j1")["outcome"], "finished");
    assert_eq!(drained.result.summary.checks["liveness"], Verdict::Pass);
    let last_sample: f64 = drained.timeseries.last().unwrap()["time_s"]
        .parse()
        .unwrap();
    assert!(
        approx(last_sample, 180.0, 10.0),
        "last sample {last_sample}"
    );
    let last_sample: f64 = none.timeseries.last().unwrap()["time_s"].parse().unwrap();
    assert!(last_sample <= 60.0, "last sample {last_sample}");
}

/// `[run] sample_interval`: the period of `timeseries.csv` rows.
#[test]
fn run_sample_interval_spaces_the_timeseries_rows() {
    let spacing = |line: &str| {
        let ran = sim(
            &format!(
                "[run]\nduration = \"1m\"\ndrain = \"0s\"\n{line}\n[[pods]]\n[[workload]]\n\
                 [checks]\nliveness = false\n"
            ),
            1,
        );
        let times: Vec<f64> = ran
            .timeseries
            .iter()
            .map(|row| row["time_s"].parse().unwrap())
            .collect();
        let spacing = gaps(&times);
        assert!(spacing.iter().all(|g| *g == spacing[0]), "{times:?}");
        spacing[0]
    };
    assert_eq!(spacing(""), 10.0);
    assert_eq!(spacing("sample_interval = \"3s\""), 3.0);
}

/// `[run] swarm`: each seed switches a random, non-empty subset of the fault kinds off.
#[test]
fn run_swarm_switches_fault_kinds_off_per_seed() {
    let kinds_fired = |swarm: bool, seed: u64| {
        let ran = sim(
            &format!(
                r#"
[run]
duration = "1m"
drain = "0s"
swarm = {swarm}
[[pods]]
replicas = 2
start_delay = "0s"
[[workload]]
[[faults]]
kind = "pod_kill"
at = "20s"
[[faults]]
kind = "pause"
at = "30s"
for = "5s"
[[faults]]
kind = "clock_step"
at = "40s"
offset = "1s"
[checks]
liveness = false
"#
            ),
            seed,
        );
        let kinds: std::collections::BTreeSet<String> = ran
            .rows("fault")
            .iter()
            .map(|e| e.detail("fault").unwrap())
            .collect();
        kinds
    };
    for seed in 0..12 {
        assert_eq!(kinds_fired(false, seed).len(), 3, "seed {seed}");
    }
    let swarmed: Vec<usize> = (0..12).map(|seed| kinds_fired(true, seed).len()).collect();
    assert!(swarmed.iter().all(|n| (1..=3).contains(n)), "{swarmed:?}");
    assert!(swarmed.iter().any(|n| *n < 3), "{swarmed:?}");
}

// ----- [redis] ---------------------------------------------------------------------------

/// One job on one idle worker with a constant one-way latency of `latency`.
fn one_job_wait_s(latency: &str) -> f64 {
    let ran = sim(
        &format!(
            r#"
[run]
duration = "30s"
drain = "0s"
[redis]
latency = "{latency}"
[[pods]]
start_delay = "0s"
[[workload]]
jobs = 1
start = "10s"
arrival = {{ constant_per_s = 1 }}
"#
        ),
        1,
    );
    let job = ran.job("j1");
    let start: f64 = job["first_start_s"].parse().unwrap();
    let enqueued: f64 = job["enqueued_s"].parse().unwrap();
    start - enqueued
}

/// `[redis] latency`: every Redis round trip between the enqueue and the start (the blocked
/// pop's reply, the fetch, `prepare_execution`, the horse's own transaction) takes it.
#[test]
fn redis_latency_delays_every_round_trip() {
    let fast = one_job_wait_s("0.3ms");
    let slow = one_job_wait_s("10ms");
    let one_way_trips = (slow - fast) / 0.0097;
    assert!(
        one_way_trips >= 5.0 && (one_way_trips - one_way_trips.round()).abs() < 0.01,
        "wait {fast} s at 0.3 ms, {slow} s at 10 ms: {one_way_trips} one-way trips"
    );
}

/// `[redis] latency` as a distribution: each form reaches the network as itself.
#[test]
fn redis_latency_distributions_reach_the_network_unchanged() {
    use simrq::scenario::Distribution;
    use simrq::sim::{DurationDist, SimDuration};
    let ms = SimDuration::from_millis;
    let forms = [
        (Distribution::Constant(ms(2)), DurationDist::Constant(ms(2))),
        (
            Distribution::Exponential { mean: ms(2) },
            DurationDist::Exponential { mean: ms(2) },
        ),
        (
            Distribution::Uniform {
                min: ms(1),
                max: ms(3),
            },
            DurationDist::Uniform {
                min: ms(1),
                max: ms(3),
            },
        ),
        (
            Distribution::Lognormal {
                median: ms(1),
                p99: ms(9),
            },
            DurationDist::LogNormal {
                median: ms(1),
                p99: ms(9),
            },
        ),
    ];
    for (given, expected) in forms {
        let redis = simrq::scenario::RedisSpec {
            latency: given,
            ..Default::default()
        };
        assert_eq!(simrq::run::world::network_settings(&redis).0, expected);
    }
}

/// `[redis] client_retries`: redis-py retries a command that failed on the connection. A
/// 0.5 s window of refused connections makes the idle worker's pending pop fail: with no
/// retries RQ sees the ConnectionError (a `redis_error` row); with 10 the retries outlast it.
#[test]
fn redis_client_retries_absorb_a_short_outage() {
    let errors = |retries: u32| {
        let ran = sim(
            &format!(
                r#"
[run]
duration = "1m"
drain = "0s"
[redis]
client_retries = {retries}
[[pods]]
start_delay = "0s"
[[workload]]
jobs = 1
arrival = {{ constant_per_s = 1 }}
[[faults]]
kind = "net"
mode = "refuse"
target = "worker-0"
at = "20s"
for = "500ms"
"#
            ),
            1,
        );
        ran.rows("redis_error").len()
    };
    assert!(errors(0) >= 1);
    assert_eq!(errors(10), 0);
}

/// `[redis] snapshot_every`: a restart with `persistence = "snapshot"` keeps what the last
/// snapshot held, so jobs enqueued since then are lost. Jobs wait on a queue no pod serves.
#[test]
fn redis_snapshot_every_decides_what_a_restart_keeps() {
    let lost_created_at = |line: &str| {
        let fault = "kind = \"redis_restart\"\npersistence = \"snapshot\"\nat = \"95s\"";
        lost_waiting_jobs("", line, fault).1
    };
    // The default: a snapshot every 60 s, so the jobs enqueued after 60 s are lost.
    let default = lost_created_at("");
    assert!(
        default.first().is_some_and(|t| approx(*t, 60.0, 0.01)),
        "{default:?}"
    );
    let often = lost_created_at("snapshot_every = \"10s\"");
    assert!(
        often.first().is_some_and(|t| approx(*t, 90.0, 0.01)),
        "{often:?}"
    );
    assert_eq!(default.last(), often.last());
}

/// `[redis] connect_timeout`: a black-holed worker's reconnect waits it out. The worker's
/// blocking pop gets no reply (415 s, RQ's socket timeout), it reconnects once and dies of
/// the connect timeout.
#[test]
fn redis_connect_timeout_is_how_long_a_reconnect_waits() {
    let died_at_s = |line: &str| {
        let ran = sim(
            &format!(
                r#"
[run]
duration = "40m"
drain = "0s"
[redis]
{line}
[[pods]]
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
            ),
            1,
        );
        ran.times("worker_died")[0]
    };
    let default = died_at_s("");
    let longer = died_at_s("connect_timeout = \"20s\"");
    assert!(
        approx(longer - default, 15.0, 0.01),
        "{default} s, then {longer} s"
    );
}

// ----- [rq] ------------------------------------------------------------------------------

/// `[rq] worker_ttl`: the dequeue timeout is worker_ttl − 15 s (rq-semantics §2), the only
/// wake-up of an idle worker, so an idle worker's next maintenance after the 600 s interval
/// comes at its first wake-up past it: 2 × 405 s after its last job with RQ's 420 s, 6 × 105 s
/// with 120 s.
#[test]
fn rq_worker_ttl_sets_the_idle_workers_dequeue_timeout() {
    let second_maintenance_after_job = |line: &str| {
        let ran = sim(
            &format!(
                r#"
[run]
duration = "20m"
drain = "0s"
[rq]
{line}
[[pods]]
start_delay = "0s"
[[workload]]
jobs = 1
arrival = {{ constant_per_s = 1 }}
"#
            ),
            1,
        );
        let finished = ran.times("job_finished")[0];
        ran.times("maintenance")[1] - finished
    };
    let default = second_maintenance_after_job("");
    assert!(approx(default, 810.0, 0.1), "{default}");
    let short = second_maintenance_after_job("worker_ttl = \"120s\"");
    assert!(approx(short, 630.0, 0.1), "{short}");
}

/// `[rq] job_monitoring_interval`: the heartbeat period of a running job, whose StartedJob
/// registry score is last heartbeat + min(interval, time left) + 60 s (rq-semantics §2, §5.3).
/// A pod killed mid-job stops the heartbeats; the job is found abandoned at the first
/// maintenance after that score (every 15 s here: an idle worker checks maintenance only when
/// its 15 s dequeue timeout wakes it, so `worker_ttl` is 30 s).
#[test]
fn rq_job_monitoring_interval_sets_the_heartbeat_and_the_abandon_time() {
    let abandoned_after_start = |line: &str| {
        let ran = sim(
            &format!(
                r#"
[run]
duration = "10m"
drain = "0s"
[rq]
maintenance_interval = "15s"
worker_ttl = "30s"
{line}
[[pods]]
name = "runner"
start_delay = "0s"
[[pods]]
name = "cleaner"
start_delay = "30s"
[[workload]]
jobs = 1
start = "5s"
arrival = {{ constant_per_s = 1 }}
duration = "10m"
job_timeout = "1h"
[[faults]]
kind = "pod_kill"
target = "runner-0"
at = "2m"
[checks]
liveness = false
"#
            ),
            1,
        );
        let started = ran.times("job_started")[0];
        ran.times("job_abandoned")[0] - started
    };
    // Heartbeats at 0, 30, 60, 90 s of the job (killed at ~115 s): score 90 + 90 = 180 s.
    let default = abandoned_after_start("");
    assert!((180.0..=196.0).contains(&default), "{default}");
    // Heartbeats at 0 and 100 s: score 100 + 100 + 60 = 260 s.
    let sparse = abandoned_after_start("job_monitoring_interval = \"100s\"");
    assert!((260.0..=276.0).contains(&sparse), "{sparse}");
}

/// `[rq] maintenance_interval`: a busy worker runs maintenance once this long has passed
/// (checked before each dequeue, rq-semantics §5.1).
#[test]
fn rq_maintenance_interval_spaces_a_busy_workers_maintenance() {
    let spacing = |line: &str| {
        let ran = sim(
            &format!(
                r#"
[run]
duration = "25m"
drain = "0s"
[rq]
{line}
[[pods]]
start_delay = "0s"
[[workload]]
arrival = {{ constant_per_s = 2 }}
duration = "10ms"
"#
            ),
            1,
        );
        gaps(&ran.times("maintenance"))
    };
    let default = spacing("");
    assert!(
        default.len() >= 2 && default.iter().all(|g| approx(*g, 600.0, 1.0)),
        "{default:?}"
    );
    let often = spacing("maintenance_interval = \"120s\"");
    assert!(
        often.len() >= 10 && often.iter().all(|g| approx(*g, 120.0, 1.0)),
        "{often:?}"
    );
}

/// `[rq] scheduler_interval`: the scheduler's sleep between ticks (plus its Redis calls);
/// each tick's heartbeat refreshes the lock (`lock_refreshed`).
#[test]
fn rq_scheduler_interval_spaces_the_ticks() {
    let median_tick_gap = |line: &str| {
        let ran = sim(
            &format!(
                r#"
[run]
duration = "2m"
drain = "0s"
[rq]
{line}
[[pods]]
with_scheduler = true
start_delay = "0s"
[[workload]]
jobs = 1
arrival = {{ constant_per_s = 1 }}
"#
            ),
            1,
        );
        let mut spacing = gaps(&ran.times("lock_refreshed"));
        spacing.sort_by(f64::total_cmp);
        spacing[spacing.len() / 2]
    };
    let default = median_tick_gap("");
    assert!(approx(default, 1.0, 0.01), "{default}");
    let slow = median_tick_gap("scheduler_interval = \"5s\"");
    assert!(approx(slow, 5.0, 0.01), "{slow}");
    // The lock's TTL is the interval + 60 s (rq-semantics §2), read at 21 s: about 1 s after
    // the 1 s scheduler's last refresh, 1 s after the 5 s one's refresh at ~20 s.
    let lock_ttl = |line: &str| {
        let text = format!(
            "[run]\nduration = \"1m\"\n[rq]\n{line}\n[[pods]]\nwith_scheduler = true\n\
             start_delay = \"0s\"\n[[workload]]\n"
        );
        ttl_left_s(&text, 21.0, "rq:scheduler-lock:default").expect("a lock")
    };
    assert!((60.0..=61.0).contains(&lock_ttl("")), "{}", lock_ttl(""));
    let slow = lock_ttl("scheduler_interval = \"5s\"");
    assert!((63.0..=65.0).contains(&slow), "{slow}");
}

/// `[rq] scheduler_fallback_period`: a running scheduler that lacks one of its queues' locks
/// tries again once this long has passed since its last attempt (rq-semantics §4.6). Pod b
/// (queues q1 and q2) gets only q2 at its start, since pod a holds q1; a is SIGKILLed at
/// 130 s and its lock expires 61 s after its last refresh; b takes q1 at its next attempt.
#[test]
fn rq_scheduler_fallback_period_is_how_often_a_lockless_scheduler_retries() {
    let takeover_after_expiry = |line: &str| {
        let ran = sim(
            &format!(
                r#"
[run]
duration = "6m"
drain = "0s"
[rq]
{line}
[[pods]]
name = "a"
with_scheduler = true
queues = ["q1"]
start_delay = "0s"
[[pods]]
name = "b"
with_scheduler = true
queues = ["q1", "q2"]
start_delay = "5s"
[[workload]]
queue = "q1"
jobs = 1
arrival = {{ constant_per_s = 1 }}
[[faults]]
kind = "pod_kill"
target = "a-0"
at = "130s"
"#
            ),
            1,
        );
        let last_refresh_by_a = ran
            .rows("lock_refreshed")
            .iter()
            .filter(|e| e.pod == "a-0" && e.time_s <= 130.0)
            .map(|e| e.time_s)
            .fold(0.0, f64::max);
        let expiry = last_refresh_by_a + 61.0;
        let taken = ran
            .rows("lock_acquired")
            .iter()
            .find(|e| e.pod == "b-0" && e.queue == "q1")
            .map(|e| e.time_s)
            .expect("b takes q1 over");
        taken - expiry
    };
    let default = takeover_after_expiry("");
    let short = takeover_after_expiry("scheduler_fallback_period = \"20s\"");
    assert!(
        (0.0..=21.0).contains(&short),
        "20 s fallback: {short} s after the expiry"
    );
    assert!(
        default > short + 20.0 && default <= 121.0,
        "120 s fallback: {default} s"
    );
}

/// `[rq] default_job_timeout`: the timeout of a job that sets none (`Queue.DEFAULT_TIMEOUT`).
#[test]
fn rq_default_job_timeout_ends_a_job_that_sets_none() {
    let ran = |line: &str| {
        sim(
            &format!(
                r#"
[run]
duration = "2m"
drain = "0s"
[rq]
{line}
[[pods]]
start_delay = "0s"
[[workload]]
jobs = 1
arrival = {{ constant_per_s = 1 }}
duration = "30s"
"#
            ),
            1,
        )
    };
    assert_eq!(ran("").job("j1")["outcome"], "finished");
    let short = ran("default_job_timeout = \"10s\"");
    let failed = short.rows("job_failed");
    assert_eq!(failed.len(), 1);
    assert_eq!(
        failed[0].detail("reason").as_deref(),
        Some("JobTimeoutException")
    );
    let started = short.times("job_started")[0];
    assert!(approx(failed[0].time_s - started, 10.0, 0.1));
}

/// Builds the world of `text` (seed 1), runs it to `at_s` and returns the seconds left before
/// `key` expires in Redis (`None`: no key, or no TTL).
fn ttl_left_s(text: &str, at_s: f64, key: &str) -> Option<f64> {
    use simrq::sim::SimTime;
    let scenario = simrq::scenario::parse(text, "inline.toml").unwrap_or_else(|e| panic!("{e}"));
    let active_until = SimTime(scenario.run.duration.as_micros());
    let bus = simrq::event::EventBus::new();
    let world =
        simrq::run::world::World::build(&scenario, 1, Path::new(""), bus, active_until).unwrap();
    world.sim.run_until(SimTime((at_s * 1e6) as u64));
    let now = world.sim.now();
    let left = world.network.with_server(|server| {
        server
            .peek_expire_at(now, key)
            .map(|at| at.since(now).as_secs_f64())
    });
    world.sim.teardown();
    left
}

/// One job of `workload_lines` at 1 s on one worker; the TTL left on its hash at 10 s.
fn job_hash_ttl_at_10_s(rq_lines: &str, workload_lines: &str) -> Option<f64> {
    let text = format!(
        r#"
[run]
duration = "1m"
[rq]
{rq_lines}
[[pods]]
start_delay = "0s"
[[workload]]
jobs = 1
arrival = {{ constant_per_s = 1 }}
{workload_lines}
"#
    );
    ttl_left_s(&text, 10.0, "rq:job:j1")
}

/// `[rq] result_ttl` and `[[workload]] result_ttl`: how long a finished job's hash is kept
/// (`EXPIRE rq:job:<id> result_ttl` in `handle_job_success`, rq-semantics §3.6); the job's
/// own value wins.
#[test]
fn result_ttl_is_how_long_a_finished_job_is_kept() {
    let left = |rq: &str, workload: &str| job_hash_ttl_at_10_s(rq, workload).expect("a TTL");
    // The job ends at ~1.1 s: 8.9 s of its TTL have passed at 10 s.
    assert!(approx(left("", ""), 500.0 - 8.9, 0.2));
    assert!(approx(left("result_ttl = \"50s\"", ""), 50.0 - 8.9, 0.2));
    let own = left("result_ttl = \"50s\"", "result_ttl = \"20s\"");
    assert!(approx(own, 20.0 - 8.9, 0.2), "{own}");
}

/// `[rq] failure_ttl` and `[[workload]] failure_ttl`: how long a failed job's hash is kept.
#[test]
fn failure_ttl_is_how_long_a_failed_job_is_kept() {
    let left = |rq: &str, workload: &str| {
        let workload = format!("fail_probability = 1.0\n{workload}");
        job_hash_ttl_at_10_s(rq, &workload).expect("a TTL")
    };
    assert!(approx(left("", ""), 31_536_000.0 - 8.9, 0.2));
    assert!(approx(left("failure_ttl = \"100s\"", ""), 100.0 - 8.9, 0.2));
    let own = left("failure_ttl = \"100s\"", "failure_ttl = \"30s\"");
    assert!(approx(own, 30.0 - 8.9, 0.2), "{own}");
}

/// `[[workload]] ttl`: a queued job's hash expires after it (`Job.cleanup(ttl)` at enqueue);
/// without it the hash has no TTL. The job waits on a queue no pod serves.
#[test]
fn workload_ttl_expires_a_waiting_job() {
    let left =
        |workload: &str| job_hash_ttl_at_10_s("", &format!("queue = \"waiting\"\n{workload}"));
    assert_eq!(left(""), None);
    let ttl = left("ttl = \"60s\"").expect("a TTL");
    assert!(approx(ttl, 51.0, 0.2), "{ttl}");
}

/// `[rq] maintenance_lock_ttl`: the TTL of `rq:clean_registries:<q>`, which a worker sets
/// with `SET NX EX` before cleaning a queue and deletes after (rq-semantics §5, step 2), so
/// it only bounds how long a cleaner that died mid-way blocks the others. The key is read
/// while the first cleanup runs (20 ms one way, so the cleanup takes a while).
#[test]
fn rq_maintenance_lock_ttl_is_the_clean_locks_ttl() {
    use simrq::sim::SimTime;
    let lock_ttl_s = |line: &str| {
        let text = format!(
            "[run]\nduration = \"1m\"\n[redis]\nlatency = \"20ms\"\n[rq]\n{line}\n\
             [[pods]]\nstart_delay = \"0s\"\n[[workload]]\n"
        );
        let scenario = simrq::scenario::parse(&text, "lock.toml").unwrap();
        let bus = simrq::event::EventBus::new();
        let until = SimTime(60_000_000);
        let world =
            simrq::run::world::World::build(&scenario, 1, Path::new(""), bus, until).unwrap();
        let mut left = None;
        for step in 1..200 {
            world.sim.run_until(SimTime(step * 5_000));
            let now = world.sim.now();
            left = world.network.with_server(|server| {
                server
                    .peek_expire_at(now, "rq:clean_registries:default")
                    .map(|at| at.since(now).as_secs_f64())
            });
            if left.is_some() {
                break;
            }
        }
        world.sim.teardown();
        left.expect("the clean lock is held during the first cleanup")
    };
    assert!(approx(lock_ttl_s(""), 899.0, 0.1));
    assert!(approx(
        lock_ttl_s("maintenance_lock_ttl = \"30s\""),
        30.0,
        0.1
    ));
}

/// `[rq] intermediate_stuck_threshold`: the age past which the intermediate-list cleaner
/// fails an id it saw before (rq/intermediate_queue.py, rq-semantics §5.4). Race R15 parks
/// a job there: an idle `--with-scheduler` worker deleted while jobs arrive every 250 ms
/// pops one after its SIGTERM and never runs it. Its replacement's maintenance (every 15 s)
/// first records the id, then fails it once it is older than this.
#[test]
fn rq_intermediate_stuck_threshold_is_the_age_of_a_stuck_id() {
    let stuck_after_first_seen = |line: &str| {
        let ran = sim(
            &format!(
                r#"
[run]
duration = "4m"
drain = "0s"
[rq]
maintenance_interval = "15s"
{line}
[[pods]]
with_scheduler = true
start_delay = "0s"
[[workload]]
arrival = {{ constant_per_s = 4 }}
duration = "10ms"
[[faults]]
kind = "pod_delete"
target = "worker-0"
at = "30s"
[checks]
liveness = false
"#
            ),
            1,
        );
        let abandoned = ran.rows("job_abandoned");
        assert_eq!(abandoned.len(), 1, "one job parked by R15: {abandoned:?}");
        let reason = abandoned[0].detail("reason").unwrap();
        assert!(reason.contains("stuck in intermediate queue"), "{reason}");
        // The first cleanup of the replacement pod (worker-1) after the park saw it.
        let first_seen = ran
            .rows_with("maintenance", "cleaned_queues", "1")
            .iter()
            .find(|e| e.pod == "worker-1")
            .map(|e| e.time_s)
            .unwrap();
        abandoned[0].time_s - first_seen
    };
    let default = stuck_after_first_seen("");
    assert!(default > 60.0 && default <= 76.0, "{default}");
    let short = stuck_after_first_seen("intermediate_stuck_threshold = \"20s\"");
    assert!(short > 20.0 && short <= 36.0, "{short}");
}

/// `[rq] max_connection_wait`: the cap of the dequeue loop's back-off after a
/// ConnectionError: 1, 2, 4, 8, 16 … s (rq-semantics §7). Worker-0's connections are refused
/// for 100 s.
#[test]
fn rq_max_connection_wait_caps_the_dequeue_back_off() {
    let back_offs = |line: &str| {
        let ran = sim(
            &format!(
                r#"
[run]
duration = "3m"
drain = "0s"
[rq]
{line}
[[pods]]
start_delay = "0s"
[[workload]]
jobs = 1
arrival = {{ constant_per_s = 1 }}
[[faults]]
kind = "net"
mode = "refuse"
target = "worker-0"
at = "20s"
for = "100s"
"#
            ),
            1,
        );
        let errors: Vec<f64> = ran
            .rows_with("redis_error", "phase", "dequeue")
            .iter()
            .map(|e| e.time_s)
            .collect();
        gaps(&errors)
            .iter()
            .map(|g| g.round())
            .collect::<Vec<f64>>()
    };
    // Refused from 20 s to 120 s: tries at 20, 21, 23, 27, 35, 51, 83 s, then 143 s succeeds.
    assert_eq!(back_offs(""), [1.0, 2.0, 4.0, 8.0, 16.0, 32.0]);
    let capped = back_offs("max_connection_wait = \"5s\"");
    assert_eq!(capped[..3], [1.0, 2.0, 4.0]);
    assert!(
        capped.len() > 10 && capped[3..].iter().all(|g| *g == 5.0),
        "{capped:?}"
    );
}

/// `[rq] due_jobs_per_tick`: at most this many due jobs move per queue per scheduler tick
/// (`ZRANGEBYSCORE … LIMIT 0 1000`, rq-semantics §4.5). Fifty jobs fall due at once.
#[test]
fn rq_due_jobs_per_tick_is_the_scheduler_chunk() {
    let moved = |line: &str| {
        let ran = sim(
            &format!(
                r#"
[run]
duration = "1m"
drain = "0s"
[rq]
{line}
[[pods]]
with_scheduler = true
start_delay = "0s"
[[workload]]
arrival = {{ count = 50, at = "5s" }}
enqueue_in = "10s"
duration = "10ms"
"#
            ),
            1,
        );
        ran.rows("scheduler_tick")
            .iter()
            .map(|e| e.detail("moved").unwrap().parse::<u32>().unwrap())
            .filter(|moved| *moved > 0)
            .collect::<Vec<u32>>()
    };
    assert_eq!(moved(""), [50]);
    assert_eq!(moved("due_jobs_per_tick = 10"), [10, 10, 10, 10, 10]);
}

/// `[rq] hard_kill_grace` and `[[workload]] hang_probability`: a job blocked where SIGALRM
/// cannot reach it never returns; the worker's monitoring loop SIGKILLs its horse once it
/// has run its timeout plus this grace (rq-semantics §3.5).
#[test]
fn rq_hard_kill_grace_ends_a_hung_job() {
    let killed_after_start = |rq: &str, hang: f64| {
        let ran = sim(
            &format!(
                r#"
[run]
duration = "4m"
drain = "0s"
[rq]
{rq}
[[pods]]
start_delay = "0s"
[[workload]]
jobs = 1
arrival = {{ constant_per_s = 1 }}
job_timeout = "10s"
hang_probability = {hang}
[checks]
liveness = false
"#
            ),
            1,
        );
        let started = ran.times("job_started")[0];
        ran.rows("process_killed")
            .first()
            .map(|e| e.time_s - started)
    };
    assert_eq!(
        killed_after_start("", 0.0),
        None,
        "a job that returns is not killed"
    );
    let default = killed_after_start("", 1.0).expect("killed");
    assert!(default > 70.0 && default <= 100.0, "{default}");
    let short = killed_after_start("hard_kill_grace = \"5s\"", 1.0).expect("killed");
    assert!(short > 15.0 && short <= 45.0, "{short}");
}

/// Two `--with-scheduler` pods; the lock holder's scheduler is frozen at 30 s for 80 s, past
/// its 61 s TTL, and the standby takes the lock over meanwhile (maintenance every 15 s; the
/// idle standby wakes every 15 s since `worker_ttl` is 30 s).
fn frozen_holder_text(variant: &str) -> String {
    format!(
        r#"
[run]
duration = "3m"
drain = "0s"
[rq]
maintenance_interval = "15s"
worker_ttl = "30s"
variant = "{variant}"
[[pods]]
replicas = 2
with_scheduler = true
start_delay = "0s"
[[workload]]
jobs = 1
arrival = {{ constant_per_s = 1 }}
[[faults]]
kind = "pause"
target = "scheduler_holder"
at = "30s"
for = "80s"
"#
    )
}

fn frozen_holder(variant: &str) -> Ran {
    sim(&frozen_holder_text(variant), 1)
}

/// `[rq] variant`: "2.12" checks the lock in its heartbeat script and learns it lost it
/// (`lock_lost`, rq-semantics §4.4); "2.10"'s unchecked `EXPIRE` never does, so two
/// schedulers believe they hold the lock (§4.9, R1b).
#[test]
fn rq_variant_2_10_never_learns_it_lost_the_lock() {
    let stock = frozen_holder("2.12");
    assert_eq!(stock.rows("lock_lost").len(), 1);
    assert_eq!(
        stock.result.summary.checks["single_active_scheduler"],
        Verdict::Pass
    );
    let old = frozen_holder("2.10");
    assert!(old.rows("lock_lost").is_empty());
    assert_eq!(
        old.result.summary.checks["single_active_scheduler"],
        Verdict::Fail
    );
}

/// `scenarios/scheduler-pause.toml` with `[rq]` switches set.
fn scheduler_pause(switches: &[&str]) -> Scenario {
    let mut scenario = outputs::load("scheduler-pause");
    for switch in switches {
        match *switch {
            "atomic_enqueue" => scenario.rq.atomic_enqueue = true,
            "fenced_enqueue" => scenario.rq.fenced_enqueue = true,
            "first_seen_per_enqueue" => scenario.rq.first_seen_per_enqueue = true,
            other => panic!("{other}"),
        }
    }
    scenario
}

/// `[rq] atomic_enqueue` and `fenced_enqueue`: either fixes race R1 (docs/races.md). On
/// scheduler-pause seed 8 the frozen holder's stale enqueue runs a job twice in stock RQ.
#[test]
fn rq_atomic_or_fenced_enqueue_removes_race_r1() {
    let stock = run(&scheduler_pause(&[]), 8);
    assert!(stock.result.summary.duplicate_executions > 0);
    for fix in ["atomic_enqueue", "fenced_enqueue"] {
        let fixed = run(&scheduler_pause(&[fix]), 8);
        assert_eq!(fixed.result.summary.duplicate_executions, 0, "{fix}");
        let stale = fixed
            .result
            .violations
            .iter()
            .filter(|v| v.detail.contains("while the lock of"))
            .count();
        assert_eq!(stale, 0, "{fix}: no enqueue without the lock");
    }
}

/// `[rq] first_seen_per_enqueue`: fixes race R17 (docs/races.md). scheduler-pause with
/// `fenced_enqueue` still runs a job twice at seed 290 (about 1 seed in 60), after a stale `first_seen` failed
/// its running retry as stuck; keyed by the enqueue, no job is abandoned that way.
#[test]
fn rq_first_seen_per_enqueue_removes_race_r17() {
    let fenced = run(&scheduler_pause(&["fenced_enqueue"]), 290);
    assert!(fenced.result.summary.duplicate_executions > 0);
    let stuck = |ran: &Ran| {
        ran.rows("job_abandoned")
            .iter()
            .filter(|e| e.detail("reason").unwrap().contains("intermediate"))
            .count()
    };
    assert!(stuck(&fenced) > 0);
    let both = run(
        &scheduler_pause(&["fenced_enqueue", "first_seen_per_enqueue"]),
        290,
    );
    assert_eq!(both.result.summary.duplicate_executions, 0);
    assert_eq!(stuck(&both), 0);
}

/// `[rq] retry_zadd_in_transaction`: an interval retry's ZADD goes inside the failure's
/// transaction instead of going out on its own after the status HSET (rq-semantics §3.7,
/// R4). With 10 ms one way, stock RQ's retry is scheduled when its ZADD lands, after the
/// HSET's round trip (30 ms after the job raised); with the switch, when the transaction
/// lands (10 ms).
#[test]
fn rq_retry_zadd_in_transaction_commits_the_retry_with_the_failure() {
    let scheduled_before_failed = |line: &str| {
        let ran = sim(
            &format!(
                r#"
[run]
duration = "1m"
drain = "0s"
[redis]
latency = "10ms"
[rq]
{line}
[[pods]]
start_delay = "0s"
[[workload]]
jobs = 1
arrival = {{ constant_per_s = 1 }}
fail_probability = 1.0
retry = {{ max = 1, interval = "30s" }}
[checks]
liveness = false
"#
            ),
            1,
        );
        ran.times("job_retry_scheduled")[0] - ran.times("job_failed")[0]
    };
    let stock = scheduled_before_failed("");
    assert!(approx(stock, 0.03, 1e-6), "{stock}");
    let inside = scheduled_before_failed("retry_zadd_in_transaction = true");
    assert!(approx(inside, 0.01, 1e-6), "{inside}");
}

// ----- [[pods]] --------------------------------------------------------------------------

/// `[[pods]] name`: pods are named `<name>-<index>`, and faults refer to the group by it.
#[test]
fn pods_name_names_the_pods_and_the_group() {
    let ran = sim(
        r#"
[run]
duration = "1m"
drain = "0s"
[[pods]]
name = "api"
replicas = 2
start_delay = "0s"
[[pods]]
name = "batch"
start_delay = "0s"
[[workload]]
jobs = 1
arrival = { constant_per_s = 1 }
[[faults]]
kind = "pod_kill"
pods = "batch"
at = "30s"
"#,
        1,
    );
    let mut born: Vec<String> = ran
        .rows("worker_born")
        .iter()
        .map(|e| e.pod.clone())
        .collect();
    born.sort();
    assert_eq!(born, ["api-0", "api-1", "batch-0", "batch-0"]);
    assert_eq!(
        ran.rows("fault")[0].detail("pod").as_deref(),
        Some("batch-0")
    );
}

/// `[[pods]] queues`: the queues a worker listens on, in priority order (`Queue.dequeue_any`
/// pops the first non-empty one). Three jobs wait on each of `high` and `default` when the
/// worker starts; a queue not listed is never served.
#[test]
fn pods_queues_are_served_in_priority_order_and_only_them() {
    let order = |queues: &str| {
        let ran = sim(
            &format!(
                r#"
[run]
duration = "1m"
drain = "0s"
[[pods]]
queues = {queues}
start_delay = "10s"
[[workload]]
name = "low"
queue = "default"
arrival = {{ count = 3, at = "1s" }}
[[workload]]
name = "urgent"
queue = "high"
arrival = {{ count = 3, at = "2s" }}
[checks]
liveness = false
"#
            ),
            1,
        );
        ran.rows("job_started")
            .iter()
            .map(|e| e.queue.clone())
            .collect::<Vec<String>>()
    };
    assert_eq!(
        order(r#"["high", "default"]"#),
        ["high", "high", "high", "default", "default", "default"]
    );
    assert_eq!(
        order(r#"["default", "high"]"#),
        ["default", "default", "default", "high", "high", "high"]
    );
    assert_eq!(order(r#"["default"]"#), ["default", "default", "default"]);
}

/// A pod running a 100 s job is deleted at 20 s; `pods_line` is added to its group.
fn deleted_mid_job(pods_line: &str) -> Ran {
    sim(
        &format!(
            r#"
[run]
duration = "3m"
drain = "0s"
[[pods]]
start_delay = "0s"
{pods_line}
[[workload]]
jobs = 1
arrival = {{ constant_per_s = 1 }}
duration = "100s"
[[faults]]
kind = "pod_delete"
target = "worker-0"
at = "20s"
[checks]
liveness = false
"#
        ),
        1,
    )
}

/// `[[pods]] termination_grace_period`: after `kubectl delete pod`'s SIGTERM the worker waits
/// for its job (warm shutdown); the kubelet SIGKILLs what is left after the grace period.
#[test]
fn pods_termination_grace_period_is_when_the_kubelet_kills() {
    let killed_after_delete = |line: &str| {
        let ran = deleted_mid_job(line);
        let killed = ran.times("process_killed");
        assert!(!killed.is_empty());
        killed.iter().map(|t| t - 20.0).collect::<Vec<f64>>()
    };
    assert!(killed_after_delete("")
        .iter()
        .all(|t| approx(*t, 30.0, 1e-6)));
    let short = killed_after_delete("termination_grace_period = \"5s\"");
    assert!(short.iter().all(|t| approx(*t, 5.0, 1e-6)), "{short:?}");
}

/// `[[pods]] pid1`: with the worker as PID 1 (the default) it gets `kubectl delete pod`'s
/// SIGTERM itself: it finishes its 10 s job and exits (warm shutdown, rq-semantics §6.1).
/// Behind a shell that does not forward signals it hears nothing and is SIGKILLed when the
/// 30 s grace period ends.
#[test]
fn pods_pid1_decides_whether_the_worker_hears_the_sigterm() {
    let ran = |line: &str| {
        sim(
            &format!(
                r#"
[run]
duration = "2m"
drain = "0s"
[[pods]]
start_delay = "0s"
{line}
[[workload]]
jobs = 1
arrival = {{ constant_per_s = 1 }}
duration = "10s"
[[faults]]
kind = "pod_delete"
target = "worker-0"
at = "5s"
"#
            ),
            1,
        )
    };
    let pid1 = ran("");
    let stopped = pid1.rows_with("worker_died", "reason", "stopped");
    assert_eq!(stopped.len(), 1);
    assert!(approx(
        stopped[0].time_s,
        pid1.times("job_finished")[0],
        0.01
    ));
    assert!(pid1.rows("process_killed").is_empty());
    let wrapped = ran("pid1 = false");
    assert!(wrapped.rows("worker_died").is_empty());
    assert_eq!(wrapped.times("process_killed"), [35.0]);
}

/// `[[pods]] worker_name`: a fixed `--name`. The worker registers as `rq:worker:<name>`, so a
/// second worker with that name started while the first lives fails `register_birth`
/// ("There exists an active worker named …", rq/worker/base.py).
#[test]
fn pods_worker_name_fixes_the_name_and_a_second_one_fails_at_birth() {
    let ran = |line: &str| {
        sim(
            &format!(
                r#"
[run]
duration = "1m"
drain = "0s"
[[pods]]
name = "a"
start_delay = "0s"
{line}
[[pods]]
name = "b"
start_delay = "5s"
{line}
[[workload]]
jobs = 1
arrival = {{ constant_per_s = 1 }}
"#
            ),
            1,
        )
    };
    let named = ran("worker_name = \"mailer\"");
    let born: Vec<&str> = named
        .rows("worker_born")
        .iter()
        .map(|e| e.process.as_str())
        .collect();
    assert_eq!(born, ["mailer"]);
    assert_eq!(named.rows("worker_born")[0].pod, "a-0");
    // b-0's worker exits at birth, and again after each CrashLoopBackOff restart.
    let died = named.rows("worker_died");
    assert!(died.len() >= 2, "{died:?}");
    for row in died {
        assert_eq!(row.pod, "b-0");
        let reason = row.detail("reason").unwrap();
        assert!(
            reason.contains("There exists an active worker named mailer"),
            "{reason}"
        );
    }
    let random = ran("");
    assert_eq!(random.rows("worker_born").len(), 2);
    assert!(random.rows("worker_died").is_empty());
}

/// A `--burst` worker with `pods_lines`: it drains the queue, exits 0, and the kubelet
/// restarts it as the policy says. Returns the waits from each exit to the next birth.
fn burst_restart_waits(pods_lines: &str) -> Vec<f64> {
    let ran = sim(
        &format!(
            r#"
[run]
duration = "1m"
drain = "0s"
[[pods]]
start_delay = "1s"
burst = true
{pods_lines}
[[workload]]
arrival = {{ constant_per_s = 0.5 }}
[checks]
liveness = false
"#
        ),
        1,
    );
    let born = ran.times("worker_born");
    let died = ran.times("worker_died");
    died.iter().zip(&born[1..]).map(|(d, b)| b - d).collect()
}

/// `[[pods]] restart_policy = "OnFailure"`: a clean exit (0) is not restarted, where
/// `Always` restarts it (Kubernetes `restartPolicy`).
#[test]
fn pods_restart_policy_on_failure_leaves_a_clean_exit_alone() {
    assert_eq!(
        burst_restart_waits("").len(),
        2,
        "restarted at 11 s and 21 s after exits"
    );
    assert!(burst_restart_waits("restart_policy = \"OnFailure\"").is_empty());
}

/// `[[pods]] crash_loop_backoff`: the kubelet waits `initial`, doubling up to `cap`, before
/// each restart (then the container's `start_delay`, 1 s here).
#[test]
fn pods_crash_loop_backoff_doubles_from_initial_to_cap() {
    let round = |waits: Vec<f64>| waits.iter().map(|w| (w * 100.0).round() / 100.0).collect();
    let default: Vec<f64> = round(burst_restart_waits(""));
    assert_eq!(default[..2], [11.0, 21.0]);
    let custom: Vec<f64> = round(burst_restart_waits(
        "crash_loop_backoff = { initial = \"2s\", cap = \"12s\" }",
    ));
    assert!(custom.len() >= 5, "{custom:?}");
    assert_eq!(custom[..5], [3.0, 5.0, 9.0, 13.0, 13.0]);
}

/// `[[pods]] max_jobs`: `rq worker --max-jobs 3` quits after its third job with exit 0 and the
/// kubelet restarts it (docs/rq-dependencies-and-operations.md §2.1); without the key the one
/// worker runs every job and never dies.
#[test]
fn pods_max_jobs_makes_the_worker_quit_after_n_jobs_and_restart() {
    let ran = |pods_lines: &str| {
        sim(
            &format!(
                r#"
[run]
duration = "2m"
drain = "0s"
[[pods]]
start_delay = "1s"
{pods_lines}
[[workload]]
arrival = {{ constant_per_s = 0.5 }}
[checks]
liveness = false
"#
            ),
            1,
        )
    };
    let limited = ran("max_jobs = 3");
    let died = limited.rows("worker_died");
    assert!(died.len() >= 2, "{} deaths", died.len());
    assert!(died
        .iter()
        .all(|row| row.detail("reason").as_deref() == Some("finished executing 3 jobs, quitting")));
    // Every death but perhaps the last (its restart may fall after the run) brings a birth.
    let born = limited.rows("worker_born").len();
    assert!(
        born == died.len() || born == died.len() + 1,
        "{born} births"
    );
    let unlimited = ran("");
    assert!(unlimited.rows("worker_died").is_empty());
    assert_eq!(unlimited.rows("worker_born").len(), 1);
    assert!(unlimited.rows("job_finished").len() > limited.rows("job_finished").len());
}

/// `[[pods]] worker_class = "SimpleWorker"`: `rq worker -w rq.worker.SimpleWorker` runs each
/// job in the worker's own process (docs/rq-dependencies-and-operations.md §2.3), so the
/// job's rows come from the worker, not from `<worker>:horse`, and nothing is killed at the
/// job's timeout + 60 s: a job that hangs past it stays running, where the default worker's
/// monitor hard-kills its horse.
#[test]
fn pods_worker_class_simple_runs_jobs_in_the_worker_without_a_horse() {
    let ran = |pods_lines: &str| {
        sim(
            &format!(
                r#"
[run]
duration = "3m"
drain = "0s"
[[pods]]
start_delay = "1s"
{pods_lines}
[[workload]]
arrival = {{ constant_per_s = 0.2 }}
hang_probability = 0.2
job_timeout = "30s"
[checks]
liveness = false
"#
            ),
            1,
        )
    };
    let simple = ran("worker_class = \"SimpleWorker\"");
    let started = simple.rows("job_started");
    assert!(!started.is_empty());
    assert!(started.iter().all(|row| !row.process.ends_with(":horse")));
    assert!(simple.rows("process_killed").is_empty(), "no hard kill");
    let default = ran("");
    let started = default.rows("job_started");
    assert!(started.iter().all(|row| row.process.ends_with(":horse")));
    assert!(
        !default.rows("process_killed").is_empty(),
        "the hung horse is killed"
    );
}

// ----- [[workload]] ----------------------------------------------------------------------

/// One `--with-scheduler` worker and one job of `workload_lines` at 1 s.
fn one_job(workload_lines: &str, duration: &str) -> Ran {
    sim(
        &format!(
            r#"
[run]
duration = "{duration}"
drain = "0s"
[[pods]]
with_scheduler = true
start_delay = "0s"
[[workload]]
jobs = 1
arrival = {{ constant_per_s = 1 }}
{workload_lines}
[checks]
liveness = false
"#
        ),
        1,
    )
}

/// `interval_s` of each `job_retry_scheduled` row.
fn retry_intervals(ran: &Ran) -> Vec<i64> {
    ran.rows("job_retry_scheduled")
        .iter()
        .map(|e| e.detail("interval_s").unwrap().parse().unwrap())
        .collect()
}

/// `[[workload]] retry`: `Retry(max, interval)` at enqueue. A job that always raises runs
/// 1 + max times; the intervals are right-aligned (`Job.get_retry_interval`, rq-semantics
/// §3.7: `max=2, [10, 30, 60]` waits 30 then 60 s, `max=5, [10, 30]` 10, 10, 10, 10, 30).
#[test]
fn workload_retry_runs_one_plus_max_times_with_right_aligned_intervals() {
    let ran = |retry: &str| one_job(&format!("fail_probability = 1.0\n{retry}"), "5m");
    let none = ran("");
    assert_eq!(none.job("j1")["executions"], "1");
    let short = ran(r#"retry = { max = 2, interval = ["10s", "30s", "60s"] }"#);
    assert_eq!(short.job("j1")["executions"], "3");
    assert_eq!(retry_intervals(&short), [30, 60]);
    let long = ran(r#"retry = { max = 5, interval = ["10s", "30s"] }"#);
    assert_eq!(long.job("j1")["executions"], "6");
    assert_eq!(retry_intervals(&long), [10, 10, 10, 10, 30]);
    let immediate = ran("retry = { max = 3 }");
    assert_eq!(immediate.job("j1")["executions"], "4");
    assert_eq!(immediate.rows("job_retry_requeued").len(), 3);
}

/// `[[workload]] return_retry`: the job returns `Retry(max, interval)`; its intervals are
/// left-aligned and the last repeats (`Retry.get_interval`, rq-semantics §3.8), and past
/// `max` returns the job fails for good.
#[test]
fn workload_return_retry_reruns_with_left_aligned_intervals() {
    let ran = one_job(
        r#"return_retry = { probability = 1.0, max = 3, interval = ["5s", "20s"] }"#,
        "3m",
    );
    assert_eq!(ran.job("j1")["executions"], "4");
    assert_eq!(retry_intervals(&ran), [5, 20, 20]);
    assert_eq!(ran.job("j1")["outcome"], "failed");
    let once = one_job("return_retry = { probability = 1.0 }", "1m");
    assert_eq!(
        once.job("j1")["executions"],
        "2",
        "max defaults to 1, interval to 0"
    );
    assert_eq!(once.rows("job_retry_requeued").len(), 1);
    assert_eq!(one_job("", "1m").job("j1")["executions"], "1");
}

/// `[[workload]] fail_probability`: the share of executions that raise.
#[test]
fn workload_fail_probability_is_the_share_of_failed_executions() {
    let failed_share = |p: f64| {
        let ran = sim(
            &format!(
                r#"
[run]
duration = "5m"
drain = "1m"
[[pods]]
replicas = 4
start_delay = "0s"
[[workload]]
arrival = {{ constant_per_s = 2 }}
duration = "10ms"
fail_probability = {p}
"#
            ),
            1,
        );
        ran.rows("job_failed").len() as f64 / ran.rows("job_started").len() as f64
    };
    assert_eq!(failed_share(0.0), 0.0);
    let share = failed_share(0.3);
    assert!(approx(share, 0.3, 0.05), "{share}");
}

/// `[[workload]] fail_attempts`: these executions raise whatever the probabilities say.
#[test]
fn workload_fail_attempts_fail_those_executions() {
    let ran = one_job("fail_attempts = [1, 2]\nretry = { max = 3 }", "1m");
    let ends: Vec<&str> = ran
        .events
        .iter()
        .filter(|e| e.kind == "job_failed" || e.kind == "job_finished")
        .map(|e| e.kind.as_str())
        .collect();
    assert_eq!(ends, ["job_failed", "job_failed", "job_finished"]);
}

/// `[[workload]] duration`: how long one execution runs, a duration or a distribution.
#[test]
fn workload_duration_is_each_executions_run_time() {
    let run_times = |duration: &str| {
        let ran = sim(
            &format!(
                r#"
[run]
duration = "1m"
drain = "2m"
[[pods]]
replicas = 20
start_delay = "0s"
[[workload]]
arrival = {{ count = 400, at = "1s" }}
duration = {duration}
"#
            ),
            1,
        );
        let started: BTreeMap<String, f64> = ran
            .rows("job_started")
            .iter()
            .map(|e| (e.job.clone(), e.time_s))
            .collect();
        let mut times: Vec<f64> = ran
            .rows("job_finished")
            .iter()
            .map(|e| e.time_s - started[&e.job])
            .collect();
        times.sort_by(f64::total_cmp);
        assert_eq!(times.len(), 400);
        times
    };
    let median = |t: &[f64]| t[t.len() / 2];
    let mean = |t: &[f64]| t.iter().sum::<f64>() / t.len() as f64;
    // The horse's own Redis calls add a few milliseconds to each.
    let constant = run_times(r#""250ms""#);
    assert!(
        constant.iter().all(|t| (0.25..0.26).contains(t)),
        "{constant:?}"
    );
    let uniform = run_times(r#"{ uniform = { min = "1s", max = "3s" } }"#);
    assert!(uniform[0] >= 1.0 && uniform[399] < 3.01 && approx(median(&uniform), 2.0, 0.2));
    let exponential = run_times(r#"{ exponential = { mean = "1s" } }"#);
    assert!(
        approx(mean(&exponential), 1.0, 0.15),
        "{}",
        mean(&exponential)
    );
    assert!(approx(median(&exponential), std::f64::consts::LN_2, 0.15));
    let lognormal = run_times(r#"{ lognormal = { median = "1s", p99 = "8s" } }"#);
    assert!(
        approx(median(&lognormal), 1.0, 0.2),
        "{}",
        median(&lognormal)
    );
    assert!(lognormal[380] > 3.0, "a long tail: p95 {}", lognormal[380]);
}

/// `[[workload]] job_timeout`: the job's own timeout, which wins over `[rq]
/// default_job_timeout`: a 30 s job with a 10 s timeout fails with JobTimeoutException.
#[test]
fn workload_job_timeout_ends_a_long_job() {
    let finished = one_job("duration = \"30s\"", "1m");
    assert_eq!(finished.job("j1")["outcome"], "finished");
    let timed_out = one_job("duration = \"30s\"\njob_timeout = \"10s\"", "1m");
    let failed = timed_out.rows("job_failed");
    assert_eq!(
        failed[0].detail("reason").as_deref(),
        Some("JobTimeoutException")
    );
    assert!(approx(
        failed[0].time_s - timed_out.times("job_started")[0],
        10.0,
        0.1
    ));
}

/// Five jobs of 2 s queued at 1 s on one worker that starts at 5 s, and `urgent_lines` for a
/// sixth workload enqueued at 2 s; the order in which jobs start.
fn start_order(bulk_lines: &str, urgent_lines: &str) -> Vec<String> {
    let ran = sim(
        &format!(
            r#"
[run]
duration = "1m"
drain = "0s"
[[pods]]
start_delay = "5s"
[[workload]]
name = "bulk"
arrival = {{ count = 5, at = "1s" }}
duration = "2s"
{bulk_lines}
[[workload]]
name = "urgent"
arrival = {{ count = 1, at = "2s" }}
duration = "2s"
{urgent_lines}
[checks]
liveness = false
"#
        ),
        1,
    );
    ran.rows("job_started")
        .iter()
        .map(|e| e.job.clone())
        .collect()
}

/// `[[workload]] at_front`: `enqueue(at_front=True)` LPUSHes the job, so it runs before the
/// jobs already waiting.
#[test]
fn workload_at_front_jumps_the_queue() {
    assert_eq!(start_order("", ""), ["j1", "j2", "j3", "j4", "j5", "j6"]);
    assert_eq!(
        start_order("", "at_front = true"),
        ["j6", "j1", "j2", "j3", "j4", "j5"]
    );
}

/// `[[workload]] retry.enqueue_at_front`: an immediate retry is pushed at the front of the
/// queue (`Retry(enqueue_at_front=True)`), so it runs before the jobs already waiting.
#[test]
fn workload_retry_enqueue_at_front_retries_before_the_waiting_jobs() {
    let fails_once = "fail_attempts = [1]\nretry = { max = 1";
    let behind = start_order(&format!("{fails_once} }}"), "");
    assert_eq!(behind[..3], ["j1", "j2", "j3"]);
    let front = start_order(&format!("{fails_once}, enqueue_at_front = true }}"), "");
    assert_eq!(front[..3], ["j1", "j1", "j2"]);
}

/// `[[workload]] name`: the job's function; two workloads on one queue behave each as its
/// own (here a 50 ms job and a 5 s one).
#[test]
fn workload_name_keeps_two_workloads_on_one_queue_apart() {
    let ran = sim(
        r#"
[run]
duration = "1m"
drain = "0s"
[[pods]]
start_delay = "0s"
[[workload]]
name = "quick"
arrival = { count = 1, at = "1s" }
duration = "50ms"
[[workload]]
name = "slow"
arrival = { count = 1, at = "2s" }
duration = "5s"
"#,
        1,
    );
    let run_time = |job: &str| {
        let row = ran.job(job);
        row["end_s"].parse::<f64>().unwrap() - row["first_start_s"].parse::<f64>().unwrap()
    };
    assert!(run_time("j1") < 0.1 && run_time("j2") > 5.0);
}

/// `[[workload]] queue`: the queue the jobs go to.
#[test]
fn workload_queue_is_where_the_jobs_go() {
    let ran = sim(
        r#"
[run]
duration = "1m"
drain = "0s"
[[pods]]
queues = ["mail"]
start_delay = "0s"
[[workload]]
queue = "mail"
jobs = 3
arrival = { constant_per_s = 1 }
"#,
        1,
    );
    assert!(ran.rows("job_enqueued").iter().all(|e| e.queue == "mail"));
    assert!(ran
        .jobs
        .iter()
        .all(|row| row["queue"] == "mail" && row["outcome"] == "finished"));
}

/// `[[workload]] start` and `jobs`: a constant stream's first job arrives exactly at `start`,
/// and the stream stops after `jobs` jobs.
#[test]
fn workload_start_and_jobs_make_a_finite_list() {
    let ran = sim(
        r#"
[run]
duration = "1m"
drain = "0s"
[[pods]]
start_delay = "0s"
[[workload]]
jobs = 8
start = "1s"
arrival = { constant_per_s = 4 }
"#,
        1,
    );
    let created: Vec<f64> = ran
        .times("job_created")
        .iter()
        .map(|t| (t * 100.0).floor() / 100.0)
        .collect();
    assert_eq!(created, [1.0, 1.25, 1.5, 1.75, 2.0, 2.25, 2.5, 2.75]);
}

/// `[[workload]] arrival`: each form makes the arrivals it says. Jobs go to a queue no pod
/// serves, so only the producer runs.
#[test]
fn workload_arrival_forms_make_their_arrivals() {
    let created = |arrival: &str, duration: &str| {
        let ran = sim(
            &format!(
                r#"
[run]
duration = "{duration}"
drain = "0s"
[[pods]]
queues = ["other"]
[[workload]]
queue = "waiting"
arrival = {arrival}
[checks]
liveness = false
"#
            ),
            1,
        );
        ran.times("job_created")
    };
    let constant = created("{ constant_per_s = 2 }", "1m");
    assert_eq!(constant.len(), 119);
    assert!(gaps(&constant).iter().all(|g| approx(*g, 0.5, 1e-6)));
    let poisson = created("{ poisson_per_s = 2 }", "10m");
    assert!(
        approx(poisson.len() as f64, 1200.0, 105.0),
        "{}",
        poisson.len()
    );
    let spacing = gaps(&poisson);
    let mean = spacing.iter().sum::<f64>() / spacing.len() as f64;
    let sd =
        (spacing.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / spacing.len() as f64).sqrt();
    assert!(
        approx(sd / mean, 1.0, 0.1),
        "exponential gaps: cv {}",
        sd / mean
    );
    let bursts = created("{ bursts = { every = \"10s\", size = 5 } }", "35s");
    let seconds: Vec<f64> = bursts.iter().map(|t| t.floor()).collect();
    assert_eq!(seconds, [[10.0; 5], [20.0; 5], [30.0; 5]].concat());
    let batch = created("{ count = 3, at = \"7s\" }", "30s");
    assert_eq!(
        batch.iter().map(|t| t.floor()).collect::<Vec<f64>>(),
        [7.0; 3]
    );
    let daily = created(
        "{ daily = { peak_per_s = 0.5, trough_per_s = 0.05, peak_at = \"6h\" } }",
        "24h",
    );
    let in_hour = |h: f64| daily.iter().filter(|t| (**t / 3600.0).floor() == h).count();
    assert!(
        in_hour(6.0) > 5 * in_hour(18.0),
        "{} vs {}",
        in_hour(6.0),
        in_hour(18.0)
    );
    let trace = created("{ trace = \"tests/key_coverage_trace.csv\" }", "1m");
    assert_eq!(
        trace
            .iter()
            .map(|t| (t * 10.0).floor() / 10.0)
            .collect::<Vec<f64>>(),
        [0.5, 2.0, 2.0, 9.2]
    );
}

// ----- [[faults]] ------------------------------------------------------------------------

/// Pods `a-0`, `a-1` (`--with-scheduler`; a-0 takes the lock first and alone runs a
/// scheduler process) and `b-0`, `b-1`, busy with 5 s jobs, and the fault `fault_lines` at
/// 30 s. Returns the run.
fn targeted(fault_lines: &str) -> Ran {
    sim(
        &format!(
            r#"
[run]
duration = "1m"
drain = "0s"
[[pods]]
name = "a"
replicas = 2
with_scheduler = true
start_delay = "0s"
[[pods]]
name = "b"
replicas = 2
start_delay = "1s"
[[workload]]
arrival = {{ constant_per_s = 2 }}
duration = "5s"
[[faults]]
at = "30s"
{fault_lines}
[checks]
liveness = false
"#
        ),
        1,
    )
}

/// The `fault` row's detail and the processes that `kind` rows name at the fault's instant.
fn fault_and_processes(ran: &Ran, kind: &str) -> (String, Vec<String>) {
    let fault = ran.rows("fault")[0];
    let processes = ran
        .rows(kind)
        .iter()
        .filter(|e| e.time_s == fault.time_s)
        .map(|e| e.process.clone())
        .collect();
    (fault.detail.clone(), processes)
}

/// The pod whose scheduler holds the lock in `ran` at 30 s.
fn holder_pod(ran: &Ran) -> String {
    ran.rows("lock_refreshed")
        .iter()
        .rfind(|e| e.time_s < 30.0)
        .map(|e| e.pod.clone())
        .expect("a holder")
}

/// `pod_kill` with each `target` and `pods`: which processes get the SIGKILL.
#[test]
fn faults_pod_kill_hits_the_target_it_names() {
    let killed = |lines: &str| {
        let ran = targeted(&format!("kind = \"pod_kill\"\n{lines}"));
        let (detail, processes) = fault_and_processes(&ran, "process_killed");
        (ran, detail, processes)
    };
    let (_, detail, processes) = killed("target = \"a-0\"");
    assert_eq!(detail, "fault=pod_kill pod=a-0");
    assert_eq!(
        processes.len(),
        3,
        "worker, horse and scheduler: {processes:?}"
    );
    assert!(processes.iter().all(|p| p.starts_with("a-0.")));
    let (_, detail, processes) = killed("pods = \"b\"");
    assert!(detail.starts_with("fault=pod_kill pod=b-"), "{detail}");
    assert!(
        processes.iter().all(|p| p.starts_with("b-")),
        "{processes:?}"
    );
    let (ran, detail, _) = killed("target = \"scheduler_holder\"");
    assert_eq!(detail, format!("fault=pod_kill pod={}", holder_pod(&ran)));
    let (_, detail, processes) = killed("target = \"scheduler_holder\"\npods = \"b\"");
    assert_eq!(
        detail, "fault=pod_kill skipped=no_target",
        "b holds no lock"
    );
    assert!(processes.is_empty());
    let (_, detail, processes) = killed("target = \"horse\"\npods = \"b\"");
    assert_eq!(processes.len(), 1);
    assert!(
        processes[0].starts_with("b-") && processes[0].ends_with(":horse"),
        "{detail}"
    );
    let (_, detail, _) = killed("target = \"scheduler\"\npods = \"b\"");
    assert_eq!(detail, "fault=pod_kill skipped=no_scheduler_process");
    // PID 1 alone; the kubelet then tears the rest of the container down.
    let (_, detail, processes) = killed("target = \"worker\"\npods = \"b\"");
    let worker = detail
        .strip_prefix("fault=pod_kill processes=")
        .expect(&detail);
    assert!(
        worker.starts_with("b-") && !worker.contains(':'),
        "{detail}"
    );
    assert_eq!(processes[0], worker);
}

/// `pods` picks the group for faults that choose a pod or process at random: ten pauses and
/// clock faults with `pods = "b"`, every one on a pod of b (a pick among all four pods would
/// land on b ten times in a row once in a thousand runs).
#[test]
fn faults_pods_is_the_group_every_random_pick_comes_from() {
    for (kind, extra, key) in [
        ("pause", "for = \"1s\"", "processes"),
        ("clock_offset", "offset = \"1s\"", "pod"),
        ("clock_step", "offset = \"1ms\"", "pod"),
    ] {
        let ran = sim(
            &format!(
                r#"
[run]
duration = "55s"
drain = "0s"
[[pods]]
name = "a"
replicas = 2
start_delay = "0s"
[[pods]]
name = "b"
replicas = 2
start_delay = "0s"
[[workload]]
arrival = {{ constant_per_s = 1 }}
[[faults]]
kind = "{kind}"
pods = "b"
every = "5s"
{extra}
[checks]
liveness = false
"#
            ),
            1,
        );
        let hit: Vec<String> = ran
            .rows("fault")
            .iter()
            .map(|e| e.detail(key).unwrap())
            .collect();
        assert_eq!(hit.len(), 10, "{kind}");
        assert!(hit.iter().all(|h| h.starts_with("b-")), "{kind}: {hit:?}");
    }
}

/// `pod_delete` with each `target` and `pods`: which pod is deleted (SIGTERM, then a
/// replacement pod of its group).
#[test]
fn faults_pod_delete_hits_the_target_it_names() {
    let deleted = |lines: &str| {
        let ran = targeted(&format!("kind = \"pod_delete\"\n{lines}"));
        let detail = ran.rows("fault")[0].detail.clone();
        let replacement: Vec<String> = ran
            .rows("worker_born")
            .iter()
            .filter(|e| e.time_s >= 30.0)
            .map(|e| e.pod.clone())
            .collect();
        (ran, detail, replacement)
    };
    // (A random pick at seed 1 lands on b-1, so the named pod is another one.)
    let (_, detail, replacement) = deleted("target = \"a-1\"");
    assert_eq!(detail, "fault=pod_delete pod=a-1");
    assert_eq!(replacement, ["a-2"]);
    let (_, detail, replacement) = deleted("pods = \"a\"");
    assert!(detail.starts_with("fault=pod_delete pod=a-"));
    assert_eq!(replacement, ["a-2"]);
    let (ran, detail, _) = deleted("target = \"scheduler_holder\"");
    assert_eq!(detail, format!("fault=pod_delete pod={}", holder_pod(&ran)));
}

/// `pause` with each `target`: a pod (every process of it), the lock holder's scheduler
/// process, or one process of a random pod; SIGCONT after `for`.
#[test]
fn faults_pause_freezes_the_target_it_names_for_its_length() {
    let paused = |lines: &str| {
        let ran = targeted(&format!("kind = \"pause\"\nfor = \"7s\"\n{lines}"));
        let (_, processes) = fault_and_processes(&ran, "process_paused");
        let resumed: Vec<f64> = ran.times("process_resumed");
        assert!(
            resumed.iter().all(|t| approx(*t, 37.0, 1e-6)),
            "{resumed:?}"
        );
        assert_eq!(resumed.len(), processes.len());
        (ran, processes)
    };
    let (_, processes) = paused("target = \"a-0\"");
    assert_eq!(
        processes.len(),
        3,
        "worker, horse and scheduler of a-0: {processes:?}"
    );
    assert!(processes.iter().all(|p| p.starts_with("a-0.")));
    let (ran, processes) = paused("target = \"scheduler_holder\"");
    assert_eq!(processes.len(), 1);
    assert!(processes[0].starts_with(&format!("{}.", holder_pod(&ran))));
    assert!(processes[0].ends_with(":scheduler"));
    let (_, processes) = paused("target = \"worker\"\npods = \"b\"");
    assert!(
        processes.len() == 1 && processes[0].starts_with("b-"),
        "{processes:?}"
    );
    assert!(
        !processes[0].contains(':'),
        "the worker's main process only"
    );
    let (_, processes) = paused("target = \"horse\"");
    assert!(processes.len() == 1 && processes[0].ends_with(":horse"));
    let (_, processes) = paused("target = \"scheduler\"");
    assert!(processes.len() == 1 && processes[0].ends_with(":scheduler"));
    let (_, processes) = paused("pods = \"b\"");
    assert!(processes.len() == 2 && processes.iter().all(|p| p.starts_with("b-")));
}

/// `net` with each `target`: one pod, every pod of `pods`, every client (`all`), or the
/// lock holder's pod. `refuse` resets the open connections of exactly those pods.
#[test]
fn faults_net_cuts_off_the_target_it_names() {
    let refused = |lines: &str| {
        let ran = targeted(&format!(
            "kind = \"net\"\nmode = \"refuse\"\nfor = \"3s\"\n{lines}"
        ));
        let detail = ran.rows("fault")[0].detail.clone();
        let mut pods: Vec<String> = ran
            .rows("redis_error")
            .iter()
            .filter(|e| e.time_s >= 30.0 && e.time_s < 33.0)
            .map(|e| e.pod.clone())
            .collect();
        pods.sort();
        pods.dedup();
        (ran, detail, pods)
    };
    // (A random pick at seed 1 lands on b-1, so the named pod is another one.)
    let (_, detail, pods) = refused("target = \"a-1\"");
    assert_eq!(detail, "fault=net mode=refuse pod=a-1 for=3s");
    assert_eq!(pods, ["a-1"]);
    let (_, detail, pods) = refused("target = \"all\"\npods = \"b\"");
    assert_eq!(detail, "fault=net mode=refuse group=b for=3s");
    assert_eq!(pods, ["b-0", "b-1"]);
    let (_, detail, pods) = refused("target = \"all\"");
    assert_eq!(detail, "fault=net mode=refuse target=all for=3s");
    assert!(pods.len() >= 4, "{pods:?}");
    let (ran, detail, pods) = refused("target = \"scheduler_holder\"");
    let holder = holder_pod(&ran);
    assert_eq!(detail, format!("fault=net mode=refuse pod={holder} for=3s"));
    assert_eq!(pods, [holder]);
}

/// `clock_offset` and `clock_step` with each `target`: whose clock moves, and by how much.
/// An offset sets the pod's clock `offset` off true time (a second one replaces the
/// first); a step moves it by `offset` from where it is (a second one adds up).
#[test]
fn faults_clock_offset_sets_and_clock_step_adds() {
    let offsets = |kind: &str, target: &str| {
        let ran = sim(
            &format!(
                r#"
[run]
duration = "1m"
drain = "0s"
[[pods]]
name = "a"
replicas = 2
with_scheduler = true
start_delay = "0s"
[[workload]]
jobs = 1
arrival = {{ constant_per_s = 1 }}
[[faults]]
kind = "{kind}"
target = "{target}"
offset = "5s"
at = "10s"
[[faults]]
kind = "{kind}"
target = "{target}"
offset = "-2s"
at = "20s"
"#
            ),
            1,
        );
        ran.rows("fault")
            .iter()
            .map(|e| (e.detail("pod").unwrap(), e.detail("offset_s").unwrap()))
            .collect::<Vec<(String, String)>>()
    };
    let pair = |pod: &str, offset: &str| (pod.to_string(), offset.to_string());
    assert_eq!(
        offsets("clock_offset", "a-1"),
        [pair("a-1", "5.000"), pair("a-1", "-2.000")]
    );
    assert_eq!(
        offsets("clock_step", "a-1"),
        [pair("a-1", "5.000"), pair("a-1", "3.000")]
    );
    let holder = offsets("clock_step", "scheduler_holder");
    assert_eq!(holder[0].0, "a-0", "a-0 took the lock first");
}

/// `net` `mode`: what the link does to worker-0's commands from 20 s for 3 s. `refuse`:
/// ConnectionError at once, nothing reaches Redis; `lost_reply`: the command runs but the
/// client sees a ConnectionError, so the pop it sent took a job out of the queue for nobody;
/// `drop`: nothing arrives and nothing comes back, so the worker waits for its socket
/// timeout (415 s) and says nothing meanwhile.
#[test]
fn faults_net_mode_decides_what_the_link_does() {
    let ran = |mode: &str| {
        sim(
            &format!(
                r#"
[run]
duration = "2m"
drain = "0s"
[[pods]]
start_delay = "0s"
[[workload]]
arrival = {{ constant_per_s = 2 }}
duration = "300ms"
[[faults]]
kind = "net"
{mode}
target = "worker-0"
at = "20s"
for = "3s"
[checks]
liveness = false
"#
            ),
            1,
        )
    };
    let never_started = |ran: &Ran| {
        let started: std::collections::BTreeSet<&str> = ran
            .rows("job_started")
            .iter()
            .map(|e| e.job.as_str())
            .collect();
        ran.rows("job_created")
            .iter()
            .filter(|e| e.time_s < 100.0 && !started.contains(e.job.as_str()))
            .count()
    };
    let refused = ran("mode = \"refuse\"");
    assert!(approx(refused.times("redis_error")[0], 20.0, 0.001));
    assert_eq!(
        never_started(&refused),
        0,
        "refused commands change nothing"
    );
    let lost = ran("mode = \"lost_reply\"");
    assert!(!lost.rows("redis_error").is_empty());
    assert_eq!(never_started(&lost), 1, "a popped job nobody runs");
    let dropped = ran("mode = \"drop\"");
    assert!(dropped.rows("redis_error").is_empty());
    let starts_after: Vec<f64> = dropped
        .times("job_started")
        .into_iter()
        .filter(|t| *t > 20.0)
        .collect();
    assert!(
        starts_after.is_empty(),
        "the worker waits on a reply that never comes"
    );
    assert_eq!(
        ran("").events.len(),
        dropped.events.len(),
        "drop is the default"
    );
}

/// Jobs enqueued once a second from 1 s on a queue no pod serves, `[run]` (2 minutes) and
/// `[redis]` with `run_lines` and `redis_lines`, and one fault as `fault_lines` say; returns
/// the run and the creation times of the jobs reported lost, earliest first.
fn lost_waiting_jobs(run_lines: &str, redis_lines: &str, fault_lines: &str) -> (Ran, Vec<f64>) {
    let ran = sim(
        &format!(
            r#"
[run]
duration = "2m"
drain = "0s"
{run_lines}
[redis]
{redis_lines}
[[pods]]
queues = ["other"]
[[workload]]
queue = "waiting"
arrival = {{ constant_per_s = 1 }}
[[faults]]
{fault_lines}
[checks]
liveness = false
lost_jobs = 1000
"#
        ),
        1,
    );
    let created: BTreeMap<String, f64> = ran
        .rows("job_created")
        .iter()
        .map(|e| (e.job.clone(), e.time_s))
        .collect();
    let mut lost: Vec<f64> = ran
        .rows("job_lost")
        .iter()
        .map(|e| created[&e.job])
        .collect();
    lost.sort_by(f64::total_cmp);
    (ran, lost)
}

/// [`lost_waiting_jobs`] with `fault_lines` at 95 s and no `[redis]` keys.
fn restarted(fault_lines: &str) -> (Ran, Vec<f64>) {
    lost_waiting_jobs("", "", &format!("at = \"95s\"\n{fault_lines}"))
}

/// `redis_restart` `persistence` and `for`: `none` comes back empty (every waiting job
/// lost), `aof` keeps every acknowledged write, `snapshot` the last snapshot (every 60 s by
/// default); Redis refuses connections for `for` (1 s by default).
#[test]
fn faults_redis_restart_keeps_what_persistence_says_for_as_long_as_for_says() {
    let (none, lost) = restarted("kind = \"redis_restart\"");
    assert_eq!(lost.len(), 94, "every job enqueued before 95 s");
    let (_, aof) = restarted("kind = \"redis_restart\"\npersistence = \"aof\"");
    assert!(aof.is_empty());
    let (_, snapshot) = restarted("kind = \"redis_restart\"\npersistence = \"snapshot\"");
    // The last snapshot was taken at 60 s: the jobs of 60.0003 … 94.0003 s are lost.
    assert!(
        snapshot.iter().all(|t| *t > 60.0) && snapshot.len() == 35,
        "{snapshot:?}"
    );
    // Refused while down: the producer's enqueue at 95 s fails; with `for = "10s"` the ones
    // up to 104 s fail too.
    let failed_enqueues = |ran: &Ran| ran.rows_with("redis_error", "phase", "enqueue").len();
    assert_eq!(failed_enqueues(&none), 1);
    let (long, _) = restarted("kind = \"redis_restart\"\nfor = \"10s\"");
    assert_eq!(failed_enqueues(&long), 10);
}

/// The whole seconds in which the jobs lost to a `kind` fault at 95.5 s were created (a job
/// is created 0.9 ms into its second, after the producer's own round trips).
fn lost_in(kind: &str, redis_lines: &str) -> Vec<f64> {
    lost_in_phase(kind, redis_lines, "0s")
}

/// [`lost_in`] with `[run] wall_clock_phase` set to `phase`.
fn lost_in_phase(kind: &str, redis_lines: &str, phase: &str) -> Vec<f64> {
    let fault = format!("kind = \"{kind}\"\nat = \"95.5s\"");
    let run = format!("wall_clock_phase = \"{phase}\"");
    let (_, lost) = lost_waiting_jobs(&run, redis_lines, &fault);
    lost.into_iter().map(f64::floor).collect()
}

/// The creation times of the jobs a crash at 95.5 s loses when the disk holds the writes up
/// to `synced_s`: every job created from then on (one a second, from 1 s).
fn created_from(synced_s: u32) -> Vec<f64> {
    (synced_s..=95).map(f64::from).collect()
}

/// `redis_crash` with `[redis] appendonly` and `appendfsync`: the host's page cache dies
/// with it, so what survives is what had reached the disk. `always` loses nothing;
/// `everysec` the writes since the server's wall clock last turned a second (the job of
/// 95 s, crash at 95.5 s; with the run starting 0.7 s into a wall-clock second, that was at
/// 95.3 s, after the job);
/// `no` those since the kernel's last write-back (its 5 s flusher at 95 s wrote pages 30 s
/// old: everything from 65 s on is lost). Without AOF, the last RDB snapshot (60 s) or
/// nothing.
#[test]
fn redis_appendonly_and_appendfsync_decide_what_a_crash_keeps() {
    let crash = |redis: &str| lost_in("redis_crash", redis);
    assert_eq!(
        crash("appendonly = true\nappendfsync = \"always\""),
        created_from(96)
    );
    assert_eq!(
        crash("appendonly = true\nappendfsync = \"everysec\""),
        created_from(95)
    );
    assert_eq!(
        crash("appendonly = true"),
        created_from(95),
        "everysec is the default"
    );
    assert_eq!(
        crash("appendonly = true\nappendfsync = \"no\""),
        created_from(65)
    );
    assert_eq!(crash("snapshot_every = \"60s\""), created_from(60));
    assert_eq!(
        crash(""),
        created_from(1),
        "no persistence: every waiting job"
    );
}

/// `redis_restart` without `persistence` takes it from `[redis]`: with `appendonly` every
/// acknowledged write survives whatever `appendfsync` says (the process died, the page cache
/// did not); with `snapshot_every` alone, the last snapshot; else nothing.
#[test]
fn a_redis_restart_without_persistence_keeps_what_redis_is_configured_to() {
    let restart = |redis: &str| lost_in("redis_restart", redis);
    assert_eq!(
        restart("appendonly = true\nappendfsync = \"no\""),
        created_from(96)
    );
    assert_eq!(restart("appendonly = true"), created_from(96));
    assert_eq!(restart("snapshot_every = \"60s\""), created_from(60));
    assert_eq!(restart(""), created_from(1));
}

/// A `redis_failover` at 95.5 s with `[redis]` as `redis_lines` (one replica, 2.5 s behind
/// unless the lines say otherwise) and `fault_lines`; returns the run and the whole seconds in which the jobs
/// lost were created.
fn failed_over(redis_lines: &str, fault_lines: &str) -> (Ran, Vec<f64>) {
    let lag = if redis_lines.contains("replica_lag") {
        ""
    } else {
        "replica_lag = \"2.5s\"\n"
    };
    let redis = format!("replicas = 1\n{lag}{redis_lines}");
    let fault = format!("kind = \"redis_failover\"\nat = \"95.5s\"\n{fault_lines}");
    let (ran, lost) = lost_waiting_jobs("", &redis, &fault);
    (ran, lost.into_iter().map(f64::floor).collect())
}

/// The seconds of the producer's failed enqueues, and the error of each.
fn failed_enqueues(ran: &Ran) -> Vec<(f64, String)> {
    ran.rows_with("redis_error", "phase", "enqueue")
        .iter()
        .map(|e| (e.time_s.floor(), e.detail.clone()))
        .collect()
}

/// `redis_failover` with `[redis] replicas`, `replica_lag`, `sentinel_down_after`,
/// `sentinel_promotion` and `client_discovery`: the promoted replica has the writes up to
/// the lag (the jobs of 93 … 95 s are lost, 2.5 s behind a failover at 95.5 s). Sentinel's
/// clients reach nothing for down-after + promotion (31.1 s: every enqueue from 96 s to the
/// run's end at 120 s fails), 11 s with 10 s + 1 s. A fixed address reaches the old host only when it is back (`for`),
/// as a replica that refuses writes with READONLY.
#[test]
fn redis_failover_promotes_the_replica_after_sentinels_timeouts() {
    let (ran, lost) = failed_over("", "");
    assert_eq!(lost, [93.0, 94.0, 95.0]);
    let failed = failed_enqueues(&ran);
    let seconds: Vec<f64> = failed.iter().map(|(t, _)| *t).collect();
    assert_eq!(seconds, (96..=119).map(f64::from).collect::<Vec<_>>());
    let (_, lost) = failed_over("replica_lag = \"0.6s\"", "");
    assert_eq!(lost, [95.0], "0.6 s behind: only the job of 95 s");
    let (quick, _) = failed_over(
        "sentinel_down_after = \"10s\"\nsentinel_promotion = \"1s\"",
        "",
    );
    assert_eq!(failed_enqueues(&quick).len(), 11);
    let (fixed, lost) = failed_over("client_discovery = \"fixed\"", "for = \"10s\"");
    assert_eq!(lost, [93.0, 94.0, 95.0]);
    let failed = failed_enqueues(&fixed);
    let (down, readonly): (Vec<_>, Vec<_>) = failed.iter().partition(|(t, _)| *t <= 105.0);
    assert_eq!(down.len(), 10, "{down:?}");
    assert!(!down.iter().any(|(_, detail)| detail.contains("READONLY")));
    assert_eq!(
        readonly.len(),
        14,
        "every enqueue from 106 s on: {readonly:?}"
    );
    assert!(readonly
        .iter()
        .all(|(_, detail)| detail.contains("READONLY")));
}

/// `replica_lag`: replication stalls for `for`, so a failover during the stall promotes what
/// the replicas had at its start (a stall from 80 s: the jobs of 80 … 95 s are lost, not just
/// those after the 2.5 s lag); a stall over before the failover changes nothing.
#[test]
fn a_replica_lag_stall_is_what_a_failover_during_it_loses() {
    let stall = |at: &str, span: &str| {
        let fault = format!(
            "kind = \"redis_failover\"\nat = \"95.5s\"\n\
             [[faults]]\nkind = \"replica_lag\"\nat = \"{at}\"\nfor = \"{span}\""
        );
        let redis = "replicas = 1\nreplica_lag = \"2.5s\"";
        let (_, lost) = lost_waiting_jobs("", redis, &fault);
        lost.into_iter().map(f64::floor).collect::<Vec<f64>>()
    };
    assert_eq!(
        stall("79.5s", "30s"),
        (80..=95).map(f64::from).collect::<Vec<_>>()
    );
    assert_eq!(stall("79.5s", "10s"), [93.0, 94.0, 95.0]);
    let error = simrq::scenario::parse(
        "[[pods]]\n[[workload]]\n[[faults]]\nkind = \"replica_lag\"\nat = \"1m\"\nfor = \"5s\"\n",
        "k.toml",
    )
    .unwrap_err();
    assert_eq!(error.key.as_deref(), Some("faults[0].kind"), "{error}");
}

/// `redis_failover` with `partition` (a split brain) and `[redis] min_replicas_to_write`:
/// the clients keep writing to the cut-off primary, and when the partition ends (`for`,
/// 20 s) everything since the replica's lag is gone (the jobs of 93 … 115 s). With
/// `min_replicas_to_write = 1` the old primary refuses writes after `min_replicas_max_lag`
/// (10 s: the enqueues of 106 … 115 s fail with NOREPLICAS), so only 93 … 105 s are lost.
#[test]
fn a_partitioned_failover_discards_the_split_brains_writes() {
    let (ran, lost) = failed_over("", "partition = true\nfor = \"20s\"");
    assert_eq!(lost, (93..=115).map(f64::from).collect::<Vec<_>>());
    assert!(failed_enqueues(&ran).is_empty());
    let (ran, lost) = failed_over(
        "min_replicas_to_write = 1",
        "partition = true\nfor = \"20s\"",
    );
    assert_eq!(lost, (93..=105).map(f64::from).collect::<Vec<_>>());
    let failed = failed_enqueues(&ran);
    assert_eq!(failed.len(), 10, "{failed:?}");
    assert!(failed
        .iter()
        .all(|(_, detail)| detail.contains("NOREPLICAS")));
    let (ran, _) = failed_over(
        "min_replicas_to_write = 1\nmin_replicas_max_lag = \"5s\"",
        "partition = true\nfor = \"20s\"",
    );
    assert_eq!(failed_enqueues(&ran).len(), 15);
}

/// Replication keys that would do nothing are located errors: a `redis_failover` with no
/// replica to promote, a replica setting without `replicas`, more `min_replicas_to_write`
/// than replicas (every write refused), and `partition` on another kind.
#[test]
fn replication_keys_that_would_do_nothing_are_located_errors() {
    let key_of = error_key;
    let failover = "[[faults]]\nkind = \"redis_failover\"\nat = \"1m\"\n";
    assert_eq!(
        key_of(&format!("[[pods]]\n[[workload]]\n{failover}")),
        "faults[0].kind"
    );
    for line in [
        "replica_lag = \"5ms\"",
        "sentinel_down_after = \"5s\"",
        "sentinel_promotion = \"2s\"",
        "client_discovery = \"fixed\"",
        "min_replicas_to_write = 1",
        "min_replicas_max_lag = \"5s\"",
    ] {
        let key = line.split(' ').next().unwrap();
        let text = format!("[redis]\n{line}\n[[pods]]\n[[workload]]\n");
        assert_eq!(key_of(&text), format!("redis.{key}"), "{line}");
        let with_replica = format!("[redis]\nreplicas = 1\n{line}\n[[pods]]\n[[workload]]\n");
        assert!(
            simrq::scenario::parse(&with_replica, "k.toml").is_ok(),
            "{line}"
        );
    }
    assert_eq!(
        key_of("[redis]\nreplicas = 1\nmin_replicas_to_write = 2\n[[pods]]\n[[workload]]\n"),
        "redis.min_replicas_to_write"
    );
    assert_eq!(
        key_of("[[pods]]\n[[workload]]\n[[faults]]\nkind = \"redis_crash\"\npartition = true\nat = \"1m\"\n"),
        "faults[0].partition"
    );
    let ok = format!("[redis]\nreplicas = 1\n[[pods]]\n[[workload]]\n{failover}partition = true\n");
    assert!(simrq::scenario::parse(&ok, "k.toml").is_ok());
}

/// A backlog under `[redis] maxmemory`: 240 jobs (2 a second for two minutes) wait in
/// `default` with `payload_size` "2kb" (a 3 KB job hash) until one worker starts at 3 min;
/// `redis_lines` are the `[redis]` keys, `payload` the workload's `payload_size` line.
fn backlog(redis_lines: &str, payload: &str) -> Ran {
    sim(
        &format!(
            r#"
[run]
duration = "4m"
drain = "0s"
[redis]
{redis_lines}
[[pods]]
start_delay = "3m"
[[workload]]
arrival = {{ constant_per_s = 2 }}
jobs = 240
duration = {{ constant = "10ms" }}
{payload}
[checks]
liveness = false
lost_jobs = 1000
"#
        ),
        1,
    )
}

/// The key a scenario's located error names; panics if `text` parses or the error names none.
fn error_key(text: &str) -> String {
    let error = simrq::scenario::parse(text, "k.toml").unwrap_err();
    error.key.clone().unwrap_or_else(|| panic!("{error}"))
}

fn memory_of(ran: &Ran) -> simrq::report::RedisMemory {
    ran.result
        .summary
        .redis_memory
        .clone()
        .expect("memory modelled")
}

/// `maxmemory` caps what the backlog may take: `noeviction` refuses the enqueues beyond it
/// with OOM, so fewer jobs exist; `0` only measures, and the peak it reports is what the cap
/// cut short. Without the key there is no `redis_memory` at all.
#[test]
fn redis_maxmemory_refuses_the_writes_beyond_it() {
    let capped = backlog("maxmemory = \"1200kb\"", "payload_size = \"2kb\"");
    let measured = backlog("maxmemory = 0", "payload_size = \"2kb\"");
    let (capped_memory, measured_memory) = (memory_of(&capped), memory_of(&measured));
    assert!(capped_memory.refused_commands > 100, "{capped_memory:?}");
    assert!(
        capped.result.summary.jobs < 150,
        "{}",
        capped.result.summary.jobs
    );
    assert_eq!(measured.result.summary.jobs, 240);
    assert_eq!(
        measured_memory.refused_commands + measured_memory.evicted_keys,
        0
    );
    assert!(
        measured_memory.peak_used_bytes > 1_600_000,
        "{measured_memory:?}"
    );
    assert!(capped_memory.peak_used_bytes <= 1_228_800 + 10_000);
    let unmodelled = backlog("", "");
    assert!(unmodelled.result.summary.redis_memory.is_none());
}

/// `maxmemory_policy`: `allkeys-lru` makes room by evicting the oldest job hashes, so every
/// enqueue succeeds and the jobs whose hash went are lost when the worker pops them;
/// `volatile-lru` has nothing to evict (queued job hashes have no TTL) and refuses writes as
/// `noeviction` does. With `maxmemory_samples = 64` the LRU is near exact: the lost jobs are
/// the oldest ones (within the LRU clock's second); with 1 sample it evicts whatever key it
/// draws, and the lost jobs are not the oldest.
#[test]
fn redis_maxmemory_policy_and_samples_decide_what_is_evicted() {
    let with = |policy: &str, samples: u32| {
        backlog(
            &format!(
                "maxmemory = \"1200kb\"\nmaxmemory_policy = \"{policy}\"\nmaxmemory_samples = {samples}"
            ),
            "payload_size = \"2kb\"",
        )
    };
    let oldest_lost = |ran: &Ran| {
        let created: BTreeMap<String, f64> = ran
            .rows("job_created")
            .iter()
            .map(|e| (e.job.clone(), e.time_s))
            .collect();
        let lost: Vec<f64> = ran
            .rows("job_lost")
            .iter()
            .map(|e| created[&e.job])
            .collect();
        let finished: Vec<f64> = ran
            .rows("job_finished")
            .iter()
            .map(|e| created[&e.job])
            .collect();
        let latest_lost = lost.iter().cloned().fold(0.0, f64::max);
        let earliest_finished = finished.iter().cloned().fold(f64::MAX, f64::min);
        (lost.len(), latest_lost <= earliest_finished + 1.0)
    };
    let lru = with("allkeys-lru", 64);
    let memory = memory_of(&lru);
    assert_eq!(memory.refused_commands, 0);
    assert_eq!(lru.result.summary.jobs, 240);
    let (lost, oldest_first) = oldest_lost(&lru);
    assert!(
        lost > 100 && oldest_first,
        "{lost} lost, the oldest: {oldest_first}"
    );
    for reason in lru.rows("job_lost").iter().map(|e| e.detail("reason")) {
        assert_eq!(
            reason.as_deref(),
            Some("its hash was gone when a worker popped its id")
        );
    }
    let (_, oldest_first) = oldest_lost(&with("allkeys-lru", 1));
    assert!(!oldest_first, "one sample evicts at random");
    let volatile = with("volatile-lru", 5);
    let volatile_memory = memory_of(&volatile);
    assert_eq!(volatile_memory.evicted_keys, 0);
    assert!(volatile_memory.refused_commands > 100);
    let noeviction = with("noeviction", 5);
    assert_eq!(noeviction.result.summary.jobs, volatile.result.summary.jobs);
}

/// `payload_size` is the size of each job's `data` field: measured with `maxmemory = 0`, a
/// job of 2 KB takes more than the default 45-byte call by its 2 KB in jemalloc's 2.5 KB
/// class, plus ~0.7 KB as the hash turns from a listpack into a hash table (a value over 64
/// bytes; redis-server's `MEMORY USAGE` gives the same, tests/redis_memory_differential.rs).
#[test]
fn workload_payload_size_sizes_the_job_hashes() {
    let peak = |payload: &str| memory_of(&backlog("maxmemory = 0", payload)).peak_used_bytes;
    let (small, large) = (peak(""), peak("payload_size = \"2kb\""));
    let per_job = (large - small) as f64 / 240.0;
    assert!(
        (2_560.0..4_000.0).contains(&per_job),
        "{per_job} bytes a job"
    );
}

/// Memory keys that would change nothing are located errors: a policy, a sample count or a
/// payload size without `maxmemory`, a sample count Redis refuses, a limit below what Redis
/// takes with no keys, and the LFU policies the model does not have.
#[test]
fn memory_keys_that_would_do_nothing_are_located_errors() {
    let key_of = error_key;
    let cases = [
        (
            "[redis]\nmaxmemory_policy = \"allkeys-lru\"\n",
            "redis.maxmemory_policy",
        ),
        (
            "[redis]\nmaxmemory_samples = 10\n",
            "redis.maxmemory_samples",
        ),
        (
            "[redis]\nmaxmemory = \"64mb\"\nmaxmemory_samples = 0\n",
            "redis.maxmemory_samples",
        ),
        (
            "[redis]\nmaxmemory = \"64mb\"\nmaxmemory_samples = 65\n",
            "redis.maxmemory_samples",
        ),
        ("[redis]\nmaxmemory = \"500kb\"\n", "redis.maxmemory"),
        ("[redis]\nmaxmemory = \"64 parsecs\"\n", "redis.maxmemory"),
        (
            "[redis]\nmaxmemory = \"64mb\"\nmaxmemory_policy = \"allkeys-lfu\"\n",
            "redis.maxmemory_policy",
        ),
    ];
    for (redis, key) in cases {
        assert_eq!(
            key_of(&format!("{redis}[[pods]]\n[[workload]]\n")),
            key,
            "{redis}"
        );
    }
    let payload = "[[pods]]\n[[workload]]\npayload_size = \"1kb\"\n";
    assert_eq!(key_of(payload), "workload[0].payload_size");
    let ok = format!("[redis]\nmaxmemory = \"64MB\"\nmaxmemory_samples = 64\n{payload}");
    assert!(simrq::scenario::parse(&ok, "k.toml").is_ok());
}

/// `appendfsync` without `appendonly`, and `persistence` on a `redis_crash` (which takes it
/// from `[redis]`), would be ignored: located errors.
#[test]
fn persistence_keys_that_would_do_nothing_are_located_errors() {
    let error = simrq::scenario::parse(
        "[redis]\nappendfsync = \"always\"\n[[pods]]\n[[workload]]\n",
        "k.toml",
    )
    .unwrap_err();
    assert_eq!(error.key.as_deref(), Some("redis.appendfsync"), "{error}");
    assert!(error.to_string().contains("appendonly"), "{error}");
    let error = simrq::scenario::parse(
        "[[pods]]\n[[workload]]\n[[faults]]\nkind = \"redis_crash\"\npersistence = \"aof\"\nat = \"1m\"\n",
        "k.toml",
    )
    .unwrap_err();
    assert_eq!(
        error.key.as_deref(),
        Some("faults[0].persistence"),
        "{error}"
    );
}

/// `redis_pause`: Redis stops answering for `for`; commands sent meanwhile are answered
/// when it resumes (nothing fails, nothing is lost).
#[test]
fn faults_redis_pause_holds_every_reply_for_its_length() {
    let (ran, lost) = restarted("kind = \"redis_pause\"\nfor = \"10s\"");
    assert!(lost.is_empty() && ran.rows("redis_error").is_empty());
    let enqueued = ran.times("job_enqueued");
    let during = enqueued
        .iter()
        .filter(|t| (95.0..104.99).contains(*t))
        .count();
    assert_eq!(during, 0, "nothing lands while Redis is paused");
    let at_resume = enqueued.iter().filter(|t| approx(**t, 105.0, 0.01)).count();
    assert_eq!(
        at_resume, 11,
        "the enqueues sent at 95 … 104 s, and the one of 105 s"
    );
}

/// `scale` and `replicas`: the `pods` group is scaled to `replicas` (new pods, or the newest
/// deleted).
#[test]
fn faults_scale_sets_the_groups_replicas() {
    let live_after = |replicas: u32| {
        let ran = sim(
            &format!(
                r#"
[run]
duration = "2m"
drain = "0s"
sample_interval = "5s"
[[pods]]
replicas = 2
start_delay = "0s"
termination_grace_period = "5s"
[[workload]]
jobs = 1
arrival = {{ constant_per_s = 1 }}
[[faults]]
kind = "scale"
pods = "worker"
replicas = {replicas}
at = "30s"
"#
            ),
            1,
        );
        let last = ran.timeseries.last().unwrap();
        last["live_workers"].parse::<u32>().unwrap()
    };
    assert_eq!(live_after(5), 5);
    assert_eq!(live_after(1), 1);
}

/// `every`: periodically, first at `every`; `rate`: at random, a Poisson process.
#[test]
fn faults_every_and_rate_repeat_the_fault() {
    let fault_times = |timing: &str, duration: &str| {
        let ran = sim(
            &format!(
                r#"
[run]
duration = "{duration}"
drain = "0s"
[[pods]]
start_delay = "0s"
[[workload]]
jobs = 1
arrival = {{ constant_per_s = 1 }}
[[faults]]
kind = "clock_step"
offset = "1ms"
{timing}
"#
            ),
            1,
        );
        ran.times("fault")
    };
    assert_eq!(fault_times("every = \"20s\"", "70s"), [20.0, 40.0, 60.0]);
    let random = fault_times("rate = \"60/h\"", "10h");
    assert!(approx(random.len() as f64, 600.0, 75.0), "{}", random.len());
    let spacing = gaps(&random);
    assert!(spacing.iter().any(|g| *g < 10.0) && spacing.iter().any(|g| *g > 150.0));
}

// ----- [checks] --------------------------------------------------------------------------

/// `[checks] max_retry_lateness`: absent, only a retry that starts before its due time is a
/// violation; with a limit, one that starts later than that after its due time is too. In
/// rolling-deploy the retries wait ~12 minutes for a scheduler.
#[test]
fn checks_max_retry_lateness_bounds_how_late_a_retry_may_run() {
    let verdict = |limit: Option<u64>| {
        let mut scenario = outputs::load("rolling-deploy");
        scenario.checks.max_retry_lateness = limit.map(simrq::sim::SimDuration::from_secs);
        let result = run(&scenario, 1).result;
        result.summary.checks["retry_timing"]
    };
    assert_eq!(verdict(None), Verdict::Pass);
    assert_eq!(verdict(Some(120)), Verdict::Fail);
    assert_eq!(verdict(Some(3_600)), Verdict::Pass);
}

/// `[checks] single_active_scheduler = false` turns the check off; `liveness = false` too.
#[test]
fn checks_single_active_scheduler_and_liveness_can_be_turned_off() {
    let old = frozen_holder("2.10");
    assert_eq!(
        old.result.summary.checks["single_active_scheduler"],
        Verdict::Fail
    );
    let mut scenario = simrq::scenario::parse(
        &std::fs::read_to_string(outputs::scenario_path("no-scheduler")).unwrap(),
        "no-scheduler.toml",
    )
    .unwrap();
    assert_eq!(
        run(&scenario, 1).result.summary.checks["liveness"],
        Verdict::Fail
    );
    scenario.checks.liveness = false;
    let off = run(&scenario, 1).result;
    assert!(!off.summary.checks.contains_key("liveness"));
    assert_eq!(off.exit_code(), 0);
    let mut quiet = simrq::scenario::parse(&frozen_holder_text("2.10"), "f.toml").unwrap();
    quiet.checks.single_active_scheduler = false;
    let off = run(&quiet, 1).result;
    assert!(!off.summary.checks.contains_key("single_active_scheduler"));
    assert!(off
        .violations
        .iter()
        .all(|v| v.check != "single_active_scheduler"));
}

// ----- the command line ------------------------------------------------------------------

/// Runs the `simrq` binary in `dir`; returns the exit code, stdout and stderr.
fn simrq(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_simrq"))
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    (
        output.status.code().unwrap_or(-1),
        text(&output.stdout),
        text(&output.stderr),
    )
}

/// A short scenario file in a fresh directory: one pod, two jobs.
fn scenario_dir(extra: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "[run]\nduration = \"30s\"\ndrain = \"10s\"\n{extra}\n[[pods]]\nstart_delay = \"0s\"\n\
         [[workload]]\njobs = 2\narrival = {{ constant_per_s = 1 }}\n"
    );
    std::fs::write(dir.path().join("s.toml"), text).unwrap();
    dir
}

fn summary_seed(path: &Path) -> u64 {
    let text = std::fs::read_to_string(path.join("summary.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json["seed"].as_u64().unwrap()
}

/// `simrq run`: `--seed` (else `[run] seed`, else a fresh one, printed first), `--out`
/// (default `out/<scenario>`), `--force`, `--no-charts`, `--events`, `--runs`.
#[test]
fn cli_run_options_do_what_they_say() {
    let dir = scenario_dir("seed = 5");
    let at = dir.path();
    let (code, stdout, _) = simrq(at, &["run", "s.toml"]);
    assert_eq!(code, 0);
    assert!(stdout.starts_with("seed: 5\n"), "{stdout}");
    assert_eq!(
        summary_seed(&at.join("out/s")),
        5,
        "[run] seed, into out/<stem>"
    );
    assert!(
        at.join("out/s/lock_timeline.svg").is_file(),
        "charts by default"
    );
    let (code, _, stderr) = simrq(at, &["run", "s.toml"]);
    assert_eq!(code, 2, "an existing directory is refused");
    assert!(stderr.contains("--force"), "{stderr}");
    let (code, stdout, _) = simrq(at, &["run", "s.toml", "--seed", "7", "--force"]);
    assert_eq!(code, 0);
    assert!(stdout.starts_with("seed: 7\n"));
    assert_eq!(summary_seed(&at.join("out/s")), 7);
    let args = [
        "run",
        "s.toml",
        "--out",
        "elsewhere",
        "--no-charts",
        "--events",
        "none",
    ];
    assert_eq!(simrq(at, &args).0, 0);
    assert!(at.join("elsewhere/summary.json").is_file());
    assert!(!at.join("elsewhere/lock_timeline.svg").exists());
    assert!(!at.join("elsewhere/events.csv").exists());
    let args = [
        "run",
        "s.toml",
        "--out",
        "many",
        "--runs",
        "3",
        "--seed",
        "4",
        "--no-charts",
    ];
    assert_eq!(simrq(at, &args).0, 0);
    let runs = std::fs::read_to_string(at.join("many/runs.csv")).unwrap();
    let seeds: Vec<&str> = runs
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(seeds, ["4", "5", "6"]);
    assert!(at.join("many/seed-6/summary.json").is_file());
    assert!(at.join("many/aggregate.json").is_file());
    // No seed anywhere: one is picked and printed, and the run used it.
    let unseeded = scenario_dir("");
    let (code, stdout, _) = simrq(unseeded.path(), &["run", "s.toml", "--no-charts"]);
    assert_eq!(code, 0);
    let printed: u64 = stdout.lines().next().unwrap()["seed: ".len()..]
        .parse()
        .unwrap();
    assert_eq!(summary_seed(&unseeded.path().join("out/s")), printed);
}

/// A scenario whose runs lose jobs depending on the seed's faults: a Redis restart without
/// persistence wipes the waiting jobs (lost_job fails), and a harmless clock step.
const LOSSY: &str = "[[faults]]\nkind = \"redis_restart\"\nat = \"20s\"\n\
                     [[faults]]\nkind = \"clock_step\"\noffset = \"1ms\"\nat = \"10s\"\n";

fn lossy_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "[run]\nduration = \"30s\"\ndrain = \"10s\"\n[[pods]]\nqueues = [\"other\"]\n\
         [[workload]]\nqueue = \"waiting\"\njobs = 5\narrival = {{ constant_per_s = 1 }}\n\
         [checks]\nliveness = false\n{LOSSY}"
    );
    std::fs::write(dir.path().join("lossy.toml"), text).unwrap();
    dir
}

/// The `lost_job` row of explore's failure table: seeds failing, first failing seed.
fn lost_job_row(stdout: &str) -> (u64, String) {
    let row = stdout
        .lines()
        .find(|l| l.starts_with("lost_job"))
        .expect(stdout);
    let cells: Vec<&str> = row.split_whitespace().collect();
    (cells[1].parse().unwrap(), cells[3].to_string())
}

/// `simrq explore`: `--seeds`, `--first-seed`, `--swarm`, `--no-shrink`, `--out`,
/// `--shrink-runs`.
#[test]
fn cli_explore_options_do_what_they_say() {
    let dir = lossy_dir();
    let at = dir.path();
    let args = [
        "explore",
        "lossy.toml",
        "--seeds",
        "6",
        "--first-seed",
        "3",
        "--no-shrink",
    ];
    let (code, stdout, _) = simrq(at, &args);
    assert_eq!(code, 1);
    assert!(stdout.contains("with seeds 3..=8"), "{stdout}");
    assert_eq!(
        lost_job_row(&stdout),
        (6, "3".to_string()),
        "every seed loses jobs"
    );
    assert!(!at.join("out").exists(), "--no-shrink writes nothing");
    // Swarm: some seeds switch the restart off and lose nothing.
    let swarm = [
        "explore",
        "lossy.toml",
        "--seeds",
        "20",
        "--no-shrink",
        "--swarm",
    ];
    let (_, swarmed, _) = simrq(at, &swarm);
    assert!(lost_job_row(&swarmed).0 < 20, "{swarmed}");
    let args = [
        "explore",
        "lossy.toml",
        "--seeds",
        "2",
        "--out",
        "shrunk",
        "--shrink-runs",
        "3",
    ];
    let (code, stdout, _) = simrq(at, &args);
    assert_eq!(code, 1);
    let shrunk = std::fs::read_to_string(at.join("shrunk/lost_job.toml")).unwrap();
    assert!(
        shrunk.contains("# Seed: 0\n"),
        "the first failing seed: {shrunk}"
    );
    assert!(
        shrunk.contains("simrq run shrunk/lost_job.toml --seed 0"),
        "{shrunk}"
    );
    let runs: Vec<u64> = stdout
        .lines()
        .filter_map(|l| l.split(" changes in ").nth(1))
        .map(|rest| rest.split(' ').next().unwrap().parse().unwrap())
        .collect();
    assert!(!runs.is_empty() && runs.iter().all(|r| *r <= 3), "{stdout}");
}

/// `simrq sweep` and `merge`: `--set`, `--runs`, `--seed`, `--shard`, `--out`, `--force`.
#[test]
fn cli_sweep_and_merge_options_do_what_they_say() {
    let dir = scenario_dir("");
    let at = dir.path();
    let rows = |name: &str| {
        let text = std::fs::read_to_string(at.join(name).join("sweep.csv")).unwrap();
        text.lines()
            .skip(1)
            .map(|l| l.split(',').take(3).collect::<Vec<&str>>().join(","))
            .collect::<Vec<String>>()
    };
    let grid = [
        "--set",
        "run.duration=20s,30s",
        "--runs",
        "2",
        "--seed",
        "8",
    ];
    assert_eq!(
        simrq(
            at,
            &[&["sweep", "s.toml", "--out", "all"], &grid[..]].concat()
        )
        .0,
        0
    );
    assert_eq!(rows("all"), ["0,8,20s", "0,9,20s", "1,8,30s", "1,9,30s"]);
    let (code, _, _) = simrq(
        at,
        &[&["sweep", "s.toml", "--out", "all"], &grid[..]].concat(),
    );
    assert_eq!(code, 2, "an existing sweep directory needs --force");
    let forced = [&["sweep", "s.toml", "--out", "all", "--force"], &grid[..]].concat();
    assert_eq!(simrq(at, &forced).0, 0);
    for shard in ["0/2", "1/2"] {
        let out = format!("shard-{}", &shard[..1]);
        let args = [
            &["sweep", "s.toml", "--out", &out, "--shard", shard],
            &grid[..],
        ]
        .concat();
        assert_eq!(simrq(at, &args).0, 0);
    }
    assert_eq!(rows("shard-1"), ["1,8,30s", "1,9,30s"]);
    assert_eq!(
        simrq(at, &["merge", "shard-0", "shard-1", "--out", "merged"]).0,
        0
    );
    let read = |name: &str| std::fs::read(at.join(name).join("sweep.csv")).unwrap();
    assert_eq!(read("merged"), read("all"));
}

/// `simrq report`: `--out`, `--set`, `--runs`, `--seed`, `--theory-runs`, `--no-theory`,
/// `--force`; `--set`, `--runs` and `--seed` only with a scenario file.
#[test]
fn cli_report_options_do_what_they_say() {
    let dir = scenario_dir("");
    let at = dir.path();
    let args = [
        "report",
        "s.toml",
        "--out",
        "rep",
        "--set",
        "run.duration=20s,30s",
        "--runs",
        "2",
        "--seed",
        "3",
        "--theory-runs",
        "2",
    ];
    assert_eq!(simrq(at, &args).0, 0);
    let report = std::fs::read_to_string(at.join("rep/report.md")).unwrap();
    assert!(
        report.contains("--runs 2 --seed 3"),
        "the command that regenerates it"
    );
    assert!(report.contains("run.duration"), "the varied key");
    assert!(report.contains("2 seeds from"), "--theory-runs");
    let rows = std::fs::read_to_string(at.join("rep/sweep/sweep.csv")).unwrap();
    assert_eq!(rows.lines().count(), 1 + 4);
    assert_eq!(simrq(at, &args).0, 2, "a non-empty --out needs --force");
    let args = ["report", "rep/sweep", "--out", "again", "--no-theory"];
    assert_eq!(simrq(at, &args).0, 0);
    let again = std::fs::read_to_string(at.join("again/report.md")).unwrap();
    assert!(report.contains("Checked against queueing theory"));
    assert!(
        !again.contains("Checked against queueing theory"),
        "--no-theory"
    );
    let (code, _, stderr) = simrq(at, &["report", "rep/sweep", "--out", "x", "--seed", "4"]);
    assert_eq!(code, 2, "--seed with a sweep directory: {stderr}");
    let (code, _, _) = simrq(at, &["report", "rep/sweep", "--out", "y", "--runs", "4"]);
    assert_eq!(code, 2);
}

/// `simrq report` on a sweep of Redis settings has a "Redis as deployed" section: per point,
/// the jobs lost and run twice per million. A crash keeps every write with `always` and loses
/// 30–35 s with `no`, so the two rows differ where the model says they must.
#[test]
fn report_compares_redis_settings_in_jobs_lost_per_million() {
    let dir = tempfile::tempdir().unwrap();
    let at = dir.path();
    let text = "[run]\nduration = \"2m\"\ndrain = \"10s\"\n[redis]\nappendonly = true\n\
                [[pods]]\nqueues = [\"other\"]\n[[workload]]\nqueue = \"waiting\"\n\
                arrival = { constant_per_s = 1 }\n[[faults]]\nkind = \"redis_crash\"\n\
                at = \"95.5s\"\n[checks]\nliveness = false\nlost_jobs = 1000\n";
    std::fs::write(at.join("s.toml"), text).unwrap();
    let args = [
        "report",
        "s.toml",
        "--out",
        "rep",
        "--set",
        "redis.appendfsync=always,no",
        "--runs",
        "2",
        "--no-theory",
    ];
    let (code, _, stderr) = simrq(at, &args);
    assert_eq!(code, 0, "{stderr}");
    let report = std::fs::read_to_string(at.join("rep/report.md")).unwrap();
    let section = report
        .split("## Redis as deployed")
        .nth(1)
        .expect("the section");
    assert!(
        section.contains("AOF with `appendfsync everysec`"),
        "{section}"
    );
    assert!(section.contains("`redis_crash`"), "{section}");
    let rows: Vec<Vec<String>> = section
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| point"))
        .take(2)
        .map(|l| l.split('|').map(|c| c.trim().to_string()).collect())
        .collect();
    // Columns: "", point, appendfsync, lost per million, ...
    assert_eq!(rows[0][2], "always");
    assert_eq!(rows[0][3], "0");
    assert_eq!(rows[1][2], "no");
    // The jobs of 65 … 95 s are lost with `no`: 31 per run, per million of the run's jobs.
    let sweep = std::fs::read_to_string(at.join("rep/sweep/sweep.csv")).unwrap();
    let mut lines = sweep.lines();
    let columns: Vec<&str> = lines.next().unwrap().split(',').collect();
    let column = |name: &str| columns.iter().position(|c| *c == name).unwrap();
    let per_million: Vec<f64> = lines
        .map(|l| l.split(',').collect::<Vec<_>>())
        .filter(|cells| cells[column("point")] == "1")
        .map(|cells| {
            assert_eq!(cells[column("lost_jobs")], "31");
            let jobs: f64 = cells[column("jobs")].parse().unwrap();
            31.0 / jobs * 1e6
        })
        .collect();
    let mean = per_million.iter().sum::<f64>() / per_million.len() as f64;
    assert_eq!(rows[1][3], format!("{mean:.0}"), "{rows:?}");
}

/// `simrq compare`: `--json` prints the report as JSON; the exit code follows the verdict.
/// (`--takeover-tolerance` and `--host-timed-delays` are pinned by src/compare/tests.rs.)
#[test]
fn cli_compare_json_prints_json() {
    let dir = scenario_dir("seed = 1");
    let at = dir.path();
    assert_eq!(
        simrq(at, &["run", "s.toml", "--out", "a", "--no-charts"]).0,
        0
    );
    let (code, table, _) = simrq(at, &["compare", "a", "a"]);
    assert_eq!(code, 0);
    assert!(serde_json::from_str::<serde_json::Value>(&table).is_err());
    let (code, json, _) = simrq(at, &["compare", "a", "a", "--json"]);
    assert_eq!(code, 0);
    let parsed: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    assert!(parsed.is_object() || parsed.is_array());
}

// ----- docs/key-coverage.md keeps up with docs/scenario-format.md ------------------------

/// The keys of every key table of docs/scenario-format.md (`## [section]`, rows of
/// `| key | type | default | meaning |`), as `[section] key`.
fn documented_keys() -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/scenario-format.md");
    let text = std::fs::read_to_string(path).unwrap();
    let mut section = String::new();
    let mut in_key_table = false;
    let mut keys = Vec::new();
    for line in text.lines() {
        if let Some(heading) = line.strip_prefix("## ") {
            section = heading.trim_matches('`').to_string();
            in_key_table = false;
        } else if line.starts_with("| key |") {
            in_key_table = true;
        } else if !line.starts_with('|') {
            in_key_table = false;
        } else if in_key_table && !line.starts_with("|---") {
            let cell = line.split('|').nth(1).unwrap().trim();
            keys.push(format!("{section} {}", cell.trim_matches('`')));
        }
    }
    keys
}

/// The fault kinds of docs/scenario-format.md's `| kind | what happens |` table.
fn documented_fault_kinds() -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/scenario-format.md");
    let text = std::fs::read_to_string(path).unwrap();
    let mut in_table = false;
    let mut kinds = Vec::new();
    for line in text.lines() {
        if line.starts_with("| kind | what happens |") {
            in_table = true;
        } else if !line.starts_with('|') {
            in_table = false;
        } else if in_table && !line.starts_with("|---") {
            let cell = line.split('|').nth(1).unwrap().trim();
            kinds.push(cell.trim_matches('`').to_string());
        }
    }
    kinds
}

/// Every key and fault kind of docs/scenario-format.md has a row in docs/key-coverage.md,
/// written `` `[section] key` `` (e.g. `` `[rq] worker_ttl` ``, `` `[[faults]] kind = "pause"` ``),
/// and every test that doc names exists in tests/ or src/.
#[test]
fn every_documented_key_is_in_the_coverage_table() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let coverage = std::fs::read_to_string(root.join("docs/key-coverage.md")).unwrap();
    let keys = documented_keys();
    assert!(keys.len() > 60, "the key tables were read: {keys:?}");
    let missing: Vec<&String> = keys
        .iter()
        .filter(|key| !coverage.contains(&format!("`{key}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "keys missing from docs/key-coverage.md: {missing:?}"
    );
    let kinds = documented_fault_kinds();
    assert_eq!(kinds.len(), 21, "{kinds:?}");
    let missing: Vec<&String> = kinds
        .iter()
        .filter(|kind| !coverage.contains(&format!("`[[faults]] kind = \"{kind}\"`")))
        .collect();
    assert!(
        missing.is_empty(),
        "fault kinds missing from docs/key-coverage.md: {missing:?}"
    );
    // Every `file::test` the table names is a test function in that file.
    let mut named = 0;
    for cell in coverage.split('`') {
        let Some((file, test)) = cell.split_once("::") else {
            continue;
        };
        if !(file.starts_with("tests/") || file.starts_with("src/")) || !file.ends_with(".rs") {
            continue;
        }
        let source = std::fs::read_to_string(root.join(file))
            .unwrap_or_else(|e| panic!("docs/key-coverage.md names {file}: {e}"));
        let test = test.rsplit("::").next().unwrap();
        assert!(
            source.contains(&format!("fn {test}(")),
            "docs/key-coverage.md names {file}::{test}, which is not there"
        );
        named += 1;
    }
    assert!(named > 60, "{named} tests named");
}

/// A job waiting on a queue no pod serves is still in Redis at the end: `queued` in
/// jobs.csv, not a `lost_job` (the end state used to look only at served queues).
#[test]
fn a_job_waiting_on_an_unserved_queue_is_queued_not_lost() {
    let ran = sim(
        r#"
[run]
duration = "30s"
drain = "0s"
[[pods]]
queues = ["other"]
[[workload]]
queue = "waiting"
jobs = 2
arrival = { constant_per_s = 1 }
[checks]
liveness = false
"#,
        1,
    );
    assert_eq!(ran.result.summary.checks["lost_job"], Verdict::Pass);
    assert!(ran.jobs.iter().all(|row| row["outcome"] == "queued"));
}

/// `[[faults]] pods` with a pod name as `target`: the pod must be in that group (a located
/// error, exit 2), since the fault would otherwise hit a pod outside the group it names.
#[test]
fn a_target_pod_outside_the_faults_pods_group_is_a_located_error() {
    let text = "[[pods]]\nname = \"a\"\n[[pods]]\nname = \"b\"\n[[workload]]\n\
                [[faults]]\nkind = \"pod_kill\"\npods = \"a\"\ntarget = \"b-0\"\nat = \"1m\"\n";
    let error = simrq::scenario::parse(text, "k.toml").unwrap_err();
    assert_eq!(error.key.as_deref(), Some("faults[0].target"), "{error}");
    let message = error.to_string();
    assert!(message.starts_with("k.toml:9:"), "{message}");
    assert!(message.contains("not in the `pods` group `a`"), "{message}");
    let inside = text.replace("b-0", "a-0");
    assert!(simrq::scenario::parse(&inside, "k.toml").is_ok());
}

/// `target` on a fault that hits the Redis server (`redis_restart`, `redis_pause`) is a
/// located error: it would be ignored (docs/scenario-format.md, `[[faults]] target`).
#[test]
fn a_target_on_a_redis_fault_is_a_located_error() {
    for (kind, extra) in [
        ("redis_restart", ""),
        ("redis_crash", ""),
        ("redis_failover", ""),
        ("replica_lag", "for = \"5s\"\n"),
        ("redis_pause", "for = \"5s\"\n"),
    ] {
        let text = format!(
            "[redis]\nreplicas = 1\n[[pods]]\n[[workload]]\n[[faults]]\nkind = \"{kind}\"\n\
             target = \"worker-0\"\nat = \"1m\"\n{extra}"
        );
        let error = simrq::scenario::parse(&text, "k.toml").unwrap_err();
        assert_eq!(
            error.key.as_deref(),
            Some("faults[0].target"),
            "{kind}: {error}"
        );
        assert!(error.to_string().contains("takes no target"), "{error}");
    }
}

/// One worker, a 0.5 s job every second from 1 s, and `faults`.
fn operated(faults: &str, pods_lines: &str) -> Ran {
    sim(
        &format!(
            r#"
[run]
duration = "60s"
drain = "0s"
[[pods]]
start_delay = "0s"
{pods_lines}
[[workload]]
start = "1s"
arrival = {{ constant_per_s = 1 }}
duration = {{ constant = "500ms" }}
[checks]
liveness = false
{faults}
"#
        ),
        1,
    )
}

/// `[[faults]] kind = "suspend"` and `"resume"` (docs/rq-dependencies-and-operations.md §3.5):
/// after `rq suspend` at 10 s the worker still takes the job its blocking pop was waiting for,
/// then sees the suspension at the top of its loop and starts nothing until `rq resume` at
/// 30 s; without the faults jobs start all along.
#[test]
fn faults_suspend_stops_workers_at_the_top_of_their_loop_until_resume() {
    let faults = "[[faults]]\nkind = \"suspend\"\nat = \"10s\"\n\
                  [[faults]]\nkind = \"resume\"\nat = \"30s\"\n";
    let suspended = operated(faults, "");
    let starts = suspended.times("job_started");
    let during: Vec<f64> = starts
        .iter()
        .copied()
        .filter(|t| (10.0..30.0).contains(t))
        .collect();
    assert!(during.len() <= 1, "started while suspended: {during:?}");
    assert!(during.iter().all(|t| *t < 11.0), "{during:?}");
    assert!(
        starts.iter().any(|t| (30.0..32.0).contains(t)),
        "{starts:?}"
    );
    assert_eq!(suspended.rows("fault").len(), 2);
    let control = operated("", "");
    let during = control.times("job_started");
    assert!(during.iter().filter(|t| (10.0..30.0).contains(*t)).count() >= 18);
}

/// `[[faults]] for` on a `suspend`: `rq suspend --duration 5` lets the key expire, so work
/// resumes about 5 s later without any `resume`; without `for` it stays suspended.
#[test]
fn faults_suspend_for_expires_the_suspension() {
    let timed = operated(
        "[[faults]]\nkind = \"suspend\"\nat = \"10s\"\nfor = \"5s\"\n",
        "",
    );
    let starts = timed.times("job_started");
    assert!(
        starts.iter().any(|t| (15.0..17.0).contains(t)),
        "{starts:?}"
    );
    assert!(
        !starts.iter().any(|t| (11.0..15.0).contains(t)),
        "{starts:?}"
    );
    let forever = operated("[[faults]]\nkind = \"suspend\"\nat = \"10s\"\n", "");
    assert!(forever.times("job_started").iter().all(|t| *t < 11.0));
}

/// A `--burst` worker that finds `rq:suspended` at the top of its loop exits 0 ("suspended in
/// burst mode, exiting"), and its restart while still suspended exits 1 at start-up, as RQ's
/// CLI does (§3.5, §2.2).
#[test]
fn a_suspended_burst_worker_exits_and_its_restart_fails_at_start() {
    let ran = operated(
        "[[faults]]\nkind = \"suspend\"\nat = \"10s\"\n",
        "burst = true\ncrash_loop_backoff = { initial = \"2s\", cap = \"4s\" }",
    );
    let reasons: Vec<String> = ran
        .rows("worker_died")
        .iter()
        .filter_map(|row| row.detail("reason"))
        .collect();
    assert!(
        reasons
            .iter()
            .any(|r| r == "suspended in burst mode, exiting"),
        "{reasons:?}"
    );
    assert!(reasons.iter().any(|r| r == "suspended"), "{reasons:?}");
    assert!(ran.times("job_started").iter().all(|t| *t < 11.0));
}

/// `rq suspend` and `rq resume` are commands against Redis: a target or `pods` is a located
/// error, and `rq suspend --duration` takes whole seconds.
#[test]
fn suspend_and_resume_take_no_target_and_whole_seconds() {
    for (lines, key) in [
        (
            "kind = \"suspend\"\ntarget = \"worker-0\"",
            "faults[0].target",
        ),
        ("kind = \"resume\"\npods = \"worker\"", "faults[0].pods"),
        ("kind = \"suspend\"\nfor = \"1500ms\"", "faults[0].for"),
        ("kind = \"resume\"\nfor = \"5s\"", "faults[0].for"),
    ] {
        let text = format!("[[pods]]\n[[workload]]\n[[faults]]\n{lines}\nat = \"1m\"\n");
        let error = simrq::scenario::parse(&text, "k.toml").unwrap_err();
        assert_eq!(error.key.as_deref(), Some(key), "{lines}: {error}");
    }
    let fine =
        "[[pods]]\n[[workload]]\n[[faults]]\nkind = \"suspend\"\nfor = \"5s\"\nat = \"1m\"\n";
    assert!(simrq::scenario::parse(fine, "k.toml").is_ok());
}

/// One worker pod and one 20 s job with `retry = { max = 1 }` started at 1 s, and `faults`.
fn commanded(faults: &str) -> Ran {
    sim(
        &format!(
            r#"
[run]
duration = "60s"
drain = "0s"
[[pods]]
start_delay = "0s"
[[workload]]
jobs = 1
arrival = {{ count = 1, at = "1s" }}
duration = {{ constant = "20s" }}
retry = {{ max = 1 }}
[checks]
liveness = false
{faults}
"#
        ),
        1,
    )
}

/// `[[faults]] kind = "stop_job"` (docs/rq-dependencies-and-operations.md §3.4): the job the
/// worker runs at 5 s ends in the failed registry after one execution with no retry used;
/// without the fault it finishes.
#[test]
fn faults_stop_job_stops_the_running_job_without_a_retry() {
    let stopped =
        commanded("[[faults]]\nkind = \"stop_job\"\ntarget = \"worker-0\"\nat = \"5s\"\n");
    let job = &stopped.jobs[0];
    assert_eq!(job["outcome"], "failed", "{job:?}");
    assert_eq!(job["executions"], "1");
    assert_eq!(job["retries_used"], "0");
    let moved = stopped.rows("job_moved_to_failed");
    assert_eq!(moved.len(), 1);
    let reason = moved[0].detail("reason").unwrap();
    assert!(reason.contains("stopped by user"), "{reason}");
    assert_eq!(
        stopped
            .rows_with("command_received", "action", "killed_horse")
            .len(),
        1
    );
    let control = commanded("");
    assert_eq!(control.jobs[0]["outcome"], "finished");
}

/// `[[faults]] kind = "kill_horse"` (§3.3): the horse dies at 5 s, the worker consumes the
/// retry and the job runs again; without the fault, one execution.
#[test]
fn faults_kill_horse_kills_the_running_horse_and_a_retry_follows() {
    let killed = commanded("[[faults]]\nkind = \"kill_horse\"\nat = \"5s\"\n");
    let job = &killed.jobs[0];
    assert_eq!(job["executions"], "2", "{job:?}");
    assert_eq!(job["retries_used"], "1");
    assert_eq!(job["outcome"], "finished");
    let published = killed.rows("command_published");
    assert_eq!(published[0].detail("receivers").as_deref(), Some("1"));
    let control = commanded("");
    assert_eq!(control.jobs[0]["executions"], "1");
}

/// `[[faults]] kind = "shutdown"` (§3.2): a warm stop of a busy worker: the job finishes,
/// then the worker exits ("stopped"); without the fault the worker stays.
#[test]
fn faults_shutdown_stops_the_worker_after_its_job() {
    let stopped = commanded("[[faults]]\nkind = \"shutdown\"\nat = \"5s\"\n");
    assert_eq!(stopped.jobs[0]["outcome"], "finished");
    let died = stopped.rows_with("worker_died", "reason", "stopped");
    assert_eq!(died.len(), 1);
    assert!((21.0..22.0).contains(&died[0].time_s), "{}", died[0].time_s);
    let control = commanded("");
    assert!(control.rows("worker_died").is_empty());
}

/// The worker commands go to one pod's worker: a process target or `all` is a located
/// error, and they take no `for`.
#[test]
fn worker_commands_take_a_pod_target_and_nothing_else() {
    for (lines, key) in [
        (
            "kind = \"stop_job\"\ntarget = \"horse\"",
            "faults[0].target",
        ),
        ("kind = \"shutdown\"\ntarget = \"all\"", "faults[0].target"),
        ("kind = \"kill_horse\"\nfor = \"5s\"", "faults[0].for"),
    ] {
        let text = format!("[[pods]]\n[[workload]]\n[[faults]]\n{lines}\nat = \"1m\"\n");
        let error = simrq::scenario::parse(&text, "k.toml").unwrap_err();
        assert_eq!(error.key.as_deref(), Some(key), "{lines}: {error}");
    }
    let fine = "[[pods]]\n[[workload]]\n[[faults]]\nkind = \"stop_job\"\n\
                target = \"scheduler_holder\"\nat = \"1m\"\n";
    assert!(simrq::scenario::parse(fine, "k.toml").is_ok());
}
