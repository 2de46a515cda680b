//! `rq cron CONFIG`: RQ 2.12's cron scheduler (rq/cron.py `CronScheduler.start`, traced
//! in docs/cron.md). It takes no lock: every `rq cron` process enqueues every cron job it
//! was configured with, on its own clock.
//!
//! ```text
//!   register_birth ─► loop: enqueue_jobs (one transaction per due job) ─► save (if any)
//!        │                  ─► heartbeat ─► sleep min(next due − now, 60 s)
//!        └─ SIGTERM/SIGINT ─► register_death (ZREM) ─► exit 0;  a Redis error ─► exit 1
//! ```

use std::rc::Rc;

use crate::cmd;
use crate::event::{EnqueueSource, EventKind, Name};
use crate::net::RedisError;
use crate::redis::{Command, Reply};
use crate::rq::body::JobClass;
use crate::rq::cron_expr::{CronError, CronExpr};
use crate::rq::env::{ProcCtx, ProcessInfo, Role, RqEnv};
use crate::rq::job::utc_format;
use crate::rq::keys;
use crate::rq::queue::{enqueue_commands, new_job};
use crate::scenario::CronSpec;
use crate::sim::{HostId, Pid, SimDuration};

/// `DEFAULT_CRON_SCHEDULER_TTL`: the scheduler hash's TTL and the registry's staleness limit.
const SCHEDULER_TTL_S: i64 = 120;
/// `DEFAULT_CRON_JOB_HISTORY_LIMIT`: job ids kept per cron job.
const HISTORY_LIMIT: i64 = 1000;
/// `DEFAULT_CRON_JOB_HISTORY_TTL`: one year.
const HISTORY_TTL_S: i64 = 31_536_000;
/// `calculate_sleep_interval` never sleeps longer than this.
const MAX_SLEEP_MICROS: i64 = 60_000_000;

/// When a cron job runs: `register(..., interval=N)` or `register(..., cron="...")`.
#[derive(Clone, Debug, PartialEq)]
pub enum CronSchedule {
    /// Every this many seconds from its previous enqueue; at once when the process starts.
    Interval(i64),
    /// At each instant of the expression (UTC), from the first instant after the start.
    Expression { text: String, expr: Rc<CronExpr> },
}

impl CronSchedule {
    /// A cron expression's schedule, as croniter reads `text`.
    pub fn expression(text: &str) -> Result<CronSchedule, CronError> {
        Ok(CronSchedule::Expression {
            text: text.to_string(),
            expr: Rc::new(CronExpr::parse(text)?),
        })
    }

    /// The schedule of a `[[cron]]` section (validated: exactly one of `interval`, `cron`).
    pub fn of(spec: &CronSpec) -> CronSchedule {
        match (&spec.interval, &spec.cron) {
            (Some(interval), _) => CronSchedule::Interval(interval.whole_secs() as i64),
            (None, Some(text)) => CronSchedule::expression(text).expect("validated"),
            (None, None) => unreachable!("validation requires interval or cron"),
        }
    }
}

/// One `cron.register(func, queue_name, ...)` of the config file.
#[derive(Clone, Debug)]
pub struct CronJobSpec {
    /// `name` (the cron job's identity in the registry and its history key).
    pub name: Name,
    /// The job class (its `func_name`, queue, timeouts and TTLs) it enqueues.
    pub class: JobClass,
    pub schedule: CronSchedule,
}

/// A cron job as one `rq cron` process tracks it (`CronJob`'s timing fields), in Unix
/// microseconds of the process's host clock.
struct CronJobState {
    spec: Rc<CronJobSpec>,
    latest_enqueue: Option<i64>,
    next_enqueue: Option<i64>,
}

impl CronJobState {
    /// `CronJob.__init__`: a cron expression's first instant is computed at once.
    fn new(spec: Rc<CronJobSpec>, now: i64) -> CronJobState {
        let next_enqueue = match &spec.schedule {
            CronSchedule::Expression { expr, .. } => next_instant(expr, now),
            CronSchedule::Interval(_) => None,
        };
        CronJobState {
            spec,
            latest_enqueue: None,
            next_enqueue,
        }
    }

    /// `CronJob.should_run`: an interval job that never ran runs at once.
    fn should_run(&self, now: i64) -> bool {
        let never_ran = self.latest_enqueue.is_none();
        if never_ran && matches!(self.spec.schedule, CronSchedule::Interval(_)) {
            return true;
        }
        self.next_enqueue.is_some_and(|next| now >= next)
    }

    /// `CronJob.set_enqueue_time` with `get_next_enqueue_time`: the next instant counts from
    /// the time the pass began, not from the previous due time, so an interval job drifts by
    /// whatever delayed the pass.
    fn set_enqueue_time(&mut self, time: i64) {
        self.latest_enqueue = Some(time);
        self.next_enqueue = match &self.spec.schedule {
            CronSchedule::Interval(seconds) => Some(time + seconds * 1_000_000),
            CronSchedule::Expression { expr, .. } => next_instant(expr, time),
        };
    }
}

