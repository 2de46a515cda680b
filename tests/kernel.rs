//! The executor's contract: tie order, sleep, kill, stop/continue, signals, clocks.

use std::cell::RefCell;
use std::rc::Rc;

use simrq::sim::kernel::{ExitStatus, Interrupted, EPOCH_UNIX_MICROS};
use simrq::sim::{KillScope, Signal, Sim, SimDuration, SimTime};

fn log() -> Rc<RefCell<Vec<String>>> {
    Rc::new(RefCell::new(Vec::new()))
}

#[test]
fn events_at_equal_times_run_in_the_order_they_were_scheduled() {
    let sim = Sim::new();
    let order = log();
    for label in ["a", "b", "c", "d"] {
        let order = order.clone();
        sim.schedule_at(SimTime::from_secs(5), move |_| {
            order.borrow_mut().push(label.into())
        });
    }
    let early = order.clone();
    sim.schedule_at(SimTime::from_secs(1), move |_| {
        early.borrow_mut().push("early".into())
    });
    sim.run_until(SimTime::from_secs(10));
    assert_eq!(*order.borrow(), ["early", "a", "b", "c", "d"]);
    assert_eq!(sim.now(), SimTime::from_secs(10));
}

#[test]
fn processes_sleeping_to_the_same_instant_wake_in_fifo_order() {
    let sim = Sim::new();
    let host = sim.add_host();
    let order = log();
    for label in ["first", "second", "third"] {
        let (s, order) = (sim.clone(), order.clone());
        sim.spawn(host, label, None, async move {
            s.sleep(SimDuration::from_secs(3)).await;
            order.borrow_mut().push(format!("{label}@{}", s.now()));
            0
        });
    }
    sim.run_until(SimTime::from_secs(4));
    assert_eq!(
        *order.borrow(),
        ["first@3.000000", "second@3.000000", "third@3.000000"]
    );
}

#[test]
fn time_jumps_straight_to_the_next_timer() {
    let sim = Sim::new();
    let host = sim.add_host();
    let s = sim.clone();
    sim.spawn(host, "sleeper", None, async move {
        s.sleep(SimDuration::from_secs(3_600)).await;
        0
    });
    sim.run_until(SimTime::from_secs(7_200));
    // One wake event and two polls: no ticking through the hour.
    assert_eq!(sim.stats().events_run, 1);
    assert_eq!(sim.stats().polls, 2);
}

#[test]
fn sigkill_drops_the_process_at_its_last_await() {
    let sim = Sim::new();
    let host = sim.add_host();
    let reached = log();
    let (s, r) = (sim.clone(), reached.clone());
    let pid = sim.spawn(host, "victim", None, async move {
        r.borrow_mut().push("before".into());
        s.sleep(SimDuration::from_secs(10)).await;
        r.borrow_mut().push("after".into());
        0
    });
    let exit = sim.exit_cell(pid).unwrap();
    sim.run_until(SimTime::from_secs(5));
    sim.kill(pid, KillScope::Process);
    sim.run_until(SimTime::from_secs(20));
    assert_eq!(*reached.borrow(), ["before"]);
    assert!(!sim.is_alive(pid));
    assert_eq!(exit.status(), Some(ExitStatus::Killed));
}

#[test]
fn tree_kill_takes_children_but_process_kill_orphans_them() {
    let sim = Sim::new();
    let host = sim.add_host();
    let forever = |s: Sim| async move {
        s.sleep(SimDuration::from_secs(1_000_000)).await;
        0
    };
    let parent = sim.spawn(host, "worker", None, forever(sim.clone()));
    let child = sim.spawn(host, "horse", Some(parent), forever(sim.clone()));
    let grandchild = sim.spawn(host, "grandchild", Some(child), forever(sim.clone()));
    sim.run_for(SimDuration::from_secs(1));
    sim.kill(child, KillScope::Tree);
    assert!(sim.is_alive(parent));
    assert!(!sim.is_alive(child) && !sim.is_alive(grandchild));

    let orphan = sim.spawn(host, "scheduler", Some(parent), forever(sim.clone()));
    sim.run_for(SimDuration::from_secs(1));
    sim.kill(parent, KillScope::Process);
    assert!(!sim.is_alive(parent));
    assert!(
        sim.is_alive(orphan),
        "an orphan keeps running, as RQ's scheduler process does"
    );
}

