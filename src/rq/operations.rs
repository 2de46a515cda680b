//! What an operator does to jobs and queues from a Python shell or the `rq` command line,
//! command by command as RQ 2.12 sends it (docs/rq-dependencies-and-operations.md): cancel a
//! job (`Job.cancel`, §1.6), requeue failed jobs (`rq requeue`, `FailedJobRegistry.requeue`,
//! §3.7) and empty a queue (`rq empty`, `Queue.empty`, §3.8). Each runs in an operator process
//! of its own ([`crate::rq::operator`]).

use crate::cmd;
use crate::event::{EnqueueSource, EventKind, Name};
use crate::net::RedisError;
use crate::redis::{empty_queue_command, Command, Reply};
use crate::rq::env::ProcCtx;
use crate::rq::job::Job;
use crate::rq::keys;
use crate::rq::operator::Refused;
use crate::rq::queue::enqueue_commands;

/// The statuses `Job._remove_from_registries` asks about, in its order: each question is an
/// `HGET status` of its own (`Job.is_finished`, `is_deferred`, …), and the first yes decides
/// which registry the job leaves.
const REGISTRY_QUESTIONS: [&str; 7] = [
    "finished",
    "deferred",
    "started",
    "scheduled",
    "failed",
    "stopped",
    "canceled",
];

/// `Job.fetch(id)`: `HGETALL rq:job:<id>`; no hash is `NoSuchJobError`.
async fn fetch(ctx: &ProcCtx, id: &Name) -> Result<Job, Refused> {
    let hash = ctx.redis.call(cmd!("HGETALL", keys::job(id))).await?;
    Job::from_reply(id, &hash).ok_or_else(|| Refused::Tool("NoSuchJobError".into()))
}

/// `Job.get_status()`: `HGET rq:job:<id> status`; none is `InvalidJobOperation`.
async fn status(ctx: &ProcCtx, id: &Name) -> Result<String, Refused> {
    let reply = ctx
        .redis
        .call(cmd!("HGET", keys::job(id), "status"))
        .await?;
    reply
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| Refused::Tool("InvalidJobOperation".into()))
}

/// `Job.fetch(id).cancel()` with RQ's default flags (§1.6): after the status checks, one
/// transaction sets `canceled`, takes the job out of its queue list and registry, and adds it
/// to `rq:canceled:<q>`. Children stay deferred; a horse running the job runs on (§1.9 D5).
pub async fn cancel(ctx: &ProcCtx, id: &Name) -> Result<(), Refused> {
    let job = fetch(ctx, id).await?;
    if status(ctx, id).await? == "canceled" {
        return Err(Refused::Tool("InvalidJobOperation".into()));
    }
    let mut pipeline = vec![
        cmd!("HSET", keys::job(id), "status", "canceled"),
        cmd!("LREM", keys::queue(&job.origin), 1, id),
    ];
    pipeline.extend(registry_removal(ctx, &job).await?);
    pipeline.push(cmd!("ZADD", keys::canceled(&job.origin), ctx.ts(), id));
    let observer = ctx.on_job_commit(&job, EventKind::JobCanceled);
    ctx.redis
        .transaction_observed(pipeline, Some(observer))
        .await?;
    Ok(())
}

/// `Job._remove_from_registries`'s questions, sent one by one, and the removal the first yes
/// asks for, for the cancel's transaction.
async fn registry_removal(ctx: &ProcCtx, job: &Job) -> Result<Vec<Command>, Refused> {
    let (id, queue) = (&job.id, &job.origin);
    for asked in REGISTRY_QUESTIONS {
        if status(ctx, id).await? != asked {
            continue;
        }
        let removal = match asked {
            "finished" => cmd!("ZREM", keys::finished(queue), id),
            "deferred" => cmd!("ZREM", keys::deferred(queue), id),
            "started" => return remove_executions(ctx, job).await,
            "scheduled" => cmd!("ZREM", keys::scheduled(queue), id),
            "failed" | "stopped" => cmd!("ZREM", keys::failed(queue), id),
            _ => cmd!("ZREM", keys::canceled(queue), id),
        };
        return Ok(vec![removal]);
    }
    Ok(Vec::new())
}

