//! Maintenance (rq-semantics §5): `run_maintenance_tasks` and `clean_registries`, run by
//! each worker at most every maintenance interval, checked only at the loop top and before
//! each dequeue attempt.

use crate::cmd;
use crate::event::{EventKind, Name};
use crate::net::{all_of, OnApplied, RedisError};
use crate::redis::Reply;
use crate::rq::dependencies::{enqueue_dependents, ParentStatus};
use crate::rq::failure::{failed_registry_commands, handle_job_failure, retry_job, FailureSite};
use crate::rq::job::Job;
use crate::rq::keys;
use crate::rq::worker::Worker;

impl Worker {
    /// `run_maintenance_tasks` (§5.2): scheduler restart or takeover (not on the first run),
    /// then per queue the cleanup under `rq:clean_registries:<q>`. `last_cleaned_at` moves
    /// only if every queue was handled without an error.
    pub(super) async fn run_maintenance_tasks(&mut self) -> Result<(), RedisError> {
        let first_run = self.last_cleaned_at.is_none();
        if !first_run {
            self.restart_scheduler_if_dead().await?;
        }
        let mut cleaned_queues = 0;
        for queue in self.queues.clone() {
            if self.clean_registries(&queue).await? {
                cleaned_queues += 1;
            }
        }
        self.last_cleaned_at = Some(self.ctx.now_micros());
        let kind = EventKind::Maintenance {
            worker: self.name.clone(),
            cleaned_queues,
        };
        self.ctx.emit(None, None, kind);
        Ok(())
    }

    /// §4.8: a worker whose scheduler process is missing or dead tries `acquire_locks` with
    /// `auto_start` in its own process.
    async fn restart_scheduler_if_dead(&mut self) -> Result<(), RedisError> {
        let env = self.ctx.env.clone();
        let Some(mut scheduler) = self.scheduler.take() else {
            return Ok(());
        };
        let result = if scheduler.is_process_alive(&env) {
            Ok(())
        } else {
            scheduler.acquire_locks(&self.ctx, true).await
        };
        self.scheduler = Some(scheduler);
        result
    }

    /// `clean_registries` for one queue; `Ok(false)` when another worker holds its lock.
    async fn clean_registries(&mut self, queue: &Name) -> Result<bool, RedisError> {
        let lock_ttl = self.ctx.params().maintenance_lock_ttl.whole_secs();
        let lock = keys::maintenance_lock(queue);
        let acquired = self
            .ctx
            .redis
            .call(cmd!("SET", &lock, 1, "NX", "EX", lock_ttl))
            .await?;
        if acquired.is_nil() {
            return Ok(false);
        }
        let ts = self.ctx.ts();
        self.ctx
            .redis
            .call(cmd!("ZREMRANGEBYSCORE", keys::finished(queue), 0, ts))
            .await?;
        self.clean_started_registry(queue).await?;
        self.ctx
            .redis
            .call(cmd!(
                "ZREMRANGEBYSCORE",
                keys::failed(queue),
                0,
                self.ctx.ts()
            ))
            .await?;
        self.clean_worker_registry(queue).await?;
        self.clean_intermediate_queue(queue).await?;
        self.ctx.redis.call(cmd!("DEL", &lock)).await?;
        Ok(true)
    }

    /// `StartedJobRegistry.cleanup` (§5.3): every entry whose score passed on this worker's
    /// clock is abandoned, whoever may still be running it; retried if it has retries left,
    /// else failed. One shared transaction ends with `ZREMRANGEBYSCORE`.
    async fn clean_started_registry(&mut self, queue: &Name) -> Result<(), RedisError> {
        let ts = self.ctx.ts();
        let started_key = keys::started(queue);
        let members = self
            .ctx
            .redis
            .call(cmd!("ZRANGEBYSCORE", &started_key, 0, ts))
            .await?
            .into_strings();
        let mut pipeline = Vec::new();
        // Each job's retry or move to failed is stamped when Redis commits the pipeline.
        let mut observers: Vec<OnApplied> = Vec::new();
        for member in members {
            let id = member
                .rsplit_once(':')
                .map(|(id, _)| id)
                .unwrap_or(&member)
                .to_string();
            let hash = self.ctx.redis.call(cmd!("HGETALL", keys::job(&id))).await?;
            let Some(mut job) = Job::from_hash(&id, &hash.into_strings()) else {
                continue;
            };
            let reason = "AbandonedJobError".to_string();
            self.ctx.emit(
                Some(queue),
                Some(&job.id),
                EventKind::JobAbandoned {
                    reason: reason.clone(),
                },
            );
            if job.should_retry() {
                let plan = retry_job(&self.ctx, &mut job).await?;
                pipeline.extend(plan.commands.iter().cloned());
                observers.extend(plan.on_commit(&self.ctx, &job));
            } else {
                pipeline.push(cmd!("HSET", keys::job(&job.id), "status", "failed"));
                let text = format!("Moved to FailedJobRegistry, due to {reason}");
                pipeline.extend(failed_registry_commands(&self.ctx, &mut job, &text));
                let kind = EventKind::JobMovedToFailed { reason };
                observers.push(self.ctx.on_commit(Some(queue), Some(&job.id), vec![kind]));
                // Before the cleaner's own pipeline runs, with the status in memory (§1.5):
                // `allow_failure` children are queued before their parent is failed.
                enqueue_dependents(&self.ctx, &job, ParentStatus::InMemory).await?;
            }
        }
        pipeline.push(cmd!("ZREMRANGEBYSCORE", &started_key, 0, ts));
        self.ctx
            .redis
            .transaction_observed(pipeline, all_of(observers))
            .await?;
        Ok(())
    }

