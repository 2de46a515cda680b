//! `[rq] prepare_execution_stall`: a stall of the worker's main process after a dequeue and
//! before `prepare_execution` (rq-semantics §3.4 step 1), the window of race R17
//! (docs/races.md): the popped id is in `rq:queue:<q>:intermediate` and not in `rq:wip:<q>`.
//! The conformance suite forces it on real RQ 2.12 with a worker subclass that sleeps there
//! (tests/conformance/conformance_worker.py); `tests/conformance/scenarios/stale-first-seen.toml`
//! is that run, and these tests pin what simrq makes of it. Each test runs with the key against
//! without it, so a model that ignored the key fails here.

mod common;
mod outputs;

use std::path::Path;

use common::*;
use simrq::harness::{Harness, HarnessConfig};
use simrq::rq::Role;
use simrq::run::{config_hash, run_scenario, RunOptions};
use simrq::scenario::{self, Distribution, Scenario};
use simrq::sim::{DurationDist, Signal, SimDuration};

const STUCK: &str = "Job was stuck in intermediate queue.";

fn stall_harness(stall: SimDuration, queues: &[&str]) -> Harness {
    let mut config = HarnessConfig::default();
    config.params.host.prepare_execution_stall = DurationDist::Constant(stall);
    let harness = Harness::new(config, vec![long_class("quick", 1, None)]);
    let host = harness.add_host();
    harness.start_worker("worker-a", host, queues, false);
    harness.run_until(at(1.0));
    harness.enqueue("quick");
    step_until(&harness, SimDuration::from_secs(5), |h| {
        !job_events(h, "job_dequeued", "j1").is_empty()
    });
    harness
}

/// §3.4: for the whole stall the job is popped (intermediate list) but not started (no wip
/// entry, worker state `idle`); then `prepare_execution` and the fork follow as usual.
#[test]
fn the_stall_holds_the_popped_id_in_the_intermediate_list_before_prepare_execution() {
    let stall_s = 4.0;
    let harness = stall_harness(SimDuration::from_secs(4), &["default"]);
    let dequeued_s = secs(job_events(&harness, "job_dequeued", "j1")[0].time);
    harness.run_until(at(dequeued_s + stall_s - 0.1));
    assert_eq!(list(&harness, "rq:queue:default:intermediate"), ["j1"]);
    assert!(zset_members(&harness, "rq:wip:default").is_empty());
    let worker = process(&harness, "worker-a", Role::Worker);
    let worker_key = format!("rq:worker:{}", worker.name);
    assert_eq!(
        hash_field(&harness, &worker_key, "state").as_deref(),
        Some("idle")
    );
    assert!(job_events(&harness, "job_started", "j1").is_empty());
    harness.run_for(SimDuration::from_secs(3));
    let started_s = secs(job_events(&harness, "job_started", "j1")[0].time);
    assert!(
        (stall_s..stall_s + 0.01).contains(&(started_s - dequeued_s)),
        "dequeued at {dequeued_s} s, started at {started_s} s"
    );
    assert_eq!(job_events(&harness, "job_finished", "j1").len(), 1);

    let plain = stall_harness(SimDuration::ZERO, &["default"]);
    let dequeued_s = secs(job_events(&plain, "job_dequeued", "j1")[0].time);
    plain.run_for(SimDuration::from_millis(100));
    let started_s = secs(job_events(&plain, "job_started", "j1")[0].time);
    assert!(started_s - dequeued_s < 0.01, "no stall: {started_s}");
}

/// rq/worker/base.py `request_stop` → `_shutdown`: during the stall the worker's state is still
/// `idle`, so a SIGTERM raises `StopRequested` out of the sleep and the worker exits without
/// running the job. With one queue the id stays in the intermediate list for maintenance
/// (§5.4); with several (BLPOP) it is in no list at all: lost (§9 R5a).
#[test]
fn a_sigterm_during_the_stall_stops_the_worker_before_the_job_runs() {
    for (queues, lost) in [(&["default"][..], 0), (&["default", "low"][..], 1)] {
        let harness = stall_harness(SimDuration::from_secs(10), queues);
        harness.run_for(SimDuration::from_secs(1));
        let worker = process(&harness, "worker-a", Role::Worker);
        harness.signal(&worker, Signal::Term);
        harness.run_for(SimDuration::from_millis(100));
        let died = pod_events(&harness, "worker_died", "worker-a");
        assert_eq!(died.len(), 1, "{queues:?}: stopped within the stall");
        harness.run_for(SimDuration::from_secs(20));
        assert!(job_events(&harness, "job_started", "j1").is_empty());
        let parked = list(&harness, "rq:queue:default:intermediate");
        assert_eq!(parked.len(), 1 - lost, "{queues:?}: {parked:?}");
        assert_eq!(job_events(&harness, "job_lost", "j1").len(), lost);
    }
}

fn conformance_scenario() -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/conformance/scenarios/stale-first-seen.toml");
    scenario::load(&path).unwrap()
}

struct Run {
    events: Vec<outputs::EventRow>,
    job: std::collections::BTreeMap<String, String>,
    duplicates: u64,
}

