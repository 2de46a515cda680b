//! Per-job bookkeeping whose memory follows the jobs in flight, not the simulated duration.
//!
//! A 24-hour run at 20 jobs/s creates 1.7 million jobs; anything that keeps tens of bytes per
//! job ever created grows past the memory target. So state lives in three shapes:
//! - [`JobTable`]: full state for the jobs that still need it, removed when a job is done;
//! - [`JobSet`]: one bit per job number, for facts that must outlive that state ("this job
//!   has finished", so a later execution is a duplicate);
//! - [`JobCounts`]: one byte per job number for small counters that must stay exact.
//!
//! simrq's job ids are `j<N>` (see [`crate::event::job_number`]); other ids (none in practice)
//! fall back to ordered maps keyed by name.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::event::{job_id, job_number, Name};
use crate::sim::rng::WordBuildHasher;

/// Where a job's entry lives: by number for simrq's ids, by name otherwise.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum JobKey {
    Number(usize),
    Other(Name),
}

impl JobKey {
    fn of(job: &str) -> JobKey {
        match job_number(job) {
            Some(number) => JobKey::Number(number),
            None => JobKey::Other(Name::from(job)),
        }
    }
}

/// A table of `T` per job; entries exist from first use until [`JobTable::remove`].
#[derive(Clone, Debug)]
pub struct JobTable<T> {
    numbered: HashMap<usize, T, WordBuildHasher>,
    other: BTreeMap<Name, T>,
}

impl<T> Default for JobTable<T> {
    fn default() -> Self {
        JobTable {
            numbered: HashMap::default(),
            other: BTreeMap::new(),
        }
    }
}

impl<T: Default> JobTable<T> {
    /// The entry of `job`, created with `T::default()` on first use.
    pub fn entry(&mut self, job: &str) -> &mut T {
        match job_number(job) {
            Some(number) => self.numbered.entry(number).or_default(),
            None => self.other.entry(Name::from(job)).or_default(),
        }
    }
}

impl<T> JobTable<T> {
    pub fn new() -> JobTable<T> {
        JobTable::default()
    }

    pub fn get(&self, job: &str) -> Option<&T> {
        match job_number(job) {
            Some(number) => self.numbered.get(&number),
            None => self.other.get(job),
        }
    }

    /// The entry of `job`, made by `make` if it has none; `None` if it has none and `make`
    /// declines. One lookup, where `get` then `insert` then `entry` would take three.
    pub fn get_or_try_insert_with(
        &mut self,
        job: &str,
        make: impl FnOnce() -> Option<T>,
    ) -> Option<&mut T> {
        match job_number(job) {
            Some(number) => match self.numbered.entry(number) {
                Entry::Occupied(entry) => Some(entry.into_mut()),
                Entry::Vacant(entry) => Some(entry.insert(make()?)),
            },
            None => {
                if !self.other.contains_key(job) {
                    self.other.insert(Name::from(job), make()?);
                }
                self.other.get_mut(job)
            }
        }
    }

    pub fn insert(&mut self, job: &str, state: T) {
        match job_number(job) {
            Some(number) => {
                self.numbered.insert(number, state);
            }
            None => {
                self.other.insert(Name::from(job), state);
            }
        }
    }

    /// Drops the entry of `job` (the job needs no more state here) and returns it.
    pub fn remove(&mut self, job: &str) -> Option<T> {
        match job_number(job) {
            Some(number) => self.numbered.remove(&number),
            None => self.other.remove(job),
        }
    }

    /// Jobs with an entry.
    pub fn len(&self) -> usize {
        self.numbered.len() + self.other.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every job with an entry and its state, simrq ids first in number order, then the
    /// others by name: the order is the same whatever order the entries were made in.
    pub fn iter(&self) -> impl Iterator<Item = (Name, &T)> + '_ {
        let mut numbers: Vec<usize> = self.numbered.keys().copied().collect();
        numbers.sort_unstable();
        let numbered = numbers
            .into_iter()
            .map(|number| (job_id(number), &self.numbered[&number]));
        numbered.chain(self.other.iter().map(|(job, state)| (job.clone(), state)))
    }
}

