//! Renders the report's four charts from made-up data shaped like a pod-churn run, to look at
//! their design without running a simulation:
//!
//! ```text
//! cargo run --example report_charts -- /tmp/charts
//! ```

use std::path::PathBuf;

use simrq::event::{Event, EventSink};
use simrq::event::{EventKind, LockView, Name};
use simrq::report::chart;
use simrq::report::timeseries::{QueueSample, Sample};
use simrq::report::{LogHistogram, OutcomeCounts, OutputDir, SchedulerGaps, TimeseriesCsv};
use simrq::sim::SimTime;

const HOUR_S: u64 = 3_600;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or("charts".into());
    let dir = OutputDir::create(&path, true)?;
    let end = SimTime::from_secs(6 * HOUR_S);
    chart::lock_timeline_chart(&dir, &lock_history(end))?;
    let (series, faults) = queue_history(&dir, end)?;
    chart::queue_depth_chart(&dir, &series, &faults, end)?;
    chart::retry_lateness_chart(&dir, &lateness())?;
    let outcomes = OutcomeCounts {
        finished: 96_412,
        failed: 1_187,
        queued: 23,
        scheduled: 41,
        started: 4,
        lost: 2,
        deferred: 0,
    };
    chart::outcomes_chart(&dir, &outcomes)?;
    println!("charts written to {}", dir.path().display());
    Ok(())
}

/// Holder changes of two queues: a kill at 90 min, a pause at 3 h, rolling restarts.
fn lock_history(end: SimTime) -> simrq::report::SchedulerGapReport {
    let mut gaps = SchedulerGaps::new();
    let changes: [(u64, &str, Option<&str>); 10] = [
        (0, "default", None),
        (0, "high", None),
        (6, "default", Some("sched-worker-0-a1")),
        (6, "high", Some("sched-worker-0-a1")),
        (5_400, "default", None),
        (5_400, "high", None),
        (6_240, "default", Some("sched-worker-2-c3")),
        (6_240, "high", Some("sched-worker-2-c3")),
        (7_200, "default", None),
        (7_260, "default", Some("sched-worker-1-d4")),
    ];
    for (time_s, queue, holder) in changes {
        gaps.observe_lock(SimTime::from_secs(time_s), queue, holder);
    }
    // The holder of "default" pauses at 3 h for 75 s: its lock expires, another scheduler
    // takes it, and the paused one still believes it holds the lock until it wakes.
    believe(
        &mut gaps,
        7_260,
        "sched-worker-1-d4",
        true,
        "sched-worker-1-d4",
    );
    gaps.observe_lock(SimTime::from_secs(10_861), "default", None);
    believe(
        &mut gaps,
        10_865,
        "sched-worker-3-e5",
        true,
        "sched-worker-3-e5",
    );
    believe(
        &mut gaps,
        10_876,
        "sched-worker-1-d4",
        false,
        "sched-worker-3-e5",
    );
    gaps.observe_lock(SimTime::from_secs(14_400), "default", None);
    gaps.observe_lock(
        SimTime::from_secs(15_180),
        "default",
        Some("sched-worker-5-f6"),
    );
    gaps.finish(end)
}

fn believe(gaps: &mut SchedulerGaps, time_s: u64, scheduler: &str, held: bool, holder: &str) {
    let lock = LockView {
        scheduler: Name::from(scheduler),
        believes_held: held,
        redis_holder: Some(Name::from(holder)),
    };
    gaps.on_event(&Event {
        time: SimTime::from_secs(time_s),
        seq: 0,
        pod: None,
        process: None,
        queue: Some(Name::from("default")),
        job: None,
        attempt: None,
        kind: EventKind::LockRefreshed { lock },
    });
}

type Faults = Vec<(SimTime, String)>;

fn queue_history(
    dir: &OutputDir,
    end: SimTime,
) -> Result<(Vec<simrq::report::QueueSeries>, Faults), Box<dyn std::error::Error>> {
    let mut writer = TimeseriesCsv::create(dir)?;
    let mut state: u64 = 12_345;
    for time_s in (0..end.as_micros() / 1_000_000).step_by(5) {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1);
        let noise = state >> 62;
        let backlog = if (5_400..6_240).contains(&time_s) {
            (time_s - 5_400) / 40
        } else {
            0
        };
        let depth = 3
            + noise
            + if (7_200..7_500).contains(&time_s) {
                25
            } else {
                0
            };
        let queues = vec![
            queue_sample("default", depth, 8 + backlog + noise / 4),
            queue_sample("high", noise / 3, backlog / 3),
        ];
        let time = SimTime::from_secs(time_s);
        writer.write(&Sample {
            time,
            queues,
            live_workers: 4,
            busy_workers: 2,
        })?;
    }
    let faults = vec![
        (
            SimTime::from_secs(5_400),
            "pod_kill worker-0 (scheduler holder)".to_string(),
        ),
        (
            SimTime::from_secs(7_200),
            "rolling_restart worker".to_string(),
        ),
        (
            SimTime::from_secs(10_800),
            "pause worker-1 for 75s".to_string(),
        ),
        (
            SimTime::from_secs(14_400),
            "rolling_restart worker".to_string(),
        ),
    ];
    Ok((writer.finish()?, faults))
}

fn queue_sample(queue: &str, depth: u64, scheduled: u64) -> QueueSample {
    QueueSample {
        queue: Name::from(queue),
        depth,
        scheduled,
        started: 2,
        failed: 0,
        finished: 0,
        lock_holder: None,
    }
}

/// Mostly on time (within the 1 s tick), a tail from the scheduler gap after the kill.
fn lateness() -> LogHistogram {
    let mut histogram = LogHistogram::new();
    for i in 0..2_000i64 {
        histogram.record((i * 7_919) % 1_400_000 - 400_000);
    }
    for i in 0..60i64 {
        histogram.record(30_000_000 + i * 13_000_000);
    }
    histogram
}
