//! A small world to drive the RQ model from Rust: a kernel, the network and Redis, pods,
//! workers and producers, with every event recorded. Scripted tests (tests/rq_*.rs) and
//! users' own property tests build on it; `simrq run` builds the same pieces from a file.

use std::cell::RefCell;
use std::rc::Rc;

use crate::event::{Event, EventBus, EventKind, EventSink, Name};
use crate::net::{ClientSettings, Latency, Network};
use crate::redis::Server;
use crate::rq::body::JobClass;
use crate::rq::cron::{spawn_cron, CronJobSpec};
use crate::rq::env::{ProcCtx, ProcessInfo, Role, RqEnv};
use crate::rq::operator::{self, OperatorCommand};
use crate::rq::params::RqParams;
use crate::rq::queue::{enqueue, enqueue_in};
use crate::rq::worker::{spawn_worker, WorkerClass, WorkerSpec};
use crate::sim::{HostId, KillScope, Pid, RngStreams, Signal, Sim, SimDuration, SimTime};

/// Keeps every event in memory (tests only: a long run would grow without bound).
#[derive(Clone, Default)]
pub struct Recorder {
    events: Rc<RefCell<Vec<Event>>>,
}

impl EventSink for Recorder {
    fn on_event(&mut self, event: &Event) {
        self.events.borrow_mut().push(event.clone());
    }
}

/// Knobs of a harness world.
#[derive(Clone, Debug)]
pub struct HarnessConfig {
    pub seed: u64,
    pub params: RqParams,
    pub latency: Latency,
    pub client: ClientSettings,
}

impl Default for HarnessConfig {
    fn default() -> HarnessConfig {
        HarnessConfig {
            seed: 1,
            params: RqParams::default(),
            latency: Latency::Constant(SimDuration::from_micros(300)),
            client: ClientSettings::default(),
        }
    }
}

/// A simulated deployment driven step by step from test code.
pub struct Harness {
    pub sim: Sim,
    pub network: Network,
    pub env: Rc<RqEnv>,
    recorder: Recorder,
    producer_host: HostId,
}

impl Harness {
    pub fn new(config: HarnessConfig, classes: Vec<JobClass>) -> Harness {
        let sim = Sim::new();
        let streams = RngStreams::new(config.seed);
        let _server_host = sim.add_host();
        let network = Network::new(&sim, config.latency.clone(), streams.stream("net"));
        let recorder = Recorder::default();
        let mut bus = EventBus::new();
        bus.add_sink(Box::new(recorder.clone()));
        let env =
            RqEnv::new(&network, config.params, streams, config.client, bus).with_classes(classes);
        let producer_host = sim.add_host();
        Harness {
            sim,
            network,
            env,
            recorder,
            producer_host,
        }
    }

    /// A machine for a pod; `clock_offset_s` skews its wall clock.
    pub fn add_host(&self) -> HostId {
        self.sim.add_host()
    }

    /// Starts `rq worker [--with-scheduler] QUEUES…` on `host`, named after `pod`.
    pub fn start_worker(
        &self,
        pod: &str,
        host: HostId,
        queues: &[&str],
        with_scheduler: bool,
    ) -> Pid {
        self.spawn(pod, host, queues, with_scheduler, false)
    }

    /// Starts `rq worker --burst [--with-scheduler] QUEUES…` on `host`, named after `pod`.
    pub fn start_burst_worker(
        &self,
        pod: &str,
        host: HostId,
        queues: &[&str],
        with_scheduler: bool,
    ) -> Pid {
        self.spawn(pod, host, queues, with_scheduler, true)
    }

    /// Starts `rq worker --max-jobs MAX QUEUES…` on `host`, named after `pod`.
    pub fn start_max_jobs_worker(&self, pod: &str, host: HostId, queues: &[&str], max: u32) -> Pid {
        let mut spec = self.worker_spec(pod, host, queues, false, false);
        spec.max_jobs = Some(max);
        spawn_worker(&self.env, spec)
    }

