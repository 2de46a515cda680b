//! Producers: `Queue.enqueue` and `Queue.enqueue_in` / `enqueue_at` (rq-semantics §3.10),
//! and the enqueue commands the scheduler and retries share.

use crate::cmd;
use crate::event::{EnqueueSource, EventKind, Name};
use crate::net::RedisError;
use crate::redis::reply::spare;
use crate::redis::Command;
use crate::rq::body::JobClass;
use crate::rq::env::ProcCtx;
use crate::rq::job::Job;
use crate::rq::keys;
use crate::sim::SimDuration;

/// Room for the commands of a job's end (success, failure or retry), so that its pipeline is
/// allocated once rather than grown.
pub const PIPELINE_CAPACITY: usize = 16;

/// The most commands `Queue.enqueue`'s pipeline holds: SADD, then [`enqueue_commands`].
const ENQUEUE_COMMANDS: usize = 5;

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
    }
}

/// `Queue._enqueue_job(job, pipeline)`: status queued, the saved mapping, the push.
pub fn enqueue_commands(ctx: &ProcCtx, job: &mut Job, at_front: bool, pipeline: &mut Vec<Command>) {
    job.status = "queued".into();
    job.enqueued_at = Some(ctx.utcnow());
    pipeline.push(cmd!("HSET", keys::job(&job.id), "status", "queued"));
    pipeline.push(job.save_command());
    if let Some(ttl) = job.ttl_s {
        pipeline.push(cmd!("EXPIRE", keys::job(&job.id), ttl));
    }
    pipeline.push(if at_front {
        cmd!("LPUSH", keys::queue(&job.origin), &job.id)
    } else {
        cmd!("RPUSH", keys::queue(&job.origin), &job.id)
    });
}

/// `Queue.enqueue`: `[TX] SADD rq:queues; HSET …; RPUSH` (LPUSH with `at_front`).
pub async fn enqueue(ctx: &ProcCtx, class: &JobClass) -> Result<Name, RedisError> {
    let id = crate::event::job_id(ctx.env.next_job_number());
    let mut job = new_job(ctx, class, id.clone());
    let mut commands = spare::pipeline(ENQUEUE_COMMANDS);
    commands.push(cmd!("SADD", keys::QUEUES, keys::queue(&job.origin)));
    enqueue_commands(ctx, &mut job, class.at_front, &mut commands);
    let enqueued = EventKind::JobEnqueued {
        source: EnqueueSource::Producer,
        at_front: class.at_front,
    };
    let kinds = vec![created(ctx, class), enqueued];
    let observer = ctx.on_commit(Some(&class.queue), Some(&id), kinds);
    ctx.redis
        .transaction_observed(commands, Some(observer))
        .await?;
    Ok(id)
}

/// `Queue.enqueue_in`: `Queue.schedule_job`, whose `ScheduledJobRegistry.schedule` sends its
/// ZADD at once, before the transaction that saves the job (§9 R9). The delay is a
/// `timedelta`, so it may hold a fraction of a second; the score is `timegm` of now + delay,
/// floored to whole seconds.
pub async fn enqueue_in(
    ctx: &ProcCtx,
    class: &JobClass,
    delay: SimDuration,
) -> Result<Name, RedisError> {
    let id = crate::event::job_id(ctx.env.next_job_number());
    let mut job = new_job(ctx, class, id.clone());
    job.status = "scheduled".into();
    let due = (ctx.now_micros() + delay.as_micros() as i64).div_euclid(1_000_000);
    let zadd = cmd!("ZADD", keys::scheduled(&job.origin), due, &id);
    ctx.redis.call(zadd).await?;
    let commands = vec![
        cmd!("SADD", keys::QUEUES, keys::queue(&job.origin)),
        job.save_command(),
    ];
    let kinds = vec![
        created(ctx, class),
        EventKind::JobScheduled { due_unix_s: due },
    ];
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
