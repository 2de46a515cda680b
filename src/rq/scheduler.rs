//! The scheduler (rq-semantics §4): `RQScheduler` as the worker holds it, and the scheduler
//! process the worker forks when it holds at least one lock. Follows `rq/scheduler.py`
//! function by function; the 2.10 variant (§4.9) and the what-if switches are marked.

use std::collections::BTreeSet;
use std::rc::Rc;

use crate::cmd;
use crate::event::{name_of, EnqueueSource, EventContext, EventKind, JobId, LockView, Name};
use crate::net::RedisError;
use crate::redis::{Command, Reply};
use crate::rq::env::{ProcCtx, ProcessInfo, Role, RqEnv};
use crate::rq::job::Job;
use crate::rq::keys;
use crate::rq::params::SchedulerVersion;
use crate::rq::queue::enqueue_commands;
use crate::sim::{HostId, Pid, Signal};

/// `RQScheduler`. The worker keeps one for its whole life; `fork` gives the scheduler process
/// its own copy, so the two `acquired_locks` sets evolve separately, as in RQ.
#[derive(Clone, Debug)]
pub struct RqScheduler {
    pub name: Name,
    pub queues: Vec<Name>,
    pub acquired_locks: BTreeSet<Name>,
    /// `lock_acquisition_time`, this host's wall clock in Unix microseconds.
    pub lock_acquisition_time: Option<i64>,
    /// The forked scheduler process (in the worker's copy).
    pub process: Option<Pid>,
    pub pod: Name,
    pub host: HostId,
    pub worker_process: Name,
}

impl RqScheduler {
    pub fn new(
        env: &RqEnv,
        pod: &Name,
        host: HostId,
        worker_process: &Name,
        queues: &[Name],
    ) -> RqScheduler {
        RqScheduler {
            name: env.fresh_id("s"),
            queues: queues.to_vec(),
            acquired_locks: BTreeSet::new(),
            lock_acquisition_time: None,
            process: None,
            pod: pod.clone(),
            host,
            worker_process: worker_process.clone(),
        }
    }

    pub fn is_process_alive(&self, env: &RqEnv) -> bool {
        self.process.is_some_and(|pid| env.sim.is_alive(pid))
    }

    fn lock_view(&self, env: &RqEnv, queue: &str) -> LockView {
        LockView {
            scheduler: self.name.clone(),
            believes_held: self.acquired_locks.contains(queue),
            redis_holder: env
                .network
                .peek_string(&keys::scheduler_lock(queue))
                .map(Name::from),
        }
    }

    fn emit_lock(&self, ctx: &ProcCtx, queue: &Name, make: fn(LockView) -> EventKind) {
        let view = self.lock_view(&ctx.env, queue);
        ctx.emit(Some(queue), None, make(view));
    }

    /// `acquire_locks` (§4.2): one acquire-or-refresh script call per queue; the result
    /// replaces the held set (2.10: `SET NX`, unioned). With `auto_start`, forks the process.
    pub async fn acquire_locks(
        &mut self,
        ctx: &ProcCtx,
        auto_start: bool,
    ) -> Result<(), RedisError> {
        let ttl_s = ctx.params().scheduler_lock_ttl_s();
        let version = ctx.params().scheduler_version;
        let mut successful = BTreeSet::new();
        let mut outcomes = Vec::new();
        for queue in self.queues.clone() {
            let key = keys::scheduler_lock(&queue);
            let reply = match version {
                SchedulerVersion::V2_12 => {
                    ctx.redis
                        .call(crate::redis::acquire_or_refresh_lock_command(
                            &key, &self.name, ttl_s,
                        ))
                        .await?
                }
                SchedulerVersion::V2_10 => {
                    let set = ctx
                        .redis
                        .call(cmd!("SET", key, &self.name, "NX", "EX", ttl_s))
                        .await?;
                    Reply::Int(if set.is_nil() { 0 } else { 1 })
                }
            };
            if let Some(outcome @ (1 | 2)) = reply.as_int() {
                successful.insert(queue.clone());
                outcomes.push((queue, outcome));
            }
        }
        match version {
            SchedulerVersion::V2_12 => self.acquired_locks = successful,
            SchedulerVersion::V2_10 => self.acquired_locks.extend(successful),
        }
        self.lock_acquisition_time = Some(ctx.now_micros());
        for (queue, outcome) in outcomes {
            let make = if outcome == 1 { acquired } else { refreshed };
            self.emit_lock(ctx, &queue, make);
        }
        if auto_start && !self.acquired_locks.is_empty() && !self.is_process_alive(&ctx.env) {
            self.start(ctx);
        }
        Ok(())
    }

