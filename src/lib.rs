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
//! | [`scenario`] | the TOML scenario format: parsing, validation, errors, schema |
//! | [`check`] | invariant checkers that watch the event stream |
//! | [`report`] | CSV files, summary, charts |
//! | [`sweep`], [`review`], [`queueing`] | capacity sweeps, design-review reports, Erlang C |
//! | [`compare`] | a real RQ run against a simulated one, metric by metric |
//! | [`harness`] | a small world for scripted tests and users' property tests |
//!
//! Where to start: [`harness::Harness`] to drive the model from Rust, `src/rq/scheduler.rs`
//! beside RQ's `rq/scheduler.py`, or `simrq run scenarios/pod-churn.toml`.
pub mod check;
pub mod cli;
pub mod cluster;
pub mod compare;
pub mod event;
pub mod faults;
pub mod harness;
pub mod net;
pub mod queueing;
pub mod redis;
pub mod report;
pub mod review;
pub mod rq;
pub mod run;
pub mod scenario;
pub mod sim;
pub mod sweep;
pub mod workload;
