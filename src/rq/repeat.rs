//! `rq/repeat.py Repeat.schedule`: what a successful run with repeats left puts in the
//! success transaction instead of `job.cleanup` (docs/repeat-and-webhooks.md).
//!
//! ```text
//!  handle_job_success ─► _handle_success (finished, result, rq:finished:<q>)
//!                     └► repeats_left > 0 ? Repeat.schedule : job.cleanup(result_ttl)
//!                            ├─ interval 0: _enqueue_job   (HSET queued, save, RPUSH)
//!                            └─ interval I: schedule_job   (SADD, HSET scheduled, save)
//!                                           + ZADD rq:scheduled:<q> now+I, sent at once
//! ```

use crate::cmd;
use crate::event::EventKind;
use crate::redis::Command;
use crate::rq::env::ProcCtx;
use crate::rq::job::Job;
use crate::rq::keys;
use crate::rq::queue::enqueue_commands;

/// What `Repeat.schedule` leaves besides the commands it put in the pipeline.
pub enum RepeatStep {
    /// Interval 0: the job is back in its queue once the pipeline commits; the event is
    /// stamped then.
    Requeued(EventKind),
    /// Interval > 0: `ScheduledJobRegistry.schedule` ignores the pipeline and sends this
    /// ZADD at once, before the pipeline's EXEC; the event is stamped when it executes.
    Scheduled { zadd: Command, event: EventKind },
}

/// `Repeat.schedule(job, queue, pipeline)`: decrement `repeats_left`, save the job, then
/// `Queue._enqueue_job` (interval 0, at the back) or `Queue.schedule_job` at now + interval,
/// on this process's clock. The caller checked [`Job::should_repeat`].
pub fn schedule(ctx: &ProcCtx, job: &mut Job, pipeline: &mut Vec<Command>) -> RepeatStep {
    assert!(job.should_repeat(), "Repeat.schedule needs repeats left");
    let interval_s = job.repeat_interval_s();
    let repeats_left = job.repeats_left.unwrap_or(0) - 1;
    job.repeats_left = Some(repeats_left);
    pipeline.push(job.save_command());
    if interval_s == 0 {
        // `_enqueue_job(job, pipeline)`: no `at_front`, and no SADD of `rq:queues`.
        enqueue_commands(ctx, job, false, pipeline);
        return RepeatStep::Requeued(EventKind::JobRepeatRequeued { repeats_left });
    }
    // `datetime.now() + timedelta(seconds=interval)`, floored to a Unix second by
    // `ScheduledJobRegistry.schedule` (`calendar.timegm`).
    let due_unix_s = (ctx.now_micros() + interval_s * 1_000_000).div_euclid(1_000_000);
    job.status = "scheduled".into();
    pipeline.push(cmd!("SADD", keys::QUEUES, keys::queue(&job.origin)));
    pipeline.push(cmd!("HSET", keys::job(&job.id), "status", "scheduled"));
    pipeline.push(job.save_command());
    job.cleanup(job.ttl_s, pipeline);
    let zadd = cmd!("ZADD", keys::scheduled(&job.origin), due_unix_s, &job.id);
    let event = EventKind::JobRepeatScheduled {
        due_unix_s,
        interval_s,
        repeats_left,
    };
    RepeatStep::Scheduled { zadd, event }
}
