//! The pubsub worker commands on the RQ model (docs/rq-dependencies-and-operations.md
//! §3.1–§3.4, `rq/command.py`, `BaseWorker.subscribe`, `monitor_work_horse`,
//! `handle_job_failure`): `shutdown` is a warm stop, `kill-horse` a horse death that consumes
//! a retry, `stop-job` a kill that leaves the job `stopped` in the failed registry with its
//! retries untouched; a command that finds no subscriber is lost.
//!
//! Each test has a control that differs only by the command (or its timing), so that a model
//! that ignored it fails.

mod common;

use common::*;
use simrq::event::EventKind;
use simrq::harness::{Harness, HarnessConfig};
use simrq::net::Restore;
use simrq::rq::command::WorkerCommand;
use simrq::rq::{JobClass, Role};
use simrq::sim::{ExitStatus, SimDuration};

fn world(retry_max: Option<i64>) -> Harness {
    let quick = JobClass::simple("quick", "default", SimDuration::from_millis(100));
    let long = long_class("long", 20, retry_max);
    Harness::new(HarnessConfig::default(), vec![quick, long])
}

/// A worker on `default` running one `long` job (20 s) from 0 s; its name.
fn busy_worker(harness: &Harness) -> String {
    let host = harness.add_host();
    harness.start_worker("worker", host, &["default"], false);
    harness.enqueue("long");
    harness.run_until(at(1.0));
    process(harness, "worker", Role::Worker).name.to_string()
}

fn the_job(harness: &Harness) -> String {
    let created = harness.events_of("job_created");
    created[0]
        .job
        .as_ref()
        .expect("a job event")
        .name()
        .to_string()
}

fn receivers(harness: &Harness) -> Vec<i64> {
    harness
        .events_of("command_published")
        .into_iter()
        .filter_map(|event| match event.kind {
            EventKind::CommandPublished { receivers, .. } => Some(receivers),
            _ => None,
        })
        .collect()
}

/// §3.4: `stop-job` of the job the worker runs kills its horse; the job ends `stopped`, in
/// `rq:failed:default`, with `retries_left` still 2 of 2 and no second run. Without the
/// command the job finishes.
#[test]
fn stop_job_sets_stopped_and_consumes_no_retry() {
    let run = |stop: bool| {
        let harness = world(Some(2));
        let worker = busy_worker(&harness);
        harness.run_until(at(5.0));
        if stop {
            harness.stop_current_job(&worker);
        }
        harness.run_until(at(60.0));
        let job = the_job(&harness);
        let key = format!("rq:job:{job}");
        let status = hash_field(&harness, &key, "status");
        let retries_left = hash_field(&harness, &key, "retries_left");
        let failed = zset_members(&harness, "rq:failed:default");
        let starts = harness.events_of("job_started").len();
        (
            status,
            retries_left,
            failed.contains(&job),
            starts,
            command_actions(&harness),
        )
    };
    let (status, retries_left, in_failed, starts, actions) = run(true);
    assert_eq!(status.as_deref(), Some("stopped"));
    assert_eq!(retries_left.as_deref(), Some("2"), "no retry consumed");
    assert!(in_failed, "in the failed registry");
    assert_eq!(starts, 1, "not run again");
    assert_eq!(actions, [("stop-job".into(), "killed_horse".into())]);

    let (status, _, in_failed, starts, actions) = run(false);
    assert_eq!(status.as_deref(), Some("finished"));
    assert!(!in_failed);
    assert_eq!(starts, 1);
    assert!(actions.is_empty());
}

/// §3.4: a `stop-job` for a job the worker is not running is ignored ("Not working on job").
#[test]
fn stop_job_of_another_job_is_ignored() {
    let harness = world(Some(2));
    let worker = busy_worker(&harness);
    harness.send_command(&worker, WorkerCommand::StopJob("j999".into()));
    harness.run_until(at(60.0));
    let job = the_job(&harness);
    let status = hash_field(&harness, &format!("rq:job:{job}"), "status");
    assert_eq!(status.as_deref(), Some("finished"));
    assert_eq!(
        command_actions(&harness),
        [("stop-job".into(), "not_current_job".into())]
    );
}

/// §3.3: `kill-horse` is a horse death: "Work-horse terminated unexpectedly", a retry is
/// consumed (1 left of 2... here 0 of 1) and the job runs again and finishes. Without it, one
/// run.
#[test]
fn kill_horse_consumes_a_retry() {
    let run = |kill: bool| {
        let harness = world(Some(1));
        let worker = busy_worker(&harness);
        harness.run_until(at(5.0));
        if kill {
            harness.send_command(&worker, WorkerCommand::KillHorse);
        }
        harness.run_until(at(60.0));
        let job = the_job(&harness);
        let key = format!("rq:job:{job}");
        let retries_left = hash_field(&harness, &key, "retries_left");
        let status = hash_field(&harness, &key, "status");
        let starts = harness.events_of("job_started").len();
        (retries_left, status, starts, command_actions(&harness))
    };
    let (retries_left, status, starts, actions) = run(true);
    assert_eq!(retries_left.as_deref(), Some("0"), "one retry consumed");
    assert_eq!(starts, 2, "retried");
    assert_eq!(status.as_deref(), Some("finished"));
    assert_eq!(actions, [("kill-horse".into(), "killed_horse".into())]);

    let (retries_left, _, starts, _) = run(false);
    assert_eq!(retries_left.as_deref(), Some("1"));
    assert_eq!(starts, 1);
}

