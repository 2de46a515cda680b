//! The fault injector: each `[[faults]]` entry is data (what, whom, when or how often); this
//! module turns it into kernel events that act on the cluster, the network or Redis.
//! `swarm` switches a random subset of fault kinds off per seed.

use std::cell::{OnceCell, RefCell};
use std::collections::BTreeSet;
use std::rc::Rc;

use rand::seq::SliceRandom;
use rand::Rng;
use rand_distr::{Distribution as _, Exp};

use crate::cluster::{Cluster, Pod};
use crate::event::{DetailValue, EventContext, EventKind, JobId, Name};
use crate::net::{LinkFault, Restore, Verdict};
use crate::redis::errors::{NOREPLICAS, READONLY};
use crate::redis::Snapshot;
use crate::rq::command::WorkerCommand;
use crate::rq::env::{ProcessInfo, Role, RqEnv};
use crate::rq::operator::{self, OperatorCommand};
use crate::scenario::{
    AppendFsync, ClientDiscovery, FaultKind, FaultSpec, NetMode, Persistence, RedisSpec, Target,
};
use crate::sim::{HostId, RngStreams, SimDuration, SimRng, SimTime};

/// A fault that happened, for charts.
pub type FaultLog = Rc<RefCell<Vec<(SimTime, String)>>>;

/// When each `[[faults]]` entry fired, by its index in the scenario (skipped ones included):
/// what `simrq explore` turns `rate` and `every` faults into scripted `at` faults from.
pub type FiringLog = Rc<RefCell<Vec<(SimTime, usize)>>>;

/// Applies the scenario's faults until `until`.
pub struct FaultInjector {
    env: Rc<RqEnv>,
    cluster: Rc<Cluster>,
    rng: RefCell<SimRng>,
    until: SimTime,
    log: FaultLog,
    firings: FiringLog,
    /// Where the operator's `rq` commands run, made at the first one.
    operator_host: OnceCell<HostId>,
    /// `[redis]`: its persistence decides what restarts and crashes keep.
    redis: RedisSpec,
    /// The last `replica_lag` stall: when it began, when it ends, and what the replicas hold
    /// meanwhile (the keyspace at its start).
    replica_stall: RefCell<Option<ReplicaStall>>,
}

/// Replication stalled by a `replica_lag` fault.
struct ReplicaStall {
    since: SimTime,
    until: SimTime,
    held: Snapshot,
}

/// A `redis_crash`'s persistence and, once its sync instant has come, the keyspace the disk
/// held then.
#[derive(Default)]
struct SyncedState {
    keeps: CrashKeeps,
    snapshot: Option<Snapshot>,
}

/// What a `redis_crash` keeps: the host's page cache is gone, so only what had reached the
/// disk.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum CrashKeeps {
    /// `appendfsync always`: every acknowledged write.
    Everything,
    /// The AOF as the disk had it: the keyspace as it was at this instant.
    SyncedAt(SimTime),
    /// No AOF: the last RDB snapshot.
    LastSnapshot,
    /// No persistence at all.
    #[default]
    Nothing,
}

impl CrashKeeps {
    /// For a crash at `at`. `everysec` fsyncs when the server's wall-clock second changes
    /// (`flushAppendOnlyFile` compares `server.unixtime` with the last fsync's), so on every
    /// whole wall-clock second: `wall_origin_micros` is the wall clock at virtual instant zero
    /// (`[run] wall_clock_phase`). With `no` the
    /// kernel's flusher wakes every 5 s and writes back the pages dirty for 30 s or more
    /// (`dirty_writeback_centisecs`, `dirty_expire_centisecs`), so the disk holds the writes
    /// up to 30 s before its last wake-up.
    fn of(redis: &RedisSpec, at: SimTime, wall_origin_micros: i64) -> CrashKeeps {
        let floor = |period_s: u64| at.0 - at.0 % (period_s * 1_000_000);
        let wall_second = (wall_origin_micros + at.0 as i64).rem_euclid(1_000_000) as u64;
        if !redis.appendonly {
            return match redis.snapshot_every {
                Some(_) => CrashKeeps::LastSnapshot,
                None => CrashKeeps::Nothing,
            };
        }
        match redis.appendfsync.unwrap_or_default() {
            AppendFsync::Always => CrashKeeps::Everything,
            AppendFsync::Everysec => {
                CrashKeeps::SyncedAt(SimTime(at.0.saturating_sub(wall_second)))
            }
            AppendFsync::No => CrashKeeps::SyncedAt(SimTime(floor(5).saturating_sub(30_000_000))),
        }
    }
}

