//! The design's end-to-end target: `scenarios/pod-churn.toml` scaled to 24 simulated hours, 50
//! worker pods and 20 jobs/s, with every output written. Prints wall time, kernel events per
//! second, Redis commands per second and peak memory (VmHWM).
//!
//! `cargo bench --bench pod_churn -- [HOURS or DURATION] [--events=all|faults|none]` (default
//! 24 and all, e.g. `10m`). Run 1 and 2 hours to see that
//! peak memory does not grow with the simulated duration.

use std::alloc::{GlobalAlloc, Layout};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// The allocator of the `simrq` binary, so the figures are those a user sees, counting the
/// allocations (a `realloc` counts as one) so that a change to a hot path shows what it saves.
struct Counting(simrq::alloc::Allocator);

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let count = ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        alloc_sites::sample(count);
        self.0.alloc(layout)
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        self.0.alloc_zeroed(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        self.0.dealloc(ptr, layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        self.0.realloc(ptr, layout, new_size)
    }
}

/// `SIMRQ_ALLOC_SITES=N`: every Nth allocation records the innermost simrq function on its
/// stack, and the bench prints the sites that allocate most (a sampled heap profile: the
/// counting allocator cannot be replaced by an external profiler's).
mod alloc_sites {
    use std::cell::{Cell, RefCell};
    use std::collections::HashMap;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::OnceLock;

    thread_local! {
        static INSIDE: Cell<bool> = const { Cell::new(false) };
        static SITES: RefCell<HashMap<String, u64>> = RefCell::new(HashMap::new());
    }

    fn period() -> u64 {
        static PERIOD: OnceLock<u64> = OnceLock::new();
        *PERIOD.get_or_init(|| {
            std::env::var("SIMRQ_ALLOC_SITES")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        })
    }

    /// [`period`] once it is known (`u64::MAX` before): reading it costs one load, so that
    /// counting allocations with sampling off costs a run next to nothing.
    static KNOWN_PERIOD: AtomicU64 = AtomicU64::new(u64::MAX);

    pub fn sample(count: u64) {
        if KNOWN_PERIOD.load(Ordering::Relaxed) == 0 {
            return;
        }
        // Reading the environment allocates: the guard keeps that from coming back here.
        if INSIDE.with(|inside| inside.replace(true)) {
            return;
        }
        let period = period();
        KNOWN_PERIOD.store(period, Ordering::Relaxed);
        // Scrambled so that a period does not alias with the run's own allocation cycle.
        if period > 0 && (count.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40) % period == 0 {
            let trace = std::backtrace::Backtrace::force_capture().to_string();
            let site = trace
                .lines()
                .filter(|line| line.contains("simrq::") && !line.contains("pod_churn"))
                .take(2)
                .map(|line| {
                    line.trim()
                        .trim_start_matches(|c: char| c.is_ascii_digit() || c == ':' || c == ' ')
                })
                .collect::<Vec<_>>()
                .join(" < ");
            SITES.with(|sites| *sites.borrow_mut().entry(site).or_default() += 1);
        }
        INSIDE.with(|inside| inside.set(false));
    }

    pub fn print(limit: usize) {
        if period() == 0 {
            return;
        }
        INSIDE.with(|inside| inside.set(true));
        SITES.with(|sites| {
            let sites = sites.borrow();
            let total: u64 = sites.values().sum();
            let mut rows: Vec<_> = sites.iter().collect();
            rows.sort_by(|a, b| b.1.cmp(a.1));
            println!(
                "  allocation sites (1 in {} sampled, {total} samples)",
                period()
            );
            for (site, count) in rows.into_iter().take(limit) {
                println!("  {:5.1}%  {site}", 100.0 * *count as f64 / total as f64);
            }
        });
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting(simrq::alloc::Allocator);

use simrq::run::{run_scenario, RunOptions};
use simrq::scenario;

fn scaled_scenario(duration: &str, events: &str) -> simrq::Scenario {
    let text =
        std::fs::read_to_string("scenarios/pod-churn.toml").expect("run from the repository root");
    let mut value: toml::Value = toml::from_str(&text).expect("pod-churn.toml is TOML");
    value["run"]["duration"] = toml::Value::String(duration.to_string());
    let run = value["run"].as_table_mut().expect("[run] is a table");
    run.insert("events".into(), toml::Value::String(events.to_string()));
    value["pods"][0]["replicas"] = toml::Value::Integer(50);
    value["workload"][0]["arrival"] = toml::from_str("poisson_per_s = 20").expect("valid");
    let scaled = toml::to_string(&value).expect("serialises");
    scenario::parse(&scaled, "pod-churn (scaled)").expect("the scaled scenario is valid")
}

fn peak_memory_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// `--events=all|faults|none`: which rows `events.csv` gets (`[run] events`); all by default.
fn events_argument() -> String {
    std::env::args()
        .find_map(|a| a.strip_prefix("--events=").map(str::to_string))
        .unwrap_or_else(|| "all".to_string())
}

/// The simulated duration: the first argument that is a number of hours ("24") or a duration
/// as scenarios write it ("10m", "1h30m"); cargo's own `--bench` flag is skipped.
fn duration_argument() -> String {
    let argument = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with("--"))
        .unwrap_or_else(|| "24".to_string());
    if argument.chars().all(|c| c.is_ascii_digit()) {
        format!("{argument}h")
    } else {
        argument
    }
}

fn main() {
    let duration = duration_argument();
    let events = events_argument();
    let scenario = scaled_scenario(&duration, &events);
    let out = std::env::temp_dir().join(format!("simrq-bench-pod-churn-{duration}"));
    let mut options = RunOptions::new(7, &out, "pod-churn (scaled)");
    options.force = true;
    let started = Instant::now();
    let allocations_before = ALLOCATIONS.load(Ordering::Relaxed);
    let result = run_scenario(&scenario, &options).expect("the run completes");
    let wall_s = started.elapsed().as_secs_f64();
    let allocations = ALLOCATIONS.load(Ordering::Relaxed) - allocations_before;
    println!("pod-churn scaled: {duration} simulated, 50 pods, 20 jobs/s, events = {events}");
    println!("  jobs                {}", result.summary.jobs);
    println!("  wall time           {wall_s:.1} s");
    println!(
        "  kernel events       {} ({:.0}/s)",
        result.events_run,
        result.events_run as f64 / wall_s
    );
    println!(
        "  redis commands      {} ({:.0}/s)",
        result.commands_executed,
        result.commands_executed as f64 / wall_s
    );
    println!(
        "  jobs per second     {:.0}",
        result.summary.jobs as f64 / wall_s
    );
    println!(
        "  heap allocations    {allocations} ({:.0} per job)",
        allocations as f64 / result.summary.jobs.max(1) as f64
    );
    match peak_memory_kib() {
        Some(kib) => println!("  peak memory (VmHWM) {:.1} MiB", kib as f64 / 1024.0),
        None => println!("  peak memory (VmHWM) unavailable"),
    }
    alloc_sites::print(60);
    let _ = std::fs::remove_dir_all(&out);
}
