//! An in-memory Redis that answers the commands RQ 2.12 issues as real Redis 7.0 does.
//!
//! Where to look:
//!
//! | file | idea |
//! |---|---|
//! | `arg.rs` | [`Arg`]: one word of a command, inline when short; what `cmd!` accepts |
//! | `server.rs` | [`Server`]: requests, MULTI/EXEC/WATCH flow, CLIENT, restart and snapshots |
//! | `commands.rs` | the command table: names, arities, handlers; PING, ECHO, INFO, SCRIPT |
//! | `keyspace.rs` | keys, values, TTLs (lazy and active expiry), typed lookups |
//! | `memory/` | `maxmemory`: each key's cost in bytes, the eviction policies, `OOM` |
//! | `key_text.rs` | how the keyspace hashes and compares keys (a word at a time) |
//! | `keys.rs` | SET, GET, DEL, EXISTS, TYPE, EXPIRE, PEXPIRE, TTL, PTTL, PERSIST, FLUSHALL |
//! | `hashes.rs`, `lists.rs`, `sets.rs`, `zsets.rs`, `streams.rs` | one data type each |
//! | `blocking.rs` | BLMOVE/BLPOP: parked clients, FIFO service, timeouts |
//! | `pubsub.rs` | SUBSCRIBE, UNSUBSCRIBE, PUBLISH, PUBSUB NUMSUB: channels and subscribers |
//! | `transactions.rs` | the WATCH table and queued MULTI commands |
//! | `exec_replies.rs` | EXEC's replies, in lists the server reuses once RQ's code drops them |
//! | `scripts.rs`, `sha1.rs` | RQ's two lock scripts and `Queue.empty`'s, run natively behind EVAL/EVALSHA |
//! | `numbers.rs`, `long_double.rs` | integers and floats as Redis parses and prints them |
//! | `errors.rs` | error replies, word for word |
//! | `peek.rs` | side-effect-free reads for observers |
//!
//! Deliberate differences from real Redis are documented where they live: `keyspace.rs`
//! (a key is gone at exactly its expiry instant), `hashes.rs` (big hashes keep insertion
//! order), `sets.rs` (SMEMBERS sorted), `numbers.rs` (HINCRBYFLOAT of hex floats or beyond ±1e60),
//! `scripts.rs` (only RQ's scripts; always loaded), `server.rs` (a blocking pop inside a
//! longer pipeline does not block), `pubsub.rs` (several channels' confirmations in one
//! reply; PUBSUB has only NUMSUB).
pub mod arg;
pub mod blocking;
pub mod commands;
pub mod errors;
pub mod exec_replies;
mod expiry;
pub mod hashes;
pub mod key_text;
pub mod keys;
pub mod keyspace;
pub mod lists;
mod long_double;
pub mod memory;
pub mod numbers;
mod peek;
pub mod pubsub;
pub mod reply;
pub mod scripts;
pub mod server;
pub mod sets;
pub mod sha1;
pub mod streams;
pub mod transactions;
pub mod zsets;

pub use arg::{Arg, IntoArg};
pub use reply::{Command, Reply, Words};
pub use scripts::{
    acquire_or_refresh_lock_command, empty_queue_command, release_lock_command,
    ACQUIRE_OR_REFRESH_LOCK_SCRIPT, ACQUIRE_OR_REFRESH_LOCK_SHA, EMPTY_QUEUE_SHA,
    RELEASE_LOCK_SCRIPT, RELEASE_LOCK_SHA,
};
pub use server::{ConnId, Executed, Outcome, Server, Snapshot};

#[cfg(test)]
pub(crate) mod test_support {
    use super::*;
    use crate::sim::SimTime;

    pub const A: ConnId = ConnId(1);
    pub const B: ConnId = ConnId(2);
    pub const C: ConnId = ConnId(3);

    pub fn command(words: &[&str]) -> Command {
        Command::from_words(words)
    }

    /// The randomised tests' draws: a 64-bit linear congruential generator, so that a
    /// failing case is the same on every run.
    pub struct Lcg(pub u64);

    impl Lcg {
        /// Steps the generator; its whole new state.
        pub fn step(&mut self) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            self.0
        }

        /// The high 31 bits of the next state (the well-mixed ones).
        pub fn high(&mut self) -> u64 {
            self.step() >> 33
        }

        /// A draw below `bound`, from [`Lcg::high`].
        pub fn below(&mut self, bound: u64) -> u64 {
            self.high() % bound
        }
    }

    /// Runs one command that must not block; its reply.
    pub fn run(server: &mut Server, now: SimTime, conn: ConnId, words: &[&str]) -> Reply {
        match server.execute(now, conn, &[command(words)]) {
            Outcome::Replies(mut replies) => replies.pop().expect("one reply"),
            Outcome::Blocked { .. } => panic!("{words:?} blocked"),
        }
    }

    /// Runs one command at time zero on connection A.
    pub fn run0(server: &mut Server, words: &[&str]) -> Reply {
        run(server, SimTime::ZERO, A, words)
    }

    pub fn bulk(text: &str) -> Reply {
        Reply::Bulk(Arg::from(text))
    }

    pub fn bulks(texts: &[&str]) -> Reply {
        Reply::Array(texts.iter().map(|t| bulk(t)).collect())
    }

    pub fn err(text: &str) -> Reply {
        Reply::Error(text.to_string())
    }

    pub fn ok() -> Reply {
        Reply::ok()
    }
}
