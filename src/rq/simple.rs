//! `SimpleWorker.execute_job` (docs/rq-dependencies-and-operations.md §2.3): after
//! `prepare_execution`, `perform_job` runs in the worker's own process. Nothing is forked and
//! nothing watches the job: no `monitor_work_horse`, so no heartbeat while it runs and no
//! hard kill; the timeout is the SIGALRM of `UnixSignalDeathPenalty`, an ordinary failure.
//! A SIGTERM or SIGINT reaches the worker's own handlers while the job runs.

use std::pin::pin;

use crate::event::Name;
use crate::net::RedisError;
use crate::rq::failure::Execution;
use crate::rq::horse::{after_job_body, before_job_body, draw_job_run, Ending, HorseTask, JobRun};
use crate::rq::job::Job;
use crate::rq::worker::{SignalAction, Worker};
use crate::sim::SimTime;

/// What the job raises when a cold shutdown's handler runs inside it.
const SYSTEM_EXIT: &str = "SystemExit";

impl Worker {
    /// `perform_job` in this process. An error that escapes it (one the failure path itself
    /// raised) escapes `execute_job` too and ends the worker's loop.
    pub(super) async fn perform_job_in_process(
        &mut self,
        job: Job,
        execution: &Execution,
        timeout_s: i64,
    ) -> Result<(), RedisError> {
        let mut task = self.horse_task(job, execution, timeout_s);
        task.stop_requests = Some(self.commands.clone());
        let started = self.ctx.sim().now();
        // A kill of this process now ends the job's run too, as a horse's would.
        self.tag_running_job(Some(task.job.id.clone()));
        let result = self.perform_job(&mut task, started).await;
        self.tag_running_job(None);
        result
    }

    async fn perform_job(
        &mut self,
        task: &mut HorseTask,
        started: SimTime,
    ) -> Result<(), RedisError> {
        if let Some(ended) = before_job_body(&self.ctx, task, started).await {
            return ended;
        }
        let ending = match draw_job_run(&self.ctx, &task.job) {
            Ok(run) => self.run_under_signal_handlers(run).await,
            Err(ending) => ending,
        };
        after_job_body(&self.ctx, task, started, ending).await
    }

    fn tag_running_job(&self, job: Option<Name>) {
        let env = &self.ctx.env;
        env.set_process_tag(env.sim.current_pid(), job);
    }

    /// The job's function with the worker's SIGTERM/SIGINT handlers in force (§2.3
    /// "Signals"): the first signal asks for a warm stop after the job; a second one, 1 s or
    /// more later, raises `SystemExit` inside the job, which `perform_job`'s bare `except`
    /// turns into the failure path. simrq's simplification: a signal that comes while
    /// `perform_job` talks to Redis is handled when the job's function starts, or, after it,
    /// at the top of the worker's loop (a warm stop there, as the stop flag would give).
    async fn run_under_signal_handlers(&mut self, run: JobRun) -> Ending {
        if self.handle_new_signals().await == SignalAction::ForceStop {
            return Ending::Raised(SYSTEM_EXIT);
        }
        let sim = self.ctx.sim().clone();
        if run.hangs() {
            // Blocked in C code: Python runs no signal handler until it returns.
            return run.perform(&sim).await;
        }
        let mut body = pin!(run.perform(&sim));
        loop {
            match sim.interruptible(&mut body).await {
                Ok(ending) => return ending,
                Err(_) => {
                    if self.handle_new_signals().await == SignalAction::ForceStop {
                        return Ending::Raised(SYSTEM_EXIT);
                    }
                }
            }
        }
    }
}
