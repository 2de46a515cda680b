//! The report's files from a synthetic event stream: exact contents, the numbers derived from
//! them, and byte-identical output for identical input.

mod chart_svg;

use std::fs;
use std::path::Path;

use simrq::check::{CheckClass, Violation};
use simrq::event::{EnqueueSource, EventBus, EventContext, EventKind, JobId, LockView, Name};
use simrq::report::jobs::JOBS_CSV;
use simrq::report::{
    EventsCsv, JobStats, JobTracker, OutputDir, RunInfo, SchedulerGaps, SharedSink, Summary,
};
use simrq::sim::{SimDuration, SimTime};

fn at(seconds: f64) -> SimTime {
    SimTime((seconds * 1e6).round() as u64)
}

fn job(id: &str) -> EventContext {
    EventContext {
        pod: Some(Name::from("worker-0")),
        process: Some(Name::from("worker-0.1")),
        queue: Some(Name::from("default")),
        job: Some(JobId::of(id)),
    }
}

fn scheduler(name: &str) -> EventContext {
    EventContext {
        pod: Some(Name::from("worker-0")),
        process: Some(Name::from(format!("{name}-process"))),
        queue: Some(Name::from("default")),
        job: None,
    }
}

fn enqueued(source: EnqueueSource) -> EventKind {
    EventKind::JobEnqueued {
        source,
        at_front: false,
    }
}

fn started() -> EventKind {
    EventKind::JobStarted {
        worker: Name::from("w0"),
    }
}

fn failed() -> EventKind {
    EventKind::JobFailed {
        reason: "ValueError".into(),
    }
}

fn retry_scheduled(interval_s: i64, retries_left: i64) -> EventKind {
    EventKind::JobRetryScheduled {
        due_unix_s: 0,
        interval_s,
        retries_left,
    }
}

fn lock(
    kind: fn(LockView) -> EventKind,
    scheduler: &str,
    believes: bool,
    holder: &str,
) -> EventKind {
    kind(LockView {
        scheduler: Name::from(scheduler),
        believes_held: believes,
        redis_holder: Some(Name::from(holder)),
    })
}

/// A short run that exercises every path of the job tracker:
/// j1 finishes at once; j2 fails, retries after 10 s and runs 2.5 s late, then finishes;
/// j3 is requeued, runs twice at once (a duplicate) and is moved to failed, then runs again
/// after its end; j4 is scheduled and never runs; j5 is lost; j6 is still running.
fn emit_run(bus: &mut EventBus) {
    use EnqueueSource::{Producer, Scheduler};
    let e =
        |bus: &mut EventBus, t: f64, ctx: EventContext, kind: EventKind| bus.emit(at(t), ctx, kind);
    e(
        bus,
        0.0,
        scheduler("s1"),
        lock(|lock| EventKind::LockAcquired { lock }, "s1", true, "s1"),
    );
    e(bus, 1.0, job("j1"), enqueued(Producer));
    e(bus, 1.5, job("j1"), started());
    e(bus, 2.0, job("j1"), EventKind::JobFinished);
    e(bus, 2.0, job("j2"), enqueued(Producer));
    e(bus, 3.0, job("j2"), started());
    e(bus, 4.0, job("j2"), failed());
    e(bus, 4.0, job("j2"), retry_scheduled(10, 2));
    e(bus, 15.0, job("j2"), enqueued(Scheduler));
    e(bus, 16.5, job("j2"), started());
    e(bus, 17.0, job("j2"), EventKind::JobFinished);
    e(bus, 5.0, job("j3"), enqueued(Producer));
    e(bus, 6.0, job("j3"), started());
    e(bus, 7.0, job("j3"), failed());
    e(
        bus,
        7.0,
        job("j3"),
        EventKind::JobRetryRequeued { retries_left: 0 },
    );
    e(bus, 8.0, job("j3"), started());
    e(bus, 8.25, job("j3"), started());
    e(bus, 9.0, job("j3"), failed());
    let reason = "ValueError, no retries left".to_string();
    e(bus, 9.0, job("j3"), EventKind::JobMovedToFailed { reason });
    e(bus, 9.5, job("j3"), started());
    e(
        bus,
        10.0,
        job("j4"),
        EventKind::JobScheduled { due_unix_s: 0 },
    );
    e(bus, 11.0, job("j5"), enqueued(Producer));
    e(
        bus,
        12.0,
        job("j5"),
        EventKind::JobLost {
            reason: "lost reply".into(),
        },
    );
    e(
        bus,
        60.0,
        scheduler("s2"),
        lock(|lock| EventKind::LockAcquired { lock }, "s2", true, "s2"),
    );
    e(
        bus,
        61.0,
        scheduler("s1"),
        lock(|lock| EventKind::LockLost { lock }, "s1", false, "s2"),
    );
    e(bus, 70.0, job("j6"), enqueued(Producer));
    e(bus, 71.0, job("j6"), started());
}

