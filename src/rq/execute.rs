//! Executing a job from the worker's main process (rq-semantics §3.4 steps 1–2 and 6, §3.5,
//! §3.9): `prepare_execution`, the fork, `monitor_work_horse` with its heartbeats and hard
//! kill, and what happens after the horse exits.

use crate::event::{name_of, EventKind, Name};
use crate::net::RedisError;
use crate::redis::Command;
use crate::rq::env::{ProcCtx, ProcessInfo, Role};
use crate::rq::failure::{handle_job_failure, handle_stopped_job, Execution, FailureSite};
use crate::rq::horse::{work_horse, HorseTask};
use crate::rq::job::Job;
use crate::rq::keys;
use crate::rq::worker::{SignalAction, State, Worker, WorkerClass};
use crate::sim::kernel::ExitStatus;
use crate::sim::{SimDuration, SimTime};
use crate::{cmd, pipeline};

impl Worker {
    /// `Worker.execute_job`: prepare, fork, monitor, then `state idle`. Returns
    /// `ForceStop` if a cold shutdown happened meanwhile, `StopNow` if a stop came during a
    /// stall before `prepare_execution`.
    pub(super) async fn execute_job(
        &mut self,
        job: Job,
        queue: &Name,
    ) -> Result<SignalAction, RedisError> {
        let timeout_s = self.job_timeout_s(&job);
        let execution = Execution {
            job: job.id.clone(),
            id: self.ctx.env.fresh_id("x"),
        };
        let stalled = self.stall_before_prepare_execution(&execution).await;
        if stalled != SignalAction::Continue {
            self.report_lost_if_popped(&job, queue, "worker stopped before prepare_execution");
            return Ok(stalled);
        }
        if let Err(error) = self.prepare_execution(&execution, queue, timeout_s).await {
            self.ctx.redis_error("prepare_execution", "EXEC", &error);
            self.report_lost_if_popped(
                &job,
                queue,
                "worker exited before prepare_execution committed",
            );
            return Err(error);
        }
        self.state = State::Busy;
        if self.class == WorkerClass::SimpleWorker {
            self.perform_job_in_process(job, &execution, timeout_s)
                .await?;
            return self.set_idle().await;
        }
        let horse = self.fork_work_horse(&job, &execution);
        let started = self.ctx.sim().now();
        let (status, action) = self
            .monitor_work_horse(horse, &job, &execution, timeout_s, started)
            .await?;
        if action == SignalAction::ForceStop {
            return Ok(action);
        }
        self.after_horse_exit(status, job, &execution, started)
            .await?;
        self.set_idle().await?;
        Ok(action)
    }

    /// `execute_job`'s last step: `set_state(IDLE)`.
    async fn set_idle(&mut self) -> Result<SignalAction, RedisError> {
        self.state = State::Idle;
        self.ctx
            .redis
            .call(cmd!("HSET", keys::worker(&self.name), "state", "idle"))
            .await?;
        Ok(SignalAction::Continue)
    }

    /// `[rq] prepare_execution_stall`: the main process stops after the dequeue, before
    /// `prepare_execution`, with the popped id in the intermediate list only (BLMOVE) and the
    /// worker's state still `idle` — the window of §9 R17. Zero (the default) draws nothing
    /// and returns at once. A SIGTERM or SIGINT meanwhile runs its handler at once, as Python
    /// runs it inside `time.sleep`: an idle worker's warm shutdown raises `StopRequested`
    /// (returned here as `StopNow`), a second signal within 1 s is ignored and the sleep goes
    /// on to its end (PEP 475).
    async fn stall_before_prepare_execution(&mut self, execution: &Execution) -> SignalAction {
        let stall = self
            .ctx
            .env
            .host_cost(&self.ctx.params().host.prepare_execution_stall, || {
                format!("worker/prepare-stall/{}", execution.member())
            });
        if stall == SimDuration::ZERO {
            return SignalAction::Continue;
        }
        let sim = self.ctx.sim().clone();
        let until = sim.now() + stall;
        loop {
            let action = self.handle_new_signals().await;
            if action != SignalAction::Continue || sim.now() >= until {
                return action;
            }
            // Interrupted or not, the loop's top handles what arrived and checks the time.
            let _ = sim.interruptible(sim.sleep_until(until)).await;
        }
    }

    fn job_timeout_s(&self, job: &Job) -> i64 {
        job.effective_timeout_s(self.ctx.params().default_job_timeout.whole_secs() as i64)
    }

