//! The one typed event stream. The RQ model and the fault injector emit events; sinks (CSV
//! writers, checkers, the summary) consume them and never drive the simulation.
//!
//! Every event carries the common columns of `events.csv` (time, seq, pod, process, queue,
//! job, attempt) and a typed [`EventKind`] whose payload becomes the `detail` column.

use std::fmt;
use std::rc::Rc;

use crate::jobs::JobCounts;
use crate::redis::Arg;
use crate::sim::{SimDuration, SimTime};

/// A shared, cheaply cloned name (pod, process, queue, job, scheduler).
pub type Name = Rc<str>;

/// One thing that happened, at one instant of virtual time.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub time: SimTime,
    /// Global order of emission; ties in `time` are ordered by it.
    pub seq: u64,
    pub pod: Option<Name>,
    pub process: Option<Name>,
    pub queue: Option<Name>,
    pub job: Option<JobId>,
    /// For job events: which execution of the job this is (1 = first run), as counted by
    /// simrq from `job_started` events, i.e. ground truth rather than RQ's own counters.
    pub attempt: Option<u32>,
    pub kind: EventKind,
}

/// Who put a job id into a queue list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EnqueueSource {
    /// `Queue.enqueue` by a producer.
    Producer,
    /// The scheduler moving a due job (`enqueue_scheduled_jobs`).
    Scheduler,
    /// An `rq cron` process enqueueing a cron job (`CronJob.enqueue`).
    Cron,
    /// `Queue.enqueue_dependents`: a parent's end released a deferred job.
    Dependency,
    /// An operator requeued a failed job (`FailedJobRegistry.requeue`, `rq requeue`).
    Requeue,
}

/// What a scheduler process believes about one queue's lock, beside the truth in Redis.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LockView {
    /// The scheduler's name (`<s>` of `rq:scheduler-lock:<q>`).
    pub scheduler: Name,
    /// Whether the queue is in the process's `_acquired_locks` after this event.
    pub believes_held: bool,
    /// The value of `rq:scheduler-lock:<q>` in Redis at this instant (`None`: no lock).
    pub redis_holder: Option<Name>,
}

