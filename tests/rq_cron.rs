//! `rq cron` on the RQ model, step by step (docs/cron.md; RQ 2.12 rq/cron.py
//! `CronScheduler.start`, `CronJob.should_run`, `register_birth`, `heartbeat`,
//! `register_death`). Each test that shows a failure mode has a control that does not.

mod common;

use std::rc::Rc;

use common::*;
use simrq::check::cron::{CronCheck, CronLimits};
use simrq::event::{EventKind, EventSink, Name};
use simrq::harness::{Harness, HarnessConfig};
use simrq::net::Restore;
use simrq::rq::cron::{CronJobSpec, CronSchedule};
use simrq::rq::{JobClass, Role};
use simrq::sim::{ExitStatus, Signal, SimDuration};

fn tick_class() -> JobClass {
    JobClass::simple("tick", "default", SimDuration::from_millis(100))
}

fn every(seconds: i64) -> Rc<CronJobSpec> {
    Rc::new(CronJobSpec {
        name: Name::from("tick"),
        class: tick_class(),
        schedule: CronSchedule::Interval(seconds),
    })
}

fn at_cron(text: &str) -> Rc<CronJobSpec> {
    Rc::new(CronJobSpec {
        name: Name::from("tick"),
        class: tick_class(),
        schedule: CronSchedule::expression(text).unwrap(),
    })
}

fn world() -> Harness {
    Harness::new(HarnessConfig::default(), vec![tick_class()])
}

fn enqueue_times(harness: &Harness) -> Vec<f64> {
    harness
        .events_of("cron_job_enqueued")
        .iter()
        .map(|event| secs(event.time))
        .collect()
}

fn due_of(harness: &Harness) -> Vec<Option<i64>> {
    harness
        .events_of("cron_job_enqueued")
        .iter()
        .map(|event| match event.kind {
            EventKind::CronJobEnqueued { due_unix_ms, .. } => due_unix_ms,
            _ => unreachable!(),
        })
        .collect()
}

fn zcard(harness: &Harness, key: &str) -> usize {
    harness.redis(|server, now| server.peek_zcard(now, key))
}

/// Seconds until `key` expires.
fn ttl_s(harness: &Harness, key: &str) -> i64 {
    harness.redis(|server, now| {
        let expire_at = server.peek_expire_at(now, key).expect("a TTL");
        expire_at.since(now).as_micros().div_ceil(1_000_000) as i64
    })
}

/// The cron check over the harness's events, judged at the current time.
fn judge(harness: &Harness, schedule: CronSchedule) -> simrq::check::cron::CronJobStats {
    let mut check = CronCheck::new(vec![(Name::from("tick"), schedule)], CronLimits::default());
    check.set_origin(harness.sim.wall_clock_origin_micros());
    for event in harness.events() {
        check.on_event(&event);
    }
    let (stats, _) = check.finish(harness.now());
    stats["tick"].clone()
}

/// The observation of real RQ 2.12: two `rq cron` processes with one job every 5 s
/// enqueued 14 jobs in 31 s; one process enqueued 7. `rq cron` takes no lock (rq/cron.py has
/// none), and an interval job runs as soon as a process starts (`CronJob.should_run`).
#[test]
fn two_cron_processes_enqueue_every_instant_twice() {
    for (processes, expected) in [(1, 7), (2, 14)] {
        let harness = world();
        for index in 0..processes {
            let host = harness.add_host();
            harness.start_cron(&format!("cron-{index}"), host, &[every(5)]);
        }
        harness.run_until(at(31.0));
        assert_eq!(
            enqueue_times(&harness).len(),
            expected,
            "{processes} process(es)"
        );
        let stats = judge(&harness, CronSchedule::Interval(5));
        assert_eq!(stats.duplicates, expected as u64 - 7);
        assert_eq!(stats.misses, 0);
    }
}

/// `CronJob.set_enqueue_time`: the next run is the pass's start + interval; the first run has
/// no due instant (`due_unix_ms = -`), the later ones are due exactly then.
#[test]
fn interval_runs_are_due_one_interval_after_the_previous_pass() {
    let harness = world();
    let host = harness.add_host();
    harness.start_cron("cron-0", host, &[every(10)]);
    harness.run_until(at(25.0));
    let times = enqueue_times(&harness);
    assert_eq!(times.len(), 3);
    assert!((times[1] - times[0] - 10.0).abs() < 0.01, "{times:?}");
    let due = due_of(&harness);
    assert_eq!(due[0], None);
    let origin_ms = harness.sim.wall_clock_origin_micros() / 1000;
    let first_ms = (times[0] * 1000.0).round() as i64;
    assert!(
        (due[1].unwrap() - origin_ms - first_ms - 10_000).abs() <= 1,
        "{due:?}"
    );
}

/// `register_birth` and `heartbeat`: the registry ZSET, the scheduler hash with the 120 s TTL,
/// the job history and the cron job registry, all in Redis.
#[test]
fn a_cron_process_registers_itself_and_records_its_jobs() {
    let harness = world();
    let host = harness.add_host();
    let pid = harness.start_cron("cron-0", host, &[every(5)]);
    harness.run_until(at(12.0));
    let name = harness.processes("cron-0", Role::Cron)[0].name.clone();
    assert!(harness.sim.is_alive(pid));
    assert_eq!(zcard(&harness, "rq:cron_schedulers"), 1);
    assert_eq!(zcard(&harness, "rq:cron_job:tick:jobs"), 3);
    assert_eq!(zcard(&harness, "rq:cron_jobs"), 1);
    let ttl = ttl_s(&harness, &format!("rq:cron_scheduler:{name}"));
    assert!((100..=120).contains(&ttl), "{ttl}");
    assert_eq!(list(&harness, "rq:queue:default").len(), 3);
}

