//! Producers: `Queue.enqueue` and `Queue.enqueue_in` / `enqueue_at` (rq-semantics §3.10),
//! and the enqueue commands the scheduler and retries share.

use std::rc::Rc;

use crate::cmd;
use crate::event::{EnqueueSource, EventKind, Name};
use crate::net::RedisError;
use crate::redis::reply::spare;
use crate::redis::Command;
use crate::rq::body::{JobClass, DEFAULT_PAYLOAD_BYTES};
use crate::rq::dependencies::setup_dependencies;
use crate::rq::env::ProcCtx;
use crate::rq::job::Job;
use crate::rq::keys;
use crate::sim::SimDuration;

/// Room for the commands of a job's end (success, failure or retry), so that its pipeline is
/// allocated once rather than grown.
pub const PIPELINE_CAPACITY: usize = 16;

/// The most commands `_enqueue_job`'s pipeline holds ([`enqueue_commands`] with a `ttl`).
const ENQUEUE_COMMANDS: usize = 6;

/// A new job of `class`, as `Job.create` builds it.
pub fn new_job(ctx: &ProcCtx, class: &JobClass, id: Name) -> Job {
    Job {
        id,
        origin: class.queue.clone(),
        func_name: class.name.clone(),
        status: "queued".into(),
        created_at: ctx.utcnow(),
        enqueued_at: None,
        started_at: None,
        ended_at: None,
        last_heartbeat: None,
        worker_name: None,
        timeout_s: class.job_timeout_s,
        result_ttl_s: class.result_ttl_s,
        failure_ttl_s: class.failure_ttl_s,
        ttl_s: class.ttl_s,
        retries_left: class.retry_max,
        retry_intervals_s: class.retry_intervals_s.clone(),
        enqueue_at_front_on_retry: class.enqueue_at_front_on_retry,
        enqueue_at_front: class.at_front,
        number_of_retries: 0,
        // `Queue.create_job`: `repeats_left = repeat.times`, `repeat_intervals = intervals`.
        repeats_left: class.repeat.as_ref().map(|repeat| repeat.times),
        repeat_intervals_s: class
            .repeat
            .as_ref()
            .map(|repeat| repeat.intervals_s.as_slice().into()),
        dependency_ids: Rc::from([]),
        allow_dependency_failures: None,
        stored_payload: ctx
            .params()
            .sizes_jobs
            .then(|| class.payload_bytes.unwrap_or(DEFAULT_PAYLOAD_BYTES)),
    }
}

/// `Queue._enqueue_job(job, pipeline)`: status queued, the saved mapping, the push.
pub fn enqueue_commands(ctx: &ProcCtx, job: &mut Job, at_front: bool, pipeline: &mut Vec<Command>) {
    job.status = "queued".into();
    job.enqueued_at = Some(ctx.utcnow());
    pipeline.push(cmd!("HSET", keys::job(&job.id), "status", "queued"));
    pipeline.push(job.save_command());
    job.cleanup(job.ttl_s, pipeline);
    pipeline.push(if at_front {
        cmd!("LPUSH", keys::queue(&job.origin), &job.id)
    } else {
        cmd!("RPUSH", keys::queue(&job.origin), &job.id)
    });
}

/// `Queue.enqueue(…, depends_on=parents)` → `enqueue_job`: `setup_dependencies` (when
/// there are parents), then `[TX] SADD rq:queues` in a transaction of its own, then, unless
/// the job was deferred, `_enqueue_job`'s `[TX] HSET …; RPUSH` (LPUSH with `at_front`).
pub async fn enqueue(
    ctx: &ProcCtx,
    class: &JobClass,
    parents: &Rc<[Name]>,
) -> Result<Name, RedisError> {
    let id = crate::event::job_id(ctx.env.next_job_number());
    let mut job = new_job(ctx, class, id.clone());
    let mut kinds = vec![created(ctx, class)];
    let deferred = if parents.is_empty() {
        false
    } else {
        kinds.push(depends_on(class, &mut job, parents));
        setup_dependencies(ctx, &mut job, kinds.clone()).await?
    };
    register_queue(ctx, &job.origin).await?;
    if deferred {
        return Ok(id);
    }
    let mut commands = spare::pipeline(ENQUEUE_COMMANDS);
    enqueue_commands(ctx, &mut job, class.at_front, &mut commands);
    kinds.push(EventKind::JobEnqueued {
        source: EnqueueSource::Producer,
        at_front: class.at_front,
    });
    let observer = ctx.on_commit(Some(&class.queue), Some(&id), kinds);
    ctx.redis
        .transaction_observed(commands, Some(observer))
        .await?;
    Ok(id)
}

