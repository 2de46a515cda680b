//! Job dependencies (docs/rq-dependencies-and-operations.md §1): `Queue.setup_dependencies`
//! when a job with `depends_on` is enqueued, and `Queue.enqueue_dependents` with
//! `Job.dependencies_are_met` when a parent ends.
//!
//! ```text
//!   enqueue(C, depends_on=[P…]) ─ a parent not finished ─► [TX] deferred: rq:deferred:<q>,
//!        │                                                 rq:job:<P>:dependents ∋ C
//!        └─ all finished or missing ─► queued at once
//!   P succeeds ──► enqueue_dependents(P, caller's pipeline) ─► C queued in P's success [TX]
//!   P fails for good ──► enqueue_dependents(P) after the failure [TX] and the webhooks
//! ```
//!
//! A deferred job leaves `deferred` only through a parent's `enqueue_dependents`: nothing
//! else ever looks at the deferred registry (§1.8).

use crate::cmd;
use crate::event::{EnqueueSource, EventKind, Name};
use crate::net::{all_of, OnApplied, RedisError};
use crate::redis::{Command, Reply};
use crate::rq::env::ProcCtx;
use crate::rq::job::Job;
use crate::rq::keys;
use crate::rq::queue::enqueue_commands;

/// How `dependencies_are_met` learns the parent's status (`refresh_job_status`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParentStatus {
    /// `HGET rq:job:<P> status` on the other connection: a horse's success reads `started`.
    Refresh,
    /// The status in memory: a cleaner's abandoned job, already marked `failed`.
    InMemory,
}

/// The children `enqueue_dependents` releases, as commands for the caller's transaction and
/// the observer that stamps their `job_enqueued` events when it commits.
pub struct Released {
    pub commands: Vec<Command>,
    pub on_commit: Option<OnApplied>,
}

/// `Queue.setup_dependencies` then `enqueue_job`'s `SADD`: WATCH the job's dependencies key
/// and its parents, read the parents, and defer the job if any parent is not `finished`.
/// Returns whether it was deferred. A WatchError starts over, without bound, as in RQ.
pub async fn setup_dependencies(
    ctx: &ProcCtx,
    job: &mut Job,
    creation: Vec<EventKind>,
) -> Result<bool, RedisError> {
    loop {
        ctx.redis
            .call(cmd!("WATCH", keys::dependencies(&job.id)))
            .await?;
        let mut watch = cmd!("WATCH");
        for parent in job.dependency_ids.iter() {
            watch.push(keys::job(parent));
        }
        ctx.redis.call(watch).await?;
        let parents = fetch_many(ctx, &job.dependency_ids).await?;
        // A missing parent is dropped by `fetch_many`, so it counts as finished here.
        if parents
            .iter()
            .flatten()
            .all(|parent| parent.status == "finished")
        {
            ctx.redis.call(cmd!("UNWATCH")).await?;
            return Ok(false);
        }
        let mut kinds = creation.clone();
        kinds.push(EventKind::JobDeferred);
        let observer = ctx.on_commit(Some(&job.origin), Some(&job.id), kinds);
        match ctx
            .redis
            .transaction_observed(defer_commands(ctx, job), Some(observer))
            .await
        {
            Ok(_) => return Ok(true),
            Err(RedisError::Watch) => continue,
            Err(error) => return Err(error),
        }
    }
}

/// `job.set_status(DEFERRED)`, `register_dependency`, `save`, `cleanup(ttl)`.
fn defer_commands(ctx: &ProcCtx, job: &mut Job) -> Vec<Command> {
    job.status = "deferred".into();
    let mut commands = vec![
        cmd!("HSET", keys::job(&job.id), "status", "deferred"),
        cmd!("ZADD", keys::deferred(&job.origin), ctx.ts(), &job.id),
    ];
    for parent in job.dependency_ids.iter() {
        commands.push(cmd!("SADD", keys::dependents(parent), &job.id));
        commands.push(cmd!("SADD", keys::dependencies(&job.id), parent));
    }
    commands.push(job.save_command());
    job.cleanup(job.ttl_s, &mut commands);
    commands
}

