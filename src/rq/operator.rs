//! The `rq` command line and `rq/command.py`'s senders as an operator runs them against a
//! live system (docs/rq-dependencies-and-operations.md §3): each command is a short process
//! of its own with its own connection, like the CLI or a dashboard's request, and sends
//! exactly what RQ 2.12 sends.

use std::rc::Rc;

use crate::cmd;
use crate::event::{EventKind, Name};
use crate::net::RedisError;
use crate::rq::command::WorkerCommand;
use crate::rq::env::{ProcCtx, RqEnv};
use crate::rq::job::Job;
use crate::rq::keys;
use crate::sim::{HostId, Pid, SimDuration};

/// A command an operator runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OperatorCommand {
    /// `rq suspend`, with `--duration` when given.
    Suspend(Option<SimDuration>),
    Resume,
    /// `send_shutdown_command` / `send_kill_horse_command` to the worker named.
    Send(Name, WorkerCommand),
    /// Stop whatever the worker named runs now: read its current job as a dashboard shows
    /// it (`Worker.get_current_job_id`: `HGET rq:worker:<w> current_job`), then
    /// `send_stop_job_command` with that id.
    StopCurrentJob(Name),
    /// `Job.fetch(id).cancel()`, with RQ's default flags (§1.6).
    Cancel(Name),
    /// `rq requeue --queue <q> --all`, or with one job id (§3.7).
    Requeue {
        queue: Name,
        job: Option<Name>,
    },
    /// `rq empty <q>`: `Queue.empty` (§3.8).
    EmptyQueue(Name),
}

impl OperatorCommand {
    /// The command line, as the operator types it.
    pub fn text(&self) -> String {
        match self {
            OperatorCommand::Suspend(Some(span)) => {
                format!("rq suspend --duration {}", span.whole_secs())
            }
            OperatorCommand::Suspend(None) => "rq suspend".to_string(),
            OperatorCommand::Resume => "rq resume".to_string(),
            OperatorCommand::Send(worker, command) => {
                format!("send_command {worker} {}", command.name())
            }
            OperatorCommand::StopCurrentJob(worker) => format!("send_stop_job_command {worker}"),
            OperatorCommand::Cancel(job) => format!("Job.cancel {job}"),
            OperatorCommand::Requeue { queue, job: None } => {
                format!("rq requeue --queue {queue} --all")
            }
            OperatorCommand::Requeue {
                queue,
                job: Some(job),
            } => format!("rq requeue --queue {queue} {job}"),
            OperatorCommand::EmptyQueue(queue) => format!("rq empty {queue}"),
        }
    }
}

/// Why an operator's command ended without doing its work.
#[derive(Debug)]
pub enum Refused {
    Redis(RedisError),
    /// `NoSuchJobError`, `InvalidJobOperation`, or nothing to stop: the tool's own refusal.
    Tool(String),
}

impl From<RedisError> for Refused {
    fn from(error: RedisError) -> Refused {
        Refused::Redis(error)
    }
}

/// Runs `command` now as a short process of its own on `host`; a Redis error is reported as a
/// `redis_error` event and makes the process exit 1.
pub fn spawn(env: &Rc<RqEnv>, host: HostId, command: OperatorCommand) -> Pid {
    let text = command.text();
    let name = Name::from(format!("operator/{text}").as_str());
    let ctx = ProcCtx::new(env, &Name::from("operator"), &name, host);
    env.sim.spawn(host, &name, None, async move {
        let result = match command {
            OperatorCommand::Suspend(duration) => suspend(&ctx, duration).await.map_err(Into::into),
            OperatorCommand::Resume => resume(&ctx).await.map_err(Into::into),
            OperatorCommand::Send(worker, command) => send_command(&ctx, &worker, &command)
                .await
                .map_err(Into::into),
            OperatorCommand::StopCurrentJob(worker) => stop_current_job(&ctx, &worker).await,
            OperatorCommand::Cancel(job) => crate::rq::operations::cancel(&ctx, &job).await,
            OperatorCommand::Requeue { queue, job } => {
                crate::rq::operations::requeue(&ctx, &queue, job.as_ref()).await
            }
            OperatorCommand::EmptyQueue(queue) => crate::rq::operations::empty(&ctx, &queue)
                .await
                .map_err(Into::into),
        };
        match &result {
            Err(Refused::Redis(error)) => ctx.redis_error("operator", &text, error),
            Err(Refused::Tool(reason)) => {
                let description = format!("operator={} refused={reason}", text.replace(' ', "_"));
                ctx.emit(None, None, EventKind::Fault { description });
            }
            Ok(()) => {}
        }
        i32::from(result.is_err())
    })
}

/// `send_command` (§3.1): `PUBLISH rq:pubsub:<w> <json>`, fire and forget: the reply (how
/// many connections listen) is not looked at by RQ; simrq records it.
pub async fn send_command(
    ctx: &ProcCtx,
    worker: &Name,
    command: &WorkerCommand,
) -> Result<(), RedisError> {
    let channel = keys::pubsub_channel(worker);
    let publish = cmd!("PUBLISH", channel, command.payload());
    let receivers = ctx.redis.call(publish).await?.as_int().unwrap_or(0);
    let kind = EventKind::CommandPublished {
        command: command.name(),
        worker: worker.clone(),
        receivers,
    };
    let job = match command {
        WorkerCommand::StopJob(job) => Some(job),
        _ => None,
    };
    ctx.emit(None, job, kind);
    Ok(())
}

/// The worker's current job (`HGET rq:worker:<w> current_job`), then
/// `send_stop_job_command(job_id)` (§3.1): `Job.fetch` (`HGETALL`, `NoSuchJobError` if the
/// hash is gone), `InvalidJobOperation` if it names no worker, else PUBLISH to the worker
/// that last started it, which is not necessarily the one asked about.
async fn stop_current_job(ctx: &ProcCtx, worker: &Name) -> Result<(), Refused> {
    let current = ctx
        .redis
        .call(cmd!("HGET", keys::worker(worker), "current_job"))
        .await?;
    let Some(id) = current.as_str().map(Name::from) else {
        return Err(Refused::Tool("no_current_job".into()));
    };
    let hash = ctx.redis.call(cmd!("HGETALL", keys::job(&id))).await?;
    let Some(job) = Job::from_reply(&id, &hash) else {
        return Err(Refused::Tool("NoSuchJobError".into()));
    };
    let Some(started_by) = job.worker_name.clone() else {
        return Err(Refused::Tool("InvalidJobOperation".into()));
    };
    send_command(ctx, &started_by, &WorkerCommand::StopJob(id)).await?;
    Ok(())
}

/// `rq suspend [--duration N]` (`rq/suspension.py suspend`, §3.5): `SET rq:suspended 1`, then,
/// with a duration, a separate `EXPIRE`; workers see it at the top of their next loop.
pub async fn suspend(ctx: &ProcCtx, duration: Option<SimDuration>) -> Result<(), RedisError> {
    ctx.redis.call(cmd!("SET", keys::SUSPENDED, 1)).await?;
    if let Some(duration) = duration {
        let seconds = duration.whole_secs() as i64;
        ctx.redis
            .call(cmd!("EXPIRE", keys::SUSPENDED, seconds))
            .await?;
    }
    Ok(())
}

/// `rq resume` (`rq/suspension.py resume`, §3.5): `DEL rq:suspended`.
pub async fn resume(ctx: &ProcCtx) -> Result<(), RedisError> {
    ctx.redis
        .call(cmd!("DEL", keys::SUSPENDED))
        .await
        .map(|_| ())
}