/// §3.3: an idle worker has no horse: "kill horse command ignored".
#[test]
fn kill_horse_of_an_idle_worker_is_ignored() {
    let harness = world(None);
    let host = harness.add_host();
    harness.start_worker("worker", host, &["default"], false);
    harness.run_until(at(1.0));
    let worker = process(&harness, "worker", Role::Worker).name.to_string();
    harness.send_command(&worker, WorkerCommand::KillHorse);
    harness.run_until(at(5.0));
    assert_eq!(
        command_actions(&harness),
        [("kill-horse".into(), "no_horse".into())]
    );
    assert!(harness.events_of("worker_died").is_empty());
}

/// §3.2: `shutdown` of an idle worker is a warm stop: it leaves its pop, tears down
/// (unsubscribing: a second command finds no one) and exits 0. Without it, it keeps waiting.
#[test]
fn shutdown_of_an_idle_worker_exits_0() {
    let run = |shutdown: bool| {
        let harness = world(None);
        let host = harness.add_host();
        let pid = harness.start_worker("worker", host, &["default"], false);
        let exit = harness.sim.exit_cell(pid).expect("just started");
        harness.run_until(at(5.0));
        let worker = process(&harness, "worker", Role::Worker).name.to_string();
        if shutdown {
            harness.send_command(&worker, WorkerCommand::Shutdown);
            harness.run_until(at(6.0));
            harness.send_command(&worker, WorkerCommand::Shutdown);
        }
        harness.run_until(at(7.0));
        (exit.status(), receivers(&harness), died_reasons(&harness))
    };
    let (status, receivers, died) = run(true);
    assert_eq!(status, Some(ExitStatus::Exited(0)));
    assert_eq!(receivers, [1, 0], "unsubscribed at teardown");
    assert_eq!(died, ["stopped"]);

    let (status, _, died) = run(false);
    assert_eq!(status, None, "still waiting for a job");
    assert!(died.is_empty());
}

/// §3.2: `shutdown` of a busy worker lets the job finish, then the worker exits 0.
#[test]
fn shutdown_of_a_busy_worker_finishes_the_job_first() {
    let harness = world(None);
    let worker = busy_worker(&harness);
    let pid = process(&harness, "worker", Role::Worker).pid;
    let exit = harness.sim.exit_cell(pid).expect("alive");
    harness.send_command(&worker, WorkerCommand::Shutdown);
    harness.run_until(at(10.0));
    assert_eq!(exit.status(), None, "the job still runs");
    harness.run_until(at(30.0));
    assert_eq!(exit.status(), Some(ExitStatus::Exited(0)));
    assert_eq!(harness.events_of("job_finished").len(), 1);
}

/// §3.1: fire and forget. Redis restarts at 5 s (down 1 s); the worker's pubsub thread
/// reconnects 2 s after its connection broke, so a `kill-horse` published at 6.5 s finds no
/// subscriber (PUBLISH answers 0) and the horse lives; published at 8 s, after the
/// re-subscription, it kills the horse.
#[test]
fn a_command_published_while_the_worker_is_not_subscribed_is_lost() {
    let run = |publish_at: f64| {
        let harness = world(Some(1));
        let worker = busy_worker(&harness);
        harness.run_until(at(5.0));
        harness
            .network
            .restart_server(SimDuration::from_secs(1), Restore::Everything);
        harness.run_until(at(publish_at));
        harness.send_command(&worker, WorkerCommand::KillHorse);
        harness.run_until(at(publish_at + 1.0));
        (receivers(&harness), command_actions(&harness))
    };
    let (receivers, actions) = run(6.5);
    assert_eq!(receivers, [0]);
    assert!(actions.is_empty(), "the worker never acts: {actions:?}");

    let (receivers, actions) = run(8.0);
    assert_eq!(receivers, [1]);
    assert_eq!(actions, [("kill-horse".into(), "killed_horse".into())]);
}

/// §3.1: the thread is part of the worker's process: while the worker is paused (SIGSTOP) a
/// message waits in its socket, and is handled when it resumes.
#[test]
fn a_paused_worker_handles_its_command_when_it_resumes() {
    let harness = world(None);
    let host = harness.add_host();
    harness.start_worker("worker", host, &["default"], false);
    harness.run_until(at(1.0));
    let worker = process(&harness, "worker", Role::Worker);
    harness.signal(&worker, simrq::sim::Signal::Stop);
    harness.send_command(&worker.name, WorkerCommand::KillHorse);
    harness.run_until(at(5.0));
    assert!(command_actions(&harness).is_empty(), "paused");
    harness.signal(&worker, simrq::sim::Signal::Cont);
    harness.run_until(at(6.0));
    let handled = harness.events_of("command_received");
    assert_eq!(handled.len(), 1);
    assert!((5.0..5.1).contains(&secs(handled[0].time)));
}