/// Fault kinds left on for this seed: all, or with `swarm` a random non-empty subset.
pub fn enabled_kinds(
    specs: &[FaultSpec],
    swarm: bool,
    streams: &RngStreams,
) -> BTreeSet<FaultKind> {
    let kinds: BTreeSet<FaultKind> = specs.iter().map(|spec| spec.kind).collect();
    if !swarm || kinds.len() <= 1 {
        return kinds;
    }
    let mut rng = streams.stream("faults/swarm");
    let mut enabled: BTreeSet<FaultKind> = kinds
        .iter()
        .copied()
        .filter(|_| rng.gen_bool(0.5))
        .collect();
    if enabled.is_empty() {
        let all: Vec<FaultKind> = kinds.into_iter().collect();
        enabled.insert(*all.choose(&mut rng).expect("non-empty"));
    }
    enabled
}

impl FaultInjector {
    /// Schedules every enabled fault; returns the log of faults as they happen and the log of
    /// which entry fired when.
    pub fn start(
        env: &Rc<RqEnv>,
        cluster: &Rc<Cluster>,
        specs: &[FaultSpec],
        enabled: &BTreeSet<FaultKind>,
        redis: &RedisSpec,
        until: SimTime,
    ) -> (FaultLog, FiringLog) {
        let injector = Rc::new(FaultInjector {
            env: env.clone(),
            cluster: cluster.clone(),
            rng: RefCell::new(env.streams.stream("faults/targets")),
            until,
            log: FaultLog::default(),
            firings: FiringLog::default(),
            operator_host: OnceCell::new(),
            redis: redis.clone(),
            replica_stall: RefCell::new(None),
        });
        for (index, spec) in specs
            .iter()
            .enumerate()
            .filter(|(_, s)| enabled.contains(&s.kind))
        {
            let stream = env.streams.stream(&format!("faults/{index}"));
            injector
                .clone()
                .schedule_next(index, spec.clone(), stream, None);
        }
        (injector.log.clone(), injector.firings.clone())
    }

    /// Schedules the next occurrence of `spec` (entry `index`) after `previous` (`None`: the
    /// first).
    fn schedule_next(
        self: Rc<Self>,
        index: usize,
        spec: FaultSpec,
        mut rng: SimRng,
        previous: Option<SimTime>,
    ) {
        let now = self.env.sim.now();
        let next = match (spec.at, spec.every, spec.rate) {
            (Some(at), _, _) if previous.is_none() => Some(SimTime(at.0)),
            (_, Some(every), _) if every > SimDuration::ZERO => {
                Some(previous.unwrap_or(SimTime::ZERO) + every)
            }
            (_, _, Some(rate)) if rate.per_second > 0.0 => {
                Exp::new(rate.per_second).ok().map(|exp| {
                    now + SimDuration::from_secs_f64(exp.sample(&mut rng)).max(SimDuration(1))
                })
            }
            _ => None,
        };
        let Some(time) = next.filter(|t| *t < self.until) else {
            return;
        };
        let time = time.max(now);
        let synced = self.capture_synced_state(&spec, time);
        let sim = self.env.sim.clone();
        sim.schedule_at(time, move |_| {
            self.firings.borrow_mut().push((time, index));
            match synced {
                Some(synced) if spec.kind == FaultKind::RedisFailover => {
                    self.redis_failover(&spec, synced)
                }
                Some(synced) => self.redis_crash(&spec, synced),
                None => self.apply(&spec),
            }
            self.schedule_next(index, spec, rng, Some(time));
        });
    }

