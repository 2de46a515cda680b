//! The conformance rule end to end: simulated runs of a conformance scenario stand in for the
//! real run. A run of the same scenario with seeds outside the envelope's must pass; a run of a
//! deliberately wrong model — a retry one interval late, a takeover that never happens, a job
//! lost — must fail (README, "Fidelity").

use std::path::{Path, PathBuf};

use simrq::compare::{
    compare_dirs_envelope, CompareReport, EnvelopeTolerances, MIN_ENVELOPE_SEEDS,
};
use simrq::run::{run_scenario, RunOptions};
use simrq::scenario::{self, Scenario};

fn conformance_scenario(name: &str) -> Scenario {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/conformance/scenarios")
        .join(format!("{name}.toml"));
    scenario::load(&path).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn run_into(scenario: &Scenario, seed: u64, out: &Path) -> PathBuf {
    let mut options = RunOptions::new(seed, out, "conformance.toml");
    options.charts = false;
    run_scenario(scenario, &options).unwrap();
    out.to_path_buf()
}

/// Seeds 1..=MIN_ENVELOPE_SEEDS of `scenario`: the envelope.
fn envelope(scenario: &Scenario, root: &Path) -> Vec<PathBuf> {
    (1..=MIN_ENVELOPE_SEEDS as u64)
        .map(|seed| run_into(scenario, seed, &root.join(format!("seed-{seed}"))))
        .collect()
}

fn compare(real: &Path, sims: &[PathBuf]) -> CompareReport {
    compare_dirs_envelope(real, sims, EnvelopeTolerances::default()).unwrap()
}

fn failed(report: &CompareReport) -> Vec<&str> {
    report
        .metrics
        .iter()
        .filter(|m| !m.passed)
        .map(|m| m.name.as_str())
        .collect()
}

#[test]
fn other_seeds_of_the_same_model_pass_and_a_retry_one_interval_late_fails() {
    let root = tempfile::tempdir().unwrap();
    let model = conformance_scenario("retry-interval");
    let sims = envelope(&model, root.path());
    for seed in [101, 102, 103] {
        let real = run_into(&model, seed, &root.path().join(format!("real-{seed}")));
        let report = compare(&real, &sims);
        assert!(report.passed(), "seed {seed}:\n{}", report.to_table());
    }
    // The wrong model: every retry waits one interval more (2, 4 s -> 4, 6 s).
    let mut late = model.clone();
    let retry = late.workload[0].retry.as_mut().unwrap();
    retry.interval = retry.interval.iter().map(|i| *i + *i).collect();
    let real = run_into(&late, 101, &root.path().join("late"));
    let report = compare(&real, &sims);
    assert!(
        failed(&report).contains(&"retry delay distribution"),
        "{}",
        report.to_table()
    );
}

#[test]
fn a_takeover_that_never_happens_fails() {
    let root = tempfile::tempdir().unwrap();
    let model = conformance_scenario("holder-crash");
    let sims = envelope(&model, root.path());
    // The wrong model: standbys look for a free lock only every 600 s (RQ's default
    // maintenance interval), so nobody takes it over within the 100 s run.
    let mut never = model.clone();
    never.rq.maintenance_interval = simrq::sim::SimDuration::from_secs(600);
    let real = run_into(&never, 101, &root.path().join("never"));
    let report = compare(&real, &sims);
    assert!(
        failed(&report).contains(&"time to scheduler takeover"),
        "{}",
        report.to_table()
    );
}

#[test]
fn a_lost_job_fails_the_outcome_counts() {
    let root = tempfile::tempdir().unwrap();
    let model = conformance_scenario("redis-restart");
    let sims = envelope(&model, root.path());
    // The wrong model: the restart comes back with every write (as with AOF `always`), so
    // the jobs real RQ lost are not lost.
    let mut kept = model.clone();
    kept.faults[0].persistence = Some(simrq::scenario::Persistence::Aof);
    let real = run_into(&kept, 101, &root.path().join("kept"));
    let report = compare(&real, &sims);
    assert!(
        failed(&report).contains(&"outcome counts"),
        "{}",
        report.to_table()
    );
}

/// repeat-interval (docs/repeat-and-webhooks.md): other seeds pass; a model that repeats one
/// time too few fails the counts, and one whose repeats wait twice as long fails the delays.
/// (The order of the intervals, RQ's reading of the list from its end, is not visible here:
/// both readings give each job the same set of delays. tests/rq_repeat.rs pins the order.)
#[test]
fn repeat_interval_passes_other_seeds_and_fails_fewer_or_later_repeats() {
    let root = tempfile::tempdir().unwrap();
    let model = conformance_scenario("repeat-interval");
    let sims = envelope(&model, root.path());
    let real = run_into(&model, 101, &root.path().join("real-101"));
    let report = compare(&real, &sims);
    assert!(report.passed(), "{}", report.to_table());
    let mut fewer = model.clone();
    fewer.workload[0].repeat.as_mut().unwrap().times = 1;
    let real = run_into(&fewer, 101, &root.path().join("fewer"));
    let report = compare(&real, &sims);
    assert!(
        failed(&report).contains(&"executions per job"),
        "{}",
        report.to_table()
    );
    let mut late = model.clone();
    let repeat = late.workload[0].repeat.as_mut().unwrap();
    repeat.interval = repeat.interval.iter().map(|i| *i + *i).collect();
    let real = run_into(&late, 101, &root.path().join("late"));
    let report = compare(&real, &sims);
    assert!(
        failed(&report).contains(&"retry delay distribution"),
        "{}",
        report.to_table()
    );
}

/// A simulated run laid out as the conformance harness writes a real one: events.csv and
/// jobs.csv, and, instead of summary.json, settings.json's `cron` section (the schedules, the
/// Unix time of instant zero, the end) from which `simrq compare` judges the cron jobs itself.
fn as_harness_run(scenario: &Scenario, sim: &Path, out: &Path) -> PathBuf {
    std::fs::create_dir_all(out).unwrap();
    for file in ["events.csv", "jobs.csv"] {
        std::fs::copy(sim.join(file), out.join(file)).unwrap();
    }
    let jobs: Vec<serde_json::Value> = scenario
        .cron
        .iter()
        .map(|job| match (&job.interval, &job.cron) {
            (Some(interval), _) => {
                serde_json::json!({"name": job.name, "interval_s": interval.whole_secs()})
            }
            (None, text) => serde_json::json!({"name": job.name, "cron": text}),
        })
        .collect();
    let end_s = (scenario.run.duration + scenario.run.drain).as_secs_f64();
    // The conformance scenarios leave `wall_clock_phase` at 0: instant zero is simrq's epoch.
    let t0 = simrq::event::EPOCH_UNIX_S;
    let settings = serde_json::json!({"cron": {"t0_unix_s": t0, "end_s": end_s, "jobs": jobs}});
    std::fs::write(out.join("settings.json"), settings.to_string()).unwrap();
    out.to_path_buf()
}

#[test]
fn cron_counts_from_the_harness_files_match_the_check_and_a_lock_would_fail_them() {
    let root = tempfile::tempdir().unwrap();
    let model = conformance_scenario("cron-two-processes");
    let sims = envelope(&model, root.path());
    for seed in [101, 102] {
        let sim = run_into(&model, seed, &root.path().join(format!("sim-{seed}")));
        let real = as_harness_run(&model, &sim, &root.path().join(format!("real-{seed}")));
        // The same figures from events.csv as the check wrote into summary.json.
        assert_eq!(
            simrq::compare::cron::read_cron(&real).unwrap(),
            simrq::compare::cron::read_cron(&sim).unwrap()
        );
        let report = compare(&real, &sims);
        assert!(report.passed(), "seed {seed}:\n{}", report.to_table());
    }
    // The wrong model: only one `rq cron` enqueues (as if it took a lock).
    let mut one = model.clone();
    one.pods[0].replicas = 1;
    let sim = run_into(&one, 101, &root.path().join("one"));
    let real = as_harness_run(&one, &sim, &root.path().join("one-real"));
    let report = compare(&real, &sims);
    let failed = failed(&report);
    assert!(
        failed.contains(&"cron enqueues") && failed.contains(&"cron duplicate enqueues"),
        "{}",
        report.to_table()
    );
}

#[test]
fn a_restart_that_resumed_the_schedule_fails_the_missed_instants() {
    let root = tempfile::tempdir().unwrap();
    let model = conformance_scenario("cron-kill-restart");
    let sims = envelope(&model, root.path());
    let sim = run_into(&model, 101, &root.path().join("sim"));
    let real = as_harness_run(&model, &sim, &root.path().join("real"));
    let report = compare(&real, &sims);
    assert!(report.passed(), "{}", report.to_table());
    // The wrong model: `rq cron` is back within a second, before the minute instant.
    let mut quick = model.clone();
    quick.pods[0].crash_loop_backoff.initial = simrq::sim::SimDuration::from_millis(500);
    let sim = run_into(&quick, 101, &root.path().join("quick"));
    let real = as_harness_run(&quick, &sim, &root.path().join("quick-real"));
    let report = compare(&real, &sims);
    assert!(
        failed(&report).contains(&"cron missed instants"),
        "{}",
        report.to_table()
    );
}