/// `croniter(expr, start).get_next()` in microseconds (minute resolution).
fn next_instant(expr: &CronExpr, after_micros: i64) -> Option<i64> {
    expr.next_after(after_micros.div_euclid(1_000_000))
        .map(|s| s * 1_000_000)
}

/// Starts an `rq cron` process in `pod` on `host`.
pub fn spawn_cron(env: &Rc<RqEnv>, pod: &Name, host: HostId, jobs: &[Rc<CronJobSpec>]) -> Pid {
    let name = env.fresh_id(&format!("{pod}.cron"));
    let ctx = ProcCtx::new(env, pod, &name, host);
    let pid = env.sim.spawn(host, &name, None, run(ctx, jobs.to_vec()));
    env.register_process(ProcessInfo {
        pid,
        pod: pod.clone(),
        name,
        role: Role::Cron,
        tag: None,
    });
    pid
}

/// `rq cron`: start-up, `CronScheduler.start`, and the CLI's exit code.
async fn run(ctx: ProcCtx, specs: Vec<Rc<CronJobSpec>>) -> i32 {
    let startup = ctx.env.host_cost(&ctx.params().host.worker_startup, || {
        format!("cron/{}", ctx.name)
    });
    if startup > SimDuration::ZERO {
        ctx.sim().sleep(startup).await;
    }
    let now = ctx.now_micros();
    let mut jobs: Vec<CronJobState> = specs
        .into_iter()
        .map(|spec| CronJobState::new(spec, now))
        .collect();
    let outcome = start(&ctx, &mut jobs).await;
    // `finally: register_death()`, whose own error replaces the loop's.
    let death = register_death(&ctx).await;
    let (code, reason) = match (outcome, death) {
        (Ok(()), Ok(())) => (0, "stopped".to_string()),
        (_, Err(error)) | (Err(error), _) => (1, error.to_string()),
    };
    let kind = EventKind::CronSchedulerStopped {
        scheduler: ctx.name.clone(),
        reason,
    };
    ctx.emit(None, None, kind);
    code
}

/// `CronScheduler.start`'s `try` body: birth, then the loop until a stop signal. A Redis
/// error is not caught anywhere in it: it ends the process.
async fn start(ctx: &ProcCtx, jobs: &mut [CronJobState]) -> Result<(), RedisError> {
    register_birth(ctx, jobs).await?;
    let started = EventKind::CronSchedulerStarted {
        scheduler: ctx.name.clone(),
    };
    ctx.emit(None, None, started);
    let mut holding = false;
    loop {
        if ctx.sim().current_signals().total() > 0 {
            return release_lock(ctx, holding).await;
        }
        let leads = match ctx.params().what_if.cron_lock_ttl_s {
            None => true,
            Some(ttl) => {
                holding = take_lock(ctx, ttl).await?;
                holding
            }
        };
        if !leads {
            follow_schedule(jobs, ctx.now_micros());
        } else if enqueue_jobs(ctx, jobs).await? {
            save(ctx, jobs).await?;
        }
        heartbeat(ctx, jobs).await?;
        let sleep = calculate_sleep_interval(jobs, ctx.now_micros());
        if sleep > 0 {
            let nap = ctx.sim().sleep(SimDuration::from_micros(sleep as u64));
            if ctx.sim().interruptible(nap).await.is_err() {
                // The signal handler raises `StopRequested` out of `time.sleep`.
                return release_lock(ctx, holding).await;
            }
        }
    }
}

/// `CronScheduler.enqueue_jobs`: every due job, each in its own transaction; whether any ran.
/// The pass's `enqueue_time` is read once, but each job's `should_run` reads the clock again
/// (rq/cron.py `CronJob.should_run`: `now() >= self.next_enqueue_time`). A cron instant that
/// arrives while an earlier job of the pass is being enqueued is therefore enqueued in this pass
/// and stamped with the pass's earlier start, from which croniter's next instant is that same
/// instant: the next pass enqueues it again (FINDINGS.md, tests/conformance).
async fn enqueue_jobs(ctx: &ProcCtx, jobs: &mut [CronJobState]) -> Result<bool, RedisError> {
    let enqueue_time = ctx.now_micros();
    let mut enqueued = false;
    for job in jobs.iter_mut() {
        if !job.should_run(ctx.now_micros()) {
            continue;
        }
        enqueue(ctx, job).await?;
        job.set_enqueue_time(enqueue_time);
        enqueued = true;
    }
    Ok(enqueued)
}