    /// For a `redis_crash` at `time`: a cell that will hold the keyspace as the disk had it,
    /// filled by an event at the instant of its last sync. Scheduled before the crash itself,
    /// so a sync at the crash's own instant comes first. A sync instant already past (a crash
    /// drawn within its loss window of the previous firing) is taken now: it then keeps the
    /// writes since, which only a second crash that close could have lost.
    fn capture_synced_state(
        &self,
        spec: &FaultSpec,
        time: SimTime,
    ) -> Option<Rc<RefCell<SyncedState>>> {
        let keeps = match spec.kind {
            FaultKind::RedisCrash => {
                CrashKeeps::of(&self.redis, time, self.env.sim.wall_clock_origin_micros())
            }
            FaultKind::RedisFailover => CrashKeeps::SyncedAt(self.replicated_to(time)),
            _ => return None,
        };
        let cell = Rc::new(RefCell::new(SyncedState {
            keeps,
            snapshot: None,
        }));
        if let CrashKeeps::SyncedAt(at) = keeps {
            let (network, filled) = (self.env.network.clone(), cell.clone());
            self.env
                .sim
                .schedule_at(at.max(self.env.sim.now()), move |_| {
                    filled.borrow_mut().snapshot = Some(network.snapshot_now());
                });
        }
        Some(cell)
    }

    fn record(&self, description: String) {
        self.log
            .borrow_mut()
            .push((self.env.sim.now(), description.clone()));
        self.env
            .emit(EventContext::default(), EventKind::Fault { description });
    }

    fn apply(self: &Rc<Self>, spec: &FaultSpec) {
        let span = spec.for_duration.unwrap_or(SimDuration::from_secs(1));
        match spec.kind {
            FaultKind::PodKill if spec.target.is_process() => self.kill_one_process(spec),
            FaultKind::PodKill => self.on_pods(spec, |cluster, pod| cluster.kill_pod(pod)),
            FaultKind::PodDelete => {
                self.on_pods(spec, |cluster, pod| cluster.delete_pod(pod, true))
            }
            FaultKind::RollingRestart => self.rolling_restart(spec),
            FaultKind::Scale => self.scale(spec),
            FaultKind::Pause => self.pause(spec, span),
            FaultKind::Net => self.net(spec, span),
            FaultKind::RedisCrash | FaultKind::RedisFailover => {
                unreachable!("applied by redis_crash and redis_failover, with their synced state")
            }
            FaultKind::RedisRestart => {
                let persistence = spec
                    .persistence
                    .unwrap_or_else(|| self.redis.restart_persistence());
                let (restore, kept) = match persistence {
                    Persistence::None => (Restore::Nothing, "none"),
                    Persistence::Snapshot => (Restore::LastSnapshot, "snapshot"),
                    Persistence::Aof => (Restore::Everything, "aof"),
                };
                self.down_and_back(spec.kind, span, restore, kept);
            }
            FaultKind::ReplicaLag => self.replica_lag(span),
            FaultKind::RedisPause => {
                self.record(format!("fault=redis_pause for={span}"));
                self.env.network.pause_server(span);
            }
            FaultKind::ClockOffset | FaultKind::ClockStep => self.clock(spec),
            FaultKind::Suspend
            | FaultKind::Resume
            | FaultKind::Cancel
            | FaultKind::Requeue
            | FaultKind::EmptyQueue => self.operator(spec),
            FaultKind::Shutdown | FaultKind::KillHorse | FaultKind::StopJob => {
                self.worker_command(spec)
            }
        }
    }

