//! `simrq run`: one scenario, one seed, from a file to CSV files, a summary, charts and a
//! verdict.
//!
//! ```text
//!  Scenario ──World::build──► kernel runs to duration + drain ──► RedisEndState
//!     │                          │ events                           │
//!     │                          ▼                                  ▼
//!     │          EventsCsv, JobTracker, SchedulerGaps, Checkers ──► Summary ──► files, table
//! ```
//!
//! Workloads and faults are active for `[run] duration`; then `[run] drain` passes with
//! neither, so that liveness can be judged.

pub mod aggregate;
pub mod end_state;
pub mod many;
pub mod world;

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use crate::check::cron::{CronCheck, CronLimits};
use crate::check::dependencies::{DependencyChecks, DependencyLimits};
use crate::check::{CheckClass, CheckConfig, Checkers, Violation};
use crate::event::{EventBus, Name};
use crate::faults::FaultLog;
use crate::report::{
    terminal_table, EventsCsv, JobStats, JobTracker, OutputDir, QueueSeries, RedisMemory,
    ReportError, RunInfo, SchedulerGapReport, SchedulerGaps, SharedSink, Summary, TimeseriesCsv,
};
use crate::rq::cron::CronSchedule;
use crate::scenario::{EventRows, Scenario};
use crate::sim::{Sim, SimDuration, SimTime};

use end_state::RedisEndState;
pub use many::{run_many, run_many_with_progress, seed_dir_name, ManyResult};
use world::World;

/// How to run a scenario.
#[derive(Clone, Debug)]
pub struct RunOptions {
    pub seed: u64,
    pub out: PathBuf,
    pub force: bool,
    /// Relative trace paths are resolved from here (the scenario file's folder).
    pub base_dir: PathBuf,
    /// The scenario as the user named it, for the summary and the replay command.
    pub scenario_label: String,
    /// Draw the charts (SVG and PNG).
    pub charts: bool,
    /// Which rows `events.csv` gets; `None` follows the scenario's `[run] events` (explore
    /// and sweep runs ask for no file: it is the largest one).
    pub events: Option<EventRows>,
}

impl RunOptions {
    /// Every output, for `out` and `seed`; trace paths relative to the current directory.
    pub fn new(seed: u64, out: impl Into<PathBuf>, scenario_label: &str) -> RunOptions {
        RunOptions {
            seed,
            out: out.into(),
            force: false,
            base_dir: PathBuf::new(),
            scenario_label: scenario_label.to_string(),
            charts: true,
            events: None,
        }
    }
}

/// What a run produced.
pub struct RunResult {
    pub summary: Summary,
    pub violations: Vec<Violation>,
    pub jobs: JobStats,
    pub gaps: SchedulerGapReport,
    pub series: Vec<QueueSeries>,
    pub faults: Vec<(SimTime, String)>,
    /// When each `[[faults]]` entry fired, by its index in the scenario.
    pub fault_firings: Vec<(SimTime, usize)>,
    pub events_run: u64,
    pub commands_executed: u64,
}

impl RunResult {
    /// 0 when every check held, 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        if self.summary.all_checks_pass() {
            0
        } else {
            1
        }
    }

    pub fn terminal_table(&self, color: bool) -> String {
        terminal_table(&self.summary, color)
    }
}

/// Why a run could not happen (bad input or unwritable output: exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{0}")]
    Output(#[from] ReportError),
    #[error("{0}")]
    Input(String),
}

/// The checks' configuration from the scenario's `[checks]` and `[run]`.
pub fn check_config(scenario: &Scenario) -> CheckConfig {
    CheckConfig {
        max_retry_lateness: scenario.checks.max_retry_lateness,
        duplicate_executions: scenario.checks.duplicate_executions,
        lost_jobs: scenario.checks.lost_jobs,
        single_active_scheduler: scenario.checks.single_active_scheduler,
        liveness: scenario.checks.liveness,
        // Checked (and given a verdict) only when some workload has `repeat`.
        repeat_count: scenario.checks.repeat_count
            && scenario.workload.iter().any(|w| w.repeat.is_some()),
        drain: scenario.run.drain,
        scheduler_tick: scenario.rq.scheduler_interval,
    }
}

/// The command that replays a run.
pub fn replay_command(options: &RunOptions) -> String {
    format!(
        "simrq run {} --seed {}",
        options.scenario_label, options.seed
    )
}