    /// `clean_worker_registration`: drop workers whose keys expired from both sets.
    async fn clean_worker_registry(&mut self, queue: &Name) -> Result<(), RedisError> {
        let queue_workers = keys::queue_workers(queue);
        let members = self
            .ctx
            .redis
            .call(cmd!("SMEMBERS", &queue_workers))
            .await?
            .into_strings();
        if members.is_empty() {
            return Ok(());
        }
        let checks = members.iter().map(|key| cmd!("EXISTS", key)).collect();
        let exists = self.ctx.redis.transaction(checks).await?;
        let missing: Vec<&String> = members
            .iter()
            .zip(&exists)
            .filter(|(_, e)| e.as_int() == Some(0))
            .map(|(m, _)| m)
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        let mut removals = Vec::new();
        for key in missing {
            removals.push(cmd!("SREM", keys::WORKERS, key));
            removals.push(cmd!("SREM", &queue_workers, key));
        }
        self.ctx.redis.transaction(removals).await.map(|_| ())
    }

    /// `IntermediateQueue.cleanup` (§5.4): an id that stays in the intermediate list, not in
    /// the started registry, is noted on first sight and handled as a failure once it has
    /// been there longer than the threshold.
    async fn clean_intermediate_queue(&mut self, queue: &Name) -> Result<(), RedisError> {
        let intermediate = keys::intermediate(queue);
        let ids = self
            .ctx
            .redis
            .call(cmd!("LRANGE", &intermediate, 0, -1))
            .await?
            .into_strings();
        if ids.is_empty() {
            return Ok(());
        }
        let running = self.started_job_ids(queue).await?;
        for id in ids {
            let hash = self.ctx.redis.call(cmd!("HGETALL", keys::job(&id))).await?;
            let Some(job) = Job::from_hash(&id, &hash.into_strings()) else {
                self.ctx
                    .redis
                    .call(cmd!("LREM", keys::queue(queue), 0, &id))
                    .await?;
                self.ctx
                    .redis
                    .call(cmd!("LREM", &intermediate, 0, &id))
                    .await?;
                continue;
            };
            if running.contains(&id) {
                continue;
            }
            self.handle_stuck_id(queue, job).await?;
        }
        Ok(())
    }

    async fn handle_stuck_id(&mut self, queue: &Name, mut job: Job) -> Result<(), RedisError> {
        let mut first_seen_key = keys::first_seen(queue, &job.id);
        if self.ctx.params().what_if.first_seen_per_enqueue {
            first_seen_key.push(':');
            first_seen_key.push_str(job.enqueued_at.as_deref().unwrap_or(""));
        }
        let now_s = self.ctx.now_micros() as f64 / 1e6;
        let set = cmd!(
            "SET",
            &first_seen_key,
            format!("{now_s:.6}"),
            "NX",
            "EX",
            86_400
        );
        if !self.ctx.redis.call(set).await?.is_nil() {
            return Ok(());
        }
        let seen = self.ctx.redis.call(cmd!("GET", &first_seen_key)).await?;
        let first_seen_s: f64 = seen.as_str().and_then(|v| v.parse().ok()).unwrap_or(now_s);
        if now_s - first_seen_s <= self.ctx.params().intermediate_stuck_threshold.as_secs_f64() {
            return Ok(());
        }
        let reason = "Job was stuck in intermediate queue.";
        self.ctx.emit(
            Some(queue),
            Some(&job.id),
            EventKind::JobAbandoned {
                reason: reason.into(),
            },
        );
        let site = FailureSite {
            ctx: &self.ctx,
            worker: &self.name,
            execution: None,
            working_time_s: 0.0,
        };
        handle_job_failure(&site, &mut job, reason).await?;
        self.ctx
            .redis
            .call(cmd!("LREM", keys::intermediate(queue), 1, &job.id))
            .await?;
        Ok(())
    }

    /// Job ids with an entry in `rq:wip:<q>`, whatever its score.
    async fn started_job_ids(&mut self, queue: &Name) -> Result<Vec<String>, RedisError> {
        let all = cmd!("ZRANGEBYSCORE", keys::started(queue), "-inf", "+inf");
        let members = match self.ctx.redis.call(all).await? {
            reply @ Reply::Array(_) => reply.into_strings(),
            _ => Vec::new(),
        };
        Ok(members
            .into_iter()
            .map(|m| {
                m.rsplit_once(':')
                    .map(|(id, _)| id.to_string())
                    .unwrap_or(m)
            })
            .collect())
    }
}
