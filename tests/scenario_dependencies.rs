//! `[[workload]] depends_on` and the `[checks]` keys of dependencies, through whole scenario
//! runs: each key against a run without it, so a key the model ignored fails here
//! (docs/scenario-format.md, docs/rq-dependencies-and-operations.md).

mod outputs;

use outputs::EventRow;
use simrq::report::summary::Verdict;
use simrq::run::{run_scenario, RunOptions, RunResult};

/// Runs `text` (seed 1) and returns the result and its events.csv rows.
fn run(text: &str) -> (RunResult, Vec<EventRow>) {
    let dir = tempfile::tempdir().unwrap();
    let scenario = simrq::scenario::parse(text, "inline.toml").unwrap_or_else(|e| panic!("{e}"));
    let mut options = RunOptions::new(1, dir.path().join("out"), "inline.toml");
    options.charts = false;
    let result = run_scenario(&scenario, &options).unwrap();
    (result, outputs::read_events(&dir.path().join("out")))
}

/// Two pipeline runs (at 1 s and 3 s) of `extract` then `load`, one worker; `extract` and
/// `load` get the extra lines.
fn pipeline(extract: &str, load: &str) -> String {
    format!(
        r#"
[run]
duration = "1m"
drain = "2m"

[[pods]]
name = "worker"
queues = ["etl"]

[[workload]]
name = "extract"
queue = "etl"
arrival = {{ constant_per_s = 0.5 }}
start = "1s"
jobs = 2
duration = "1s"
{extract}

[[workload]]
name = "load"
queue = "etl"
duration = "100ms"
{load}
"#
    )
}

fn jobs_of(events: &[EventRow], kind: &str) -> Vec<String> {
    outputs::of_kind(events, kind)
        .iter()
        .map(|e| e.job.clone())
        .collect()
}

fn first_time(events: &[EventRow], kind: &str, job: &str) -> f64 {
    events
        .iter()
        .find(|e| e.kind == kind && e.job == job)
        .unwrap_or_else(|| panic!("no {kind} of {job}"))
        .time_s
}

/// `depends_on`: without it `load` is a workload of its own (one job a second); with it, each
/// `extract` job is followed by `fan_out` `load` jobs that start only after it finished.
#[test]
fn depends_on_makes_a_pipeline_of_fan_out_jobs_after_their_parent() {
    let (alone, _) = run(&pipeline("", ""));
    let (piped, events) = run(&pipeline(
        "",
        r#"depends_on = { workloads = ["extract"], fan_out = 3 }"#,
    ));
    assert!(alone.summary.jobs > 30, "{}", alone.summary.jobs);
    assert_eq!(piped.summary.jobs, 2 + 2 * 3);
    assert_eq!(jobs_of(&events, "job_deferred").len(), 6);
    let parents = outputs::of_kind(&events, "job_depends_on");
    assert_eq!(parents[0].detail("parents").as_deref(), Some("[j1]"));
    for child in ["j2", "j3", "j4"] {
        assert!(
            first_time(&events, "job_started", child) > first_time(&events, "job_finished", "j1")
        );
    }
    assert_eq!(piped.summary.checks["dependency_order"], Verdict::Pass);
    assert_eq!(piped.summary.checks["stranded_dependents"], Verdict::Pass);
    assert!(!alone.summary.checks.contains_key("dependency_order"));
}

/// `allow_failure`: a parent that fails for good releases the job only with it; without,
/// the job stays deferred by design (no check fails).
#[test]
fn allow_failure_lets_a_failed_parent_release_its_jobs() {
    let failing = "fail_probability = 1.0";
    let (strict, events) = run(&pipeline(
        failing,
        r#"depends_on = { workloads = ["extract"] }"#,
    ));
    assert!(jobs_of(&events, "job_started")
        .iter()
        .all(|job| job == "j1" || job == "j3"));
    assert_eq!(strict.exit_code(), 0, "{:?}", strict.violations);
    let (tolerant, events) = run(&pipeline(
        failing,
        r#"depends_on = { workloads = ["extract"], allow_failure = true }"#,
    ));
    assert_eq!(tolerant.summary.executions, 4);
    assert!(jobs_of(&events, "job_started").contains(&"j2".to_string()));
}

