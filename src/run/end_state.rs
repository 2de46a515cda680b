//! The Redis state at the end of a run, indexed once for the checkers.

use std::collections::BTreeMap;

use crate::check::{EndState, JobLocation};
use crate::net::Network;
use crate::rq::keys;
use crate::sim::SimTime;

/// Where each job id is at the end (first match in the order of [`JobLocation`]'s
/// variants), and every queue's lock holder.
pub struct RedisEndState {
    locations: BTreeMap<String, JobLocation>,
    /// The same, for ids outside `rq:finished:<q>` (see
    /// [`EndState::job_location_outside_finished`]).
    outside_finished: BTreeMap<String, JobLocation>,
    lock_holders: BTreeMap<String, String>,
    end: SimTime,
    faults_ended_at: SimTime,
}

impl RedisEndState {
    pub fn capture(
        network: &Network,
        queues: &[String],
        faults_ended_at: SimTime,
    ) -> RedisEndState {
        let end = network.sim().now();
        let mut locations = BTreeMap::new();
        let mut outside_finished = BTreeMap::new();
        let mut lock_holders = BTreeMap::new();
        network.with_server(|server| {
            for queue in queues {
                let mut note = |id: String, location: JobLocation| {
                    if location != JobLocation::Finished {
                        outside_finished.entry(id.clone()).or_insert(location);
                    }
                    locations.entry(id).or_insert(location);
                };
                for (id, _) in server.peek_zset(end, &keys::finished(queue)) {
                    note(id, JobLocation::Finished);
                }
                for (id, _) in server.peek_zset(end, &keys::failed(queue)) {
                    note(id, JobLocation::Failed);
                }
                for id in server.peek_list(end, &keys::queue(queue)) {
                    note(id, JobLocation::Queued);
                }
                for (id, _) in server.peek_zset(end, &keys::scheduled(queue)) {
                    note(id, JobLocation::Scheduled);
                }
                for (member, _) in server.peek_zset(end, &keys::started(queue)) {
                    let id = member
                        .rsplit_once(':')
                        .map(|(id, _)| id.to_string())
                        .unwrap_or(member);
                    note(id, JobLocation::Started);
                }
                for id in server.peek_list(end, &keys::intermediate(queue)) {
                    note(id, JobLocation::Intermediate);
                }
                if let Some(holder) = server.peek_string(end, &keys::scheduler_lock(queue)) {
                    lock_holders.insert(queue.clone(), holder);
                }
            }
        });
        RedisEndState {
            locations,
            outside_finished,
            lock_holders,
            end,
            faults_ended_at,
        }
    }
}

impl EndState for RedisEndState {
    fn job_location(&self, job: &str) -> JobLocation {
        self.locations
            .get(job)
            .copied()
            .unwrap_or(JobLocation::Missing)
    }

    fn job_location_outside_finished(&self, job: &str) -> JobLocation {
        self.outside_finished
            .get(job)
            .copied()
            .unwrap_or(JobLocation::Missing)
    }

    fn lock_holder(&self, queue: &str) -> Option<String> {
        self.lock_holders.get(queue).cloned()
    }

    fn end_time(&self) -> SimTime {
        self.end
    }

    fn faults_ended_at(&self) -> SimTime {
        self.faults_ended_at
    }
}