/// The kinds of `events.csv`. Names in snake case are the `kind` column.
#[derive(Clone, Debug, PartialEq)]
pub enum EventKind {
    /// A producer created the job (before its first `job_enqueued` or `job_scheduled`); the
    /// retry policy is here so that checkers know each job's limits. The intervals are shared
    /// so that keeping the event (the checkers' history does, twice) copies no list.
    JobCreated {
        retry_max: i64,
        retry_intervals_s: Rc<[i64]>,
        job_timeout_s: i64,
        /// `Repeat(times=…)`; 0 for a job without `Repeat` (not written in the detail then).
        repeat_times: i64,
    },
    JobEnqueued {
        source: EnqueueSource,
        at_front: bool,
    },
    /// The job was created with `depends_on` (right after `job_created`): the parents it
    /// waits for, in order, and `Dependency(allow_failure=…)`.
    JobDependsOn {
        parents: Rc<[Name]>,
        allow_failure: bool,
    },
    /// `Queue.setup_dependencies` committed: the job waits in `rq:deferred:<q>` for a
    /// parent's `enqueue_dependents` to release it.
    JobDeferred,
    /// An operator's `Job.cancel()` committed: status `canceled`, out of its queue and
    /// registry, in `rq:canceled:<q>`. A horse already running it is not stopped.
    JobCanceled,
    /// An operator's `Queue.empty` popped the job from its queue and deleted its hash.
    JobDeleted,
    /// Put in `rq:scheduled:<q>` by a producer (`enqueue_at`/`enqueue_in`).
    JobScheduled {
        due_unix_s: i64,
    },
    JobDequeued,
    JobStarted {
        worker: Name,
    },
    JobFinished,
    /// The job body raised, timed out or its horse died; what follows is a retry or
    /// `job_moved_to_failed`.
    JobFailed {
        reason: String,
    },
    JobRetryRequeued {
        retries_left: i64,
    },
    JobRetryScheduled {
        due_unix_s: i64,
        interval_s: i64,
        retries_left: i64,
    },
    /// A cleaner found an expired StartedJobRegistry entry (§5.3) or a stuck intermediate id.
    JobAbandoned {
        reason: String,
    },
    JobMovedToFailed {
        reason: String,
    },
    /// Popped and never recorded anywhere (§9 R5).
    JobLost {
        reason: String,
    },
    LockAcquired {
        lock: LockView,
    },
    LockRefreshed {
        lock: LockView,
    },
    LockLost {
        lock: LockView,
    },
    LockReleased {
        lock: LockView,
    },
    /// One `enqueue_scheduled_jobs` pass over one queue.
    SchedulerTick {
        moved: u32,
        lock: LockView,
    },
    SchedulerStarted {
        scheduler: Name,
    },
    SchedulerDied {
        scheduler: Name,
        reason: String,
    },
    /// An `rq cron` process registered itself (`CronScheduler.register_birth`).
    CronSchedulerStarted {
        scheduler: Name,
    },
    /// An `rq cron` process ended: `reason` is `stopped` (SIGTERM/SIGINT, death registered)
    /// or the error that ended its loop.
    CronSchedulerStopped {
        scheduler: Name,
        reason: String,
    },
    /// `CronJob.enqueue` committed: the job (in the event's `job`) was enqueued for the cron
    /// job `cron_job`. `due_unix_ms`: the instant it was due on the enqueuing host's clock
    /// (a cron expression's instant, or the previous enqueue + interval); `None` for an
    /// interval job's first run, which `rq cron` enqueues as soon as it starts.
    CronJobEnqueued {
        cron_job: Name,
        due_unix_ms: Option<i64>,
    },
    WorkerBorn {
        worker: Name,
    },
    WorkerDied {
        worker: Name,
        reason: String,
    },
    Maintenance {
        worker: Name,
        cleaned_queues: u32,
    },
    ProcessKilled,
    ProcessPaused,
    ProcessResumed,
    RedisError {
        phase: String,
        command: String,
        error: String,
    },
    Fault {
        description: String,
    },
    /// A successful run with repeats left: `Repeat.schedule` with interval 0 put the job back
    /// at the end of its queue, in the success transaction (docs/repeat-and-webhooks.md).
    /// It ends the run in place of `job_finished`, which only the last run gets.
    JobRepeatRequeued {
        repeats_left: i64,
    },
    /// A successful run with repeats left: `Repeat.schedule` put the job in
    /// `rq:scheduled:<q>`, due at `due_unix_s` (stamped when that ZADD executes, which is
    /// before the success transaction). It ends the run in place of `job_finished`.
    JobRepeatScheduled {
        due_unix_s: i64,
        interval_s: i64,
        repeats_left: i64,
    },
    /// An operator's `rq` tool published a worker command (`send_command`,
    /// docs/rq-dependencies-and-operations.md §3.1): `receivers` is PUBLISH's reply, the
    /// connections subscribed to the worker's channel (0: the command is lost).
    CommandPublished {
        command: &'static str,
        worker: Name,
        receivers: i64,
    },
    /// A worker's pubsub thread handled a command (`handle_command`, §3.2–§3.4): `action` is
    /// what it did (`sigint`, `killed_horse`, `no_horse`, `not_current_job`, `unknown`).
    CommandReceived {
        command: &'static str,
        action: &'static str,
    },
    /// `Webhook.send` returned: the sending process was busy `took` (the endpoint's latency,
    /// capped at the webhook's timeout). Never changes the job's outcome.
    WebhookSent {
        status: WebhookStatus,
        took: SimDuration,
        timed_out: bool,
    },
}

/// The terminal status a webhook is sent for (`Webhook.job_status`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum WebhookStatus {
    Finished,
    Failed,
}

impl WebhookStatus {
    pub fn name(self) -> &'static str {
        match self {
            WebhookStatus::Finished => "finished",
            WebhookStatus::Failed => "failed",
        }
    }
}