/// A stable hash of the scenario's settings (its canonical TOML).
pub fn config_hash(scenario: &Scenario) -> String {
    format!(
        "{:016x}",
        crate::sim::rng::stable_hash(scenario.to_toml().as_bytes())
    )
}

struct Sinks {
    events: Option<SharedSink<EventsCsv>>,
    /// The `cron_schedule` check, when the scenario has `[[cron]]` jobs.
    cron: Option<SharedSink<CronCheck>>,
    /// `dependency_order` and `stranded_dependents`, when a workload has `depends_on`.
    dependencies: Option<SharedSink<DependencyChecks>>,
    jobs: SharedSink<JobTracker>,
    gaps: SharedSink<SchedulerGaps>,
    checkers: SharedSink<Checkers>,
    timeseries: Rc<RefCell<TimeseriesCsv>>,
}

fn sinks(
    dir: &OutputDir,
    scenario: &Scenario,
    scheduler_queues: &[Name],
    rows: EventRows,
) -> Result<(Sinks, EventBus), RunError> {
    let events = match rows {
        EventRows::All => Some(SharedSink::new(EventsCsv::create(dir)?)),
        EventRows::Faults => Some(SharedSink::new(EventsCsv::create(dir)?.without_routine())),
        EventRows::None => None,
    };
    let sinks = Sinks {
        events,
        cron: (!scenario.cron.is_empty()).then(|| SharedSink::new(cron_check(scenario))),
        dependencies: has_dependencies(scenario)
            .then(|| SharedSink::new(DependencyChecks::new(dependency_limits(scenario)))),
        jobs: SharedSink::new(JobTracker::create(dir)?),
        gaps: SharedSink::new(SchedulerGaps::new()),
        checkers: SharedSink::new(Checkers::new(&check_config(scenario), scheduler_queues)),
        timeseries: Rc::new(RefCell::new(TimeseriesCsv::create(dir)?)),
    };
    let mut bus = EventBus::new();
    if let Some(events) = &sinks.events {
        bus.add_sink(events.boxed());
    }
    bus.add_sink(sinks.jobs.boxed());
    bus.add_sink(sinks.gaps.boxed());
    bus.add_sink(sinks.checkers.boxed());
    if let Some(cron) = &sinks.cron {
        bus.add_sink(cron.boxed());
    }
    if let Some(dependencies) = &sinks.dependencies {
        bus.add_sink(dependencies.boxed());
    }
    Ok((sinks, bus))
}

/// Runs `scenario` with `options.seed`, writing every output file into `options.out`.
pub fn run_scenario(scenario: &Scenario, options: &RunOptions) -> Result<RunResult, RunError> {
    run_scenario_with_progress(scenario, options, &|_, _| {})
}

/// How many slices a run's simulated time is cut into for progress reports.
const PROGRESS_SLICES: u64 = 500;

/// [`run_scenario`], calling `on_progress(simulated so far, total)` as simulated time passes
/// (about 500 times). The outputs are the same bytes: the kernel runs in slices exactly as in
/// one go (tests/kernel.rs).
pub fn run_scenario_with_progress(
    scenario: &Scenario,
    options: &RunOptions,
    on_progress: &dyn Fn(SimDuration, SimDuration),
) -> Result<RunResult, RunError> {
    let dir = OutputDir::create(&options.out, options.force)?;
    let scheduler_queues: Vec<Name> = scheduler_queues(scenario);
    let rows = options.events.unwrap_or(scenario.run.events);
    let (sinks, bus) = sinks(&dir, scenario, &scheduler_queues, rows)?;
    let active_until = SimTime(scenario.run.duration.as_micros());
    let world = World::build(scenario, options.seed, &options.base_dir, bus, active_until)
        .map_err(RunError::Input)?;
    if let Some(cron) = &sinks.cron {
        cron.borrow_mut()
            .set_origin(world.sim.wall_clock_origin_micros());
    }
    world.start_sampling(
        scenario.run.sample_interval,
        sinks.timeseries.clone(),
        sinks.gaps.clone(),
    );
    let end = active_until + scenario.run.drain;
    run_in_slices(&world.sim, end, on_progress);
    let result = finish(&world, scenario, options, &dir, &sinks, active_until);
    world.sim.teardown();
    result
}