    /// `RQScheduler.start`: forks the scheduler process (same pod, child of the worker).
    pub fn start(&mut self, ctx: &ProcCtx) {
        let env = ctx.env.clone();
        let process_name = name_of(format_args!("{}:scheduler", self.worker_process));
        let child = ProcCtx::new(&env, &self.pod, &process_name, self.host);
        let copy = self.clone();
        let sim = env.sim.clone();
        let parent = sim.current_pid();
        let pid = sim.spawn(
            self.host,
            &process_name,
            Some(parent),
            scheduler_process(child, copy),
        );
        let info = ProcessInfo {
            pid,
            pod: self.pod.clone(),
            name: process_name,
            role: Role::Scheduler,
            tag: Some(self.name.clone()),
        };
        env.register_process(info);
        self.process = Some(pid);
    }

    /// `_start_scheduler` under `--burst`, in the worker's own process: `register_birth`,
    /// `enqueue_scheduled_jobs` once, then in any case `release_locks` and `register_death`
    /// (a `try/finally`: an error in the `finally` replaces the one it interrupted).
    pub async fn run_once(&mut self, ctx: &ProcCtx) -> Result<(), RedisError> {
        let mut outcome = register_birth(ctx, self).await;
        if outcome.is_ok() {
            outcome = enqueue_scheduled_jobs(ctx, self).await;
        }
        let stopped = stop(ctx, self).await;
        stopped.and(outcome)
    }

    /// `stop_scheduler` as the worker calls it: SIGTERM, then `join()`.
    pub async fn stop_process(&mut self, env: &Rc<RqEnv>) {
        let Some(pid) = self.process else { return };
        let Some(exit) = env.sim.exit_cell(pid) else {
            return;
        };
        env.sim.signal(pid, Signal::Term);
        env.sim.wait_exit(exit).await;
    }

    /// `should_reacquire_locks` (§4.6).
    fn should_reacquire_locks(&self, ctx: &ProcCtx) -> bool {
        if self.acquired_locks.len() == self.queues.len() {
            return false;
        }
        match self.lock_acquisition_time {
            None => true,
            Some(at) => {
                let fallback = ctx.params().scheduler_fallback_period.as_micros() as i64;
                ctx.now_micros() - at > fallback
            }
        }
    }
}

fn acquired(lock: LockView) -> EventKind {
    EventKind::LockAcquired { lock }
}

fn refreshed(lock: LockView) -> EventKind {
    EventKind::LockRefreshed { lock }
}

fn lost(lock: LockView) -> EventKind {
    EventKind::LockLost { lock }
}

fn released(lock: LockView) -> EventKind {
    EventKind::LockReleased { lock }
}

/// `RQScheduler.work` in the forked process: register, then loop until a stop signal.
/// Any Redis error ends the process with nothing released (§4.8).
pub async fn scheduler_process(ctx: ProcCtx, mut scheduler: RqScheduler) -> i32 {
    let started = EventKind::SchedulerStarted {
        scheduler: scheduler.name.clone(),
    };
    ctx.emit(None, None, started);
    match scheduler_loop(&ctx, &mut scheduler).await {
        Ok(()) => 0,
        Err(error) => {
            ctx.redis_error("scheduler", "any", &error);
            let reason = error.to_string();
            ctx.emit(
                None,
                None,
                EventKind::SchedulerDied {
                    scheduler: scheduler.name.clone(),
                    reason,
                },
            );
            1
        }
    }
}

async fn scheduler_loop(ctx: &ProcCtx, scheduler: &mut RqScheduler) -> Result<(), RedisError> {
    register_birth(ctx, scheduler).await?;
    let version = ctx.params().scheduler_version;
    loop {
        if ctx.sim().current_signals().total() > 0 {
            return stop(ctx, scheduler).await;
        }
        if scheduler.should_reacquire_locks(ctx) {
            scheduler.acquire_locks(ctx, false).await?;
        }
        match version {
            SchedulerVersion::V2_12 => {
                heartbeat(ctx, scheduler).await?;
                enqueue_scheduled_jobs(ctx, scheduler).await?;
            }
            SchedulerVersion::V2_10 => {
                enqueue_scheduled_jobs(ctx, scheduler).await?;
                heartbeat(ctx, scheduler).await?;
            }
        }
        ctx.sim().sleep(ctx.params().scheduler_interval).await;
    }
}

