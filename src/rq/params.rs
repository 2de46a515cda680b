//! RQ 2.12's constants (rq-semantics §2) as named parameters, and the what-if variants.

use crate::rq::body::DurationDist;
use crate::sim::SimDuration;

/// Which scheduler implementation runs (rq-semantics §4.9).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SchedulerVersion {
    /// Compare-and-refresh heartbeat, compare-and-delete release (2.11 and later).
    #[default]
    V2_12,
    /// `SET NX` acquire unioned into the held set, blind `EXPIRE` heartbeat after the
    /// enqueue, blind `DEL` release.
    V2_10,
}

/// Proposed changes a design review can switch on (design.md, "What-if variants").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WhatIf {
    /// Move due jobs atomically: WATCH the scheduled registry around read and enqueue.
    pub atomic_enqueue: bool,
    /// Enqueue only while the lock still names this scheduler: WATCH the lock, check, EXEC.
    pub fenced_enqueue: bool,
    /// Put the retry's ZADD to the scheduled registry inside the failure transaction.
    pub retry_zadd_in_transaction: bool,
    /// Key the intermediate list's `first_seen` by job id and the job's `enqueued_at`, so that
    /// a key from an earlier pass through the list (even one a slow cleaner sets after the job
    /// left it) never makes a later pass look stuck (§9 R17).
    pub first_seen_per_enqueue: bool,
    /// `rq cron` under a lock with this TTL (whole seconds): only the holder enqueues.
    pub cron_lock_ttl_s: Option<i64>,
}

/// The time a real machine spends where RQ's steps take none in the model: properties of the
/// host, not of RQ, each a distribution drawn from its own seeded stream (a constant draws
/// nothing, so a scenario without these keys keeps every other stream's draws).
#[derive(Clone, Debug, PartialEq)]
pub struct HostCosts {
    /// A worker process's start to its first Redis command (interpreter, imports, CLI setup).
    /// It sets the phase of the worker's maintenance runs and of its scheduler's ticks.
    pub worker_startup: DurationDist,
    /// The fork of a work-horse to the job function's first line (`os.fork`, imports, setup).
    pub horse_startup: DurationDist,
    /// The horse's last Redis call to the worker's next step (exit, `wait4`, teardown).
    pub horse_exit: DurationDist,
    /// redis-server's start to accepting connections, after a restart.
    pub redis_startup: DurationDist,
    /// A stall of the worker's main process between a dequeue and `prepare_execution`
    /// (a pause of the process, or the conformance suite's forcing of §9 R17).
    pub prepare_execution_stall: DurationDist,
    /// The worker main process's own time per pass of its dequeue loop, drawn once per
    /// worker process: it stretches the period of an idle worker's maintenance runs.
    pub worker_loop_cost: DurationDist,
    /// Workers starting at the same instant share their `worker_startup` and
    /// `worker_loop_cost` draws (`[rq] shared_host_costs`).
    pub shared: bool,
}

impl Default for HostCosts {
    fn default() -> HostCosts {
        HostCosts {
            worker_startup: DurationDist::Constant(SimDuration::ZERO),
            horse_startup: DurationDist::Constant(SimDuration::ZERO),
            horse_exit: DurationDist::Constant(SimDuration::ZERO),
            redis_startup: DurationDist::Constant(SimDuration::ZERO),
            prepare_execution_stall: DurationDist::Constant(SimDuration::ZERO),
            worker_loop_cost: DurationDist::Constant(SimDuration::ZERO),
            shared: false,
        }
    }
}

/// Every RQ constant a deployment could change, with RQ 2.12's defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct RqParams {
    /// `--worker-ttl` (`DEFAULT_WORKER_TTL`).
    pub worker_ttl: SimDuration,
    /// `--job-monitoring-interval`.
    pub job_monitoring_interval: SimDuration,
    /// `--maintenance-interval` (`DEFAULT_MAINTENANCE_TASK_INTERVAL`).
    pub maintenance_interval: SimDuration,
    /// `RQScheduler(interval=…)`: the scheduler loop's sleep.
    pub scheduler_interval: SimDuration,
    /// `DEFAULT_SCHEDULER_FALLBACK_PERIOD`.
    pub scheduler_fallback_period: SimDuration,
    /// `Queue.DEFAULT_TIMEOUT`, the job timeout when none is given.
    pub default_job_timeout: SimDuration,
    /// `DEFAULT_RESULT_TTL`.
    pub result_ttl: SimDuration,
    /// `DEFAULT_FAILURE_TTL`.
    pub failure_ttl: SimDuration,
    /// TTL of `rq:clean_registries:<q>`.
    pub maintenance_lock_ttl: SimDuration,
    /// Age after which an id in the intermediate list is handled as stuck.
    pub intermediate_stuck_threshold: SimDuration,
    /// Cap of the dequeue loop's connection back-off (`max_connection_wait_time`).
    pub max_connection_wait: SimDuration,
    /// Due jobs moved per queue per scheduler tick (`chunk_size`).
    pub due_jobs_per_tick: u32,
    /// The horse is killed once working time exceeds timeout + this.
    pub hard_kill_grace: SimDuration,
    /// Extra TTL that RQ adds to heartbeat-based keys (the `+ 60` everywhere).
    pub ttl_slack: SimDuration,
    /// What the host, not RQ, costs in time: see [`HostCosts`].
    pub host: HostCosts,
    pub scheduler_version: SchedulerVersion,
    pub what_if: WhatIf,
    /// Redis's memory is modelled (`[redis] maxmemory`): jobs are saved with the fields RQ
    /// writes that matter only to their size (`data`, `description`, the callbacks).
    pub sizes_jobs: bool,
}