/// Gives `job` its parents as `Job.create` does (`dependency_ids`, and the flags of a
/// `Dependency`), and returns the event that tells the checkers.
fn depends_on(class: &JobClass, job: &mut Job, parents: &Rc<[Name]>) -> EventKind {
    job.dependency_ids = parents.clone();
    if let Some(flags) = class.dependency {
        job.allow_dependency_failures = Some(flags.allow_failure);
        job.enqueue_at_front = flags.enqueue_at_front;
    } else {
        // `enqueue`'s `at_front` is not saved: a released job is pushed at the back.
        job.enqueue_at_front = false;
    }
    EventKind::JobDependsOn {
        parents: parents.clone(),
        allow_failure: job.allow_dependency_failures == Some(true),
    }
}

/// `enqueue_job`'s `[TX] SADD rq:queues rq:queue:<q>`, sent whether or not the job is then
/// enqueued or deferred.
async fn register_queue(ctx: &ProcCtx, queue: &str) -> Result<(), RedisError> {
    let sadd = cmd!("SADD", keys::QUEUES, keys::queue(queue));
    ctx.redis.transaction(vec![sadd]).await.map(|_| ())
}

/// `Queue.enqueue_in`: `Queue.schedule_job`, whose `ScheduledJobRegistry.schedule` sends its
/// ZADD at once, before the transaction that saves the job (§9 R9). The delay is a
/// `timedelta`, so it may hold a fraction of a second; the score is `timegm` of now + delay,
/// floored to whole seconds.
pub async fn enqueue_in(
    ctx: &ProcCtx,
    class: &JobClass,
    delay: SimDuration,
    parents: &Rc<[Name]>,
) -> Result<Name, RedisError> {
    let id = crate::event::job_id(ctx.env.next_job_number());
    let mut job = new_job(ctx, class, id.clone());
    let mut kinds = vec![created(ctx, class)];
    // Saved with the job but never registered: `schedule_job` skips `setup_dependencies`
    // (docs/rq-dependencies-and-operations.md §1.2, race D10).
    if !parents.is_empty() {
        kinds.push(depends_on(class, &mut job, parents));
    }
    job.status = "scheduled".into();
    let due = (ctx.now_micros() + delay.as_micros() as i64).div_euclid(1_000_000);
    let zadd = cmd!("ZADD", keys::scheduled(&job.origin), due, &id);
    ctx.redis.call(zadd).await?;
    let commands = vec![
        cmd!("SADD", keys::QUEUES, keys::queue(&job.origin)),
        job.save_command(),
    ];
    kinds.push(EventKind::JobScheduled { due_unix_s: due });
    let observer = ctx.on_commit(Some(&class.queue), Some(&id), kinds);
    ctx.redis
        .transaction_observed(commands, Some(observer))
        .await?;
    Ok(id)
}

/// The `job_created` event of a job of `class`.
pub(crate) fn created(ctx: &ProcCtx, class: &JobClass) -> EventKind {
    let default_timeout = ctx.params().default_job_timeout.whole_secs() as i64;
    EventKind::JobCreated {
        retry_max: class.retry_max.unwrap_or(0),
        retry_intervals_s: class.retry_intervals_s.clone(),
        job_timeout_s: class.job_timeout_s.unwrap_or(default_timeout),
        repeat_times: class.repeat.as_ref().map_or(0, |repeat| repeat.times),
    }
}
