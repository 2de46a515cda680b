//! Jobs per wall second for a bare M/M/10 queue: `scenarios/mmc.toml` scaled to Poisson
//! arrivals of 8 jobs/s, exponential durations of mean 1 s and 10 single-worker pods without a
//! scheduler, for 6 simulated hours (mmc.toml's 1 µs Redis latency and 15 min drain kept).
//! Every Redis command RQ issues is simulated, so this is the figure to set beside a
//! discrete-event simulator that only models the queue (`benches/simpy_mmc.py`).
//!
//! Two runs of the same seed: one writing every output (events.csv included), one with
//! `[run] events = "none"`. Each prints jobs, wall time, jobs per wall second, Redis commands
//! and kernel events (CPU time too, for a shared machine), and the queue's mean wait and share
//! of waits against Erlang C.
//!
//! `cargo bench --bench mmc_throughput -- [HOURS or DURATION]` (default 6, e.g. `30m`).

use std::time::Instant;

/// The allocator of the `simrq` binary, so the figures are those a user sees.
#[global_allocator]
static ALLOCATOR: simrq::alloc::Allocator = simrq::alloc::Allocator;

use simrq::queueing::MmcQueue;
use simrq::run::{run_scenario, RunOptions, RunResult};
use simrq::scenario::{self, EventRows};
use simrq::sweep::figures::fraction_above;
use simrq::sweep::WAITED_THRESHOLD_S;

const ARRIVAL_PER_S: i64 = 8;
const SERVERS: i64 = 10;

fn mmc10_scenario(duration: &str) -> simrq::Scenario {
    let text = std::fs::read_to_string("scenarios/mmc.toml").expect("run from the repository root");
    let mut value: toml::Value = toml::from_str(&text).expect("mmc.toml is TOML");
    value["run"]["duration"] = toml::Value::String(duration.to_string());
    value["pods"][0]["replicas"] = toml::Value::Integer(SERVERS);
    value["pods"][0]["with_scheduler"] = toml::Value::Boolean(false);
    value["workload"][0]["arrival"] =
        toml::from_str(&format!("poisson_per_s = {ARRIVAL_PER_S}")).expect("valid");
    value["workload"][0]["duration"] =
        toml::from_str("exponential = { mean = \"1s\" }").expect("valid");
    let scaled = toml::to_string(&value).expect("serialises");
    scenario::parse(&scaled, "mmc (M/M/10)").expect("the scaled scenario is valid")
}

/// The simulated duration: the first argument that is a number of hours ("6") or a duration
/// as scenarios write it ("30m", "1h30m"); cargo's own `--bench` flag is skipped.
fn duration_argument() -> String {
    let argument = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with("--"))
        .unwrap_or_else(|| "6".to_string());
    if argument.chars().all(|c| c.is_ascii_digit()) {
        format!("{argument}h")
    } else {
        argument
    }
}

/// User plus system CPU seconds of this process so far, from `/proc/self/stat` (Linux; its
/// clock ticks are USER_HZ = 100 per second). On a shared machine wall time includes waiting
/// for a core; CPU time does not, so the two together show how much the figures were crowded.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces; utime and
    // stime are fields 14 and 15 of proc(5), so 11 and 12 here.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / 100.0)
}

/// What one timed run took.
struct Timing {
    wall_s: f64,
    cpu_s: Option<f64>,
}

/// Runs `scenario` into a fresh temporary directory (removed afterwards) and times it.
fn timed_run(scenario: &simrq::Scenario, seed: u64) -> (RunResult, Timing) {
    let out = tempfile::tempdir().expect("a temporary directory");
    let mut options = RunOptions::new(seed, out.path().join("run"), "mmc (M/M/10)");
    options.force = true;
    let cpu_before = cpu_seconds();
    let started = Instant::now();
    let result = run_scenario(scenario, &options).expect("the run completes");
    let wall_s = started.elapsed().as_secs_f64();
    let cpu_s = cpu_seconds()
        .zip(cpu_before)
        .map(|(after, before)| after - before);
    (result, Timing { wall_s, cpu_s })
}

fn print_run(label: &str, result: &RunResult, timing: &Timing) {
    let wall_s = timing.wall_s;
    let per_wall_s = |count: u64| count as f64 / wall_s;
    println!("{label}");
    println!("  jobs                  {}", result.summary.jobs);
    println!("  wall time             {wall_s:.2} s");
    println!(
        "  jobs per wall second  {:.0}",
        per_wall_s(result.summary.jobs)
    );
    match timing.cpu_s {
        Some(cpu_s) => println!(
            "  CPU time              {cpu_s:.2} s ({:.0} jobs per CPU second)",
            result.summary.jobs as f64 / cpu_s
        ),
        None => println!("  CPU time              unavailable"),
    }
    println!(
        "  redis commands        {} ({:.0}/s)",
        result.commands_executed,
        per_wall_s(result.commands_executed)
    );
    println!(
        "  kernel events         {} ({:.0}/s)",
        result.events_run,
        per_wall_s(result.events_run)
    );
}

/// The run's queue waits beside Erlang C: a sanity check that the benchmark measures the
/// queue it claims to (one seed, so expect agreement to a few per cent, not exactly).
fn print_erlang_c(result: &RunResult) {
    let queue = MmcQueue {
        arrival_per_s: ARRIVAL_PER_S as f64,
        service_per_s: 1.0,
        servers: SERVERS as u32,
    };
    let wait = &result.jobs.queue_wait;
    let threshold_ms = WAITED_THRESHOLD_S * 1e3;
    println!("Erlang C check (M/M/10, λ = 8/s, μ = 1/s)");
    println!(
        "  mean queue wait       {:.4} s (Erlang C W_q {:.4} s)",
        wait.mean_s().unwrap_or(f64::NAN),
        queue.mean_wait_s().expect("stable")
    );
    println!(
        "  P(wait > {threshold_ms:.0} ms)       {:.4} (Erlang C {:.4}; P(wait) {:.4})",
        fraction_above(wait, WAITED_THRESHOLD_S).unwrap_or(f64::NAN),
        queue
            .probability_wait_exceeds(WAITED_THRESHOLD_S)
            .expect("stable"),
        queue.probability_of_waiting().expect("stable")
    );
}

fn main() {
    let duration = duration_argument();
    let mut scenario = mmc10_scenario(&duration);
    let seed = scenario.run.seed.unwrap_or(1);
    println!("seed {seed}");
    println!("M/M/10: {duration} simulated, λ = 8 jobs/s, mean duration 1 s, 10 pods");
    let (result, timing) = timed_run(&scenario, seed);
    print_run("every output (events = \"all\")", &result, &timing);
    print_erlang_c(&result);
    scenario.run.events = EventRows::None;
    let (result, timing) = timed_run(&scenario, seed);
    print_run("no events.csv (events = \"none\")", &result, &timing);
}