/// What-if `[rq] cron_lock_ttl`: `SET NX EX`, or refresh the TTL of a lock this process
/// already holds; whether it holds the lock now.
async fn take_lock(ctx: &ProcCtx, ttl_s: i64) -> Result<bool, RedisError> {
    let set = cmd!("SET", keys::CRON_LOCK, &ctx.name, "NX", "EX", ttl_s);
    if ctx.redis.call(set).await? != Reply::Nil {
        return Ok(true);
    }
    let holder = ctx.redis.call(cmd!("GET", keys::CRON_LOCK)).await?;
    if holder.as_str() != Some(&*ctx.name) {
        return Ok(false);
    }
    ctx.redis
        .call(cmd!("EXPIRE", keys::CRON_LOCK, ttl_s))
        .await?;
    Ok(true)
}

/// What-if: a stopping holder deletes its lock, so that a standby takes over at its next pass.
async fn release_lock(ctx: &ProcCtx, holding: bool) -> Result<(), RedisError> {
    if holding {
        let holder = ctx.redis.call(cmd!("GET", keys::CRON_LOCK)).await?;
        if holder.as_str() == Some(&*ctx.name) {
            ctx.redis.call(cmd!("DEL", keys::CRON_LOCK)).await?;
        }
    }
    Ok(())
}

/// What-if: a standby that does not hold the lock moves its due jobs' times on as if it had
/// enqueued them, so that it takes over on the schedule instead of catching up.
fn follow_schedule(jobs: &mut [CronJobState], now: i64) {
    for job in jobs.iter_mut().filter(|job| job.should_run(now)) {
        job.set_enqueue_time(now);
    }
}

/// `CronJob.enqueue`: `Queue.enqueue` into a pipeline, with the job history and the cron
/// job registry in the same transaction.
async fn enqueue(ctx: &ProcCtx, state: &CronJobState) -> Result<(), RedisError> {
    let spec = &state.spec;
    let class = &spec.class;
    let id = crate::event::job_id(ctx.env.next_job_number());
    let mut job = new_job(ctx, class, id.clone());
    let mut commands = vec![cmd!("SADD", keys::QUEUES, keys::queue(&job.origin))];
    enqueue_commands(ctx, &mut job, class.at_front, &mut commands);
    let enqueued_at = unix_seconds(ctx.now_micros());
    let history = keys::cron_job_history(&spec.name);
    commands.extend([
        cmd!("ZADD", &history, &enqueued_at, &id),
        cmd!("ZREMRANGEBYRANK", &history, 0, -(HISTORY_LIMIT + 1)),
        cmd!("EXPIRE", &history, HISTORY_TTL_S),
        cmd!("ZADD", keys::CRON_JOBS, &enqueued_at, &spec.name),
    ]);
    let due_unix_ms = match spec.schedule {
        CronSchedule::Interval(_) if state.latest_enqueue.is_none() => None,
        _ => state.next_enqueue.map(|micros| micros.div_euclid(1000)),
    };
    let kinds = vec![
        crate::rq::queue::created(ctx, class),
        EventKind::JobEnqueued {
            source: EnqueueSource::Cron,
            at_front: class.at_front,
        },
        EventKind::CronJobEnqueued {
            cron_job: spec.name.clone(),
            due_unix_ms,
        },
    ];
    let observer = ctx.on_commit(Some(&class.queue), Some(&id), kinds);
    ctx.redis
        .transaction_observed(commands, Some(observer))
        .await
        .map(|_| ())
}

/// `datetime.timestamp()` as redis-py writes a float score: the shortest repr.
fn unix_seconds(micros: i64) -> String {
    format!("{}", micros as f64 / 1e6)
}

/// `CronScheduler.register_birth`: the registry entry (`ZADD NX`) and the hash, in one
/// transaction.
async fn register_birth(ctx: &ProcCtx, jobs: &[CronJobState]) -> Result<(), RedisError> {
    let mut commands = vec![cmd!(
        "ZADD",
        keys::CRON_SCHEDULERS,
        "NX",
        unix_seconds(ctx.now_micros()),
        &ctx.name
    )];
    commands.extend(save_commands(ctx, jobs));
    ctx.redis.transaction(commands).await.map(|_| ())
}

/// `CronScheduler.save`: the hash (`to_dict`) and its TTL.
async fn save(ctx: &ProcCtx, jobs: &[CronJobState]) -> Result<(), RedisError> {
    ctx.redis
        .transaction(save_commands(ctx, jobs))
        .await
        .map(|_| ())
}

fn save_commands(ctx: &ProcCtx, jobs: &[CronJobState]) -> Vec<Command> {
    let key = keys::cron_scheduler(&ctx.name);
    let created_at = utc_format(ctx.now_micros());
    vec![
        cmd!(
            "HSET",
            &key,
            "hostname",
            &ctx.pod,
            "pid",
            1,
            "name",
            &ctx.name,
            "created_at",
            created_at,
            "config_file",
            "cron_config.py",
            "cron_jobs",
            cron_jobs_json(jobs)
        ),
        cmd!("EXPIRE", &key, SCHEDULER_TTL_S),
    ]
}