    /// Starts `rq worker -w rq.worker.SimpleWorker QUEUES…` on `host`, named after `pod`.
    pub fn start_simple_worker(&self, pod: &str, host: HostId, queues: &[&str]) -> Pid {
        let mut spec = self.worker_spec(pod, host, queues, false, false);
        spec.class = WorkerClass::SimpleWorker;
        spawn_worker(&self.env, spec)
    }

    fn spawn(
        &self,
        pod: &str,
        host: HostId,
        queues: &[&str],
        with_scheduler: bool,
        burst: bool,
    ) -> Pid {
        spawn_worker(
            &self.env,
            self.worker_spec(pod, host, queues, with_scheduler, burst),
        )
    }

    fn worker_spec(
        &self,
        pod: &str,
        host: HostId,
        queues: &[&str],
        with_scheduler: bool,
        burst: bool,
    ) -> WorkerSpec {
        WorkerSpec {
            pod: Name::from(pod),
            host,
            queues: queues.iter().map(|q| Name::from(*q)).collect(),
            with_scheduler,
            burst,
            max_jobs: None,
            name: None,
            class: WorkerClass::Worker,
        }
    }

    /// Starts `rq cron` on `host`, in `pod`, with these cron jobs (their classes must be among
    /// the harness's classes).
    pub fn start_cron(&self, pod: &str, host: HostId, jobs: &[Rc<CronJobSpec>]) -> Pid {
        spawn_cron(&self.env, &Name::from(pod), host, jobs)
    }

    /// Enqueues one job of `class` now (a producer process issues the commands).
    pub fn enqueue(&self, class: &str) {
        self.produce(class, None, &[]);
    }

    /// Enqueues one job of `class` now with `depends_on` the jobs `parents` (ids such as
    /// `"j1"`: jobs are numbered in enqueue order), as a list or, if the class has
    /// [`crate::rq::body::DependencyFlags`], as a `Dependency(...)`.
    pub fn enqueue_depending(&self, class: &str, parents: &[&str]) {
        self.produce(class, None, parents);
    }

    /// `enqueue_in(delay, …)`.
    pub fn enqueue_in(&self, class: &str, delay_s: i64) {
        self.produce(class, Some(delay_s), &[]);
    }

    /// `enqueue_in(delay, …, depends_on=parents)`: RQ saves the parents and registers nothing.
    pub fn enqueue_in_depending(&self, class: &str, delay_s: i64, parents: &[&str]) {
        self.produce(class, Some(delay_s), parents);
    }

    /// An operator runs `rq suspend` (`--duration` with `duration`) now, from the producers'
    /// host.
    pub fn suspend(&self, duration: Option<SimDuration>) {
        operator::spawn(
            &self.env,
            self.producer_host,
            OperatorCommand::Suspend(duration),
        );
    }

    /// An operator runs `rq resume` now.
    pub fn resume(&self) {
        operator::spawn(&self.env, self.producer_host, OperatorCommand::Resume);
    }

    /// An operator sends `command` to the worker named `worker` now (`send_command`).
    pub fn send_command(&self, worker: &str, command: crate::rq::command::WorkerCommand) {
        let command = OperatorCommand::Send(Name::from(worker), command);
        operator::spawn(&self.env, self.producer_host, command);
    }

    /// An operator stops whatever job the worker named runs now (its `current_job`, then
    /// `send_stop_job_command`).
    pub fn stop_current_job(&self, worker: &str) {
        let command = OperatorCommand::StopCurrentJob(Name::from(worker));
        operator::spawn(&self.env, self.producer_host, command);
    }

    /// An operator runs `command` now (cancel, requeue, empty, or any other), as a process of
    /// its own on the producer's host.
    pub fn operate(&self, command: OperatorCommand) {
        operator::spawn(&self.env, self.producer_host, command);
    }