    /// `shutdown`, `kill_horse`, `stop_job`: an operator sends a pubsub command to the worker
    /// of the target pod (docs/rq-dependencies-and-operations.md §3.1–§3.4), as a short
    /// process of its own; what happens to it (lost, ignored, acted on) is the model's.
    fn worker_command(self: &Rc<Self>, spec: &FaultSpec) {
        let worker = self.target_pod(spec).and_then(|pod| {
            let processes = self.cluster.processes(&pod);
            let worker = processes.into_iter().find(|p| p.role == Role::Worker)?;
            Some((pod, worker))
        });
        let Some((pod, worker)) = worker else {
            self.record(format!("fault={} skipped=no_worker", spec.kind.name()));
            return;
        };
        self.record(format!(
            "fault={} pod={} worker={}",
            spec.kind.name(),
            pod.name,
            worker.name
        ));
        let command = match spec.kind {
            FaultKind::Shutdown => OperatorCommand::Send(worker.name, WorkerCommand::Shutdown),
            FaultKind::KillHorse => OperatorCommand::Send(worker.name, WorkerCommand::KillHorse),
            _ => OperatorCommand::StopCurrentJob(worker.name),
        };
        let host = *self.operator_host.get_or_init(|| self.env.sim.add_host());
        operator::spawn(&self.env, host, command);
    }

    /// `rq suspend` / `rq resume`, cancel, requeue and empty, run by an operator as a short
    /// process of its own on a host outside the pods.
    fn operator(self: &Rc<Self>, spec: &FaultSpec) {
        let duration = spec.for_duration;
        let name = |text: &Option<String>| text.as_deref().map(Name::from);
        let (job, queue) = (name(&spec.job), name(&spec.queue));
        let command = match spec.kind {
            FaultKind::Suspend => OperatorCommand::Suspend(duration),
            FaultKind::Cancel => OperatorCommand::Cancel(job.clone().expect("validated")),
            FaultKind::Requeue => OperatorCommand::Requeue {
                queue: queue.clone().expect("validated"),
                job: job.clone(),
            },
            FaultKind::EmptyQueue => OperatorCommand::EmptyQueue(queue.clone().expect("validated")),
            _ => OperatorCommand::Resume,
        };
        let mut detail = duration.map_or(String::new(), |span| format!(" for={span}"));
        for (key, value) in [("queue", &queue), ("job", &job)] {
            if let Some(value) = value {
                detail.push_str(&format!(" {key}={value}"));
            }
        }
        self.record(format!("fault={}{detail}", spec.kind.name()));
        let host = *self.operator_host.get_or_init(|| self.env.sim.add_host());
        operator::spawn(&self.env, host, command);
    }

    /// Ids waiting in a queue list or a scheduled registry, with their queue: the jobs only
    /// Redis remembers (a running job's horse still holds it and will write its end). Every
    /// queue a workload enqueues on counts, served or not.
    fn waiting_jobs(&self) -> BTreeSet<(Name, Name)> {
        let now = self.env.sim.now();
        let queues = self.env.job_queues(self.cluster.queues());
        self.env.network.with_server(|server| {
            let mut waiting = BTreeSet::new();
            for queue in &queues {
                let ids = server
                    .peek_list(now, &crate::rq::keys::queue(queue))
                    .into_iter()
                    .chain(
                        server
                            .peek_zset(now, &crate::rq::keys::scheduled(queue))
                            .into_iter()
                            .map(|(id, _)| id),
                    );
                waiting.extend(ids.map(|id| (Name::from(queue.as_str()), Name::from(id))));
            }
            waiting
        })
    }

    /// `redis_crash`: Redis is down for `for` (+ `[redis] startup`) and comes back with what
    /// had reached the disk (`synced`).
    fn redis_crash(&self, spec: &FaultSpec, synced: Rc<RefCell<SyncedState>>) {
        let span = spec.for_duration.unwrap_or(SimDuration::from_secs(1));
        let SyncedState { keeps, snapshot } = synced.take();
        let (restore, kept) = match keeps {
            CrashKeeps::Everything => (Restore::Everything, "aof appendfsync=always".to_string()),
            CrashKeeps::SyncedAt(at) => {
                let fsync = self.redis.appendfsync.unwrap_or_default().name();
                let snapshot = snapshot.expect("filled at its sync instant, before the crash");
                (
                    Restore::Given(snapshot),
                    format!("aof appendfsync={fsync} synced_to={at}"),
                )
            }
            CrashKeeps::LastSnapshot => (Restore::LastSnapshot, "snapshot".to_string()),
            CrashKeeps::Nothing => (Restore::Nothing, "none".to_string()),
        };
        self.down_and_back(spec.kind, span, restore, &kept);
    }