impl EventKind {
    /// The `kind` column of `events.csv`.
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::JobCreated { .. } => "job_created",
            EventKind::JobEnqueued { .. } => "job_enqueued",
            EventKind::JobDependsOn { .. } => "job_depends_on",
            EventKind::JobDeferred => "job_deferred",
            EventKind::JobCanceled => "job_canceled",
            EventKind::JobDeleted => "job_deleted",
            EventKind::JobScheduled { .. } => "job_scheduled",
            EventKind::JobDequeued => "job_dequeued",
            EventKind::JobStarted { .. } => "job_started",
            EventKind::JobFinished => "job_finished",
            EventKind::JobFailed { .. } => "job_failed",
            EventKind::JobRetryRequeued { .. } => "job_retry_requeued",
            EventKind::JobRetryScheduled { .. } => "job_retry_scheduled",
            EventKind::JobAbandoned { .. } => "job_abandoned",
            EventKind::JobMovedToFailed { .. } => "job_moved_to_failed",
            EventKind::JobLost { .. } => "job_lost",
            EventKind::LockAcquired { .. } => "lock_acquired",
            EventKind::LockRefreshed { .. } => "lock_refreshed",
            EventKind::LockLost { .. } => "lock_lost",
            EventKind::LockReleased { .. } => "lock_released",
            EventKind::SchedulerTick { .. } => "scheduler_tick",
            EventKind::SchedulerStarted { .. } => "scheduler_started",
            EventKind::SchedulerDied { .. } => "scheduler_died",
            EventKind::CronSchedulerStarted { .. } => "cron_scheduler_started",
            EventKind::CronSchedulerStopped { .. } => "cron_scheduler_stopped",
            EventKind::CronJobEnqueued { .. } => "cron_job_enqueued",
            EventKind::WorkerBorn { .. } => "worker_born",
            EventKind::WorkerDied { .. } => "worker_died",
            EventKind::Maintenance { .. } => "maintenance",
            EventKind::ProcessKilled => "process_killed",
            EventKind::ProcessPaused => "process_paused",
            EventKind::ProcessResumed => "process_resumed",
            EventKind::RedisError { .. } => "redis_error",
            EventKind::Fault { .. } => "fault",
            EventKind::JobRepeatRequeued { .. } => "job_repeat_requeued",
            EventKind::JobRepeatScheduled { .. } => "job_repeat_scheduled",
            EventKind::WebhookSent { .. } => "webhook_sent",
            EventKind::CommandPublished { .. } => "command_published",
            EventKind::CommandReceived { .. } => "command_received",
        }
    }

    /// An operator's requeue of a failed job (`job_enqueued` with `source=requeue`): the job
    /// lives again.
    #[inline]
    pub fn is_requeue(&self) -> bool {
        matches!(
            self,
            EventKind::JobEnqueued {
                source: EnqueueSource::Requeue,
                ..
            }
        )
    }

    /// Routine rows: a job's ordinary life and a healthy scheduler's heartbeat. Everything
    /// else — faults, what they did to processes, locks and jobs (`job_lost`, `job_abandoned`),
    /// errors, maintenance — is what `[run] events = "faults"` keeps.
    pub fn is_routine(&self) -> bool {
        matches!(
            self,
            EventKind::JobCreated { .. }
                | EventKind::JobEnqueued { .. }
                | EventKind::JobDependsOn { .. }
                | EventKind::JobDeferred
                | EventKind::JobScheduled { .. }
                | EventKind::JobDequeued
                | EventKind::JobStarted { .. }
                | EventKind::JobFinished
                | EventKind::JobFailed { .. }
                | EventKind::JobRetryRequeued { .. }
                | EventKind::JobRetryScheduled { .. }
                | EventKind::JobMovedToFailed { .. }
                | EventKind::CronJobEnqueued { .. }
                | EventKind::LockRefreshed { .. }
                | EventKind::SchedulerTick { .. }
                | EventKind::JobRepeatRequeued { .. }
                | EventKind::JobRepeatScheduled { .. }
                | EventKind::WebhookSent { .. }
        )
    }

    /// The lock view of scheduler events.
    #[inline]
    pub fn lock_view(&self) -> Option<&LockView> {
        match self {
            EventKind::LockAcquired { lock }
            | EventKind::LockRefreshed { lock }
            | EventKind::LockLost { lock }
            | EventKind::LockReleased { lock }
            | EventKind::SchedulerTick { lock, .. } => Some(lock),
            _ => None,
        }
    }
}

impl LockView {
    /// Appends `scheduler=<s> believes_held=<bool> redis_holder=<h or ->`.
    fn push_detail(&self, out: &mut impl DetailOut) {
        out.push_str("scheduler=");
        out.push_str(&self.scheduler);
        out.push_str(if self.believes_held {
            " believes_held=true redis_holder="
        } else {
            " believes_held=false redis_holder="
        });
        out.push_str(self.redis_holder.as_deref().unwrap_or("-"));
    }
}

impl fmt::Display for LockView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = String::new();
        self.push_detail(&mut text);
        f.write_str(&text)
    }
}

/// Where `detail` text is appended: a `String`, or the bytes of an `events.csv` row, which
/// take the detail in place rather than through a copy.
pub trait DetailOut {
    fn push_str(&mut self, text: &str);
    /// Appends one ASCII byte.
    fn push_byte(&mut self, byte: u8);
    /// Appends ASCII bytes (digits), which bytes take without a UTF-8 check.
    fn push_ascii(&mut self, bytes: &[u8]);
}

impl DetailOut for String {
    fn push_str(&mut self, text: &str) {
        String::push_str(self, text);
    }

