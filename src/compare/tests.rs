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

/// docs/repeat-and-webhooks.md: the runs of a job with `Repeat` are neither duplicates nor
/// missing from the delays; each run that repeats ends at its repeat decision.
#[test]
fn repeated_runs_are_not_duplicates_and_their_delays_count() {
    let mut events = String::from(EVENTS_HEADER);
    events.push_str("1.000000,0,job_started,w,horse,default,job-0000,1,\n");
    events.push_str("1.200000,1,job_repeat_scheduled,w,horse,default,job-0000,1,\n");
    events.push_str("3.100000,2,job_started,w,horse,default,job-0000,2,\n");
    events.push_str("3.300000,3,job_repeat_requeued,w,horse,default,job-0000,2,\n");
    events.push_str("3.400000,4,job_started,w,horse,default,job-0000,3,\n");
    events.push_str("3.600000,5,job_finished,w,horse,default,job-0000,3,\n");
    let mut jobs = String::from(JOBS_HEADER);
    jobs.push_str("job-0000,default,0.9,3,0,finished,1.000000,3.600000,\n");
    let dir = write_run("repeat", (events, jobs));
    let run = RunData::read(dir.path()).unwrap();
    assert_eq!(duplicate_count(&run), 0);
    let delays: Vec<String> = retry_delays(&run)
        .iter()
        .map(|d| format!("{d:.1}"))
        .collect();
    assert_eq!(delays, ["1.9", "0.1"]);
}

