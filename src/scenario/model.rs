//! The top of a scenario: `[run]`, `[redis]`, `[rq]` and `[checks]`, each field defaulting to
//! what RQ 2.12 (`rq-semantics.md` §2), redis-py or Kubernetes does when nobody sets it.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::bytes::ByteSize;
use super::cron::CronSpec;
use super::distribution::{
    duration_or_distribution, is_zero, serialize_duration_or_distribution, Distribution,
    DurationOrDistribution,
};
use super::faults::FaultSpec;
use super::pods::PodSpec;
use super::workload::WorkloadSpec;
use crate::sim::SimDuration;

/// A whole scenario file. [`Scenario::default()`] is the smallest valid one: one pod group
/// `worker` with one replica listening on `default`, and one Poisson workload on `default`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// How long to run, the seed, sampling and the quiet period.
    #[serde(default)]
    pub run: RunSpec,
    /// The Redis server and the client settings.
    #[serde(default)]
    pub redis: RedisSpec,
    /// RQ constants and what-if switches.
    #[serde(default)]
    pub rq: RqSpec,
    /// Groups of worker pods (a Deployment each). At least one.
    #[serde(default)]
    pub pods: Vec<PodSpec>,
    /// Streams of enqueued jobs. At least one.
    #[serde(default)]
    pub workload: Vec<WorkloadSpec>,
    /// The jobs of the `rq cron` config file, run by every pod group with `cron = true`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cron: Vec<CronSpec>,
    /// Scripted and random faults.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<FaultSpec>,
    /// Which invariants and limits decide the verdict.
    #[serde(default)]
    pub checks: ChecksSpec,
    /// Where a calibrated scenario's inputs came from (`simrq calibrate` writes it; `simrq
    /// report` states it). Not read by the simulation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibration: Option<CalibrationSpec>,
}

impl Default for Scenario {
    fn default() -> Scenario {
        Scenario {
            run: RunSpec::default(),
            redis: RedisSpec::default(),
            rq: RqSpec::default(),
            pods: vec![PodSpec::default()],
            workload: vec![WorkloadSpec::default()],
            cron: Vec::new(),
            faults: Vec::new(),
            checks: ChecksSpec::default(),
            calibration: None,
        }
    }
}

/// `[run]`: the run as a whole.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct RunSpec {
    /// Virtual time to simulate while faults happen. Default `"1h"`.
    pub duration: SimDuration,
    /// Root seed; when absent each run picks one and prints it first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Period of the rows of `timeseries.csv`. Default `"10s"`.
    pub sample_interval: SimDuration,
    /// Quiet period after `duration` with no faults, in which every job must settle (the
    /// liveness check). Default `"15m"`, longer than one maintenance cycle plus its jitter.
    pub drain: SimDuration,
    /// Swarm testing: each seed switches a random subset of the fault kinds off, so that
    /// rare combinations get runs of their own. Default `false`.
    pub swarm: bool,
    /// Host timing: where in a wall-clock second the run starts (RQ floors due times to whole
    /// seconds of the wall clock), at most 1 s: a duration or a distribution drawn per seed,
    /// e.g. `{ uniform = { min = "0s", max = "1s" } }`. Default `"0s"`.
    #[serde(
        deserialize_with = "duration_or_distribution",
        serialize_with = "serialize_duration_or_distribution",
        skip_serializing_if = "is_zero"
    )]
    #[schemars(with = "DurationOrDistribution")]
    pub wall_clock_phase: Distribution,
    /// Which rows `events.csv` gets: `"all"` (default), `"faults"` (no routine job and
    /// heartbeat rows) or `"none"` (no file). The checks, `jobs.csv`, `timeseries.csv` and
    /// `summary.json` see every event whatever this says. `simrq run --events` overrides it.
    #[serde(skip_serializing_if = "EventRows::is_all")]
    pub events: EventRows,
}

/// `[run] events`: how much of the event stream `events.csv` keeps.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema, clap::ValueEnum,
)]
#[serde(rename_all = "snake_case")]
pub enum EventRows {
    /// Every event.
    #[default]
    All,
    /// Faults and what they did: everything but a job's routine life, lock refreshes and
    /// scheduler ticks (`EventKind::is_routine`).
    Faults,
    /// No `events.csv` at all: the fastest runs, for capacity sweeps.
    None,
}