    fn push_byte(&mut self, byte: u8) {
        debug_assert!(byte.is_ascii());
        self.push(char::from(byte));
    }

    fn push_ascii(&mut self, bytes: &[u8]) {
        String::push_str(self, std::str::from_utf8(bytes).expect("ASCII"));
    }
}

impl DetailOut for Vec<u8> {
    fn push_str(&mut self, text: &str) {
        self.extend_from_slice(text.as_bytes());
    }

    fn push_byte(&mut self, byte: u8) {
        debug_assert!(byte.is_ascii());
        self.push(byte);
    }

    fn push_ascii(&mut self, bytes: &[u8]) {
        debug_assert!(bytes.is_ascii());
        self.extend_from_slice(bytes);
    }
}

/// A `detail` value as written: bare when it has no space, quote, `=` or backslash and is not
/// empty, else in double quotes with `\"` and `\\` escaped (the logfmt convention).
pub struct DetailValue<'a>(pub &'a str);

impl DetailValue<'_> {
    /// Appends the value as [`DetailValue`] writes it, without the formatting machinery.
    pub fn push_to(&self, out: &mut impl DetailOut) {
        let text = self.0;
        let needs_quotes = text.is_empty()
            || text
                .bytes()
                .any(|b| matches!(b, b' ' | b'"' | b'=' | b'\\'));
        if !needs_quotes {
            out.push_str(text);
            return;
        }
        out.push_byte(b'"');
        // `"` and `\` are ASCII, so they are never part of a longer UTF-8 sequence and the
        // text between them is whole characters.
        let mut rest = text;
        while let Some(at) = rest.find(['"', '\\']) {
            out.push_str(&rest[..at]);
            out.push_byte(b'\\');
            out.push_byte(rest.as_bytes()[at]);
            rest = &rest[at + 1..];
        }
        out.push_str(rest);
        out.push_byte(b'"');
    }
}

impl fmt::Display for DetailValue<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = String::new();
        self.push_to(&mut text);
        f.write_str(&text)
    }
}

/// Appends `value` in decimal. The event path writes hundreds of thousands of numbers, and
/// `write!` costs several times more than this loop.
pub fn push_integer(out: &mut impl DetailOut, value: i64) {
    if value < 0 {
        out.push_byte(b'-');
    }
    push_unsigned(out, value.unsigned_abs());
}

/// Appends `value` in decimal (see [`push_integer`]).
pub fn push_unsigned(out: &mut impl DetailOut, value: u64) {
    if value < 10 {
        out.push_byte(b'0' + value as u8);
        return;
    }
    let mut digits = Digits::new();
    digits.prepend_number(value);
    out.push_ascii(digits.as_bytes());
}

/// `00`, `01`, … `99`: the two digits of every number below 100.
const DIGIT_PAIRS: [u8; 200] = {
    let mut pairs = [0u8; 200];
    let mut number = 0;
    while number < 100 {
        pairs[2 * number] = b'0' + (number / 10) as u8;
        pairs[2 * number + 1] = b'0' + (number % 10) as u8;
        number += 1;
    }
    pairs
};

/// ASCII text built right to left in a fixed buffer: numbers are written from their last
/// digit, so no intermediate `String` is needed.
pub struct Digits {
    bytes: [u8; 32],
    start: usize,
}

impl Digits {
    #[inline]
    pub fn new() -> Digits {
        Digits {
            bytes: [0; 32],
            start: 32,
        }
    }

    /// Puts `byte` (ASCII) before what is written so far.
    #[inline]
    pub fn prepend(&mut self, byte: u8) {
        debug_assert!(byte.is_ascii());
        self.start -= 1;
        self.bytes[self.start] = byte;
    }

    /// Puts the decimal digits of `value` before what is written so far, two digits per
    /// division.
    #[inline]
    pub fn prepend_number(&mut self, mut value: u64) {
        while value >= 100 {
            self.prepend_pair(value % 100);
            value /= 100;
        }
        if value >= 10 {
            self.prepend_pair(value);
        } else {
            self.prepend(b'0' + value as u8);
        }
    }

    /// Puts exactly `width` decimal digits of `value` (zero-padded, `value < 10^width`).
    #[inline]
    pub fn prepend_padded(&mut self, mut value: u64, width: usize) {
        for _ in 0..width / 2 {
            self.prepend_pair(value % 100);
            value /= 100;
        }
        if width % 2 == 1 {
            self.prepend(b'0' + (value % 10) as u8);
        }
    }