    /// A `redis_restart` or `redis_crash`: Redis is down for `span` + `[redis] startup` and
    /// comes back with `restore` (`kept` says what, in the `fault` row).
    fn down_and_back(&self, kind: FaultKind, span: SimDuration, restore: Restore, kept: &str) {
        let startup = self.redis_startup();
        let started = if startup > SimDuration::ZERO {
            format!(" startup={startup}")
        } else {
            String::new()
        };
        self.record(format!(
            "fault={} down_for={span}{started} persistence={kept}",
            kind.name()
        ));
        let reason = match kind {
            FaultKind::RedisCrash => "the Redis crash lost it",
            _ => "the Redis restart lost it",
        };
        self.restart_reporting_losses(span + startup, restore, reason);
    }

    /// Restarts the server (down for `down_for`, back with `restore`) and reports each waiting
    /// job it no longer has as lost, for `reason`.
    fn restart_reporting_losses(&self, down_for: SimDuration, restore: Restore, reason: &str) {
        let waiting_before = self.waiting_jobs();
        self.env.network.restart_server(down_for, restore);
        self.report_lost(waiting_before, reason);
    }

    /// For a failover at `time`: the instant up to which the replicas had the primary's
    /// writes (`[redis] replica_lag`, drawn per failover).
    fn replicated_to(&self, time: SimTime) -> SimTime {
        let lag = crate::workload::duration_dist(&self.redis.replica_lag)
            .draw_host(&self.env.streams, || {
                format!("redis/replica-lag/{}", time.as_micros())
            });
        SimTime(time.0.saturating_sub(lag.as_micros()))
    }

    /// `redis_failover`: the primary is lost and Sentinel promotes the replica, whose copy
    /// holds the primary's writes up to the lag (`replicated`). One server stands for
    /// whichever Redis the clients reach:
    /// - the primary down: the clients reach nothing until the promoted replica takes
    ///   over, `sentinel_down_after` + `sentinel_promotion` later. A `fixed` address reaches
    ///   only the old host: nothing until it is back after `for`, then a replica of the new
    ///   primary, with its data, refusing every write (`READONLY`);
    /// - `partition`: the clients keep the old primary (a split brain) while Sentinel
    ///   promotes the replica. When the partition ends after `for`, the old primary becomes a
    ///   replica and its writes since the lag are gone: `sentinel` clients are reset and move
    ///   to the new primary, `fixed` ones stay and get `READONLY`. With
    ///   `min_replicas_to_write`, the cut-off primary refuses writes (`NOREPLICAS`) once
    ///   `min_replicas_max_lag` has passed without its replicas.
    fn redis_failover(self: &Rc<Self>, spec: &FaultSpec, replicated: Rc<RefCell<SyncedState>>) {
        let state = replicated.take();
        let CrashKeeps::SyncedAt(replicated_to) = state.keeps else {
            unreachable!("a failover keeps what the replica had")
        };
        let now = self.env.sim.now();
        // A stall that began before the lag's instant holds less: the replicas have that.
        let stalled = self
            .stalled_replica(now)
            .filter(|(since, _)| *since < replicated_to);
        let (replicated_to, snapshot) = match stalled {
            Some(stalled) => stalled,
            None => {
                let snapshot = state.snapshot.expect("taken at the replica's instant");
                (replicated_to, snapshot)
            }
        };
        let end = SimDuration(self.until.0.saturating_sub(now.0) + 1);
        let lost_for = spec.for_duration;
        let promoted_after = self.redis.sentinel_down_after + self.redis.sentinel_promotion;
        let fixed = self.redis.client_discovery == ClientDiscovery::Fixed;
        self.record(format!(
            "fault=redis_failover partition={} replicated_to={replicated_to} promoted_at={} \
             clients={}",
            spec.partition,
            now + promoted_after,
            if fixed { "fixed" } else { "sentinel" },
        ));
        if spec.partition {
            self.split_brain(snapshot, lost_for, fixed);
            return;
        }
        let down_for = if fixed {
            lost_for.unwrap_or(end)
        } else {
            promoted_after
        };
        let reason = "the Redis failover lost it";
        self.restart_reporting_losses(down_for, Restore::Given(snapshot), reason);
        if fixed {
            self.refuse_writes_at(down_for, READONLY);
        }
    }

