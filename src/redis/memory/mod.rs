//! `maxmemory`: what the keyspace costs Redis, and what Redis does before a command when it
//! costs more than the limit (`performEvictions` in `processCommand`).
//!
//! ```text
//!   a command touches keys ──► noted ──► settled after it: each noted key's cost
//!                                        (size.rs) and LRU clock, the total kept
//!   the next command ──► used = startup + keys + its own arguments
//!                        over maxmemory? evict by the policy (eviction.rs) until under,
//!                        or give up: out of memory for this command (`OOM`, server.rs)
//! ```
//!
//! The accounting exists only when a scenario sets `[redis] maxmemory` (0: measured, never
//! enforced), so runs without it pay one branch per key lookup.

mod eviction;
pub mod size;

use std::collections::{BTreeMap, HashMap};

use crate::redis::arg::Arg;
use crate::redis::key_text::{KeyText, StoredKey};
use crate::redis::keyspace::{Entry, Keys};
use crate::sim::rng::{SimRng, WordBuildHasher};
use crate::sim::SimTime;

pub use eviction::Policy;

/// `used_memory` of Debian's redis-server 7.0 with an empty keyspace (`used_memory_startup`).
pub const STARTUP_BYTES: u64 = 876_176;

/// Arguments this long are read whole into a query buffer of their size (Redis's
/// `PROTO_MBULK_BIG_ARG`).
const BIG_ARGUMENT: usize = 32 * 1024;

/// What an argument of `len` bytes holds in memory while Redis decides whether to run its
/// command: its bytes, and for a big one twice its buffer, as the buffer it was read into
/// becomes the argument and Redis allocates a fresh query buffer of the same size for the
/// next one (`processMultibulkBuffer`).
pub fn incoming_bytes(len: usize) -> u64 {
    if len >= BIG_ARGUMENT {
        2 * size::sds(len + 2)
    } else {
        len as u64
    }
}

/// `maxmemory`, `maxmemory-policy` and `maxmemory-samples`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MemoryLimit {
    /// Bytes; 0: no limit (memory is measured only).
    pub maxmemory: u64,
    pub policy: Policy,
    pub samples: usize,
}

/// One key's share: its cost, its LRU clock and where it is in the sampling lists.
struct Charge {
    bytes: u64,
    /// The LRU clock when the key was last touched: whole seconds, as Redis's
    /// `LRU_CLOCK_RESOLUTION` of 1000 ms keeps it.
    touched_s: u64,
    /// Its expiry (ms), if it has one: the volatile policies' candidates.
    expire_ms: Option<u64>,
    in_all: usize,
    in_volatile: Option<usize>,
}

/// The memory accounting and eviction state of a server with `maxmemory`.
pub struct Memory {
    limit: MemoryLimit,
    charges: HashMap<StoredKey, Charge, WordBuildHasher>,
    keys_bytes: u64,
    /// Every charged key, and those with a TTL: what sampling draws from.
    all: Vec<Arg>,
    volatile: Vec<Arg>,
    /// Keys a command looked at since the last settling, and whether it touched them (Redis
    /// leaves the LRU clock of a key that EXISTS, TYPE or TTL looks up: `LOOKUP_NOTOUCH`).
    noted: Vec<(Arg, bool)>,
    pool: eviction::Pool,
    rng: SimRng,
    /// Whether the current command began out of memory (what a script's first write obeys).
    pub out_of_memory: bool,
    pub evicted_keys: u64,
    /// Evicted keys by [`family`].
    pub evicted_by_family: BTreeMap<String, u64>,
    /// Commands refused with `OOM` (a script's refused write included).
    pub refused_commands: u64,
    pub peak_bytes: u64,
}

impl Memory {
    pub fn new(limit: MemoryLimit, rng: SimRng) -> Memory {
        Memory {
            limit,
            charges: HashMap::default(),
            keys_bytes: 0,
            all: Vec::new(),
            volatile: Vec::new(),
            noted: Vec::new(),
            pool: eviction::Pool::default(),
            rng,
            out_of_memory: false,
            evicted_keys: 0,
            evicted_by_family: BTreeMap::new(),
            refused_commands: 0,
            peak_bytes: 0,
        }
    }

    pub fn limit(&self) -> MemoryLimit {
        self.limit
    }

    /// A command looked at `key` (read, wrote, removed or expired it); `touched`: it counts
    /// as an access for the LRU policies.
    #[inline]
    pub fn note(&mut self, key: &str, touched: bool) {
        match self.noted.last_mut() {
            Some((last, was_touched)) if last.as_str() == key => *was_touched |= touched,
            _ => self.noted.push((Arg::from(key), touched)),
        }
    }