    /// Puts the two digits of `pair` (below 100).
    #[inline]
    fn prepend_pair(&mut self, pair: u64) {
        let at = 2 * pair as usize;
        self.start -= 2;
        self.bytes[self.start..self.start + 2].copy_from_slice(&DIGIT_PAIRS[at..at + 2]);
    }

    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[self.start..]
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(self.as_bytes()).expect("only ASCII is prepended")
    }
}

impl Default for Digits {
    fn default() -> Digits {
        Digits::new()
    }
}

/// Splits a `detail` cell into its `key=value` pairs: pairs are separated by spaces, a value
/// is bare or double-quoted with `\"` and `\\` escapes (docs/outputs: "The detail column").
pub fn parse_detail(detail: &str) -> Result<Vec<(String, String)>, String> {
    let mut pairs = Vec::new();
    let mut rest = detail.trim_start();
    while !rest.is_empty() {
        let (key, after) = rest
            .split_once('=')
            .ok_or_else(|| format!("`{rest}`: expected key=value"))?;
        if key.is_empty() || key.contains([' ', '"']) {
            return Err(format!("`{key}`: not a key"));
        }
        let (value, after) = match after.strip_prefix('"') {
            Some(quoted) => quoted_value(quoted)?,
            None => match after.split_once(' ') {
                Some((value, after)) => (value.to_string(), after),
                None => (after.to_string(), ""),
            },
        };
        pairs.push((key.to_string(), value));
        rest = after.trim_start();
    }
    Ok(pairs)
}

/// The value of a quoted detail value (after its opening quote) and what follows it.
fn quoted_value(text: &str) -> Result<(String, &str), String> {
    let mut value = String::new();
    let mut chars = text.char_indices();
    while let Some((index, c)) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some((_, escaped)) => value.push(escaped),
                None => break,
            },
            '"' => return Ok((value, &text[index + 1..])),
            other => value.push(other),
        }
    }
    Err(format!("`{text}`: unterminated quoted value"))
}

