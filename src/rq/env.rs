//! What every simulated RQ process shares (the kernel, the network, parameters, the event
//! bus, workload classes) and what each has of its own (pod, name, host, Redis client).

use std::cell::{Cell, OnceCell, RefCell};
use std::collections::BTreeMap;
use std::fmt;
use std::rc::Rc;

use arrayvec::ArrayString;
use rand::Rng;

use crate::event::{name_of, EventBus, EventContext, EventKind, JobId, Name};
use crate::net::{Client, ClientSettings, Network};
use crate::rq::body::{DurationDist, JobClass};
use crate::rq::job::{StampWriter, UtcStamp};
use crate::rq::params::RqParams;
use crate::sim::{HostId, Pid, RngStreams, Sim, SimDuration};

/// The role of a simulated process, for faults that target "the horse" or "the scheduler".
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Worker,
    Horse,
    Scheduler,
    Producer,
    /// An `rq cron` process.
    Cron,
}

/// A live process as the fault injector sees it.
#[derive(Clone, Debug)]
pub struct ProcessInfo {
    pub pid: Pid,
    pub pod: Name,
    pub name: Name,
    pub role: Role,
    /// For schedulers: the scheduler name (the lock value). For horses, and for a
    /// `SimpleWorker` while it runs a job: the job id.
    pub tag: Option<Name>,
}

impl ProcessInfo {
    /// The job that dies with this process if it is killed: a horse's, or the one a
    /// `SimpleWorker` runs in its own process.
    pub fn running_job(&self) -> Option<Name> {
        match self.role {
            Role::Horse | Role::Worker => self.tag.clone(),
            _ => None,
        }
    }
}

/// Shared by every RQ process of one simulation.
pub struct RqEnv {
    pub sim: Sim,
    pub network: Network,
    pub params: RqParams,
    pub streams: RngStreams,
    pub client_settings: ClientSettings,
    pub classes: BTreeMap<Name, JobClass>,
    events: RefCell<EventBus>,
    next_id: Cell<u64>,
    next_job: Cell<usize>,
    processes: RefCell<BTreeMap<Pid, ProcessInfo>>,
    /// Every process's `utcnow`.
    stamps: StampWriter,
}

impl RqEnv {
    pub fn new(
        network: &Network,
        params: RqParams,
        streams: RngStreams,
        client_settings: ClientSettings,
        events: EventBus,
    ) -> Rc<RqEnv> {
        Rc::new(RqEnv {
            sim: network.sim().clone(),
            network: network.clone(),
            params,
            streams,
            client_settings,
            classes: BTreeMap::new(),
            events: RefCell::new(events),
            next_id: Cell::new(1),
            next_job: Cell::new(1),
            processes: RefCell::default(),
            stamps: StampWriter::default(),
        })
    }

    /// Registers a workload class (before the environment is shared).
    pub fn with_classes(mut self: Rc<Self>, classes: Vec<JobClass>) -> Rc<RqEnv> {
        let env = Rc::get_mut(&mut self).expect("classes are added before processes start");
        for class in classes {
            env.classes.insert(class.name.clone(), class);
        }
        self
    }

    /// `served` (the queues some pod listens on) and every queue a workload enqueues on,
    /// sorted: where a job may wait, served or not.
    pub fn job_queues(&self, mut served: Vec<String>) -> Vec<String> {
        served.extend(self.classes.values().map(|class| class.queue.to_string()));
        served.sort();
        served.dedup();
        served
    }

    pub fn emit(&self, context: EventContext, kind: EventKind) {
        self.events.borrow_mut().emit(self.sim.now(), context, kind);
    }

    /// Executions so far of `job`, counted from `job_started` events.
    pub fn executions(&self, job: &str) -> u32 {
        self.events.borrow().executions(JobId::of(job))
    }

    pub fn take_events(&self) -> EventBus {
        std::mem::take(&mut *self.events.borrow_mut())
    }

