//! Kubernetes as far as RQ workers feel it (rq-semantics §6.4): each pod is a container whose
//! PID 1 is `rq worker`, and, with `cron = true`, a second container whose PID 1 is `rq cron`;
//! a kubelet restarts each container with CrashLoopBackOff; deleting a pod sends SIGTERM to
//! each container, then SIGKILL after the grace period; a Deployment replaces deleted pods,
//! rolls out with maxSurge/maxUnavailable, and scales.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use crate::event::{EventContext, EventKind, JobId, Name};
use crate::rq::cron::{spawn_cron, CronJobSpec};
use crate::rq::env::{ProcessInfo, Role, RqEnv};
use crate::rq::worker::{spawn_worker, WorkerSpec};
use crate::scenario::{PodSpec, RestartPolicy};
use crate::sim::{ExitStatus, HostId, KillScope, Pid, Signal, SimDuration, SimTime};

/// A crashed container stays down this long before its back-off starts over (kubelet).
const BACKOFF_RESET: SimDuration = SimDuration::from_secs(600);

/// One pod of a group.
pub struct Pod {
    pub name: Name,
    pub group: usize,
    pub host: HostId,
    /// The current `rq worker` process (PID 1 of the worker container).
    worker: Cell<Option<Pid>>,
    /// The current `rq cron` process (PID 1 of the cron container).
    cron: Cell<Option<Pid>>,
    /// Containers whose kubelet loop still runs; the last one to end removes the pod.
    containers: Cell<u32>,
    deleting: Cell<bool>,
    ready: Cell<bool>,
    restarts: Cell<u32>,
}

impl Pod {
    pub fn worker(&self) -> Option<Pid> {
        self.worker.get()
    }

    pub fn cron(&self) -> Option<Pid> {
        self.cron.get()
    }

    pub fn is_ready(&self) -> bool {
        self.ready.get() && !self.deleting.get()
    }
}

struct Group {
    spec: PodSpec,
    pods: Vec<Rc<Pod>>,
    next_index: u32,
}

/// Every pod group of the scenario and the controllers that keep them running.
pub struct Cluster {
    env: Rc<RqEnv>,
    /// The `[[cron]]` jobs every `rq cron` container runs.
    cron_jobs: Vec<Rc<CronJobSpec>>,
    kubelet_host: HostId,
    groups: RefCell<Vec<Group>>,
}

impl Cluster {
    /// Creates the groups and starts `replicas` pods of each.
    pub fn start(
        env: &Rc<RqEnv>,
        specs: &[PodSpec],
        cron_jobs: Vec<Rc<CronJobSpec>>,
    ) -> Rc<Cluster> {
        let kubelet_host = env.sim.add_host();
        let groups = specs.iter().map(|spec| Group {
            spec: spec.clone(),
            pods: Vec::new(),
            next_index: 0,
        });
        let cluster = Rc::new(Cluster {
            env: env.clone(),
            cron_jobs,
            kubelet_host,
            groups: RefCell::new(groups.collect()),
        });
        for (index, spec) in specs.iter().enumerate() {
            for _ in 0..spec.replicas {
                cluster.create_pod(index);
            }
        }
        cluster
    }

    pub fn group_names(&self) -> Vec<String> {
        self.groups
            .borrow()
            .iter()
            .map(|g| g.spec.name.clone())
            .collect()
    }

    pub fn group_index(&self, name: &str) -> Option<usize> {
        self.groups
            .borrow()
            .iter()
            .position(|g| g.spec.name == name)
    }

    /// Live pods (not yet removed), of one group or of all.
    pub fn pods(&self, group: Option<usize>) -> Vec<Rc<Pod>> {
        let groups = self.groups.borrow();
        let selected = groups
            .iter()
            .enumerate()
            .filter(|(i, _)| group.is_none_or(|g| g == *i));
        selected.flat_map(|(_, g)| g.pods.iter().cloned()).collect()
    }

    pub fn pod(&self, name: &str) -> Option<Rc<Pod>> {
        self.pods(None).into_iter().find(|pod| &*pod.name == name)
    }

    /// Queues served by at least one `--with-scheduler` group.
    pub fn scheduler_queues(&self) -> Vec<String> {
        let mut queues: Vec<String> = self
            .groups
            .borrow()
            .iter()
            .filter(|g| g.spec.with_scheduler)
            .flat_map(|g| g.spec.queues.clone())
            .collect();
        queues.sort();
        queues.dedup();
        queues
    }