impl EventKind {
    /// Appends the `detail` column: `key=value` pairs separated by spaces, values as
    /// [`DetailValue`] writes them. Written by hand rather than with `write!`, because every
    /// row of `events.csv` goes through here.
    pub fn push_detail(&self, out: &mut impl DetailOut) {
        match self {
            EventKind::JobCreated {
                retry_max,
                retry_intervals_s,
                job_timeout_s,
                repeat_times,
            } => {
                push_pair(out, "retry_max=", *retry_max);
                out.push_str(" retry_intervals_s=[");
                for (index, interval) in retry_intervals_s.iter().enumerate() {
                    if index > 0 {
                        out.push_byte(b',');
                    }
                    push_integer(out, *interval);
                }
                out.push_byte(b']');
                push_pair(out, " job_timeout_s=", *job_timeout_s);
                if *repeat_times > 0 {
                    push_pair(out, " repeat_times=", *repeat_times);
                }
            }
            EventKind::JobEnqueued { source, at_front } => {
                out.push_str(match source {
                    EnqueueSource::Producer => "source=producer",
                    EnqueueSource::Scheduler => "source=scheduler",
                    EnqueueSource::Cron => "source=cron",
                    EnqueueSource::Dependency => "source=dependency",
                    EnqueueSource::Requeue => "source=requeue",
                });
                out.push_str(if *at_front {
                    " at_front=true"
                } else {
                    " at_front=false"
                });
            }
            EventKind::JobDependsOn {
                parents,
                allow_failure,
            } => {
                out.push_str("parents=[");
                for (index, parent) in parents.iter().enumerate() {
                    if index > 0 {
                        out.push_byte(b',');
                    }
                    out.push_str(parent);
                }
                out.push_byte(b']');
                if *allow_failure {
                    out.push_str(" allow_failure=true");
                }
            }
            EventKind::JobScheduled { due_unix_s } => push_pair(out, "due_unix_s=", *due_unix_s),
            EventKind::JobStarted { worker } | EventKind::WorkerBorn { worker } => {
                push_text_pair(out, "worker=", worker)
            }
            EventKind::JobFailed { reason }
            | EventKind::JobAbandoned { reason }
            | EventKind::JobMovedToFailed { reason }
            | EventKind::JobLost { reason } => push_value_pair(out, "reason=", reason),
            EventKind::JobRetryRequeued { retries_left } => {
                push_pair(out, "retries_left=", *retries_left)
            }
            EventKind::JobRetryScheduled {
                due_unix_s,
                interval_s,
                retries_left,
            } => {
                push_pair(out, "due_unix_s=", *due_unix_s);
                push_pair(out, " interval_s=", *interval_s);
                push_pair(out, " retries_left=", *retries_left);
            }
            EventKind::LockAcquired { lock }
            | EventKind::LockRefreshed { lock }
            | EventKind::LockLost { lock }
            | EventKind::LockReleased { lock } => lock.push_detail(out),
            EventKind::SchedulerTick { moved, lock } => {
                push_pair(out, "moved=", i64::from(*moved));
                out.push_byte(b' ');
                lock.push_detail(out);
            }
            EventKind::SchedulerStarted { scheduler } => {
                push_text_pair(out, "scheduler=", scheduler)
            }
            EventKind::SchedulerDied { scheduler, reason } => {
                push_text_pair(out, "scheduler=", scheduler);
                push_value_pair(out, " reason=", reason);
            }
            EventKind::CronSchedulerStarted { scheduler } => {
                push_text_pair(out, "scheduler=", scheduler)
            }
            EventKind::CronSchedulerStopped { scheduler, reason } => {
                push_text_pair(out, "scheduler=", scheduler);
                push_value_pair(out, " reason=", reason);
            }
            EventKind::CronJobEnqueued {
                cron_job,
                due_unix_ms,
            } => {
                push_value_pair(out, "cron_job=", cron_job);
                match due_unix_ms {
                    Some(due) => push_pair(out, " due_unix_ms=", *due),
                    None => out.push_str(" due_unix_ms=-"),
                }
            }
            EventKind::WorkerDied { worker, reason } => {
                push_text_pair(out, "worker=", worker);
                push_value_pair(out, " reason=", reason);
            }
            EventKind::Maintenance {
                worker,
                cleaned_queues,
            } => {
                push_text_pair(out, "worker=", worker);
                push_pair(out, " cleaned_queues=", i64::from(*cleaned_queues));
            }
            EventKind::RedisError {
                phase,
                command,
                error,
            } => {
                push_text_pair(out, "phase=", phase);
                push_value_pair(out, " command=", command);
                push_value_pair(out, " error=", error);
            }
            EventKind::Fault { description } => out.push_str(description),
            EventKind::JobDequeued
            | EventKind::JobDeferred
            | EventKind::JobCanceled
            | EventKind::JobDeleted
            | EventKind::JobFinished
            | EventKind::ProcessKilled
            | EventKind::ProcessPaused
            | EventKind::ProcessResumed => {}
            EventKind::JobRepeatRequeued { repeats_left } => {
                push_pair(out, "repeats_left=", *repeats_left)
            }
            EventKind::JobRepeatScheduled {
                due_unix_s,
                interval_s,
                repeats_left,
            } => {
                push_pair(out, "due_unix_s=", *due_unix_s);
                push_pair(out, " interval_s=", *interval_s);
                push_pair(out, " repeats_left=", *repeats_left);
            }
            EventKind::CommandPublished {
                command,
                worker,
                receivers,
            } => {
                push_text_pair(out, "command=", command);
                push_text_pair(out, " worker=", worker);
                push_pair(out, " receivers=", *receivers);
            }
            EventKind::CommandReceived { command, action } => {
                push_text_pair(out, "command=", command);
                push_text_pair(out, " action=", action);
            }
            EventKind::WebhookSent {
                status,
                took,
                timed_out,
            } => {
                push_text_pair(out, "status=", status.name());
                out.push_str(" took_s=");
                push_seconds(out, took.as_micros());
                out.push_str(if *timed_out {
                    " timed_out=true"
                } else {
                    " timed_out=false"
                });
            }
        }
    }
}

/// `key` (with its `=` and any leading space) and a number.
fn push_pair(out: &mut impl DetailOut, key: &str, value: i64) {
    out.push_str(key);
    push_integer(out, value);
}

/// Seconds with six decimals (`4.000000`), as the time columns are written.
fn push_seconds(out: &mut impl DetailOut, micros: u64) {
    push_unsigned(out, micros / 1_000_000);
    let mut digits = Digits::new();
    digits.prepend_padded(micros % 1_000_000, 6);
    digits.prepend(b'.');
    out.push_ascii(digits.as_bytes());
}

/// `key` and a name, written as it is.
fn push_text_pair(out: &mut impl DetailOut, key: &str, text: &str) {
    out.push_str(key);
    out.push_str(text);
}

/// `key` and a free text, quoted as [`DetailValue`] does.
fn push_value_pair(out: &mut impl DetailOut, key: &str, text: &str) {
    out.push_str(key);
    DetailValue(text).push_to(out);
}

impl fmt::Display for EventKind {
    /// The `detail` column (see [`EventKind::push_detail`]).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = String::new();
        self.push_detail(&mut text);
        f.write_str(&text)
    }
}

