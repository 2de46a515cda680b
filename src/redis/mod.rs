//! An in-memory Redis that answers the commands RQ 2.12 issues as real Redis does.
pub mod reply;
pub mod server;

pub use reply::{Command, Reply};
pub use server::{ConnId, Outcome, Server, Snapshot};
