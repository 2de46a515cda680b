//! Builds a simulated deployment from a scenario: kernel, network and Redis, the RQ
//! environment, the cluster, the producers, the faults and the samplers.

use std::cell::RefCell;
use std::path::Path;
use std::rc::Rc;

use crate::cluster::Cluster;
use crate::event::{EventBus, Name};
use crate::faults::{enabled_kinds, FaultInjector, FaultLog, FiringLog};
use crate::net::{ClientSettings, Latency, Network};
use crate::redis::memory::MemoryLimit;
use crate::report::{QueueSample, Sample, SchedulerGaps, SharedSink, TimeseriesCsv};
use crate::rq::cron::{CronJobSpec, CronSchedule};
use crate::rq::env::{Role, RqEnv};
use crate::rq::keys;
use crate::rq::params::{HostCosts, RqParams, SchedulerVersion, WhatIf};
use crate::scenario::{
    Arrival, FaultKind, Persistence, RedisSpec, RqSpec, RqVariant, Scenario, WorkloadSpec,
};
use crate::sim::{RngStreams, Sim, SimDuration, SimTime};
use crate::workload::{
    duration_dist, job_class, read_trace, start_producer, workload_name, Arrivals, Stage,
};

/// `[rq]` (and `[redis] startup`, a host timing) as model parameters.
pub fn rq_params(spec: &RqSpec, redis: &RedisSpec) -> RqParams {
    RqParams {
        worker_ttl: spec.worker_ttl,
        job_monitoring_interval: spec.job_monitoring_interval,
        maintenance_interval: spec.maintenance_interval,
        scheduler_interval: spec.scheduler_interval,
        scheduler_fallback_period: spec.scheduler_fallback_period,
        default_job_timeout: spec.default_job_timeout,
        result_ttl: spec.result_ttl,
        failure_ttl: spec.failure_ttl,
        maintenance_lock_ttl: spec.maintenance_lock_ttl,
        intermediate_stuck_threshold: spec.intermediate_stuck_threshold,
        max_connection_wait: spec.max_connection_wait,
        due_jobs_per_tick: spec.due_jobs_per_tick,
        hard_kill_grace: spec.hard_kill_grace,
        ttl_slack: SimDuration::from_secs(60),
        host: HostCosts {
            worker_startup: duration_dist(&spec.worker_startup),
            horse_startup: duration_dist(&spec.horse_startup),
            horse_exit: duration_dist(&spec.horse_exit),
            redis_startup: duration_dist(&redis.startup),
            prepare_execution_stall: duration_dist(&spec.prepare_execution_stall),
            worker_loop_cost: duration_dist(&spec.worker_loop_cost),
            shared: spec.shared_host_costs,
        },
        scheduler_version: match spec.variant {
            RqVariant::V2_12 => SchedulerVersion::V2_12,
            RqVariant::V2_10 => SchedulerVersion::V2_10,
        },
        what_if: WhatIf {
            atomic_enqueue: spec.atomic_enqueue,
            fenced_enqueue: spec.fenced_enqueue,
            retry_zadd_in_transaction: spec.retry_zadd_in_transaction,
            first_seen_per_enqueue: spec.first_seen_per_enqueue,
            cron_lock_ttl_s: spec.cron_lock_ttl.map(|ttl| ttl.whole_secs() as i64),
        },
        sizes_jobs: redis.maxmemory.is_some(),
    }
}

/// `[run] wall_clock_phase` in microseconds, drawn from the stream `host/wall-clock-phase`
/// (a constant draws nothing).
fn wall_clock_phase(scenario: &Scenario, streams: &RngStreams) -> i64 {
    let phase = duration_dist(&scenario.run.wall_clock_phase)
        .draw_host(streams, || "wall-clock-phase".to_string());
    phase.as_micros().min(1_000_000) as i64
}

/// Job classes, producers and their random streams are keyed by workload name; a scenario
/// built in code (not parsed, which reports this with its line) must not repeat one either.
fn unique_workload_names(scenario: &Scenario) -> Result<(), String> {
    let mut names = std::collections::BTreeSet::new();
    for spec in &scenario.workload {
        let name = workload_name(spec);
        if !names.insert(name.clone()) {
            return Err(format!(
                "duplicate workload name `{name}` (a name defaults to the queue): give each \
                 workload on one queue its own name"
            ));
        }
    }
    Ok(())
}

