//! Checks that need the whole parsed scenario: ranges, references between sections, and
//! combinations that RQ or Kubernetes would reject. Errors stop a run; warnings are printed.

use std::collections::BTreeSet;

use super::cron::CronSpec;
use super::distribution::Distribution;
use super::errors::ErrorKind;
use super::faults::{FaultKind, FaultSpec, Target};
use super::model::Scenario;
use super::pods::PodSpec;
use super::workload::{Arrival, WorkloadSpec};
use crate::rq::cron_expr::CronExpr;
use crate::rq::WorkerClass;
use crate::sim::SimDuration;

/// Longest duration accepted for times and periods: longer is a typo, not a scenario.
pub const MAX_DURATION: SimDuration = SimDuration::from_secs(30 * 86_400);
/// Longest retention accepted (`result_ttl`, `failure_ttl`, `ttl`); RQ's default is one year.
pub const MAX_RETENTION: SimDuration = SimDuration::from_secs(10 * 365 * 86_400);
/// Most pods in one group, and in the whole scenario.
pub const MAX_PODS: u32 = 10_000;
/// Most retries of one job.
pub const MAX_RETRIES: u32 = 1_000;
/// Most repeats of one job.
pub const MAX_REPEATS: u32 = 1_000;
/// Highest arrival rate, jobs per second per workload.
pub const MAX_ARRIVALS_PER_S: f64 = 1_000_000.0;
/// Highest random fault rate, per second (one fault every 10 ms is already a stress test).
pub const MAX_FAULTS_PER_S: f64 = 100.0;
/// Most jobs in one burst or batch. Each job of a batch is a process started at the same
/// instant: 10^5 of them take about 1 GB and 12 s; 10^6 took 10 GB and over 3 minutes.
pub const MAX_BATCH_JOBS: u64 = 100_000;

/// `[calibration]`: a source, and a window whose ends are RQ timestamps in order.
fn check_calibration(calibration: &super::model::CalibrationSpec, findings: &mut Findings) {
    if calibration.source.trim().is_empty() {
        findings.error(
            "calibration.source",
            "must name the Redis the sample came from",
        );
    }
    let mut ends = [None, None];
    for (slot, (key, value)) in [("from", &calibration.from), ("to", &calibration.to)]
        .into_iter()
        .enumerate()
    {
        let Some(text) = value else { continue };
        ends[slot] = crate::calibrate::record::parse_rq_time(text);
        if ends[slot].is_none() {
            findings.error(
                format!("calibration.{key}"),
                format!("`{text}` is not a UTC time such as \"2026-12-07T23:00:00Z\""),
            );
        }
    }
    if let [Some(from), Some(to)] = ends {
        if from > to {
            findings.error("calibration.to", "is before calibration.from");
        }
    }
}

/// One finding, attached to a key path such as `pods[1].replicas`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issue {
    pub path: String,
    pub kind: ErrorKind,
    pub message: String,
}

/// Everything [`validate`] found: errors (the scenario cannot run) and warnings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Findings {
    pub errors: Vec<Issue>,
    pub warnings: Vec<Issue>,
}

impl Findings {
    fn error(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.errors.push(Issue {
            path: path.into(),
            kind: ErrorKind::InvalidValue,
            message: message.into(),
        });
    }

    fn reference(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.errors.push(Issue {
            path: path.into(),
            kind: ErrorKind::Reference,
            message: message.into(),
        });
    }

    fn warn(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.warnings.push(Issue {
            path: path.into(),
            kind: ErrorKind::InvalidValue,
            message: message.into(),
        });
    }

    fn duration(&mut self, path: &str, value: SimDuration, positive: bool, limit: SimDuration) {
        if positive && value == SimDuration::ZERO {
            self.error(path, "must be greater than zero");
        } else if value > limit {
            self.error(path, format!("{value} is longer than the limit of {limit}"));
        }
    }

    /// RQ takes these as whole seconds (an `int` option or a timeout/TTL stored in the job
    /// hash): a fraction would be silently truncated, so it is refused.
    fn whole_seconds(&mut self, path: &str, value: SimDuration) {
        if value.as_micros() % 1_000_000 != 0 {
            self.error(
                path,
                format!(
                    "{value}: RQ takes whole seconds here; write e.g. \"{}s\"",
                    value.whole_secs().max(1)
                ),
            );
        }
    }

    fn probability(&mut self, path: &str, value: f64) {
        if !(0.0..=1.0).contains(&value) {
            self.error(
                path,
                format!("{value} is not a probability: expected 0.0 ≤ p ≤ 1.0"),
            );
        }
    }
}

/// Checks a parsed scenario. A scenario from [`super::parse`] has already passed.
pub fn validate(scenario: &Scenario) -> Findings {
    let mut findings = Findings::default();
    if scenario.pods.is_empty() || (scenario.workload.is_empty() && scenario.cron.is_empty()) {
        let path = if scenario.pods.is_empty() {
            "pods"
        } else {
            "workload"
        };
        findings.errors.push(Issue {
            path: path.into(),
            kind: ErrorKind::Empty,
            message: "empty scenario: at least one [[pods]] and one [[workload]] or [[cron]]"
                .into(),
        });
        return findings;
    }
    check_run_and_rq(scenario, &mut findings);
    check_pods(&scenario.pods, &mut findings);
    for (position, workload) in scenario.workload.iter().enumerate() {
        check_workload(&format!("workload[{position}]"), workload, &mut findings);
    }
    check_workload_names(&scenario.workload, &mut findings);
    check_dependencies(&scenario.workload, &mut findings);
    for (position, cron) in scenario.cron.iter().enumerate() {
        check_cron(&format!("cron[{position}]"), cron, &mut findings);
    }
    check_cron_names(scenario, &mut findings);
    check_cron_pods(scenario, &mut findings);
    check_queues_served(scenario, &mut findings);
    if let Some(calibration) = &scenario.calibration {
        check_calibration(calibration, &mut findings);
    }
    for (position, fault) in scenario.faults.iter().enumerate() {
        check_fault(
            &format!("faults[{position}]"),
            fault,
            scenario,
            &mut findings,
        );
    }
    findings
}

