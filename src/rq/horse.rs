//! The work-horse: the child a worker forks per job (rq-semantics §3.4 steps 3–5, §3.6–§3.8).
//! Follows `BaseWorker.perform_job`, `handle_job_success` (with `Repeat.schedule`, in
//! `repeat.rs`), `handle_job_retry`, and the webhooks sent after them (`webhook.rs`).

use std::rc::Rc;

use crate::cmd;
use crate::event::{EventKind, Name, WebhookStatus};
use crate::net::all_of;
use crate::net::RedisError;
use crate::redis::reply::spare;
use crate::redis::IntoArg;
use crate::rq::body::{draw_attempt, Outcome};
use crate::rq::command::CommandState;
use crate::rq::dependencies::{
    dependents_to_enqueue, enqueue_dependents_after_failure, ParentStatus,
};
use crate::rq::env::ProcCtx;
use crate::rq::failure::{
    execution_cleanup, failed_registry_commands, handle_job_failure, handle_stopped_job, Execution,
    FailureSite,
};
use crate::rq::job::{return_retry_interval_s, Job};
use crate::rq::keys;
use crate::rq::queue::{enqueue_commands, PIPELINE_CAPACITY};
use crate::rq::repeat::{self, RepeatStep};
use crate::rq::webhook::send_webhooks;
use crate::sim::{Sim, SimDuration, SimTime};

/// What `perform_job` needs: what the horse knows when it is forked, or what a
/// `SimpleWorker` hands its own `perform_job`.
pub struct HorseTask {
    pub worker: Name,
    pub job: Job,
    pub execution: Execution,
    /// The worker listens on one queue: BLMOVE put the id in the intermediate list.
    pub single_queue: bool,
    /// `get_heartbeat_ttl(job)` as `prepare_job_execution` sets the worker key's TTL.
    pub worker_key_ttl_s: i64,
    /// The worker's `_stopped_job_id`, when `perform_job` runs in the worker's own process
    /// (`SimpleWorker`); `None` in a forked horse, whose copy is never set.
    pub stop_requests: Option<Rc<CommandState>>,
}

impl HorseTask {
    /// `handle_job_failure`'s `job_is_stopped`: a `stop-job` named this job (and, with no
    /// horse to kill, let it run on); the id is cleared as it is read.
    fn take_stop_request(&self) -> bool {
        let Some(state) = &self.stop_requests else {
            return false;
        };
        let mut stopped = state.stopped_job_id.borrow_mut();
        let matches = stopped.as_deref() == Some(&*self.job.id);
        if matches {
            *stopped = None;
        }
        matches
    }
}

/// `main_work_horse`: `os._exit(0)`, or 1 if `perform_job` itself raised.
///
/// The host's cost of a fork-per-job worker (`[rq] horse_startup`, `horse_exit`) is charged
/// here: RQ's steps take no time in the model, but a real horse needs CPU time to start
/// (fork, imports) and to end, during which its worker takes no other job.
pub async fn work_horse(ctx: ProcCtx, mut task: HorseTask) -> i32 {
    let host = &ctx.params().host;
    let member = || task.execution.member();
    let startup = ctx.env.host_cost(&host.horse_startup, || {
        format!("horse/{}/startup", member())
    });
    let exit = ctx
        .env
        .host_cost(&host.horse_exit, || format!("horse/{}/exit", member()));
    let started = ctx.sim().now();
    if startup > SimDuration::ZERO {
        ctx.sim().sleep(startup).await;
    }
    let code = match perform_job(&ctx, &mut task, started).await {
        Ok(()) => 0,
        Err(_) => 1,
    };
    if exit > SimDuration::ZERO {
        ctx.sim().sleep(exit).await;
    }
    code
}