struct Outputs {
    stats: JobStats,
    gaps: simrq::report::SchedulerGapReport,
}

fn run_into(dir: &OutputDir) -> Outputs {
    let events = SharedSink::new(EventsCsv::create(dir).unwrap());
    let jobs = SharedSink::new(JobTracker::create(dir).unwrap());
    let gaps = SharedSink::new(SchedulerGaps::new());
    let mut bus = EventBus::new();
    bus.add_sink(events.boxed());
    bus.add_sink(jobs.boxed());
    bus.add_sink(gaps.boxed());
    emit_run(&mut bus);
    let end = at(100.0);
    events.borrow_mut().finish().unwrap();
    let stats = jobs.borrow_mut().finish(end).unwrap();
    let gaps = gaps.borrow_mut().finish(end);
    Outputs { stats, gaps }
}

fn fresh_dir(root: &Path) -> OutputDir {
    OutputDir::create(root, false).unwrap()
}

#[test]
fn jobs_csv_has_one_exact_row_per_job() {
    let root = tempfile::tempdir().unwrap();
    let dir = fresh_dir(root.path());
    run_into(&dir);
    let text = fs::read_to_string(dir.file(JOBS_CSV)).unwrap();
    let expected = "\
job,queue,enqueued_s,executions,retries_used,outcome,first_start_s,end_s,max_retry_lateness_s,\
duplicate_executions,max_queue_wait_s
j1,default,1.000000,1,0,finished,1.500000,2.000000,,0,0.500000
j2,default,2.000000,2,1,finished,3.000000,17.000000,2.500000,0,1.500000
j3,default,5.000000,3,1,failed,6.000000,9.000000,,1,1.000000
j4,default,10.000000,0,0,scheduled,,,,0,
j5,default,11.000000,0,0,lost,,12.000000,,0,
j6,default,70.000000,1,0,started,71.000000,,,0,1.000000
";
    assert_eq!(text, expected);
}

#[test]
fn run_numbers_count_executions_retries_duplicates_and_outcomes() {
    let root = tempfile::tempdir().unwrap();
    let outputs = run_into(&fresh_dir(root.path()));
    let stats = &outputs.stats;
    assert_eq!(stats.jobs, 6);
    assert_eq!(stats.executions, 8);
    assert_eq!(stats.retries, 2);
    assert_eq!(
        stats.duplicate_executions, 2,
        "one concurrent start, one after the end"
    );
    assert_eq!(stats.executions_after_end, 1);
    assert_eq!(stats.job_lost_events, 1);
    let o = stats.outcomes;
    let counts = [
        o.finished,
        o.failed,
        o.queued,
        o.scheduled,
        o.started,
        o.lost,
    ];
    assert_eq!(counts, [2, 1, 0, 1, 1, 1]);
    assert_eq!(stats.retry_lateness.count(), 1);
    assert_eq!(stats.retry_lateness.max_micros(), Some(2_500_000));
    // Queue waits: j1 0.5, j2 1.0 then 1.5 (after the scheduler moved it), j3 1.0 then 1.0
    // (the second start of the duplicate pair had no new enqueue), j6 1.0.
    assert_eq!(stats.queue_wait.count(), 6);
    assert_eq!(stats.queue_wait.mean_micros(), Some(1_000_000.0));
    assert_eq!(stats.queue_wait.max_micros(), Some(1_500_000));
}

