//! Same scenario, same seed, same bytes: every output file of two runs is compared byte for
//! byte; a different seed changes `events.csv`; `--runs` gives the same files on one thread
//! as on two.

mod outputs;

use std::collections::BTreeMap;
use std::path::Path;

use outputs::{load, run_into, scenario_path};
use simrq::run::{run_many, seed_dir_name, RunOptions};

/// Every file under `dir` (recursively), by relative path.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut found = BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(folder) = pending.pop() {
        for entry in std::fs::read_dir(&folder).expect("readable output folder") {
            let path = entry.expect("a folder entry").path();
            if path.is_dir() {
                pending.push(path);
            } else {
                let name = path.strip_prefix(dir).unwrap().display().to_string();
                found.insert(name, std::fs::read(&path).expect("readable output"));
            }
        }
    }
    found
}

fn assert_same_files(a: &Path, b: &Path, what: &str) {
    let (first, second) = (files(a), files(b));
    assert_eq!(
        first.keys().collect::<Vec<_>>(),
        second.keys().collect::<Vec<_>>(),
        "{what}: the two runs wrote different files"
    );
    for (name, bytes) in &first {
        assert!(
            bytes == &second[name],
            "{what}: {name} differs between runs"
        );
    }
}

fn same_seed_same_bytes(name: &str) {
    let root = tempfile::tempdir().unwrap();
    let (a, b) = (root.path().join("a"), root.path().join("b"));
    run_into(name, None, &a, true);
    run_into(name, None, &b, true);
    let written = files(&a);
    for expected in [
        "events.csv",
        "jobs.csv",
        "timeseries.csv",
        "summary.json",
        "lock_timeline.svg",
        "lock_timeline.png",
        "queue_depth.svg",
        "retry_lateness.svg",
        "outcomes.png",
    ] {
        assert!(written.contains_key(expected), "{name}: no {expected}");
    }
    assert_same_files(&a, &b, name);
}

#[test]
fn retry_interval_gives_the_same_bytes_twice() {
    same_seed_same_bytes("retry-interval");
}

#[test]
fn holder_crash_gives_the_same_bytes_twice() {
    same_seed_same_bytes("holder-crash");
}

#[test]
fn redis_blip_gives_the_same_bytes_twice() {
    same_seed_same_bytes("redis-blip");
}

#[test]
fn clock_skew_gives_the_same_bytes_twice() {
    same_seed_same_bytes("clock-skew");
}

#[test]
fn another_seed_gives_other_events() {
    let root = tempfile::tempdir().unwrap();
    let (a, b) = (root.path().join("a"), root.path().join("b"));
    run_into("holder-crash", Some(1), &a, false);
    run_into("holder-crash", Some(2), &b, false);
    let events = |dir: &Path| std::fs::read(dir.join("events.csv")).unwrap();
    assert_ne!(events(&a), events(&b));
}

#[test]
fn runs_on_one_thread_and_on_two_write_the_same_files() {
    let scenario = load("holder-crash");
    let root = tempfile::tempdir().unwrap();
    let label = scenario_path("holder-crash").display().to_string();
    let mut outs = Vec::new();
    for threads in [1, 2] {
        let out = root.path().join(format!("threads-{threads}"));
        let mut options = RunOptions::new(0, &out, &label);
        options.charts = false;
        let many = run_many(&scenario, &options, 5..9, threads).expect("four runs");
        assert_eq!(many.summaries.len(), 4);
        let seeds: Vec<u64> = many.summaries.iter().map(|s| s.seed).collect();
        assert_eq!(seeds, [5, 6, 7, 8], "summaries come in seed order");
        assert_eq!(many.aggregate.runs, 4);
        assert!(out.join("aggregate.json").is_file());
        assert_eq!(
            std::fs::read_to_string(out.join("runs.csv"))
                .unwrap()
                .lines()
                .count(),
            5
        );
        assert!(out.join(seed_dir_name(8)).join("events.csv").is_file());
        outs.push(out);
    }
    assert_same_files(&outs[0], &outs[1], "--runs with 1 and 2 threads");
}