/// Anything that consumes the event stream: CSV writers, checkers, the job tracker.
pub trait EventSink {
    fn on_event(&mut self, event: &Event);

    /// The kinds this sink acts on, asked once when it is added to a bus; `None` (the
    /// default): every kind. The bus skips the other kinds without calling the sink, which
    /// for a sink that follows a few kinds saves a call through its handle per event.
    fn kinds(&self) -> Option<KindFilter> {
        None
    }
}

/// Whether a sink acts on events of a kind (see [`EventSink::kinds`]).
pub type KindFilter = fn(&EventKind) -> bool;

/// Wall-clock Unix seconds of virtual instant zero (see `sim::kernel::EPOCH_UNIX_MICROS`).
pub const EPOCH_UNIX_S: i64 = crate::sim::kernel::EPOCH_UNIX_MICROS / 1_000_000;

/// A job's id. simrq names its jobs `j<N>` (`j17`); events and per-job state carry the
/// number, so that a sink finds a job's state by number without reading text, and the id is
/// written out only by the sinks that write it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct JobId(pub u64);

impl JobId {
    /// The id written as `j<N>`; `None` for any other text.
    pub fn parse(text: &str) -> Option<JobId> {
        let digits = text.strip_prefix('j')?;
        // `j007` would not be written back as it was read.
        if digits.len() > 1 && digits.starts_with('0') {
            return None;
        }
        // Read by hand: every event about a job comes through here. `u64::from_str` also
        // takes one leading `+`, so this does too.
        let number = digits.strip_prefix('+').unwrap_or(digits);
        if number.is_empty() {
            return None;
        }
        number
            .bytes()
            .try_fold(0u64, |value, byte| {
                let digit = byte.wrapping_sub(b'0');
                if digit > 9 {
                    return None;
                }
                value.checked_mul(10)?.checked_add(u64::from(digit))
            })
            .map(JobId)
    }

    /// The id of a job simrq created; every job id in a simulation is `j<N>`.
    pub fn of(text: &str) -> JobId {
        JobId::parse(text).unwrap_or_else(|| panic!("`{text}` is not a simrq job id (j<N>)"))
    }

    /// The number, as an index into per-job tables.
    pub fn index(self) -> usize {
        usize::try_from(self.0).expect("job numbers fit in usize")
    }

    /// The id as text (`j17`), for the rare places that keep it as a [`Name`].
    pub fn name(self) -> Name {
        job_id(self.index())
    }

    /// Appends `j<N>`.
    #[inline]
    pub fn push_to(self, out: &mut Vec<u8>) {
        let mut digits = Digits::new();
        digits.prepend_number(self.0);
        digits.prepend(b'j');
        out.extend_from_slice(digits.as_bytes());
    }
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "j{}", self.0)
    }
}

/// The id of the `number`-th job.
pub fn job_id(number: usize) -> Name {
    name_of(format_args!("j{number}"))
}

/// A [`Name`] written by `format_args!`, formatted on the stack first (an [`Arg`] keeps
/// up to 31 bytes inline): one allocation, the name's own, where `Name::from(format!(…))`
/// makes a `String` too. Names are made for every job, execution and horse.
pub fn name_of(args: fmt::Arguments<'_>) -> Name {
    let mut text = Arg::default();
    fmt::Write::write_fmt(&mut text, args).expect("writing to an Arg cannot fail");
    Name::from(text.as_str())
}

/// Stamps events with their sequence number and attempt, then hands them to every sink.
#[derive(Default)]
pub struct EventBus {
    next_seq: u64,
    executions_by_job: JobCounts,
    sinks: Vec<Box<dyn EventSink>>,
    /// Each sink's [`EventSink::kinds`], by the sink's index.
    filters: Vec<Option<KindFilter>>,
}

/// The fields of an event that its emitter knows; the bus adds `seq` and `attempt`.
#[derive(Clone, Debug, Default)]
pub struct EventContext {
    pub pod: Option<Name>,
    pub process: Option<Name>,
    pub queue: Option<Name>,
    pub job: Option<JobId>,
}

impl EventBus {
    pub fn new() -> EventBus {
        EventBus::default()
    }

    pub fn add_sink(&mut self, sink: Box<dyn EventSink>) {
        self.filters.push(sink.kinds());
        self.sinks.push(sink);
    }

