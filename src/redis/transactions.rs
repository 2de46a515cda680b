//! MULTI/EXEC state per connection and the WATCH table.
//!
//! A write to a key marks every connection WATCHing it dirty (Redis's `touchWatchedKey`);
//! so does removing it by expiry. EXEC of a dirty connection, or one whose WATCHed key has
//! expired meanwhile, replies a null array and runs nothing.

use std::collections::{BTreeMap, BTreeSet};

use crate::redis::reply::Command;
use crate::redis::server::ConnId;

#[derive(Default)]
pub struct WatchTable {
    watchers: BTreeMap<String, BTreeSet<ConnId>>,
    watched: BTreeMap<ConnId, Vec<String>>,
    dirty: BTreeSet<ConnId>,
}

impl WatchTable {
    /// `key` was written or removed: its watchers' transactions must fail.
    pub fn touch(&mut self, key: &str) {
        if let Some(connections) = self.watchers.get(key) {
            self.dirty.extend(connections.iter().copied());
        }
    }

    pub fn watch(&mut self, conn: ConnId, key: &str) {
        let keys = self.watched.entry(conn).or_default();
        if keys.iter().any(|watched| watched == key) {
            return;
        }
        keys.push(key.to_string());
        self.watchers
            .entry(key.to_string())
            .or_default()
            .insert(conn);
    }

    /// Forgets every WATCH of `conn` and its dirtiness.
    pub fn unwatch_all(&mut self, conn: ConnId) {
        self.dirty.remove(&conn);
        let Some(keys) = self.watched.remove(&conn) else {
            return;
        };
        for key in keys {
            if let Some(connections) = self.watchers.get_mut(&key) {
                connections.remove(&conn);
                if connections.is_empty() {
                    self.watchers.remove(&key);
                }
            }
        }
    }

    pub fn is_dirty(&self, conn: ConnId) -> bool {
        self.dirty.contains(&conn)
    }

    pub fn watched_keys(&self, conn: ConnId) -> &[String] {
        self.watched.get(&conn).map_or(&[], Vec::as_slice)
    }
}

/// The commands a connection queued after MULTI.
#[derive(Default)]
pub struct Transaction {
    pub queued: Vec<Command>,
    /// A queued command was unknown or had the wrong number of arguments: EXEC aborts.
    pub aborted: bool,
}
