//! An in-memory Redis that answers the commands RQ 2.12 issues as real Redis does.
pub mod reply;
pub mod server;

pub use reply::{Command, Reply};
pub use server::{ConnId, Outcome, Server, Snapshot};

/// Placeholder until the scripts land: the acquire-or-refresh lock command.
pub fn acquire_or_refresh_lock_command(key: &str, name: &str, ttl_s: u64) -> Command {
    crate::cmd!("EVALSHA", "acquire", 1, key, name, ttl_s)
}

/// Placeholder until the scripts land: the release lock command.
pub fn release_lock_command(key: &str, name: &str) -> Command {
    crate::cmd!("EVALSHA", "release", 1, key, name)
}