/// Runs the kernel to `end` in [`PROGRESS_SLICES`] slices of at least a simulated second.
fn run_in_slices(sim: &Sim, end: SimTime, on_progress: &dyn Fn(SimDuration, SimDuration)) {
    let total = end.since(SimTime::ZERO);
    let slice = SimDuration((total.0 / PROGRESS_SLICES).max(SimDuration::from_secs(1).0));
    let mut reached = sim.now();
    while reached < end {
        reached = (reached + slice).min(end);
        sim.run_until(reached);
        on_progress(reached.since(SimTime::ZERO), total);
    }
}

/// Runs `scenario` with `seed` and keeps no file: the outputs go to a fresh directory under
/// the system's temporary folder, removed before returning. Trace paths are resolved from
/// `base_dir`. For property tests, `simrq explore` and anything else that only needs the
/// verdicts and the numbers.
pub fn run_quietly(scenario: &Scenario, seed: u64, base_dir: &Path) -> Result<RunResult, RunError> {
    static NEXT_DIR: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let number = NEXT_DIR.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("simrq-{}-{number}", std::process::id()));
    let mut options = RunOptions::new(seed, &dir, "scenario.toml");
    options.base_dir = base_dir.to_path_buf();
    options.force = true;
    options.charts = false;
    options.events = Some(EventRows::None);
    let result = run_scenario(scenario, &options);
    // Best effort: a leftover folder in the temporary directory harms nothing.
    let _ = std::fs::remove_dir_all(&dir);
    result
}

impl Scenario {
    /// Runs the scenario with `seed` and keeps no file (see [`run_quietly`]); trace paths are
    /// resolved from the current directory. The result holds the summary and the violations.
    pub fn run_seed(&self, seed: u64) -> Result<RunResult, RunError> {
        run_quietly(self, seed, Path::new(""))
    }
}

fn scheduler_queues(scenario: &Scenario) -> Vec<Name> {
    let mut queues: Vec<Name> = scenario
        .pods
        .iter()
        .filter(|pod| pod.with_scheduler && pod.replicas > 0)
        .flat_map(|pod| pod.queues.iter().map(|q| Name::from(q.as_str())))
        .collect();
    queues.sort();
    queues.dedup();
    queues
}

fn finish(
    world: &World,
    scenario: &Scenario,
    options: &RunOptions,
    dir: &OutputDir,
    sinks: &Sinks,
    faults_until: SimTime,
) -> Result<RunResult, RunError> {
    let end = world.sim.now();
    let faults_ended_at = last_fault_end(&world.fault_log, scenario, faults_until);
    // Jobs on a queue no pod serves are still in Redis, not lost.
    let queues = world.env.job_queues(world.cluster.queues());
    let end_state = RedisEndState::capture(&world.network, &queues, faults_ended_at);
    let violations = sinks.checkers.borrow_mut().finish(&end_state);
    if let Some(events) = &sinks.events {
        events.borrow_mut().finish()?;
    }
    let mut violations = violations;
    let jobs = sinks.jobs.borrow_mut().finish(end)?;
    let series = sinks.timeseries.borrow_mut().finish()?;
    let gaps = sinks.gaps.borrow_mut().finish(end);
    let mut checks: Vec<String> = sinks
        .checkers
        .borrow()
        .verdicts()
        .into_iter()
        .map(|(name, _)| name.to_string())
        .collect();
    if let Some(limit) = scenario.checks.max_queue_wait_p99 {
        checks.push(QUEUE_WAIT_CHECK.to_string());
        violations.extend(queue_wait_violation(&jobs, limit, end));
    }
    if let Some(check) = &sinks.dependencies {
        let drained = end >= faults_ended_at + scenario.run.drain;
        violations.extend(check.borrow_mut().finish(end, drained));
        checks.extend(check.borrow().verdicts().map(|(name, _)| name.to_string()));
    }
    let cron = sinks.cron.as_ref().map(|check| {
        let (stats, found) = check.borrow().finish(end);
        checks.push(crate::check::cron::NAME.to_string());
        violations.extend(found);
        stats
    });
    let info = RunInfo {
        seed: options.seed,
        scenario: options.scenario_label.clone(),
        config_hash: config_hash(scenario),
        duration: SimDuration(end.as_micros()),
        replay: replay_command(options),
        checks,
    };
    let mut summary = Summary::build(&info, &jobs, &gaps, &violations);
    summary.cron = cron;
    summary.redis_memory = world
        .network
        .with_server(|server| server.memory().map(RedisMemory::of));
    summary.write(dir)?;
    let faults = world.fault_log.borrow().clone();
    let fault_firings = world.fault_firings.borrow().clone();
    let stats = world.sim.stats();
    let result = RunResult {
        summary,
        violations,
        jobs,
        gaps,
        series,
        faults,
        fault_firings,
        events_run: stats.events_run,
        commands_executed: world.network.commands_executed(),
    };
    if options.charts {
        write_charts(dir, &result, end)?;
    }
    Ok(result)
}