impl EventRows {
    fn is_all(&self) -> bool {
        *self == EventRows::All
    }
}

impl Default for RunSpec {
    fn default() -> RunSpec {
        RunSpec {
            duration: SimDuration::from_secs(3_600),
            seed: None,
            sample_interval: SimDuration::from_secs(10),
            drain: SimDuration::from_secs(15 * 60),
            swarm: false,
            wall_clock_phase: Distribution::Constant(SimDuration::ZERO),
            events: EventRows::All,
        }
    }
}

/// `[redis]`: the server and redis-py's client settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct RedisSpec {
    /// One-way latency between a client and the server: a duration (`"0.3ms"`) or a
    /// distribution. Default `"0.3ms"`.
    #[serde(deserialize_with = "duration_or_distribution")]
    #[schemars(with = "DurationOrDistribution")]
    pub latency: Distribution,
    /// redis-py retries of a failed command. Default 0: what `rq worker -u URL` gets
    /// (`Redis.from_url`); a client built with `Redis(host=…)` gets 10.
    pub client_retries: u32,
    /// The connection's own socket timeout. RQ raises a lower or missing one to dequeue
    /// timeout + 10 s (415 s by default) and keeps a higher one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub socket_timeout: Option<SimDuration>,
    /// Period of RDB snapshots: what a `redis_restart` or `redis_crash` keeps without
    /// `appendonly`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snapshot_every: Option<SimDuration>,
    /// `appendonly yes`: every acknowledged write is appended to the AOF before its reply, so
    /// a `redis_restart` keeps them all and a `redis_crash` keeps what `appendfsync` had
    /// synced. Default `false`.
    #[serde(skip_serializing_if = "is_false")]
    pub appendonly: bool,
    /// When the AOF reaches the disk: `"always"` (before each reply), `"everysec"` (Redis's
    /// default: once a second) or `"no"` (when the kernel writes back dirty pages: 30 s old,
    /// on its 5 s flusher). Decides what a `redis_crash` loses; needs `appendonly = true`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub appendfsync: Option<AppendFsync>,
    /// Replicas of the primary (asynchronous replication), watched by Sentinel: what a
    /// `redis_failover` promotes. Default 0.
    #[serde(skip_serializing_if = "is_zero_u32")]
    pub replicas: u32,
    /// How far the replicas' copy trails the primary's writes: a duration or a distribution,
    /// drawn per failover. The promoted replica has every write up to this long before the
    /// primary was lost. Default `"1ms"`.
    #[serde(
        deserialize_with = "duration_or_distribution",
        serialize_with = "serialize_duration_or_distribution",
        skip_serializing_if = "is_default_replica_lag"
    )]
    #[schemars(with = "DurationOrDistribution")]
    pub replica_lag: Distribution,
    /// Sentinel's `down-after-milliseconds`: how long the primary must be unreachable before
    /// Sentinel starts a failover. Default `"30s"`.
    #[serde(skip_serializing_if = "is_default_down_after")]
    pub sentinel_down_after: SimDuration,
    /// From down-after to Sentinel naming the promoted replica (what `Sentinel.master_for`
    /// asks): the leader's election, `REPLICAOF NO ONE`, and the Sentinels' 1 s polling that
    /// sees the new role. Default `"1.1s"`: with Debian's redis-server 7.0 in sentinel mode and
    /// the primary SIGKILLed, Sentinel named the replica 1.07–1.16 s after down-after (5 trials).
    #[serde(skip_serializing_if = "is_default_promotion")]
    pub sentinel_promotion: SimDuration,
    /// How RQ's connections find the primary: `"sentinel"` (redis-py's `Sentinel.master_for`:
    /// after a failover, a new connection reaches the promoted replica) or `"fixed"` (a URL
    /// naming the old primary's address: it is reached again only when that host is back, as
    /// a replica that refuses writes). Default `"sentinel"`.
    #[serde(skip_serializing_if = "is_sentinel")]
    pub client_discovery: ClientDiscovery,
    /// `min-replicas-to-write`: a primary cut off from its replicas refuses writes
    /// (`NOREPLICAS`) once it has not heard from this many for `min_replicas_max_lag`, which
    /// bounds what a split brain can take in. Default 0 (off).
    #[serde(skip_serializing_if = "is_zero_u32")]
    pub min_replicas_to_write: u32,
    /// `min-replicas-max-lag`. Default `"10s"`.
    #[serde(skip_serializing_if = "is_default_max_lag")]
    pub min_replicas_max_lag: SimDuration,
    /// `maxmemory`: Redis's memory limit, in bytes or with Redis's units (`"64mb"`, `"1gb"`;
    /// `k`, `m`, `g` are powers of 1000, `kb`, `mb`, `gb` of 1024). With it the model sizes
    /// every key as Redis 7.0 stores it, and a command that finds memory over the limit first
    /// evicts by `maxmemory_policy`, or fails with `OOM` if it would grow memory. `0`
    /// measures memory (the summary's `redis_memory`) without a limit. Absent: memory is not
    /// modelled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maxmemory: Option<ByteSize>,
    /// `maxmemory-policy`: `"noeviction"` (the default), `"allkeys-lru"`, `"volatile-lru"`,
    /// `"allkeys-random"`, `"volatile-random"` or `"volatile-ttl"`. Needs `maxmemory`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maxmemory_policy: Option<MaxmemoryPolicy>,
    /// `maxmemory-samples`: the keys the LRU and TTL policies sample for each eviction,
    /// 1-64. Default 5. Needs `maxmemory`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maxmemory_samples: Option<u32>,
    /// redis-py connect timeout. Default `"5s"` (redis-py 8.1).
    pub connect_timeout: SimDuration,
    /// Host timing, not Redis: time from redis-server's start to accepting connections
    /// (process start, loading the dataset), added to every `redis_restart`'s down time: a
    /// duration or a distribution, drawn per restart. Default `"0s"`.
    #[serde(
        deserialize_with = "duration_or_distribution",
        serialize_with = "serialize_duration_or_distribution",
        skip_serializing_if = "is_zero"
    )]
    #[schemars(with = "DurationOrDistribution")]
    pub startup: Distribution,
}

