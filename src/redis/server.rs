//! The Redis server model: the keyspace plus per-connection protocol state (MULTI, WATCH) and
//! clients blocked in BLMOVE/BLPOP. It has no clock of its own: every call passes the server
//! time, so it is a plain deterministic state machine that the network layer drives.

use crate::redis::reply::{Command, Reply};
use crate::sim::{SimDuration, SimTime};

/// A client connection, as the server knows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConnId(pub u64);

/// What the server did with a request.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// One reply per command of the request, in order.
    Replies(Vec<Reply>),
    /// The request was a single blocking pop that found nothing: the client is parked until
    /// a push serves it ([`Server::take_unblocked`]) or its timeout passes
    /// ([`Server::block_timed_out`]); `None` means it blocks forever (timeout 0).
    Blocked { timeout: Option<SimDuration> },
}

/// The keyspace as a snapshot (what `SAVE` would write).
#[derive(Clone, Debug, Default)]
pub struct Snapshot {}

/// An in-memory Redis.
#[derive(Default)]
pub struct Server {}

impl Server {
    pub fn new() -> Server {
        Server::default()
    }

    /// Executes the commands a client wrote in one go (one command, or a pipeline such as
    /// `MULTI … EXEC`) at server time `now`.
    pub fn execute(&mut self, _now: SimTime, _conn: ConnId, request: &[Command]) -> Outcome {
        Outcome::Replies(
            request
                .iter()
                .map(|_| Reply::error("ERR not implemented"))
                .collect(),
        )
    }

    /// Replies for blocked clients that the last `execute` served, in FIFO order.
    pub fn take_unblocked(&mut self) -> Vec<(ConnId, Reply)> {
        Vec::new()
    }

    /// The blocking timeout of `conn` passed: its timeout reply, if it is still blocked.
    pub fn block_timed_out(&mut self, _now: SimTime, _conn: ConnId) -> Option<Reply> {
        None
    }

    /// The client closed the connection: forget its MULTI, WATCHes and blocked request.
    pub fn disconnect(&mut self, _conn: ConnId) {}

    /// Restart: every connection is dropped; the keyspace is lost or restored from `snapshot`.
    pub fn restart(&mut self, _snapshot: Option<Snapshot>) {}

    pub fn snapshot(&self) -> Snapshot {
        Snapshot {}
    }

    /// Removes keys whose TTL has passed (Redis's active expiry); returns how many.
    pub fn active_expire(&mut self, _now: SimTime) -> usize {
        0
    }

    /// The value of a string key, without side effects (for observers, not for clients).
    pub fn peek_string(&self, _now: SimTime, _key: &str) -> Option<String> {
        None
    }

    /// Number of live keys.
    pub fn key_count(&self) -> usize {
        0
    }
}