fn has_dependencies(scenario: &Scenario) -> bool {
    scenario.workload.iter().any(|w| w.depends_on.is_some())
}

fn dependency_limits(scenario: &Scenario) -> DependencyLimits {
    // A final failure's webhooks come before its `enqueue_dependents`: a parent may take
    // the longest webhook timeout, and a minute more for the round trips and a busy host.
    let longest_webhook = (scenario.workload.iter())
        .filter_map(|w| w.webhook.as_ref().map(|webhook| webhook.timeout))
        .max()
        .unwrap_or(SimDuration::ZERO);
    DependencyLimits {
        order: scenario.checks.dependency_order,
        stranded: scenario.checks.stranded_dependents,
        release_grace: longest_webhook + SimDuration::from_secs(60),
    }
}

/// The `cron_schedule` check of the scenario's `[[cron]]` jobs and `[checks]` limits.
fn cron_check(scenario: &Scenario) -> CronCheck {
    let jobs = scenario
        .cron
        .iter()
        .map(|spec| (Name::from(spec.name.as_str()), CronSchedule::of(spec)))
        .collect();
    let limits = CronLimits {
        duplicates: scenario.checks.cron_duplicates,
        misses: scenario.checks.cron_misses,
        max_lateness: scenario.checks.max_cron_lateness,
    };
    CronCheck::new(jobs, limits)
}

/// The check behind `[checks] max_queue_wait_p99`.
pub const QUEUE_WAIT_CHECK: &str = "queue_wait_p99";

/// A violation when the p99 of the time from enqueue to start, over every job that started,
/// is above `limit` (the same p99 as `summary.json`'s `queue_wait_s.p99`).
fn queue_wait_violation(jobs: &JobStats, limit: SimDuration, end: SimTime) -> Option<Violation> {
    let p99_s = jobs.queue_wait.quantile_s(0.99)?;
    if p99_s <= limit.as_secs_f64() {
        return None;
    }
    let detail = format!(
        "queue wait p99 {p99_s:.3} s over {} started jobs is above max_queue_wait_p99 = {limit}",
        jobs.queue_wait.count()
    );
    Some(Violation::new(
        QUEUE_WAIT_CHECK,
        CheckClass::Safety,
        end,
        detail,
    ))
}

/// Charts of the run, beside the CSV files.
fn write_charts(dir: &OutputDir, result: &RunResult, end: SimTime) -> Result<(), RunError> {
    use crate::report::chart;
    chart::lock_timeline_chart(dir, &result.gaps)?;
    chart::queue_depth_chart(dir, &result.series, &result.faults, end)?;
    chart::retry_lateness_chart(dir, &result.jobs.retry_lateness)?;
    chart::outcomes_chart(dir, &result.jobs.outcomes)?;
    Ok(())
}

/// When the last fault ended: its start plus the longest span any fault lasts (a pause, an
/// outage, a grace period), capped at the end of the active phase.
fn last_fault_end(log: &FaultLog, scenario: &Scenario, fallback: SimTime) -> SimTime {
    let longest_span = scenario
        .faults
        .iter()
        .filter_map(|fault| fault.for_duration)
        .chain(
            scenario
                .pods
                .iter()
                .map(|pod| pod.termination_grace_period + pod.start_delay),
        )
        .max()
        .unwrap_or(SimDuration::ZERO);
    match log.borrow().last() {
        Some((time, _)) => (*time + longest_span).min(fallback),
        None => SimTime::ZERO,
    }
}

/// The folder that relative paths in a scenario file are resolved from.
pub fn base_dir_of(path: &Path) -> PathBuf {
    path.parent().map(Path::to_path_buf).unwrap_or_default()
}