    fn produce(&self, class: &str, delay_s: Option<i64>, parents: &[&str]) {
        let parents: Rc<[Name]> = parents.iter().map(|id| Name::from(*id)).collect();
        let env = self.env.clone();
        let class = env
            .classes
            .get(class)
            .cloned()
            .expect("the class was registered");
        let name = Name::from("producer");
        let ctx = ProcCtx::new(&env, &name, &name, self.producer_host);
        let pid = self
            .sim
            .spawn(self.producer_host, "producer", None, async move {
                let result = match delay_s {
                    Some(delay) => {
                        let delay = SimDuration::from_secs(delay as u64);
                        enqueue_in(&ctx, &class, delay, &parents).await
                    }
                    None => enqueue(&ctx, &class, &parents).await,
                };
                i32::from(result.is_err())
            });
        let info = ProcessInfo {
            pid,
            pod: name.clone(),
            name,
            role: Role::Producer,
            tag: None,
        };
        self.env.register_process(info);
    }

    pub fn run_for(&self, span: SimDuration) {
        self.sim.run_for(span);
    }

    pub fn run_until(&self, time: SimTime) {
        self.sim.run_until(time);
    }

    pub fn now(&self) -> SimTime {
        self.sim.now()
    }

    /// Every event so far.
    pub fn events(&self) -> Vec<Event> {
        self.recorder.events.borrow().clone()
    }

    /// Events of one kind (`"job_started"` …), in order.
    pub fn events_of(&self, kind: &str) -> Vec<Event> {
        self.recorder
            .events
            .borrow()
            .iter()
            .filter(|e| e.kind.name() == kind)
            .cloned()
            .collect()
    }

    /// Read access to the Redis model at this instant.
    pub fn redis<T>(&self, read: impl FnOnce(&Server, SimTime) -> T) -> T {
        let now = self.sim.now();
        self.network.with_server(|server| read(server, now))
    }

    /// Live processes of `role` on `pod`.
    pub fn processes(&self, pod: &str, role: Role) -> Vec<ProcessInfo> {
        self.env
            .live_processes()
            .into_iter()
            .filter(|p| &*p.pod == pod && p.role == role)
            .collect()
    }

    /// The scheduler process whose name is in `rq:scheduler-lock:<queue>`.
    pub fn lock_holder_process(&self, queue: &str) -> Option<ProcessInfo> {
        let holder = self
            .network
            .peek_string(&crate::rq::keys::scheduler_lock(queue))?;
        let processes = self.env.live_processes();
        processes
            .into_iter()
            .find(|p| p.role == Role::Scheduler && p.tag.as_deref() == Some(holder.as_str()))
    }

    /// SIGKILL to every process of `pod` (node loss, OOM of the container).
    pub fn kill_pod(&self, pod: &str) {
        for process in self
            .env
            .live_processes()
            .into_iter()
            .filter(|p| &*p.pod == pod)
        {
            self.kill(&process);
        }
    }

    /// SIGKILL to one process, with a `process_killed` event naming its job if a horse.
    pub fn kill(&self, process: &ProcessInfo) {
        if !self.sim.is_alive(process.pid) {
            return;
        }
        self.sim.kill(process.pid, KillScope::Process);
        let job = process.running_job();
        self.emit_for(process, job, EventKind::ProcessKilled);
    }

    /// SIGSTOP / SIGCONT / SIGTERM to one process.
    pub fn signal(&self, process: &ProcessInfo, signal: Signal) {
        self.sim.signal(process.pid, signal);
        let kind = match signal {
            Signal::Stop => EventKind::ProcessPaused,
            Signal::Cont => EventKind::ProcessResumed,
            _ => return,
        };
        self.emit_for(process, None, kind);
    }

    fn emit_for(&self, process: &ProcessInfo, job: Option<Name>, kind: EventKind) {
        let context = crate::event::EventContext {
            pod: Some(process.pod.clone()),
            process: Some(process.name.clone()),
            queue: None,
            job: job.map(|job| crate::event::JobId::of(&job)),
        };
        self.env.emit(context, kind);
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.sim.teardown();
    }
}