    /// All queues any group's workers listen on.
    pub fn queues(&self) -> Vec<String> {
        let mut queues: Vec<String> = self
            .groups
            .borrow()
            .iter()
            .filter(|g| g.spec.worker)
            .flat_map(|g| g.spec.queues.clone())
            .collect();
        queues.sort();
        queues.dedup();
        queues
    }

    /// A new pod of `group` (ReplicaSet creating a replica); its worker starts after the
    /// container start delay.
    pub fn create_pod(self: &Rc<Self>, group: usize) -> Rc<Pod> {
        let pod = {
            let mut groups = self.groups.borrow_mut();
            let group_state = &mut groups[group];
            let name = Name::from(format!(
                "{}-{}",
                group_state.spec.name, group_state.next_index
            ));
            group_state.next_index += 1;
            let pod = Rc::new(Pod {
                name,
                group,
                host: self.env.sim.add_host(),
                worker: Cell::new(None),
                cron: Cell::new(None),
                containers: Cell::new(0),
                deleting: Cell::new(false),
                ready: Cell::new(false),
                restarts: Cell::new(0),
            });
            group_state.pods.push(pod.clone());
            pod
        };
        let spec = self.spec(group);
        for (runs, container) in [
            (spec.worker, Container::Worker),
            (spec.cron, Container::Cron),
        ] {
            if runs {
                pod.containers.set(pod.containers.get() + 1);
                let lifecycle = self.clone().container_lifecycle(pod.clone(), container);
                let label = match container {
                    Container::Worker => format!("kubelet/{}", pod.name),
                    Container::Cron => format!("kubelet/{}/cron", pod.name),
                };
                self.env
                    .sim
                    .spawn(self.kubelet_host, &label, None, lifecycle);
            }
        }
        pod
    }

    fn spec(&self, group: usize) -> PodSpec {
        self.groups.borrow()[group].spec.clone()
    }

    /// The kubelet's view of one container of a pod: start it, restart it when its PID 1
    /// exits as `restartPolicy` says (with CrashLoopBackOff), tear down what is left of it
    /// each time. A pod whose containers are not restarted is terminated: no replacement is
    /// made (a bare pod's behaviour; a Deployment only allows `Always`).
    async fn container_lifecycle(self: Rc<Self>, pod: Rc<Pod>, container: Container) -> i32 {
        let spec = self.spec(pod.group);
        let sim = self.env.sim.clone();
        let mut backoff = spec.crash_loop_backoff.initial;
        loop {
            sim.sleep(spec.start_delay).await;
            if pod.deleting.get() {
                break;
            }
            let started = sim.now();
            let pid1 = self.start_container(&spec, &pod, container);
            let status = match sim.exit_cell(pid1) {
                Some(exit) => sim.wait_exit(exit).await,
                None => ExitStatus::Killed,
            };
            if container.sets_readiness(&spec) {
                pod.ready.set(false);
            }
            self.kill_container(&pod, container);
            if pod.deleting.get() || !restarts(spec.restart_policy, status) {
                break;
            }
            if sim.now().since(started) > BACKOFF_RESET {
                backoff = spec.crash_loop_backoff.initial;
            }
            pod.restarts.set(pod.restarts.get() + 1);
            sim.sleep(backoff).await;
            backoff = (backoff.saturating_mul(2)).min(spec.crash_loop_backoff.cap);
        }
        pod.containers.set(pod.containers.get() - 1);
        if pod.containers.get() == 0 {
            self.remove_pod(&pod);
        }
        0
    }

    /// Starts the PID 1 of `container`; the worker container (or, in a pod without one, the
    /// cron container) makes the pod ready.
    fn start_container(&self, spec: &PodSpec, pod: &Rc<Pod>, container: Container) -> Pid {
        let pid = match container {
            Container::Worker => {
                let pid = spawn_worker(&self.env, self.worker_spec(spec, pod));
                pod.worker.set(Some(pid));
                pid
            }
            Container::Cron => {
                let pid = spawn_cron(&self.env, &pod.name, pod.host, &self.cron_jobs);
                pod.cron.set(Some(pid));
                pid
            }
        };
        if container.sets_readiness(spec) {
            pod.ready.set(true);
        }
        pid
    }