/// `json.dumps([job.to_dict() ...])`, with the fields simrq knows.
fn cron_jobs_json(jobs: &[CronJobState]) -> String {
    let time = |micros: Option<i64>| {
        micros.map_or("null".to_string(), |m| format!("\"{}\"", utc_format(m)))
    };
    let entries: Vec<String> = jobs
        .iter()
        .map(|job| {
            let spec = &job.spec;
            let (interval, cron) = match &spec.schedule {
                CronSchedule::Interval(seconds) => (seconds.to_string(), "null".to_string()),
                CronSchedule::Expression { text, .. } => ("null".to_string(), format!("{text:?}")),
            };
            format!(
                "{{\"func_name\": \"{}\", \"name\": \"{}\", \"queue_name\": \"{}\", \
                 \"args\": null, \"kwargs\": null, \"interval\": {interval}, \"cron\": {cron}, \
                 \"latest_enqueue_time\": {}, \"next_enqueue_time\": {}}}",
                spec.class.name,
                spec.name,
                spec.class.queue,
                time(job.latest_enqueue),
                time(job.next_enqueue),
            )
        })
        .collect();
    format!("[{}]", entries.join(", "))
}

/// `CronScheduler.heartbeat`: `ZADD` the registry score and `EXPIRE` the hash in one
/// transaction; the hash is saved again if it had expired (EXPIRE answered 0).
async fn heartbeat(ctx: &ProcCtx, jobs: &[CronJobState]) -> Result<(), RedisError> {
    let key = keys::cron_scheduler(&ctx.name);
    let commands = vec![
        cmd!(
            "ZADD",
            keys::CRON_SCHEDULERS,
            unix_seconds(ctx.now_micros()),
            &ctx.name
        ),
        cmd!("EXPIRE", &key, SCHEDULER_TTL_S),
    ];
    let replies = ctx.redis.transaction(commands).await?;
    if replies.get(1) == Some(&Reply::Int(0)) {
        save(ctx, jobs).await?;
    }
    Ok(())
}

/// `CronScheduler.register_death`: `ZREM` from the registry, which raises
/// `SchedulerNotFound` when the entry is gone (pruned as stale). The hash is left to expire.
async fn register_death(ctx: &ProcCtx) -> Result<(), RedisError> {
    let removed = ctx
        .redis
        .call(cmd!("ZREM", keys::CRON_SCHEDULERS, &ctx.name))
        .await?;
    match removed {
        Reply::Int(0) => Err(RedisError::Response(
            "SchedulerNotFound: not in the registry".into(),
        )),
        _ => Ok(()),
    }
}

/// `CronScheduler.calculate_sleep_interval`: until the earliest next instant, at most 60 s,
/// 0 when one is overdue; 60 s when no job has a next instant.
fn calculate_sleep_interval(jobs: &[CronJobState], now: i64) -> i64 {
    match jobs.iter().filter_map(|job| job.next_enqueue).min() {
        None => MAX_SLEEP_MICROS,
        Some(next) => (next - now).clamp(0, MAX_SLEEP_MICROS),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::SimDuration;

    fn state(schedule: CronSchedule, now: i64) -> CronJobState {
        let class = JobClass::simple("tick", "default", SimDuration::from_millis(10));
        let spec = CronJobSpec {
            name: Name::from("tick"),
            class,
            schedule,
        };
        CronJobState::new(Rc::new(spec), now)
    }

    /// rq/cron.py `CronJob.should_run`: an interval job runs at once, then every interval
    /// counted from the time its pass began.
    #[test]
    fn interval_jobs_run_at_start_then_every_interval() {
        let mut job = state(CronSchedule::Interval(5), 1_000_000);
        assert!(job.should_run(1_000_000));
        job.set_enqueue_time(1_200_000);
        assert!(!job.should_run(6_199_999));
        assert!(job.should_run(6_200_000));
        assert_eq!(calculate_sleep_interval(&[job], 2_200_000), 4_000_000);
    }

    /// rq/cron.py `CronJob.__init__`: a cron job waits for its first instant after start.
    #[test]
    fn cron_jobs_wait_for_their_first_instant() {
        let start = 1_767_225_900_000_000 + 1; // 00:05:00.000001
        let schedule = CronSchedule::expression("*/5 * * * *").unwrap();
        let job = state(schedule, start);
        assert!(!job.should_run(start));
        assert_eq!(job.next_enqueue, Some(1_767_226_200_000_000));
        let sleep = calculate_sleep_interval(&[job], start);
        assert_eq!(sleep, MAX_SLEEP_MICROS, "capped at 60 s");
    }
}