#[test]
fn a_retry_that_starts_before_its_unfloored_due_time_has_negative_lateness() {
    let root = tempfile::tempdir().unwrap();
    let dir = fresh_dir(root.path());
    let jobs = SharedSink::new(JobTracker::create(&dir).unwrap());
    let mut bus = EventBus::new();
    bus.add_sink(jobs.boxed());
    bus.emit(at(0.0), job("j9"), enqueued(EnqueueSource::Producer));
    bus.emit(at(0.1), job("j9"), started());
    bus.emit(at(0.7), job("j9"), failed());
    bus.emit(at(0.7), job("j9"), retry_scheduled(5, 0));
    bus.emit(at(5.2), job("j9"), enqueued(EnqueueSource::Scheduler));
    bus.emit(at(5.3), job("j9"), started());
    let stats = jobs.borrow_mut().finish(at(10.0)).unwrap();
    assert_eq!(stats.retry_lateness.min_micros(), Some(-400_000));
    let text = fs::read_to_string(dir.file(JOBS_CSV)).unwrap();
    assert!(
        text.ends_with(",started,0.100000,,-0.400000,0,0.100000\n"),
        "{text}"
    );
}

#[test]
fn a_killed_horse_and_its_failure_report_end_one_execution_only() {
    let root = tempfile::tempdir().unwrap();
    let dir = fresh_dir(root.path());
    let jobs = SharedSink::new(JobTracker::create(&dir).unwrap());
    let mut bus = EventBus::new();
    bus.add_sink(jobs.boxed());
    bus.emit(at(0.0), job("j1"), enqueued(EnqueueSource::Producer));
    bus.emit(at(1.0), job("j1"), started());
    bus.emit(at(2.0), job("j1"), started());
    bus.emit(at(3.0), job("j1"), EventKind::ProcessKilled);
    bus.emit(at(3.0), job("j1"), failed());
    // The second execution is still running: a third start is a duplicate too.
    bus.emit(at(4.0), job("j1"), started());
    let stats = jobs.borrow_mut().finish(at(10.0)).unwrap();
    assert_eq!(stats.duplicate_executions, 2);
}

#[test]
fn a_job_restarted_after_a_kill_and_retry_is_not_a_duplicate() {
    let root = tempfile::tempdir().unwrap();
    let dir = fresh_dir(root.path());
    let jobs = SharedSink::new(JobTracker::create(&dir).unwrap());
    let mut bus = EventBus::new();
    bus.add_sink(jobs.boxed());
    bus.emit(at(0.0), job("j1"), enqueued(EnqueueSource::Producer));
    bus.emit(at(1.0), job("j1"), started());
    bus.emit(at(2.0), job("j1"), EventKind::ProcessKilled);
    let reason = "expired".to_string();
    bus.emit(at(700.0), job("j1"), EventKind::JobAbandoned { reason });
    bus.emit(at(700.0), job("j1"), retry_scheduled(10, 0));
    bus.emit(at(711.0), job("j1"), started());
    bus.emit(at(712.0), job("j1"), failed());
    bus.emit(
        at(712.0),
        job("j1"),
        EventKind::JobRetryRequeued { retries_left: 0 },
    );
    bus.emit(at(713.0), job("j1"), started());
    let stats = jobs.borrow_mut().finish(at(800.0)).unwrap();
    assert_eq!(stats.executions, 3);
    assert_eq!(stats.duplicate_executions, 0);
    assert_eq!(stats.retry_lateness.max_micros(), Some(1_000_000));
}

