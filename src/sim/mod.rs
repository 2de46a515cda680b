//! The simulation kernel: virtual time, the executor of simulated processes, seeded randomness.
pub mod time;
pub use time::{SimDuration, SimTime};