    /// Brings the charges of the noted keys up to date with `keys`, stamping their LRU clock
    /// with `now`.
    pub fn settle(&mut self, keys: &Keys, now: SimTime) {
        let noted = std::mem::take(&mut self.noted);
        for (key, touched) in &noted {
            match keys.stored(key) {
                Some(entry) => self.charge(key, entry, whole_seconds(now), *touched),
                None => self.discharge(key),
            }
        }
        self.noted = noted;
        self.noted.clear();
    }

    /// Recharges every key of `keys` (after a restart restored them).
    /// The per-key state is dropped and rebuilt; the counts and the draws go on.
    pub fn recount(&mut self, keys: &Keys, now: SimTime) {
        self.charges.clear();
        self.all.clear();
        self.volatile.clear();
        self.noted.clear();
        self.pool = eviction::Pool::default();
        self.keys_bytes = 0;
        for (key, entry) in keys.iter() {
            self.charge(key, entry, whole_seconds(now), true);
        }
    }

    /// `used_memory`, with `incoming` bytes of a command read. Clients' buffers are left
    /// out: an idle client's are 2.1 KB once `clientsCron` has shrunk them (measured on
    /// redis-server 7.0), and the model's producers do not hold one connection each as a
    /// real producer process does.
    pub fn used_bytes(&self, incoming: u64) -> u64 {
        STARTUP_BYTES + self.keys_bytes + incoming
    }

    /// Whether `used` is over a limit.
    pub fn over_limit(&self, used: u64) -> bool {
        self.limit.maxmemory > 0 && used > self.limit.maxmemory
    }

    pub fn note_peak(&mut self, used: u64) {
        self.peak_bytes = self.peak_bytes.max(used);
    }

    /// The key the policy evicts next at `now`, if any (`noeviction`: none).
    pub fn victim(&mut self, now: SimTime) -> Option<Arg> {
        match self.limit.policy {
            Policy::NoEviction => None,
            Policy::AllKeysRandom | Policy::VolatileRandom => {
                let candidates = candidates(self.limit.policy, &self.all, &self.volatile);
                let at = eviction::random_position(&mut self.rng, candidates.len());
                at.map(|at| candidates[at].clone())
            }
            Policy::AllKeysLru | Policy::VolatileLru | Policy::VolatileTtl => {
                self.victim_from_pool(now)
            }
        }
    }

    /// `evictionPoolPopulate` with a fresh sample, then the pool's best live candidate, again
    /// until one is live: candidates whose key has gone since they were sampled are dropped on
    /// the way, so this ends (`None` only without candidates).
    fn victim_from_pool(&mut self, now: SimTime) -> Option<Arg> {
        let volatile_only = self.limit.policy.volatile_only();
        loop {
            let candidates = candidates(self.limit.policy, &self.all, &self.volatile);
            if candidates.is_empty() {
                return None;
            }
            let positions =
                eviction::sample_positions(&mut self.rng, candidates.len(), self.limit.samples);
            for at in positions {
                let key = &candidates[at];
                let charge = &self.charges[KeyText::new(key)];
                let score = match self.limit.policy {
                    Policy::VolatileTtl => u64::MAX - charge.expire_ms.unwrap_or(u64::MAX),
                    _ => whole_seconds(now).saturating_sub(charge.touched_s) * 1000,
                };
                self.pool.offer(score, key);
            }
            let charges = &self.charges;
            let best = self.pool.take_best(|key| {
                charges
                    .get(KeyText::new(key))
                    .is_some_and(|c| !volatile_only || c.expire_ms.is_some())
            });
            if best.is_some() {
                return best;
            }
        }
    }

    /// Forgets `key` as evicted.
    pub fn evicted(&mut self, key: &str) {
        self.discharge(key);
        self.evicted_keys += 1;
        *self.evicted_by_family.entry(family(key)).or_default() += 1;
    }