#[test]
fn a_deferred_job_never_released_ends_deferred_and_a_released_one_runs() {
    let root = tempfile::tempdir().unwrap();
    let dir = fresh_dir(root.path());
    let jobs = SharedSink::new(JobTracker::create(&dir).unwrap());
    let mut bus = EventBus::new();
    bus.add_sink(jobs.boxed());
    bus.emit(at(0.0), job("j1"), EventKind::JobDeferred);
    bus.emit(at(0.0), job("j2"), EventKind::JobDeferred);
    bus.emit(at(1.0), job("j2"), enqueued(EnqueueSource::Dependency));
    let stats = jobs.borrow_mut().finish(at(10.0)).unwrap();
    assert_eq!((stats.outcomes.deferred, stats.outcomes.queued), (1, 1));
    let text = fs::read_to_string(dir.file(JOBS_CSV)).unwrap();
    assert!(text.contains("\nj1,default,,0,0,deferred,"), "{text}");
    assert!(text.contains("\nj2,default,1.000000,0,0,queued,"), "{text}");
}

#[test]
fn events_csv_starts_with_the_header_and_quotes_details_with_commas() {
    let root = tempfile::tempdir().unwrap();
    let dir = fresh_dir(root.path());
    run_into(&dir);
    let text = fs::read_to_string(dir.file("events.csv")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "time_s,seq,kind,pod,process,queue,job,attempt,detail"
    );
    assert_eq!(
        lines[1],
        "0.000000,0,lock_acquired,worker-0,s1-process,default,,,\
         scheduler=s1 believes_held=true redis_holder=s1"
    );
    assert_eq!(
        lines[19],
        "9.000000,18,job_moved_to_failed,worker-0,worker-0.1,default,j3,3,\
         \"reason=\"\"ValueError, no retries left\"\"\""
    );
    assert_eq!(lines.len(), 1 + 27);
}

#[test]
fn scheduler_overlap_from_events_is_measured() {
    let root = tempfile::tempdir().unwrap();
    let outputs = run_into(&fresh_dir(root.path()));
    assert_eq!(outputs.gaps.dual_total(), SimDuration::from_secs(1));
    assert_eq!(outputs.gaps.longest_gap(), Some(SimDuration::ZERO));
}

fn summary_of(outputs: &Outputs) -> Summary {
    let run = RunInfo {
        seed: 42,
        scenario: "synthetic".into(),
        config_hash: "0123abcd".into(),
        duration: SimDuration::from_secs(100),
        replay: "simrq run synthetic.toml --seed 42".into(),
        checks: vec!["duplicate_execution".into(), "lost_job".into()],
    };
    let violation = Violation {
        check: "duplicate_execution",
        class: CheckClass::Safety,
        time: at(8.25),
        queue: Some(Name::from("default")),
        job: Some(Name::from("j3")),
        processes: vec![Name::from("w0")],
        detail: "j3 started while running".into(),
        timeline: vec!["8.000000 job_started j3".into()],
    };
    Summary::build(&run, &outputs.stats, &outputs.gaps, &[violation])
}

#[test]
fn summary_json_has_the_documented_keys_in_order() {
    let root = tempfile::tempdir().unwrap();
    let dir = fresh_dir(root.path());
    let summary = summary_of(&run_into(&dir));
    summary.write(&dir).unwrap();
    let text = fs::read_to_string(dir.file("summary.json")).unwrap();
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    let keys: Vec<&str> = value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let required = [
        "seed",
        "scenario",
        "config_hash",
        "duration_s",
        "jobs",
        "executions",
        "retries",
        "duplicate_executions",
        "lost_jobs",
        "outcomes",
        "retry_lateness_s",
        "queue_wait_s",
        "longest_scheduler_gap_s",
        "dual_scheduler_s",
        "violations",
        "replay",
        "checks",
    ];
    let mut last = 0;
    for key in required {
        let position = text
            .find(&format!("\n  \"{key}\":"))
            .unwrap_or_else(|| panic!("{key}"));
        assert!(position > last, "{key} out of order");
        last = position;
    }
    assert!(keys.contains(&"executions_after_end"));
    assert_eq!(value["duplicate_executions"], 2);
    assert_eq!(value["lost_jobs"], 1);
    assert_eq!(value["retry_lateness_s"]["max"], 2.5);
    assert_eq!(value["queue_wait_s"]["mean"], 1.0);
    assert_eq!(value["dual_scheduler_s"], 1.0);
    assert_eq!(value["checks"]["duplicate_execution"], "fail");
    assert_eq!(value["checks"]["lost_job"], "pass");
    assert_eq!(value["violations"][0]["job"], "j3");
    assert_eq!(value["violations"][0]["time_s"], 8.25);
}

