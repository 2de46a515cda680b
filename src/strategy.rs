//! [proptest] strategies for random deployments, workloads and fault plans, for property
//! tests over many scenarios (ours in `tests/properties.rs`, and users' own).
//!
//! ```text
//!  pod_group ─┐
//!  workload ──┼──► scenario(ScenarioShape) ──► Scenario ──► Scenario::run_seed(seed)
//!  fault_plan ┘      (durations, counts)                      └─► summary + violations
//! ```
//!
//! Every strategy yields a valid scenario (one `simrq validate` accepts) that runs in well
//! under a second of wall time with the default [`ScenarioShape`]: a few pods, about one job
//! per second, tens of simulated minutes. Shrinking works as proptest's usually does: fewer
//! faults, fewer pods, simpler jobs.
//!
//! ```
//! use proptest::prelude::*;
//! use proptest::test_runner::{Config, TestRunner};
//! use simrq::strategy::{scenario, ScenarioShape};
//!
//! let shape = ScenarioShape { max_duration_s: 300, ..ScenarioShape::default() };
//! let mut runner = TestRunner::new(Config { cases: 2, ..Config::default() });
//! runner
//!     .run(&(scenario(shape), 0..1000u64), |(scenario, seed)| {
//!         let result = scenario.run_seed(seed).expect("a generated scenario runs");
//!         // With no clock faults, no interval retry may start before it is due.
//!         prop_assert!(result.violations.iter().all(|v| v.check != "retry_timing"));
//!         Ok(())
//!     })
//!     .unwrap();
//! ```

use proptest::prelude::*;

use crate::rq::WorkerClass;
use crate::scenario::{
    Arrival, CronSpec, DependsOnSpec, Distribution, FaultKind, FaultSpec, NetMode, PodSpec, Rate,
    RepeatSpec, RetrySpec, Scenario, Target, WebhookOn, WebhookSpec, WorkloadSpec,
};
use crate::sim::SimDuration;

/// Bounds of generated scenarios.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScenarioShape {
    /// Pods per scenario, at least one of them `--with-scheduler`.
    pub max_pods: u32,
    pub max_workloads: usize,
    /// Active phase: between 60 s and this.
    pub max_duration_s: u64,
    pub max_faults: usize,
    /// Mean arrivals per second, per workload.
    pub max_arrivals_per_s: f64,
    /// Allow `pod_kill` and `net` faults (which can legitimately duplicate or lose jobs,
    /// §9 R2–R5); pauses are always allowed.
    pub kills_and_net: bool,
    /// `[[cron]]` jobs: up to this many, run by `rq cron` in every pod of the
    /// `--with-scheduler` group (0: no cron jobs, no `rq cron`).
    pub max_cron_jobs: usize,
    /// Dependent workloads (`depends_on`) of a pipeline rooted at the first workload: up to
    /// this many (0: none).
    pub max_dependents: usize,
}

impl Default for ScenarioShape {
    fn default() -> ScenarioShape {
        ScenarioShape {
            max_pods: 4,
            max_workloads: 2,
            max_duration_s: 1_200,
            max_faults: 4,
            max_arrivals_per_s: 2.0,
            kills_and_net: true,
            max_cron_jobs: 0,
            max_dependents: 0,
        }
    }
}

fn secs(seconds: u64) -> SimDuration {
    SimDuration::from_secs(seconds)
}

fn millis(ms: u64) -> SimDuration {
    SimDuration::from_millis(ms)
}

/// One pod group of 1..=`max_replicas` pods on `default`, with or without the scheduler, a
/// third of the time `rq worker --max-jobs` 1–20 (the worker quits and the kubelet restarts
/// it, so jobs meet worker exits that no fault caused), and a quarter of the time
/// `-w rq.worker.SimpleWorker` (jobs in the worker's process, no heartbeats while they run).
pub fn pod_group(name: &str, max_replicas: u32) -> impl Strategy<Value = PodSpec> {
    let name = name.to_string();
    let max_jobs = prop::option::weighted(1.0 / 3.0, 1u32..=20);
    let class = prop::bool::weighted(0.25).prop_map(|simple| {
        if simple {
            WorkerClass::SimpleWorker
        } else {
            WorkerClass::Worker
        }
    });
    (1..=max_replicas.max(1), any::<bool>(), max_jobs, class).prop_map(
        move |(replicas, with_scheduler, max_jobs, worker_class)| PodSpec {
            name: name.clone(),
            replicas,
            with_scheduler,
            max_jobs,
            worker_class,
            ..PodSpec::default()
        },
    )
}