impl Default for RedisSpec {
    fn default() -> RedisSpec {
        RedisSpec {
            latency: Distribution::Constant(SimDuration::from_micros(300)),
            client_retries: 0,
            socket_timeout: None,
            snapshot_every: None,
            appendonly: false,
            appendfsync: None,
            replicas: 0,
            replica_lag: Distribution::Constant(SimDuration::from_millis(1)),
            sentinel_down_after: SimDuration::from_secs(30),
            sentinel_promotion: SimDuration::from_millis(1100),
            client_discovery: ClientDiscovery::Sentinel,
            min_replicas_to_write: 0,
            min_replicas_max_lag: SimDuration::from_secs(10),
            maxmemory: None,
            maxmemory_policy: None,
            maxmemory_samples: None,
            connect_timeout: SimDuration::from_secs(5),
            startup: Distribution::Constant(SimDuration::ZERO),
        }
    }
}

fn is_zero_u32(value: &u32) -> bool {
    *value == 0
}

// Replication keys at their defaults are left out of a serialized scenario, so that a
// scenario without replicas keeps the configuration hash it had before they existed.
fn is_default_replica_lag(lag: &Distribution) -> bool {
    *lag == RedisSpec::default().replica_lag
}

fn is_default_down_after(value: &SimDuration) -> bool {
    *value == RedisSpec::default().sentinel_down_after
}

fn is_default_promotion(value: &SimDuration) -> bool {
    *value == RedisSpec::default().sentinel_promotion
}

fn is_default_max_lag(value: &SimDuration) -> bool {
    *value == RedisSpec::default().min_replicas_max_lag
}

fn is_sentinel(discovery: &ClientDiscovery) -> bool {
    *discovery == ClientDiscovery::Sentinel
}

/// How RQ's Redis connections find the primary.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClientDiscovery {
    /// Asked of Sentinel at each connection: the promoted replica after a failover.
    #[default]
    Sentinel,
    /// One fixed address: the old primary's, wherever the primary is.
    Fixed,
}