/// `RQScheduler.register_birth`.
async fn register_birth(ctx: &ProcCtx, scheduler: &RqScheduler) -> Result<(), RedisError> {
    let key = keys::scheduler(&scheduler.name);
    let queues: Vec<&str> = scheduler.queues.iter().map(|q| &**q).collect();
    let now = ctx.utcnow();
    let commands = vec![
        cmd!(
            "HSET",
            &key,
            "name",
            &scheduler.name,
            "hostname",
            &scheduler.pod,
            "pid",
            1,
            "queues",
            queues.join(","),
            "created_at",
            &now,
            "last_heartbeat",
            &now
        ),
        cmd!("EXPIRE", key, ctx.params().scheduler_lock_ttl_s()),
    ];
    ctx.redis.transaction(commands).await.map(|_| ())
}

/// `RQScheduler.heartbeat` (§4.4): one transaction refreshing the hash and every lock this
/// process believes it holds; a lock found taken is dropped. 2.10: blind `EXPIRE`s.
async fn heartbeat(ctx: &ProcCtx, scheduler: &mut RqScheduler) -> Result<(), RedisError> {
    let ttl_s = ctx.params().scheduler_lock_ttl_s();
    let key = keys::scheduler(&scheduler.name);
    let held: Vec<Name> = scheduler.acquired_locks.iter().cloned().collect();
    let mut commands = vec![
        cmd!("HSET", &key, "last_heartbeat", ctx.utcnow()),
        cmd!("EXPIRE", key, ttl_s),
    ];
    for queue in &held {
        let lock = keys::scheduler_lock(queue);
        commands.push(match ctx.params().scheduler_version {
            SchedulerVersion::V2_12 => {
                crate::redis::acquire_or_refresh_lock_command(&lock, &scheduler.name, ttl_s)
            }
            SchedulerVersion::V2_10 => cmd!("EXPIRE", lock, ttl_s),
        });
    }
    let replies = ctx.redis.transaction(commands).await?;
    let v2_10 = ctx.params().scheduler_version == SchedulerVersion::V2_10;
    for (queue, reply) in held.iter().zip(replies.iter().skip(2)) {
        match reply.as_int() {
            _ if v2_10 => scheduler.emit_lock(ctx, queue, refreshed),
            Some(1) => scheduler.emit_lock(ctx, queue, acquired),
            Some(2) => scheduler.emit_lock(ctx, queue, refreshed),
            _ => {
                scheduler.acquired_locks.remove(queue);
                scheduler.emit_lock(ctx, queue, lost);
            }
        }
    }
    Ok(())
}

/// `RQScheduler.stop`: release every held lock (compare-and-delete; 2.10: one blind DEL),
/// then delete the scheduler hash.
async fn stop(ctx: &ProcCtx, scheduler: &mut RqScheduler) -> Result<(), RedisError> {
    let held: Vec<Name> = scheduler.acquired_locks.iter().cloned().collect();
    match ctx.params().scheduler_version {
        SchedulerVersion::V2_12 => {
            for queue in &held {
                let lock = keys::scheduler_lock(queue);
                ctx.redis
                    .call(crate::redis::release_lock_command(&lock, &scheduler.name))
                    .await?;
            }
        }
        SchedulerVersion::V2_10 if !held.is_empty() => {
            let mut command = cmd!("DEL");
            command.extend(held.iter().map(|q| keys::scheduler_lock(q)));
            ctx.redis.call(command).await?;
        }
        SchedulerVersion::V2_10 => {}
    }
    scheduler.acquired_locks.clear();
    for queue in &held {
        scheduler.emit_lock(ctx, queue, released);
    }
    ctx.redis
        .call(cmd!("DEL", keys::scheduler(&scheduler.name)))
        .await?;
    Ok(())
}

/// `RQScheduler.enqueue_scheduled_jobs` (§4.5) for every queue this process believes it
/// holds. The read and the enqueue are separate round trips: nothing stops another
/// scheduler in between (§9 R1) unless a what-if switch adds a WATCH.
async fn enqueue_scheduled_jobs(
    ctx: &ProcCtx,
    scheduler: &mut RqScheduler,
) -> Result<(), RedisError> {
    let held: Vec<Name> = scheduler.acquired_locks.iter().cloned().collect();
    for queue in held {
        enqueue_due_jobs(ctx, scheduler, &queue).await?;
    }
    Ok(())
}

