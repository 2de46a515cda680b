//! `BaseWorker.handle_job_failure` and `Job.retry` (rq-semantics §3.7), shared by the horse,
//! the worker's main process after an abnormal horse exit (§3.9), and the cleaners (§5.3,
//! §5.4).

use crate::cmd;
use crate::event::{EventKind, Name, WebhookStatus};
use crate::net::RedisError;
use crate::redis::exec_replies::ExecReplies;
use crate::redis::reply::spare;
use crate::redis::Command;
use crate::rq::dependencies::enqueue_dependents_after_failure;
use crate::rq::env::ProcCtx;
use crate::rq::job::Job;
use crate::rq::keys;
use crate::rq::queue::{enqueue_commands, PIPELINE_CAPACITY};
use crate::rq::webhook::send_webhooks;

/// One execution of a job: `rq:execution:<job>:<id>` and its `rq:wip:<q>` member.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Execution {
    pub job: Name,
    pub id: Name,
}

impl Execution {
    /// The StartedJobRegistry member `<job>:<execution>`.
    pub fn member(&self) -> crate::redis::Arg {
        keys::started_member(&self.job, &self.id)
    }
}

/// Who handles the failure, and of which execution.
pub struct FailureSite<'a> {
    pub ctx: &'a ProcCtx,
    /// The worker whose hash gets `HDEL current_job` and the failure counters.
    pub worker: &'a Name,
    pub execution: Option<&'a Execution>,
    pub working_time_s: f64,
}

/// `StartedJobRegistry.remove_execution` and the worker-side cleanup, into a pipeline.
pub fn execution_cleanup(
    worker: &Name,
    queue: &str,
    execution: Option<&Execution>,
    pipeline: &mut Vec<Command>,
) {
    pipeline.push(cmd!("HDEL", keys::worker(worker), "current_job"));
    if let Some(execution) = execution {
        pipeline.push(cmd!("DEL", keys::execution(&execution.job, &execution.id)));
        pipeline.push(cmd!("ZREM", keys::started(queue), execution.member()));
        pipeline.push(cmd!(
            "ZREM",
            keys::executions(&execution.job),
            &execution.id
        ));
    }
}

fn failure_counters(worker: &Name, working_time_s: f64) -> Vec<Command> {
    vec![
        cmd!("HINCRBY", keys::worker(worker), "failed_job_count", 1),
        cmd!(
            "HINCRBYFLOAT",
            keys::worker(worker),
            "total_working_time",
            working_time_s
        ),
    ]
}

/// `handle_job_failure`. Returns `Err` only when one of the two immediate commands of an
/// interval retry fails: those are sent outside the handler's protection, so the error
/// escapes (the horse then exits 1 and its worker handles the failure again, §3.9).
pub async fn handle_job_failure(
    site: &FailureSite<'_>,
    job: &mut Job,
    reason: &str,
) -> Result<(), RedisError> {
    let ctx = site.ctx;
    let queue = job.origin.clone();
    let mut commands = spare::pipeline(PIPELINE_CAPACITY);
    execution_cleanup(site.worker, &queue, site.execution, &mut commands);
    commands.extend(failure_counters(site.worker, site.working_time_s));
    if !job.should_retry() {
        return fail_job(site, job, reason, commands).await;
    }
    let retry = retry_job(ctx, job).await?;
    let committed = retry.on_commit(ctx, job);
    commands.extend(retry.commands);
    let _ = ctx.redis.transaction_observed(commands, committed).await;
    Ok(())
}

