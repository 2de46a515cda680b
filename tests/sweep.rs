//! `simrq sweep` and `simrq merge`: grids, `--set` errors, and outputs that depend only on the
//! points and seeds, never on cores or shards.

use std::path::Path;
use std::process::Command;

use simrq::sweep::{
    merge, read_sweep, run_sweep, Grid, Shard, SweepPlan, SWEEP_CSV, SWEEP_SUMMARY_CSV,
};

const SMALL: &str = "\
[run]
duration = \"5m\"
drain = \"2m\"
seed = 3

[redis]
latency = \"1us\"

[[pods]]
name = \"worker\"
replicas = 2
start_delay = \"0s\"

[[workload]]
queue = \"default\"
arrival = { poisson_per_s = 1 }
duration = { exponential = { mean = \"1s\" } }

[checks]
max_queue_wait_p99 = \"5s\"
";

fn plan(set: &[&str], runs: u64) -> SweepPlan {
    let base = simrq::scenario::parse(SMALL, "small.toml").unwrap();
    let grid = Grid::parse(&set.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
    SweepPlan::new(
        base,
        SMALL.to_string(),
        "small.toml",
        Path::new(""),
        grid,
        3,
        runs,
    )
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap()
}

const GRID: [&str; 2] = [
    "pods.worker.replicas=1..3",
    "workload.default.arrival.poisson_per_s=0.5,1",
];

#[test]
fn sweep_writes_one_row_per_point_and_seed_and_one_summary_row_per_point() {
    let out = tempfile::tempdir().unwrap();
    let data = run_sweep(&plan(&GRID, 2), None, out.path(), true, &|| {}).unwrap();
    assert_eq!(data.rows.len(), 12);
    let csv = read(out.path(), SWEEP_CSV);
    assert!(csv.starts_with(
        "point,seed,pods.worker.replicas,workload.default.arrival.poisson_per_s,jobs,"
    ));
    assert!(csv.lines().nth(1).unwrap().starts_with("0,3,1,0.5,"));
    let summary = read(out.path(), SWEEP_SUMMARY_CSV);
    assert_eq!(summary.lines().count(), 7);
    assert!(summary.lines().nth(6).unwrap().starts_with("5,3,1,2,"));
    // More workers never make the mean wait longer at the same seeds and rate.
    let wait = |point| data.mean_ci(point, "queue_wait_mean_s").unwrap().0;
    assert!(
        wait(0) >= wait(2) && wait(2) >= wait(4),
        "{} {} {}",
        wait(0),
        wait(2),
        wait(4)
    );
}

#[test]
fn results_do_not_depend_on_the_number_of_cores() {
    let plan = plan(&GRID[..1], 2);
    let outputs: Vec<String> = [1, 2]
        .into_iter()
        .map(|threads| {
            let out = tempfile::tempdir().unwrap();
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| run_sweep(&plan, None, out.path(), true, &|| {}).unwrap());
            read(out.path(), SWEEP_CSV) + &read(out.path(), SWEEP_SUMMARY_CSV)
        })
        .collect();
    assert_eq!(outputs[0], outputs[1]);
}

#[test]
fn merged_shards_equal_a_single_machine_sweep_byte_for_byte() {
    let plan = plan(&GRID, 1);
    let root = tempfile::tempdir().unwrap();
    let whole = root.path().join("whole");
    run_sweep(&plan, None, &whole, false, &|| {}).unwrap();
    let shards: Vec<_> = (0..4)
        .map(|i| {
            let dir = root.path().join(format!("shard-{i}"));
            let shard = Shard::parse(&format!("{i}/4")).unwrap();
            run_sweep(&plan, Some(shard), &dir, false, &|| {}).unwrap();
            dir
        })
        .collect();
    let merged = root.path().join("merged");
    let paths: Vec<&Path> = shards.iter().map(|p| p.as_path()).collect();
    merge(&paths, &merged, false).unwrap();
    for name in [SWEEP_CSV, SWEEP_SUMMARY_CSV, "sweep.json", "scenario.toml"] {
        assert_eq!(read(&whole, name), read(&merged, name), "{name}");
    }
    let error = merge(&paths[..3], &root.path().join("partial"), false).unwrap_err();
    assert!(error.to_string().contains("missing"), "{error}");
}

fn simrq(args: &[&str]) -> (i32, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_simrq"))
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output.status.code().unwrap_or(-1), stderr)
}

#[test]
fn a_bad_set_path_names_the_path_and_the_valid_keys_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("small.toml");
    std::fs::write(&file, SMALL).unwrap();
    let file = file.to_str().unwrap();
    let (code, stderr) = simrq(&["sweep", file, "--set", "pods.wrker.replicas=2..3"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("pods.wrker.replicas") && stderr.contains("valid: worker"),
        "{stderr}"
    );
    let (code, stderr) = simrq(&["sweep", file, "--set", "rqq.variant=2.10"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("valid keys: ") && stderr.contains("rq"),
        "{stderr}"
    );
    let (code, stderr) = simrq(&["sweep", file, "--set", "pods.worker.replicas=-1"]);
    assert_eq!(code, 2, "{stderr}");
    let (code, stderr) = simrq(&["sweep", file, "--shard", "4/4"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("0 <= I < N"), "{stderr}");
}

/// A `--set` value holding commas and quotes (an inline table) is quoted CSV-style on the
/// command line, written quoted into sweep.csv, and read back whole.
#[test]
fn a_value_holding_commas_survives_the_grid_and_sweep_csv() {
    let uniform = r#"{ uniform = { min = "1s", max = "2s" } }"#;
    let option = r#"workload.default.duration="{ uniform = { min = ""1s"", max = ""2s"" } }","5s""#;
    let out = tempfile::tempdir().unwrap();
    let written = run_sweep(&plan(&[option], 1), None, out.path(), true, &|| {}).unwrap();
    let csv = read(out.path(), SWEEP_CSV);
    assert!(
        csv.contains(r#",3,"{ uniform = { min = ""1s"", max = ""2s"" } }","#),
        "{csv}"
    );
    let data = read_sweep(out.path()).unwrap();
    let values: Vec<&str> = data.rows.iter().map(|r| r.values[0].as_str()).collect();
    assert_eq!(values, [uniform, "5s"]);
    assert_eq!(data.rows, written.rows);
}
