//! The keyspace: keys, their values and their TTLs on the server clock.
//!
//! ```text
//!   entries: HashMap<key, Entry { value, expire_at }>   (unkeyed hasher: no random seed)
//!   expiry:  rows (expire_at, key), earliest first      -- one per TTL a key is given
//! ```
//!
//! A key whose `expire_at` has come (`now >= expire_at`) is logically gone. Reads and writes
//! remove it first (lazy expiry); [`Db::active_expire`] takes the due rows of the expiry index
//! ([`ExpiryIndex`]) so that keys nobody touches again are removed too and memory stays
//! bounded. A row is only a reminder to look at the key: each new TTL adds one, and a row
//! whose time is no longer its key's `expire_at` (the key was deleted, replaced or given
//! another TTL since) is stale and skipped. Rows are never searched for, which made an
//! ordered set cost a key copy and two tree walks per EXPIRE; stale rows are dropped when
//! they come up, or all at once when they outnumber the keys.
//! Every removal by expiry and every write tells the WATCH table, as Redis's
//! `signalModifiedKey` does.
//!
//! Keys are stored as [`Arg`]s: RQ's keys (`rq:job:j42`, `rq:queue:default`) fit inline, so
//! creating a key or giving it a TTL allocates nothing for its name.

use std::collections::{hash_map, BTreeSet, HashMap, VecDeque};

use crate::redis::arg::Arg;
use crate::redis::expiry::ExpiryIndex;
use crate::redis::hashes::Hash;
use crate::redis::key_text::{KeyText, StoredKey};
use crate::redis::memory::Memory;
use crate::redis::streams::Stream;
use crate::redis::transactions::WatchTable;
use crate::redis::zsets::SortedSet;
use crate::sim::rng::WordBuildHasher;
use crate::sim::SimTime;

/// A value of one of the types the model knows.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Str(String),
    List(VecDeque<Arg>),
    Hash(Hash),
    Set(BTreeSet<Arg>),
    ZSet(SortedSet),
    Stream(Stream),
}

