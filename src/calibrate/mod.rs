//! `simrq calibrate`: a scenario fitted to what an RQ 2.x deployment's Redis holds.
//!
//! ```text
//!  redis://… ──scan.rs (read-only: SCAN, HMGET, ZCARD …)──► Sample (≤ --max-jobs records)
//!        Sample ──fit.rs──► Calibration: per queue arrivals, durations, failures, retry,
//!                           timeout, result_ttl; worker groups; the host's per-job cost
//!   Calibration ──write.rs──► scenario.toml (every fitted value with its n, window, error)
//! ```
//!
//! Start at [`calibrate`]. The `[[pods]]` section comes from the workers Redis saw
//! ([`write::pods_section`]) or, with `--k8s`, from the deployment's manifests
//! ([`manifests::pods_section`]).

pub mod fit;
pub mod manifests;
pub mod record;
pub mod scan;
pub mod write;

use std::collections::BTreeMap;

use fit::{ArrivalFit, FailureFit, HostCostFit, LognormalFit};
use record::{JobRecord, JobStatus};
use scan::{QueueCounts, Sample};

/// What one queue's jobs showed.
#[derive(Clone, Debug)]
pub struct QueueFit {
    pub name: String,
    /// Jobs of this queue in the sample.
    pub jobs: usize,
    pub arrival: Option<ArrivalFit>,
    pub durations: Option<LognormalFit>,
    pub failures: Option<FailureFit>,
    /// The most common `Retry(max, intervals)`: (max, intervals in s, jobs with it, jobs).
    pub retry: Option<(u32, Vec<u64>, usize, usize)>,
    /// The most common job `timeout`, seconds: (value, jobs with it, jobs with one).
    pub timeout_s: Option<(i64, usize, usize)>,
    pub result_ttl_s: Option<(i64, usize, usize)>,
    pub failure_ttl_s: Option<(i64, usize, usize)>,
    /// Enqueue to start of jobs that ran once: (p50, p99, n), the real queue wait.
    pub wait_s: Option<(f64, f64, usize)>,
    pub counts: QueueCounts,
    /// Enqueue times, for `--trace` (Unix seconds, sorted).
    pub arrivals_unix_s: Vec<f64>,
}

/// Workers that listen on the same queues, in the same order: one `[[pods]]` group.
#[derive(Clone, Debug, PartialEq)]
pub struct WorkerGroup {
    pub queues: Vec<String>,
    /// Workers registered and not dead.
    pub live: usize,
    /// Workers that registered their death (still in Redis for 60 s).
    pub dead: usize,
    /// A live `rq:scheduler:<name>` hash lists one of these queues, or the queue's lock is held.
    pub with_scheduler: bool,
    pub hostnames: Vec<String>,
}

/// Everything calibration found, ready to be written.
#[derive(Clone, Debug)]
pub struct Calibration {
    pub source: String,
    /// First and last enqueue in the sample, Unix seconds.
    pub window_unix_s: (f64, f64),
    pub jobs: usize,
    pub queues: Vec<QueueFit>,
    pub workers: Vec<WorkerGroup>,
    pub host_cost: HostCostFit,
    pub warnings: Vec<String>,
    /// `--k8s`: the deployment's manifests, which then give the pods (see [`manifests`]).
    pub manifests: Option<crate::k8s::Deployments>,
}

impl Calibration {
    /// The live workers Redis showed, in every group.
    pub fn live_workers(&self) -> usize {
        self.workers.iter().map(|group| group.live).sum()
    }
}

/// Fits a scanned sample. An error when the sample has nothing to fit: an empty Redis, a
/// Redis without RQ keys, or no usable job hash.
pub fn calibrate(sample: &Sample) -> Result<Calibration, String> {
    if sample.db_keys == 0 {
        return Err(format!(
            "{} is empty (DBSIZE 0): there is nothing to calibrate from. Is this the \
             deployment's Redis and database number (redis://host:port/DB)?",
            sample.url
        ));
    }
    if sample.rq_keys == 0 {
        return Err(format!(
            "{} holds {} keys but none under rq:*: it is not an RQ deployment's Redis, or not \
             the database RQ uses (the /DB in the URL)",
            sample.url, sample.db_keys
        ));
    }
    let warnings = warnings(sample);
    let enqueued: Vec<f64> = sample.jobs.iter().filter_map(|j| j.enqueued_at_s).collect();
    if sample.jobs.is_empty() || enqueued.len() < 2 {
        return Err(format!(
            "{} has {} RQ keys and {} job hashes, but fewer than 2 usable jobs{}: finished jobs \
             expire after their result_ttl (500 s by default), so calibrate while the \
             deployment is busy, or widen --since/--queues{}",
            sample.url,
            sample.rq_keys,
            sample.job_hashes,
            " (with status, origin and enqueued_at)",
            if warnings.is_empty() {
                String::new()
            } else {
                format!(" ({})", warnings.join("; "))
            }
        ));
    }
    let window = fit::sorted(enqueued);
    let queues = fit_queues(sample);
    Ok(Calibration {
        source: sample.url.clone(),
        window_unix_s: (window[0], window[window.len() - 1]),
        jobs: sample.jobs.len(),
        workers: worker_groups(sample),
        host_cost: fit::fit_host_cost(&sample.jobs),
        warnings,
        manifests: None,
        queues,
    })
}