/// `Retry(max, interval)`: none, immediate, or 1–3 intervals of 1–60 s.
pub fn retry_policy() -> impl Strategy<Value = Option<RetrySpec>> {
    let interval = prop::collection::vec((1u64..=60).prop_map(secs), 0..=3);
    prop_oneof![
        1 => Just(None),
        3 => (1u32..=3, interval, any::<bool>()).prop_map(|(max, interval, enqueue_at_front)| {
            Some(RetrySpec { max, interval, enqueue_at_front })
        }),
    ]
}

/// `Repeat(times, interval)`: mostly none, else 1–2 repeats, at once or after 1–30 s (one
/// interval or two, which RQ reads from the end).
pub fn repeat_policy() -> impl Strategy<Value = Option<RepeatSpec>> {
    let interval = prop::collection::vec((0u64..=30).prop_map(secs), 0..=2);
    prop_oneof![
        3 => Just(None),
        1 => (1u32..=2, interval).prop_map(|(times, interval)| Some(RepeatSpec { times, interval })),
    ]
}

/// Webhooks: mostly none, else on `finished`, `failed` or both, to an endpoint answering in
/// 0–5 s (constant or exponential) with a 1–10 s timeout.
pub fn webhook_policy() -> impl Strategy<Value = Option<WebhookSpec>> {
    let on = prop_oneof![
        Just(vec![WebhookOn::Finished]),
        Just(vec![WebhookOn::Failed]),
        Just(vec![WebhookOn::Finished, WebhookOn::Failed]),
    ];
    let latency = prop_oneof![
        (0u64..=5_000).prop_map(|ms| Distribution::Constant(millis(ms))),
        (1u64..=2_000).prop_map(|ms| Distribution::Exponential { mean: millis(ms) }),
    ];
    prop_oneof![
        3 => Just(None),
        1 => (on, latency, 1u64..=10).prop_map(|(on, latency, timeout_s)| Some(WebhookSpec {
            on,
            latency,
            timeout: secs(timeout_s),
        })),
    ]
}

/// A stream of jobs on `default`: Poisson or constant arrivals, 50 ms – 3 s executions, some
/// failing, a retry policy, some scheduled with `enqueue_in`, some repeated, some with
/// webhooks.
pub fn workload(max_arrivals_per_s: f64) -> impl Strategy<Value = WorkloadSpec> {
    let rate = 0.05..max_arrivals_per_s.max(0.1);
    let arrival = prop_oneof![
        rate.clone().prop_map(Arrival::PoissonPerS),
        rate.prop_map(Arrival::ConstantPerS),
    ];
    let enqueue_in = prop_oneof![2 => Just(None), 1 => (1u64..=60).prop_map(|s| Some(secs(s)))];
    let repeat_and_webhook = (repeat_policy(), webhook_policy());
    (
        arrival,
        50u64..=3_000,
        0.0..0.5f64,
        retry_policy(),
        enqueue_in,
        repeat_and_webhook,
    )
        .prop_map(
            |(arrival, duration_ms, fail_probability, retry, enqueue_in, (repeat, webhook))| {
                WorkloadSpec {
                    arrival,
                    duration: Distribution::Constant(millis(duration_ms)),
                    fail_probability,
                    retry,
                    enqueue_in,
                    repeat,
                    webhook,
                    ..WorkloadSpec::default()
                }
            },
        )
}

/// One `[[cron]]` job on `default` named `name`: every 5–300 s, or a cron expression (every
/// 1–10 minutes, or at one minute of every hour), running 50 ms – 30 s, sometimes failing.
pub fn cron_job(name: &str) -> impl Strategy<Value = CronSpec> {
    let name = name.to_string();
    let schedule = prop_oneof![
        (5u64..=300).prop_map(|s| (Some(secs(s)), None)),
        (1u32..=10).prop_map(|m| (None, Some(format!("*/{m} * * * *")))),
        (0u32..=59).prop_map(|m| (None, Some(format!("{m} * * * *")))),
    ];
    (
        schedule,
        50u64..=30_000,
        prop_oneof![Just(0.0), 0.0..0.5f64],
    )
        .prop_map(
            move |((interval, cron), duration_ms, fail_probability)| CronSpec {
                name: name.clone(),
                interval,
                cron,
                duration: Distribution::Constant(millis(duration_ms)),
                fail_probability,
                ..CronSpec::default()
            },
        )
}

/// Up to `max` cron jobs, named `cron0`, `cron1`, …
pub fn cron_jobs(max: usize) -> impl Strategy<Value = Vec<CronSpec>> {
    (0..=max).prop_flat_map(|count| {
        (0..count)
            .map(|index| cron_job(&format!("cron{index}")))
            .collect::<Vec<_>>()
    })
}

