//! An in-memory Redis that answers the commands RQ 2.12 issues as real Redis 7.0 does.
//!
//! Where to look:
//!
//! | file | idea |
//! |---|---|
//! | `server.rs` | [`Server`]: requests, MULTI/EXEC/WATCH flow, CLIENT, restart and snapshots |
//! | `commands.rs` | the command table: names, arities, handlers; PING, ECHO, INFO, SCRIPT |
//! | `keyspace.rs` | keys, values, TTLs (lazy and active expiry), typed lookups |
//! | `keys.rs` | SET, GET, DEL, EXISTS, TYPE, EXPIRE, PEXPIRE, TTL, PTTL, PERSIST, FLUSHALL |
//! | `hashes.rs`, `lists.rs`, `sets.rs`, `zsets.rs`, `streams.rs` | one data type each |
//! | `blocking.rs` | BLMOVE/BLPOP: parked clients, FIFO service, timeouts |
//! | `transactions.rs` | the WATCH table and queued MULTI commands |
//! | `scripts.rs`, `sha1.rs` | RQ's two lock scripts, run natively behind EVAL/EVALSHA |
//! | `numbers.rs` | integers and floats as Redis parses and prints them |
//! | `errors.rs` | error replies, word for word |
//! | `peek.rs` | side-effect-free reads for observers |
//!
//! Deliberate differences from real Redis are documented where they live: `keyspace.rs`
//! (a key is gone at exactly its expiry instant), `hashes.rs` (big hashes keep insertion
//! order), `sets.rs` (SMEMBERS sorted), `numbers.rs` (HINCRBYFLOAT beyond small values),
//! `scripts.rs` (only RQ's scripts; always loaded), `server.rs` (a blocking pop inside a
//! longer pipeline does not block).
pub mod blocking;
pub mod commands;
pub mod errors;
pub mod hashes;
pub mod keys;
pub mod keyspace;
pub mod lists;
pub mod numbers;
mod peek;
pub mod reply;
pub mod scripts;
pub mod server;
pub mod sets;
pub mod sha1;
pub mod streams;
pub mod transactions;
pub mod zsets;

pub use reply::{Command, Reply};
pub use scripts::{
    acquire_or_refresh_lock_command, release_lock_command, ACQUIRE_OR_REFRESH_LOCK_SCRIPT,
    ACQUIRE_OR_REFRESH_LOCK_SHA, RELEASE_LOCK_SCRIPT, RELEASE_LOCK_SHA,
};
pub use server::{ConnId, Outcome, Server, Snapshot};