fn check_run_and_rq(scenario: &Scenario, findings: &mut Findings) {
    let run = &scenario.run;
    findings.duration("run.duration", run.duration, true, MAX_DURATION);
    findings.duration(
        "run.sample_interval",
        run.sample_interval,
        true,
        MAX_DURATION,
    );
    findings.duration("run.drain", run.drain, false, MAX_DURATION);
    for (name, value) in run.wall_clock_phase.parameters() {
        let path = format!("run.wall_clock_phase.{name}");
        findings.duration(&path, value, false, SimDuration::from_secs(1));
    }
    if let Some(problem) = run.wall_clock_phase.inconsistency() {
        findings.error("run.wall_clock_phase", problem);
    }
    if let Some(ttl) = scenario.rq.cron_lock_ttl {
        findings.duration("rq.cron_lock_ttl", ttl, true, MAX_DURATION);
        findings.whole_seconds("rq.cron_lock_ttl", ttl);
    }
    let redis = &scenario.redis;
    check_distribution("redis.latency", &redis.latency, findings);
    check_distribution("redis.startup", &redis.startup, findings);
    findings.duration(
        "redis.connect_timeout",
        redis.connect_timeout,
        true,
        MAX_DURATION,
    );
    if let Some(timeout) = redis.socket_timeout {
        findings.duration("redis.socket_timeout", timeout, true, MAX_DURATION);
    }
    if let Some(period) = redis.snapshot_every {
        findings.duration("redis.snapshot_every", period, true, MAX_DURATION);
    }
    check_replication(scenario, findings);
    check_memory(scenario, findings);
    if redis.appendfsync.is_some() && !redis.appendonly {
        findings.error(
            "redis.appendfsync",
            "has no effect without `appendonly = true`: Redis only syncs an AOF it writes",
        );
    }
    if redis.client_retries > 100 {
        findings.error(
            "redis.client_retries",
            "more than 100 client retries: expected 0 … 100",
        );
    }
    let rq = &scenario.rq;
    for (name, value) in [
        ("worker_ttl", rq.worker_ttl),
        ("job_monitoring_interval", rq.job_monitoring_interval),
        ("maintenance_interval", rq.maintenance_interval),
        ("scheduler_interval", rq.scheduler_interval),
        ("scheduler_fallback_period", rq.scheduler_fallback_period),
        ("default_job_timeout", rq.default_job_timeout),
        ("maintenance_lock_ttl", rq.maintenance_lock_ttl),
        (
            "intermediate_stuck_threshold",
            rq.intermediate_stuck_threshold,
        ),
        ("max_connection_wait", rq.max_connection_wait),
    ] {
        findings.duration(&format!("rq.{name}"), value, true, MAX_DURATION);
    }
    for (name, value) in [
        ("worker_ttl", rq.worker_ttl),
        ("job_monitoring_interval", rq.job_monitoring_interval),
        ("maintenance_interval", rq.maintenance_interval),
        ("default_job_timeout", rq.default_job_timeout),
        ("result_ttl", rq.result_ttl),
        ("failure_ttl", rq.failure_ttl),
        ("maintenance_lock_ttl", rq.maintenance_lock_ttl),
    ] {
        findings.whole_seconds(&format!("rq.{name}"), value);
    }
    for (name, value) in [
        ("worker_startup", &rq.worker_startup),
        ("horse_startup", &rq.horse_startup),
        ("horse_exit", &rq.horse_exit),
        ("prepare_execution_stall", &rq.prepare_execution_stall),
        ("worker_loop_cost", &rq.worker_loop_cost),
    ] {
        check_distribution(&format!("rq.{name}"), value, findings);
    }
    findings.duration(
        "rq.hard_kill_grace",
        rq.hard_kill_grace,
        false,
        MAX_DURATION,
    );
    findings.duration("rq.result_ttl", rq.result_ttl, false, MAX_RETENTION);
    findings.duration("rq.failure_ttl", rq.failure_ttl, false, MAX_RETENTION);
    if rq.due_jobs_per_tick == 0 {
        findings.error("rq.due_jobs_per_tick", "must be at least 1");
    }
}