/// `[redis]` as link latency and client settings.
pub fn network_settings(spec: &RedisSpec) -> (Latency, ClientSettings) {
    let latency: Latency = duration_dist(&spec.latency);
    let client = ClientSettings {
        socket_timeout: spec.socket_timeout,
        connect_timeout: spec.connect_timeout,
        retries: spec.client_retries,
        ..ClientSettings::default()
    };
    (latency, client)
}

/// A running world: what the runner keeps a handle on.
pub struct World {
    pub sim: Sim,
    pub network: Network,
    pub env: Rc<RqEnv>,
    pub cluster: Rc<Cluster>,
    pub fault_log: FaultLog,
    pub fault_firings: FiringLog,
}

impl World {
    /// Builds everything and schedules workloads and faults up to `active_until`.
    pub fn build(
        scenario: &Scenario,
        seed: u64,
        base_dir: &Path,
        bus: EventBus,
        active_until: SimTime,
    ) -> Result<World, String> {
        unique_workload_names(scenario)?;
        let sim = Sim::new();
        let streams = RngStreams::new(seed);
        sim.set_wall_clock_phase(wall_clock_phase(scenario, &streams));
        let _redis_host = sim.add_host();
        let (latency, client) = network_settings(&scenario.redis);
        let network = Network::new(&sim, latency, streams.stream("net"));
        if let Some(every) = snapshot_period(scenario) {
            network.snapshot_every(every);
        }
        if let Some(limit) = memory_limit(&scenario.redis) {
            network.limit_memory(limit, streams.stream("redis/eviction"));
        }
        let cron_jobs = cron_job_specs(scenario);
        let classes = scenario
            .workload
            .iter()
            .map(job_class)
            .chain(cron_jobs.iter().map(|job| job.class.clone()))
            .collect();
        let env = RqEnv::new(
            &network,
            rq_params(&scenario.rq, &scenario.redis),
            streams,
            client,
            bus,
        )
        .with_classes(classes);
        let cluster = Cluster::start(&env, &scenario.pods, cron_jobs);
        start_workloads(scenario, &env, base_dir, active_until)?;
        let enabled = enabled_kinds(&scenario.faults, scenario.run.swarm, &env.streams);
        let (fault_log, fault_firings) = FaultInjector::start(
            &env,
            &cluster,
            &scenario.faults,
            &enabled,
            &scenario.redis,
            active_until,
        );
        Ok(World {
            sim,
            network,
            env,
            cluster,
            fault_log,
            fault_firings,
        })
    }

    /// Samples registries every `interval` into `timeseries`, and the lock holders every
    /// second into `gaps`.
    pub fn start_sampling(
        &self,
        interval: SimDuration,
        timeseries: Rc<RefCell<TimeseriesCsv>>,
        gaps: SharedSink<SchedulerGaps>,
    ) {
        let queues = names(&self.cluster.queues());
        // Only queues a `--with-scheduler` worker serves have a scheduler gap to speak of.
        let locked = names(&self.cluster.scheduler_queues());
        let (env, network) = (self.env.clone(), self.network.clone());
        self.sim.schedule_in(SimDuration::ZERO, move |_| {
            sample_every(env, queues, interval, timeseries);
            observe_locks_every_second(network, locked, gaps);
        });
    }
}

/// `[redis] maxmemory` and its policy, if the scenario models Redis's memory.
fn memory_limit(redis: &RedisSpec) -> Option<MemoryLimit> {
    Some(MemoryLimit {
        maxmemory: redis.maxmemory?.0,
        policy: redis.maxmemory_policy.unwrap_or_default().model(),
        samples: redis.maxmemory_samples.unwrap_or(5) as usize,
    })
}

/// The `[[cron]]` jobs as `rq cron` registers them (validation has parsed each expression).
fn cron_job_specs(scenario: &Scenario) -> Vec<Rc<CronJobSpec>> {
    scenario
        .cron
        .iter()
        .map(|spec| {
            Rc::new(CronJobSpec {
                name: Name::from(spec.name.as_str()),
                class: job_class(&spec.as_workload()),
                schedule: CronSchedule::of(spec),
            })
        })
        .collect()
}

fn names(queues: &[String]) -> Vec<Name> {
    queues.iter().map(|q| Name::from(q.as_str())).collect()
}

/// How often Redis snapshots: `[redis] snapshot_every`, else 60 s when a restart fault
/// restores a snapshot (without any snapshot it would come back empty, like no persistence).
fn snapshot_period(scenario: &Scenario) -> Option<SimDuration> {
    let restores_snapshot = scenario.faults.iter().any(|fault| {
        fault.kind == FaultKind::RedisRestart && fault.persistence == Some(Persistence::Snapshot)
    });
    scenario
        .redis
        .snapshot_every
        .or(restores_snapshot.then(|| SimDuration::from_secs(60)))
}

