//! The RQ 2.12 model: workers, work-horses, the scheduler, retries and maintenance, as
//! simulated processes that issue the Redis commands RQ issues, in the same order and the
//! same transactions (rq-semantics.md is the specification; each function names the RQ
//! function it follows).
//!
//! ```text
//!   producer ──enqueue──► rq:queue:<q> ──BLMOVE──► worker ──fork──► horse ──► finished/failed
//!                              ▲                      │                          │ retry
//!                              │                      └─fork─► scheduler         ▼
//!                              └────────── due ids ◄──────────── rq:scheduled:<q> (ZSET)
//! ```
//!
//! Start at [`worker::spawn_worker`]; the horse is in `horse.rs` (a `SimpleWorker` runs the
//! same `perform_job` in its own process, `simple.rs`), the scheduler in `scheduler.rs`,
//! maintenance in `maintenance.rs`.

pub mod body;
pub mod command;
pub mod cron;
pub mod cron_expr;
pub mod dependencies;
pub mod env;
mod execute;
pub mod failure;
pub mod horse;
pub mod job;
pub mod keys;
mod maintenance;
pub mod operations;
pub mod operator;
pub mod params;
pub mod queue;
pub mod repeat;
pub mod scheduler;
mod simple;
pub mod webhook;
pub mod worker;

pub use body::{DurationDist, JobClass, Outcome, RepeatPolicy, WebhookPolicy};
pub use env::{ProcCtx, ProcessInfo, Role, RqEnv};
pub use params::{RqParams, SchedulerVersion, WhatIf};
pub use worker::{spawn_worker, WorkerClass, WorkerSpec};