/// `maxmemory-policy`: what Redis does when a command finds memory over `maxmemory`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum MaxmemoryPolicy {
    /// Refuse writes that would grow memory (`OOM`).
    #[default]
    #[serde(rename = "noeviction")]
    NoEviction,
    /// Evict the least recently used key (sampled).
    #[serde(rename = "allkeys-lru")]
    AllKeysLru,
    /// Evict the least recently used key with a TTL.
    #[serde(rename = "volatile-lru")]
    VolatileLru,
    /// Evict a random key.
    #[serde(rename = "allkeys-random")]
    AllKeysRandom,
    /// Evict a random key with a TTL.
    #[serde(rename = "volatile-random")]
    VolatileRandom,
    /// Evict the key with a TTL that expires soonest (sampled).
    #[serde(rename = "volatile-ttl")]
    VolatileTtl,
}

impl MaxmemoryPolicy {
    /// The Redis model's policy.
    pub fn model(self) -> crate::redis::memory::Policy {
        use crate::redis::memory::Policy;
        match self {
            MaxmemoryPolicy::NoEviction => Policy::NoEviction,
            MaxmemoryPolicy::AllKeysLru => Policy::AllKeysLru,
            MaxmemoryPolicy::VolatileLru => Policy::VolatileLru,
            MaxmemoryPolicy::AllKeysRandom => Policy::AllKeysRandom,
            MaxmemoryPolicy::VolatileRandom => Policy::VolatileRandom,
            MaxmemoryPolicy::VolatileTtl => Policy::VolatileTtl,
        }
    }
}

/// `appendfsync`: when Redis's appended writes reach the disk.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AppendFsync {
    /// fsync before replying: a crash loses no acknowledged write.
    Always,
    /// fsync once a second (Redis's default): a crash loses the writes since the last one.
    #[default]
    Everysec,
    /// Left to the kernel, which writes dirty pages back once they are 30 s old, every 5 s.
    No,
}

impl AppendFsync {
    pub fn name(self) -> &'static str {
        match self {
            AppendFsync::Always => "always",
            AppendFsync::Everysec => "everysec",
            AppendFsync::No => "no",
        }
    }
}

impl RedisSpec {
    /// What a `redis_restart` without its own `persistence` keeps: the AOF if there is one
    /// (the appended writes are in the kernel's page cache, which outlives the process), else
    /// the last RDB snapshot, else nothing.
    pub fn restart_persistence(&self) -> super::Persistence {
        use super::Persistence;
        if self.appendonly {
            Persistence::Aof
        } else if self.snapshot_every.is_some() {
            Persistence::Snapshot
        } else {
            Persistence::None
        }
    }
}

/// Which RQ the model follows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum RqVariant {
    /// RQ 2.12: scripted lock acquire/refresh/release (`rq-semantics.md` §4.2).
    #[default]
    #[serde(rename = "2.12")]
    V2_12,
    /// RQ 2.10 and earlier: unchecked `SET NX` / `EXPIRE` / `DEL` lock (§4.9).
    #[serde(rename = "2.10")]
    V2_10,
}