/// A set of jobs at one bit per job number.
#[derive(Clone, Debug, Default)]
pub struct JobSet {
    bits: Vec<u64>,
    other: BTreeSet<Name>,
}

impl JobSet {
    pub fn insert(&mut self, job: &str) {
        match JobKey::of(job) {
            JobKey::Number(number) => {
                let word = number / 64;
                if self.bits.len() <= word {
                    self.bits.resize(word + 1, 0);
                }
                self.bits[word] |= 1 << (number % 64);
            }
            JobKey::Other(name) => {
                self.other.insert(name);
            }
        }
    }

    pub fn contains(&self, job: &str) -> bool {
        match job_number(job) {
            Some(number) => self
                .bits
                .get(number / 64)
                .is_some_and(|word| word & (1 << (number % 64)) != 0),
            None => self.other.contains(job),
        }
    }
}

/// An exact counter per job at one byte per job number; the rare count past 254 moves to a
/// side map.
#[derive(Clone, Debug, Default)]
pub struct JobCounts {
    small: Vec<u8>,
    large: BTreeMap<JobKey, u32>,
}

/// Marks a `small` slot whose count lives in `large`.
const SPILLED: u8 = u8::MAX;

impl JobCounts {
    pub fn get(&self, job: &str) -> u32 {
        let key = JobKey::of(job);
        match &key {
            JobKey::Number(number) => match self.small.get(*number) {
                Some(&SPILLED) => self.large[&key],
                Some(&count) => u32::from(count),
                None => 0,
            },
            JobKey::Other(_) => self.large.get(&key).copied().unwrap_or(0),
        }
    }

    /// Adds one to the count of `job` and returns the new count.
    pub fn increment(&mut self, job: &str) -> u32 {
        let key = JobKey::of(job);
        if let JobKey::Number(number) = key {
            if self.small.len() <= number {
                self.small.resize(number + 1, 0);
            }
            let slot = &mut self.small[number];
            if *slot < SPILLED - 1 {
                *slot += 1;
                return u32::from(*slot);
            }
            if *slot == SPILLED - 1 {
                *slot = SPILLED;
                self.large.insert(key.clone(), u32::from(SPILLED - 1));
            }
        }
        let count = self.large.entry(key).or_insert(0);
        *count += 1;
        *count
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_iterate_in_job_order_and_forget_removed_jobs() {
        let mut table: JobTable<u32> = JobTable::new();
        *table.entry("j5") += 2;
        *table.entry("j1") += 1;
        *table.entry("custom") += 7;
        *table.entry("j3") += 3;
        assert_eq!(table.remove("j3"), Some(3));
        let seen: Vec<(String, u32)> = table.iter().map(|(j, n)| (j.to_string(), *n)).collect();
        assert_eq!(
            seen,
            [("j1".into(), 1), ("j5".into(), 2), ("custom".into(), 7)]
        );
        assert_eq!(table.get("j3"), None);
        assert_eq!(table.get("j5"), Some(&2));
        assert_eq!(table.len(), 3);
    }

    #[test]
    fn a_set_holds_numbered_and_other_ids() {
        let mut set = JobSet::default();
        set.insert("j130");
        set.insert("custom");
        assert!(set.contains("j130") && set.contains("custom"));
        assert!(!set.contains("j129") && !set.contains("j131") && !set.contains("j100000"));
        assert_eq!(set.bits.len(), 3, "one bit per job number");
    }

    #[test]
    fn counts_stay_exact_past_one_byte() {
        let mut counts = JobCounts::default();
        for expected in 1..=300 {
            assert_eq!(counts.increment("j2"), expected);
        }
        assert_eq!(counts.get("j2"), 300);
        assert_eq!(counts.get("j1"), 0);
        assert_eq!(counts.increment("custom"), 1);
        assert_eq!(counts.get("custom"), 1);
        assert_eq!(counts.small.len(), 3, "one byte per job number");
        assert_eq!(counts.large.len(), 2, "j2 past 254, and the other id");
    }
}