/// `Job.fetch_many(ids)`: each job, `None` for a missing hash. One transaction on the
/// other connection, so the caller's WATCH stays.
async fn fetch_many(ctx: &ProcCtx, ids: &[Name]) -> Result<Vec<Option<Job>>, RedisError> {
    let reads = ids
        .iter()
        .map(|id| cmd!("HGETALL", keys::job(id)))
        .collect();
    let hashes = ctx.other_connection().transaction(reads).await?;
    Ok(ids
        .iter()
        .zip(&hashes)
        .map(|(id, hash)| Job::from_reply(id, hash))
        .collect())
}

/// [`enqueue_dependents`] after a job's final failure, where RQ logs an exception and drops
/// it (`handle_job_failure`'s `try`, docs/rq-dependencies-and-operations.md §1.5, race D3).
pub async fn enqueue_dependents_after_failure(ctx: &ProcCtx, parent: &Job) {
    if let Err(error) = enqueue_dependents(ctx, parent, ParentStatus::Refresh).await {
        ctx.redis_error("enqueue_dependents", "EXEC", &error);
    }
}

/// `Queue.enqueue_dependents(parent)` in its own mode (no caller's pipeline): WATCH the
/// dependents key, release what qualifies in a transaction of its own, start over on a
/// WatchError; `UNWATCH` when nothing qualifies.
pub async fn enqueue_dependents(
    ctx: &ProcCtx,
    parent: &Job,
    parent_status: ParentStatus,
) -> Result<(), RedisError> {
    loop {
        ctx.redis
            .call(cmd!("WATCH", keys::dependents(&parent.id)))
            .await?;
        let Some(released) = dependents_to_enqueue(ctx, parent, parent_status).await? else {
            // redis-py resets the dropped pipeline, which sends UNWATCH.
            ctx.redis.call(cmd!("UNWATCH")).await?;
            return Ok(());
        };
        match ctx
            .redis
            .transaction_observed(released.commands, released.on_commit)
            .await
        {
            Ok(_) => return Ok(()),
            Err(RedisError::Watch) => continue,
            Err(error) => return Err(error),
        }
    }
}

/// The body of `enqueue_dependents` after the caller's WATCH of the dependents key: read
/// the children, keep those whose dependencies are met and that are not canceled, and build
/// their enqueues. `None` when no child qualifies (no transaction is due).
pub async fn dependents_to_enqueue(
    ctx: &ProcCtx,
    parent: &Job,
    parent_status: ParentStatus,
) -> Result<Option<Released>, RedisError> {
    let members = ctx
        .redis
        .call(cmd!("SMEMBERS", keys::dependents(&parent.id)))
        .await?
        .into_strings();
    if members.is_empty() {
        return Ok(None);
    }
    let ids: Vec<Name> = sibling_order(ctx, members);
    let mut ready = Vec::new();
    for child in fetch_many(ctx, &ids).await?.into_iter().flatten() {
        if dependencies_are_met(ctx, &child, parent, parent_status).await?
            && child.status != "canceled"
        {
            ready.push(child);
        }
    }
    if ready.is_empty() {
        return Ok(None);
    }
    Ok(Some(release(ctx, parent, ready, ids.len())))
}

/// The children of one parent come out of a Python `set`, whose order changes from process
/// to process with string hashing (§1.3): a draw per child and process stands for it.
fn sibling_order(ctx: &ProcCtx, members: Vec<String>) -> Vec<Name> {
    let mut keyed: Vec<(u64, Name)> = members
        .into_iter()
        .map(|id| {
            let draw = ctx.env.attempt_draw(&id, 0, &ctx.name);
            ((draw * u64::MAX as f64) as u64, Name::from(id))
        })
        .collect();
    keyed.sort();
    keyed.into_iter().map(|(_, id)| id).collect()
}