/// `[rq]`: every RQ constant a deployment can change (`rq-semantics.md` §2), with RQ 2.12's
/// defaults, and the what-if switches.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct RqSpec {
    /// `--worker-ttl`. Default `"420s"`; dequeue timeout is this − 15 s.
    pub worker_ttl: SimDuration,
    /// `--job-monitoring-interval`: heartbeat period while a job runs. Default `"30s"`.
    pub job_monitoring_interval: SimDuration,
    /// `--maintenance-interval`: registry cleanup and scheduler restart. Default `"600s"`.
    pub maintenance_interval: SimDuration,
    /// Scheduler loop sleep; the lock TTL is this + 60 s. Default `"1s"`.
    pub scheduler_interval: SimDuration,
    /// `DEFAULT_SCHEDULER_FALLBACK_PERIOD`: lock re-acquire period inside a running scheduler.
    /// Default `"120s"`.
    pub scheduler_fallback_period: SimDuration,
    /// `Queue.DEFAULT_TIMEOUT`: job timeout when the job sets none. Default `"180s"`.
    pub default_job_timeout: SimDuration,
    /// `--results-ttl`: retention of finished jobs. Default `"500s"`.
    pub result_ttl: SimDuration,
    /// Retention of failed jobs. Default one year (`"8760h"`).
    pub failure_ttl: SimDuration,
    /// TTL of the `rq:clean_registries:<queue>` maintenance lock. Default `"899s"`.
    pub maintenance_lock_ttl: SimDuration,
    /// Age after which a job left in the intermediate list is cleaned up. Default `"60s"`.
    pub intermediate_stuck_threshold: SimDuration,
    /// Cap of the connection back-off in the dequeue loop. Default `"60s"`.
    pub max_connection_wait: SimDuration,
    /// Due jobs moved per queue per scheduler tick (chunk size). Default 1000.
    pub due_jobs_per_tick: u32,
    /// A horse is killed when it runs longer than its timeout plus this. Default `"60s"`.
    pub hard_kill_grace: SimDuration,
    /// Host cost, not RQ: time from a worker process's start to its first Redis command
    /// (the interpreter, RQ's imports, `rq worker`'s setup): a duration or a distribution,
    /// drawn at every start. It sets the phase of the worker's maintenance runs and of its
    /// scheduler's 1 s ticks. Default `"0s"`.
    #[serde(
        deserialize_with = "duration_or_distribution",
        serialize_with = "serialize_duration_or_distribution",
        skip_serializing_if = "is_zero"
    )]
    #[schemars(with = "DurationOrDistribution")]
    pub worker_startup: Distribution,
    /// Host cost, not RQ: time from the fork of a work-horse to the job function's first
    /// line (fork, imports, setup): a duration or a distribution, drawn per execution.
    /// Default `"0s"`; the conformance suite measures it.
    #[serde(
        deserialize_with = "duration_or_distribution",
        serialize_with = "serialize_duration_or_distribution"
    )]
    #[schemars(with = "DurationOrDistribution")]
    pub horse_startup: Distribution,
    /// Host cost, not RQ: time from a horse's last Redis call to its worker's next step
    /// (exit, `wait4`, teardown): a duration or a distribution, drawn per execution.
    /// Default `"0s"`.
    #[serde(
        deserialize_with = "duration_or_distribution",
        serialize_with = "serialize_duration_or_distribution"
    )]
    #[schemars(with = "DurationOrDistribution")]
    pub horse_exit: Distribution,
    /// A stall of the worker's main process after each dequeue, before `prepare_execution`
    /// writes the execution to the started registry (a GC or swap pause, CPU starvation, or
    /// the conformance suite's forcing): a duration or a distribution, drawn per execution.
    /// Meanwhile a BLMOVE'd id is in the intermediate list only, where another worker's
    /// maintenance can take it for stuck (§5.4, §9 R17). Default `"0s"`. Left out of the
    /// serialized form while zero, so that scenarios written before the key existed keep their
    /// `config_hash`.
    #[serde(
        deserialize_with = "duration_or_distribution",
        serialize_with = "serialize_duration_or_distribution",
        skip_serializing_if = "is_zero"
    )]
    #[schemars(with = "DurationOrDistribution")]
    pub prepare_execution_stall: Distribution,
    /// Host cost, not RQ: the worker main process's own time per pass of its dequeue loop
    /// (Python between its Redis calls: the heartbeat, the maintenance check, building the
    /// pop), drawn once per worker process. It stretches the period of an idle worker's
    /// maintenance runs, and so their phase some minutes on. Default `"0s"`, left out of the
    /// serialized form while zero.
    #[serde(
        deserialize_with = "duration_or_distribution",
        serialize_with = "serialize_duration_or_distribution",
        skip_serializing_if = "is_zero"
    )]
    #[schemars(with = "DurationOrDistribution")]
    pub worker_loop_cost: Distribution,
    /// Host, not RQ: workers that start at the same instant share one draw of
    /// `worker_startup` and of `worker_loop_cost`, as processes launched together on one
    /// machine do (the conformance suite's real side: its standbys run maintenance in
    /// lockstep). Default false: each worker process draws its own, as pods on their own
    /// nodes would. Left out of the serialized form while false.
    #[serde(skip_serializing_if = "is_false")]
    pub shared_host_costs: bool,
    /// `"2.12"` (default) or `"2.10"`.
    pub variant: RqVariant,
    /// What-if: move due jobs with one atomic script instead of RQ's pipeline. Default false.
    pub atomic_enqueue: bool,
    /// What-if: enqueue due jobs only while holding the queue's scheduler lock, checked
    /// atomically with the move. Default false.
    pub fenced_enqueue: bool,
    /// What-if: the scheduled-registry ZADD of an interval retry runs inside the retry's
    /// transaction. Default false.
    pub retry_zadd_in_transaction: bool,
    /// What-if: the intermediate list's `first_seen` key names the job's enqueue as well as
    /// its id, so a key left by an earlier pass cannot make a retry look stuck (§9 R17).
    /// Default false. Left out of the serialized form while false, so that scenarios written
    /// before the key existed keep their `config_hash`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub first_seen_per_enqueue: bool,
    /// What-if: `rq cron` wrapped in a lock (`SET rq:cron-lock <name> NX EX ttl`, refreshed
    /// each pass): only the holder enqueues; the others follow the schedule without
    /// enqueueing. Default none (RQ 2.12's `rq cron` takes no lock).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cron_lock_ttl: Option<SimDuration>,
}

