//! Per-job bookkeeping whose memory follows the jobs in flight, not the simulated duration.
//!
//! A 24-hour run at 20 jobs/s creates 1.7 million jobs; anything that keeps tens of bytes per
//! job ever created grows past the memory target. So state lives in three shapes:
//! - [`JobTable`]: full state for the jobs that still need it, removed when a job is done;
//! - [`JobSet`]: one bit per job number, for facts that must outlive that state ("this job
//!   has finished", so a later execution is a duplicate);
//! - [`JobCounts`]: one byte per job number for small counters that must stay exact.
//!
//! All three are keyed by [`JobId`], the number of simrq's `j<N>` ids.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};

use crate::event::JobId;
use crate::sim::rng::WordBuildHasher;

/// A table of `T` per job; entries exist from first use until [`JobTable::remove`].
#[derive(Clone, Debug)]
pub struct JobTable<T> {
    entries: HashMap<JobId, T, WordBuildHasher>,
}

impl<T> Default for JobTable<T> {
    fn default() -> Self {
        JobTable {
            entries: HashMap::default(),
        }
    }
}

impl<T: Default> JobTable<T> {
    /// The entry of `job`, created with `T::default()` on first use.
    #[inline]
    pub fn entry(&mut self, job: JobId) -> &mut T {
        self.entries.entry(job).or_default()
    }
}

impl<T> JobTable<T> {
    pub fn new() -> JobTable<T> {
        JobTable::default()
    }

    #[inline]
    pub fn get(&self, job: JobId) -> Option<&T> {
        self.entries.get(&job)
    }

    #[inline]
    pub fn get_mut(&mut self, job: JobId) -> Option<&mut T> {
        self.entries.get_mut(&job)
    }

    /// The entry of `job`, made by `make` if it has none; `None` if it has none and `make`
    /// declines. One lookup, where `get` then `insert` then `entry` would take three.
    #[inline]
    pub fn get_or_try_insert_with(
        &mut self,
        job: JobId,
        make: impl FnOnce() -> Option<T>,
    ) -> Option<&mut T> {
        match self.entries.entry(job) {
            Entry::Occupied(entry) => Some(entry.into_mut()),
            Entry::Vacant(entry) => Some(entry.insert(make()?)),
        }
    }

    pub fn insert(&mut self, job: JobId, state: T) {
        self.entries.insert(job, state);
    }

    /// Drops the entry of `job` (the job needs no more state here) and returns it.
    #[inline]
    pub fn remove(&mut self, job: JobId) -> Option<T> {
        self.entries.remove(&job)
    }

    /// Jobs with an entry.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every job with an entry and its state, in job number order: the order is the same
    /// whatever order the entries were made in.
    pub fn iter(&self) -> impl Iterator<Item = (JobId, &T)> + '_ {
        let mut jobs: Vec<JobId> = self.entries.keys().copied().collect();
        jobs.sort_unstable();
        jobs.into_iter().map(|job| (job, &self.entries[&job]))
    }
}

/// A set of jobs at one bit per job number.
#[derive(Clone, Debug, Default)]
pub struct JobSet {
    bits: Vec<u64>,
}

impl JobSet {
    #[inline]
    pub fn insert(&mut self, job: JobId) {
        let number = job.index();
        let word = number / 64;
        if self.bits.len() <= word {
            self.bits.resize(word + 1, 0);
        }
        self.bits[word] |= 1 << (number % 64);
    }

    #[inline]
    pub fn contains(&self, job: JobId) -> bool {
        let number = job.index();
        self.bits
            .get(number / 64)
            .is_some_and(|word| word & (1 << (number % 64)) != 0)
    }

    pub fn remove(&mut self, job: JobId) {
        let number = job.index();
        if let Some(word) = self.bits.get_mut(number / 64) {
            *word &= !(1 << (number % 64));
        }
    }
}

/// An exact counter per job at one byte per job number; the rare count past 254 moves to a
/// side map.
#[derive(Clone, Debug, Default)]
pub struct JobCounts {
    small: Vec<u8>,
    large: BTreeMap<JobId, u32>,
}

/// Marks a `small` slot whose count lives in `large`.
const SPILLED: u8 = u8::MAX;

impl JobCounts {
    #[inline]
    pub fn get(&self, job: JobId) -> u32 {
        match self.small.get(job.index()) {
            Some(&SPILLED) => self.large[&job],
            Some(&count) => u32::from(count),
            None => 0,
        }
    }

    /// Adds one to the count of `job` and returns the new count.
    pub fn increment(&mut self, job: JobId) -> u32 {
        let number = job.index();
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
            self.large.insert(job, u32::from(SPILLED - 1));
        }
        let count = self.large.entry(job).or_insert(0);
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
        *table.entry(JobId(5)) += 2;
        *table.entry(JobId(10)) += 7;
        *table.entry(JobId(1)) += 1;
        *table.entry(JobId(3)) += 3;
        assert_eq!(table.remove(JobId(3)), Some(3));
        let seen: Vec<(String, u32)> = table.iter().map(|(j, n)| (j.to_string(), *n)).collect();
        assert_eq!(
            seen,
            [("j1".into(), 1), ("j5".into(), 2), ("j10".into(), 7)]
        );
        assert_eq!(table.get(JobId(3)), None);
        assert_eq!(table.get(JobId(5)), Some(&2));
        assert_eq!(table.len(), 3);
    }

    #[test]
    fn a_set_holds_one_bit_per_job() {
        let mut set = JobSet::default();
        set.insert(JobId(130));
        assert!(set.contains(JobId(130)));
        assert!(![129, 131, 100_000].iter().any(|&n| set.contains(JobId(n))));
        assert_eq!(set.bits.len(), 3, "one bit per job number");
    }

    #[test]
    fn counts_stay_exact_past_one_byte() {
        let mut counts = JobCounts::default();
        for expected in 1..=300 {
            assert_eq!(counts.increment(JobId(2)), expected);
        }
        assert_eq!(counts.get(JobId(2)), 300);
        assert_eq!(counts.get(JobId(1)), 0);
        assert_eq!(counts.small.len(), 3, "one byte per job number");
        assert_eq!(counts.large.len(), 1, "j2 past 254");
    }
}
