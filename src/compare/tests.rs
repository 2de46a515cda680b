//! Comparison tests on small synthetic runs written as CSV files.

use super::*;
use std::fs;

const EVENTS_HEADER: &str = "time_s,seq,kind,pod,process,queue,job,attempt,detail\n";
const JOBS_HEADER: &str = "job,queue,enqueued_s,executions,retries_used,outcome,first_start_s,\
end_s,max_retry_lateness_s\n";

/// A run where each job fails once and is retried after `delay_s[k]`, plus one takeover.
fn run_csv(delays_s: &[f64], takeover_s: f64, outcome: &str) -> (String, String) {
    let mut events = String::from(EVENTS_HEADER);
    let mut jobs = String::from(JOBS_HEADER);
    events.push_str("0.500000,0,fault,holder-0,pod,,,,pod_kill\n");
    events.push_str("61.000000,1,lock_lost,holder-0,scheduler,default,,,expired\n");
    events.push_str(&format!(
        "{:.6},2,lock_acquired,standby-0,scheduler,default,,,\n",
        0.5 + takeover_s
    ));
    for (index, delay_s) in delays_s.iter().enumerate() {
        let job = format!("job-{index:04}");
        let start = 1.0 + index as f64;
        let end = start + 0.1;
        events.push_str(&format!(
            "{start:.6},3,job_started,w,horse,default,{job},1,\n"
        ));
        events.push_str(&format!("{end:.6},4,job_failed,w,horse,default,{job},1,\n"));
        events.push_str(&format!(
            "{:.6},5,job_started,w,horse,default,{job},2,\n",
            end + delay_s
        ));
        jobs.push_str(&format!(
            "{job},default,0.9,2,1,{outcome},{start:.6},{:.6},{:.6}\n",
            end + delay_s + 0.1,
            delay_s - 2.0
        ));
    }
    (events, jobs)
}

fn write_run(name: &str, csv: (String, String)) -> tempfile::TempDir {
    let dir = tempfile::Builder::new().prefix(name).tempdir().unwrap();
    fs::write(dir.path().join("events.csv"), csv.0).unwrap();
    fs::write(dir.path().join("jobs.csv"), csv.1).unwrap();
    dir
}

fn metric<'a>(report: &'a CompareReport, name: &str) -> &'a MetricResult {
    report.metrics.iter().find(|m| m.name == name).unwrap()
}

const DELAYS: [f64; 8] = [2.1, 2.4, 1.8, 2.9, 2.2, 2.0, 1.6, 2.5];

#[test]
fn identical_runs_pass_every_metric() {
    let real = write_run("real", run_csv(&DELAYS, 65.0, "finished"));
    let sim = write_run("sim", run_csv(&DELAYS, 65.0, "finished"));
    let report = compare_dirs(real.path(), sim.path()).unwrap();
    assert!(report.passed(), "{}", report.to_table());
    assert_eq!(report.metrics.len(), 6);
    let table = report.to_table();
    assert!(
        table.contains("6 metrics, 6 within tolerance, 0 outside"),
        "{table}"
    );
}

#[test]
fn shifted_retry_delays_fail_the_ks_test() {
    let late: Vec<f64> = DELAYS.iter().map(|d| d + 5.0).collect();
    let real = write_run("real", run_csv(&DELAYS, 65.0, "finished"));
    let sim = write_run("sim", run_csv(&late, 65.0, "finished"));
    let report = compare_dirs(real.path(), sim.path()).unwrap();
    let delays = metric(&report, "retry delay distribution");
    assert!(!delays.passed);
    assert!(delays.note.contains("p=0.0002"), "{}", delays.note);
    assert!(!report.passed());
    assert!(!metric(&report, "worst retry lateness").passed);
}

#[test]
fn a_slower_takeover_is_outside_tolerance() {
    let real = write_run("real", run_csv(&DELAYS, 65.0, "finished"));
    let sim = write_run("sim", run_csv(&DELAYS, 75.0, "finished"));
    let report = compare_dirs(real.path(), sim.path()).unwrap();
    let takeover = metric(&report, "time to scheduler takeover");
    assert!(!takeover.passed, "{}", report.to_table());
    assert_eq!(takeover.real, "65.000 s");
    // 66.5 s is within max(2 s, 6.5 s) of 65 s.
    let near = write_run("near", run_csv(&DELAYS, 70.0, "finished"));
    let report = compare_dirs(real.path(), near.path()).unwrap();
    assert!(metric(&report, "time to scheduler takeover").passed);
}

