//! The worker's main process (rq-semantics §3.1–§3.3, §6): startup, the main loop, dequeue
//! with its connection back-off, signal handling and teardown. Follows `BaseWorker.work`,
//! `bootstrap`, `dequeue_job_and_maintain_ttl`, `request_stop`, `request_force_stop`,
//! `teardown`. Job execution is in `execute.rs`, maintenance in `maintenance.rs`.

use std::pin::pin;
use std::rc::Rc;

use crate::event::{EventKind, Name};
use crate::net::RedisError;
use crate::redis::Reply;
use crate::rq::command::CommandState;
use crate::rq::env::{ProcCtx, ProcessInfo, Role, RqEnv};
use crate::rq::job::Job;
use crate::rq::keys;
use crate::rq::scheduler::RqScheduler;
use crate::sim::{with_threads, HostId, KillScope, Pid, SimDuration, SimTime, Threads};
use crate::{cmd, pipeline};

/// `rq worker -w CLASS`: where a job runs (docs/rq-dependencies-and-operations.md §2.3).
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
pub enum WorkerClass {
    /// `rq.worker.Worker`, the default: one forked work-horse per job, watched by the worker.
    #[default]
    #[serde(alias = "rq.worker.Worker")]
    Worker,
    /// `rq.worker.SimpleWorker`: the job runs in the worker's own process; no fork, no
    /// heartbeats while it runs, no hard kill.
    #[serde(alias = "rq.worker.SimpleWorker")]
    SimpleWorker,
}

/// How `rq worker` is started in a pod.
#[derive(Clone, Debug)]
pub struct WorkerSpec {
    pub pod: Name,
    pub host: HostId,
    pub queues: Vec<Name>,
    pub with_scheduler: bool,
    /// `--burst`: pop without blocking and quit once every queue is empty.
    pub burst: bool,
    /// `--max-jobs N`: quit after N executed jobs, whatever their outcome.
    pub max_jobs: Option<u32>,
    /// `--name`; `None` gives a fresh name per start, as RQ's uuid4 default does.
    pub name: Option<Name>,
    /// `-w`: the worker class.
    pub class: WorkerClass,
}

/// `WorkerStatus` as far as the signal handlers care.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum State {
    Started,
    Idle,
    Busy,
    Suspended,
}

impl State {
    /// As `WorkerStatus` writes it into the worker's hash.
    fn name(self) -> &'static str {
        match self {
            State::Started => "started",
            State::Idle => "idle",
            State::Busy => "busy",
            State::Suspended => "suspended",
        }
    }
}

/// What `check_for_suspension` ended with.
enum Suspension {
    NotSuspended,
    /// A signal's handler stopped the worker while it waited.
    Stop,
    /// `--burst` and suspended: `StopRequested`, "suspended in burst mode, exiting".
    BurstExit,
}

/// What a signal handler decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum SignalAction {
    /// Nothing to do now (busy warm shutdown, or a duplicate signal within 1 s).
    Continue,
    /// `StopRequested` raised: leave the loop.
    StopNow,
    /// `SystemExit` after a cold shutdown.
    ForceStop,
}

/// Why the main loop ended.
pub(super) enum LoopEnd {
    Stopped,
    /// `--burst` found every queue empty: "done, quitting".
    Drained,
    /// `--max-jobs` reached: "finished executing N jobs, quitting".
    MaxJobs(u32),
    /// `--burst` found `rq:suspended` set.
    SuspendedInBurst,
    Error(RedisError),
}

