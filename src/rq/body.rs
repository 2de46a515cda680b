//! What a job does when it runs: a duration and an outcome drawn per attempt from its
//! workload class, deterministic in (seed, job id, execution number), so the same job fails
//! on the same attempts whichever worker runs it.

use std::rc::Rc;

use crate::event::Name;
use crate::rq::env::{with_text, RqEnv};
pub use crate::sim::DurationDist;
use crate::sim::SimDuration;
use rand::Rng;

/// What one execution of a job does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Succeed,
    /// Raises an exception: the exception-retry path (§3.7).
    Raise,
    /// Returns a `Retry` object: the return-value retry path (§3.8).
    ReturnRetry,
    /// Blocks in C code ignoring SIGALRM until the worker's hard kill (§9 R13).
    Hang,
}

/// Bytes of the `data` field of a job whose call takes one number (`jobs.work(0.1)`), as
/// RQ 2.12 stores it: the pickled call, zlib-compressed (measured: 45).
pub const DEFAULT_PAYLOAD_BYTES: usize = 45;

/// A workload class: how its jobs behave and which retry policy they carry.
#[derive(Clone, Debug, PartialEq)]
pub struct JobClass {
    pub name: Name,
    pub queue: Name,
    pub duration: DurationDist,
    pub fail_probability: f64,
    pub return_retry_probability: f64,
    pub hang_probability: f64,
    /// `Retry(max, interval)`; `None` = no retry.
    pub retry_max: Option<i64>,
    pub retry_intervals_s: Rc<[i64]>,
    pub enqueue_at_front_on_retry: bool,
    /// The `Retry(max, interval)` the job returns when its outcome is `ReturnRetry` (§3.8).
    pub return_retry_max: i64,
    pub return_retry_intervals_s: Vec<i64>,
    /// `job_timeout`; `None` = the queue default; -1 = none.
    pub job_timeout_s: Option<i64>,
    pub result_ttl_s: Option<i64>,
    pub failure_ttl_s: Option<i64>,
    pub ttl_s: Option<i64>,
    pub at_front: bool,
    /// Bytes of the job's `data` field (`payload_size`); `None`: [`DEFAULT_PAYLOAD_BYTES`].
    pub payload_bytes: Option<usize>,
    /// Fixed outcomes for the first executions (1-based order), then drawn: lets a scripted
    /// test say "fails twice, then succeeds".
    pub scripted_outcomes: Vec<Outcome>,
    /// Execution numbers (1-based) that raise, after `scripted_outcomes` and before the
    /// draw: the scenario's `fail_attempts`, the same rule the conformance harness's job
    /// function follows, so real and simulated runs fail on the same executions.
    pub fail_attempts: Vec<u32>,
    /// `Repeat(times, interval)` passed at enqueue; `None` = no repeat.
    pub repeat: Option<RepeatPolicy>,
    /// The job's webhooks (`webhooks=[Webhook(...)]` at enqueue); `None` = none.
    pub webhooks: Option<WebhookPolicy>,
    /// How `depends_on` is given when a job of this class has parents: as a plain list of
    /// ids (`None`), or as `Dependency(jobs, allow_failure, enqueue_at_front)`.
    pub dependency: Option<DependencyFlags>,
}

/// The flags of `Dependency(jobs, allow_failure, enqueue_at_front)`, which RQ saves in the
/// job hash (`allow_dependency_failures`, `enqueue_at_front`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DependencyFlags {
    /// A parent that failed for good counts as done.
    pub allow_failure: bool,
    /// A released job is pushed to the front of its queue.
    pub enqueue_at_front: bool,
}

/// `Repeat(times, interval)`: after each success the job runs again, `times` times in all.
#[derive(Clone, Debug, PartialEq)]
pub struct RepeatPolicy {
    /// `Repeat.times` (≥ 1).
    pub times: i64,
    /// `Repeat.intervals` in whole seconds; empty = 0 (re-enqueued at once).
    pub intervals_s: Vec<i64>,
}

/// The webhooks a job carries: one `Webhook(url, job_status, timeout=…)` per status in
/// `on`, all to an endpoint that answers after `latency` (drawn per send).
#[derive(Clone, Debug, PartialEq)]
pub struct WebhookPolicy {
    pub on_finished: bool,
    pub on_failed: bool,
    /// How long the endpoint takes to answer; a property of the endpoint, not of RQ.
    pub latency: DurationDist,
    /// `Webhook.timeout`: `urlopen` gives up after this (whole seconds, ≥ 1; RQ's default 10).
    pub timeout: SimDuration,
}

impl JobClass {
    /// A class of jobs that take `duration` and always succeed, on `queue`.
    pub fn simple(name: &str, queue: &str, duration: SimDuration) -> JobClass {
        JobClass {
            name: Name::from(name),
            queue: Name::from(queue),
            duration: DurationDist::Constant(duration),
            fail_probability: 0.0,
            return_retry_probability: 0.0,
            hang_probability: 0.0,
            retry_max: None,
            retry_intervals_s: Rc::from([]),
            enqueue_at_front_on_retry: false,
            return_retry_max: 0,
            return_retry_intervals_s: Vec::new(),
            job_timeout_s: None,
            result_ttl_s: None,
            failure_ttl_s: None,
            ttl_s: None,
            at_front: false,
            scripted_outcomes: Vec::new(),
            fail_attempts: Vec::new(),
            repeat: None,
            webhooks: None,
            dependency: None,
            payload_bytes: None,
        }
    }
}

/// The duration and outcome of execution number `execution` (1-based) of `job`.
pub fn draw_attempt(
    env: &RqEnv,
    class: &JobClass,
    job: &str,
    execution: u32,
) -> (SimDuration, Outcome) {
    let name = format_args!("job/{job}/{execution}");
    let mut rng = with_text(name, |name| env.streams.stream(name));
    let duration = class.duration.sample(&mut rng);
    if let Some(outcome) = class
        .scripted_outcomes
        .get(execution.saturating_sub(1) as usize)
    {
        return (duration, *outcome);
    }
    if class.fail_attempts.contains(&execution) {
        return (duration, Outcome::Raise);
    }
    let draw: f64 = rng.gen();
    let outcome = if draw < class.hang_probability {
        Outcome::Hang
    } else if draw < class.hang_probability + class.fail_probability {
        Outcome::Raise
    } else if draw
        < class.hang_probability + class.fail_probability + class.return_retry_probability
    {
        Outcome::ReturnRetry
    } else {
        Outcome::Succeed
    };
    (duration, outcome)
}
