//! The operator's job and queue actions as `[[faults]]` (docs/scenario-format.md,
//! docs/rq-dependencies-and-operations.md §1.6, §3.7, §3.8): `cancel`, `requeue` and
//! `empty_queue`, each through whole scenario runs against the same run without the action,
//! so an action the model ignored fails here; and the Redis state each leaves, on the harness.

mod common;
mod outputs;

use common::*;
use outputs::EventRow;
use simrq::event::Name;
use simrq::harness::{Harness, HarnessConfig};
use simrq::report::summary::Verdict;
use simrq::rq::operator::OperatorCommand;
use simrq::rq::JobClass;
use simrq::run::{run_scenario, RunOptions, RunResult};
use simrq::sim::SimDuration;
use std::collections::BTreeMap;

type JobRow = BTreeMap<String, String>;

/// Runs `text` (seed 1): the result, events.csv and jobs.csv.
fn run(text: &str) -> (RunResult, Vec<EventRow>, Vec<JobRow>) {
    let dir = tempfile::tempdir().unwrap();
    let scenario = simrq::scenario::parse(text, "inline.toml").unwrap_or_else(|e| panic!("{e}"));
    let mut options = RunOptions::new(1, dir.path().join("out"), "inline.toml");
    options.charts = false;
    let result = run_scenario(&scenario, &options).unwrap();
    let out = dir.path().join("out");
    (result, outputs::read_events(&out), outputs::read_jobs(&out))
}

/// One worker; three 10 s jobs enqueued at 1, 1.5 and 2 s (j1 runs first, j2 and j3 wait),
/// then `faults`.
fn three_long_jobs(workload_extra: &str, faults: &str) -> String {
    format!(
        r#"
[run]
duration = "60s"
drain = "0s"

[[pods]]
name = "worker"
queues = ["default"]
start_delay = "0s"

[[workload]]
queue = "default"
jobs = 3
start = "1s"
arrival = {{ constant_per_s = 2 }}
duration = "10s"
{workload_extra}
{faults}
"#
    )
}

fn outcome(jobs: &[JobRow], job: &str) -> Vec<String> {
    jobs.iter()
        .filter(|row| row["job"] == job)
        .map(|row| row["outcome"].clone())
        .collect()
}

fn starts(events: &[EventRow], job: &str) -> usize {
    outputs::of_kind(events, "job_started")
        .iter()
        .filter(|e| e.job == job)
        .count()
}

fn check(result: &RunResult, name: &str) -> Verdict {
    result.summary.checks[name]
}

/// §1.6: canceling a queued job takes it out of its queue: it never runs, ends `canceled`,
/// and no check calls it lost. Without the cancel it runs.
#[test]
fn a_canceled_queued_job_never_runs_and_is_not_lost() {
    let cancel = "[[faults]]\nkind = \"cancel\"\nat = \"5s\"\njob = \"j2\"";
    let (result, events, jobs) = run(&three_long_jobs("", cancel));
    assert_eq!(starts(&events, "j2"), 0);
    assert_eq!(outcome(&jobs, "j2"), ["canceled"]);
    assert_eq!(outputs::of_kind(&events, "job_canceled").len(), 1);
    assert_eq!(result.summary.outcomes.canceled, 1);
    assert_eq!(check(&result, "lost_job"), Verdict::Pass);
    assert_eq!(starts(&events, "j3"), 1, "the next job runs in its place");
    let (control, events, jobs) = run(&three_long_jobs("", ""));
    assert_eq!(starts(&events, "j2"), 1);
    assert_eq!(outcome(&jobs, "j2"), ["finished"]);
    assert_eq!(control.summary.outcomes.canceled, 0);
}

/// §1.9 D5: canceling a running job does not stop it; its horse finishes it.
#[test]
fn a_canceled_running_job_runs_on_and_finishes() {
    let cancel = "[[faults]]\nkind = \"cancel\"\nat = \"5s\"\njob = \"j1\"";
    let (_, events, jobs) = run(&three_long_jobs("", cancel));
    assert_eq!(outputs::of_kind(&events, "job_canceled").len(), 1);
    assert_eq!(starts(&events, "j1"), 1);
    assert_eq!(outcome(&jobs, "j1"), ["finished"]);
}

/// §3.7: `rq requeue --all` puts a job that failed for good back on its queue; it runs
/// again (here it succeeds), with `retries_left` not reset, and that second run is not a
/// duplicate. Its jobs.csv has one row per life. Without the requeue it stays failed.
#[test]
fn requeue_runs_a_failed_job_again_without_a_duplicate() {
    let fails_once = "fail_attempts = [1]";
    let requeue = "[[faults]]\nkind = \"requeue\"\nat = \"15s\"\nqueue = \"default\"";
    let (result, events, jobs) = run(&three_long_jobs(fails_once, requeue));
    assert_eq!(starts(&events, "j1"), 2);
    assert_eq!(outcome(&jobs, "j1"), ["failed", "finished"]);
    let requeued: Vec<&EventRow> = outputs::of_kind(&events, "job_enqueued")
        .into_iter()
        .filter(|e| e.detail("source").as_deref() == Some("requeue"))
        .collect();
    assert_eq!(requeued.len(), 1);
    assert_eq!(requeued[0].job, "j1");
    assert_eq!(result.summary.duplicate_executions, 0);
    assert_eq!(check(&result, "duplicate_execution"), Verdict::Pass);
    let (_, events, jobs) = run(&three_long_jobs(fails_once, ""));
    assert_eq!(starts(&events, "j1"), 1);
    assert_eq!(outcome(&jobs, "j1"), ["failed"]);
}