fn run(scenario: &Scenario, seed: u64) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let mut options = RunOptions::new(seed, &out, "stale-first-seen.toml");
    options.charts = false;
    let result = run_scenario(scenario, &options).unwrap();
    let mut jobs = outputs::read_jobs(&out);
    assert_eq!(jobs.len(), 1);
    Run {
        events: outputs::read_events(&out),
        job: jobs.remove(0),
        duplicates: result.summary.duplicate_executions,
    }
}

fn stuck_abandonments(run: &Run) -> usize {
    outputs::of_kind(&run.events, "job_abandoned")
        .iter()
        .filter(|e| e.detail("reason").as_deref() == Some(STUCK))
        .count()
}

/// docs/races.md R17 as the conformance suite forces it (rq/intermediate_queue.py
/// `IntermediateQueue.cleanup`: `first_seen` keyed by the job id, 24 h TTL). With the 4 s stall
/// the idle worker's maintenance sees j1 in the intermediate list on every pass: the first
/// sighting sets `first_seen`; on the retry's pass (> 60 s later) the stale key makes it fail
/// j1 as stuck and schedule another retry while the stalled worker goes on to run it; on the
/// third pass it does so again. j1 runs three times, the third after it finished. Without the
/// stall the cleaner never sees j1 in the list: two runs. Real RQ 2.12 gave the same three runs
/// (tests/conformance/FINDINGS.md).
#[test]
fn the_conformance_stall_runs_a_finished_job_a_third_time() {
    let stalled = conformance_scenario();
    assert_eq!(
        stalled.rq.prepare_execution_stall,
        Distribution::Constant(SimDuration::from_secs(4))
    );
    for seed in [1, 2, 3] {
        let run = run(&stalled, seed);
        assert_eq!(run.job["executions"], "3", "seed {seed}: {:?}", run.job);
        assert_eq!(run.job["retries_used"], "3", "seed {seed}");
        assert_eq!(run.job["outcome"], "finished", "seed {seed}");
        assert_eq!(stuck_abandonments(&run), 2, "seed {seed}");
        let ends = outputs::of_kind(&run.events, "job_finished");
        let starts = outputs::of_kind(&run.events, "job_started");
        assert!(
            starts[2].time_s > ends[0].time_s,
            "seed {seed}: ran after finishing"
        );
        assert_eq!(run.duplicates, 1, "seed {seed}: the run after the finish");
        // Each start ran the oldest waiting retry: the stall (4 s), plus the wait for the
        // scheduler's tick after the due time, minus the due time's flooring to a whole
        // second (each up to 1 s; a real run gave 3.341 s): never the younger retry's due
        // time 70 s ahead (−66 s).
        let lateness: f64 = run.job["max_retry_lateness_s"].parse().unwrap();
        assert!((3.0..6.0).contains(&lateness), "seed {seed}: {lateness}");
    }
    let mut plain = stalled.clone();
    plain.rq.prepare_execution_stall = Distribution::Constant(SimDuration::ZERO);
    let run = run(&plain, 1);
    assert_eq!(run.job["executions"], "2", "{:?}", run.job);
    assert_eq!(stuck_abandonments(&run), 0);
}

/// docs/races.md R17, the what-if fix: `first_seen` named by the job's enqueue as well, so the
/// retry's pass sets a key of its own and nothing is failed as stuck: two runs, as intended.
#[test]
fn first_seen_per_enqueue_keeps_the_stalled_conformance_run_to_two_executions() {
    let mut fixed = conformance_scenario();
    fixed.rq.first_seen_per_enqueue = true;
    let run = run(&fixed, 1);
    assert_eq!(run.job["executions"], "2", "{:?}", run.job);
    assert_eq!(run.job["retries_used"], "1");
    assert_eq!(stuck_abandonments(&run), 0);
    assert_eq!(run.duplicates, 0);
}

/// A bad value is a located error naming the key; the key is left out of the canonical TOML
/// (and so of `config_hash`) while it is zero.
#[test]
fn the_key_is_validated_and_absent_from_the_canonical_form_while_zero() {
    let base = "[[pods]]\n[[workload]]\njobs = 1\n[rq]\n";
    let bad = format!(
        "{base}prepare_execution_stall = {{ uniform = {{ min = \"5s\", max = \"1s\" }} }}\n"
    );
    let error = scenario::parse(&bad, "s.toml").unwrap_err().to_string();
    assert!(
        error.contains("s.toml:5:") && error.contains("rq.prepare_execution_stall"),
        "{error}"
    );
    let long = format!("{base}prepare_execution_stall = \"800h\"\n");
    let error = scenario::parse(&long, "s.toml").unwrap_err().to_string();
    assert!(error.contains("rq.prepare_execution_stall"), "{error}");

    let plain = scenario::parse(base, "s.toml").unwrap();
    assert!(!plain.to_toml().contains("prepare_execution_stall"));
    let zero = scenario::parse(
        &format!("{base}prepare_execution_stall = \"0s\"\n"),
        "s.toml",
    );
    assert_eq!(config_hash(&zero.unwrap()), config_hash(&plain));
    let set = format!("{base}prepare_execution_stall = \"4s\"\n");
    let stalled = scenario::parse(&set, "s.toml").unwrap();
    assert!(stalled
        .to_toml()
        .contains("prepare_execution_stall = \"4s\""));
    assert_ne!(config_hash(&stalled), config_hash(&plain));
    let again = scenario::parse(&stalled.to_toml(), "again.toml").unwrap();
    assert_eq!(again, stalled);
}