    /// Charges `key` what `entry` costs; its LRU clock becomes `now_s` if `touched` (a new
    /// key gets it anyway).
    fn charge(&mut self, key: &str, entry: &Entry, now_s: u64, touched: bool) {
        let bytes = size::key_cost(key, entry);
        let expire_ms = entry.expire_at.map(|at| at.as_micros() / 1000);
        let charge = match self.charges.get_mut(KeyText::new(key)) {
            Some(charge) => charge,
            None => {
                self.all.push(Arg::from(key));
                let charge = Charge {
                    bytes: 0,
                    touched_s: now_s,
                    expire_ms: None,
                    in_all: self.all.len() - 1,
                    in_volatile: None,
                };
                self.charges.entry(StoredKey::new(key)).or_insert(charge)
            }
        };
        self.keys_bytes = self.keys_bytes - charge.bytes + bytes;
        charge.bytes = bytes;
        if touched {
            charge.touched_s = now_s;
        }
        charge.expire_ms = expire_ms;
        let was_volatile = charge.in_volatile;
        match (was_volatile, expire_ms.is_some()) {
            (None, true) => {
                charge.in_volatile = Some(self.volatile.len());
                self.volatile.push(Arg::from(key));
            }
            (Some(at), false) => {
                charge.in_volatile = None;
                self.remove_volatile_at(at);
            }
            _ => {}
        }
    }

    fn discharge(&mut self, key: &str) {
        let Some(charge) = self.charges.remove(KeyText::new(key)) else {
            return;
        };
        self.keys_bytes -= charge.bytes;
        self.all.swap_remove(charge.in_all);
        if let Some(moved) = self.all.get(charge.in_all) {
            self.charges
                .get_mut(KeyText::new(moved))
                .expect("charged")
                .in_all = charge.in_all;
        }
        if let Some(at) = charge.in_volatile {
            self.remove_volatile_at(at);
        }
    }

    fn remove_volatile_at(&mut self, at: usize) {
        self.volatile.swap_remove(at);
        if let Some(moved) = self.volatile.get(at) {
            self.charges
                .get_mut(KeyText::new(moved))
                .expect("charged")
                .in_volatile = Some(at);
        }
    }
}

/// The keys `policy` may evict: every key, or those with a TTL.
fn candidates<'a>(policy: Policy, all: &'a [Arg], volatile: &'a [Arg]) -> &'a [Arg] {
    if policy.volatile_only() {
        volatile
    } else {
        all
    }
}

/// A key's family: its text with each colon-separated part after the first that holds a
/// digit (an id, a worker's name) as `*`: `rq:job:*`, `rq:worker:*`, `rq:execution:*:*`,
/// while `rq:queue:default` and `rq:scheduler-lock:default` stay themselves.
pub fn family(key: &str) -> String {
    let mut parts = key.split(':');
    let first = parts.next().unwrap_or_default().to_string();
    parts.fold(first, |mut family, part| {
        family.push(':');
        match part.bytes().any(|b| b.is_ascii_digit()) {
            true => family.push('*'),
            false => family.push_str(part),
        }
        family
    })
}

/// Redis's LRU clock: whole seconds.
fn whole_seconds(now: SimTime) -> u64 {
    now.as_micros() / 1_000_000
}

impl crate::redis::keyspace::Db {
    /// `performEvictions`, before a command of `incoming` bytes: while memory is over the
    /// limit, evicts the key the policy picks. Returns whether it is still over (no key left
    /// to evict): the command starts out of memory.
    pub fn make_room(&mut self, now: SimTime, incoming: u64) -> bool {
        let Some(memory) = self.memory.as_deref_mut() else {
            return false;
        };
        memory.settle(&self.keys, now);
        loop {
            let used = memory.used_bytes(incoming);
            memory.note_peak(used);
            if !memory.over_limit(used) {
                memory.out_of_memory = false;
                return false;
            }
            let Some(victim) = memory.victim(now) else {
                memory.out_of_memory = true;
                return true;
            };
            memory.evicted(&victim);
            self.keys.remove(&victim);
            self.watch.touch(&victim);
        }
    }

    /// A command (or a script's write) was refused with `OOM`.
    pub fn count_oom_refusal(&mut self) {
        if let Some(memory) = self.memory.as_deref_mut() {
            memory.refused_commands += 1;
        }
    }

    /// After a command: the keys it touched are charged anew.
    pub fn settle_memory(&mut self, now: SimTime) {
        if let Some(memory) = self.memory.as_deref_mut() {
            memory.settle(&self.keys, now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::family;

    #[test]
    fn families_hide_ids_and_keep_names() {
        let cases = [
            ("rq:job:j12", "rq:job:*"),
            ("rq:job:5747a837-da6c-4465-a076-ad7244dc09d9", "rq:job:*"),
            ("rq:queue:default", "rq:queue:default"),
            ("rq:scheduler-lock:default", "rq:scheduler-lock:default"),
            ("rq:execution:j7:c2a1", "rq:execution:*:*"),
            ("rq:worker:worker-1.2", "rq:worker:*"),
            ("rq:queues", "rq:queues"),
            ("plain", "plain"),
        ];
        for (key, expected) in cases {
            assert_eq!(family(key), expected, "{key}");
        }
    }
}
