//! The scheduler lock under crashes and pauses (rq-semantics §4, §9 R1b, §11) on the RQ
//! model: who holds `rq:scheduler-lock:default`, and when a standby takes over.
//!
//! What to look at: `lock_refreshed` / `lock_acquired` / `lock_lost` events per pod, and the
//! lock key in Redis at chosen instants.

mod common;

use common::*;
use simrq::event::Event;
use simrq::harness::{Harness, HarnessConfig};
use simrq::rq::{JobClass, Role, SchedulerVersion};
use simrq::sim::{Signal, SimDuration};

fn quick_class() -> JobClass {
    JobClass::simple("quick", "default", SimDuration::from_millis(100))
}

fn lock_events(harness: &Harness, kind: &str, pod: &str) -> Vec<Event> {
    pod_events(harness, kind, pod)
}

/// Time (s) of the last `lock_refreshed` or `lock_acquired` of `pod` up to now.
fn last_lock_refresh_s(harness: &Harness, pod: &str) -> f64 {
    let mut times: Vec<f64> = ["lock_refreshed", "lock_acquired"]
        .iter()
        .flat_map(|kind| lock_events(harness, kind, pod))
        .map(|e| secs(e.time))
        .collect();
    times.sort_by(f64::total_cmp);
    *times.last().expect("the pod held the lock")
}

/// Checks the lock is present just before `refresh_s + 61` and gone just after.
fn assert_lock_expires_61_s_after(harness: &Harness, refresh_s: f64) {
    harness.run_until(at(refresh_s + 60.9));
    assert!(lock_value(harness).is_some(), "lock gone before its TTL");
    harness.run_until(at(refresh_s + 61.1));
    assert_eq!(lock_value(harness), None, "lock outlived its 61 s TTL");
}

/// §4.8, §11: the holder's pod is SIGKILLed at 756 s. The lock expires 61 s after its last
/// refresh (~816 s), just after the idle standby's maintenance run at ~815 s, so the standby
/// takes over only at its next run, ~1625 s: 869 s after the crash, close to the worst case
/// of ~871 s. A job that fell due in the gap (840 s) is enqueued in the takeover's first tick.
#[test]
fn idle_standby_takes_over_a_killed_holder_at_its_first_maintenance_after_expiry() {
    let harness = Harness::new(HarnessConfig::default(), vec![quick_class()]);
    let (host_a, host_b) = (harness.add_host(), harness.add_host());
    harness.start_worker("worker-a", host_a, &["default"], true);
    harness.run_until(at(5.0));
    harness.start_worker("worker-b", host_b, &["default"], true);
    let kill_s = 756.0;
    harness.run_until(at(kill_s));
    assert!(lock_events(&harness, "lock_acquired", "worker-b").is_empty());
    harness.kill_pod("worker-a");
    harness.enqueue_in("quick", 84);
    let refresh_s = last_lock_refresh_s(&harness, "worker-a");
    assert!(kill_s - refresh_s <= 1.01, "last refresh at {refresh_s} s");
    assert_lock_expires_61_s_after(&harness, refresh_s);
    harness.run_until(at(2_000.0));

    let acquired = lock_events(&harness, "lock_acquired", "worker-b");
    assert_eq!(acquired.len(), 1);
    let takeover_s = secs(acquired[0].time);
    let runs = maintenance_times(&harness, "worker-b");
    let run_after_expiry = runs
        .iter()
        .copied()
        .find(|t| *t > refresh_s + 61.0)
        .expect("a maintenance run after the expiry");
    assert!(
        (run_after_expiry - 0.1..=run_after_expiry).contains(&takeover_s),
        "takeover at {takeover_s} s, maintenance runs {runs:?}"
    );
    assert!(
        (1_625.0..1_625.1).contains(&takeover_s),
        "takeover at {takeover_s} s"
    );
    let after_kill_s = takeover_s - kill_s;
    assert!(
        after_kill_s <= 871.0,
        "takeover {after_kill_s} s after the kill"
    );
    let enqueues = scheduler_enqueues(&harness, "j1");
    assert_eq!(enqueues.len(), 1);
    assert_eq!(enqueues[0].1, "worker-b");
    assert!(enqueues[0].0 - takeover_s < 0.1, "{enqueues:?}");
    assert_eq!(
        hash_field(&harness, "rq:job:j1", "status").as_deref(),
        Some("finished")
    );
}

