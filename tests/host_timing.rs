//! The host timing keys — `[run] wall_clock_phase`, `[rq] worker_startup`, `horse_startup`,
//! `horse_exit`, `[redis] startup` — each change what happens, are drawn per seed, and give
//! the same bytes for the same seed. They let the conformance suite's simulated seeds span
//! what a real host does (README, "Fidelity").

mod outputs;

use std::path::Path;

use outputs::{of_kind, read_events, EventRow};
use simrq::run::{run_scenario, RunOptions};
use simrq::scenario;

/// Two workers with schedulers, one job every 0.5 s that fails once and retries after 2 s,
/// and `extra` TOML appended to the matching tables.
fn scenario_text(run: &str, rq: &str, redis: &str, faults: &str) -> String {
    format!(
        r#"
[run]
duration = "20s"
drain = "0s"
{run}

[redis]
{redis}

[rq]
worker_ttl = "16s"
maintenance_interval = "5s"
{rq}

[[pods]]
name = "worker"
replicas = 2
with_scheduler = true
queues = ["default"]
start_delay = "0s"

[[workload]]
queue = "default"
jobs = 6
start = "1s"
arrival = {{ constant_per_s = 2 }}
duration = {{ constant = "100ms" }}
fail_attempts = [1]
retry = {{ max = 1, interval = "2s" }}
job_timeout = "30s"
{faults}

[checks]
liveness = false
"#
    )
}

fn run_text(text: &str, seed: u64, out: &Path) -> Vec<EventRow> {
    let parsed = scenario::parse(text, "host.toml").unwrap_or_else(|e| panic!("{e}"));
    let mut options = RunOptions::new(seed, out, "host.toml");
    options.charts = false;
    run_scenario(&parsed, &options).unwrap();
    read_events(out)
}

fn events(text: &str, seed: u64) -> Vec<EventRow> {
    let dir = tempfile::tempdir().unwrap();
    run_text(text, seed, &dir.path().join("out"))
}

fn first_time(events: &[EventRow], kind: &str) -> f64 {
    of_kind(events, kind)
        .first()
        .unwrap_or_else(|| panic!("no {kind}"))
        .time_s
}

fn times(events: &[EventRow], kind: &str) -> Vec<f64> {
    of_kind(events, kind).iter().map(|e| e.time_s).collect()
}