    /// `prepare_execution` (§3.4 step 1): from here the job counts as started for the
    /// abandoned-job detector.
    async fn prepare_execution(
        &mut self,
        execution: &Execution,
        queue: &Name,
        timeout_s: i64,
    ) -> Result<(), RedisError> {
        let ttl = self.heartbeat_ttl_s(timeout_s);
        let slack = self.ctx.params().ttl_slack.whole_secs() as i64;
        let (ts, now) = (self.ctx.ts(), self.ctx.utcnow());
        let exec_key = keys::execution(&execution.job, &execution.id);
        let executions_key = keys::executions(&execution.job);
        let commands = pipeline![
            cmd!(
                "HSET",
                &exec_key,
                "id",
                &execution.id,
                "created_at",
                &now,
                "last_heartbeat",
                &now,
                "worker_name",
                &self.name
            ),
            cmd!("EXPIRE", &exec_key, ttl),
            cmd!("ZADD", &executions_key, ts + ttl + slack, &execution.id),
            cmd!("EXPIRE", &executions_key, ttl + slack),
            cmd!("ZADD", keys::started(queue), ts + ttl, execution.member()),
            cmd!("HSET", keys::worker(&self.name), "state", "busy"),
        ];
        self.ctx.redis.transaction(commands).await.map(|_| ())
    }

    /// `get_heartbeat_ttl(job)` as the job starts: the worker refreshes a horse's keys every
    /// monitoring interval, a `SimpleWorker` never (docs/rq-dependencies-and-operations.md
    /// §2.3), so it covers the job's whole timeout.
    fn heartbeat_ttl_s(&self, timeout_s: i64) -> i64 {
        let params = self.ctx.params();
        match self.class {
            WorkerClass::Worker => params.heartbeat_ttl_s(timeout_s, 0.0),
            WorkerClass::SimpleWorker => params.simple_worker_heartbeat_ttl_s(timeout_s),
        }
    }

    /// The TTL `prepare_job_execution` gives the worker's key.
    fn worker_key_ttl_s(&self, timeout_s: i64) -> i64 {
        match self.class {
            WorkerClass::Worker => self.ctx.params().busy_worker_key_ttl_s() as i64,
            WorkerClass::SimpleWorker => self.heartbeat_ttl_s(timeout_s),
        }
    }

    /// `os.fork()`: the horse runs `main_work_horse` with the job as the worker fetched it.
    fn fork_work_horse(&mut self, job: &Job, execution: &Execution) -> crate::sim::Pid {
        let env = self.ctx.env.clone();
        let name = name_of(format_args!("{}:horse", self.name));
        let horse_ctx = ProcCtx::new(&env, &self.ctx.pod, &name, self.ctx.host);
        let timeout_s = self.job_timeout_s(job);
        let task = self.horse_task(job.clone(), execution, timeout_s);
        let parent = env.sim.current_pid();
        let pid = env.sim.spawn(
            self.ctx.host,
            &name,
            Some(parent),
            work_horse(horse_ctx, task),
        );
        let info = ProcessInfo {
            pid,
            pod: self.ctx.pod.clone(),
            name,
            role: Role::Horse,
            tag: Some(job.id.clone()),
        };
        env.register_process(info);
        self.horse = Some(pid);
        pid
    }

    /// What `perform_job` starts from, in a forked horse or (a `SimpleWorker`) in this process.
    pub(super) fn horse_task(&self, job: Job, execution: &Execution, timeout_s: i64) -> HorseTask {
        HorseTask {
            worker: self.name.clone(),
            job,
            execution: execution.clone(),
            single_queue: self.queues.len() == 1,
            worker_key_ttl_s: self.worker_key_ttl_s(timeout_s),
            stop_requests: None,
        }
    }

    /// `monitor_work_horse` (§3.5): wait for the horse under a SIGALRM every monitoring
    /// interval; each tick records the working time and either hard-kills a horse past its
    /// timeout + 60 s or sends the heartbeats. A Redis error here ends the worker without
    /// killing the horse (§7, R2).
    async fn monitor_work_horse(
        &mut self,
        horse: crate::sim::Pid,
        job: &Job,
        execution: &Execution,
        timeout_s: i64,
        started: SimTime,
    ) -> Result<(ExitStatus, SignalAction), RedisError> {
        let sim = self.ctx.sim().clone();
        let Some(exit) = sim.exit_cell(horse) else {
            return Ok((ExitStatus::Killed, SignalAction::Continue));
        };
        let interval = self.ctx.params().job_monitoring_interval;
        let mut next_tick = started + interval;
        loop {
            let wait = sim.timeout(next_tick.since(sim.now()), sim.wait_exit(exit.clone()));
            match sim.interruptible(wait).await {
                Ok(Ok(status)) => {
                    self.horse = None;
                    return Ok((status, SignalAction::Continue));
                }
                Ok(Err(_)) => {}
                Err(_) => {
                    if self.handle_new_signals().await == SignalAction::ForceStop {
                        return Ok((ExitStatus::Killed, SignalAction::ForceStop));
                    }
                    continue;
                }
            }
            next_tick += interval;
            let working_time_s = sim.now().since(started).as_secs_f64();
            let key = keys::worker(&self.name);
            self.ctx
                .redis
                .call(cmd!(
                    "HSET",
                    &key,
                    "current_job_working_time",
                    working_time_s
                ))
                .await?;
            let hard_limit_s = timeout_s as f64 + self.ctx.params().hard_kill_grace.as_secs_f64();
            if timeout_s != -1 && working_time_s > hard_limit_s {
                self.hard_kill(horse, &key).await?;
                self.horse = None;
                return Ok((ExitStatus::Killed, SignalAction::Continue));
            }
            let commands = self.heartbeat_commands(job, execution, timeout_s, working_time_s);
            self.ctx.redis.transaction(commands).await?;
        }
    }

