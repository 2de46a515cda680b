//! Which key `performEvictions` takes: Redis 7.0's approximated LRU and TTL policies with
//! their eviction pool, and the random policies, drawn from the run's seed.
//!
//! For each key to evict, Redis samples `maxmemory-samples` keys of the policy's dictionary
//! (every key, or the keys with a TTL), merges them into a pool of the 16 best candidates
//! kept across evictions (best: idle longest, or expiring soonest), and evicts the best one
//! that still exists. The model does the same with one difference in how keys are sampled:
//! `dictGetSomeKeys` walks consecutive buckets from a random one; the model takes
//! consecutive keys from a random position of a list of the keys in the order they were
//! first stored (moved when a key is removed). Both see every key when there are no more
//! than the sample size, so small keyspaces evict exactly as Redis does.

use rand::Rng;

use crate::redis::arg::Arg;
use crate::sim::rng::SimRng;

/// `maxmemory-policy`, for the policies the model has (not the LFU ones).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Policy {
    /// Writes that would grow memory are refused with an `OOM` error.
    #[default]
    NoEviction,
    AllKeysLru,
    VolatileLru,
    AllKeysRandom,
    VolatileRandom,
    VolatileTtl,
}

impl Policy {
    /// Every policy by its `maxmemory-policy` name.
    pub const ALL: [(&'static str, Policy); 6] = [
        ("noeviction", Policy::NoEviction),
        ("allkeys-lru", Policy::AllKeysLru),
        ("volatile-lru", Policy::VolatileLru),
        ("allkeys-random", Policy::AllKeysRandom),
        ("volatile-random", Policy::VolatileRandom),
        ("volatile-ttl", Policy::VolatileTtl),
    ];

    pub fn name(self) -> &'static str {
        Policy::ALL
            .iter()
            .find(|(_, policy)| *policy == self)
            .map_or("noeviction", |(name, _)| name)
    }

    pub fn named(name: &str) -> Option<Policy> {
        Policy::ALL
            .iter()
            .find(|(known, _)| *known == name)
            .map(|(_, policy)| *policy)
    }

    /// Whether only keys with a TTL may be evicted.
    pub fn volatile_only(self) -> bool {
        matches!(
            self,
            Policy::VolatileLru | Policy::VolatileRandom | Policy::VolatileTtl
        )
    }
}

/// Redis's `EVPOOL_SIZE`.
const POOL_SIZE: usize = 16;

/// A candidate: how good it is to evict (higher: better) and its key.
struct Candidate {
    score: u64,
    key: Arg,
}

/// The eviction pool, worst candidate first.
#[derive(Default)]
pub struct Pool {
    candidates: Vec<Candidate>,
}

impl Pool {
    /// `evictionPoolPopulate` for one sampled key: inserted after the candidates it beats,
    /// pushing out the worst one when the pool is full; skipped if it beats none of a full
    /// pool. Ties go before the candidates already there, so of equal ones the earlier
    /// sampled is evicted first.
    pub fn offer(&mut self, score: u64, key: &str) {
        let at = self
            .candidates
            .iter()
            .position(|c| c.score >= score)
            .unwrap_or(self.candidates.len());
        let full = self.candidates.len() == POOL_SIZE;
        if at == 0 && full {
            return;
        }
        let candidate = Candidate {
            score,
            key: Arg::from(key),
        };
        if full {
            self.candidates.remove(0);
            self.candidates.insert(at - 1, candidate);
        } else {
            self.candidates.insert(at, candidate);
        }
    }

    /// Takes candidates from the best down until `still_there` accepts one (a candidate
    /// whose key has gone since it was sampled is dropped, as Redis drops ghosts).
    pub fn take_best(&mut self, still_there: impl Fn(&str) -> bool) -> Option<Arg> {
        while let Some(candidate) = self.candidates.pop() {
            if still_there(&candidate.key) {
                return Some(candidate.key);
            }
        }
        None
    }
}

/// Up to `count` distinct positions of `len`, consecutive from a random start.
pub fn sample_positions(rng: &mut SimRng, len: usize, count: usize) -> impl Iterator<Item = usize> {
    let start = if len == 0 { 0 } else { rng.gen_range(0..len) };
    (0..count.min(len)).map(move |step| (start + step) % len)
}

/// A random position of `len` (`dictGetRandomKey`); `None` if there is none.
pub fn random_position(rng: &mut SimRng, len: usize) -> Option<usize> {
    (len > 0).then(|| rng.gen_range(0..len))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(pool: &Pool) -> Vec<&str> {
        pool.candidates.iter().map(|c| c.key.as_str()).collect()
    }

    #[test]
    fn the_pool_keeps_the_sixteen_best_and_yields_the_best_first() {
        let mut pool = Pool::default();
        for score in 0..20u64 {
            pool.offer(score * 7 % 20, &format!("k{}", score * 7 % 20));
        }
        assert_eq!(pool.candidates.len(), POOL_SIZE);
        assert_eq!(keys(&pool)[0], "k4");
        assert_eq!(pool.take_best(|key| key != "k19"), Some(Arg::from("k18")));
        pool.offer(0, "k0");
        assert_eq!(keys(&pool)[0], "k0", "room again: the worst is kept");
    }

    #[test]
    fn among_equals_the_earlier_offered_goes_first() {
        let mut pool = Pool::default();
        pool.offer(5, "a");
        pool.offer(5, "b");
        assert_eq!(pool.take_best(|_| true), Some(Arg::from("a")));
    }

    #[test]
    fn policies_round_trip_their_names() {
        for (name, policy) in Policy::ALL {
            assert_eq!(Policy::named(name), Some(policy));
            assert_eq!(policy.name(), name);
        }
        assert_eq!(Policy::named("allkeys-lfu"), None);
    }
}