/// A SIGSTOP/SIGCONT of the scheduler lock holder's scheduler, at 0..`duration_s`, for
/// 1–120 s (beyond the 61 s lock TTL about half the time).
pub fn scheduler_pause(duration_s: u64) -> impl Strategy<Value = FaultSpec> {
    (0..duration_s.max(1) * 1_000, 1u64..=120).prop_map(|(at_ms, for_s)| FaultSpec {
        target: Target::SchedulerHolder,
        for_duration: Some(secs(for_s)),
        ..FaultSpec::at(FaultKind::Pause, millis(at_ms))
    })
}

/// One fault at 0..`duration_s`: a pause (of the lock holder, a worker, a horse, a scheduler
/// or a whole pod), and with `kills_and_net` also a pod kill, a network fault, an operator's
/// `rq suspend --duration` of 1–60 s or one of its pubsub commands to a random pod's worker
/// (`shutdown`, `kill_horse`, `stop_job`).
pub fn fault(duration_s: u64, kills_and_net: bool) -> impl Strategy<Value = FaultSpec> {
    let at = (0..duration_s.max(1) * 1_000).prop_map(millis);
    let target = prop_oneof![
        Just(Target::SchedulerHolder),
        Just(Target::Worker),
        Just(Target::Horse),
        Just(Target::Scheduler),
        Just(Target::Any),
    ];
    let pause = (at.clone(), target, 1u64..=120).prop_map(|(at, target, for_s)| FaultSpec {
        target,
        for_duration: Some(secs(for_s)),
        ..FaultSpec::at(FaultKind::Pause, at)
    });
    if !kills_and_net {
        return pause.boxed();
    }
    let kill = (at.clone(), any::<bool>()).prop_map(|(at, holder)| FaultSpec {
        target: if holder {
            Target::SchedulerHolder
        } else {
            Target::Any
        },
        ..FaultSpec::at(FaultKind::PodKill, at)
    });
    let mode = prop_oneof![
        Just(NetMode::Drop),
        Just(NetMode::Refuse),
        Just(NetMode::LostReply)
    ];
    let net = (at.clone(), mode, 1u64..=30).prop_map(|(at, mode, for_s)| FaultSpec {
        mode: Some(mode),
        for_duration: Some(secs(for_s)),
        ..FaultSpec::at(FaultKind::Net, at)
    });
    // `rq suspend --duration`: the operator's own fault, which lifts itself.
    let suspend = (at.clone(), 1u64..=60).prop_map(|(at, for_s)| FaultSpec {
        for_duration: Some(secs(for_s)),
        ..FaultSpec::at(FaultKind::Suspend, at)
    });
    let kind = prop_oneof![
        Just(FaultKind::Shutdown),
        Just(FaultKind::KillHorse),
        Just(FaultKind::StopJob)
    ];
    let command = (at.clone(), kind).prop_map(|(at, kind)| FaultSpec::at(kind, at));
    prop_oneof![
        4 => pause,
        2 => kill,
        2 => net,
        1 => suspend,
        1 => command,
        1 => job_action(at)
    ]
    .boxed()
}

/// The operator's job and queue actions on the `default` queue every generated workload
/// uses: cancel one of the first jobs, requeue the failed ones (all, or one), empty the queue.
fn job_action(at: impl Strategy<Value = SimDuration>) -> impl Strategy<Value = FaultSpec> {
    let job = (1u32..=30).prop_map(|n| format!("j{n}"));
    let cancel = job
        .clone()
        .prop_map(|job| (FaultKind::Cancel, Some(job), None));
    let requeue = prop::option::of(job)
        .prop_map(|job| (FaultKind::Requeue, job, Some("default".to_string())));
    let empty = Just((FaultKind::EmptyQueue, None, Some("default".to_string())));
    let action = prop_oneof![2 => cancel, 2 => requeue, 1 => empty];
    (at, action).prop_map(|(at, (kind, job, queue))| FaultSpec {
        job,
        queue,
        ..FaultSpec::at(kind, at)
    })
}

/// Up to `max_faults` scripted faults, and sometimes a random-rate pause of the holder.
pub fn fault_plan(
    duration_s: u64,
    max_faults: usize,
    kills_and_net: bool,
) -> impl Strategy<Value = Vec<FaultSpec>> {
    let scripted = prop::collection::vec(fault(duration_s, kills_and_net), 0..=max_faults);
    let random_pause =
        prop::option::of(
            (1u32..=6, 60u64..=100).prop_map(|(per_h, for_s)| FaultSpec {
                at: None,
                rate: Some(Rate::per_second(f64::from(per_h) / 3_600.0)),
                target: Target::SchedulerHolder,
                for_duration: Some(secs(for_s)),
                ..FaultSpec::at(FaultKind::Pause, SimDuration::ZERO)
            }),
        );
    (scripted, random_pause).prop_map(|(mut faults, random)| {
        faults.extend(random);
        faults
    })
}