/// Every file of `dir`, by name, with its bytes.
fn read_all(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = fs::read_dir(dir)
        .unwrap()
        .map(|entry| {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, fs::read(&path).unwrap())
        })
        .collect();
    files.sort();
    files
}

#[test]
fn the_same_input_gives_byte_identical_files() {
    let roots = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    for root in &roots {
        let dir = fresh_dir(root.path());
        let outputs = run_into(&dir);
        summary_of(&outputs).write(&dir).unwrap();
    }
    let first = read_all(roots[0].path());
    let second = read_all(roots[1].path());
    let names: Vec<&str> = first.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["events.csv", "jobs.csv", "summary.json"]);
    assert!(first == second, "outputs differ between identical runs");
}

#[test]
fn a_run_that_stops_before_finish_leaves_no_final_files() {
    let root = tempfile::tempdir().unwrap();
    let dir = fresh_dir(root.path());
    {
        let mut bus = EventBus::new();
        bus.add_sink(Box::new(EventsCsv::create(&dir).unwrap()));
        bus.add_sink(Box::new(JobTracker::create(&dir).unwrap()));
        emit_run(&mut bus);
        assert!(!dir.file("events.csv").exists());
        assert!(!dir.file(JOBS_CSV).exists());
        assert!(dir.file("events.csv.tmp").exists());
    }
    assert!(read_all(root.path()).is_empty());
}

#[test]
fn output_dir_refuses_a_previous_run_without_force() {
    let root = tempfile::tempdir().unwrap();
    let dir = fresh_dir(root.path());
    run_into(&dir);
    let error = OutputDir::create(root.path(), false)
        .unwrap_err()
        .to_string();
    assert!(error.contains("--force"), "{error}");
    let again = OutputDir::create(root.path(), true).unwrap();
    assert!(read_all(again.path()).is_empty());
}

mod charts {
    use super::*;
    use crate::chart_svg::{alert_red, Chart};
    use simrq::report::chart::{self, png};
    use simrq::report::timeseries::{QueueSample, Sample};
    use simrq::report::{LogHistogram, OutcomeCounts, TimeseriesCsv};

    fn series(dir: &OutputDir) -> Vec<simrq::report::QueueSeries> {
        let mut writer = TimeseriesCsv::create(dir).unwrap();
        for second in (0..600).step_by(10) {
            let queues = vec![QueueSample {
                queue: Name::from("default"),
                depth: second % 70,
                scheduled: second / 60,
                started: 1,
                failed: 0,
                finished: second,
                lock_holder: Some(Name::from("s1")),
            }];
            let sample = Sample {
                time: SimTime::from_secs(second),
                queues,
                live_workers: 2,
                busy_workers: 1,
            };
            writer.write(&sample).unwrap();
        }
        writer.finish().unwrap()
    }

    /// Writes the four charts of the synthetic run into `dir`.
    fn write_charts(dir: &OutputDir) {
        let outputs = run_into(dir);
        chart::lock_timeline_chart(dir, &outputs.gaps).unwrap();
        let faults = [(SimTime::from_secs(90), "pod_kill worker-0".to_string())];
        chart::queue_depth_chart(dir, &series(dir), &faults, SimTime::from_secs(600)).unwrap();
        chart::retry_lateness_chart(dir, &outputs.stats.retry_lateness).unwrap();
        chart::outcomes_chart(dir, &outputs.stats.outcomes).unwrap();
    }