#[test]
fn identical_runs_pass_every_metric() {
    let real = write_run("real", run_csv(&DELAYS, 65.0, "finished"));
    let sim = write_run("sim", run_csv(&DELAYS, 65.0, "finished"));
    let report = compare_dirs(real.path(), sim.path()).unwrap();
    assert!(report.passed(), "{}", report.to_table());
    assert_eq!(report.metrics.len(), 7);
    let table = report.to_table();
    assert!(
        table.contains("7 metrics, 7 within tolerance, 0 outside"),
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
        cron: None,
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
    let request = CompareRequest {
        real: empty.path(),
        sims: &[empty.path().to_path_buf()],
        json: false,
        takeover_tolerance_s: TAKEOVER_TOLERANCE_S,
        host_timed_delays: false,
    };
    assert_eq!(run_compare_cli(&request), 2);
}

#[test]
fn cli_exit_code_follows_the_verdict() {
    let real = write_run("real", run_csv(&DELAYS, 65.0, "finished"));
    let same = write_run("same", run_csv(&DELAYS, 65.0, "finished"));
    let other = write_run("other", run_csv(&DELAYS, 65.0, "failed"));
    let request = |sim: &std::path::Path, json: bool| {
        run_compare_cli(&CompareRequest {
            real: real.path(),
            sims: &[sim.to_path_buf()],
            json,
            takeover_tolerance_s: TAKEOVER_TOLERANCE_S,
            host_timed_delays: false,
        })
    };
    assert_eq!(request(same.path(), false), 0);
    assert_eq!(request(other.path(), true), 1);
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

mod envelope {
    //! The real run against the envelope of many simulated seeds (src/compare/envelope.rs).

    use super::super::*;
    use super::{run_csv, write_run};

    /// A run read back from the CSV files of [`run_csv`].
    fn run(delays_s: &[f64], takeover_s: f64, outcome: &str) -> RunData {
        let dir = write_run("run", run_csv(delays_s, takeover_s, outcome));
        RunData::read(dir.path()).unwrap()
    }

    /// 100 seeds whose retry delays and takeovers spread over one scheduler tick, as RQ's
    /// floored due times and tick phase make them.
    fn seeds() -> Vec<RunData> {
        (0..100)
            .map(|seed| {
                let phase = seed as f64 / 100.0;
                let delays: Vec<f64> = super::DELAYS.iter().map(|d| d - 0.5 + phase).collect();
                run(&delays, 62.0 + 3.0 * phase, "finished")
            })
            .collect()
    }

    fn verdict(real: &RunData, sims: &[RunData], name: &str) -> MetricResult {
        let report = compare_envelope(real, sims, EnvelopeTolerances::default());
        report.metrics.into_iter().find(|m| m.name == name).unwrap()
    }

    #[test]
    fn a_real_run_anywhere_inside_the_seeds_spread_passes_every_metric() {
        let sims = seeds();
        for phase in [0.0, 0.5, 0.99] {
            let delays: Vec<f64> = super::DELAYS.iter().map(|d| d - 0.5 + phase).collect();
            let real = run(&delays, 62.0 + 3.0 * phase, "finished");
            let report = compare_envelope(&real, &sims, EnvelopeTolerances::default());
            assert!(report.passed(), "phase {phase}:\n{}", report.to_table());
        }
    }

    #[test]
    fn a_retry_one_interval_late_fails() {
        let late: Vec<f64> = super::DELAYS.iter().map(|d| d + 2.0).collect();
        let metric = verdict(
            &run(&late, 63.0, "finished"),
            &seeds(),
            "retry delay distribution",
        );
        assert!(!metric.passed, "{metric:?}");
        assert!(metric.note.contains("outside"), "{}", metric.note);
    }

    #[test]
    fn a_single_retry_far_outside_the_seeds_range_fails_even_with_a_normal_median() {
        let mut delays = super::DELAYS.to_vec();
        delays[0] += 10.0;
        let metric = verdict(
            &run(&delays, 63.0, "finished"),
            &seeds(),
            "retry delay distribution",
        );
        assert!(!metric.passed, "{metric:?}");
    }

    #[test]
    fn a_missed_or_late_takeover_fails() {
        let sims = seeds();
        let late = verdict(
            &run(&super::DELAYS, 70.0, "finished"),
            &sims,
            "time to scheduler takeover",
        );
        assert!(!late.passed, "{late:?}");
        // A run whose standby never took the lock has no lock_acquired after the fault.
        let dir = write_run("missed", run_csv(&super::DELAYS, 1.0e6, "finished"));
        let mut missed = RunData::read(dir.path()).unwrap();
        missed.events.retain(|event| event.kind != "lock_acquired");
        let metric = verdict(&missed, &sims, "time to scheduler takeover");
        assert!(!metric.passed, "{metric:?}");
    }

    #[test]
    fn a_count_no_seed_gives_fails_and_one_in_a_hundred_seeds_gives_passes() {
        let lost = run(&super::DELAYS, 63.0, "lost");
        let mut sims = seeds();
        let metric = verdict(&lost, &sims, "outcome counts");
        assert!(!metric.passed, "no seed loses the job: {metric:?}");
        // One seed in 100 loses it too: the model allows the real outcome (1 %), and the
        // other 99 seeds are the ones listed as differing.
        sims[17] = run(&super::DELAYS, 63.0, "lost");
        let metric = verdict(&lost, &sims, "outcome counts");
        assert!(metric.passed, "{metric:?}");
        assert!(metric.sim.contains("(99 seeds)"), "{}", metric.sim);
        assert!(metric.sim.contains("(1 seeds)"), "{}", metric.sim);
        // And a real run like the 99: passes, with the odd seed named.
        let finished = run(&super::DELAYS, 63.0, "finished");
        let metric = verdict(&finished, &sims, "outcome counts");
        assert!(metric.passed, "{metric:?}");
        assert!(metric.note.starts_with("run 18:"), "{}", metric.note);
    }

    #[test]
    fn the_one_percent_rule_is_a_share_of_the_seeds() {
        assert!(!plausible(0, 100));
        assert!(plausible(1, 100));
        assert!(!plausible(2, 300), "2 of 300 is under 1 %");
        assert!(plausible(3, 300));
        assert!(
            plausible(1, 20),
            "one seed is the least a share can ask for"
        );
    }

    #[test]
    fn a_takeover_count_the_seeds_rarely_give_is_judged_against_those_seeds_only() {
        let mut sims = seeds();
        // Two seeds in 100 lose the lock's takeover: a real run without one is plausible.
        for index in [3, 40] {
            sims[index]
                .events
                .retain(|event| event.kind != "lock_acquired");
        }
        let dir = write_run("missed", run_csv(&super::DELAYS, 1.0e6, "finished"));
        let mut missed = RunData::read(dir.path()).unwrap();
        missed.events.retain(|event| event.kind != "lock_acquired");
        let metric = verdict(&missed, &sims, "time to scheduler takeover");
        assert!(metric.passed, "{metric:?}");
        // A run with the takeover is judged against the 98 seeds that have one.
        let metric = verdict(
            &run(&super::DELAYS, 63.0, "finished"),
            &sims,
            "time to scheduler takeover",
        );
        assert!(metric.passed, "{metric:?}");
        assert!(metric.sim.ends_with("over 98 seeds"), "{}", metric.sim);
    }

    #[test]
    fn host_timed_delays_use_their_own_margin_and_skip_single_delays() {
        let sims = seeds();
        let slow: Vec<f64> = super::DELAYS.iter().map(|d| d + 1.2).collect();
        let real = run(&slow, 63.0, "finished");
        let strict = verdict(&real, &sims, "retry delay distribution");
        assert!(!strict.passed, "outside the 0.5 s margin: {strict:?}");
        let host_timed = EnvelopeTolerances {
            host_timed_delay_s: Some(1.0),
            ..EnvelopeTolerances::default()
        };
        let report = compare_envelope(&real, &sims, host_timed);
        let metric = report
            .metrics
            .iter()
            .find(|m| m.name == strict.name)
            .unwrap();
        assert!(metric.passed, "{}", report.to_table());
    }

    #[test]
    fn quantiles_interpolate_between_order_statistics() {
        let values = [4.0, 1.0, 3.0, 2.0, 5.0];
        assert_eq!(quantile(&values, 0.0), 1.0);
        assert_eq!(quantile(&values, 1.0), 5.0);
        assert_eq!(quantile(&values, 0.5), 3.0);
        assert!((quantile(&values, 0.01) - 1.04).abs() < 1e-12);
    }

    #[test]
    fn an_envelope_of_too_few_seeds_is_refused() {
        let real = write_run("real", run_csv(&super::DELAYS, 63.0, "finished"));
        let sims: Vec<tempfile::TempDir> = (0..5)
            .map(|_| write_run("sim", run_csv(&super::DELAYS, 63.0, "finished")))
            .collect();
        let paths: Vec<std::path::PathBuf> = sims.iter().map(|d| d.path().to_path_buf()).collect();
        let error =
            compare_dirs_envelope(real.path(), &paths, EnvelopeTolerances::default()).unwrap_err();
        assert!(error.contains("at least 100"), "{error}");
    }
}

#[test]
fn events_as_a_spreadsheet_saves_them_are_read_by_column() {
    // A byte order mark, CRLF line ends, and `detail` cells quoted the way events.csv writes
    // them: commas, doubled quotes and a line break inside the quotes.
    let events = "\u{feff}time_s,seq,kind,pod,process,queue,job,attempt,detail\r\n\
                  1.000000,0,job_started,w,horse,default,job-0000,1,\"a=1, b=\"\"x, y\"\"\"\r\n\
                  1.100000,1,job_failed,w,horse,default,job-0000,1,\"reason=exception raised\r\n\
                  by the job, retry_intervals_s=[1, 2, 3]\"\r\n\
                  3.600000,2,job_started,w,horse,default,job-0000,2,\r\n";
    let jobs = format!(
        "\u{feff}{}job-0000,default,0.9,2,1,finished,1.000000,3.700000,0.500000\r\n",
        JOBS_HEADER.replace('\n', "\r\n")
    );
    let table = CsvTable::parse("events.csv", events).unwrap();
    assert_eq!(
        table.rows()[1][8],
        "reason=exception raised\r\nby the job, retry_intervals_s=[1, 2, 3]"
    );
    assert_eq!(table.rows()[0][8], "a=1, b=\"x, y\"");
    let run = RunData {
        events: read_events(&table).unwrap(),
        jobs: read_jobs(&CsvTable::parse("jobs.csv", &jobs).unwrap()).unwrap(),
        cron: None,
    };
    assert_eq!(run.events.len(), 3);
    assert_eq!(run.events[2].attempt, Some(2));
    assert_eq!(run.jobs[0].executions, 2);
    let delays = retry_delays(&run);
    assert!(
        delays.len() == 1 && (delays[0] - 2.5).abs() < 1e-9,
        "{delays:?}"
    );
}

#[test]
fn a_bad_cell_after_a_multi_line_detail_is_located_by_its_line() {
    let events =
        format!("{EVENTS_HEADER}1.0,0,fault,p,pod,,,,\"two\nlines\"\nlater,1,fault,p,pod,,,,\n");
    let error = read_events(&CsvTable::parse("events.csv", &events).unwrap()).unwrap_err();
    assert!(
        error.starts_with("events.csv:4: column `time_s`"),
        "{error}"
    );
}

#[test]
fn nan_and_infinite_times_are_located_errors_not_panics() {
    for bad in ["NaN", "inf", "-inf"] {
        let (events, jobs) = run_csv(&DELAYS, 65.0, "finished");
        let events = events.replacen("1.000000,3,job_started", &format!("{bad},3,job_started"), 1);
        let real = write_run("real", (events, jobs.clone()));
        let sim = write_run("sim", run_csv(&DELAYS, 65.0, "finished"));
        let error = compare_dirs(real.path(), sim.path()).unwrap_err();
        assert!(error.contains("events.csv:5: column `time_s`"), "{error}");
        assert!(error.contains("expected a finite number"), "{error}");
        let jobs = jobs.replacen(",0.100000\n", &format!(",{bad}\n"), 1);
        let real = write_run("real", (run_csv(&DELAYS, 65.0, "finished").0, jobs));
        let error = compare_dirs(real.path(), sim.path()).unwrap_err();
        assert!(
            error.contains("jobs.csv:2: column `max_retry_lateness_s`"),
            "{error}"
        );
    }
}

#[test]
fn the_largest_attempt_number_has_no_next_attempt() {
    // Attempt u32::MAX + 1 must neither overflow nor wrap to attempt 0.
    let events = format!(
        "{EVENTS_HEADER}1.0,0,job_started,w,horse,default,job-0000,0,\n\
         10.0,1,job_failed,w,horse,default,job-0000,4294967295,\n"
    );
    let run = RunData {
        events: read_events(&CsvTable::parse("e", &events).unwrap()).unwrap(),
        jobs: Vec::new(),
        cron: None,
    };
    assert_eq!(retry_delays(&run), Vec::<f64>::new());
}

/// A failover at 5 s: a job running across it, a pod kill that is no Redis outage, and jobs
/// after it; `first_after_s` is when the first execution that started after it finishes.
fn failover_events(first_after_s: f64) -> String {
    let mut events = String::from(EVENTS_HEADER);
    events.push_str("4.000000,0,job_started,w,horse,default,j1,1,\n");
    events
        .push_str("5.000000,1,fault,redis,redis-server,,,,fault=redis_failover partition=false\n");
    events.push_str("5.500000,2,fault,,,,,,fault=pod_kill target=any\n");
    events.push_str("6.000000,3,job_finished,w,horse,default,j1,1,\n");
    let start = first_after_s - 0.1;
    events.push_str(&format!("{start:.6},4,job_started,w,horse,default,j2,1,\n"));
    events.push_str(&format!(
        "{first_after_s:.6},5,job_finished,w,horse,default,j2,1,\n"
    ));
    events.push_str(&format!(
        "{:.6},6,job_started,w,horse,default,j3,1,\n",
        first_after_s
    ));
    events.push_str(&format!(
        "{:.6},7,job_finished,w,horse,default,j3,1,\n",
        first_after_s + 1.0
    ));
    events
}

fn run_of_events(events: &str) -> RunData {
    RunData {
        events: read_events(&CsvTable::parse("e", events).unwrap()).unwrap(),
        jobs: Vec::new(),
        cron: None,
    }
}

/// The time to recover runs from a Redis outage's fault to the first finish of an execution
/// that started after it: the job in flight across the fault (finished at 6 s) and the pod
/// kill (no outage) do not count.
#[test]
fn recovery_is_the_first_job_started_after_a_redis_outage_to_finish() {
    let run = run_of_events(&failover_events(12.1));
    let times: Vec<String> = recovery_times(&run)
        .iter()
        .map(|t| format!("{t:.3}"))
        .collect();
    assert_eq!(times, ["7.100"]);
    // A `fault` row without `fault=` in its detail (an older file) is no outage.
    let old = format!("{EVENTS_HEADER}1.0,0,fault,holder-0,pod,,,,pod_kill\n");
    assert!(recovery_times(&run_of_events(&old)).is_empty());
}

#[test]
fn a_later_recovery_is_outside_tolerance_in_a_pair_and_in_an_envelope() {
    let real = run_of_events(&failover_events(12.1));
    let report = compare_runs(&real, &run_of_events(&failover_events(12.6)));
    assert!(
        metric(&report, "time to recover").passed,
        "{}",
        report.to_table()
    );
    let report = compare_runs(&real, &run_of_events(&failover_events(15.5)));
    let recovery = metric(&report, "time to recover");
    assert!(!recovery.passed);
    assert_eq!(recovery.note, "recovery 1 real 7.100 s sim 10.500 s");
    // 100 seeds recovering 6.5-7.5 s after the fault: 7.1 s is inside, 9.1 s is not.
    let sims: Vec<RunData> = (0..100)
        .map(|seed| run_of_events(&failover_events(11.5 + seed as f64 / 100.0)))
        .collect();
    let tolerances = EnvelopeTolerances::default();
    let inside = compare_envelope(&real, &sims, tolerances);
    assert!(
        metric(&inside, "time to recover").passed,
        "{}",
        inside.to_table()
    );
    let late = run_of_events(&failover_events(14.1));
    let outside = compare_envelope(&late, &sims, tolerances);
    let recovery = metric(&outside, "time to recover");
    assert!(!recovery.passed);
    assert_eq!(
        recovery.note,
        "recovery 1 real 9.100 s outside 6.510…7.480 s"
    );
}