    /// `replica_lag`: replication stalls for `span`; the replicas keep the keyspace as it is
    /// now until it ends (a failover meanwhile promotes that).
    fn replica_lag(&self, span: SimDuration) {
        let now = self.env.sim.now();
        self.record(format!("fault=replica_lag for={span}"));
        *self.replica_stall.borrow_mut() = Some(ReplicaStall {
            since: now,
            until: now + span,
            held: self.env.network.snapshot_now(),
        });
    }

    /// What the replicas hold if replication is stalled at `now`: since when, and the keyspace.
    fn stalled_replica(&self, now: SimTime) -> Option<(SimTime, Snapshot)> {
        let stall = self.replica_stall.borrow();
        let stall = stall.as_ref().filter(|stall| now < stall.until)?;
        Some((stall.since, stall.held.clone()))
    }

    /// The split brain of a partitioned failover: see [`FaultInjector::redis_failover`].
    fn split_brain(self: &Rc<Self>, promoted: Snapshot, lasts: Option<SimDuration>, fixed: bool) {
        if self.redis.min_replicas_to_write > 0 {
            self.refuse_writes_at(self.redis.min_replicas_max_lag, NOREPLICAS);
        }
        let Some(lasts) = lasts else {
            return;
        };
        let injector = self.clone();
        self.env.sim.schedule_in(lasts, move |_| {
            let reason = "the Redis failover lost it";
            injector.restart_reporting_losses(SimDuration::ZERO, Restore::Given(promoted), reason);
            if fixed {
                injector.env.network.refuse_writes(Some(READONLY));
            }
        });
    }

    /// The server refuses every write with `refusal` from `after` on.
    fn refuse_writes_at(&self, after: SimDuration, refusal: &'static str) {
        let network = self.env.network.clone();
        self.env
            .sim
            .schedule_in(after, move |_| network.refuse_writes(Some(refusal)));
    }

    /// `[redis] startup`, drawn for a restart happening now.
    fn redis_startup(&self) -> SimDuration {
        let now = self.env.sim.now();
        self.env.host_cost(&self.env.params.host.redis_startup, || {
            format!("redis/restart/{}", now.as_micros())
        })
    }

    /// `job_lost` for each job that waited before a restart and is gone after it: nothing in
    /// RQ will ever run it (rq-semantics §7, "Redis restart"). An observer's event, as the
    /// conformance harness's poller writes it, since no RQ process notices.
    fn report_lost(&self, waiting_before: BTreeSet<(Name, Name)>, reason: &str) {
        let waiting_after = self.waiting_jobs();
        for (queue, job) in waiting_before.difference(&waiting_after) {
            let context = EventContext {
                queue: Some(queue.clone()),
                job: Some(JobId::of(job)),
                ..EventContext::default()
            };
            let reason = reason.to_string();
            self.env.emit(context, EventKind::JobLost { reason });
        }
    }

    fn group(&self, spec: &FaultSpec) -> Option<usize> {
        spec.pods
            .as_deref()
            .and_then(|name| self.cluster.group_index(name))
    }