/// §11: a single replica is killed at 100 s and its replacement starts at 110 s, while the
/// dead scheduler's lock still lives. The replacement fails to acquire at start-up and takes
/// over only at its maintenance run 810 s after its start: 820 s (13.7 min) after the crash.
#[test]
fn replacement_of_a_single_replica_takes_over_after_about_fourteen_minutes() {
    let harness = Harness::new(HarnessConfig::default(), vec![quick_class()]);
    let (host_a, host_b) = (harness.add_host(), harness.add_host());
    harness.start_worker("worker-a", host_a, &["default"], true);
    harness.run_until(at(100.0));
    harness.kill_pod("worker-a");
    let refresh_s = last_lock_refresh_s(&harness, "worker-a");
    harness.run_until(at(110.0));
    harness.start_worker("worker-b", host_b, &["default"], true);
    assert_lock_expires_61_s_after(&harness, refresh_s);
    harness.run_until(at(1_200.0));

    let acquired = lock_events(&harness, "lock_acquired", "worker-b");
    assert_eq!(acquired.len(), 1);
    let takeover_s = secs(acquired[0].time);
    let runs = maintenance_times(&harness, "worker-b");
    assert!((110.0..110.1).contains(&runs[0]), "{runs:?}");
    assert!((runs[1] - 0.1..=runs[1]).contains(&takeover_s), "{runs:?}");
    let after_kill_s = takeover_s - 100.0;
    assert!(
        (810.0..=870.0).contains(&after_kill_s),
        "takeover {after_kill_s} s after the kill"
    );
    assert!((820.0..820.1).contains(&after_kill_s), "{after_kill_s}");
    assert_eq!(
        pod_events(&harness, "scheduler_started", "worker-b").len(),
        1
    );
}

/// Pauses worker-a's scheduler at 10.5 s for 69.5 s; worker-b starts at 75 s, after the lock
/// expired, and acquires at start-up. Returns the scheduler names (a, b).
fn pause_holder_past_ttl(harness: &Harness) -> (String, String) {
    let (host_a, host_b) = (harness.add_host(), harness.add_host());
    harness.start_worker("worker-a", host_a, &["default"], true);
    harness.run_until(at(1.0));
    harness.enqueue_in("quick", 40);
    harness.run_until(at(10.5));
    let scheduler_a = process(harness, "worker-a", Role::Scheduler);
    harness.signal(&scheduler_a, Signal::Stop);
    harness.run_until(at(75.0));
    assert_eq!(lock_value(harness), None);
    harness.start_worker("worker-b", host_b, &["default"], true);
    harness.run_until(at(80.0));
    let scheduler_b = process(harness, "worker-b", Role::Scheduler);
    harness.signal(&scheduler_a, Signal::Cont);
    harness.run_until(at(100.0));
    harness.enqueue_in("quick", 20);
    harness.run_until(at(150.0));
    let name = |p: &simrq::rq::ProcessInfo| p.tag.as_deref().unwrap_or("").to_string();
    (name(&scheduler_a), name(&scheduler_b))
}

fn believed_ticks(harness: &Harness, pod: &str, from_s: f64, to_s: f64) -> Vec<Event> {
    pod_events(harness, "lock_refreshed", pod)
        .into_iter()
        .filter(|e| (from_s..to_s).contains(&secs(e.time)))
        .filter(|e| e.kind.lock_view().is_some_and(|l| l.believes_held))
        .collect()
}