    fn worker_spec(&self, spec: &PodSpec, pod: &Pod) -> WorkerSpec {
        WorkerSpec {
            pod: pod.name.clone(),
            host: pod.host,
            queues: spec.queues.iter().map(|q| Name::from(q.as_str())).collect(),
            with_scheduler: spec.with_scheduler,
            burst: spec.burst,
            max_jobs: spec.max_jobs,
            name: spec.worker_name.as_ref().map(|n| Name::from(n.as_str())),
            class: spec.worker_class,
        }
    }

    fn remove_pod(&self, pod: &Rc<Pod>) {
        let mut groups = self.groups.borrow_mut();
        groups[pod.group].pods.retain(|p| !Rc::ptr_eq(p, pod));
    }

    /// Live RQ processes in `pod`.
    pub fn processes(&self, pod: &Pod) -> Vec<ProcessInfo> {
        self.env
            .live_processes()
            .into_iter()
            .filter(|p| p.pod == pod.name)
            .collect()
    }

    /// SIGKILL to every process of one container (its PID 1 exited): `rq cron` alone in the
    /// cron container, the worker and its children in the other.
    fn kill_container(&self, pod: &Pod, container: Container) {
        for process in self.processes(pod) {
            if (process.role == Role::Cron) == (container == Container::Cron) {
                self.kill_process(&process);
            }
        }
    }

    /// SIGKILL to every process of every container of the pod.
    fn kill_all_containers(&self, pod: &Pod) {
        for process in self.processes(pod) {
            self.kill_process(&process);
        }
    }

    /// SIGKILL to one process, recorded as `process_killed` (naming the job of a horse).
    pub fn kill_process(&self, process: &ProcessInfo) {
        if !self.env.sim.is_alive(process.pid) {
            return;
        }
        self.env.sim.kill(process.pid, KillScope::Process);
        let job = process.running_job();
        self.emit(process, job, EventKind::ProcessKilled);
    }

    /// SIGSTOP / SIGCONT, recorded.
    pub fn pause_process(&self, process: &ProcessInfo, paused: bool) {
        if !self.env.sim.is_alive(process.pid) {
            return;
        }
        let (signal, kind) = if paused {
            (Signal::Stop, EventKind::ProcessPaused)
        } else {
            (Signal::Cont, EventKind::ProcessResumed)
        };
        self.env.sim.signal(process.pid, signal);
        self.emit(process, None, kind);
    }

    fn emit(&self, process: &ProcessInfo, job: Option<Name>, kind: EventKind) {
        let context = EventContext {
            pod: Some(process.pod.clone()),
            process: Some(process.name.clone()),
            queue: None,
            job: job.map(|job| JobId::of(&job)),
        };
        self.env.emit(context, kind);
    }

    /// `pod_kill`: SIGKILL to every process of the pod (OOM, node loss); the kubelet
    /// restarts the container after its back-off.
    pub fn kill_pod(&self, pod: &Pod) {
        self.kill_all_containers(pod);
    }

    /// `kubectl delete pod`: SIGTERM to PID 1, SIGKILL to all after the grace period; the
    /// Deployment creates a replacement at once.
    pub fn delete_pod(self: &Rc<Self>, pod: &Rc<Pod>, replace: bool) {
        if pod.deleting.replace(true) {
            return;
        }
        let spec = self.spec(pod.group);
        if let Some(worker) = pod.worker().filter(|_| spec.pid1) {
            self.env.sim.signal(worker, Signal::Term);
        }
        if let Some(cron) = pod.cron() {
            self.env.sim.signal(cron, Signal::Term);
        }
        let cluster = self.clone();
        let victim = pod.clone();
        self.env
            .sim
            .schedule_in(spec.termination_grace_period, move |_| {
                cluster.kill_all_containers(&victim)
            });
        if replace {
            self.create_pod(pod.group);
        }
    }

    /// Sets the replica count of `group`: new pods, or the newest ones deleted.
    pub fn scale(self: &Rc<Self>, group: usize, replicas: u32) {
        let live: Vec<Rc<Pod>> = self
            .pods(Some(group))
            .into_iter()
            .filter(|p| !p.deleting.get())
            .collect();
        let current = live.len() as u32;
        for _ in current..replicas {
            self.create_pod(group);
        }
        for pod in live
            .iter()
            .rev()
            .take(current.saturating_sub(replicas) as usize)
        {
            self.delete_pod(pod, false);
        }
    }

