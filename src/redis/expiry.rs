//! The expiry index: the keys with a TTL, earliest first, so that active expiry finds the
//! keys whose time has come without looking at the others.
//!
//! ```text
//!   lead 500 s:  (t1+500, rq:job:j1) (t2+500, rq:job:j2) ...     one FIFO queue per lead,
//!   lead 420 s:  (t3+420, rq:worker:w1) ...                       in time order
//!   fronts:      min-heap of (time of each queue's first row, queue)
//! ```
//!
//! A TTL is set as "now + lead", and RQ uses a handful of leads (`result_ttl`, `worker_ttl`,
//! its heartbeat TTLs). Rows of one lead are therefore added in time order (the clock never
//! goes back), and a FIFO queue per lead is a sorted list that costs O(1) to append to and
//! to take from. The next row due is the earliest of the queues' fronts, found in a heap of
//! a few entries. One binary heap of every row cost a cache miss per level on each pop.
//!
//! A row is a reminder, not a promise: the keyspace skips a row whose key has since been
//! deleted or given another TTL (see `Keys::pop_due`). [`ExpiryIndex::rebuild`] puts rows of
//! any leads into one sorted queue (a restored snapshot, or a compaction of stale rows).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};

use crate::redis::arg::Arg;
use crate::sim::rng::WordBuildHasher;
use crate::sim::SimTime;

type Row = (SimTime, Arg);

#[derive(Clone, Debug, Default)]
pub struct ExpiryIndex {
    queues: Vec<Queue>,
    /// The queue of each lead (microseconds from adding a row to its time) in use.
    by_lead: HashMap<u64, usize, WordBuildHasher>,
    /// `(time of the first row, queue)` for every non-empty queue.
    fronts: BinaryHeap<Reverse<(SimTime, usize)>>,
    /// Queues that emptied, for the next new lead.
    free: Vec<usize>,
    rows: usize,
}

#[derive(Clone, Debug, Default)]
struct Queue {
    rows: VecDeque<Row>,
    /// `None` for a rebuilt queue, which holds rows of many leads.
    lead: Option<u64>,
}

impl ExpiryIndex {
    /// Rows held, stale ones included.
    pub fn len(&self) -> usize {
        self.rows
    }

    /// The time of the earliest row, stale or not.
    #[inline]
    pub fn earliest(&self) -> Option<SimTime> {
        self.fronts.peek().map(|Reverse((at, _))| *at)
    }

    /// Adds the row `(at, key)`, set at `now`.
    pub fn add(&mut self, now: SimTime, at: SimTime, key: &str) {
        let lead = at.0.saturating_sub(now.0);
        let index = match self.by_lead.get(&lead) {
            Some(&index) => index,
            None => self.new_queue(Some(lead)),
        };
        let queue = &mut self.queues[index];
        let row = (at, Arg::from(key));
        match queue.rows.back() {
            None => {
                self.fronts.push(Reverse((at, index)));
                queue.rows.push_back(row);
            }
            Some((last, _)) if *last <= at => queue.rows.push_back(row),
            // Only a caller whose clock went back (a unit test) gets here; the queue stays
            // sorted, and its front cannot change: the row is later than the front's `now`.
            Some(_) => {
                let place = queue.rows.partition_point(|(time, _)| *time <= at);
                queue.rows.insert(place, row);
                self.refresh_front(index);
            }
        }
        self.rows += 1;
    }

    /// Points the queue's entry in `fronts` at its first row again (after an insertion that
    /// may have gone to the front).
    fn refresh_front(&mut self, index: usize) {
        let first = self.queues[index].rows[0].0;
        let mut entries = std::mem::take(&mut self.fronts).into_vec();
        for Reverse((time, queue)) in &mut entries {
            if *queue == index {
                *time = first;
            }
        }
        self.fronts = entries.into();
    }

    /// Takes the earliest row if it is due at `now`.
    pub fn pop_due(&mut self, now: SimTime) -> Option<Row> {
        let mut front = self.fronts.peek_mut()?;
        let Reverse((at, index)) = *front;
        if at > now {
            return None;
        }
        let queue = &mut self.queues[index];
        let row = queue.rows.pop_front().expect("a front is a row");
        match queue.rows.front() {
            Some((next, _)) => *front = Reverse((*next, index)),
            None => {
                std::collections::binary_heap::PeekMut::pop(front);
                self.release(index);
            }
        }
        self.rows -= 1;
        Some(row)
    }