/// How the job's function ended.
pub(super) enum Ending {
    Returned,
    ReturnedRetry,
    Raised(&'static str),
}

/// `BaseWorker.perform_job`.
async fn perform_job(
    ctx: &ProcCtx,
    task: &mut HorseTask,
    started: SimTime,
) -> Result<(), RedisError> {
    if let Some(ended) = before_job_body(ctx, task, started).await {
        return ended;
    }
    let ending = match draw_job_run(ctx, &task.job) {
        Ok(run) => run.perform(ctx.sim()).await,
        Err(ending) => ending,
    };
    after_job_body(ctx, task, started, ending).await
}

/// `perform_job` up to the job's function: `prepare_job_execution` and the `PERSIST`.
/// `Some` when a Redis error ended `perform_job` there (through the failure path).
pub(super) async fn before_job_body(
    ctx: &ProcCtx,
    task: &mut HorseTask,
    started: SimTime,
) -> Option<Result<(), RedisError>> {
    let queue = task.job.origin.clone();
    if let Err(error) = prepare_job_execution(ctx, task).await {
        ctx.redis_error("prepare_job_execution", "EXEC", &error);
        return Some(fail(ctx, task, started, "ConnectionError before the job ran").await);
    }
    if let Err(error) = ctx
        .redis
        .call(cmd!("PERSIST", keys::job(&task.job.id)))
        .await
    {
        ctx.redis_error("perform_job", "PERSIST", &error);
        return Some(fail(ctx, task, started, "ConnectionError before the job ran").await);
    }
    let worker = task.worker.clone();
    ctx.emit(
        Some(&queue),
        Some(&task.job.id),
        EventKind::JobStarted { worker },
    );
    None
}

/// `perform_job` after the job's function: `handle_execution_ended`, then success, `Retry`
/// or the failure path.
pub(super) async fn after_job_body(
    ctx: &ProcCtx,
    task: &mut HorseTask,
    started: SimTime,
    ending: Ending,
) -> Result<(), RedisError> {
    task.job.ended_at = Some(ctx.utcnow());
    let heartbeat = cmd!(
        "HSET",
        keys::job(&task.job.id),
        "last_heartbeat",
        ctx.utcnow()
    );
    if let Err(error) = ctx.redis.call(heartbeat).await {
        ctx.redis_error("handle_execution_ended", "HSET", &error);
        return fail(ctx, task, started, "ConnectionError after the job ran").await;
    }
    match ending {
        Ending::Returned => match handle_job_success(ctx, task, started).await {
            Ok(()) => {
                // `perform_job`: the finished webhooks, after the success is committed (every
                // run of a repeated job included).
                send_webhooks(ctx, &task.job, WebhookStatus::Finished).await;
                Ok(())
            }
            Err(error) => {
                ctx.redis_error("handle_job_success", "EXEC", &error);
                fail(
                    ctx,
                    task,
                    started,
                    "ConnectionError after the job succeeded",
                )
                .await
            }
        },
        Ending::ReturnedRetry => handle_job_retry(ctx, task, started).await,
        Ending::Raised(reason) => fail(ctx, task, started, reason).await,
    }
}

/// One run of the job's function, drawn: how long it takes and how it ends.
pub(super) struct JobRun {
    duration: SimDuration,
    outcome: Outcome,
    timeout_s: i64,
}

/// Draws the job's run; `Err` when its function cannot even be looked up.
pub(super) fn draw_job_run(ctx: &ProcCtx, job: &Job) -> Result<JobRun, Ending> {
    let env = &ctx.env;
    let execution = env.executions(&job.id);
    let Some(class) = env.classes.get(&job.func_name) else {
        return Err(Ending::Raised("AttributeError: unknown job function"));
    };
    let (duration, outcome) = draw_attempt(env, class, &job.id, execution);
    let timeout_s = job.effective_timeout_s(ctx.params().default_job_timeout.whole_secs() as i64);
    Ok(JobRun {
        duration,
        outcome,
        timeout_s,
    })
}

impl JobRun {
    /// Blocked in C code: no Python signal handler runs until it returns (SIGALRM included).
    pub(super) fn hangs(&self) -> bool {
        self.outcome == Outcome::Hang
    }