fn check_pods(pods: &[PodSpec], findings: &mut Findings) {
    let mut names = BTreeSet::new();
    let mut total: u64 = 0;
    for (position, pod) in pods.iter().enumerate() {
        let path = format!("pods[{position}]");
        if pod.name.trim().is_empty() {
            findings.error(format!("{path}.name"), "a pod group needs a name");
        } else if !names.insert(pod.name.as_str()) {
            findings.reference(
                format!("{path}.name"),
                format!(
                    "duplicate pod group name `{}`: each [[pods]] needs its own name",
                    pod.name
                ),
            );
        }
        if pod.replicas > MAX_PODS {
            findings.error(
                format!("{path}.replicas"),
                format!("{} replicas: expected at most {MAX_PODS}", pod.replicas),
            );
        }
        total += u64::from(pod.replicas);
        if !pod.worker && !pod.cron {
            findings.error(
                format!("{path}.worker"),
                "a pod runs `rq worker` (worker = true), `rq cron` (cron = true) or both",
            );
        }
        let worker_only = [
            ("with_scheduler", pod.with_scheduler),
            ("burst", pod.burst),
            ("max_jobs", pod.max_jobs.is_some()),
            ("worker_class", pod.worker_class != WorkerClass::Worker),
        ];
        if let Some((key, _)) = worker_only.iter().find(|(_, set)| !pod.worker && *set) {
            findings.error(
                format!("{path}.{key}"),
                "is an option of `rq worker`, and this group runs no worker (worker = false)",
            );
        }
        if pod.worker && pod.queues.is_empty() {
            findings.error(
                format!("{path}.queues"),
                "a worker listens on at least one queue",
            );
        }
        findings.duration(
            &format!("{path}.termination_grace_period"),
            pod.termination_grace_period,
            false,
            MAX_DURATION,
        );
        findings.duration(
            &format!("{path}.start_delay"),
            pod.start_delay,
            false,
            MAX_DURATION,
        );
        let backoff = pod.crash_loop_backoff;
        findings.duration(
            &format!("{path}.crash_loop_backoff.cap"),
            backoff.cap,
            false,
            MAX_DURATION,
        );
        if backoff.initial > backoff.cap {
            findings.error(
                format!("{path}.crash_loop_backoff.initial"),
                format!("{} is above the cap {}", backoff.initial, backoff.cap),
            );
        }
        let rollout = pod.rollout;
        if rollout.max_surge.resolve(pod.replicas.max(1), true) == 0
            && rollout.max_unavailable.resolve(pod.replicas.max(1), false) == 0
        {
            findings.error(
                format!("{path}.rollout"),
                "max_surge and max_unavailable cannot both be 0: a rollout could never progress",
            );
        }
    }
    if total > u64::from(MAX_PODS) && pods.iter().all(|pod| pod.replicas <= MAX_PODS) {
        findings.error(
            "pods",
            format!("{total} pods in all: expected at most {MAX_PODS}"),
        );
    }
}

fn check_distribution(path: &str, distribution: &Distribution, findings: &mut Findings) {
    for (name, value) in distribution.parameters() {
        findings.duration(&format!("{path}.{name}"), value, false, MAX_DURATION);
    }
    if let Some(problem) = distribution.inconsistency() {
        findings.error(path, problem);
    }
}

fn check_workload(path: &str, workload: &WorkloadSpec, findings: &mut Findings) {
    check_arrival(&format!("{path}.arrival"), &workload.arrival, findings);
    check_distribution(&format!("{path}.duration"), &workload.duration, findings);
    findings.probability(
        &format!("{path}.fail_probability"),
        workload.fail_probability,
    );
    findings.probability(
        &format!("{path}.hang_probability"),
        workload.hang_probability,
    );
    let mut total = workload.fail_probability + workload.hang_probability;
    if let Some(returned) = &workload.return_retry {
        findings.probability(
            &format!("{path}.return_retry.probability"),
            returned.probability,
        );
        check_retry_counts(
            &format!("{path}.return_retry"),
            returned.max,
            &returned.interval,
            findings,
        );
        total += returned.probability;
    }
    let each_valid = [
        workload.fail_probability,
        workload.hang_probability,
        total - workload.fail_probability - workload.hang_probability,
    ]
    .iter()
    .all(|probability| (0.0..=1.0).contains(probability));
    if total > 1.0 + 1e-9 && each_valid {
        findings.error(
            format!("{path}.fail_probability"),
            format!("fail, hang and return_retry probabilities add up to {total}, above 1"),
        );
    }
    if let Some(retry) = &workload.retry {
        check_retry_counts(
            &format!("{path}.retry"),
            retry.max,
            &retry.interval,
            findings,
        );
    }
    if workload.queue.trim().is_empty() {
        findings.error(format!("{path}.queue"), "a queue needs a name");
    }
    for (name, value, positive) in [
        ("job_timeout", workload.job_timeout, true),
        ("enqueue_in", workload.enqueue_in, false),
        ("start", workload.start, false),
    ] {
        if let Some(value) = value {
            findings.duration(&format!("{path}.{name}"), value, positive, MAX_DURATION);
        }
    }
    check_job_limits(path, workload, findings);
    check_repeat_and_webhook(path, workload, findings);
    for (name, value) in [
        ("result_ttl", workload.result_ttl),
        ("failure_ttl", workload.failure_ttl),
        ("ttl", workload.ttl),
    ] {
        if let Some(value) = value {
            findings.duration(&format!("{path}.{name}"), value, false, MAX_RETENTION);
        }
    }
    for (name, value) in [
        ("job_timeout", workload.job_timeout),
        ("result_ttl", workload.result_ttl),
        ("failure_ttl", workload.failure_ttl),
        ("ttl", workload.ttl),
    ] {
        if let Some(value) = value {
            findings.whole_seconds(&format!("{path}.{name}"), value);
        }
    }
}

/// Each workload's jobs run the workload's own job function, found by its name (which
/// defaults to the queue): two workloads with one name would silently share a behaviour.
fn check_workload_names(workloads: &[WorkloadSpec], findings: &mut Findings) {
    let mut names = BTreeSet::new();
    for (position, workload) in workloads.iter().enumerate() {
        if !names.insert(workload.label()) {
            let key = if workload.name.is_some() {
                "name"
            } else {
                "queue"
            };
            findings.reference(
                format!("workload[{position}].{key}"),
                format!(
                    "duplicate workload name `{}` (a name defaults to the queue): give each \
                     [[workload]] on one queue its own `name`",
                    workload.label()
                ),
            );
        }
    }
}