/// The terminal failure: `[TX] HSET status failed; cleanup; mapping; EXPIRE; ZADD failed;
/// XADD result`, then `[TX] counters`, then the job's failed webhooks, sent by whichever
/// process handles the failure (the horse, or its worker after the horse died). Errors are
/// logged and dropped (§3.7).
async fn fail_job(
    site: &FailureSite<'_>,
    job: &mut Job,
    reason: &str,
    mut cleanup: Vec<Command>,
) -> Result<(), RedisError> {
    let ctx = site.ctx;
    let counters = cleanup.split_off(cleanup.len() - 2);
    let mut commands = vec![cmd!("HSET", keys::job(&job.id), "status", "failed")];
    commands.extend(cleanup);
    commands.extend(failed_registry_commands(ctx, job, reason));
    let moved = commit_move_to_failed(ctx, job, commands, reason).await;
    let counted = ctx.redis.transaction(counters).await;
    if let Err(error) = moved {
        ctx.redis_error("handle_job_failure", "EXEC", &error);
    }
    // The failed webhooks follow the handler's last EXEC (the counters' here), and only if
    // it succeeded: `send_webhooks` sits after `pipeline.execute()` in the same `try`.
    // Then the dependents, outside the failure's transaction; an error there is logged and
    // dropped like the rest (docs/rq-dependencies-and-operations.md §1.5, race D3).
    if counted.is_ok() {
        send_webhooks(ctx, job, WebhookStatus::Failed).await;
        enqueue_dependents_after_failure(ctx, job).await;
    }
    Ok(())
}

/// The failure text of a job stopped by `stop-job` (`monitor_work_horse`'s message), which
/// also tells checkers that a `job_moved_to_failed` was a stop.
pub const STOPPED_REASON: &str = "Job stopped by user, work-horse terminated.";

/// `handle_job_failure` for the job its worker stopped on purpose (`stop-job`,
/// docs/rq-dependencies-and-operations.md §3.4): `job_is_stopped`, so no retry whatever
/// `retries_left` says: `[TX] HSET status stopped; cleanup; the job saved as stopped; failed
/// registry; result with `exc_string``, then `[TX] HINCRBY failed_job_count`, with the working
/// time only if `ended_at` was set (not by the monitor of a killed horse; yes when a
/// `SimpleWorker`'s job failed after an ignored `stop-job`). No failed webhooks: they skip
/// stopped jobs. Errors are logged and dropped, as for any final failure.
pub async fn handle_stopped_job(
    site: &FailureSite<'_>,
    job: &mut Job,
    exc_string: &str,
    ended: bool,
) {
    let ctx = site.ctx;
    let mut commands = vec![cmd!("HSET", keys::job(&job.id), "status", "stopped")];
    execution_cleanup(
        site.worker,
        &job.origin.clone(),
        site.execution,
        &mut commands,
    );
    commands.extend(registry_commands(ctx, job, exc_string, "stopped"));
    let moved = commit_move_to_failed(ctx, job, commands, STOPPED_REASON).await;
    if let Err(error) = moved {
        ctx.redis_error("handle_job_failure", "EXEC", &error);
    }
    let mut counters = failure_counters(site.worker, site.working_time_s);
    if !ended {
        counters.truncate(1);
    }
    if ctx.redis.transaction(counters).await.is_ok() {
        // Still called: it reads the status `stopped` and releases no child (§1.5).
        enqueue_dependents_after_failure(ctx, job).await;
    }
}

/// Executes the transaction that moves `job` to the failed registry, with its
/// `job_moved_to_failed` stamped when Redis commits, even if the reply is lost and the
/// process never learns it.
async fn commit_move_to_failed(
    ctx: &ProcCtx,
    job: &Job,
    commands: Vec<Command>,
    reason: &str,
) -> Result<ExecReplies, RedisError> {
    let kind = EventKind::JobMovedToFailed {
        reason: reason.to_string(),
    };
    let moved_event = ctx.on_job_commit(job, kind);
    ctx.redis
        .transaction_observed(commands, Some(moved_event))
        .await
}

/// `FailedJobRegistry.add` with the job saved as failed and its failure result.
pub fn failed_registry_commands(ctx: &ProcCtx, job: &mut Job, reason: &str) -> Vec<Command> {
    registry_commands(ctx, job, reason, "failed")
}

