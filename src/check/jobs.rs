//! Per-job state in a dense vector indexed by the job's number (`j17` → 17), so that a long
//! run costs a few bytes per job and no map grows node by node. Ids that are not simrq's own
//! (`job_number` gives `None`) fall back to an ordered map, which stays small in practice.

use std::collections::BTreeMap;

use crate::event::{job_id, job_number, Name};

/// A table of `T` per job id.
#[derive(Clone, Debug, Default)]
pub struct JobTable<T> {
    dense: Vec<Option<T>>,
    other: BTreeMap<Name, T>,
}

impl<T: Default> JobTable<T> {
    pub fn new() -> JobTable<T> {
        JobTable {
            dense: Vec::new(),
            other: BTreeMap::new(),
        }
    }

    /// The entry of `job`, created with `T::default()` on first use.
    pub fn entry(&mut self, job: &Name) -> &mut T {
        match job_number(job) {
            Some(number) => {
                if self.dense.len() <= number {
                    self.dense.resize_with(number + 1, || None);
                }
                self.dense[number].get_or_insert_with(T::default)
            }
            None => self.other.entry(job.clone()).or_default(),
        }
    }

    pub fn get(&self, job: &str) -> Option<&T> {
        match job_number(job) {
            Some(number) => self.dense.get(number).and_then(Option::as_ref),
            None => self.other.get(job),
        }
    }

    /// Every job with an entry and its state, simrq ids first in number order.
    pub fn iter(&self) -> impl Iterator<Item = (Name, &T)> + '_ {
        let dense = self
            .dense
            .iter()
            .enumerate()
            .filter_map(|(number, slot)| slot.as_ref().map(|state| (job_id(number), state)));
        dense.chain(self.other.iter().map(|(job, state)| (job.clone(), state)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_dense_by_number_and_iterate_in_order() {
        let mut table: JobTable<u32> = JobTable::new();
        *table.entry(&Name::from("j5")) += 2;
        *table.entry(&Name::from("j1")) += 1;
        *table.entry(&Name::from("custom")) += 7;
        let seen: Vec<(String, u32)> = table.iter().map(|(j, n)| (j.to_string(), *n)).collect();
        assert_eq!(
            seen,
            [("j1".into(), 1), ("j5".into(), 2), ("custom".into(), 7)]
        );
        assert_eq!(table.get("j3"), None);
        assert_eq!(table.get("j5"), Some(&2));
    }
}