/// §4.9, §9 R1b: with the 2.10 scheduler, a holder paused past the TTL keeps believing it
/// holds the lock after worker-b's scheduler acquired it: both enqueue (the job due during
/// the pause by worker-b at its start, the later one by worker-a, whose ticks come first in
/// each second), and worker-a's blind EXPIRE heartbeats keep worker-b's lock alive 200 s
/// after worker-b's scheduler was SIGKILLed.
#[test]
fn v2_10_keeps_two_schedulers_after_a_pause_past_the_ttl() {
    let mut config = HarnessConfig::default();
    config.params.scheduler_version = SchedulerVersion::V2_10;
    let harness = Harness::new(config, vec![quick_class()]);
    let (name_a, name_b) = pause_holder_past_ttl(&harness);

    assert_eq!(lock_value(&harness).as_deref(), Some(name_b.as_str()));
    let ticks_a = believed_ticks(&harness, "worker-a", 81.0, 150.0);
    let ticks_b = believed_ticks(&harness, "worker-b", 81.0, 150.0);
    assert!(
        ticks_a.len() >= 68 && ticks_b.len() >= 68,
        "{} {}",
        ticks_a.len(),
        ticks_b.len()
    );
    for tick in &ticks_a {
        let view = tick.kind.lock_view().unwrap();
        assert_eq!(view.redis_holder.as_deref(), Some(name_b.as_str()));
    }
    assert!(lock_events(&harness, "lock_lost", "worker-a").is_empty());
    let j1 = scheduler_enqueues(&harness, "j1");
    let j2 = scheduler_enqueues(&harness, "j2");
    assert_eq!(j1.len(), 1);
    assert_eq!(j1[0].1, "worker-b");
    assert!((75.0..75.1).contains(&j1[0].0), "{j1:?}");
    assert_eq!(j2.len(), 1);
    assert_eq!(j2[0].1, "worker-a");

    harness.kill(&process(&harness, "worker-b", Role::Scheduler));
    harness.run_until(at(350.0));
    assert_eq!(lock_value(&harness).as_deref(), Some(name_b.as_str()));
    let ttl_left_s = harness.redis(|s, now| {
        let expire = s.peek_expire_at(now, "rq:scheduler-lock:default").unwrap();
        expire.since(now).as_secs_f64()
    });
    assert!(
        ttl_left_s > 59.0,
        "the lock is refreshed by worker-a: {ttl_left_s} s left"
    );
    assert_ne!(name_a, name_b);
}

/// The same pause with the 2.12 scheduler (§4.4, §4.6): worker-a's first heartbeat after the
/// pause finds the lock taken and drops the queue; only worker-b enqueues. Once worker-b's
/// scheduler is killed, the lock expires after 61 s and worker-a's lockless scheduler takes
/// it at its next 120 s fallback attempt.
#[test]
fn v2_12_drops_the_lock_after_a_pause_past_the_ttl() {
    let harness = Harness::new(HarnessConfig::default(), vec![quick_class()]);
    let (name_a, name_b) = pause_holder_past_ttl(&harness);

    let lost = lock_events(&harness, "lock_lost", "worker-a");
    assert_eq!(lost.len(), 1);
    assert!(
        (80.0..80.01).contains(&secs(lost[0].time)),
        "{}",
        secs(lost[0].time)
    );
    assert!(believed_ticks(&harness, "worker-a", 80.01, 150.0).is_empty());
    let j2 = scheduler_enqueues(&harness, "j2");
    assert_eq!(j2.len(), 1);
    assert_eq!(j2[0].1, "worker-b");

    harness.kill(&process(&harness, "worker-b", Role::Scheduler));
    let refresh_s = last_lock_refresh_s(&harness, "worker-b");
    assert_lock_expires_61_s_after(&harness, refresh_s);
    harness.run_until(at(400.0));
    assert_eq!(lock_value(&harness).as_deref(), Some(name_a.as_str()));
    let reacquired = lock_events(&harness, "lock_acquired", "worker-a");
    let last = secs(reacquired.last().unwrap().time);
    assert!(
        last > refresh_s + 61.0 && last < refresh_s + 61.0 + 122.0,
        "{last}"
    );
    assert_ne!(name_a, name_b);
}