impl Default for RqSpec {
    fn default() -> RqSpec {
        RqSpec {
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
            worker_startup: Distribution::Constant(SimDuration::ZERO),
            horse_startup: Distribution::Constant(SimDuration::ZERO),
            horse_exit: Distribution::Constant(SimDuration::ZERO),
            prepare_execution_stall: Distribution::Constant(SimDuration::ZERO),
            worker_loop_cost: Distribution::Constant(SimDuration::ZERO),
            shared_host_costs: false,
            variant: RqVariant::V2_12,
            atomic_enqueue: false,
            fenced_enqueue: false,
            retry_zadd_in_transaction: false,
            first_seen_per_enqueue: false,
            cron_lock_ttl: None,
        }
    }
}

/// `[calibration]`: the provenance of a calibrated scenario, as `simrq calibrate` writes it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CalibrationSpec {
    /// The Redis the sample was read from (`redis://host:port/db`, without a password).
    pub source: String,
    /// The first job's `enqueued_at` (`2026-12-07T23:00:00Z`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// The last job's `enqueued_at`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// Jobs in the sample.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jobs: Option<u64>,
    /// Back-to-back job pairs that `[rq] horse_startup` and `horse_exit` were measured from;
    /// 0: not measured, simrq's default kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_cost_pairs: Option<u64>,
}

/// `[checks]`: what makes a run fail. Absent limits are not checked.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ChecksSpec {
    /// Largest allowed delay between a retry's due time and its start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_retry_lateness: Option<SimDuration>,
    /// Largest allowed number of executions beyond the first of one attempt (e.g. 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duplicate_executions: Option<u64>,
    /// Largest allowed number of jobs that never reach a final state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lost_jobs: Option<u64>,
    /// At most one scheduler enqueues due jobs of a queue at any time. Default true.
    pub single_active_scheduler: bool,
    /// Largest allowed p99 of the time from enqueue to start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_queue_wait_p99: Option<SimDuration>,
    /// After the drain every job is finished or failed. Default true.
    pub liveness: bool,
    /// Duplicate enqueues of `[[cron]]` instants tolerated. Default: none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cron_duplicates: Option<u64>,
    /// Missed `[[cron]]` instants tolerated. Default: none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cron_misses: Option<u64>,
    /// Largest allowed delay from a cron job's due instant to its enqueue.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_cron_lateness: Option<SimDuration>,
    /// A job with `Repeat(times=n)` succeeds n + 1 times, no more and no fewer; checked when
    /// a workload has `repeat`. Default true. Left out of the serialized form while true, so
    /// that scenarios written before the key existed keep their `config_hash`.
    #[serde(skip_serializing_if = "is_true")]
    pub repeat_count: bool,
    /// Jobs that started before a parent had finished (or failed, with `allow_failure`)
    /// tolerated; checked when a workload has `depends_on`. Default: none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dependency_order: Option<u64>,
    /// Jobs left deferred after the drain although their parents all released them,
    /// tolerated; checked when a workload has `depends_on`. Default: none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stranded_dependents: Option<u64>,
}

fn is_true(value: &bool) -> bool {
    *value
}

impl Default for ChecksSpec {
    fn default() -> ChecksSpec {
        ChecksSpec {
            max_retry_lateness: None,
            duplicate_executions: None,
            lost_jobs: None,
            single_active_scheduler: true,
            max_queue_wait_p99: None,
            liveness: true,
            cron_duplicates: None,
            cron_misses: None,
            max_cron_lateness: None,
            repeat_count: true,
            dependency_order: None,
            stranded_dependents: None,
        }
    }
}

fn is_false(flag: &bool) -> bool {
    !*flag
}