/// `StartedJobRegistry.remove_executions`: the job's executions (`ExecutionRegistry`'s own
/// cleanup, its ids, and `Execution.fetch` of each, which fails on a missing hash), then one
/// `ZREM rq:wip:<q>` of their members.
async fn remove_executions(ctx: &ProcCtx, job: &Job) -> Result<Vec<Command>, Refused> {
    let executions = keys::executions(&job.id);
    ctx.redis
        .call(cmd!("ZREMRANGEBYSCORE", &executions, 0, ctx.ts()))
        .await?;
    let reply = ctx.redis.call(cmd!("ZRANGE", &executions, 0, -1)).await?;
    let ids = reply.into_strings();
    for execution in &ids {
        let hash = ctx
            .redis
            .call(cmd!("HGETALL", keys::execution(&job.id, execution)))
            .await?;
        if matches!(&hash, Reply::Array(fields) if fields.is_empty()) {
            return Err(Refused::Tool("ValueError".into()));
        }
    }
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut zrem = cmd!("ZREM", keys::started(&job.origin));
    for execution in &ids {
        zrem.push(keys::started_member(&job.id, execution));
    }
    Ok(vec![zrem])
}

/// `rq requeue --queue <q> --all` (`FailedJobRegistry.get_job_ids`, with its cleanup, then
/// `requeue` of each id), or the one job named. An id that is no longer in the registry is
/// counted and skipped, as the command line does; a job whose hash is gone stops it
/// (`NoSuchJobError` is not caught there).
pub async fn requeue(ctx: &ProcCtx, queue: &Name, job: Option<&Name>) -> Result<(), Refused> {
    let ids = match job {
        Some(id) => vec![id.clone()],
        None => failed_job_ids(ctx, queue).await?,
    };
    let mut unable = 0;
    for id in &ids {
        match requeue_one(ctx, queue, id).await {
            Err(Refused::Tool(reason)) if reason == "InvalidJobOperation" => unable += 1,
            outcome => outcome?,
        }
    }
    if unable > 0 {
        let description = format!("operator=rq_requeue unable_to_requeue={unable}");
        ctx.emit(None, None, EventKind::Fault { description });
    }
    Ok(())
}

/// `FailedJobRegistry.get_job_ids()`: its cleanup (`ZREMRANGEBYSCORE … 0 now`), then `ZRANGE`.
async fn failed_job_ids(ctx: &ProcCtx, queue: &Name) -> Result<Vec<Name>, RedisError> {
    let registry = keys::failed(queue);
    ctx.redis
        .call(cmd!("ZREMRANGEBYSCORE", &registry, 0, ctx.ts()))
        .await?;
    let reply = ctx.redis.call(cmd!("ZRANGE", &registry, 0, -1)).await?;
    let ids = reply.into_strings();
    Ok(ids.iter().map(|id| Name::from(id.as_str())).collect())
}

/// `FailedJobRegistry.requeue(id)` (§3.7): fetch, `ZREM` (0 is `InvalidJobOperation`), the
/// whole mapping saved on its own with the run's times emptied, then `_enqueue_job`'s
/// transaction on the job's origin. `retries_left` is not reset.
async fn requeue_one(ctx: &ProcCtx, queue: &Name, id: &Name) -> Result<(), Refused> {
    let mut job = fetch(ctx, id).await?;
    let removed = ctx
        .redis
        .call(cmd!("ZREM", keys::failed(queue), id))
        .await?;
    if removed.as_int() == Some(0) {
        return Err(Refused::Tool("InvalidJobOperation".into()));
    }
    job.started_at = None;
    job.ended_at = None;
    ctx.redis.call(emptied_times_save(&job)).await?;
    let mut pipeline = Vec::new();
    enqueue_commands(ctx, &mut job, false, &mut pipeline);
    let enqueued = EventKind::JobEnqueued {
        source: EnqueueSource::Requeue,
        at_front: false,
    };
    let observer = ctx.on_job_commit(&job, enqueued);
    ctx.redis
        .transaction_observed(pipeline, Some(observer))
        .await?;
    Ok(())
}

/// `Job.save()` of a job whose `started_at` and `ended_at` were set to `None`: `Job.to_dict`
/// writes those as empty strings, which overwrite the last run's (simrq's mapping leaves
/// absent fields out, so they are added here).
fn emptied_times_save(job: &Job) -> Command {
    let mut save = job.save_command();
    for field in ["started_at", "ended_at"] {
        save.push(field);
        save.push("");
    }
    save
}

/// `rq empty <q>` (`Queue.empty`, §3.8): one atomic script pops every id, deleting its hash
/// and dependents set. Each id it pops is reported as `job_deleted` at the instant it runs,
/// read from the list just before (the script's reply is only a count).
pub async fn empty(ctx: &ProcCtx, queue: &Name) -> Result<(), RedisError> {
    let key = keys::queue(queue);
    let observer = ctx.before_applied(queue.clone(), key.clone());
    ctx.redis
        .call_before(empty_queue_command(&key), observer)
        .await
        .map(|_| ())
}