    /// Replaces every row with `rows`, in any order and of any leads.
    pub fn rebuild(&mut self, rows: impl Iterator<Item = Row>) {
        *self = ExpiryIndex::default();
        let mut sorted: Vec<Row> = rows.collect();
        if sorted.is_empty() {
            return;
        }
        sorted.sort_unstable_by_key(|(at, _)| *at);
        let index = self.new_queue(None);
        self.fronts.push(Reverse((sorted[0].0, index)));
        self.rows = sorted.len();
        self.queues[index].rows = sorted.into();
    }

    fn new_queue(&mut self, lead: Option<u64>) -> usize {
        let index = self.free.pop().unwrap_or_else(|| {
            self.queues.push(Queue::default());
            self.queues.len() - 1
        });
        self.queues[index].lead = lead;
        if let Some(lead) = lead {
            self.by_lead.insert(lead, index);
        }
        index
    }

    /// An emptied queue stops serving its lead (leads come and go: a scenario may draw them).
    fn release(&mut self, index: usize) {
        if let Some(lead) = self.queues[index].lead.take() {
            self.by_lead.remove(&lead);
        }
        self.free.push(index);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    fn t(micros: u64) -> SimTime {
        SimTime(micros)
    }

    /// Rows come out in time order across leads, and only once due.
    #[test]
    fn rows_of_different_leads_come_out_earliest_first_when_due() {
        let mut index = ExpiryIndex::default();
        index.add(t(0), t(500), "a");
        index.add(t(10), t(70), "b");
        index.add(t(20), t(520), "c");
        index.add(t(30), t(90), "d");
        assert_eq!(index.pop_due(t(60)), None);
        let due: Vec<_> = std::iter::from_fn(|| index.pop_due(t(510)))
            .map(|(at, key)| (at.0, key.to_string()))
            .collect();
        assert_eq!(due, [(70, "b".into()), (90, "d".into()), (500, "a".into())]);
        assert_eq!(index.len(), 1);
    }

    /// Against a sorted list, over random adds and pops with a clock that moves forward: the
    /// same rows come out at the same times (ties in any order) and the count stays right.
    #[test]
    fn matches_a_sorted_list_under_random_use() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let mut index = ExpiryIndex::default();
        let mut reference: Vec<Row> = Vec::new();
        let mut now = 0;
        for step in 0..20_000 {
            now += rng.gen_range(0..5);
            if rng.gen_bool(0.55) {
                let lead = [1, 7, 50, 400][rng.gen_range(0..4)] + rng.gen_range(0..2) * 1000;
                let key = format!("k{step}");
                index.add(t(now), t(now + lead), &key);
                reference.push((t(now + lead), Arg::from(key)));
            }
            if step % 5_000 == 4_999 {
                let rows: Vec<Row> = reference.clone();
                index.rebuild(rows.into_iter());
            }
            let mut taken: Vec<Row> = std::iter::from_fn(|| index.pop_due(t(now))).collect();
            let mut expected: Vec<Row> = reference
                .iter()
                .filter(|r| r.0 <= t(now))
                .cloned()
                .collect();
            reference.retain(|r| r.0 > t(now));
            assert!(taken.windows(2).all(|w| w[0].0 <= w[1].0), "time order");
            taken.sort();
            expected.sort();
            assert_eq!(taken, expected, "at {now}");
            assert_eq!(index.len(), reference.len());
        }
    }

    /// A lead whose queue emptied is forgotten, so leads drawn at random do not pile up.
    #[test]
    fn emptied_queues_are_reused() {
        let mut index = ExpiryIndex::default();
        for lead in 1..1_000 {
            index.add(t(lead * 10), t(lead * 10 + lead), "k");
            index.pop_due(t(lead * 10 + lead));
        }
        assert!(index.queues.len() <= 2, "{} queues", index.queues.len());
        assert!(index.by_lead.is_empty());
    }
}