/// `FailedJobRegistry.add` and `Result.create_failure`, the job saved with `status`.
fn registry_commands(
    ctx: &ProcCtx,
    job: &mut Job,
    reason: &str,
    status: &'static str,
) -> Vec<Command> {
    let failure_ttl = job
        .failure_ttl_s
        .unwrap_or(ctx.params().failure_ttl.whole_secs() as i64);
    job.status = status.into();
    job.ended_at.get_or_insert_with(|| ctx.utcnow());
    let mut commands = vec![job.save_command()];
    job.cleanup(Some(failure_ttl), &mut commands);
    // A negative TTL keeps the entry for good: its score is the TTL itself.
    let score = if failure_ttl < 0 {
        failure_ttl
    } else {
        ctx.ts() + failure_ttl
    };
    commands.extend([
        cmd!("ZADD", keys::failed(&job.origin), score, &job.id),
        cmd!(
            "XADD",
            keys::results(&job.id),
            "MAXLEN",
            "~",
            10,
            "*",
            "type",
            2,
            "exc_string",
            reason
        ),
        cmd!("EXPIRE", keys::results(&job.id), failure_ttl),
    ]);
    commands
}

/// What `Job.retry` leaves for the caller's pipeline, and the event to emit once it commits.
pub struct RetryPlan {
    pub commands: Vec<Command>,
    pending_event: Option<EventKind>,
}

impl RetryPlan {
    /// An observer that emits the retry event, if it waits for the pipeline, when Redis
    /// commits the pipeline: a lost reply must not hide a retry that happened.
    pub fn on_commit(&self, ctx: &ProcCtx, job: &Job) -> Option<crate::net::OnApplied> {
        let kind = self.pending_event.clone()?;
        Some(ctx.on_job_commit(job, kind))
    }
}

/// `Job.retry`: decrement `retries_left`, then either schedule (interval > 0: the status
/// HSET and the ZADD go out at once, the rest into the pipeline) or requeue at the back.
pub async fn retry_job(ctx: &ProcCtx, job: &mut Job) -> Result<RetryPlan, RedisError> {
    let interval_s = job.retry_interval_s();
    let retries_left = job.retries_left.unwrap_or(0) - 1;
    job.retries_left = Some(retries_left);
    if interval_s <= 0 {
        let at_front = job.enqueue_at_front_on_retry;
        let mut commands = vec![cmd!("SADD", keys::QUEUES, keys::queue(&job.origin))];
        enqueue_commands(ctx, job, at_front, &mut commands);
        let pending_event = Some(EventKind::JobRetryRequeued { retries_left });
        return Ok(RetryPlan {
            commands,
            pending_event,
        });
    }
    let due_unix_s = (ctx.now_micros() + interval_s * 1_000_000).div_euclid(1_000_000);
    job.status = "scheduled".into();
    let retry_event = EventKind::JobRetryScheduled {
        due_unix_s,
        interval_s,
        retries_left,
    };
    let zadd = cmd!("ZADD", keys::scheduled(&job.origin), due_unix_s, &job.id);
    let mut commands = vec![
        cmd!("SADD", keys::QUEUES, keys::queue(&job.origin)),
        cmd!("HSET", keys::job(&job.id), "status", "scheduled"),
        job.save_command(),
    ];
    job.cleanup(job.ttl_s, &mut commands);
    if ctx.params().what_if.retry_zadd_in_transaction {
        commands.push(zadd);
        return Ok(RetryPlan {
            commands,
            pending_event: Some(retry_event),
        });
    }
    let status = cmd!("HSET", keys::job(&job.id), "status", "scheduled");
    immediate(ctx, status, "HSET", None).await?;
    // Stamped when the ZADD executes: once it has, the retry is scheduled even if the reply
    // is lost and the horse exits on the error.
    let scheduled = ctx.on_job_commit(job, retry_event);
    immediate(ctx, zadd, "ZADD", Some(scheduled)).await?;
    Ok(RetryPlan {
        commands,
        pending_event: None,
    })
}

async fn immediate(
    ctx: &ProcCtx,
    command: Command,
    name: &str,
    on_applied: Option<crate::net::OnApplied>,
) -> Result<(), RedisError> {
    match ctx.redis.call_observed(command, on_applied).await {
        Ok(_) => Ok(()),
        Err(error) => {
            ctx.redis_error("job_retry", name, &error);
            Err(error)
        }
    }
}