/// The most jobs of one workload a pipeline run enqueues (`depends_on.fan_out`).
const MAX_FAN_OUT: u32 = 1_000;

/// `depends_on`: each name is an earlier workload, all of one pipeline; the workload gets no
/// arrivals of its own (its pipeline's root enqueues it); `fan_out` and `delay` in range.
fn check_dependencies(workloads: &[WorkloadSpec], findings: &mut Findings) {
    // The root workload of each workload's pipeline, by position; `None` when unresolved.
    let mut roots: Vec<Option<usize>> = Vec::with_capacity(workloads.len());
    for (position, workload) in workloads.iter().enumerate() {
        let Some(depends) = &workload.depends_on else {
            roots.push(Some(position));
            continue;
        };
        let path = format!("workload[{position}].depends_on");
        let earlier: Vec<&str> = workloads[..position].iter().map(|w| w.label()).collect();
        let mut pipeline_roots = BTreeSet::new();
        if depends.workloads.is_empty() {
            findings.error(
                format!("{path}.workloads"),
                "name at least one earlier workload whose jobs these depend on",
            );
        }
        for (index, name) in depends.workloads.iter().enumerate() {
            match earlier.iter().position(|label| label == name) {
                Some(parent) => pipeline_roots.extend(roots[parent]),
                None => findings.reference(
                    format!("{path}.workloads[{index}]"),
                    unknown_parent(name, &earlier, workloads),
                ),
            }
        }
        if pipeline_roots.len() > 1 {
            findings.error(
                format!("{path}.workloads"),
                "these workloads belong to different pipelines (each pipeline starts at one \
                 workload without `depends_on`): depend on workloads of one pipeline only",
            );
        }
        roots.push(pipeline_roots.first().copied());
        if depends.fan_out == 0 || depends.fan_out > MAX_FAN_OUT {
            findings.error(
                format!("{path}.fan_out"),
                format!("{}: expected 1 to {MAX_FAN_OUT}", depends.fan_out),
            );
        }
        findings.duration(&format!("{path}.delay"), depends.delay, false, MAX_DURATION);
        check_no_own_arrivals(position, workload, findings);
    }
}

/// Why a `depends_on` name matched no earlier workload.
fn unknown_parent(name: &str, earlier: &[&str], workloads: &[WorkloadSpec]) -> String {
    if workloads.iter().any(|w| w.label() == name) {
        return format!(
            "`{name}` is declared after this workload (or is this workload): declare the \
             workloads a job depends on before it"
        );
    }
    match crate::scenario::nearest(name, earlier) {
        Some(close) => format!("no earlier workload is named `{name}`; did you mean `{close}`?"),
        None => format!(
            "no earlier workload is named `{name}` (a workload's name is its `name`, else \
             its queue)"
        ),
    }
}

/// A dependent workload's jobs are enqueued by its pipeline's root, once per root arrival.
fn check_no_own_arrivals(position: usize, workload: &WorkloadSpec, findings: &mut Findings) {
    let defaults = WorkloadSpec::default();
    let own = [
        ("arrival", workload.arrival != defaults.arrival),
        ("start", workload.start.is_some()),
        ("jobs", workload.jobs.is_some()),
    ];
    for (key, set) in own {
        if set {
            findings.error(
                format!("workload[{position}].{key}"),
                format!(
                    "a workload with `depends_on` is enqueued by its pipeline's root, once \
                     per arrival there: remove `{key}` (set it on the root workload)"
                ),
            );
        }
    }
}

/// `jobs` (a limit of zero is a typo) and `fail_attempts` (execution numbers start at 1).
fn check_job_limits(path: &str, workload: &WorkloadSpec, findings: &mut Findings) {
    if workload.jobs == Some(0) {
        findings.error(
            format!("{path}.jobs"),
            "a workload limited to 0 jobs enqueues nothing; remove the workload instead",
        );
    }
    if workload.fail_attempts.contains(&0) {
        findings.error(
            format!("{path}.fail_attempts"),
            "executions are numbered from 1 (the first execution is 1)",
        );
    }
}

/// `Repeat.__init__` rejects `times < 1` and negative intervals; RQ takes the intervals and
/// `Webhook.timeout` (a positive `int`) in whole seconds.
fn check_repeat_and_webhook(path: &str, workload: &WorkloadSpec, findings: &mut Findings) {
    if let Some(repeat) = &workload.repeat {
        let times = repeat.times;
        if times == 0 {
            findings.error(
                format!("{path}.repeat.times"),
                "Repeat times must be at least 1, as RQ requires",
            );
        } else if times > MAX_REPEATS {
            findings.error(
                format!("{path}.repeat.times"),
                format!("{times} repeats: expected at most {MAX_REPEATS}"),
            );
        }
        for (position, interval) in repeat.interval.iter().enumerate() {
            let at = format!("{path}.repeat.interval[{position}]");
            findings.duration(&at, *interval, false, MAX_DURATION);
            findings.whole_seconds(&at, *interval);
        }
    }
    if let Some(webhook) = &workload.webhook {
        if webhook.on.is_empty() {
            findings.error(
                format!("{path}.webhook.on"),
                "expected \"finished\", \"failed\" or both",
            );
        }
        check_distribution(
            &format!("{path}.webhook.latency"),
            &webhook.latency,
            findings,
        );
        let at = format!("{path}.webhook.timeout");
        findings.duration(&at, webhook.timeout, true, MAX_DURATION);
        findings.whole_seconds(&at, webhook.timeout);
    }
}