/// What the user should know about the sample's quality.
fn warnings(sample: &Sample) -> Vec<String> {
    let mut warnings = Vec::new();
    for (field, count) in &sample.problems.garbled {
        warnings.push(format!(
            "{count} job hashes have a `{field}` RQ could not have written; those values were \
             left out"
        ));
    }
    if sample.problems.unusable > 0 {
        warnings.push(format!(
            "{} rq:job:* hashes have no `status` or `origin` and were skipped",
            sample.problems.unusable
        ));
    }
    if sample.vanished > 0 {
        warnings.push(format!(
            "{} job keys expired during the scan or are not hashes; skipped",
            sample.vanished
        ));
    }
    if sample.jobs_over_cap > 0 {
        warnings.push(format!(
            "--max-jobs {} reached: {} more jobs were not kept (the sample is the first ones \
             SCAN returned, in hash order, so not biased in time)",
            sample.jobs.len(),
            sample.jobs_over_cap
        ));
    }
    if sample.workers.is_empty() {
        warnings.push(
            "no live worker in rq:workers: the [[pods]] section keeps one default worker per \
             queue"
                .to_string(),
        );
    }
    warnings
}

fn fit_queues(sample: &Sample) -> Vec<QueueFit> {
    let mut by_queue: BTreeMap<&str, Vec<&JobRecord>> = BTreeMap::new();
    for job in &sample.jobs {
        by_queue.entry(job.queue.as_str()).or_default().push(job);
    }
    by_queue
        .into_iter()
        .map(|(name, jobs)| fit_queue(name, &jobs, sample))
        .collect()
}

fn fit_queue(name: &str, jobs: &[&JobRecord], sample: &Sample) -> QueueFit {
    let arrivals = fit::sorted(jobs.iter().filter_map(|j| j.enqueued_at_s));
    let durations: Vec<f64> = jobs
        .iter()
        .filter(|j| matches!(j.status, JobStatus::Finished | JobStatus::Failed))
        .filter_map(|j| Some(j.ended_at_s? - j.started_at_s?))
        .filter(|d| *d >= 0.0)
        .collect();
    let waits = fit::sorted(
        jobs.iter()
            .filter(|j| j.retries_used == 0)
            .filter_map(|j| Some(j.started_at_s? - j.enqueued_at_s?))
            .filter(|w| *w >= 0.0),
    );
    let retry = fit::most_common(
        jobs.iter()
            .filter_map(|j| j.retry_max.map(|max| (max, j.retry_intervals_s.clone()))),
    )
    .map(|((max, intervals), count, total)| (max, intervals, count, total));
    QueueFit {
        name: name.to_string(),
        jobs: jobs.len(),
        arrival: fit::fit_arrivals(&arrivals),
        durations: fit::fit_lognormal(&durations),
        failures: fit::fit_failures(jobs.iter().copied()),
        retry,
        timeout_s: fit::most_common(jobs.iter().filter_map(|j| j.timeout_s)),
        result_ttl_s: fit::most_common(jobs.iter().filter_map(|j| j.result_ttl_s)),
        failure_ttl_s: fit::most_common(jobs.iter().filter_map(|j| j.failure_ttl_s)),
        wait_s: (!waits.is_empty()).then(|| {
            (
                fit::quantile(&waits, 0.5),
                fit::quantile(&waits, 0.99),
                waits.len(),
            )
        }),
        counts: sample.queues.get(name).cloned().unwrap_or_default(),
        arrivals_unix_s: arrivals,
    }
}

/// Groups the workers by their queue list; a group runs a scheduler when a live scheduler
/// (`rq:scheduler:<name>`) or a held `rq:scheduler-lock:<q>` names one of its queues (RQ does
/// not record which worker forked the scheduler, so the group is marked as a whole).
fn worker_groups(sample: &Sample) -> Vec<WorkerGroup> {
    let mut groups: BTreeMap<Vec<String>, WorkerGroup> = BTreeMap::new();
    for worker in &sample.workers {
        let group = groups
            .entry(worker.queues.clone())
            .or_insert_with(|| WorkerGroup {
                queues: worker.queues.clone(),
                live: 0,
                dead: 0,
                with_scheduler: false,
                hostnames: Vec::new(),
            });
        if worker.dead {
            group.dead += 1;
        } else {
            group.live += 1;
        }
        if !group.hostnames.contains(&worker.hostname) && !worker.hostname.is_empty() {
            group.hostnames.push(worker.hostname.clone());
        }
    }
    let scheduled_queues: Vec<&String> = sample
        .schedulers
        .iter()
        .flat_map(|(_, queues)| queues)
        .chain(
            sample
                .queues
                .iter()
                .filter(|(_, c)| c.lock_holder.is_some())
                .map(|(q, _)| q),
        )
        .collect();
    for group in groups.values_mut() {
        group.with_scheduler = group.queues.iter().any(|q| scheduled_queues.contains(&q));
    }
    groups.into_values().filter(|g| g.live > 0).collect()
}