#[test]
fn different_outcomes_and_executions_are_reported() {
    let real = write_run("real", run_csv(&DELAYS, 65.0, "finished"));
    let (events, jobs) = run_csv(&DELAYS, 65.0, "finished");
    let jobs = jobs.replacen(
        "job-0003,default,0.9,2,1,finished",
        "job-0003,default,0.9,3,1,failed",
        1,
    );
    let sim = write_run("sim", (events, jobs));
    let report = compare_dirs(real.path(), sim.path()).unwrap();
    assert!(!metric(&report, "outcome counts").passed);
    let executions = metric(&report, "executions per job");
    assert!(!executions.passed);
    assert_eq!(executions.note, "job-0003 real 2 sim 3");
    let duplicates = metric(&report, "duplicate executions");
    assert_eq!(
        (duplicates.real.as_str(), duplicates.sim.as_str()),
        ("0", "1")
    );
    assert!(!duplicates.passed);
    assert!(report.to_table().contains("DIFFERS"));
}

#[test]
fn retry_delays_pair_each_end_with_the_next_start() {
    let (events, jobs) = run_csv(&[2.5, 4.0], 65.0, "finished");
    let run = RunData {
        events: read_events(&CsvTable::parse("e", &events).unwrap()).unwrap(),
        jobs: read_jobs(&CsvTable::parse("j", &jobs).unwrap()).unwrap(),
    };
    let delays = retry_delays(&run);
    assert_eq!(delays.len(), 2);
    assert!(
        (delays[0] - 2.5).abs() < 1e-9 && (delays[1] - 4.0).abs() < 1e-9,
        "{delays:?}"
    );
    assert_eq!(takeover_times(&run), vec![65.0]);
}

#[test]
fn missing_files_and_columns_are_errors_not_panics() {
    let empty = tempfile::tempdir().unwrap();
    let error = compare_dirs(empty.path(), empty.path()).unwrap_err();
    assert!(error.contains("events.csv"), "{error}");
    let broken = write_run(
        "broken",
        ("time_s,kind\n1.0,fault\n".into(), JOBS_HEADER.into()),
    );
    let error = compare_dirs(broken.path(), broken.path()).unwrap_err();
    assert!(error.contains("missing column `pod`"), "{error}");
    assert_eq!(
        run_compare_cli(
            empty.path(),
            empty.path(),
            false,
            TAKEOVER_TOLERANCE_S,
            false
        ),
        2
    );
}

#[test]
fn cli_exit_code_follows_the_verdict() {
    let real = write_run("real", run_csv(&DELAYS, 65.0, "finished"));
    let same = write_run("same", run_csv(&DELAYS, 65.0, "finished"));
    let other = write_run("other", run_csv(&DELAYS, 65.0, "failed"));
    assert_eq!(
        run_compare_cli(real.path(), same.path(), false, TAKEOVER_TOLERANCE_S, false),
        0
    );
    assert_eq!(
        run_compare_cli(real.path(), other.path(), true, TAKEOVER_TOLERANCE_S, false),
        1
    );
}

#[test]
fn a_widened_takeover_tolerance_accepts_a_later_takeover() {
    let real = write_run("real", run_csv(&DELAYS, 10.0, "finished"));
    let late = write_run("late", run_csv(&DELAYS, 14.0, "finished"));
    let strict = compare_dirs(real.path(), late.path()).unwrap();
    assert!(!metric(&strict, "time to scheduler takeover").passed);
    let widened = compare_dirs_with(real.path(), late.path(), 8.0).unwrap();
    let takeover = metric(&widened, "time to scheduler takeover");
    assert!(takeover.passed, "{takeover:?}");
    assert!(
        takeover.tolerance.contains("max(8 s"),
        "{}",
        takeover.tolerance
    );
    let json = widened.to_json();
    assert_eq!(json["metrics"][5]["passed"], true);
}

/// Host-timed delays (immediate retries): a systematic 0.12 s offset fails the KS test but not
/// the median-only comparison; a gap beyond 2 s fails both.
#[test]
fn host_timed_delays_are_compared_by_median_only() {
    let real = [0.03; 8];
    let near = [0.15; 8];
    let far = [2.5; 8];
    assert!(
        !retry_delays_metric(&real, &near).passed,
        "the KS test separates constant samples"
    );
    assert!(retry_delays_median_only(&real, &near).passed);
    assert!(!retry_delays_median_only(&real, &far).passed);
}