/// RQ's `Retry.__init__` rejects `max < 1`; more than [`MAX_RETRIES`] is a typo.
fn check_retry_counts(path: &str, max: u32, intervals: &[SimDuration], findings: &mut Findings) {
    if max == 0 {
        let hint = if intervals.is_empty() {
            ""
        } else {
            " (intervals are given, so retries were meant)"
        };
        findings.error(
            format!("{path}.max"),
            format!("Retry max must be at least 1, as RQ requires{hint}"),
        );
    } else if max > MAX_RETRIES {
        findings.error(
            format!("{path}.max"),
            format!("{max} retries: expected at most {MAX_RETRIES}"),
        );
    }
    for (position, interval) in intervals.iter().enumerate() {
        let at = format!("{path}.interval[{position}]");
        findings.duration(&at, *interval, false, MAX_DURATION);
        findings.whole_seconds(&at, *interval);
    }
}

fn check_rate_per_s(path: &str, rate: f64, findings: &mut Findings) {
    if !rate.is_finite() || rate < 0.0 {
        findings.error(path, format!("{rate} jobs/s: expected a rate ≥ 0"));
    } else if rate > MAX_ARRIVALS_PER_S {
        findings.error(
            path,
            format!("{rate} jobs/s: expected at most {MAX_ARRIVALS_PER_S}"),
        );
    }
}

fn check_arrival(path: &str, arrival: &Arrival, findings: &mut Findings) {
    match arrival {
        Arrival::ConstantPerS(rate) => {
            check_rate_per_s(&format!("{path}.constant_per_s"), *rate, findings)
        }
        Arrival::PoissonPerS(rate) => {
            check_rate_per_s(&format!("{path}.poisson_per_s"), *rate, findings)
        }
        Arrival::Bursts(bursts) => {
            findings.duration(
                &format!("{path}.bursts.every"),
                bursts.every,
                true,
                MAX_DURATION,
            );
            if bursts.size > MAX_BATCH_JOBS {
                findings.error(
                    format!("{path}.bursts.size"),
                    format!(
                        "{} jobs: expected at most {MAX_BATCH_JOBS} jobs in one burst (each \
                         is a process started at the same instant; use a rate for more)",
                        bursts.size
                    ),
                );
            }
        }
        Arrival::Daily(daily) => {
            check_rate_per_s(
                &format!("{path}.daily.peak_per_s"),
                daily.peak_per_s,
                findings,
            );
            check_rate_per_s(
                &format!("{path}.daily.trough_per_s"),
                daily.trough_per_s,
                findings,
            );
            if daily.trough_per_s > daily.peak_per_s {
                findings.error(
                    format!("{path}.daily.trough_per_s"),
                    "the trough is above the peak",
                );
            }
            if daily.peak_at >= SimDuration::from_secs(86_400) {
                findings.error(
                    format!("{path}.daily.peak_at"),
                    "a time of day: expected less than 24h",
                );
            }
        }
        Arrival::Trace(file) => {
            if file.as_os_str().is_empty() {
                findings.error(format!("{path}.trace"), "expected the path of a CSV file");
            }
        }
        Arrival::Batch { count, at } => {
            if *count > MAX_BATCH_JOBS {
                findings.error(
                    format!("{path}.count"),
                    format!(
                        "{count} jobs: expected at most {MAX_BATCH_JOBS} jobs in one batch \
                         (each is a process started at the same instant; use a rate for more)"
                    ),
                );
            }
            findings.duration(&format!("{path}.at"), *at, false, MAX_DURATION);
        }
    }
}

/// A queue nobody listens on is legal (jobs pile up) but usually a typo.
fn check_queues_served(scenario: &Scenario, findings: &mut Findings) {
    let served: BTreeSet<&str> = scenario
        .pods
        .iter()
        .filter(|pod| pod.worker)
        .flat_map(|pod| pod.queues.iter().map(String::as_str))
        .collect();
    for (position, cron) in scenario.cron.iter().enumerate() {
        if !served.contains(cron.queue.as_str()) {
            findings.warn(
                format!("cron[{position}].queue"),
                format!(
                    "no worker listens on queue `{}`; the cron job's jobs will never run",
                    cron.queue
                ),
            );
        }
    }
    for (position, workload) in scenario.workload.iter().enumerate() {
        if !served.contains(workload.queue.as_str()) {
            let listed: Vec<&str> = served.iter().copied().collect();
            findings.warn(
                format!("workload[{position}].queue"),
                format!(
                    "no pod listens on queue `{}` (pods listen on: {}); its jobs will never run",
                    workload.queue,
                    listed.join(", ")
                ),
            );
        }
    }
}

fn check_fault(path: &str, fault: &FaultSpec, scenario: &Scenario, findings: &mut Findings) {
    check_fault_timing(path, fault, scenario, findings);
    let group = fault.pods.as_deref();
    if let Some(name) = group {
        if !scenario.pods.iter().any(|pod| pod.name == name) {
            let names: Vec<&str> = scenario.pods.iter().map(|pod| pod.name.as_str()).collect();
            let hint = super::suggest::nearest(name, &names)
                .map(|best| format!("; did you mean `{best}`?"))
                .unwrap_or_default();
            findings.reference(
                format!("{path}.pods"),
                format!("no [[pods]] group named `{name}`{hint}"),
            );
        }
    }
    if let Target::Pod(name) = &fault.target {
        let in_group = |group: &str| {
            scenario
                .pods
                .iter()
                .any(|pod| pod.name == group && is_pod_of(name, pod))
        };
        if !pod_instance_exists(name, scenario) {
            findings.reference(
                format!("{path}.target"),
                format!(
                    "no pod `{name}`: expected any, scheduler_holder, worker, horse, \
                     scheduler or a pod name such as `{}-0`",
                    scenario.pods[0].name
                ),
            );
        } else if let Some(group) = group.filter(|group| !in_group(group)) {
            findings.reference(
                format!("{path}.target"),
                format!(
                    "pod `{name}` is not in the `pods` group `{group}`: name one of its pods \
                     (`{group}-0` …) or leave `pods` out"
                ),
            );
        }
    }
    check_fault_parameters(path, fault, findings);
    check_operator_job_and_queue(path, fault, scenario, findings);
}