    async fn hard_kill(
        &mut self,
        horse: crate::sim::Pid,
        worker_key: &str,
    ) -> Result<(), RedisError> {
        self.ctx
            .redis
            .call(cmd!(
                "HSET",
                worker_key,
                "last_heartbeat",
                self.ctx.utcnow()
            ))
            .await?;
        self.ctx
            .redis
            .call(cmd!(
                "EXPIRE",
                worker_key,
                self.ctx.params().busy_worker_key_ttl_s()
            ))
            .await?;
        self.kill_horse(horse).await;
        Ok(())
    }

    /// `maintain_heartbeats`: refresh the worker key, the execution, the wip score (`ZADD
    /// XX`, so a removed entry is never re-created) and the job's heartbeat.
    fn heartbeat_commands(
        &self,
        job: &Job,
        execution: &Execution,
        timeout_s: i64,
        working_time_s: f64,
    ) -> Vec<Command> {
        let params = self.ctx.params();
        let ttl = params.heartbeat_ttl_s(timeout_s, working_time_s);
        let slack = params.ttl_slack.whole_secs() as i64;
        let (ts, now) = (self.ctx.ts(), self.ctx.utcnow());
        let worker_key = keys::worker(&self.name);
        let exec_key = keys::execution(&execution.job, &execution.id);
        let executions_key = keys::executions(&execution.job);
        vec![
            cmd!("HSET", &worker_key, "last_heartbeat", &now),
            cmd!("EXPIRE", &worker_key, params.busy_worker_key_ttl_s()),
            cmd!("HSET", &exec_key, "last_heartbeat", &now),
            cmd!("EXPIRE", &exec_key, ttl.max(1)),
            cmd!(
                "ZADD",
                keys::started(&job.origin),
                "XX",
                ts + ttl,
                execution.member()
            ),
            cmd!("ZADD", &executions_key, ts + ttl + slack, &execution.id),
            cmd!("EXPIRE", &executions_key, ttl + slack),
            cmd!("HSET", keys::job(&job.id), "last_heartbeat", &now),
        ]
    }

    /// §3.9: after the horse exits. Exit 0: the horse did the bookkeeping. Otherwise, unless
    /// the job already finished or failed, the worker runs `handle_job_failure` itself, with
    /// its own copy of the job (so a retry is consumed).
    async fn after_horse_exit(
        &mut self,
        status: ExitStatus,
        mut job: Job,
        execution: &Execution,
        started: SimTime,
    ) -> Result<(), RedisError> {
        let key = keys::worker(&self.name);
        self.ctx
            .redis
            .call(cmd!("HSET", &key, "current_job_working_time", 0))
            .await?;
        if status == ExitStatus::Exited(0) {
            return Ok(());
        }
        let current = self
            .ctx
            .redis
            .call(cmd!("HGET", keys::job(&job.id), "status"))
            .await?;
        let Some(current) = current.as_str() else {
            return Ok(());
        };
        if self.is_stopped_job(&job.id) {
            self.after_stopped_horse(job, execution).await;
            return Ok(());
        }
        if current == "finished" || current == "failed" {
            return Ok(());
        }
        job.ended_at = Some(self.ctx.utcnow());
        let reason = "Work-horse terminated unexpectedly";
        let kind = EventKind::JobFailed {
            reason: reason.to_string(),
        };
        self.ctx.emit(Some(&job.origin), Some(&job.id), kind);
        let working_time_s = self.ctx.sim().now().since(started).as_secs_f64();
        let site = FailureSite {
            ctx: &self.ctx,
            worker: &self.name,
            execution: Some(execution),
            working_time_s,
        };
        handle_job_failure(&site, &mut job, reason).await
    }

    /// `monitor_work_horse` when the horse was killed by `stop-job`
    /// (docs/rq-dependencies-and-operations.md §3.4): "job stopped by user", checked before
    /// the job's status, then `handle_job_failure`, which finds `_stopped_job_id` equal to
    /// the job's id and clears it: status `stopped`, no retry. `ended_at` is not set on
    /// this path, so no working time is added.
    async fn after_stopped_horse(&mut self, mut job: Job, execution: &Execution) {
        let reason = crate::rq::failure::STOPPED_REASON;
        let kind = EventKind::JobFailed {
            reason: reason.to_string(),
        };
        self.ctx.emit(Some(&job.origin), Some(&job.id), kind);
        self.commands.stopped_job_id.borrow_mut().take();
        let site = FailureSite {
            ctx: &self.ctx,
            worker: &self.name,
            execution: Some(execution),
            working_time_s: 0.0,
        };
        handle_stopped_job(&site, &mut job, reason, false).await;
    }
}