    /// A Deployment rollout of `group` by Kubernetes' RollingUpdate rules (the deployment
    /// controller's `reconcileNewReplicaSet` / `reconcileOldReplicaSets`): new pods up to
    /// replicas + maxSurge in total, old pods removed while replicas − maxUnavailable stay
    /// available; terminating pods count toward neither.
    pub fn rolling_restart(self: &Rc<Self>, group: usize) {
        let rollout = self.clone().rollout(group);
        self.env
            .sim
            .spawn(self.kubelet_host, "deployment-controller", None, rollout);
    }

    async fn rollout(self: Rc<Self>, group: usize) -> i32 {
        let spec = self.spec(group);
        let sim = self.env.sim.clone();
        let mut old: Vec<Rc<Pod>> = self
            .pods(Some(group))
            .into_iter()
            .filter(|p| !p.deleting.get())
            .collect();
        let replicas = old.len() as u32;
        let (surge, unavailable) = rollout_fenceposts(&spec.rollout, replicas);
        let mut new: Vec<Rc<Pod>> = Vec::new();
        loop {
            let total = (old.len() + new.len()) as u32;
            let wanted_new =
                replicas.min((replicas + surge).saturating_sub(total) + new.len() as u32);
            let created = wanted_new.saturating_sub(new.len() as u32);
            for _ in 0..created {
                new.push(self.create_pod(group));
            }
            let new_ready = new.iter().filter(|p| p.is_ready()).count() as u32;
            let new_unready = new.len() as u32 - new_ready;
            let all = (old.len() + new.len()) as u32;
            let removable = all.saturating_sub(replicas - unavailable.min(replicas) + new_unready);
            let removed = (removable as usize).min(old.len());
            for victim in old.drain(..removed) {
                self.delete_pod(&victim, false);
            }
            if old.is_empty() && new_ready == replicas {
                return 0;
            }
            if created == 0 && removed == 0 {
                sim.sleep(SimDuration::from_secs(1)).await;
            }
        }
    }

    pub fn now(&self) -> SimTime {
        self.env.sim.now()
    }
}

/// The containers a pod may run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Container {
    /// `rq worker` (with its work-horses and scheduler).
    Worker,
    /// `rq cron`.
    Cron,
}

impl Container {
    /// The pod is ready while this container runs: the worker's, or in a pod that runs only
    /// `rq cron`, the cron container's.
    fn sets_readiness(self, spec: &PodSpec) -> bool {
        match self {
            Container::Worker => true,
            Container::Cron => !spec.worker,
        }
    }
}

/// maxSurge (rounded up) and maxUnavailable (rounded down) against `replicas`; when both are
/// 0, Kubernetes makes maxUnavailable 1 so that a rollout can progress.
fn rollout_fenceposts(rollout: &crate::scenario::Rollout, replicas: u32) -> (u32, u32) {
    let surge = rollout.max_surge.resolve(replicas, true);
    let unavailable = rollout.max_unavailable.resolve(replicas, false);
    if surge == 0 && unavailable == 0 {
        (0, 1)
    } else {
        (surge, unavailable)
    }
}

/// Whether the kubelet restarts a container whose PID 1 ended with `status`: `Always`
/// restarts every time, `OnFailure` after a non-zero exit or a kill (137), `Never` not at all.
fn restarts(policy: RestartPolicy, status: ExitStatus) -> bool {
    match policy {
        RestartPolicy::Always => true,
        RestartPolicy::OnFailure => status != ExitStatus::Exited(0),
        RestartPolicy::Never => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restart_policies_follow_kubernetes() {
        let (clean, failed, killed) = (
            ExitStatus::Exited(0),
            ExitStatus::Exited(1),
            ExitStatus::Killed,
        );
        let always = RestartPolicy::Always;
        assert!(restarts(always, clean) && restarts(always, failed) && restarts(always, killed));
        let on_failure = RestartPolicy::OnFailure;
        assert!(!restarts(on_failure, clean));
        assert!(restarts(on_failure, failed) && restarts(on_failure, killed));
        let never = RestartPolicy::Never;
        assert!(!restarts(never, clean) && !restarts(never, failed) && !restarts(never, killed));
    }
}