fn start_workloads(
    scenario: &Scenario,
    env: &Rc<RqEnv>,
    base_dir: &Path,
    until: SimTime,
) -> Result<(), String> {
    let producer_host = env.sim.add_host();
    for (position, spec) in scenario.workload.iter().enumerate() {
        if spec.depends_on.is_some() {
            continue; // enqueued by its pipeline's root
        }
        let trace = match &spec.arrival {
            Arrival::Trace(path) => read_trace(&base_dir.join(path))?,
            _ => Vec::new(),
        };
        let name = workload_name(spec);
        let rng = env.streams.stream(&format!("workload/{name}"));
        let arrivals =
            Arrivals::new(spec.arrival.clone(), trace, rng).limited(spec.start, spec.jobs);
        let delay = spec.enqueue_in;
        let stages = pipeline_stages(&scenario.workload, position);
        start_producer(
            env,
            producer_host,
            job_class(spec),
            arrivals,
            delay,
            stages,
            until,
        );
    }
    Ok(())
}

/// The dependent workloads whose pipeline starts at workload `root`, in file order, each
/// with the stages (0: the root) it depends on. Validation made every `depends_on` name an
/// earlier workload of one pipeline.
fn pipeline_stages(workloads: &[WorkloadSpec], root: usize) -> Vec<Stage> {
    let mut members = vec![workload_name(&workloads[root])];
    let mut stages = Vec::new();
    for spec in &workloads[root + 1..] {
        let Some(depends) = &spec.depends_on else {
            continue;
        };
        let parents: Vec<usize> = depends
            .workloads
            .iter()
            .filter_map(|name| members.iter().position(|member| member == name))
            .collect();
        if parents.is_empty() {
            continue; // another root's pipeline
        }
        members.push(workload_name(spec));
        stages.push(Stage {
            class: Rc::new(job_class(spec)),
            parents,
            fan_out: depends.fan_out,
            delay: depends.delay,
            enqueue_in: spec.enqueue_in,
        });
    }
    stages
}

fn sample_every(
    env: Rc<RqEnv>,
    queues: Vec<Name>,
    interval: SimDuration,
    timeseries: Rc<RefCell<TimeseriesCsv>>,
) {
    let sample = take_sample(&env, &queues);
    // A write error surfaces when the file is finished; sampling never stops the run.
    let _ = timeseries.borrow_mut().write(&sample);
    let sim = env.sim.clone();
    sim.schedule_in(interval, move |_| {
        sample_every(env, queues, interval, timeseries)
    });
}

fn take_sample(env: &RqEnv, queues: &[Name]) -> Sample {
    let now = env.sim.now();
    let processes = env.live_processes();
    let live_workers = processes.iter().filter(|p| p.role == Role::Worker).count() as u32;
    // A horse, or a `SimpleWorker` running a job in its own process.
    let busy_workers = processes
        .iter()
        .filter(|p| p.running_job().is_some())
        .count() as u32;
    let queues = env.network.with_server(|server| {
        queues
            .iter()
            .map(|queue| QueueSample {
                queue: queue.clone(),
                depth: server.peek_list_len(now, &keys::queue(queue)) as u64,
                scheduled: server.peek_zcard(now, &keys::scheduled(queue)) as u64,
                started: server.peek_zcard(now, &keys::started(queue)) as u64,
                failed: server.peek_zcard(now, &keys::failed(queue)) as u64,
                finished: server.peek_zcard(now, &keys::finished(queue)) as u64,
                lock_holder: server
                    .peek_string(now, &keys::scheduler_lock(queue))
                    .map(Name::from),
            })
            .collect()
    });
    Sample {
        time: now,
        queues,
        live_workers,
        busy_workers,
    }
}

fn observe_locks_every_second(
    network: Network,
    queues: Vec<Name>,
    gaps: SharedSink<SchedulerGaps>,
) {
    let now = network.sim().now();
    for queue in &queues {
        let holder = network.peek_string(&keys::scheduler_lock(queue));
        gaps.borrow_mut()
            .observe_lock(now, queue, holder.as_deref());
    }
    let sim = network.sim().clone();
    sim.schedule_in(SimDuration::from_secs(1), move |_| {
        observe_locks_every_second(network, queues, gaps)
    });
}
