//! simrq: a deterministic simulation testbed for Python-RQ deployments.
//!
//! It runs RQ 2.12's own algorithms (workers, work-horses, the scheduler, retries,
//! registries, maintenance) against an in-memory Redis on a virtual clock, under pod crashes,
//! rolling deploys, SIGTERM with a grace period, pauses, network faults, Redis restarts and
//! clock skew, and checks retry counts, retry timing and the single active scheduler.
//!
//! Module map, bottom up:
//!
//! | module | what it is |
//! |---|---|
//! | [`sim`] | the kernel: virtual time, the executor of simulated processes, seeded RNG streams |
//! | [`redis`] | the Redis model: data types, TTLs, MULTI/EXEC/WATCH, blocking pops, RQ's lock scripts |
//! | [`net`] | links with latency and faults, server pause/restart, the redis-py client |
//! | [`rq`] | the RQ 2.12 model: worker, horse, scheduler, maintenance, retries, producers |
//! | [`event`] | the typed event stream every observer consumes |
//! | [`cluster`], [`workload`], [`faults`] | Kubernetes pods, arrivals, the fault injector |
//! | [`k8s`] | Kubernetes manifests read into pod groups (`simrq calibrate --k8s`) |
//! | [`scenario`] | the TOML scenario format: parsing, validation, errors, schema |
//! | [`calibrate`] | `simrq calibrate`: a scenario fitted to a deployment's Redis, read-only |
//! | [`check`] | invariant checkers that watch the event stream |
//! | [`report`] | CSV files, summary, charts |
//! | [`sweep`], [`review`], [`queueing`] | capacity sweeps, design-review reports, Erlang C |
//! | [`compare`] | a real RQ run against a simulated one, metric by metric |
//! | [`harness`] | a small world for scripted tests and users' property tests |
//! | [`run`] | one scenario, one seed: the world, the outputs, the verdict |
//! | [`explore`] | many seeds on every core, failure rates, shrinking to a minimal file |
//! | [`strategy`] | proptest strategies for random workloads and fault plans |
//!
//! Where to start: [`harness::Harness`] to drive the model from Rust, `src/rq/scheduler.rs`
//! beside RQ's `rq/scheduler.py`, or `simrq run scenarios/pod-churn.toml`.
//!
//! # In your own tests
//!
//! A [`Scenario`] is plain data: load it from a file ([`Scenario::load`]), parse it
//! ([`Scenario::from_toml`]) or build it in Rust, then run it with one seed
//! ([`Scenario::run_seed`]): no file is kept, and the result holds the summary and every
//! violation. [`strategy`] generates random scenarios for proptest.
//!
//! ```
//! use simrq::scenario::{FaultKind, FaultSpec, Target};
//! use simrq::sim::SimDuration;
//! use simrq::Scenario;
//!
//! let mut scenario = Scenario::from_toml(
//!     r#"
//!     [run]
//!     duration = "5m"
//!     drain = "2m"
//!     [[pods]]
//!     replicas = 2
//!     with_scheduler = true
//!     [[workload]]
//!     arrival = { poisson_per_s = 1 }
//!     retry = { max = 2, interval = "5s" }
//!     fail_probability = 0.2
//!     "#,
//! )
//! .unwrap();
//! // Freeze the scheduler holding the lock for 10 s, two minutes in.
//! scenario.faults.push(FaultSpec {
//!     target: Target::SchedulerHolder,
//!     for_duration: Some(SimDuration::from_secs(10)),
//!     ..FaultSpec::at(FaultKind::Pause, SimDuration::from_secs(120))
//! });
//! let result = scenario.run_seed(7).unwrap();
//! assert!(result.summary.jobs > 0);
//! // A 10 s pause is shorter than the 61 s lock TTL: nothing runs twice.
//! assert!(result.violations.iter().all(|v| v.check != "duplicate_execution"));
//! ```
pub mod alloc;
pub mod calibrate;
pub mod check;
pub mod cli;
pub mod cluster;
pub mod compare;
pub mod csv_input;
pub mod event;
pub mod explore;
pub mod faults;
pub mod harness;
pub mod jobs;
pub mod k8s;
pub mod net;
pub mod queueing;
pub mod redis;
pub mod report;
pub mod review;
pub mod rq;
pub mod run;
pub mod scenario;
pub mod sim;
pub mod strategy;
pub mod sweep;
pub mod workload;

pub use run::{RunError, RunResult};
pub use scenario::Scenario;