/// `_request_stop` raises `StopRequested` out of `time.sleep`; `finally: register_death`
/// removes the registry entry (ZREM) and the CLI exits 0. A SIGKILL leaves the entry behind.
#[test]
fn sigterm_unregisters_and_exits_0_while_sigkill_leaves_the_entry() {
    let harness = world();
    let (a, b) = (harness.add_host(), harness.add_host());
    let term_pid = harness.start_cron("cron-term", a, &[every(30)]);
    harness.start_cron("cron-kill", b, &[every(30)]);
    let exit = harness.sim.exit_cell(term_pid).unwrap();
    harness.run_until(at(5.0));
    let stopping = harness.processes("cron-term", Role::Cron)[0].clone();
    harness.signal(&stopping, Signal::Term);
    harness.kill(&harness.processes("cron-kill", Role::Cron)[0].clone());
    harness.run_until(at(6.0));
    assert_eq!(exit.status(), Some(ExitStatus::Exited(0)));
    assert_eq!(
        zcard(&harness, "rq:cron_schedulers"),
        1,
        "the killed one's entry"
    );
    let stopped = harness.events_of("cron_scheduler_stopped");
    assert_eq!(stopped.len(), 1);
    assert!(matches!(&stopped[0].kind,
        EventKind::CronSchedulerStopped { reason, .. } if reason == "stopped"));
    harness.run_until(at(100.0));
    assert_eq!(
        enqueue_times(&harness).len(),
        2,
        "no enqueue after either stop"
    );
}

/// No exception handler in `CronScheduler.start`: a Redis error ends the process (exit 1),
/// and its `register_death` fails as well.
#[test]
fn a_redis_outage_ends_rq_cron_with_exit_1() {
    let harness = world();
    let host = harness.add_host();
    let pid = harness.start_cron("cron-0", host, &[every(5)]);
    let exit = harness.sim.exit_cell(pid).unwrap();
    harness.run_until(at(3.0));
    harness
        .network
        .restart_server(SimDuration::from_secs(30), Restore::Nothing);
    harness.run_until(at(10.0));
    assert_eq!(exit.status(), Some(ExitStatus::Exited(1)));
    let stopped = harness.events_of("cron_scheduler_stopped");
    assert!(matches!(&stopped[0].kind,
        EventKind::CronSchedulerStopped { reason, .. } if reason != "stopped"));
}

/// A cron expression's first instant comes after the start (`CronJob.__init__`), and the
/// instants that pass while no `rq cron` runs are never enqueued: the restarted process
/// computes its next instant from its own start. The control never stops.
#[test]
fn instants_pass_unenqueued_while_the_only_cron_process_is_down() {
    let expression = || CronSchedule::expression("* * * * *").unwrap();
    let control = world();
    let host = control.add_host();
    control.start_cron("cron-0", host, &[at_cron("* * * * *")]);
    control.run_until(at(400.0));
    let stats = judge(&control, expression());
    assert_eq!((stats.scheduled, stats.enqueues, stats.misses), (6, 6, 0));

    let harness = world();
    let host = harness.add_host();
    harness.start_cron("cron-0", host, &[at_cron("* * * * *")]);
    harness.run_until(at(70.0));
    harness.kill(&harness.processes("cron-0", Role::Cron)[0].clone());
    harness.run_until(at(200.0));
    harness.start_cron("cron-0", host, &[at_cron("* * * * *")]);
    harness.run_until(at(400.0));
    let times = enqueue_times(&harness);
    assert_eq!(times.len(), 4, "60, then 240, 300, 360: {times:?}");
    let stats = judge(&harness, expression());
    assert_eq!((stats.scheduled, stats.misses, stats.duplicates), (6, 2, 0));
}

/// The restart of an interval job's only process enqueues at once: a run early by the time
/// the process was down, which the window count does not call a duplicate when the previous
/// window was empty.
#[test]
fn a_restarted_interval_job_runs_at_once() {
    let harness = world();
    let host = harness.add_host();
    harness.start_cron("cron-0", host, &[every(60)]);
    harness.run_until(at(30.0));
    harness.kill(&harness.processes("cron-0", Role::Cron)[0].clone());
    harness.run_until(at(130.0));
    harness.start_cron("cron-0", host, &[every(60)]);
    harness.run_until(at(131.0));
    let times = enqueue_times(&harness);
    assert_eq!(times.len(), 2);
    assert!(times[1] >= 130.0, "{times:?}");
    assert_eq!(due_of(&harness)[1], None, "a first run again");
    let stats = judge(&harness, CronSchedule::Interval(60));
    assert_eq!(stats.misses, 1, "the window [60 s, 120 s) had no enqueue");
}

/// Overlap: a job of a cron job starts while the previous one still runs (RQ allows it).
#[test]
fn a_slow_cron_job_overlaps_its_next_run() {
    let mut slow = tick_class();
    slow.duration = simrq::rq::DurationDist::Constant(SimDuration::from_secs(12));
    slow.job_timeout_s = Some(60);
    let spec = Rc::new(CronJobSpec {
        name: Name::from("tick"),
        class: slow.clone(),
        schedule: CronSchedule::Interval(5),
    });
    let harness = Harness::new(HarnessConfig::default(), vec![slow]);
    let (a, b, c) = (harness.add_host(), harness.add_host(), harness.add_host());
    harness.start_worker("worker-0", a, &["default"], false);
    harness.start_worker("worker-1", b, &["default"], false);
    harness.start_cron("cron-0", c, &[spec]);
    harness.run_until(at(30.0));
    let stats = judge(&harness, CronSchedule::Interval(5));
    assert!(stats.overlaps >= 2, "{stats:?}");
}