/// One dependent workload, number `index` (named `d<index>`), of a pipeline whose root is
/// `w0`: it depends on one or two of the earlier members (`w0`, `d0` … `d<index-1>`), so
/// chains, fan-outs and fan-ins all come up; 1–4 jobs per run, sometimes with
/// `allow_failure`, `enqueue_at_front` or a delay, failing sometimes, with a retry policy and
/// webhooks as any workload.
pub fn dependent(index: usize) -> impl Strategy<Value = WorkloadSpec> {
    let members: Vec<String> = std::iter::once("w0".to_string())
        .chain((0..index).map(|j| format!("d{j}")))
        .collect();
    let picks = (0..members.len(), prop::option::of(0..members.len()));
    let flags = (
        any::<bool>(),
        any::<bool>(),
        prop_oneof![3 => Just(0u64), 1 => 1u64..=3_000],
    );
    let behaviour = (50u64..=3_000, 0.0..0.5f64, retry_policy(), webhook_policy());
    (picks, 1u32..=4, flags, behaviour).prop_map(
        move |((first, second), fan_out, (allow_failure, at_front, delay_ms), behaviour)| {
            let (duration_ms, fail_probability, retry, webhook) = behaviour;
            let mut parents = vec![members[first].clone()];
            parents.extend(second.filter(|&j| j != first).map(|j| members[j].clone()));
            WorkloadSpec {
                name: Some(format!("d{index}")),
                duration: Distribution::Constant(millis(duration_ms)),
                fail_probability,
                retry,
                webhook,
                depends_on: Some(DependsOnSpec {
                    workloads: parents,
                    fan_out,
                    allow_failure,
                    enqueue_at_front: at_front,
                    delay: millis(delay_ms),
                }),
                ..WorkloadSpec::default()
            }
        },
    )
}

/// Up to `max` dependent workloads of the pipeline rooted at `w0` (see [`dependent`]).
pub fn dependents(max: usize) -> impl Strategy<Value = Vec<WorkloadSpec>> {
    (0..=max).prop_flat_map(|count| (0..count).map(dependent).collect::<Vec<_>>())
}

/// Workloads on one queue need names of their own (as `simrq validate` demands): `w0`, `w1`, …
fn named(mut workloads: Vec<WorkloadSpec>, dependents: Vec<WorkloadSpec>) -> Vec<WorkloadSpec> {
    if workloads.len() > 1 || !dependents.is_empty() {
        for (index, workload) in workloads.iter_mut().enumerate() {
            workload.name = Some(format!("w{index}"));
        }
    }
    workloads.extend(dependents);
    workloads
}

/// A whole scenario within `shape`: one `--with-scheduler` pod group, sometimes a second
/// group without the scheduler, one or more workloads on `default` (the first, with `max_dependents`, the root of a pipeline of dependent workloads), a fault plan, a short
/// maintenance interval half the time (so that takeovers happen within the run), and the
/// default checks with every duplicate and lost job reported.
pub fn scenario(shape: ScenarioShape) -> impl Strategy<Value = Scenario> {
    let duration_s = 60..=shape.max_duration_s.max(60);
    let plain_pods = prop::option::of(pod_group("plain", shape.max_pods.max(2) / 2));
    let workloads = prop::collection::vec(
        workload(shape.max_arrivals_per_s),
        1..=shape.max_workloads.max(1),
    );
    let maintenance_s = prop_oneof![Just(600u64), 10u64..=120];
    let workloads = (workloads, dependents(shape.max_dependents));
    (
        duration_s,
        plain_pods,
        workloads,
        maintenance_s,
        1..=shape.max_pods.max(1),
        cron_jobs(shape.max_cron_jobs),
    )
        .prop_flat_map(
            move |(duration_s, plain, workloads, maintenance_s, replicas, cron)| {
                let faults = fault_plan(duration_s, shape.max_faults, shape.kills_and_net);
                (
                    Just((duration_s, plain, workloads, maintenance_s, replicas, cron)),
                    faults,
                )
            },
        )
        .prop_map(
            |((duration_s, plain, workloads, maintenance_s, replicas, cron), faults)| {
                let mut scenario = Scenario::default();
                scenario.run.duration = secs(duration_s);
                scenario.rq.maintenance_interval = secs(maintenance_s);
                scenario.pods = vec![PodSpec {
                    replicas,
                    with_scheduler: true,
                    cron: !cron.is_empty(),
                    ..PodSpec::default()
                }];
                scenario.cron = cron;
                scenario.pods.extend(plain);
                let (workloads, dependents) = workloads;
                scenario.workload = named(workloads, dependents);
                scenario.faults = faults;
                scenario
            },
        )
}