async fn enqueue_due_jobs(
    ctx: &ProcCtx,
    scheduler: &mut RqScheduler,
    queue: &Name,
) -> Result<(), RedisError> {
    let what_if = ctx.params().what_if;
    let scheduled_key = keys::scheduled(queue);
    if what_if.atomic_enqueue {
        ctx.redis.call(cmd!("WATCH", &scheduled_key)).await?;
    }
    let limit = ctx.params().due_jobs_per_tick;
    let due = cmd!(
        "ZRANGEBYSCORE",
        &scheduled_key,
        0,
        ctx.ts(),
        "LIMIT",
        0,
        limit
    );
    let ids = ctx.redis.call(due).await?.into_strings();
    if ids.is_empty() {
        if what_if.atomic_enqueue {
            ctx.redis.call(cmd!("UNWATCH")).await?;
        }
        return Ok(());
    }
    let jobs = fetch_many(ctx, &ids, what_if.atomic_enqueue).await?;
    if what_if.fenced_enqueue && !still_own_lock(ctx, scheduler, queue).await? {
        return Ok(());
    }
    let (commands, moved) = enqueue_transaction(ctx, queue, &ids, jobs);
    let observer = tick_observer(ctx, scheduler, queue, moved);
    match ctx
        .redis
        .transaction_observed(commands, Some(observer))
        .await
    {
        Ok(_) | Err(RedisError::Watch) => {}
        Err(error) => return Err(error),
    }
    Ok(())
}

/// Emits the tick's events when Redis commits the enqueue transaction: the instant that
/// matters for the single-active-scheduler invariant (§9 R14), with the lock's value then,
/// even if this process is paused before it reads the reply.
fn tick_observer(
    ctx: &ProcCtx,
    scheduler: &RqScheduler,
    queue: &Name,
    moved: Vec<(Name, bool)>,
) -> crate::net::OnApplied {
    let env = ctx.env.clone();
    let context = ctx.context(Some(queue), None);
    let believes_held = scheduler.acquired_locks.contains(queue);
    let name = scheduler.name.clone();
    let lock_key = keys::scheduler_lock(queue);
    Rc::new(move |_| {
        for (job, at_front) in &moved {
            let job_context = EventContext {
                job: Some(JobId::of(job)),
                ..context.clone()
            };
            let kind = EventKind::JobEnqueued {
                source: EnqueueSource::Scheduler,
                at_front: *at_front,
            };
            env.emit(job_context, kind);
        }
        let redis_holder = env.network.peek_string(&lock_key).map(Name::from);
        let lock = LockView {
            scheduler: name.clone(),
            believes_held,
            redis_holder,
        };
        env.emit(
            context.clone(),
            EventKind::SchedulerTick {
                moved: moved.len() as u32,
                lock,
            },
        );
    })
}

/// `Job.fetch_many`: HGETALL every id (in one transaction, or one by one while a WATCH is
/// open, since EXEC would end the WATCH).
async fn fetch_many(
    ctx: &ProcCtx,
    ids: &[String],
    watching: bool,
) -> Result<Vec<Option<Job>>, RedisError> {
    let commands: Vec<Command> = ids
        .iter()
        .map(|id| cmd!("HGETALL", keys::job(id)))
        .collect();
    let replies = if watching {
        let mut replies = Vec::with_capacity(commands.len());
        for command in commands {
            replies.push(ctx.redis.call(command).await?);
        }
        replies
    } else {
        ctx.redis.transaction(commands).await?.into_vec()
    };
    let jobs = ids
        .iter()
        .zip(replies)
        .map(|(id, reply)| Job::from_hash(id, &reply.into_args()));
    Ok(jobs.collect())
}

/// The what-if fence: WATCH the lock and check it still names this scheduler.
async fn still_own_lock(
    ctx: &ProcCtx,
    scheduler: &mut RqScheduler,
    queue: &Name,
) -> Result<bool, RedisError> {
    let lock = keys::scheduler_lock(queue);
    ctx.redis.call(cmd!("WATCH", &lock)).await?;
    let holder = ctx.redis.call(cmd!("GET", &lock)).await?;
    if holder.as_str() == Some(&*scheduler.name) {
        return Ok(true);
    }
    ctx.redis.call(cmd!("UNWATCH")).await?;
    scheduler.acquired_locks.remove(queue);
    scheduler.emit_lock(ctx, queue, lost);
    Ok(false)
}

/// The enqueue transaction: for each job that still exists, status queued, the full
/// mapping as read, the push; then ZREM of every id read, including missing ones.
fn enqueue_transaction(
    ctx: &ProcCtx,
    queue: &Name,
    ids: &[String],
    jobs: Vec<Option<Job>>,
) -> (Vec<Command>, Vec<(Name, bool)>) {
    let default_timeout = ctx.params().default_job_timeout.whole_secs() as i64;
    let mut commands = Vec::new();
    let mut moved = Vec::new();
    for mut job in jobs.into_iter().flatten() {
        job.timeout_s.get_or_insert(default_timeout);
        let at_front = job.should_enqueue_at_front();
        enqueue_commands(ctx, &mut job, at_front, &mut commands);
        moved.push((job.id.clone(), at_front));
    }
    let scheduled_key = keys::scheduled(queue);
    commands.extend(ids.iter().map(|id| cmd!("ZREM", &scheduled_key, id)));
    (commands, moved)
}