    /// A fresh identifier with a readable prefix (worker, scheduler and execution names stand
    /// in for RQ's uuid4 hex strings).
    pub fn fresh_id(&self, prefix: &str) -> Name {
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        name_of(format_args!("{prefix}{id}"))
    }

    /// One draw of a host cost (`[rq] worker_startup`, `horse_startup`, `horse_exit`) from
    /// the stream `host/<who>`; a constant draws nothing and builds no stream.
    pub fn host_cost(&self, cost: &DurationDist, who: impl FnOnce() -> String) -> SimDuration {
        cost.draw_host(&self.streams, who)
    }

    pub fn next_job_number(&self) -> usize {
        let number = self.next_job.get();
        self.next_job.set(number + 1);
        number
    }

    pub fn register_process(&self, info: ProcessInfo) {
        self.processes.borrow_mut().insert(info.pid, info);
    }

    /// Sets the tag of a registered process (a `SimpleWorker` starting or ending a job).
    pub fn set_process_tag(&self, pid: Pid, tag: Option<Name>) {
        if let Some(info) = self.processes.borrow_mut().get_mut(&pid) {
            info.tag = tag;
        }
    }

    pub fn unregister_process(&self, pid: Pid) {
        self.processes.borrow_mut().remove(&pid);
    }

    /// Live processes, in pid order; entries of processes that died are dropped here.
    pub fn live_processes(&self) -> Vec<ProcessInfo> {
        let mut processes = self.processes.borrow_mut();
        processes.retain(|pid, _| self.sim.is_alive(*pid));
        processes.values().cloned().collect()
    }

    /// A new Redis client for a process on `host`, with RQ's socket timeout: `_set_connection`
    /// raises a connection's timeout to dequeue timeout + 10 s when it is unset or lower, and
    /// keeps a higher one (`[redis] socket_timeout`).
    pub fn client(&self, host: HostId, stream_name: &str) -> Client {
        let mut settings = self.client_settings.clone();
        let forced = self.params.socket_timeout();
        settings.socket_timeout = Some(settings.socket_timeout.map_or(forced, |t| t.max(forced)));
        Client::new(
            &self.network,
            host,
            settings,
            self.streams.stream(stream_name),
        )
    }

    /// A uniformly random number in [0, 1) from the named stream of this job attempt.
    pub fn attempt_draw(&self, job: &str, execution: u32, what: &str) -> f64 {
        let name = format_args!("job/{job}/{execution}/{what}");
        with_text(name, |name| self.streams.stream(name)).gen::<f64>()
    }
}

/// Lends `args`, formatted, to `use_text`: on the stack when it fits, as the names of
/// streams and clients do (they are only hashed), else in a `String`. A job's draws and every
/// process's client each name a stream, and the `String` was an allocation apiece.
pub fn with_text<R>(args: fmt::Arguments<'_>, use_text: impl FnOnce(&str) -> R) -> R {
    let mut text = ArrayString::<64>::new();
    match fmt::Write::write_fmt(&mut text, args) {
        Ok(()) => use_text(&text),
        Err(_) => use_text(&fmt::format(args)),
    }
}

/// One process's identity and Redis connection.
pub struct ProcCtx {
    pub env: Rc<RqEnv>,
    pub pod: Name,
    pub name: Name,
    pub host: HostId,
    pub redis: Rc<Client>,
    /// A second pooled connection, opened on first use: redis-py hands RQ another connection
    /// from the pool while a pipeline holds a `WATCH` on the first (`Job.fetch_many` and the
    /// status reads of `dependencies_are_met`), so those reads may run in a transaction of
    /// their own without ending the `WATCH`.
    other: OnceCell<Client>,
}

impl ProcCtx {
    pub fn new(env: &Rc<RqEnv>, pod: &Name, name: &Name, host: HostId) -> ProcCtx {
        with_text(format_args!("client/{name}"), |stream| {
            ProcCtx::on_stream(env, pod, name, host, stream)
        })
    }