#[test]
fn worker_startup_delays_the_first_redis_command_of_every_worker() {
    let plain = events(&scenario_text("", "", "", ""), 1);
    let slow = events(&scenario_text("", r#"worker_startup = "700ms""#, "", ""), 1);
    let shift = first_time(&slow, "worker_born") - first_time(&plain, "worker_born");
    assert!((shift - 0.7).abs() < 1e-6, "worker_born moved by {shift}");
    let shift = first_time(&slow, "lock_acquired") - first_time(&plain, "lock_acquired");
    assert!(
        (shift - 0.7).abs() < 1e-6,
        "the first lock moved by {shift}"
    );
}

#[test]
fn a_worker_startup_distribution_gives_each_seed_its_own_tick_phase() {
    let text = scenario_text(
        "",
        r#"worker_startup = { uniform = { min = "0.2s", max = "1.2s" } }"#,
        "",
        "",
    );
    let phases: Vec<f64> = (1..=6)
        .map(|seed| first_time(&events(&text, seed), "lock_acquired"))
        .collect();
    let mut distinct = phases.clone();
    distinct.sort_by(f64::total_cmp);
    distinct.dedup();
    assert!(distinct.len() >= 5, "first locks {phases:?}");
    assert!(
        phases.iter().all(|t| (0.2..=1.21).contains(t)),
        "{phases:?}"
    );
    // Same seed, same draw.
    assert_eq!(phases[0], first_time(&events(&text, 1), "lock_acquired"));
}

#[test]
fn horse_costs_as_distributions_vary_per_execution() {
    let gaps = |rq: &str| {
        let events = events(&scenario_text("", rq, "", ""), 3);
        let dequeued = times(&events, "job_dequeued");
        let started = times(&events, "job_started");
        started
            .iter()
            .zip(&dequeued)
            .map(|(start, dequeue)| ((start - dequeue) * 1e6).round() as i64)
            .collect::<Vec<_>>()
    };
    let constant = gaps(r#"horse_startup = "50ms""#);
    let mut distinct = constant.clone();
    distinct.dedup();
    assert_eq!(
        distinct.len(),
        1,
        "a constant costs the same every time: {constant:?}"
    );
    let drawn = gaps(r#"horse_startup = { lognormal = { median = "50ms", p99 = "500ms" } }"#);
    let mut distinct = drawn.clone();
    distinct.sort();
    distinct.dedup();
    assert!(
        distinct.len() > 6,
        "a distribution is drawn per execution: {drawn:?}"
    );
}

/// For each job a worker dequeues after one of its horses ended: seconds from that end.
fn end_to_next_dequeue(events: &[EventRow]) -> Vec<f64> {
    let mut last_end: std::collections::BTreeMap<String, f64> = Default::default();
    let mut gaps = Vec::new();
    for event in events {
        match event.kind.as_str() {
            "job_finished" | "job_failed" => {
                let worker = event.process.trim_end_matches(":horse").to_string();
                last_end.insert(worker, event.time_s);
            }
            "job_dequeued" => {
                if let Some(end) = last_end.remove(&event.process) {
                    gaps.push(event.time_s - end);
                }
            }
            _ => {}
        }
    }
    gaps
}

#[test]
fn horse_exit_delays_the_workers_next_dequeue() {
    let gaps = |rq: &str| end_to_next_dequeue(&events(&scenario_text("", rq, "", ""), 1));
    let plain = gaps("");
    let slow = gaps(r#"horse_exit = { uniform = { min = "400ms", max = "600ms" } }"#);
    let least = |gaps: &[f64]| gaps.iter().copied().fold(f64::INFINITY, f64::min);
    assert!(
        least(&plain) < 0.1,
        "a busy worker dequeues at once: {plain:?}"
    );
    assert!(least(&slow) >= 0.4, "after its horse's exit cost: {slow:?}");
}

#[test]
fn redis_startup_lengthens_a_restart_so_the_workers_back_off_further() {
    let fault = r#"
[[faults]]
kind = "redis_restart"
at = "4s"
for = "1s""#;
    let takeover = |redis: &str| {
        let events = events(&scenario_text("", "", redis, fault), 1);
        let fault_at = first_time(&events, "fault");
        times(&events, "lock_acquired")
            .into_iter()
            .find(|t| *t > fault_at)
            .expect("a scheduler takes the lock after the restart")
            - fault_at
    };
    let instant = takeover("");
    let slow = takeover(r#"startup = { uniform = { min = "20ms", max = "100ms" } }"#);
    // Without start-up time the first back-off (1 s) finds Redis up; with it the worker
    // waits for its second back-off (2 s more), as real workers did (tests/conformance).
    assert!(
        slow >= instant + 0.9,
        "takeover {slow} s with startup, {instant} s without"
    );
}

#[test]
fn wall_clock_phase_moves_where_rq_floors_due_times() {
    let due_times = |run: &str| {
        let events = events(&scenario_text(run, "", "", ""), 1);
        of_kind(&events, "job_retry_scheduled")
            .iter()
            .map(|e| e.detail("due_unix_s").unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let zero = due_times("");
    let late = due_times(r#"wall_clock_phase = "900ms""#);
    assert_ne!(zero, late, "due seconds are floored on the wall clock");
    let text = scenario_text(
        r#"wall_clock_phase = { uniform = { min = "0s", max = "1s" } }"#,
        "",
        "",
        "",
    );
    let starts = |seed| times(&events(&text, seed), "job_started");
    assert_eq!(starts(4), starts(4), "same seed, same phase");
    assert!(
        (1..=8).any(|seed| starts(seed) != starts(1)),
        "seeds draw phases"
    );
}

#[test]
fn a_wall_clock_phase_over_one_second_is_rejected_where_written() {
    let text = scenario_text(r#"wall_clock_phase = "1.5s""#, "", "", "");
    let error = scenario::parse(&text, "host.toml").unwrap_err().to_string();
    assert!(error.contains("run.wall_clock_phase"), "{error}");
}

/// The mean time between one worker's maintenance runs, over a run long enough to hold a
/// dozen of them.
fn maintenance_period(events: &[EventRow]) -> f64 {
    let pod = &of_kind(events, "maintenance")[0].pod;
    let runs: Vec<f64> = of_kind(events, "maintenance")
        .iter()
        .filter(|e| &e.pod == pod)
        .map(|e| e.time_s)
        .collect();
    assert!(runs.len() >= 5, "{runs:?}");
    (runs[runs.len() - 1] - runs[0]) / (runs.len() - 1) as f64
}

/// `[rq] worker_loop_cost`: each pass of an idle worker's dequeue loop (1 s pops here) costs
/// that much more, so maintenance, due at the first pass 5 s after the last run, comes every
/// 5 passes of 1.04 s instead of 1.00x s: the phase drift the conformance suite measured on
/// real workers (README, "Fidelity"). A distribution gives each seed its own period.
#[test]
fn worker_loop_cost_stretches_the_maintenance_period() {
    let long = |rq: &str| scenario_text("", rq, "", "").replace("\"20s\"", "\"70s\"");
    let plain = maintenance_period(&events(&long(""), 1));
    let costly = maintenance_period(&events(&long(r#"worker_loop_cost = "40ms""#), 1));
    assert!(plain < 5.03, "without the cost: {plain}");
    assert!((costly - plain - 0.2).abs() < 0.03, "{plain} → {costly}");
    let spread = long(r#"worker_loop_cost = { uniform = { min = "0ms", max = "60ms" } }"#);
    let periods: Vec<f64> = (1..=5)
        .map(|seed| maintenance_period(&events(&spread, seed)))
        .collect();
    let (low, high) = periods
        .iter()
        .fold((f64::MAX, f64::MIN), |(l, h), p| (l.min(*p), h.max(*p)));
    assert!(high - low > 0.05, "one period for every seed: {periods:?}");
}

/// `[rq] shared_host_costs`: the two workers of the scenario start at the same instant; with
/// the key they share one `worker_startup` draw and are born together, without it each draws
/// its own.
#[test]
fn shared_host_costs_give_workers_started_together_one_startup() {
    let startup = r#"worker_startup = { uniform = { min = "0.2s", max = "1.2s" } }"#;
    let births = |rq: &str| times(&events(&scenario_text("", rq, "", ""), 3), "worker_born");
    let own = births(startup);
    let shared = births(&format!("{startup}\nshared_host_costs = true"));
    assert_eq!(own.len(), 2);
    assert!((own[0] - own[1]).abs() > 1e-3, "independent draws: {own:?}");
    assert_eq!(shared[0], shared[1], "one draw for both: {shared:?}");
}