/// `BaseWorker` and its main process's state.
pub struct Worker {
    pub(super) ctx: ProcCtx,
    pub(super) name: Name,
    pub(super) queues: Vec<Name>,
    pub(super) scheduler: Option<RqScheduler>,
    pub(super) with_scheduler: bool,
    pub(super) burst: bool,
    pub(super) max_jobs: Option<u32>,
    pub(super) class: WorkerClass,
    /// `completed_jobs` of `BaseWorker.work`: jobs executed, whatever their outcome.
    pub(super) completed_jobs: u32,
    /// `last_cleaned_at`, this host's wall clock in Unix microseconds.
    pub(super) last_cleaned_at: Option<i64>,
    pub(super) stop_requested: bool,
    pub(super) state: State,
    pub(super) signals_handled: u32,
    pub(super) first_signal_at: Option<SimTime>,
    pub(super) horse: Option<Pid>,
    /// What the pubsub thread shares with the main thread (`_stopped_job_id`, the
    /// subscription's connection).
    pub(super) commands: Rc<CommandState>,
    /// The main process's threads: the pubsub thread once subscribed.
    pub(super) threads: Rc<Threads>,
    /// `[rq] worker_loop_cost`, drawn for this process when it starts.
    pub(super) loop_cost: SimDuration,
}

/// Starts `rq worker` as a process; returns its pid.
pub fn spawn_worker(env: &Rc<RqEnv>, spec: WorkerSpec) -> Pid {
    let name = spec
        .name
        .clone()
        .unwrap_or_else(|| env.fresh_id(&format!("{}.w", spec.pod)));
    let ctx = ProcCtx::new(env, &spec.pod, &name, spec.host);
    let worker = Worker {
        ctx,
        name: name.clone(),
        queues: spec.queues.clone(),
        scheduler: None,
        with_scheduler: spec.with_scheduler,
        burst: spec.burst,
        max_jobs: spec.max_jobs,
        class: spec.class,
        completed_jobs: 0,
        last_cleaned_at: None,
        stop_requested: false,
        state: State::Started,
        signals_handled: 0,
        first_signal_at: None,
        horse: None,
        commands: Rc::default(),
        threads: Rc::default(),
        loop_cost: SimDuration::ZERO,
    };
    let threads = worker.threads.clone();
    let body = with_threads(worker.run(), threads);
    let pid = env.sim.spawn(spec.host, &name, None, body);
    let info = ProcessInfo {
        pid,
        pod: spec.pod,
        name,
        role: Role::Worker,
        tag: None,
    };
    env.register_process(info);
    pid
}

impl Worker {
    fn env(&self) -> Rc<RqEnv> {
        self.ctx.env.clone()
    }

    /// Whose draws of the host costs this process takes: its own, or (shared) those of every
    /// worker starting at this instant.
    fn host_cost_drawer(&self, shared: bool) -> String {
        if shared {
            format!("worker-start/{}", self.ctx.sim().now().as_micros())
        } else {
            format!("worker/{}", self.name)
        }
    }

    /// `rq worker`: bootstrap, work, teardown; the exit code of the CLI.
    async fn run(mut self) -> i32 {
        let host = &self.ctx.params().host;
        let drawer = self.host_cost_drawer(host.shared);
        let startup = self
            .env()
            .host_cost(&host.worker_startup, || drawer.clone());
        self.loop_cost = self
            .env()
            .host_cost(&host.worker_loop_cost, || format!("{drawer}/loop"));
        if startup > SimDuration::ZERO {
            self.ctx.sim().sleep(startup).await;
        }
        if let Err(reason) = self.bootstrap().await {
            self.emit_died(&reason);
            return 1;
        }
        if self.ctx.sim().current_signals().total() > 0 {
            // SIGTERM before the handlers were installed: Python's default action kills it.
            self.emit_died("terminated before signal handlers were installed");
            return 143;
        }
        let born = EventKind::WorkerBorn {
            worker: self.name.clone(),
        };
        self.ctx.emit(None, None, born);
        let end = self.work_loop().await;
        self.teardown().await;
        match end {
            LoopEnd::Stopped => {
                self.emit_died("stopped");
                0
            }
            LoopEnd::Drained => {
                self.emit_died("burst: queues empty, quitting");
                0
            }
            // The CLI ignores `work()`'s result: a worker that reached `--max-jobs` exits 0.
            LoopEnd::SuspendedInBurst => {
                self.emit_died("suspended in burst mode, exiting");
                0
            }
            LoopEnd::MaxJobs(completed) => {
                self.emit_died(&format!("finished executing {completed} jobs, quitting"));
                0
            }
            LoopEnd::Error(error) => {
                self.emit_died(&format!("unhandled {error}, quitting"));
                1
            }
        }
    }