/// `job` must be an id simrq gives (`j<N>`, N ≥ 1) and `queue` one a workload or cron job
/// enqueues on: anything else names nothing, and the operator's command would only be refused.
fn check_operator_job_and_queue(
    path: &str,
    fault: &FaultSpec,
    scenario: &Scenario,
    findings: &mut Findings,
) {
    if let Some(job) = &fault.job {
        let number = job.strip_prefix('j').and_then(|n| n.parse::<u64>().ok());
        if !number.is_some_and(|n| n >= 1 && job == &format!("j{n}")) {
            findings.error(
                format!("{path}.job"),
                format!(
                    "`{job}` is not a job id: simrq names the jobs of a run j1, j2, … in the \
                     order they are created"
                ),
            );
        }
    }
    if let Some(queue) = &fault.queue {
        let queues: BTreeSet<&str> = scenario
            .workload
            .iter()
            .map(|workload| workload.queue.as_str())
            .chain(scenario.cron.iter().map(|cron| cron.queue.as_str()))
            .collect();
        if !queues.contains(queue.as_str()) {
            let listed: Vec<&str> = queues.into_iter().collect();
            findings.reference(
                format!("{path}.queue"),
                format!(
                    "no workload or cron job enqueues on queue `{queue}` (they use: {})",
                    listed.join(", ")
                ),
            );
        }
    }
}

/// `worker-2` exists when group `worker` has at least 3 replicas.
fn pod_instance_exists(name: &str, scenario: &Scenario) -> bool {
    scenario.pods.iter().any(|pod| is_pod_of(name, pod))
}

/// `name` is one of the first `replicas` pods of `group`: `<group>-<index>`.
fn is_pod_of(name: &str, group: &PodSpec) -> bool {
    name.strip_prefix(group.name.as_str())
        .and_then(|rest| rest.strip_prefix('-'))
        .and_then(|index| index.parse::<u32>().ok())
        .is_some_and(|index| index < group.replicas)
}

fn check_fault_timing(path: &str, fault: &FaultSpec, scenario: &Scenario, findings: &mut Findings) {
    let given = [
        fault.at.is_some(),
        fault.every.is_some(),
        fault.rate.is_some(),
    ];
    if given.iter().filter(|given| **given).count() != 1 {
        findings.error(
            path,
            format!(
                "a `{}` fault needs exactly one of `at`, `every` or `rate`",
                fault.kind.name()
            ),
        );
    }
    if let Some(at) = fault.at {
        findings.duration(&format!("{path}.at"), at, false, MAX_DURATION);
        if at > scenario.run.duration && at <= MAX_DURATION {
            findings.warn(
                format!("{path}.at"),
                format!(
                    "{at} is after the run ends at {}; the fault never happens",
                    scenario.run.duration
                ),
            );
        }
    }
    if let Some(every) = fault.every {
        findings.duration(&format!("{path}.every"), every, true, MAX_DURATION);
    }
    if let Some(rate) = fault.rate {
        if rate.per_second > MAX_FAULTS_PER_S {
            findings.error(
                format!("{path}.rate"),
                format!("{rate} is more than {MAX_FAULTS_PER_S} faults per second"),
            );
        }
    }
}

/// Most replicas a scenario may give the primary.
const MAX_REPLICAS: u32 = 16;

/// `[redis] replicas` and the keys that only mean something with replicas; a
/// `redis_failover` needs one to promote.
fn check_replication(scenario: &Scenario, findings: &mut Findings) {
    let redis = &scenario.redis;
    let defaults = crate::scenario::RedisSpec::default();
    if redis.replicas > MAX_REPLICAS {
        findings.error(
            "redis.replicas",
            format!("{} replicas: expected 0 … {MAX_REPLICAS}", redis.replicas),
        );
    }
    check_distribution("redis.replica_lag", &redis.replica_lag, findings);
    for (key, value) in [
        ("sentinel_down_after", redis.sentinel_down_after),
        ("sentinel_promotion", redis.sentinel_promotion),
        ("min_replicas_max_lag", redis.min_replicas_max_lag),
    ] {
        findings.duration(&format!("redis.{key}"), value, true, MAX_DURATION);
    }
    if redis.replicas == 0 {
        let changed = [
            ("replica_lag", redis.replica_lag != defaults.replica_lag),
            (
                "sentinel_down_after",
                redis.sentinel_down_after != defaults.sentinel_down_after,
            ),
            (
                "sentinel_promotion",
                redis.sentinel_promotion != defaults.sentinel_promotion,
            ),
            (
                "client_discovery",
                redis.client_discovery != defaults.client_discovery,
            ),
            (
                "min_replicas_to_write",
                redis.min_replicas_to_write != defaults.min_replicas_to_write,
            ),
            (
                "min_replicas_max_lag",
                redis.min_replicas_max_lag != defaults.min_replicas_max_lag,
            ),
        ];
        for (key, _) in changed.iter().filter(|(_, changed)| *changed) {
            findings.error(
                format!("redis.{key}"),
                "has no effect without `replicas` (a primary with no replicas)",
            );
        }
    } else if redis.min_replicas_to_write > redis.replicas {
        findings.error(
            "redis.min_replicas_to_write",
            format!(
                "{} is more than the {} replicas: the primary would refuse every write",
                redis.min_replicas_to_write, redis.replicas
            ),
        );
    }
    for (index, fault) in scenario.faults.iter().enumerate() {
        let needs_replicas = matches!(fault.kind, FaultKind::RedisFailover | FaultKind::ReplicaLag);
        if needs_replicas && redis.replicas == 0 {
            findings.error(
                format!("faults[{index}].kind"),
                format!(
                    "a `{}` needs `[redis] replicas` (at least 1)",
                    fault.kind.name()
                ),
            );
        }
    }
}

