//! RQ's Redis key names (rq-semantics §1).
//!
//! Each name is built as an [`Arg`]: most (`rq:queue:default`, `rq:job:j42`) fit in its 24
//! inline bytes, so naming a key allocates nothing. Names are joined from their parts with
//! [`join`] rather than `format!`: keys are named for nearly every command RQ sends, and the
//! formatting machinery costs several times the copy.

use crate::redis::Arg;

pub const QUEUES: &str = "rq:queues";
pub const WORKERS: &str = "rq:workers";
pub const SUSPENDED: &str = "rq:suspended";
/// `cron_scheduler_registry.get_registry_key()`: cron scheduler names scored by heartbeat.
pub const CRON_SCHEDULERS: &str = "rq:cron_schedulers";
/// `cron_job_registry.get_registry_key()`: cron job names scored by their latest enqueue.
pub const CRON_JOBS: &str = "rq:cron_jobs";

/// The what-if lock around `rq cron` (`[rq] cron_lock_ttl`); not a key of RQ's.
pub const CRON_LOCK: &str = "rq:cron-lock";

/// `CronScheduler.key`: the scheduler's hash.
pub fn cron_scheduler(name: &str) -> Arg {
    join(&["rq:cron_scheduler:", name])
}

/// `get_cron_job_history_key`: ids of the jobs one cron job enqueued, scored by enqueue time.
pub fn cron_job_history(name: &str) -> Arg {
    join(&["rq:cron_job:", name, ":jobs"])
}

pub fn queue(queue: &str) -> Arg {
    join(&["rq:queue:", queue])
}

pub fn intermediate(queue: &str) -> Arg {
    join(&["rq:queue:", queue, ":intermediate"])
}

pub fn first_seen(queue: &str, job: &str) -> Arg {
    join(&["rq:queue:", queue, ":intermediate:first_seen:", job])
}

pub fn job(job: &str) -> Arg {
    join(&["rq:job:", job])
}

pub fn dependents(job: &str) -> Arg {
    join(&["rq:job:", job, ":dependents"])
}

/// `Job.dependencies_key`: the job's parents. Two colons: RQ joins the `rq:job:` prefix and
/// the id with another `:`.
pub fn dependencies(job: &str) -> Arg {
    join(&["rq:job::", job, ":dependencies"])
}

/// `DeferredJobRegistry`: jobs waiting on a parent, scored by when they were deferred.
pub fn deferred(queue: &str) -> Arg {
    join(&["rq:deferred:", queue])
}

/// StartedJobRegistry: members `<job>:<execution>`, scores are expiry seconds.
pub fn started(queue: &str) -> Arg {
    join(&["rq:wip:", queue])
}

/// A StartedJobRegistry member: `<job>:<execution>`.
pub fn started_member(job: &str, execution: &str) -> Arg {
    join(&[job, ":", execution])
}

pub fn scheduled(queue: &str) -> Arg {
    join(&["rq:scheduled:", queue])
}

pub fn failed(queue: &str) -> Arg {
    join(&["rq:failed:", queue])
}

/// `CanceledJobRegistry`: canceled jobs, scored by when they were canceled; never cleaned.
pub fn canceled(queue: &str) -> Arg {
    join(&["rq:canceled:", queue])
}

pub fn finished(queue: &str) -> Arg {
    join(&["rq:finished:", queue])
}

pub fn execution(job: &str, execution: &str) -> Arg {
    join(&["rq:execution:", job, ":", execution])
}

pub fn executions(job: &str) -> Arg {
    join(&["rq:executions:", job])
}

pub fn results(job: &str) -> Arg {
    join(&["rq:results:", job])
}

pub fn worker(worker: &str) -> Arg {
    join(&["rq:worker:", worker])
}

/// `PUBSUB_CHANNEL_TEMPLATE`: the channel a worker takes commands on (`rq/command.py`).
pub fn pubsub_channel(worker: &str) -> Arg {
    join(&["rq:pubsub:", worker])
}

pub fn queue_workers(queue: &str) -> Arg {
    join(&["rq:workers:", queue])
}

pub fn scheduler_lock(queue: &str) -> Arg {
    join(&["rq:scheduler-lock:", queue])
}

pub fn scheduler(scheduler: &str) -> Arg {
    join(&["rq:scheduler:", scheduler])
}

pub fn maintenance_lock(queue: &str) -> Arg {
    join(&["rq:clean_registries:", queue])
}

/// The concatenation of `parts`, written straight into the word: this runs for nearly every
/// command, and most names fit inline.
fn join(parts: &[&str]) -> Arg {
    Arg::concat(parts)
}