impl Default for RqParams {
    fn default() -> RqParams {
        RqParams {
            worker_ttl: SimDuration::from_secs(420),
            job_monitoring_interval: SimDuration::from_secs(30),
            maintenance_interval: SimDuration::from_secs(600),
            scheduler_interval: SimDuration::from_secs(1),
            scheduler_fallback_period: SimDuration::from_secs(120),
            default_job_timeout: SimDuration::from_secs(180),
            result_ttl: SimDuration::from_secs(500),
            failure_ttl: SimDuration::from_secs(31_536_000),
            maintenance_lock_ttl: SimDuration::from_secs(899),
            intermediate_stuck_threshold: SimDuration::from_secs(60),
            max_connection_wait: SimDuration::from_secs(60),
            due_jobs_per_tick: 1_000,
            hard_kill_grace: SimDuration::from_secs(60),
            ttl_slack: SimDuration::from_secs(60),
            host: HostCosts::default(),
            scheduler_version: SchedulerVersion::V2_12,
            what_if: WhatIf::default(),
            sizes_jobs: false,
        }
    }
}

impl RqParams {
    /// `BaseWorker.dequeue_timeout`: max(1, worker_ttl − 15) seconds.
    pub fn dequeue_timeout_s(&self) -> u64 {
        self.worker_ttl.whole_secs().saturating_sub(15).max(1)
    }

    /// `BaseWorker.connection_timeout`: the socket timeout of every RQ connection.
    pub fn socket_timeout(&self) -> SimDuration {
        SimDuration::from_secs(self.dequeue_timeout_s() + 10)
    }

    /// TTL of `rq:worker:<w>` while idle (worker_ttl + 60).
    pub fn idle_worker_key_ttl_s(&self) -> u64 {
        (self.worker_ttl + self.ttl_slack).whole_secs()
    }

    /// TTL of `rq:worker:<w>` while a horse runs (monitoring interval + 60).
    pub fn busy_worker_key_ttl_s(&self) -> u64 {
        (self.job_monitoring_interval + self.ttl_slack).whole_secs()
    }

    /// `rq:scheduler-lock:<q>` and `rq:scheduler:<s>` TTL: interval + 60.
    pub fn scheduler_lock_ttl_s(&self) -> u64 {
        (self.scheduler_interval + self.ttl_slack)
            .whole_secs()
            .max(1)
    }

    /// `BaseWorker.get_heartbeat_ttl`: int(min(timeout − working_time, interval)) + 60, and
    /// interval + 60 for jobs without a timeout.
    pub fn heartbeat_ttl_s(&self, job_timeout_s: i64, working_time_s: f64) -> i64 {
        let interval_s = self.job_monitoring_interval.as_secs_f64();
        let slack_s = self.ttl_slack.whole_secs() as i64;
        if job_timeout_s < 0 {
            return interval_s as i64 + slack_s;
        }
        let remaining = job_timeout_s as f64 - working_time_s;
        remaining.min(interval_s) as i64 + slack_s
    }

    /// `SimpleWorker.get_heartbeat_ttl`: the job's whole timeout + 60, as nothing refreshes
    /// the keys while the job runs; `DEFAULT_WORKER_TTL` (420, the constant, not
    /// `--worker-ttl`) for a job that never times out.
    pub fn simple_worker_heartbeat_ttl_s(&self, job_timeout_s: i64) -> i64 {
        const DEFAULT_WORKER_TTL_S: i64 = 420;
        if job_timeout_s == -1 {
            return DEFAULT_WORKER_TTL_S;
        }
        job_timeout_s + self.ttl_slack.whole_secs() as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// rq-semantics §2: the derived timeouts with RQ's defaults.
    #[test]
    fn derived_constants_match_rq_defaults() {
        let params = RqParams::default();
        assert_eq!(params.dequeue_timeout_s(), 405);
        assert_eq!(params.socket_timeout(), SimDuration::from_secs(415));
        assert_eq!(params.idle_worker_key_ttl_s(), 480);
        assert_eq!(params.busy_worker_key_ttl_s(), 90);
        assert_eq!(params.scheduler_lock_ttl_s(), 61);
    }

    /// rq-semantics §2 and §9 R13: the heartbeat TTL shrinks as a job nears its timeout.
    #[test]
    fn heartbeat_ttl_follows_get_heartbeat_ttl() {
        let params = RqParams::default();
        assert_eq!(params.heartbeat_ttl_s(180, 0.0), 90);
        assert_eq!(params.heartbeat_ttl_s(-1, 5_000.0), 90);
        assert_eq!(params.heartbeat_ttl_s(180, 180.0), 60);
        assert_eq!(params.heartbeat_ttl_s(180, 210.0), 30);
        assert_eq!(params.heartbeat_ttl_s(180, 240.0), 0);
    }
}