/// `enqueue_at_front`: a released job goes before jobs already waiting on its queue.
#[test]
fn enqueue_at_front_puts_released_jobs_before_waiting_ones() {
    let order = |flag: &str| {
        let text = pipeline(
            "",
            &format!(r#"depends_on = {{ workloads = ["extract"], fan_out = 2 {flag} }}"#),
        )
        .replace(
            "[[workload]]\nname = \"load\"",
            "[[workload]]\nname = \"other\"\nqueue = \"etl\"\narrival = { count = 5, at = \"1.5s\" }\nduration = \"1s\"\n\n[[workload]]\nname = \"load\"",
        );
        let (_, events) = run(&text);
        let load = first_time(&events, "job_started", "j2");
        let others: Vec<f64> = outputs::of_kind(&events, "job_started")
            .iter()
            .filter(|e| e.process.contains("horse") && e.job.starts_with('j'))
            .filter(|e| e.time_s < load)
            .map(|e| e.time_s)
            .collect();
        others.len()
    };
    let front = order(", enqueue_at_front = true");
    let back = order("");
    assert!(front < back, "front {front}, back {back}");
}

/// `delay`: the producer waits this long before enqueueing the dependent jobs.
#[test]
fn delay_postpones_the_dependent_jobs_enqueue() {
    let created = |extra: &str| {
        let (_, events) = run(&pipeline(
            "",
            &format!(r#"depends_on = {{ workloads = ["extract"]{extra} }}"#),
        ));
        // The first dependent job, whatever its id (the second root job may come first).
        outputs::of_kind(&events, "job_depends_on")[0].time_s
            - first_time(&events, "job_created", "j1")
    };
    assert!(created("") < 0.1);
    let delayed = created(r#", delay = "5s""#);
    assert!((delayed - 5.0).abs() < 0.1, "{delayed}");
}

/// `[checks] dependency_order`: `enqueue_in` on a dependent workload registers nothing, so
/// its jobs run while their parent still runs (race D10); a limit tolerates them.
#[test]
fn dependency_order_fails_on_enqueue_in_and_a_limit_loosens_it() {
    let text = pipeline(
        "",
        "depends_on = { workloads = [\"extract\"] }\nenqueue_in = \"1s\"",
    )
    .replace("duration = \"1s\"", "duration = \"10s\"")
    .replace("jobs = 2", "jobs = 1")
    .replace(
        "drain = \"2m\"",
        "drain = \"2m\"\n\n[[pods]]\nname = \"sched\"\nwith_scheduler = true\nqueues = [\"etl\"]",
    );
    let (result, _) = run(&text);
    assert_eq!(result.summary.checks["dependency_order"], Verdict::Fail);
    let violation = result
        .violations
        .iter()
        .find(|v| v.check == "dependency_order")
        .unwrap();
    assert!(
        violation.detail.contains("had not finished"),
        "{}",
        violation.detail
    );
    let tolerant = text.replace(
        "drain = \"2m\"",
        "drain = \"2m\"\n\n[checks]\ndependency_order = 10",
    );
    let (result, _) = run(&tolerant);
    assert_eq!(result.summary.checks["dependency_order"], Verdict::Pass);
}

/// `[checks] stranded_dependents` (race D3, rq-semantics R18): the horse of a failing parent
/// is killed during its 5 s `failed` webhook (the pod starts at 5 s, the job fails at 6 s,
/// the kill comes at 8 s), before `enqueue_dependents`: the
/// `allow_failure` job stays deferred for good. The control run, without the kill, runs it.
#[test]
fn stranded_dependents_fails_after_a_death_between_failure_and_release() {
    let parent = "fail_probability = 1.0\nwebhook = { on = \"failed\", latency = \"5s\" }";
    let child = r#"depends_on = { workloads = ["extract"], allow_failure = true }"#;
    let control = pipeline(parent, child).replace("jobs = 2", "jobs = 1");
    let (result, _) = run(&control);
    assert_eq!(result.summary.checks["stranded_dependents"], Verdict::Pass);
    assert_eq!(result.summary.executions, 2);
    let killed =
        format!("{control}\n[[faults]]\nkind = \"pod_kill\"\npods = \"worker\"\nat = \"8s\"\n");
    let (result, _) = run(&killed);
    assert_eq!(result.summary.checks["stranded_dependents"], Verdict::Fail);
    assert_eq!(result.summary.checks["liveness"], Verdict::Pass);
    assert_eq!(result.summary.checks["lost_job"], Verdict::Pass);
    let tolerant = killed.replace(
        "drain = \"2m\"",
        "drain = \"2m\"\n\n[checks]\nstranded_dependents = 1",
    );
    let (result, _) = run(&tolerant);
    assert_eq!(result.summary.checks["stranded_dependents"], Verdict::Pass);
}