    /// The pod a pod-level fault hits, by its target.
    fn target_pod(&self, spec: &FaultSpec) -> Option<Rc<Pod>> {
        match &spec.target {
            Target::Pod(name) => self.cluster.pod(name),
            Target::SchedulerHolder => {
                let holder = self.holder_process(spec)?;
                self.cluster.pod(&holder.pod)
            }
            Target::Any
            | Target::All
            | Target::Worker
            | Target::Horse
            | Target::Scheduler
            | Target::Cron => {
                let pods: Vec<Rc<Pod>> = self
                    .cluster
                    .pods(self.group(spec))
                    .into_iter()
                    .filter(|p| p.is_ready())
                    .collect();
                pods.choose(&mut *self.rng.borrow_mut()).cloned()
            }
        }
    }

    /// The scheduler process named by some queue's lock in Redis right now, in the fault's
    /// `pods` group if it names one (none there: the fault is skipped).
    fn holder_process(&self, spec: &FaultSpec) -> Option<ProcessInfo> {
        let group_pods: Option<BTreeSet<Name>> = self.group(spec).map(|group| {
            let pods = self.cluster.pods(Some(group));
            pods.iter().map(|pod| pod.name.clone()).collect()
        });
        let processes: Vec<ProcessInfo> = self
            .env
            .live_processes()
            .into_iter()
            .filter(|p| group_pods.as_ref().is_none_or(|pods| pods.contains(&p.pod)))
            .collect();
        self.cluster.queues().iter().find_map(|queue| {
            let holder = self
                .env
                .network
                .peek_string(&crate::rq::keys::scheduler_lock(queue))?;
            processes
                .iter()
                .find(|p| p.role == Role::Scheduler && p.tag.as_deref() == Some(holder.as_str()))
                .cloned()
        })
    }

    fn on_pods(self: &Rc<Self>, spec: &FaultSpec, act: impl Fn(&Rc<Cluster>, &Rc<Pod>)) {
        match self.target_pod(spec) {
            Some(pod) => {
                self.record(format!("fault={} pod={}", spec.kind.name(), pod.name));
                act(&self.cluster, &pod);
            }
            None => self.record(format!("fault={} skipped=no_target", spec.kind.name())),
        }
    }

    fn groups(&self, spec: &FaultSpec) -> Vec<usize> {
        match self.group(spec) {
            Some(group) => vec![group],
            None => (0..self.cluster.group_names().len()).collect(),
        }
    }

    fn rolling_restart(self: &Rc<Self>, spec: &FaultSpec) {
        for group in self.groups(spec) {
            self.record(format!(
                "fault=rolling_restart group={}",
                self.cluster.group_names()[group]
            ));
            self.cluster.rolling_restart(group);
        }
    }

    fn scale(self: &Rc<Self>, spec: &FaultSpec) {
        let replicas = spec.replicas.unwrap_or(1);
        for group in self.groups(spec) {
            self.record(format!(
                "fault=scale group={} replicas={replicas}",
                self.cluster.group_names()[group]
            ));
            self.cluster.scale(group, replicas);
        }
    }

    /// `pod_kill` of one process (`target = "worker" | "horse" | "scheduler"`): SIGKILL to
    /// that process alone. A killed worker is the container's PID 1, so the kubelet tears the
    /// container down and restarts it; a killed horse or scheduler leaves the worker to notice.
    fn kill_one_process(&self, spec: &FaultSpec) {
        let targets = self.process_targets(spec);
        let names: Vec<&str> = targets.iter().map(|p| &*p.name).collect();
        if names.is_empty() {
            self.record(format!("fault=pod_kill skipped=no_{}_process", spec.target));
            return;
        }
        self.record(format!("fault=pod_kill processes={}", names.join("+")));
        for process in &targets {
            self.cluster.kill_process(process);
        }
    }

