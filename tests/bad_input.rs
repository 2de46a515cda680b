//! Bad input gives a located error and exit code 2, never a panic: seeds past the largest TOML
//! integer, NaN in the files `simrq compare` reads, batches too large to start at once; and the
//! CSV files users write by hand or in a spreadsheet are read as such end to end.

use std::path::Path;
use std::process::Command;

use simrq::scenario;

fn simrq(args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_simrq"))
        .args(args)
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn scenario_path(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(name)
        .display()
        .to_string()
}

const LARGEST_SEED: &str = "9223372036854775807";

#[test]
fn a_seed_past_the_largest_toml_integer_is_refused_with_exit_2() {
    let file = scenario_path("retry-simple.toml");
    let past = "9223372036854775808";
    let cases: [(&[&str], &str); 4] = [
        (
            &["explore", &file, "--first-seed", past, "--seeds", "1"],
            "--first-seed",
        ),
        (&["run", &file, "--seed", past], "--seed"),
        (&["run", &file, "--seed", "18446744073709551615"], "--seed"),
        (
            &["sweep", &file, "--set", "run.duration=1m", "--seed", past],
            "--seed",
        ),
    ];
    for (args, flag) in cases {
        let (code, _, stderr) = simrq(args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stderr.contains(flag), "{args:?}: {stderr}");
        assert!(stderr.contains(LARGEST_SEED), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

#[test]
fn seeds_that_run_past_the_largest_seed_are_refused_with_exit_2() {
    let file = scenario_path("retry-simple.toml");
    let cases: [&[&str]; 3] = [
        &[
            "explore",
            &file,
            "--first-seed",
            LARGEST_SEED,
            "--seeds",
            "2",
        ],
        &["run", &file, "--seed", LARGEST_SEED, "--runs", "2"],
        &[
            "sweep",
            &file,
            "--set",
            "run.duration=1m",
            "--seed",
            LARGEST_SEED,
            "--runs",
            "2",
        ],
    ];
    for args in cases {
        let (code, _, stderr) = simrq(args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(
            stderr.contains("--runs") || stderr.contains("--seeds"),
            "{stderr}"
        );
        assert!(stderr.contains(LARGEST_SEED), "{args:?}: {stderr}");
    }
}

/// `explore` writes each failing seed into a scenario file as `[run] seed`: the largest seed
/// it accepts must be writable and read back.
#[test]
fn the_largest_seed_round_trips_through_a_scenario_file() {
    let text = std::fs::read_to_string(scenario_path("retry-simple.toml")).unwrap();
    let mut parsed = scenario::parse(&text, "retry-simple.toml").unwrap();
    parsed.run.seed = Some(simrq::cli::MAX_SEED);
    let again = scenario::parse(&parsed.to_toml(), "shrunk.toml").unwrap();
    assert_eq!(again.run.seed, Some(9_223_372_036_854_775_807));
}

#[test]
fn a_batch_too_large_to_start_at_once_is_a_located_error() {
    for (arrival, key) in [
        ("{ count = 100000000 }", "workload[0].arrival.count"),
        (
            "{ bursts = { every = \"10m\", size = 100001 } }",
            "workload[0].arrival.bursts.size",
        ),
    ] {
        let text = format!("[[pods]]\n\n[[workload]]\narrival = {arrival}\n");
        let error = scenario::parse(&text, "big.toml").unwrap_err();
        assert_eq!(error.key.as_deref(), Some(key), "{error}");
        assert_eq!(error.location.map(|l| l.line), Some(4), "{error}");
        assert!(error.message.contains("at most 100000"), "{error}");
    }
    let largest = "[[pods]]\n\n[[workload]]\narrival = { count = 100000 }\n";
    assert!(scenario::parse(largest, "big.toml").is_ok());
}

/// `rq worker`'s options on a group that runs no worker are located errors, and the same keys
/// on a worker group parse.
#[test]
fn worker_options_on_a_group_without_a_worker_are_located_errors() {
    for (option, key) in [
        ("with_scheduler = true", "pods[0].with_scheduler"),
        ("burst = true", "pods[0].burst"),
        ("max_jobs = 5", "pods[0].max_jobs"),
    ] {
        let text = format!("[[pods]]\nworker = false\ncron = true\n{option}\n[[workload]]\n");
        let error = scenario::parse(&text, "modes.toml").unwrap_err();
        assert_eq!(error.key.as_deref(), Some(key), "{error}");
        assert!(error.message.contains("option of `rq worker`"), "{error}");
        let worker = format!("[[pods]]\n{option}\n[[workload]]\n");
        assert!(scenario::parse(&worker, "modes.toml").is_ok(), "{option}");
    }
}

const EVENTS: &str = "time_s,seq,kind,pod,process,queue,job,attempt,detail\n\
    1.000000,0,job_started,w,horse,default,job-0000,1,\"a=1, b=2\"\n\
    1.100000,1,job_failed,w,horse,default,job-0000,1,\n\
    3.600000,2,job_started,w,horse,default,job-0000,2,\n";
const JOBS: &str = "job,queue,enqueued_s,executions,retries_used,outcome,first_start_s,end_s,\
    max_retry_lateness_s\n\
    job-0000,default,0.9,2,1,finished,1.000000,3.700000,0.500000\n";

fn run_dir(root: &Path, name: &str, events: &str, jobs: &str) -> String {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("events.csv"), events).unwrap();
    std::fs::write(dir.join("jobs.csv"), jobs).unwrap();
    dir.display().to_string()
}

#[test]
fn compare_on_nan_times_exits_2_naming_the_file_line_and_column() {
    let root = tempfile::tempdir().unwrap();
    let good = run_dir(root.path(), "good", EVENTS, JOBS);
    let (code, stdout, stderr) = simrq(&["compare", &good, &good]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let nan_events = EVENTS.replace("3.600000", "NaN");
    let bad = run_dir(root.path(), "nan-events", &nan_events, JOBS);
    let (code, _, stderr) = simrq(&["compare", &bad, &good]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("events.csv:4: column `time_s`"), "{stderr}");
    assert!(
        stderr.contains("expected a finite number, got `NaN`"),
        "{stderr}"
    );
    let nan_jobs = JOBS.replace("0.500000", "nan");
    let bad = run_dir(root.path(), "nan-jobs", EVENTS, &nan_jobs);
    let (code, _, stderr) = simrq(&["compare", &good, &bad]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("jobs.csv:2: column `max_retry_lateness_s`"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

const TRACE_SCENARIO: &str = "\
[run]
duration = \"2m\"
drain = \"1m\"
seed = 1

[[pods]]
name = \"worker\"

[[workload]]
queue = \"default\"
arrival = { trace = \"arrivals.csv\" }
duration = { constant = \"10ms\" }
";

/// A trace saved by a spreadsheet (header, quoted cells with commas and quotes, CRLF) runs one
/// job per row; a bad row stops the run with exit 2 naming the file and its line.
#[test]
fn a_trace_saved_by_a_spreadsheet_runs_one_job_per_row() {
    let root = tempfile::tempdir().unwrap();
    let scenario_file = root.path().join("trace.toml");
    std::fs::write(&scenario_file, TRACE_SCENARIO).unwrap();
    let trace = root.path().join("arrivals.csv");
    std::fs::write(
        &trace,
        "\"seconds\",\"note\"\r\n\"1.5\",\"first, \"\"quoted\"\"\"\r\n2,second\r\n\"30\",\r\n",
    )
    .unwrap();
    let out = root.path().join("out");
    let file = scenario_file.display().to_string();
    let out_arg = out.display().to_string();
    let (code, stdout, stderr) = simrq(&["run", &file, "--out", &out_arg, "--force"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let jobs = std::fs::read_to_string(out.join("jobs.csv")).unwrap();
    let mut enqueued: Vec<f64> = jobs
        .lines()
        .skip(1)
        .map(|line| line.split(',').nth(2).unwrap().parse().unwrap())
        .collect();
    enqueued.sort_by(f64::total_cmp);
    assert_eq!(enqueued.len(), 3, "{jobs}");
    for (got, due) in enqueued.iter().zip([1.5, 2.0, 30.0]) {
        assert!(
            *got >= due && *got < due + 0.1,
            "enqueued at {got}, due {due}: {jobs}"
        );
    }

    std::fs::write(&trace, "seconds\r\n1\r\nsoon\r\n").unwrap();
    let (code, _, stderr) = simrq(&["run", &file, "--out", &out_arg, "--force"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("arrivals.csv:3: "), "{stderr}");
    assert!(stderr.contains("\"soon\""), "{stderr}");
}

/// `[[pods]] worker_class` (docs/rq-dependencies-and-operations.md §2.3): an unknown class is
/// a located error listing the classes; the class of a group that runs no worker is one too;
/// RQ's dotted class path parses as the short name.
#[test]
fn a_bad_worker_class_is_a_located_error() {
    let text = "[[pods]]\nworker_class = \"Simple\"\n[[workload]]\n";
    let error = scenario::parse(text, "class.toml").unwrap_err();
    assert_eq!(
        error.key.as_deref(),
        Some("pods[0].worker_class"),
        "{error}"
    );
    assert_eq!(error.location.map(|l| l.line), Some(2), "{error}");
    assert!(error.message.contains("SimpleWorker"), "{error}");

    let cron_only =
        "[[pods]]\nworker = false\ncron = true\nworker_class = \"SimpleWorker\"\n[[workload]]\n";
    let error = scenario::parse(cron_only, "class.toml").unwrap_err();
    assert_eq!(
        error.key.as_deref(),
        Some("pods[0].worker_class"),
        "{error}"
    );
    assert!(error.message.contains("option of `rq worker`"), "{error}");

    for spelling in ["SimpleWorker", "rq.worker.SimpleWorker"] {
        let text = format!("[[pods]]\nworker_class = \"{spelling}\"\n[[workload]]\n");
        let parsed = scenario::parse(&text, "class.toml").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            parsed.pods[0].worker_class,
            simrq::rq::WorkerClass::SimpleWorker
        );
    }
}