#[test]
fn a_parent_waits_for_its_child_like_wait4() {
    let sim = Sim::new();
    let host = sim.add_host();
    let seen = log();
    let (s, seen2) = (sim.clone(), seen.clone());
    sim.spawn(host, "worker", None, async move {
        let me = s.current_pid();
        let s2 = s.clone();
        let horse = s.spawn(s.current_host(), "horse", Some(me), async move {
            s2.sleep(SimDuration::from_secs(2)).await;
            3
        });
        let status = s.wait_exit(s.exit_cell(horse).unwrap()).await;
        seen2.borrow_mut().push(format!("{status:?}@{}", s.now()));
        0
    });
    sim.run_until(SimTime::from_secs(10));
    assert_eq!(*seen.borrow(), ["Exited(3)@2.000000"]);
}

#[test]
fn a_stopped_process_is_not_polled_and_gets_its_timer_on_continue() {
    let sim = Sim::new();
    let host = sim.add_host();
    let woke_at = log();
    let (s, w) = (sim.clone(), woke_at.clone());
    let pid = sim.spawn(host, "scheduler", None, async move {
        s.sleep(SimDuration::from_secs(1)).await;
        w.borrow_mut().push(s.now().to_string());
        0
    });
    sim.run_until(SimTime(500_000));
    sim.signal(pid, Signal::Stop);
    sim.run_until(SimTime::from_secs(75));
    assert!(woke_at.borrow().is_empty(), "no progress while stopped");
    sim.signal(pid, Signal::Cont);
    sim.run_until(SimTime::from_secs(76));
    assert_eq!(*woke_at.borrow(), ["75.000000"]);
}

#[test]
fn sigterm_is_a_flag_and_interrupts_an_interruptible_wait() {
    let sim = Sim::new();
    let host = sim.add_host();
    let seen = log();
    let (s, seen2) = (sim.clone(), seen.clone());
    let pid = sim.spawn(host, "worker", None, async move {
        let blocked = s.interruptible(s.sleep(SimDuration::from_secs(405))).await;
        seen2.borrow_mut().push(format!(
            "{blocked:?}@{} term={}",
            s.now(),
            s.current_signals().term
        ));
        // A plain sleep is not interrupted (Python restarts time.sleep after a handler).
        s.sleep(SimDuration::from_secs(1)).await;
        seen2.borrow_mut().push(format!("slept@{}", s.now()));
        0
    });
    sim.run_until(SimTime::from_secs(10));
    sim.signal(pid, Signal::Term);
    sim.run_until(SimTime::from_secs(10) + SimDuration::from_millis(500));
    sim.signal(pid, Signal::Term);
    sim.run_until(SimTime::from_secs(20));
    assert_eq!(
        *seen.borrow(),
        [
            format!("{:?}@10.000000 term=1", Err::<(), _>(Interrupted)),
            "slept@11.000000".into()
        ]
    );
}

#[test]
fn each_host_sees_its_own_wall_clock() {
    let sim = Sim::new();
    let server = sim.add_host();
    let skewed = sim.add_host();
    sim.set_clock_offset(skewed, -30_000_000);
    sim.run_until(SimTime::from_secs(100));
    assert_eq!(
        sim.wall_clock_micros(server),
        EPOCH_UNIX_MICROS + 100_000_000
    );
    assert_eq!(
        sim.wall_clock_micros(skewed),
        EPOCH_UNIX_MICROS + 70_000_000
    );
    assert_eq!(
        sim.now(),
        SimTime::from_secs(100),
        "virtual time itself is not skewed"
    );
}