    #[test]
    fn every_chart_is_written_as_svg_and_png_with_no_temporary_file_left() {
        let root = tempfile::tempdir().unwrap();
        let dir = fresh_dir(root.path());
        write_charts(&dir);
        let names: Vec<String> = read_all(root.path()).into_iter().map(|(n, _)| n).collect();
        let expected = [
            "events.csv",
            "jobs.csv",
            "lock_timeline.png",
            "lock_timeline.svg",
            "outcomes.png",
            "outcomes.svg",
            "queue_depth.png",
            "queue_depth.svg",
            "retry_lateness.png",
            "retry_lateness.svg",
            "timeseries.csv",
        ];
        assert_eq!(names, expected);
        for (name, bytes) in read_all(root.path()) {
            if name.ends_with(".png") {
                assert_eq!(&bytes[1..4], b"PNG", "{name}");
            }
            if name.ends_with(".svg") {
                assert!(bytes.starts_with(b"<svg "), "{name}");
            }
        }
    }

    #[test]
    fn the_same_input_gives_byte_identical_charts() {
        let roots = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
        for root in &roots {
            write_charts(&fresh_dir(root.path()));
        }
        let first = read_all(roots[0].path());
        let second = read_all(roots[1].path());
        for ((name, a), (_, b)) in first.iter().zip(&second) {
            // PNGs match too: both renders use this machine's fonts.
            assert!(a == b, "{name} differs between identical runs");
        }
        assert_eq!(first.len(), second.len());
    }

    #[test]
    fn the_lock_timeline_marks_two_believers_in_red_and_names_each_scheduler() {
        let root = tempfile::tempdir().unwrap();
        let outputs = run_into(&fresh_dir(root.path()));
        let svg = Chart::parse(&chart::lock_timeline_svg(&outputs.gaps));
        assert!(
            svg.has_text("s1") && svg.has_text("s2"),
            "{:?}",
            svg.texts()
        );
        let header = svg.texts_starting("queue default");
        assert!(header[0]
            .content
            .contains("two believers for 1 s in 1 period"));
        assert_eq!(svg.find("polygon", "fill", &alert_red()).len(), 1);
        let quiet = chart::lock_timeline_svg(&simrq::report::SchedulerGapReport::default());
        let quiet = Chart::parse(&quiet);
        assert!(quiet.has_text("no scheduler lock was observed"));
        assert!(quiet.with_tag("polygon").next().is_none());
    }

    #[test]
    fn the_cdf_marks_its_quantiles_and_says_when_there_is_no_retry() {
        let mut lateness = LogHistogram::new();
        [500_000, 1_000_000, 61_000_000]
            .iter()
            .for_each(|&v| lateness.record(v));
        let svg = Chart::parse(&chart::retry_lateness_svg(&lateness));
        assert!(svg.has_text("p50 1 s"), "{:?}", svg.texts());
        assert!(svg.has_text("max 61 s"), "{:?}", svg.texts());
        let empty = Chart::parse(&chart::retry_lateness_svg(&LogHistogram::new()));
        assert!(empty.has_text("no interval retry started in this run"));
    }

    #[test]
    fn the_outcome_bars_carry_their_counts() {
        let counts = OutcomeCounts {
            finished: 90,
            failed: 8,
            lost: 2,
            ..Default::default()
        };
        let svg = chart::outcomes_svg(&counts);
        let bars = Chart::parse(&svg);
        for label in ["90 (90.0%)", "8 (8.0%)", "2 (2.0%)", "lost", "finished"] {
            assert!(bars.has_text(label), "{label} missing: {:?}", bars.texts());
        }
        // Each count stands on its bar: above it, centred on it.
        let count = bars.text("8 (8.0%)").unwrap();
        let failed = bars.text("failed").unwrap();
        assert_eq!(count.number("x"), failed.number("x"));
        // Without a deferred job there is no `deferred` bar; with one there is.
        assert!(!bars.has_text("deferred"), "{:?}", bars.texts());
        let deferred = OutcomeCounts {
            deferred: 3,
            ..counts
        };
        assert!(Chart::parse(&chart::outcomes_svg(&deferred)).has_text("deferred"));
        assert!(png::render_png(&svg).is_ok());
    }
}