    /// A context whose Redis client draws from the named stream rather than the process's
    /// own: a second connection of the same process (the worker's pubsub thread's pool).
    pub fn on_stream(
        env: &Rc<RqEnv>,
        pod: &Name,
        name: &Name,
        host: HostId,
        stream: &str,
    ) -> ProcCtx {
        ProcCtx {
            env: env.clone(),
            pod: pod.clone(),
            name: name.clone(),
            host,
            redis: Rc::new(env.client(host, stream)),
            other: OnceCell::new(),
        }
    }

    /// The process's second pooled connection (see the field), opened on first use.
    pub fn other_connection(&self) -> &Client {
        self.other.get_or_init(|| {
            with_text(format_args!("client/{}/other", self.name), |stream| {
                self.env.client(self.host, stream)
            })
        })
    }

    pub fn sim(&self) -> &Sim {
        &self.env.sim
    }

    pub fn params(&self) -> &RqParams {
        &self.env.params
    }

    /// This host's wall clock in Unix microseconds (`datetime.now()`).
    pub fn now_micros(&self) -> i64 {
        self.env.sim.wall_clock_micros(self.host)
    }

    /// `rq/utils.py current_timestamp()`: Unix seconds on this host, floored.
    pub fn ts(&self) -> i64 {
        self.now_micros().div_euclid(1_000_000)
    }

    /// `utcformat(now())`.
    pub fn utcnow(&self) -> UtcStamp {
        self.env.stamps.format(self.now_micros())
    }

    pub fn context(&self, queue: Option<&Name>, job: Option<&Name>) -> EventContext {
        EventContext {
            pod: Some(self.pod.clone()),
            process: Some(self.name.clone()),
            queue: queue.cloned(),
            job: job.map(|job| JobId::of(job)),
        }
    }

    pub fn emit(&self, queue: Option<&Name>, job: Option<&Name>, kind: EventKind) {
        self.env.emit(self.context(queue, job), kind);
    }

    /// An observer for [`crate::net::Client::transaction_observed`] that emits `kinds` (for
    /// `queue` and `job`) at the instant Redis commits the transaction.
    pub fn on_commit(
        &self,
        queue: Option<&Name>,
        job: Option<&Name>,
        kinds: Vec<EventKind>,
    ) -> crate::net::OnApplied {
        let env = self.env.clone();
        let context = self.context(queue, job);
        Rc::new(move |_| {
            for kind in &kinds {
                env.emit(context.clone(), kind.clone());
            }
        })
    }

    /// An observer for [`crate::net::Client::call_before`] that reports every id in the list
    /// `list_key` as `job_deleted` (on `queue`), just before Redis runs a script that deletes
    /// them all (`Queue.empty`).
    pub fn before_applied(
        &self,
        queue: Name,
        list_key: crate::redis::Arg,
    ) -> crate::net::OnApplied {
        let env = self.env.clone();
        let base = self.context(Some(&queue), None);
        Rc::new(move |_| {
            let now = env.sim.now();
            let ids = env
                .network
                .with_server(|server| server.peek_list(now, list_key.as_str()));
            for id in ids {
                let mut context = base.clone();
                context.job = Some(JobId::of(&Name::from(id.as_str())));
                env.emit(context, EventKind::JobDeleted);
            }
        })
    }

    /// [`ProcCtx::on_commit`] of one event about `job` (on its queue).
    pub fn on_job_commit(
        &self,
        job: &crate::rq::job::Job,
        kind: EventKind,
    ) -> crate::net::OnApplied {
        self.on_commit(Some(&job.origin), Some(&job.id), vec![kind])
    }

    /// Emits a `redis_error` event for an error this process saw.
    pub fn redis_error(&self, phase: &str, command: &str, error: &crate::net::RedisError) {
        let kind = EventKind::RedisError {
            phase: phase.to_string(),
            command: command.to_string(),
            error: error.to_string(),
        };
        self.emit(None, None, kind);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_text_lends_short_and_long_text_alike() {
        let long = "x".repeat(100);
        for text in ["client/worker-0.w1", long.as_str()] {
            assert_eq!(with_text(format_args!("{text}"), str::to_string), text);
        }
    }
}
