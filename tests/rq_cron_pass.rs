//! One pass of `rq cron` over several due jobs (rq/cron.py, RQ 2.12.0
//! `CronScheduler.enqueue_jobs`):
//!
//! ```python
//! enqueue_time = now()
//! for job in self._cron_jobs:
//!     if job.should_run():              # now() >= job.next_enqueue_time, read again per job
//!         job.enqueue(self.connection)
//!         job.set_enqueue_time(enqueue_time)   # the pass's start, read once
//! ```
//!
//! A cron instant that arrives while an earlier job of the pass is being enqueued is enqueued
//! in this pass and stamped with the pass's start, which lies before the instant; croniter's
//! next instant after that start is the same instant, so the next pass, at once, enqueues it a
//! second time. Reproduced against real RQ 2.12 with a scripted clock (tests/conformance/
//! FINDINGS.md, "rq cron"); simrq read the clock once per pass and enqueued the instant once.

use simrq::Scenario;

/// One `rq cron` with `tick` (every 60 s, first in the config) and `minutely`, starting
/// `startup` after the run's start: its first pass (tick's first run) begins 0.6 ms later,
/// after the birth's transaction, and tick's enqueue takes ~0.6 ms more.
fn scenario(startup: &str) -> Scenario {
    Scenario::from_toml(&format!(
        r#"
[run]
duration = "70s"
drain = "0s"
[rq]
worker_startup = "{startup}"
[[pods]]
name = "app"
start_delay = "0s"
cron = true
[[cron]]
name = "tick"
interval = "60s"
[[cron]]
name = "minutely"
cron = "* * * * *"
"#
    ))
    .unwrap()
}

fn minutely(startup: &str) -> (u64, u64) {
    let result = scenario(startup).run_seed(1).unwrap();
    let cron = result.summary.cron.expect("a cron section");
    let stats = &cron["minutely"];
    (stats.enqueues, stats.duplicates)
}

#[test]
fn an_instant_that_falls_due_during_the_pass_is_enqueued_twice() {
    // The pass begins at 59.9997 s; tick's enqueue ends after 60 s, when minutely is due.
    assert_eq!(minutely("59999.1ms"), (2, 1));
}

#[test]
fn an_instant_after_the_pass_is_enqueued_once() {
    // The pass is over before 60 s: minutely waits for its instant and runs once.
    assert_eq!(minutely("59990ms"), (1, 0));
}