    /// Runs the job's function: its drawn duration under `UnixSignalDeathPenalty(timeout)`.
    pub(super) async fn perform(self, sim: &Sim) -> Ending {
        if self.hangs() {
            // SIGALRM cannot interrupt it; only the worker's hard kill ends it.
            sim.sleep(SimDuration::from_secs(100 * 365 * 86_400)).await;
        }
        if self.timeout_s >= 0 {
            let limit = SimDuration::from_secs(self.timeout_s as u64);
            if sim.timeout(limit, sim.sleep(self.duration)).await.is_err() {
                return Ending::Raised("JobTimeoutException");
            }
        } else {
            sim.sleep(self.duration).await;
        }
        match self.outcome {
            Outcome::Raise => Ending::Raised("exception raised by the job"),
            Outcome::ReturnRetry => Ending::ReturnedRetry,
            Outcome::Succeed | Outcome::Hang => Ending::Returned,
        }
    }
}

/// `prepare_job_execution`: one transaction marking the job started on this worker.
async fn prepare_job_execution(ctx: &ProcCtx, task: &mut HorseTask) -> Result<(), RedisError> {
    let (job, worker) = (&mut task.job, keys::worker(&task.worker));
    let now = ctx.utcnow();
    job.status = "started".into();
    job.started_at = Some(now.clone());
    job.last_heartbeat = Some(now.clone());
    job.worker_name = Some(task.worker.clone());
    let job_key = keys::job(&job.id);
    let mut commands = spare::pipeline(7);
    commands.extend([
        cmd!("HSET", &worker, "current_job", &job.id),
        cmd!("HSET", &worker, "current_job_working_time", 0),
        cmd!("HSET", &worker, "last_heartbeat", &now),
        cmd!("EXPIRE", &worker, task.worker_key_ttl_s),
        cmd!("HSET", &job_key, "last_heartbeat", &now),
        cmd!(
            "HSET",
            &job_key,
            "last_heartbeat",
            &now,
            "status",
            "started",
            "started_at",
            &now,
            "worker_name",
            &task.worker
        ),
    ]);
    if task.single_queue {
        commands.push(cmd!("LREM", keys::intermediate(&job.origin), 1, &job.id));
    }
    ctx.redis.transaction(commands).await.map(|_| ())
}

fn failure_site<'a>(ctx: &'a ProcCtx, task: &'a HorseTask, started: SimTime) -> FailureSite<'a> {
    FailureSite {
        ctx,
        worker: &task.worker,
        execution: Some(&task.execution),
        working_time_s: ctx.sim().now().since(started).as_secs_f64(),
    }
}

/// The job raised (or a Redis error became its exception): emit, then `handle_job_failure`.
async fn fail(
    ctx: &ProcCtx,
    task: &mut HorseTask,
    started: SimTime,
    reason: &str,
) -> Result<(), RedisError> {
    let kind = EventKind::JobFailed {
        reason: reason.to_string(),
    };
    ctx.emit(Some(&task.job.origin), Some(&task.job.id), kind);
    let mut job = task.job.clone();
    let site = failure_site(ctx, task, started);
    let result = if task.take_stop_request() {
        // docs/rq-dependencies-and-operations.md §3.4: a SimpleWorker's job that fails after
        // an ignored `stop-job` ends `stopped`, without a retry.
        let ended = job.ended_at.is_some();
        handle_stopped_job(&site, &mut job, reason, ended).await;
        Ok(())
    } else {
        handle_job_failure(&site, &mut job, reason).await
    };
    task.job = job;
    result
}

/// `handle_job_success` (§3.6): WATCH the dependents, then one transaction; a WatchError
/// starts over (and, as in RQ, runs `Repeat.schedule` again on the job as it is in memory).
async fn handle_job_success(
    ctx: &ProcCtx,
    task: &mut HorseTask,
    started: SimTime,
) -> Result<(), RedisError> {
    loop {
        ctx.redis
            .call(cmd!("WATCH", keys::dependents(&task.job.id)))
            .await?;
        let released = dependents_to_enqueue(ctx, &task.job, ParentStatus::Refresh).await?;
        let (mut commands, repeat) = success_commands(ctx, task, started);
        // `job_finished` is stamped when Redis commits, even if the horse dies before reading
        // the reply (or reads an error: a lost reply, §9 R3). A run with repeats left is not
        // the job's end: its repeat event takes that place.
        let kinds = match repeat {
            None => vec![EventKind::JobFinished],
            Some(RepeatStep::Requeued(event)) => vec![event],
            Some(RepeatStep::Scheduled { zadd, event }) => {
                // Sent at once, before the EXEC; stamped when it executes, as a retry's is.
                let scheduled = ctx.on_job_commit(&task.job, event);
                ctx.redis.call_observed(zadd, Some(scheduled)).await?;
                Vec::new()
            }
        };
        let mut committed = (!kinds.is_empty())
            .then(|| ctx.on_commit(Some(&task.job.origin), Some(&task.job.id), kinds));
        // The children's enqueues open the transaction, as `enqueue_dependents` adds them to
        // the pipeline before the success commands.
        if let Some(released) = released {
            commands.splice(0..0, released.commands);
            committed = all_of(committed.into_iter().chain(released.on_commit).collect());
        }
        match ctx.redis.transaction_observed(commands, committed).await {
            Ok(_) => break,
            Err(RedisError::Watch) => continue,
            Err(error) => return Err(error),
        }
    }
    Ok(())
}

/// The success transaction, in `handle_job_success`'s order; with repeats left,
/// `Repeat.schedule` replaces `job.cleanup(result_ttl)`, so the job hash gets no EXPIRE.
fn success_commands(
    ctx: &ProcCtx,
    task: &mut HorseTask,
    started: SimTime,
) -> (Vec<crate::redis::Command>, Option<RepeatStep>) {
    let worker = keys::worker(&task.worker);
    let working_time_s = ctx.sim().now().since(started).as_secs_f64();
    let job = &mut task.job;
    job.status = "finished".into();
    let result_ttl = job
        .result_ttl_s
        .unwrap_or(ctx.params().result_ttl.whole_secs() as i64);
    let job_key = keys::job(&job.id);
    let mut commands = spare::pipeline(PIPELINE_CAPACITY);
    commands.extend([
        cmd!("HINCRBY", &worker, "successful_job_count", 1),
        cmd!(
            "HINCRBYFLOAT",
            &worker,
            "total_working_time",
            working_time_s
        ),
        cmd!("HSET", &job_key, "status", "finished"),
        job.save_command(),
        cmd!(
            "XADD",
            keys::results(&job.id),
            "MAXLEN",
            "~",
            10,
            "*",
            "type",
            1
        ),
        cmd!("EXPIRE", keys::results(&job.id), result_ttl.max(1)),
    ]);
    let finished_score = if result_ttl < 0 {
        "+inf".into_arg()
    } else {
        (ctx.ts() + result_ttl).into_arg()
    };
    commands.push(cmd!(
        "ZADD",
        keys::finished(&job.origin),
        finished_score,
        &job.id
    ));
    let repeat = if job.should_repeat() {
        Some(repeat::schedule(ctx, job, &mut commands))
    } else {
        job.cleanup(Some(result_ttl), &mut commands);
        None
    };
    execution_cleanup(
        &task.worker,
        &job.origin,
        Some(&task.execution),
        &mut commands,
    );
    (commands, repeat)
}

/// `handle_job_retry` (§3.8): the function returned `Retry`; left-aligned intervals over
/// `number_of_retries`, `retries_left` untouched. Its EXEC is not protected: an error there
/// falls into the exception path.
async fn handle_job_retry(
    ctx: &ProcCtx,
    task: &mut HorseTask,
    started: SimTime,
) -> Result<(), RedisError> {
    // The execution ended here; checkers pair every start with an end.
    let kind = EventKind::JobFailed {
        reason: "returned Retry".to_string(),
    };
    ctx.emit(Some(&task.job.origin), Some(&task.job.id), kind);
    let env = ctx.env.clone();
    let class = env.classes.get(&task.job.func_name);
    let max = class.map(|c| c.return_retry_max).unwrap_or(0);
    let intervals = class
        .map(|c| c.return_retry_intervals_s.clone())
        .unwrap_or_default();
    let mut commands = spare::pipeline(PIPELINE_CAPACITY);
    execution_cleanup(
        &task.worker,
        &task.job.origin,
        Some(&task.execution),
        &mut commands,
    );
    let job = &mut task.job;
    if job.number_of_retries >= max {
        commands.extend(failed_registry_commands(ctx, job, "MAX_RETRIES_EXCEEDED"));
        return commit_return_retry(ctx, task, started, commands, None).await;
    }
    let interval_s = return_retry_interval_s(job.number_of_retries, &intervals);
    job.number_of_retries += 1;
    let retries_left = job.retries_left.unwrap_or(0);
    if interval_s <= 0 {
        enqueue_commands(ctx, job, false, &mut commands);
        let event = EventKind::JobRetryRequeued { retries_left };
        return commit_return_retry(ctx, task, started, commands, Some(event)).await;
    }
    let due_unix_s = (ctx.now_micros() + interval_s * 1_000_000).div_euclid(1_000_000);
    job.status = "scheduled".into();
    ctx.redis
        .call(cmd!("HSET", keys::job(&job.id), "status", "scheduled"))
        .await?;
    let event = EventKind::JobRetryScheduled {
        due_unix_s,
        interval_s,
        retries_left,
    };
    // Stamped when the ZADD executes, as `Job.retry`'s is (rq/failure.rs).
    let scheduled = ctx.on_job_commit(job, event);
    let zadd = cmd!("ZADD", keys::scheduled(&job.origin), due_unix_s, &job.id);
    ctx.redis.call_observed(zadd, Some(scheduled)).await?;
    commands.push(job.save_command());
    commit_return_retry(ctx, task, started, commands, None).await
}

async fn commit_return_retry(
    ctx: &ProcCtx,
    task: &mut HorseTask,
    started: SimTime,
    commands: Vec<crate::redis::Command>,
    event: Option<EventKind>,
) -> Result<(), RedisError> {
    let terminal = task.job.status == "failed";
    let event = if terminal {
        Some(EventKind::JobMovedToFailed {
            reason: "MAX_RETRIES_EXCEEDED".into(),
        })
    } else {
        event
    };
    // Stamped when Redis commits, even if the reply is lost.
    let committed = event.map(|kind| ctx.on_job_commit(&task.job, kind));
    match ctx.redis.transaction_observed(commands, committed).await {
        Ok(_) => {
            // Retries exhausted: the failed webhooks, after the failure is committed.
            if terminal {
                send_webhooks(ctx, &task.job, WebhookStatus::Failed).await;
                enqueue_dependents_after_failure(ctx, &task.job).await;
            }
            Ok(())
        }
        Err(error) => {
            ctx.redis_error("handle_job_retry", "EXEC", &error);
            fail(ctx, task, started, "ConnectionError in handle_job_retry").await
        }
    }
}