#[test]
fn timeout_gives_up_at_the_limit() {
    let sim = Sim::new();
    let host = sim.add_host();
    let seen = log();
    let (s, seen2) = (sim.clone(), seen.clone());
    sim.spawn(host, "horse", None, async move {
        let slow = s
            .timeout(
                SimDuration::from_secs(180),
                s.sleep(SimDuration::from_secs(500)),
            )
            .await;
        let fast = s
            .timeout(
                SimDuration::from_secs(180),
                s.sleep(SimDuration::from_secs(5)),
            )
            .await;
        seen2
            .borrow_mut()
            .push(format!("{} {} @{}", slow.is_err(), fast.is_ok(), s.now()));
        0
    });
    sim.run_until(SimTime::from_secs(1_000));
    assert_eq!(*seen.borrow(), ["true true @185.000000"]);
}

/// A timeout whose operation finished first cancels its timer: the process is not woken
/// again at the limit (an event that would only cost a spurious poll).
#[test]
fn a_timeout_that_was_not_needed_leaves_no_timer_behind() {
    let sim = Sim::new();
    let host = sim.add_host();
    let s = sim.clone();
    sim.spawn(host, "client", None, async move {
        let reply = s
            .timeout(
                SimDuration::from_secs(180),
                s.sleep(SimDuration::from_secs(5)),
            )
            .await;
        assert!(reply.is_ok());
        s.sleep(SimDuration::from_secs(1_000)).await;
        0
    });
    sim.run_until(SimTime::from_secs(10));
    let stats = sim.stats();
    assert_eq!(stats.pending_events, 1, "only the 1,000 s sleep is pending");
    sim.run_until(SimTime::from_secs(2_000));
    assert_eq!(
        sim.stats().events_run,
        2,
        "the 5 s sleep and the 1,000 s sleep"
    );
}

/// Processes that sleep varied spans (some ending exactly on a slice boundary) and spawn
/// children; their log of (time, label) is the trace to compare.
fn busy_world(sim: &Sim, trace: &Rc<RefCell<Vec<String>>>) {
    let host = sim.add_host();
    for worker in 0..4u64 {
        let (s, trace) = (sim.clone(), trace.clone());
        sim.spawn(host, &format!("w{worker}"), None, async move {
            for round in 0..50u64 {
                let span = SimDuration::from_millis(250 * (1 + (worker * 7 + round * 3) % 9));
                s.sleep(span).await;
                trace
                    .borrow_mut()
                    .push(format!("{} w{worker} r{round}", s.now()));
                if round % 10 == 0 {
                    let (child_sim, child_trace) = (s.clone(), trace.clone());
                    s.spawn(host, "child", None, async move {
                        child_sim.sleep(SimDuration::from_secs(1)).await;
                        let line = format!("{} child of w{worker}", child_sim.now());
                        child_trace.borrow_mut().push(line);
                        0
                    });
                }
            }
            0
        });
    }
}

/// `simrq run` advances the kernel in slices to report progress; a run in slices must be the
/// run in one go, event for event, whatever the slice length.
#[test]
fn running_in_slices_is_running_in_one_go() {
    let end = SimTime::from_secs(60);
    let whole = {
        let (sim, trace) = (Sim::new(), log());
        busy_world(&sim, &trace);
        sim.run_until(end);
        assert_eq!(sim.now(), end);
        trace.take()
    };
    assert!(whole.len() > 200, "the world is busy: {}", whole.len());
    for slice_ms in [250, 1_000, 7_300] {
        let (sim, trace) = (Sim::new(), log());
        busy_world(&sim, &trace);
        let mut reached = SimTime::ZERO;
        while reached < end {
            reached = (reached + SimDuration::from_millis(slice_ms)).min(end);
            sim.run_until(reached);
        }
        assert_eq!(sim.now(), end);
        assert_eq!(trace.take(), whole, "slices of {slice_ms} ms");
    }
}