    /// Emits one event at `time`.
    pub fn emit(&mut self, time: SimTime, context: EventContext, kind: EventKind) {
        let attempt = self.attempt_for(context.job, &kind);
        let event = Event {
            time,
            seq: self.next_seq,
            pod: context.pod,
            process: context.process,
            queue: context.queue,
            job: context.job,
            attempt,
            kind,
        };
        self.next_seq += 1;
        for (sink, filter) in self.sinks.iter_mut().zip(&self.filters) {
            if filter.is_none_or(|wants| wants(&event.kind)) {
                sink.on_event(&event);
            }
        }
    }

    /// Executions so far of `job` (0 if it never started).
    pub fn executions(&self, job: JobId) -> u32 {
        self.executions_by_job.get(job)
    }

    fn attempt_for(&mut self, job: Option<JobId>, kind: &EventKind) -> Option<u32> {
        let job = job?;
        Some(match kind {
            EventKind::JobStarted { .. } => self.executions_by_job.increment(job),
            _ => self.executions_by_job.get(job),
        })
    }

    /// Gives the sinks back (at the end of a run, to finish files and read verdicts).
    pub fn into_sinks(self) -> Vec<Box<dyn EventSink>> {
        self.sinks
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    #[test]
    fn names_read_as_format_writes_them() {
        assert_eq!(&*job_id(42), "j42");
        let long = "worker-with-a-long-pod-name-0.w17";
        assert_eq!(
            &*name_of(format_args!("{long}:horse")),
            format!("{long}:horse")
        );
    }

    struct Recorder(Rc<RefCell<Vec<Event>>>);
    impl EventSink for Recorder {
        fn on_event(&mut self, event: &Event) {
            self.0.borrow_mut().push(event.clone());
        }
    }

    #[test]
    fn the_bus_numbers_events_and_counts_executions_per_job() {
        let seen = Rc::new(RefCell::new(Vec::new()));
        let mut bus = EventBus::new();
        bus.add_sink(Box::new(Recorder(seen.clone())));
        let job = EventContext {
            job: Some(JobId(3)),
            ..Default::default()
        };
        let started = || EventKind::JobStarted {
            worker: Name::from("w"),
        };
        bus.emit(SimTime(1), job.clone(), EventKind::JobDequeued);
        bus.emit(SimTime(2), job.clone(), started());
        bus.emit(
            SimTime(3),
            job.clone(),
            EventKind::JobFailed {
                reason: "boom".into(),
            },
        );
        bus.emit(SimTime(4), job.clone(), started());
        bus.emit(
            SimTime(5),
            EventContext::default(),
            EventKind::ProcessKilled,
        );
        let seen = seen.borrow();
        let seqs: Vec<u64> = seen.iter().map(|e| e.seq).collect();
        let attempts: Vec<Option<u32>> = seen.iter().map(|e| e.attempt).collect();
        assert_eq!(seqs, [0, 1, 2, 3, 4]);
        assert_eq!(attempts, [Some(0), Some(1), Some(1), Some(2), None]);
        assert_eq!(bus.executions(JobId(3)), 2);
        assert_eq!(seen[3].kind.name(), "job_started");
        assert_eq!(seen[2].kind.to_string(), "reason=boom");
    }

    #[test]
    fn digits_read_as_format_writes_them() {
        let mut values: Vec<u64> = (0..1_000).collect();
        values.extend((0..64).map(|bit| 1u64 << bit));
        values.extend([9_999, 10_000, 99_999, 123_456_789, u64::MAX]);
        for value in values {
            let mut digits = Digits::new();
            digits.prepend_number(value);
            assert_eq!(digits.as_str(), value.to_string());
            for width in [1, 2, 5, 6, 7] {
                let padded = value % 10u64.pow(width as u32);
                let mut digits = Digits::new();
                digits.prepend_padded(padded, width);
                assert_eq!(digits.as_str(), format!("{padded:0width$}"));
            }
        }
    }

    #[test]
    fn job_ids_round_trip_through_their_number() {
        assert_eq!(JobId::parse(&job_id(42)), Some(JobId(42)));
        assert_eq!(JobId(42).to_string(), "j42");
        let mut written = Vec::new();
        JobId(42).push_to(&mut written);
        assert_eq!(written, b"j42");
        for text in [
            "j+5",
            "j+05",
            "j18446744073709551615",
            "j18446744073709551616",
            "j+",
            "j++5",
            "j5x",
        ] {
            let expected = text[1..]
                .parse()
                .ok()
                .filter(|_| !text[1..].starts_with('0'));
            assert_eq!(JobId::parse(text), expected.map(JobId), "{text}");
        }
        for other in ["not-a-simrq-id", "j", "j007", "j-1", "k1"] {
            assert_eq!(JobId::parse(other), None, "{other}");
        }
        assert_eq!(JobId::parse("j0"), Some(JobId(0)));
    }
}