    fn emit_died(&self, reason: &str) {
        let kind = EventKind::WorkerDied {
            worker: self.name.clone(),
            reason: reason.to_string(),
        };
        self.ctx.emit(None, None, kind);
    }

    /// §3.1: suspension check, `register_birth`, `subscribe` (the command channel,
    /// docs/rq-dependencies-and-operations.md §3.1), `state started`, the scheduler.
    async fn bootstrap(&mut self) -> Result<(), String> {
        let suspended = self
            .ctx
            .redis
            .transaction(vec![cmd!("EXISTS", keys::SUSPENDED)])
            .await;
        if let Some(Reply::Int(1)) = suspended.map_err(|e| e.to_string())?.first() {
            return Err("suspended".to_string());
        }
        self.register_birth().await?;
        self.subscribe();
        let state = cmd!("HSET", keys::worker(&self.name), "state", "started");
        self.ctx
            .redis
            .call(state)
            .await
            .map_err(|e| e.to_string())?;
        if self.with_scheduler {
            self.start_scheduler().await.map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    /// `_start_scheduler`: take the locks; with them, fork the scheduler process, or with
    /// `--burst` enqueue the due jobs once in this process and let the locks go again.
    async fn start_scheduler(&mut self) -> Result<(), RedisError> {
        let env = self.env();
        let mut scheduler =
            RqScheduler::new(&env, &self.ctx.pod, self.ctx.host, &self.name, &self.queues);
        let acquired = scheduler.acquire_locks(&self.ctx, !self.burst).await;
        let result = match acquired {
            Ok(()) if self.burst && !scheduler.acquired_locks.is_empty() => {
                scheduler.run_once(&self.ctx).await
            }
            other => other,
        };
        self.scheduler = Some(scheduler);
        result
    }

    /// `register_birth`: refuse a name whose key is alive, then one transaction.
    async fn register_birth(&mut self) -> Result<(), String> {
        let key = keys::worker(&self.name);
        let exists = self
            .ctx
            .redis
            .call(cmd!("EXISTS", &key))
            .await
            .map_err(|e| e.to_string())?;
        if exists.as_int() == Some(1) {
            let dead = self.ctx.redis.call(cmd!("HEXISTS", &key, "death")).await;
            if dead.map_err(|e| e.to_string())?.as_int() != Some(1) {
                return Err(format!(
                    "There exists an active worker named {} already",
                    self.name
                ));
            }
        }
        let now = self.ctx.utcnow();
        let queues: Vec<&str> = self.queues.iter().map(|q| &**q).collect();
        let mut commands = vec![
            cmd!("DEL", &key),
            cmd!(
                "HSET",
                &key,
                "birth",
                &now,
                "last_heartbeat",
                &now,
                "queues",
                queues.join(","),
                "pid",
                1,
                "hostname",
                &self.ctx.pod,
                "version",
                "2.12.0"
            ),
            cmd!("SADD", keys::WORKERS, &key),
        ];
        commands.extend(
            self.queues
                .iter()
                .map(|q| cmd!("SADD", keys::queue_workers(q), &key)),
        );
        commands.push(cmd!(
            "EXPIRE",
            &key,
            self.ctx.params().idle_worker_key_ttl_s()
        ));
        self.ctx
            .redis
            .transaction(commands)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    /// §3.2: the main loop. Maintenance is checked before the stop flag, as in RQ.
    async fn work_loop(&mut self) -> LoopEnd {
        loop {
            match self.handle_new_signals().await {
                SignalAction::Continue => {}
                SignalAction::StopNow | SignalAction::ForceStop => return LoopEnd::Stopped,
            }
            match self.check_for_suspension().await {
                Ok(Suspension::NotSuspended) => {}
                Ok(Suspension::Stop) => return LoopEnd::Stopped,
                Ok(Suspension::BurstExit) => return LoopEnd::SuspendedInBurst,
                Err(error) => return LoopEnd::Error(error),
            }
            if self.maintenance_due() {
                if let Err(error) = self.run_maintenance_tasks().await {
                    return LoopEnd::Error(error);
                }
            }
            if self.stop_requested {
                return LoopEnd::Stopped;
            }
            let (job, queue) = match self.dequeue_job_and_maintain_ttl().await {
                Ok(Dequeued::Job(job, queue)) => (*job, queue),
                Ok(Dequeued::Stop) => return LoopEnd::Stopped,
                Ok(Dequeued::Drained) => return LoopEnd::Drained,
                Err(error) => return LoopEnd::Error(error),
            };
            match self.execute_job(job, &queue).await {
                // A cold shutdown during the job, or a stop before `prepare_execution`
                // (`StopRequested` raised out of `execute_job`).
                Ok(SignalAction::ForceStop | SignalAction::StopNow) => return LoopEnd::Stopped,
                Ok(_) => {}
                Err(error) => return LoopEnd::Error(error),
            }
            if let Err(error) = self.heartbeat().await {
                return LoopEnd::Error(error);
            }
            if self.reached_max_jobs() {
                return LoopEnd::MaxJobs(self.completed_jobs);
            }
        }
    }

    /// `BaseWorker.work` after a job and its heartbeat: every executed job counts, and the
    /// check comes only after one, so `--max-jobs 0` quits after the first job as 1 does.
    fn reached_max_jobs(&mut self) -> bool {
        self.completed_jobs += 1;
        self.max_jobs.is_some_and(|max| self.completed_jobs >= max)
    }

    /// `check_for_suspension` (§3.2; docs/rq-dependencies-and-operations.md §3.5): while
    /// `rq:suspended` exists, a burst worker quits, any other marks itself `suspended` once and
    /// asks again every second; on resume it writes its state back. Only here, at the top of
    /// the loop: a worker blocked in its pop or running a job does not see a suspension.
    async fn check_for_suspension(&mut self) -> Result<Suspension, RedisError> {
        let mut before = None;
        while !self.stop_requested && self.is_suspended().await? {
            if self.burst {
                return Ok(Suspension::BurstExit);
            }
            if before.is_none() {
                before = Some(self.state);
                self.set_state(State::Suspended).await?;
            }
            if !self.sleep_through_signals(SimDuration::from_secs(1)).await {
                return Ok(Suspension::Stop);
            }
        }
        if let Some(state) = before {
            self.set_state(state).await?;
        }
        Ok(Suspension::NotSuspended)
    }

    /// `is_suspended` with the worker, which heartbeats in the same transaction.
    async fn is_suspended(&mut self) -> Result<bool, RedisError> {
        let key = keys::worker(&self.name);
        let commands = pipeline![
            cmd!("HSET", &key, "last_heartbeat", self.ctx.utcnow()),
            cmd!("EXPIRE", &key, self.ctx.params().idle_worker_key_ttl_s()),
            cmd!("EXISTS", keys::SUSPENDED),
        ];
        let replies = self.ctx.redis.transaction(commands).await?;
        Ok(matches!(replies.last(), Some(Reply::Int(1))))
    }

    /// `set_state`: the state in memory and in the worker's hash.
    async fn set_state(&mut self, state: State) -> Result<(), RedisError> {
        self.state = state;
        let command = cmd!("HSET", keys::worker(&self.name), "state", state.name());
        self.ctx.redis.call(command).await.map(|_| ())
    }

    /// `time.sleep(duration)` in the main process: a signal runs its handler at once, and the
    /// sleep goes on for the rest of its time unless the handler stopped the worker. False
    /// when it did.
    async fn sleep_through_signals(&mut self, duration: SimDuration) -> bool {
        let until = self.ctx.sim().now() + duration;
        loop {
            let sleep = self.ctx.sim().sleep_until(until);
            if self.ctx.sim().interruptible(sleep).await.is_ok() {
                return true;
            }
            if self.handle_new_signals().await != SignalAction::Continue {
                return false;
            }
        }
    }

    /// `BaseWorker.heartbeat`.
    pub(super) async fn heartbeat(&mut self) -> Result<(), RedisError> {
        let key = keys::worker(&self.name);
        let ttl = self.ctx.params().idle_worker_key_ttl_s();
        let commands = pipeline![
            cmd!("HSET", &key, "last_heartbeat", self.ctx.utcnow()),
            cmd!("EXPIRE", &key, ttl),
        ];
        self.ctx.redis.transaction(commands).await.map(|_| ())
    }

    /// `should_run_maintenance_tasks`: never run, or strictly more than the interval ago.
    pub(super) fn maintenance_due(&self) -> bool {
        match self.last_cleaned_at {
            None => true,
            Some(at) => {
                self.ctx.now_micros() - at
                    > self.ctx.params().maintenance_interval.as_micros() as i64
            }
        }
    }

    /// §3.3 `dequeue_job_and_maintain_ttl`: a job, a stop requested meanwhile, or (with
    /// `--burst`) every queue empty.
    async fn dequeue_job_and_maintain_ttl(&mut self) -> Result<Dequeued, RedisError> {
        self.state = State::Idle;
        self.ctx
            .redis
            .call(cmd!("HSET", keys::worker(&self.name), "state", "idle"))
            .await?;
        let mut backoff = SimDuration::from_secs(1);
        let dequeued = loop {
            match self.dequeue_attempt().await {
                Ok(Dequeue::Job(job, queue)) => break (job, queue),
                Ok(Dequeue::Stop) => return Ok(Dequeued::Stop),
                Ok(Dequeue::Drained) => return Ok(Dequeued::Drained),
                Ok(Dequeue::Again) => continue,
                Err(RedisError::Connection) => {
                    self.ctx
                        .redis_error("dequeue", "block", &RedisError::Connection);
                    let sleep = self.ctx.sim().sleep(backoff);
                    if self.ctx.sim().interruptible(sleep).await.is_err()
                        && self.handle_new_signals().await != SignalAction::Continue
                    {
                        return Ok(Dequeued::Stop);
                    }
                    backoff =
                        (backoff.saturating_mul(2)).min(self.ctx.params().max_connection_wait);
                }
                Err(error) => return Err(error),
            }
        };
        let (job, queue) = dequeued;
        if let Err(error) = self.heartbeat_after_dequeue().await {
            self.report_lost_if_popped(&job, &queue, "worker exited after the pop");
            return Err(error);
        }
        Ok(Dequeued::Job(job, queue))
    }

    async fn heartbeat_after_dequeue(&mut self) -> Result<(), RedisError> {
        let key = keys::worker(&self.name);
        self.ctx
            .redis
            .call(cmd!("HSET", &key, "last_heartbeat", self.ctx.utcnow()))
            .await?;
        self.ctx
            .redis
            .call(cmd!(
                "EXPIRE",
                &key,
                self.ctx.params().idle_worker_key_ttl_s()
            ))
            .await?;
        Ok(())
    }

    /// One pass of the dequeue retry block: heartbeat, maintenance if due, the blocking pop,
    /// the job fetch.
    async fn dequeue_attempt(&mut self) -> Result<Dequeue, RedisError> {
        if self.loop_cost > SimDuration::ZERO {
            self.ctx.sim().sleep(self.loop_cost).await;
        }
        self.heartbeat_after_dequeue().await?;
        if self.maintenance_due() {
            self.run_maintenance_tasks().await?;
        }
        let pop = if self.burst {
            self.non_blocking_pop().await?
        } else {
            self.blocking_pop().await?
        };
        let popped = match pop {
            Popped::Id(id, queue) => (id, queue),
            Popped::Timeout => return Ok(Dequeue::Again),
            Popped::Empty => return Ok(Dequeue::Drained),
            Popped::Stop => return Ok(Dequeue::Stop),
        };
        let (id, queue) = popped;
        let hash = self.ctx.redis.call(cmd!("HGETALL", keys::job(&id))).await?;
        match Job::from_reply(&id, &hash) {
            Some(job) => {
                self.ctx
                    .emit(Some(&queue), Some(&job.id), EventKind::JobDequeued);
                Ok(Dequeue::Job(Box::new(job), queue))
            }
            // The hash expired, was deleted or evicted: RQ skips the id silently (§3.3), so
            // the job will never run.
            None => {
                let reason = "its hash was gone when a worker popped its id".to_string();
                let lost = EventKind::JobLost { reason };
                self.ctx.emit(Some(&queue), Some(&id), lost);
                Ok(Dequeue::Again)
            }
        }
    }

    /// BLMOVE for one queue, BLPOP for several, cut short by SIGTERM/SIGINT. On a signal
    /// the handler runs while the pop is still registered in Redis (§9 R15); only then is
    /// the connection closed.
    async fn blocking_pop(&mut self) -> Result<Popped, RedisError> {
        let timeout_s = self.ctx.params().dequeue_timeout_s();
        let command = if self.queues.len() == 1 {
            let queue = &self.queues[0];
            cmd!(
                "BLMOVE",
                keys::queue(queue),
                keys::intermediate(queue),
                "LEFT",
                "RIGHT",
                timeout_s
            )
        } else {
            let mut command = cmd!("BLPOP");
            command.extend(self.queues.iter().map(|q| keys::queue(q)));
            command.push(timeout_s);
            command
        };
        let redis = self.ctx.redis.clone();
        let mut pop = pin!(redis.call(command));
        let reply = loop {
            match self.ctx.sim().interruptible(&mut pop).await {
                Ok(reply) => break reply?,
                Err(_) => {
                    if self.handle_new_signals_during_pop().await != SignalAction::Continue {
                        return Ok(Popped::Stop);
                    }
                }
            }
        };
        Ok(self.parse_pop(reply))
    }

    /// `dequeue_any` with no timeout (`--burst`): `LMOVE` for one queue, else `LPOP` of each
    /// queue in order until one gives an id (`Queue.lmove`, `Queue.lpop`).
    async fn non_blocking_pop(&mut self) -> Result<Popped, RedisError> {
        if let [queue] = self.queues.as_slice() {
            let command = cmd!(
                "LMOVE",
                keys::queue(queue),
                keys::intermediate(queue),
                "LEFT",
                "RIGHT"
            );
            return Ok(match self.ctx.redis.call(command).await? {
                Reply::Bulk(id) => Popped::Id(Name::from(id.as_str()), queue.clone()),
                _ => Popped::Empty,
            });
        }
        for queue in self.queues.clone() {
            if let Reply::Bulk(id) = self
                .ctx
                .redis
                .call(cmd!("LPOP", keys::queue(&queue)))
                .await?
            {
                return Ok(Popped::Id(Name::from(id.as_str()), queue));
            }
        }
        Ok(Popped::Empty)
    }

    fn parse_pop(&self, reply: Reply) -> Popped {
        match reply {
            Reply::Bulk(id) => Popped::Id(Name::from(id.as_str()), self.queues[0].clone()),
            Reply::Array(items) => match items.as_slice() {
                [key, id] => match (key.as_str(), id.as_str()) {
                    (Some(key), Some(id)) => {
                        let queue = key.strip_prefix("rq:queue:").unwrap_or(key);
                        // The worker's own name of the queue, rather than a new copy.
                        let queue = (self.queues.iter().find(|name| ***name == *queue))
                            .map_or_else(|| Name::from(queue), Name::clone);
                        Popped::Id(Name::from(id), queue)
                    }
                    _ => Popped::Timeout,
                },
                _ => Popped::Timeout,
            },
            _ => Popped::Timeout,
        }
    }

    /// A BLPOP'd id that nobody recorded is lost for good (§9 R5a); a BLMOVE'd one waits in
    /// the intermediate list for maintenance (§5.4).
    pub(super) fn report_lost_if_popped(&self, job: &Job, queue: &Name, reason: &str) {
        if self.queues.len() > 1 {
            let kind = EventKind::JobLost {
                reason: reason.to_string(),
            };
            self.ctx.emit(Some(queue), Some(&job.id), kind);
        }
    }
}

// One value per dequeue, moved once: boxing the job would buy nothing.
#[allow(clippy::large_enum_variant)]
enum Dequeue {
    Job(Box<Job>, Name),
    Again,
    Stop,
    Drained,
}

/// What `dequeue_job_and_maintain_ttl` gives the main loop.
enum Dequeued {
    Job(Box<Job>, Name),
    Stop,
    Drained,
}

enum Popped {
    Id(Name, Name),
    Timeout,
    /// `--burst`: every queue was empty.
    Empty,
    Stop,
}

// ----- signals and shutdown (§6) --------------------------------------------------------------

impl Worker {
    /// Runs the handler for every SIGTERM/SIGINT not handled yet.
    pub(super) async fn handle_new_signals(&mut self) -> SignalAction {
        let received = self.ctx.sim().current_signals().total();
        let mut action = SignalAction::Continue;
        while self.signals_handled < received && action == SignalAction::Continue {
            self.signals_handled += 1;
            action = if self.signals_handled == 1 {
                self.request_stop().await
            } else {
                self.request_force_stop().await
            };
        }
        action
    }

    async fn handle_new_signals_during_pop(&mut self) -> SignalAction {
        self.handle_new_signals().await
    }

    /// `request_stop` → `_shutdown` (§6.1): busy → finish the job first; idle → stop now.
    async fn request_stop(&mut self) -> SignalAction {
        self.first_signal_at = Some(self.ctx.sim().now());
        if self.state == State::Busy {
            self.stop_requested = true;
            let date = cmd!(
                "HSET",
                keys::worker(&self.name),
                "shutdown_requested_date",
                self.ctx.utcnow()
            );
            let _ = self.ctx.redis.call(date).await;
            self.stop_scheduler().await;
            return SignalAction::Continue;
        }
        self.stop_scheduler().await;
        SignalAction::StopNow
    }

    /// `request_force_stop` (§6.2): ignored within 1 s of the first signal; else kill the
    /// horse's process group, wait for it, and exit.
    async fn request_force_stop(&mut self) -> SignalAction {
        let since_first = self
            .first_signal_at
            .map(|at| self.ctx.sim().now().since(at));
        if since_first.is_some_and(|span| span < SimDuration::from_secs(1)) {
            return SignalAction::Continue;
        }
        if let Some(horse) = self.horse.take() {
            self.kill_horse(horse).await;
        }
        SignalAction::ForceStop
    }

    /// SIGKILL to the horse's process group, then wait for it.
    pub(super) async fn kill_horse(&mut self, horse: Pid) {
        let env = self.env();
        let Some(exit) = env.sim.exit_cell(horse) else {
            return;
        };
        let job = env
            .live_processes()
            .into_iter()
            .find(|p| p.pid == horse)
            .and_then(|p| p.tag);
        env.sim.kill(horse, KillScope::Tree);
        self.ctx.emit(None, job.as_ref(), EventKind::ProcessKilled);
        env.sim.wait_exit(exit).await;
    }

    /// `stop_scheduler`: SIGTERM to the scheduler process and `join()`.
    pub(super) async fn stop_scheduler(&mut self) {
        let env = self.env();
        if let Some(scheduler) = self.scheduler.as_mut() {
            scheduler.stop_process(&env).await;
        }
    }

    /// `teardown` (§6.1): stop the scheduler, `register_death`, `unsubscribe`. A running
    /// horse is left alone.
    async fn teardown(&mut self) {
        self.stop_scheduler().await;
        let key = keys::worker(&self.name);
        let mut commands = vec![cmd!("SREM", keys::WORKERS, &key)];
        commands.extend(
            self.queues
                .iter()
                .map(|q| cmd!("SREM", keys::queue_workers(q), &key)),
        );
        commands.push(cmd!("HSET", &key, "death", self.ctx.utcnow()));
        commands.push(cmd!(
            "EXPIRE",
            &key,
            self.ctx.params().ttl_slack.whole_secs()
        ));
        let _ = self.ctx.redis.transaction(commands).await;
        self.unsubscribe().await;
    }
}