/// `Job.dependencies_are_met(parent_job=parent, pipeline=…)`: WATCH the child's parents,
/// read its dependencies set (the set decides, not the hash field), then the parent's
/// status and the other parents' statuses. A missing parent counts as met.
async fn dependencies_are_met(
    ctx: &ProcCtx,
    child: &Job,
    parent: &Job,
    parent_status: ParentStatus,
) -> Result<bool, RedisError> {
    if !child.dependency_ids.is_empty() {
        let mut watch = cmd!("WATCH");
        for id in child.dependency_ids.iter() {
            watch.push(keys::job(id));
        }
        ctx.redis.call(watch).await?;
    }
    let mut others: Vec<Name> = ctx
        .redis
        .call(cmd!("SMEMBERS", keys::dependencies(&child.id)))
        .await?
        .into_strings()
        .into_iter()
        .filter(|id| **id != *parent.id)
        .map(Name::from)
        .collect();
    let allow_failure = child.allow_dependency_failures == Some(true);
    let status = match parent_status {
        ParentStatus::Refresh => parent_status_in_redis(ctx, parent).await?,
        ParentStatus::InMemory => parent.status.to_string(),
    };
    match status.as_str() {
        "canceled" | "stopped" => return Ok(false),
        "failed" if !allow_failure => return Ok(false),
        _ => {}
    }
    if others.is_empty() {
        return Ok(true);
    }
    others.sort();
    let reads = others
        .iter()
        .map(|id| cmd!("HGET", keys::job(id), "status"))
        .collect();
    let statuses = ctx.other_connection().transaction(reads).await?;
    Ok(statuses.iter().all(|status| match status.as_str() {
        None => true,
        Some(status) => status == "finished" || (allow_failure && status == "failed"),
    }))
}

/// `Job.get_status(refresh=True)`: `HGET rq:job:<P> status` on the job's own connection,
/// which is not the watching one.
async fn parent_status_in_redis(ctx: &ProcCtx, parent: &Job) -> Result<String, RedisError> {
    let reply = ctx
        .other_connection()
        .call(cmd!("HGET", keys::job(&parent.id), "status"))
        .await?;
    Ok(match reply {
        Reply::Bulk(status) => status.as_str().to_string(),
        // `get_status` raises InvalidJobOperation on a hash without a status; the caller
        // logs it, which here means nothing is released.
        _ => String::from("canceled"),
    })
}

/// §1.3 steps 6–7: for each ready child, `DeferredJobRegistry.remove` (and again in
/// `_enqueue_async_job`, since the fetched status is `deferred`), then `_enqueue_job` on the
/// child's own queue; then the dependents key is deleted, or only the released ids removed.
fn release(ctx: &ProcCtx, parent: &Job, ready: Vec<Job>, members: usize) -> Released {
    let mut commands = Vec::new();
    let mut observers: Vec<OnApplied> = Vec::new();
    let mut srem = cmd!("SREM", keys::dependents(&parent.id));
    for mut child in ready.iter().cloned() {
        let deferred = keys::deferred(&child.origin);
        commands.push(cmd!("ZREM", &deferred, &child.id));
        if child.status == "deferred" {
            commands.push(cmd!("ZREM", &deferred, &child.id));
        }
        let at_front = child.enqueue_at_front;
        enqueue_commands(ctx, &mut child, at_front, &mut commands);
        srem.push(&child.id);
        let kind = EventKind::JobEnqueued {
            source: EnqueueSource::Dependency,
            at_front,
        };
        observers.push(ctx.on_job_commit(&child, kind));
    }
    commands.push(if ready.len() == members {
        cmd!("DEL", keys::dependents(&parent.id))
    } else {
        srem
    });
    Released {
        commands,
        on_commit: all_of(observers),
    }
}