/// Faults that act on the Redis server, not a pod (its restarts and pauses, and the operator's
/// `rq suspend` / `rq resume`, cancel, requeue and empty): they take neither `pods` nor
/// `target`.
/// `maxmemory` and the keys that only size or limit memory under it.
fn check_memory(scenario: &Scenario, findings: &mut Findings) {
    let redis = &scenario.redis;
    let Some(maxmemory) = redis.maxmemory else {
        let set = [
            ("redis.maxmemory_policy", redis.maxmemory_policy.is_some()),
            ("redis.maxmemory_samples", redis.maxmemory_samples.is_some()),
        ];
        let workloads = scenario.workload.iter().enumerate();
        let payloads = workloads.filter(|(_, w)| w.payload_size.is_some());
        let payloads: Vec<String> = payloads
            .map(|(index, _)| format!("workload[{index}].payload_size"))
            .collect();
        let keys = set
            .iter()
            .filter(|(_, set)| *set)
            .map(|(key, _)| key.to_string());
        for key in keys.chain(payloads) {
            findings.error(
                key,
                "has no effect without `[redis] maxmemory` (set it to 0 to measure memory \
                 without a limit)",
            );
        }
        return;
    };
    let startup = crate::redis::memory::STARTUP_BYTES;
    if maxmemory.0 > 0 && maxmemory.0 <= startup {
        findings.error(
            "redis.maxmemory",
            format!(
                "{maxmemory} is not more than the {startup} bytes Redis uses with no keys: \
                 expected 0 (no limit) or more, such as \"64mb\""
            ),
        );
    }
    if let Some(samples) = redis.maxmemory_samples.filter(|s| !(1..=64).contains(s)) {
        findings.error(
            "redis.maxmemory_samples",
            format!("{samples}: expected 1 … 64, as Redis accepts"),
        );
    }
}

fn redis_wide(kind: FaultKind) -> bool {
    matches!(
        kind,
        FaultKind::RedisRestart
            | FaultKind::RedisCrash
            | FaultKind::RedisFailover
            | FaultKind::ReplicaLag
            | FaultKind::RedisPause
            | FaultKind::Suspend
            | FaultKind::Resume
            | FaultKind::Cancel
            | FaultKind::Requeue
            | FaultKind::EmptyQueue
    )
}

/// The operator's pubsub commands to one worker (docs/rq-dependencies-and-operations.md §3.1).
fn worker_command(kind: FaultKind) -> bool {
    matches!(
        kind,
        FaultKind::Shutdown | FaultKind::KillHorse | FaultKind::StopJob
    )
}

