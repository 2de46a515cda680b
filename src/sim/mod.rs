//! The simulation kernel: virtual time, the executor of simulated processes, and seeded
//! randomness. Nothing in here knows about Redis or RQ.
pub mod calendar;
pub mod dist;
mod event_queue;
pub mod kernel;
pub mod rng;
pub mod threads;
pub mod time;

pub use dist::{sample_lognormal, DurationDist};
pub use kernel::{
    EventHook, ExitStatus, HookId, HostId, KillScope, Pid, ReservedWake, Signal, Sim,
};
pub use rng::{RngStreams, SimRng};
pub use threads::{with_threads, Threads};
pub use time::{SimDuration, SimTime};
