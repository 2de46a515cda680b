//! Side-effect-free reads for observers (checkers, reports, tests): they never expire keys,
//! touch WATCHes or count as client commands. A key whose TTL has passed reads as missing.

use crate::redis::hashes::Hash;
use crate::redis::keyspace::{Entry, Kind};
use crate::redis::lists::List;
use crate::redis::server::Server;
use crate::redis::zsets::SortedSet;
use crate::sim::SimTime;

impl Server {
    fn peek<T: Kind>(&self, now: SimTime, key: &str) -> Option<&T> {
        self.db
            .keys
            .peek(now, key)
            .and_then(|entry: &Entry| T::of(&entry.value))
    }

    /// Whether `key` is live at `now`.
    pub fn peek_exists(&self, now: SimTime, key: &str) -> bool {
        self.db.keys.peek(now, key).is_some()
    }

    /// The type name of `key` (`"string"`, `"list"` …), as TYPE replies, if live.
    pub fn peek_type(&self, now: SimTime, key: &str) -> Option<&'static str> {
        self.db.keys.peek(now, key).map(|e| e.value.type_name())
    }

    /// The absolute expiry time of `key`, if it is live and has one.
    pub fn peek_expire_at(&self, now: SimTime, key: &str) -> Option<SimTime> {
        self.db.keys.peek(now, key).and_then(|e| e.expire_at)
    }

    /// The value of a string key, without side effects (for observers, not for clients).
    pub fn peek_string(&self, now: SimTime, key: &str) -> Option<String> {
        self.peek::<String>(now, key).cloned()
    }

    /// Length of a list (0 if missing or another type).
    pub fn peek_list_len(&self, now: SimTime, key: &str) -> usize {
        self.peek::<List>(now, key).map_or(0, List::len)
    }

    /// The elements of a list, left to right.
    pub fn peek_list(&self, now: SimTime, key: &str) -> Vec<String> {
        self.peek::<List>(now, key)
            .map(|list| list.iter().map(|value| value.to_string()).collect())
            .unwrap_or_default()
    }

    /// One field of a hash.
    pub fn peek_hash_field(&self, now: SimTime, key: &str, field: &str) -> Option<String> {
        self.peek::<Hash>(now, key)
            .and_then(|hash| hash.get(field))
            .map(str::to_string)
    }

    /// All fields of a hash in insertion order.
    pub fn peek_hash(&self, now: SimTime, key: &str) -> Vec<(String, String)> {
        self.peek::<Hash>(now, key)
            .map(|hash| {
                hash.iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Number of members of a sorted set.
    pub fn peek_zcard(&self, now: SimTime, key: &str) -> usize {
        self.peek::<SortedSet>(now, key).map_or(0, SortedSet::len)
    }

    /// The score of a sorted-set member.
    pub fn peek_zscore(&self, now: SimTime, key: &str, member: &str) -> Option<f64> {
        self.peek::<SortedSet>(now, key)
            .and_then(|zset| zset.score(member))
    }

    /// All members of a sorted set with scores, in (score, member) order.
    pub fn peek_zset(&self, now: SimTime, key: &str) -> Vec<(String, f64)> {
        self.peek::<SortedSet>(now, key)
            .map(|zset| zset.iter().map(|(m, s)| (m.to_string(), s)).collect())
            .unwrap_or_default()
    }

    /// Members of a set, in byte order.
    pub fn peek_set(&self, now: SimTime, key: &str) -> Vec<String> {
        self.peek::<std::collections::BTreeSet<crate::redis::Arg>>(now, key)
            .map(|set| set.iter().map(|member| member.to_string()).collect())
            .unwrap_or_default()
    }
}