fn check_fault_parameters(path: &str, fault: &FaultSpec, findings: &mut Findings) {
    let kind = fault.kind;
    let needs_for = matches!(
        kind,
        FaultKind::Pause | FaultKind::Net | FaultKind::RedisPause | FaultKind::ReplicaLag
    );
    let needs_offset = matches!(kind, FaultKind::ClockOffset | FaultKind::ClockStep);
    let needs_group = matches!(kind, FaultKind::RollingRestart | FaultKind::Scale);
    let needs_queue = matches!(kind, FaultKind::Requeue | FaultKind::EmptyQueue);
    let rules: [(&str, bool, bool, bool); 9] = [
        // A redis_restart or redis_crash may say how long Redis stays down (default 1 s).
        (
            "for",
            fault.for_duration.is_some(),
            needs_for,
            needs_for
                || matches!(
                    kind,
                    FaultKind::RedisRestart
                        | FaultKind::RedisCrash
                        | FaultKind::RedisFailover
                        | FaultKind::Suspend
                ),
        ),
        ("offset", fault.offset.is_some(), needs_offset, needs_offset),
        (
            "replicas",
            fault.replicas.is_some(),
            kind == FaultKind::Scale,
            kind == FaultKind::Scale,
        ),
        ("pods", fault.pods.is_some(), needs_group, !redis_wide(kind)),
        ("mode", fault.mode.is_some(), false, kind == FaultKind::Net),
        (
            "partition",
            fault.partition,
            false,
            kind == FaultKind::RedisFailover,
        ),
        (
            "persistence",
            fault.persistence.is_some(),
            false,
            kind == FaultKind::RedisRestart,
        ),
        (
            "job",
            fault.job.is_some(),
            kind == FaultKind::Cancel,
            matches!(kind, FaultKind::Cancel | FaultKind::Requeue),
        ),
        ("queue", fault.queue.is_some(), needs_queue, needs_queue),
    ];
    for (key, present, required, allowed) in rules {
        if required && !present {
            findings.error(path, format!("a `{}` fault needs `{key}`", kind.name()));
        } else if present && !allowed {
            findings.error(
                format!("{path}.{key}"),
                format!("`{key}` does not apply to a `{}` fault", kind.name()),
            );
        }
    }
    if let Some(span) = fault.for_duration {
        findings.duration(&format!("{path}.for"), span, true, MAX_DURATION);
        if kind == FaultKind::Suspend && span.as_micros() % 1_000_000 != 0 {
            findings.error(
                format!("{path}.for"),
                format!("{span}: `rq suspend --duration` takes whole seconds, at least 1"),
            );
        }
    }
    if let Some(offset) = fault.offset {
        findings.duration(
            &format!("{path}.offset"),
            offset.amount,
            false,
            MAX_DURATION,
        );
    }
    if fault.replicas.is_some_and(|replicas| replicas > MAX_PODS) {
        findings.error(
            format!("{path}.replicas"),
            format!("expected at most {MAX_PODS} replicas"),
        );
    }
    if redis_wide(kind) && !fault.target.is_any() {
        findings.error(
            format!("{path}.target"),
            format!(
                "a `{}` fault acts on the Redis server, not on a pod; it takes no target",
                kind.name()
            ),
        );
    }
    let whole_pod = matches!(
        kind,
        FaultKind::PodDelete | FaultKind::Net | FaultKind::ClockOffset | FaultKind::ClockStep
    );
    if whole_pod && fault.target.is_process() {
        findings.error(
            format!("{path}.target"),
            format!(
                "a `{}` fault acts on a whole pod (its API object, network or clock), not on \
                 one process: target a pod, or use pod_kill or pause for the `{}` process",
                kind.name(),
                fault.target
            ),
        );
    }
    if worker_command(kind) && (fault.target.is_process() || fault.target == Target::All) {
        findings.error(
            format!("{path}.target"),
            format!(
                "a `{}` fault is a command to one pod's worker: target `any`, \
                 `scheduler_holder` or a pod name, not `{}`",
                kind.name(),
                fault.target
            ),
        );
        return;
    }
    if fault.target == Target::All && kind != FaultKind::Net {
        findings.error(
            format!("{path}.target"),
            format!(
                "`all` is for `net` faults only; a `{}` fault hits one pod or process",
                kind.name()
            ),
        );
    }
    if needs_group && !fault.target.is_any() {
        findings.error(
            format!("{path}.target"),
            format!(
                "a `{}` fault acts on its whole `pods` group; it takes no target",
                kind.name()
            ),
        );
    }
}

/// `[[cron]]`: what `CronJob.__init__` and `croniter` accept, and RQ's whole seconds.
fn check_cron(path: &str, cron: &CronSpec, findings: &mut Findings) {
    if cron.name.trim().is_empty() {
        findings.error(format!("{path}.name"), "a cron job needs a name");
    }
    if cron.queue.trim().is_empty() {
        findings.error(format!("{path}.queue"), "a queue needs a name");
    }
    match (&cron.interval, &cron.cron) {
        (Some(_), Some(_)) => findings.error(
            format!("{path}.cron"),
            "give `interval` or `cron`, not both (RQ: \"Cannot specify both interval and cron\")",
        ),
        (None, None) => findings.error(
            path,
            "a cron job needs `interval` (e.g. \"60s\") or `cron` (e.g. \"*/5 * * * *\")",
        ),
        (Some(interval), None) => {
            findings.duration(&format!("{path}.interval"), *interval, true, MAX_DURATION);
            findings.whole_seconds(&format!("{path}.interval"), *interval);
        }
        (None, Some(expression)) => {
            if let Err(error) = CronExpr::parse(expression) {
                findings.error(format!("{path}.cron"), error.to_string());
            }
        }
    }
    check_distribution(&format!("{path}.duration"), &cron.duration, findings);
    findings.probability(&format!("{path}.fail_probability"), cron.fail_probability);
    if let Some(timeout) = cron.job_timeout {
        findings.duration(&format!("{path}.job_timeout"), timeout, true, MAX_DURATION);
    }
    for (name, value) in [
        ("job_timeout", cron.job_timeout),
        ("result_ttl", cron.result_ttl),
        ("failure_ttl", cron.failure_ttl),
        ("ttl", cron.ttl),
    ] {
        if let Some(value) = value {
            findings.duration(&format!("{path}.{name}"), value, false, MAX_RETENTION);
            findings.whole_seconds(&format!("{path}.{name}"), value);
        }
    }
}

/// A cron job's name is its job function's name, so it may not repeat a workload's or
/// another cron job's.
fn check_cron_names(scenario: &Scenario, findings: &mut Findings) {
    let mut names: BTreeSet<&str> = scenario.workload.iter().map(WorkloadSpec::label).collect();
    for (position, cron) in scenario.cron.iter().enumerate() {
        if !cron.name.trim().is_empty() && !names.insert(cron.name.as_str()) {
            findings.reference(
                format!("cron[{position}].name"),
                format!(
                    "duplicate name `{}`: each [[cron]] needs a name no workload or other cron \
                     job has",
                    cron.name
                ),
            );
        }
    }
}

/// `cron = true` needs jobs to run, and jobs need a pod that runs `rq cron`.
fn check_cron_pods(scenario: &Scenario, findings: &mut Findings) {
    let runs_cron = scenario.pods.iter().any(|pod| pod.cron);
    if scenario.cron.is_empty() {
        if let Some(position) = scenario.pods.iter().position(|pod| pod.cron) {
            findings.error(
                format!("pods[{position}].cron"),
                "`rq cron` needs jobs: add at least one [[cron]] section",
            );
        }
    } else if !runs_cron {
        findings.warn(
            "cron[0]",
            "no pod group has `cron = true`: no `rq cron` runs, so no cron job is ever enqueued",
        );
    }
}