    /// The processes a process-level fault hits: one role's process, the lock holder's
    /// scheduler, or a whole pod (a frozen VM, for a pause) for `any` and pod names.
    fn process_targets(&self, spec: &FaultSpec) -> Vec<ProcessInfo> {
        let role = match spec.target {
            Target::SchedulerHolder => return self.holder_process(spec).into_iter().collect(),
            Target::Worker => Some(Role::Worker),
            Target::Horse => Some(Role::Horse),
            Target::Scheduler => Some(Role::Scheduler),
            Target::Cron => Some(Role::Cron),
            Target::Any | Target::All | Target::Pod(_) => None,
        };
        let Some(role) = role else {
            return self
                .target_pod(spec)
                .map(|pod| self.cluster.processes(&pod))
                .unwrap_or_default();
        };
        let group_pods: BTreeSet<Name> = self
            .cluster
            .pods(self.group(spec))
            .iter()
            .map(|p| p.name.clone())
            .collect();
        let candidates: Vec<ProcessInfo> = self
            .env
            .live_processes()
            .into_iter()
            .filter(|p| p.role == role && group_pods.contains(&p.pod))
            .collect();
        candidates
            .choose(&mut *self.rng.borrow_mut())
            .cloned()
            .into_iter()
            .collect()
    }

    fn pause(self: &Rc<Self>, spec: &FaultSpec, span: SimDuration) {
        let targets = self.process_targets(spec);
        let names: Vec<&str> = targets.iter().map(|p| &*p.name).collect();
        self.record(format!(
            "fault=pause for={span} processes={}",
            DetailValue(&names.join("+"))
        ));
        for process in &targets {
            self.cluster.pause_process(process, true);
        }
        let cluster = self.cluster.clone();
        self.env.sim.schedule_in(span, move |_| {
            for process in &targets {
                cluster.pause_process(process, false);
            }
        });
    }

    fn net(self: &Rc<Self>, spec: &FaultSpec, span: SimDuration) {
        let (verdict, mode) = match spec.mode.unwrap_or(NetMode::Drop) {
            NetMode::Drop => (Verdict::Drop, "drop"),
            NetMode::Refuse => (Verdict::Refuse, "refuse"),
            NetMode::LostReply => (Verdict::LoseReply, "lost_reply"),
        };
        let until = self.env.sim.now() + span;
        if spec.target == Target::All {
            return self.net_everywhere(spec, (verdict, mode), until, span);
        }
        match self.target_pod(spec) {
            Some(pod) => {
                self.record(format!("fault=net mode={mode} pod={} for={span}", pod.name));
                self.env.network.add_link_fault(LinkFault {
                    host: Some(pod.host),
                    verdict,
                    until,
                });
            }
            None => self.record(format!("fault=net mode={mode} skipped=no_target")),
        }
    }

    /// `target = "all"`: every client of Redis, or every pod of the `pods` group.
    fn net_everywhere(
        &self,
        spec: &FaultSpec,
        (verdict, mode): (Verdict, &str),
        until: SimTime,
        span: SimDuration,
    ) {
        let Some(group) = self.group(spec) else {
            self.record(format!("fault=net mode={mode} target=all for={span}"));
            self.env.network.add_link_fault(LinkFault {
                host: None,
                verdict,
                until,
            });
            return;
        };
        let name = &self.cluster.group_names()[group];
        self.record(format!("fault=net mode={mode} group={name} for={span}"));
        for pod in self.cluster.pods(Some(group)) {
            self.env.network.add_link_fault(LinkFault {
                host: Some(pod.host),
                verdict,
                until,
            });
        }
    }

    fn clock(self: &Rc<Self>, spec: &FaultSpec) {
        let Some(offset) = spec.offset else { return };
        let Some(pod) = self.target_pod(spec) else {
            return;
        };
        let signed = offset.amount.as_micros() as i64 * if offset.behind { -1 } else { 1 };
        let current = self.env.sim.clock_offset(pod.host);
        let value = if spec.kind == FaultKind::ClockStep {
            current + signed
        } else {
            signed
        };
        self.record(format!(
            "fault={} pod={} offset_s={:.3}",
            spec.kind.name(),
            pod.name,
            value as f64 / 1e6
        ));
        self.env.sim.set_clock_offset(pod.host, value);
    }
}