impl Value {
    /// The name TYPE replies.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
            Value::List(_) => "list",
            Value::Hash(_) => "hash",
            Value::Set(_) => "set",
            Value::ZSet(_) => "zset",
            Value::Stream(_) => "stream",
        }
    }

    /// Collections are deleted when they become empty; strings and streams never are.
    fn is_empty_collection(&self) -> bool {
        match self {
            Value::Str(_) | Value::Stream(_) => false,
            Value::List(list) => list.is_empty(),
            Value::Hash(hash) => hash.is_empty(),
            Value::Set(set) => set.is_empty(),
            Value::ZSet(zset) => zset.is_empty(),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub value: Value,
    pub expire_at: Option<SimTime>,
}

impl Entry {
    pub fn new(value: Value) -> Entry {
        Entry {
            value,
            expire_at: None,
        }
    }
}

/// What [`Db::change_expiry`] does with a live key's TTL.
pub enum ExpiryChange {
    Keep,
    /// A new TTL (`None`: none).
    Set(Option<SimTime>),
    /// The key goes, as EXPIRE with a time already past does.
    Delete,
}

/// The stored keys, with absolute expiry times (what a snapshot holds).
#[derive(Clone, Debug, Default)]
pub struct Keys {
    /// Looked up by key only, never iterated in an order that matters.
    entries: HashMap<StoredKey, Entry, WordBuildHasher>,
    /// Earliest first; possibly stale rows (see the module comment).
    expiry: ExpiryIndex,
}

impl PartialEq for Keys {
    /// The same keys, values and expiry times (the index is bookkeeping).
    fn eq(&self, other: &Keys) -> bool {
        self.entries == other.entries
    }
}

/// The keyspace plus the bookkeeping that writes feed: WATCH dirtiness and lists that became
/// ready for blocked clients.
#[derive(Default)]
pub struct Db {
    pub keys: Keys,
    pub watch: WatchTable,
    /// Lists pushed to since the blocked clients were last served, in push order. Arg keys:
    /// RQ's fit inline, so noting a push allocates nothing.
    pub pushed_lists: Vec<Arg>,
    /// The error every write gets instead of running (`Server::refuse_writes`): kept here so
    /// that a script's writes are refused too.
    pub write_refusal: Option<&'static str>,
    /// The `maxmemory` accounting, when the server has it: every key a command touches is
    /// noted for it.
    pub memory: Option<Box<Memory>>,
}

impl Db {
    /// A command touched `key`: its cost and LRU clock are settled after the command.
    #[inline]
    fn note(&mut self, key: &str) {
        if let Some(memory) = &mut self.memory {
            memory.note(key, true);
        }
    }

    /// A command looked `key` up without touching it (`LOOKUP_NOTOUCH`: EXISTS, TYPE, TTL).
    #[inline]
    fn note_untouched(&mut self, key: &str) {
        if let Some(memory) = &mut self.memory {
            memory.note(key, false);
        }
    }

    /// Removes `key` if its TTL has passed; true if it did. Looks only when some key may
    /// have expired ([`Keys::may_have_expired`]), so that a lookup that follows is the only one.
    pub fn expire_if_needed(&mut self, now: SimTime, key: &str) -> bool {
        if !self.keys.may_have_expired(now) {
            return false;
        }
        let due = matches!(
            self.keys.entries.get(KeyText::new(key)),
            Some(Entry { expire_at: Some(at), .. }) if *at <= now
        );
        if due {
            self.keys.remove(key);
            self.watch.touch(key);
        }
        due
    }

    /// The expiry time of `key` if it is live (`Some(None)`: no TTL); `None` if it is missing
    /// or has just expired, which removes it. One lookup, even when some key may have expired.
    pub fn expiry_of(&mut self, now: SimTime, key: &str) -> Option<Option<SimTime>> {
        self.note_untouched(key);
        let expire_at = self.keys.entries.get(KeyText::new(key))?.expire_at;
        if expire_at.is_some_and(|at| at <= now) {
            self.keys.remove(key);
            self.watch.touch(key);
            return None;
        }
        Some(expire_at)
    }

    /// The live entry of `key`: one lookup unless some key may have expired.
    pub fn get(&mut self, now: SimTime, key: &str) -> Option<&Entry> {
        self.note(key);
        self.expire_if_needed(now, key);
        self.keys.entries.get(KeyText::new(key))
    }

    /// [`Db::get`] for a command that leaves the key's LRU clock (TYPE, MEMORY USAGE).
    pub fn get_untouched(&mut self, now: SimTime, key: &str) -> Option<&Entry> {
        self.note_untouched(key);
        self.expire_if_needed(now, key);
        self.keys.entries.get(KeyText::new(key))
    }

    pub fn get_mut(&mut self, now: SimTime, key: &str) -> Option<&mut Entry> {
        self.note(key);
        self.expire_if_needed(now, key);
        self.keys.entries.get_mut(KeyText::new(key))
    }

    /// Whether `key` is stored and live at `now`; an expired one is removed on the way.
    pub fn exists(&mut self, now: SimTime, key: &str) -> bool {
        self.expiry_of(now, key).is_some()
    }

    /// SET's one lookup: `decide` sees the live entry of `key` (`None`: missing) and returns
    /// the entry to store in its place, if any; WATCHers see a store. A TTL the new entry
    /// has gets its row.
    pub fn store(
        &mut self,
        now: SimTime,
        key: &str,
        decide: impl FnOnce(Option<&Entry>) -> Option<Entry>,
    ) {
        self.note(key);
        self.expire_if_needed(now, key);
        let expire_at = match self.keys.entries.entry(StoredKey::new(key)) {
            hash_map::Entry::Occupied(mut found) => {
                let Some(new) = decide(Some(found.get())) else {
                    return;
                };
                let expire_at = new.expire_at;
                *found.get_mut() = new;
                expire_at
            }
            hash_map::Entry::Vacant(slot) => {
                let Some(new) = decide(None) else {
                    return;
                };
                slot.insert(new).expire_at
            }
        };
        if let Some(at) = expire_at {
            self.keys.add_row(now, at, key);
        }
        self.watch.touch(key);
    }

    /// Deletes `key`; true if it was there (live). One lookup: an expired key is removed
    /// too, as lazy expiry would, and WATCHers see either removal.
    pub fn delete(&mut self, now: SimTime, key: &str) -> bool {
        self.note(key);
        let Some(entry) = self.keys.entries.remove(KeyText::new(key)) else {
            return false;
        };
        self.watch.touch(key);
        entry.expire_at.is_none_or(|at| at > now)
    }

    /// EXPIRE's and PERSIST's lookup: `decide` sees the TTL of `key` (`None`: no TTL) if it is
    /// live and says what to do with it; WATCHers see a change. False if the key is missing
    /// or has just expired (which removes it) or `decide` kept the TTL. One lookup, where
    /// [`Db::expiry_of`] and a second lookup to set it would take two.
    pub fn change_expiry(
        &mut self,
        now: SimTime,
        key: &str,
        decide: impl FnOnce(Option<SimTime>) -> ExpiryChange,
    ) -> bool {
        self.note(key);
        let Some(entry) = self.keys.entries.get_mut(KeyText::new(key)) else {
            return false;
        };
        if entry.expire_at.is_some_and(|at| at <= now) {
            self.keys.remove(key);
            self.watch.touch(key);
            return false;
        }
        match decide(entry.expire_at) {
            ExpiryChange::Keep => return false,
            ExpiryChange::Set(expire_at) => {
                if entry.expire_at != expire_at {
                    entry.expire_at = expire_at;
                    if let Some(at) = expire_at {
                        self.keys.add_row(now, at, key);
                    }
                }
            }
            ExpiryChange::Delete => {
                self.keys.remove(key);
            }
        }
        self.watch.touch(key);
        true
    }

    /// A write changed `key` and left its collection `emptied` or not: WATCHers see it, and an
    /// emptied collection disappears. The caller held the collection, so it knows whether it
    /// is empty: a key that stays costs no lookup.
    pub fn modified(&mut self, key: &str, emptied: bool) {
        self.note(key);
        self.watch.touch(key);
        if emptied {
            self.keys.remove(key);
        }
    }

    /// Removes `key` if it is an empty collection (one created for a write that added nothing).
    pub fn drop_if_empty(&mut self, key: &str) {
        self.note(key);
        let emptied = matches!(self.keys.entries.get(KeyText::new(key)), Some(e) if e.value.is_empty_collection());
        if emptied {
            self.keys.remove(key);
        }
    }

    /// A push made `key` a non-empty list: blocked clients may be served.
    pub fn list_pushed(&mut self, key: &str) {
        if !self.pushed_lists.iter().any(|pushed| pushed == key) {
            self.pushed_lists.push(Arg::from(key));
        }
    }

    /// Removes every key whose TTL has passed; returns how many.
    pub fn active_expire(&mut self, now: SimTime) -> usize {
        // The network calls this before every request, and most find no row due: a look at
        // the earliest row is cheaper than a pop that finds nothing.
        if !self.keys.may_have_expired(now) {
            return 0;
        }
        let mut removed = 0;
        while let Some(key) = self.keys.pop_due(now) {
            self.keys.remove(&key);
            self.watch.touch(&key);
            self.note(&key);
            removed += 1;
        }
        removed
    }

    /// Empties the keyspace (FLUSHALL): WATCHers of existing keys see a change.
    pub fn flush(&mut self) {
        let keys: Vec<Arg> = self.keys.entries.keys().map(|key| key.0.clone()).collect();
        for key in keys {
            self.watch.touch(&key);
            self.note(&key);
        }
        self.keys = Keys::default();
    }
}

impl Keys {
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entry of `key`, live or expired but not yet removed (what Redis's memory holds).
    pub fn stored(&self, key: &str) -> Option<&Entry> {
        self.entries.get(KeyText::new(key))
    }

    /// Every stored key with its entry, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Entry)> {
        self.entries
            .iter()
            .map(|(key, entry)| (key.0.as_str(), entry))
    }

    /// The entry of `key` if it is live at `now`, without removing anything.
    pub fn peek(&self, now: SimTime, key: &str) -> Option<&Entry> {
        self.entries
            .get(KeyText::new(key))
            .filter(|entry| entry.expire_at.is_none_or(|at| at > now))
    }

    /// Whether `key` is stored but logically gone (its TTL passed and nobody removed it yet).
    pub fn is_expired(&self, now: SimTime, key: &str) -> bool {
        matches!(self.entries.get(KeyText::new(key)), Some(Entry { expire_at: Some(at), .. }) if *at <= now)
    }

    /// Drops every key already expired at `now` (a snapshot loaded after its keys' TTLs).
    pub fn drop_expired(&mut self, now: SimTime) {
        while let Some(key) = self.pop_due(now) {
            self.remove(&key);
        }
    }

    /// Rows in the expiry index, stale ones included.
    #[cfg(test)]
    pub fn expiry_rows(&self) -> usize {
        self.expiry.len()
    }

    /// Whether some key may be expired at `now`. Every key with a TTL has a row at its
    /// `expire_at` (each new TTL adds one, a rebuild keeps one per key, and a row is only
    /// taken off with its key), so while the earliest row is later than `now` none is. The
    /// network runs active expiry before each request, so a command almost never needs to
    /// look for an expired key before it looks up the key itself.
    #[inline]
    fn may_have_expired(&self, now: SimTime) -> bool {
        self.expiry.earliest().is_some_and(|at| at <= now)
    }

    /// The next key whose TTL has passed at `now`, its row taken off the index; stale rows
    /// are dropped on the way. Every key due at `now` comes out, in the order of its TTL.
    /// (Checking and removing through one `entry` of the row's key cost more: most rows are
    /// stale, and an entry costs more than a `get` for those.)
    fn pop_due(&mut self, now: SimTime) -> Option<Arg> {
        while let Some((at, key)) = self.expiry.pop_due(now) {
            let live = matches!(
                self.entries.get(KeyText::new(&key)),
                Some(entry) if entry.expire_at == Some(at)
            );
            if live {
                return Some(key);
            }
        }
        None
    }

    pub(crate) fn remove(&mut self, key: &str) -> bool {
        self.entries.remove(KeyText::new(key)).is_some()
    }

    /// Gives `key` a row for its new TTL `at`, set at `now`.
    fn add_row(&mut self, now: SimTime, at: SimTime, key: &str) {
        self.expiry.add(now, at, key);
        self.compact_expiry_if_mostly_stale();
    }

    /// A key whose long TTL is refreshed often (a heartbeat) leaves one stale row per refresh
    /// until the old time comes; rebuilding from the entries bounds the index by the keyspace.
    /// Each rebuild follows at least three times as many new rows as it keeps, so its cost
    /// per row stays constant. RQ's own refreshes, which end within minutes, stay below the
    /// bound (a rebuild every two minutes at 2x cost as much as the queues saved).
    fn compact_expiry_if_mostly_stale(&mut self) {
        if self.expiry.len() <= 4 * self.entries.len() + 1024 {
            return;
        }
        let rows = self
            .entries
            .iter()
            .filter_map(|(key, entry)| Some((entry.expire_at?, key.0.clone())));
        self.expiry.rebuild(rows);
    }
}

/// A value type the typed accessors can ask for.
pub trait Kind: Default + Sized {
    fn of(value: &Value) -> Option<&Self>;
    fn of_mut(value: &mut Value) -> Option<&mut Self>;
    fn wrap(self) -> Value;
}

macro_rules! kind {
    ($type:ty, $variant:ident) => {
        impl Kind for $type {
            fn of(value: &Value) -> Option<&Self> {
                match value {
                    Value::$variant(inner) => Some(inner),
                    _ => None,
                }
            }
            fn of_mut(value: &mut Value) -> Option<&mut Self> {
                match value {
                    Value::$variant(inner) => Some(inner),
                    _ => None,
                }
            }
            fn wrap(self) -> Value {
                Value::$variant(self)
            }
        }
    };
}

kind!(String, Str);
kind!(VecDeque<Arg>, List);
kind!(Hash, Hash);
kind!(BTreeSet<Arg>, Set);
kind!(SortedSet, ZSet);
kind!(Stream, Stream);

/// Result of a typed lookup: `Err` carries the WRONGTYPE reply.
pub type Typed<T> = Result<T, crate::redis::Reply>;

impl Db {
    /// The value of `key` as a `T`: `Ok(None)` if missing, WRONGTYPE if of another type.
    pub fn read<T: Kind>(&mut self, now: SimTime, key: &str) -> Typed<Option<&T>> {
        match self.get(now, key) {
            None => Ok(None),
            Some(entry) => T::of(&entry.value)
                .map(Some)
                .ok_or_else(crate::redis::errors::wrong_type),
        }
    }

    pub fn write<T: Kind>(&mut self, now: SimTime, key: &str) -> Typed<Option<&mut T>> {
        match self.get_mut(now, key) {
            None => Ok(None),
            Some(entry) => T::of_mut(&mut entry.value)
                .map(Some)
                .ok_or_else(crate::redis::errors::wrong_type),
        }
    }

    /// Checks that `key` is missing or a `T`, without borrowing it.
    pub fn check<T: Kind>(&mut self, now: SimTime, key: &str) -> Typed<bool> {
        self.read::<T>(now, key).map(|found| found.is_some())
    }

    /// Runs `change` on the value of `key` as a `T`, created empty if missing, and returns
    /// what it returns. The caller must leave something in a created collection or remove it
    /// again ([`Db::modified`], [`Db::drop_if_empty`]).
    pub fn update_or_create<T: Kind, R>(
        &mut self,
        now: SimTime,
        key: &str,
        change: impl FnOnce(&mut T) -> R,
    ) -> Typed<R> {
        self.note(key);
        // A live key (most writes): one lookup by the borrowed text, where an entry would
        // need an owned copy of the key. `change` runs in here, as a reference returned from
        // this branch would keep the map borrowed on the path below as well.
        if let Some(entry) = self.keys.entries.get_mut(KeyText::new(key)) {
            if entry.expire_at.is_none_or(|at| at > now) {
                return Self::typed(entry).map(change);
            }
        }
        self.create(now, key).map(change)
    }

    /// The value of `entry` as a `T`, or WRONGTYPE.
    fn typed<T: Kind>(entry: &mut Entry) -> Typed<&mut T> {
        T::of_mut(&mut entry.value).ok_or_else(crate::redis::errors::wrong_type)
    }

    /// [`Db::update_or_create`] of a key that is missing or expired.
    fn create<T: Kind>(&mut self, now: SimTime, key: &str) -> Typed<&mut T> {
        let empty = || Entry::new(T::default().wrap());
        // RQ's keys fit inline in an Arg, so the owned key an entry needs costs no allocation.
        let entry = match self.keys.entries.entry(StoredKey::new(key)) {
            hash_map::Entry::Occupied(found) => {
                let entry = found.into_mut();
                if entry.expire_at.is_some_and(|at| at <= now) {
                    // Expired: removed (which WATCHers see) and created anew, in place.
                    *entry = empty();
                    self.watch.touch(key);
                }
                entry
            }
            hash_map::Entry::Vacant(slot) => slot.insert(empty()),
        };
        Self::typed(entry)
    }
}

#[cfg(test)]
mod tests {
    use crate::redis::test_support::*;
    use crate::redis::{Reply, Server};
    use crate::sim::{SimDuration, SimTime};

    /// Commands skip the look for an expired key while the earliest expiry row is later than
    /// the clock: under TTLs set, moved, cleared and deleted at random, with and without
    /// active expiry in between, no key is ever expired while that holds.
    #[test]
    fn no_key_is_expired_while_the_earliest_row_is_later_than_the_clock() {
        let mut s = Server::new();
        let mut random = Lcg(5);
        let mut draw = |bound: u64| random.below(bound);
        let keys: Vec<String> = (0..30).map(|i| format!("k{i}")).collect();
        let mut now = SimTime::ZERO;
        for step in 0..5_000 {
            now += SimDuration::from_millis(draw(700));
            let key = &keys[draw(30) as usize];
            let ttl = (1 + draw(5_000)).to_string();
            let words: &[&str] = match draw(8) {
                0 => &["DEL", key],
                1 => &["PERSIST", key],
                2 => &["SET", key, "v"],
                3 => &["SET", key, "v", "PX", &ttl],
                4 => &["PEXPIRE", key, &ttl],
                5 => &["HSET", key, "f", "v"],
                6 => &["GET", key],
                _ => &["EXISTS", key],
            };
            run(&mut s, now, A, words);
            if draw(3) == 0 {
                s.active_expire(now);
            }
            let expired = keys.iter().any(|k| s.db.keys.is_expired(now, k));
            assert!(!expired || s.db.keys.may_have_expired(now), "step {step}");
        }
    }

    /// The writes tell [`super::Db::modified`] whether they emptied the collection instead of
    /// it looking again: every one that takes the last element must delete the key, and one
    /// that leaves elements must keep it.
    #[test]
    fn a_write_that_takes_the_last_element_deletes_the_key_and_no_other_does() {
        let fill: &[&[&str]] = &[
            &["RPUSH", "l", "a", "b"],
            &["HSET", "h", "f", "1", "g", "2"],
            &["SADD", "s", "a", "b"],
            &["ZADD", "z", "1", "a", "2", "b"],
        ];
        let cases: &[(&str, &[&str], &[&str])] = &[
            ("l", &["LPOP", "l"], &["LPOP", "l"]),
            ("l", &["RPOP", "l", "1"], &["RPOP", "l", "5"]),
            ("l", &["LREM", "l", "0", "a"], &["LREM", "l", "0", "b"]),
            (
                "l",
                &["LMOVE", "l", "m", "LEFT", "LEFT"],
                &["LMOVE", "l", "m", "LEFT", "LEFT"],
            ),
            ("l", &["BLPOP", "l", "0"], &["BLPOP", "l", "0"]),
            ("h", &["HDEL", "h", "f"], &["HDEL", "h", "g", "zz"]),
            ("s", &["SREM", "s", "a"], &["SREM", "s", "b"]),
            ("z", &["ZREM", "z", "a"], &["ZREM", "z", "b"]),
            (
                "z",
                &["ZREMRANGEBYSCORE", "z", "1", "1"],
                &["ZREMRANGEBYRANK", "z", "0", "-1"],
            ),
        ];
        for (key, first, last) in cases {
            let mut s = Server::new();
            for words in fill {
                run0(&mut s, words);
            }
            run0(&mut s, first);
            assert_eq!(run0(&mut s, &["EXISTS", key]), Reply::Int(1), "{first:?}");
            run0(&mut s, last);
            assert_eq!(run0(&mut s, &["EXISTS", key]), Reply::Int(0), "{last:?}");
        }
        let mut s = Server::new();
        run0(&mut s, &["LMOVE", "l", "m", "LEFT", "LEFT"]);
        run0(&mut s, &["ZADD", "z", "XX", "1", "a"]);
        run0(&mut s, &["ZADD", "z", "INCR", "nan", "a"]);
        run0(&mut s, &["HINCRBYFLOAT", "h", "f", "1.5"]);
        // Nothing moved, nothing added: no key; a field set: a hash.
        assert_eq!(run0(&mut s, &["EXISTS", "m", "z"]), Reply::Int(0));
        assert_eq!(run0(&mut s, &["EXISTS", "h"]), Reply::Int(1));
        run0(&mut s, &["RPUSH", "l", "a"]);
        run0(&mut s, &["LMOVE", "l", "l", "LEFT", "RIGHT"]);
        assert_eq!(run0(&mut s, &["EXISTS", "l"]), Reply::Int(1));
    }
}