/// §3.7: requeueing one job by id leaves the other failed jobs where they are.
#[test]
fn requeue_of_one_job_leaves_the_others_failed() {
    let every_job_fails_once = "fail_attempts = [1]";
    let one = "[[faults]]\nkind = \"requeue\"\nat = \"35s\"\nqueue = \"default\"\njob = \"j2\"";
    let (_, events, jobs) = run(&three_long_jobs(every_job_fails_once, one));
    assert_eq!(starts(&events, "j2"), 2);
    assert_eq!(starts(&events, "j1"), 1);
    assert_eq!(outcome(&jobs, "j1"), ["failed"]);
}

/// §3.8: `rq empty` deletes every queued job at once; they end `deleted`, the running job
/// runs on, and no check calls them lost. Without it they run.
#[test]
fn empty_queue_deletes_the_waiting_jobs() {
    let empty = "[[faults]]\nkind = \"empty_queue\"\nat = \"5s\"\nqueue = \"default\"";
    let (result, events, jobs) = run(&three_long_jobs("", empty));
    let deleted: Vec<String> = outputs::of_kind(&events, "job_deleted")
        .iter()
        .map(|e| e.job.clone())
        .collect();
    assert_eq!(deleted, ["j2", "j3"]);
    assert_eq!(outcome(&jobs, "j2"), ["deleted"]);
    assert_eq!(outcome(&jobs, "j1"), ["finished"]);
    assert_eq!(result.summary.outcomes.deleted, 2);
    assert_eq!(check(&result, "lost_job"), Verdict::Pass);
    assert_eq!(check(&result, "liveness"), Verdict::Pass);
    let (_, events, _) = run(&three_long_jobs("", ""));
    assert_eq!(starts(&events, "j3"), 1);
}

fn harness() -> Harness {
    let long = long_class("long", 10, None);
    let child = JobClass::simple("child", "default", SimDuration::from_millis(100));
    Harness::new(HarnessConfig::default(), vec![long, child])
}

/// §1.6: the cancel's transaction: status `canceled`, out of the queue list, into
/// `rq:canceled:<q>` (which nothing cleans). A canceled deferred child leaves
/// `rq:deferred:<q>`, and its parent's success does not enqueue it.
#[test]
fn cancel_writes_status_queue_and_canceled_registry() {
    let harness = harness();
    let host = harness.add_host();
    harness.start_worker("worker", host, &["default"], false);
    harness.enqueue("long"); // j1, runs
    harness.enqueue("long"); // j2, waits
    harness.enqueue_depending("child", &["j1"]); // j3, deferred
    harness.run_until(at(2.0));
    assert_eq!(zset_members(&harness, "rq:deferred:default"), ["j3"]);
    for job in ["j2", "j3"] {
        harness.operate(OperatorCommand::Cancel(Name::from(job)));
    }
    harness.run_until(at(3.0));
    assert_eq!(list(&harness, "rq:queue:default"), Vec::<String>::new());
    for job in ["j2", "j3"] {
        let key = format!("rq:job:{job}");
        assert_eq!(
            hash_field(&harness, &key, "status").as_deref(),
            Some("canceled")
        );
    }
    assert_eq!(zset_members(&harness, "rq:canceled:default"), ["j2", "j3"]);
    assert!(zset_members(&harness, "rq:deferred:default").is_empty());
    harness.run_until(at(30.0));
    assert!(job_events(&harness, "job_started", "j3").is_empty());
    assert!(job_events(&harness, "job_started", "j2").is_empty());
}

/// §3.8: `Queue.empty` deletes each queued job's hash and dependents set and nothing else:
/// the deferred child keeps its hash and its `rq:deferred` entry, and stays deferred.
#[test]
fn empty_deletes_queued_jobs_and_leaves_the_deferred_child() {
    let harness = harness();
    harness.enqueue("long"); // j1, nobody runs it
    harness.enqueue_depending("child", &["j1"]); // j2, deferred on j1
    harness.run_until(at(1.0));
    assert!(exists(&harness, "rq:job:j1:dependents"));
    harness.operate(OperatorCommand::EmptyQueue(Name::from("default")));
    harness.run_until(at(2.0));
    assert!(!exists(&harness, "rq:job:j1"));
    assert!(!exists(&harness, "rq:job:j1:dependents"));
    assert!(list(&harness, "rq:queue:default").is_empty());
    assert_eq!(
        hash_field(&harness, "rq:job:j2", "status").as_deref(),
        Some("deferred")
    );
    assert_eq!(zset_members(&harness, "rq:deferred:default"), ["j2"]);
    assert_eq!(job_events(&harness, "job_deleted", "j1").len(), 1);
}
