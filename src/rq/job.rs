//! The job hash (`rq:job:<id>`, rq-semantics §1) as an in-memory copy, and the two retry
//! interval rules (§3.7 right-aligned, §3.8 left-aligned).
//!
//! RQ's `Job.save` writes the whole mapping in one `HSET`: whoever saves a stale copy
//! overwrites every field (§9 R12). [`Job::mapping`] is that mapping.

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::rc::Rc;

use arrayvec::ArrayString;

use crate::cmd;
use crate::event::Name;
use crate::redis::IntoArg;
use crate::sim::calendar::civil_from_days;

/// A job as RQ keeps it in memory between a fetch and a save.
#[derive(Clone, Debug, PartialEq)]
pub struct Job {
    pub id: Name,
    /// `origin`: the queue name.
    pub origin: Name,
    /// `func_name`: the workload class whose body simrq runs.
    pub func_name: Name,
    /// `JobStatus`: one of RQ's constants, unless a hash held something else.
    pub status: Cow<'static, str>,
    pub created_at: UtcStamp,
    pub enqueued_at: Option<UtcStamp>,
    pub started_at: Option<UtcStamp>,
    pub ended_at: Option<UtcStamp>,
    pub last_heartbeat: Option<UtcStamp>,
    pub worker_name: Option<Name>,
    /// Seconds; -1 = no timeout; `None` = the queue's default (180 s).
    pub timeout_s: Option<i64>,
    pub result_ttl_s: Option<i64>,
    pub failure_ttl_s: Option<i64>,
    pub ttl_s: Option<i64>,
    /// `Retry.max` left; `None` when the job has no Retry.
    pub retries_left: Option<i64>,
    /// Shared with the job's class, so that creating and copying a job copies no list.
    pub retry_intervals_s: Rc<[i64]>,
    pub enqueue_at_front_on_retry: bool,
    pub enqueue_at_front: bool,
    /// Return-value retries so far (§3.8).
    pub number_of_retries: i64,
    /// `repeats_left`: runs still to come after a success (`Repeat(times=…)` at enqueue,
    /// decremented by `Repeat.schedule`); `None` when the job has no `Repeat`.
    pub repeats_left: Option<i64>,
    /// `repeat_intervals`, saved whenever the job has a `Repeat`.
    pub repeat_intervals_s: Option<Rc<[i64]>>,
    /// `_dependency_ids`: the parents given as `depends_on`, in order; empty for none.
    pub dependency_ids: Rc<[Name]>,
    /// `allow_dependency_failures`: set (and saved) only when `depends_on` was a
    /// `Dependency(...)`.
    pub allow_dependency_failures: Option<bool>,
    /// Bytes of `data` when Redis's memory is modelled: the job is then saved with the fields
    /// RQ writes that matter only to its size (`data`, `description`, the callback names and
    /// `group_id`, and the unset stamps as empty strings). `None` otherwise, and for a job
    /// read back: those fields stay in Redis, as no later save removes a field.
    pub stored_payload: Option<usize>,
}

impl Job {
    /// The field/value pairs of `Job.save`'s single HSET, in the order RQ writes them.
    pub fn mapping(&self) -> Vec<(&'static str, String)> {
        let mut fields = Vec::new();
        self.visit_mapping(|field, value| fields.push((field, value.to_string())));
        fields
    }

    /// Calls `visit` with each field of [`Job::mapping`] in order, lending the values instead
    /// of building a `String` for each: saving a job is on every job's hot path.
    fn visit_mapping(&self, mut visit: impl FnMut(&'static str, FieldValue<'_>)) {
        use FieldValue::{Ids, Int, Intervals, Text};
        visit("origin", Text(&self.origin));
        visit("func_name", Text(&self.func_name));
        visit("status", Text(&self.status));
        visit("created_at", Text(&self.created_at));
        visit("number_of_retries", Int(self.number_of_retries));
        visit("enqueue_at_front", Text(flag(self.enqueue_at_front)));
        visit(
            "enqueue_at_front_on_retry",
            Text(flag(self.enqueue_at_front_on_retry)),
        );
        let optional_text = [
            ("enqueued_at", self.enqueued_at.as_deref()),
            ("started_at", self.started_at.as_deref()),
            ("ended_at", self.ended_at.as_deref()),
            ("last_heartbeat", self.last_heartbeat.as_deref()),
            ("worker_name", self.worker_name.as_deref()),
        ];
        for (field, value) in optional_text {
            match value {
                Some(value) => visit(field, Text(value)),
                None if self.stored_payload.is_some() => visit(field, Text("")),
                None => {}
            }
        }
        let optional_int = [
            ("timeout", self.timeout_s),
            ("result_ttl", self.result_ttl_s),
            ("failure_ttl", self.failure_ttl_s),
            ("ttl", self.ttl_s),
            ("retries_left", self.retries_left),
        ];
        for (field, value) in optional_int {
            if let Some(value) = value {
                visit(field, Int(value));
            }
        }
        if self.retries_left.is_some() {
            visit("retry_intervals", Intervals(&self.retry_intervals_s));
        }
        // `Job.to_dict` writes both only for a job with a `Repeat` (the count even at 0).
        if let Some(left) = self.repeats_left {
            visit("repeats_left", Int(left));
        }
        if let Some(intervals) = &self.repeat_intervals_s {
            visit("repeat_intervals", Intervals(intervals));
        }
        // `Job.to_dict`: the first parent as well, for readers older than `dependency_ids`.
        if let Some(first) = self.dependency_ids.first() {
            visit("dependency_id", Text(first));
            visit("dependency_ids", Ids(&self.dependency_ids));
        }
        if let Some(allow) = self.allow_dependency_failures {
            visit("allow_dependency_failures", Text(flag(allow)));
        }
        if let Some(bytes) = self.stored_payload {
            visit("data", FieldValue::Filler(bytes));
            visit("description", Text(&self.func_name));
            for field in SIZE_ONLY_FIELDS {
                visit(field, Text(""));
            }
        }
    }

    /// `HSET rq:job:<id> field value …` with the whole mapping.
    pub fn save_command(&self) -> crate::redis::Command {
        let mut command = cmd!("HSET", crate::rq::keys::job(&self.id));
        command.reserve(2 * MAPPING_FIELDS);
        self.visit_mapping(|field, value| {
            command.push(field);
            command.push(match value {
                FieldValue::Text(text) => text.into_arg(),
                FieldValue::Int(number) => number.into_arg(),
                FieldValue::Intervals(intervals) => intervals_word(intervals),
                FieldValue::Ids(ids) => crate::redis::Arg::from(ids_json(ids)),
                FieldValue::Filler(bytes) => crate::redis::Arg::from("x".repeat(bytes)),
            });
        });
        command
    }

    /// `Job.cleanup(ttl, pipeline)`: a TTL of 0 deletes the job's three keys (the last command
    /// of `Job.delete`; its registry removals are not modelled), a positive one expires them,
    /// a negative one or none keeps them.
    pub fn cleanup(&self, ttl: Option<i64>, pipeline: &mut Vec<crate::redis::Command>) {
        use crate::rq::keys;
        let id = &self.id;
        match ttl {
            Some(0) => pipeline.push(cmd!(
                "DEL",
                keys::job(id),
                keys::dependents(id),
                keys::dependencies(id)
            )),
            Some(ttl) if ttl > 0 => pipeline.extend([
                cmd!("EXPIRE", keys::job(id), ttl),
                cmd!("EXPIRE", keys::dependents(id), ttl),
                cmd!("EXPIRE", keys::dependencies(id), ttl),
            ]),
            _ => {}
        }
    }

    /// `Job.restore` from an HGETALL reply; `None` for a missing (empty) hash.
    pub fn from_hash<S: AsRef<str>>(id: &str, flat: &[S]) -> Option<Job> {
        Job::from_words(Name::from(id), flat.iter().map(AsRef::as_ref))
    }

    /// [`Job::from_hash`] reading the HGETALL reply in place (no `Vec` of its words), for
    /// the id `id` the caller already holds as a [`Name`].
    pub fn from_reply(id: &Name, hash: &crate::redis::Reply) -> Option<Job> {
        let items = hash.as_array().unwrap_or(&[]);
        let words = items.iter().filter_map(crate::redis::Reply::as_str);
        Job::from_words(id.clone(), words)
    }

    fn from_words<'a>(id: Name, flat: impl Iterator<Item = &'a str>) -> Option<Job> {
        let found = Restored::find_all(flat)?;
        let field = |name: Restored| found[name as usize];
        let stamp = |name: Restored| field(name).map(UtcStamp::new);
        let int = |name: Restored| field(name).and_then(|v| v.parse::<i64>().ok());
        use Restored as F;
        Some(Job {
            id,
            origin: recent_name(field(F::Origin).unwrap_or("")),
            func_name: recent_name(field(F::FuncName).unwrap_or("")),
            status: status(field(F::Status).unwrap_or("")),
            created_at: stamp(F::CreatedAt).unwrap_or_else(|| UtcStamp::new("")),
            enqueued_at: stamp(F::EnqueuedAt),
            started_at: stamp(F::StartedAt),
            ended_at: stamp(F::EndedAt),
            last_heartbeat: stamp(F::LastHeartbeat),
            worker_name: field(F::WorkerName).map(Name::from),
            timeout_s: int(F::Timeout),
            result_ttl_s: int(F::ResultTtl),
            failure_ttl_s: int(F::FailureTtl),
            ttl_s: int(F::Ttl),
            retries_left: int(F::RetriesLeft),
            retry_intervals_s: recent_intervals(field(F::RetryIntervals).unwrap_or("")),
            enqueue_at_front_on_retry: field(F::EnqueueAtFrontOnRetry) == Some("1"),
            enqueue_at_front: field(F::EnqueueAtFront) == Some("1"),
            number_of_retries: int(F::NumberOfRetries).unwrap_or(0),
            repeats_left: int(F::RepeatsLeft),
            repeat_intervals_s: field(F::RepeatIntervals).map(recent_intervals),
            dependency_ids: field(F::DependencyIds).map_or_else(|| Rc::from([]), parse_ids),
            allow_dependency_failures: field(F::AllowDependencyFailures).map(|v| v == "1"),
            stored_payload: None,
        })
    }

    /// The timeout the horse arms: the job's, else the queue default; -1 means none.
    pub fn effective_timeout_s(&self, default_s: i64) -> i64 {
        self.timeout_s.unwrap_or(default_s)
    }

    /// `Job.should_retry`.
    pub fn should_retry(&self) -> bool {
        self.retries_left.is_some_and(|left| left > 0)
    }

    /// `Job.get_retry_interval`, evaluated before the decrement: right-aligned, the surplus
    /// early retries repeat `intervals[0]` (rq-semantics §3.7).
    pub fn retry_interval_s(&self) -> i64 {
        let intervals = &self.retry_intervals_s;
        if intervals.is_empty() {
            return 0;
        }
        let left = self.retries_left.unwrap_or(0);
        let index = (intervals.len() as i64 - left).max(0) as usize;
        intervals[index.min(intervals.len() - 1)]
    }

    /// Whether a success runs `Repeat.schedule` instead of `job.cleanup` (`handle_job_success`).
    pub fn should_repeat(&self) -> bool {
        self.repeats_left.is_some_and(|left| left > 0)
    }

    /// The interval `Repeat.schedule` uses, before it decrements `repeats_left`:
    /// `Repeat.get_interval(repeats_left − 1, intervals)`, 0 for no intervals
    /// (docs/repeat-and-webhooks.md).
    pub fn repeat_interval_s(&self) -> i64 {
        let intervals = self.repeat_intervals_s.as_deref().unwrap_or(&[]);
        let count = self.repeats_left.unwrap_or(0) - 1;
        repeat_interval_at_s(count, intervals)
    }

    /// `Queue.should_enqueue_at_front` as the scheduler uses it (rq-semantics §4.5).
    pub fn should_enqueue_at_front(&self) -> bool {
        (self.enqueue_at_front_on_retry && self.ended_at.is_some()) || self.enqueue_at_front
    }
}

/// `Retry.get_interval(count, intervals)`: left-aligned, the last value repeats (§3.8).
pub fn return_retry_interval_s(count: i64, intervals_s: &[i64]) -> i64 {
    match intervals_s.len() {
        0 => 0,
        len => intervals_s[(count.max(0) as usize).min(len - 1)],
    }
}

/// `Repeat.get_interval(count, intervals)`: `intervals[count]`, the last one past the end;
/// 0 for no intervals (`Repeat.schedule` looks only when the list is not empty). `count` is
/// `repeats_left − 1`, so the intervals are counted from the end: with `Repeat(times=3,
/// interval=[5, 10])` the repeats wait 10, 10, then 5 s.
pub fn repeat_interval_at_s(count: i64, intervals_s: &[i64]) -> i64 {
    match intervals_s.len() {
        0 => 0,
        len => intervals_s[(count.max(0) as usize).min(len - 1)],
    }
}

/// The most fields [`Job::visit_mapping`] writes.
const MAPPING_FIELDS: usize = 20;

/// One value of the job hash as [`Job::visit_mapping`] lends it.
#[derive(Clone, Copy)]
enum FieldValue<'a> {
    Text(&'a str),
    Int(i64),
    /// A list of seconds, written as Python's `json.dumps` writes it: `[10, 30, 60]`.
    Intervals(&'a [i64]),
    /// A list of job ids, as `json.dumps` writes it: `["j1", "j2"]`.
    Ids(&'a [Name]),
    /// Bytes standing in for a pickled call: only their number matters.
    Filler(usize),
}

/// Fields RQ 2.12 saves empty for a job without callbacks or a group (`Job.to_dict`).
const SIZE_ONLY_FIELDS: [&str; 4] = [
    "success_callback_name",
    "failure_callback_name",
    "stopped_callback_name",
    "group_id",
];

impl std::fmt::Display for FieldValue<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FieldValue::Text(text) => f.write_str(text),
            FieldValue::Int(number) => write!(f, "{number}"),
            FieldValue::Intervals(intervals) => f.write_str(&intervals_word(intervals)),
            FieldValue::Ids(ids) => f.write_str(&ids_json(ids)),
            FieldValue::Filler(bytes) => f.write_str(&"x".repeat(*bytes)),
        }
    }
}

/// RQ's `JobStatus` values as constants, anything else as read.
/// The hash fields `Job.restore` reads.
#[derive(Clone, Copy)]
enum Restored {
    Origin,
    FuncName,
    Status,
    CreatedAt,
    EnqueuedAt,
    StartedAt,
    EndedAt,
    LastHeartbeat,
    WorkerName,
    Timeout,
    ResultTtl,
    FailureTtl,
    Ttl,
    RetriesLeft,
    RetryIntervals,
    EnqueueAtFrontOnRetry,
    EnqueueAtFront,
    NumberOfRetries,
    RepeatsLeft,
    RepeatIntervals,
    DependencyIds,
    AllowDependencyFailures,
}

impl Restored {
    const COUNT: usize = Restored::AllowDependencyFailures as usize + 1;

    fn named(name: &str) -> Option<Restored> {
        use Restored::*;
        Some(match name {
            "origin" => Origin,
            "func_name" => FuncName,
            "status" => Status,
            "created_at" => CreatedAt,
            "enqueued_at" => EnqueuedAt,
            "started_at" => StartedAt,
            "ended_at" => EndedAt,
            "last_heartbeat" => LastHeartbeat,
            "worker_name" => WorkerName,
            "timeout" => Timeout,
            "result_ttl" => ResultTtl,
            "failure_ttl" => FailureTtl,
            "ttl" => Ttl,
            "retries_left" => RetriesLeft,
            "retry_intervals" => RetryIntervals,
            "enqueue_at_front_on_retry" => EnqueueAtFrontOnRetry,
            "enqueue_at_front" => EnqueueAtFront,
            "number_of_retries" => NumberOfRetries,
            "repeats_left" => RepeatsLeft,
            "repeat_intervals" => RepeatIntervals,
            "dependency_ids" => DependencyIds,
            "allow_dependency_failures" => AllowDependencyFailures,
            _ => return None,
        })
    }

    /// The value of each restored field in HGETALL's flat `field value …` reply, in one pass
    /// over it (a search per field cost 20 scans of the reply); the first of repeated names.
    /// `None` for an empty reply (a missing hash); a lone last word is ignored.
    fn find_all<'a>(
        mut flat: impl Iterator<Item = &'a str>,
    ) -> Option<[Option<&'a str>; Restored::COUNT]> {
        let mut found = [None; Restored::COUNT];
        let mut first = flat.next()?;
        while let Some(value) = flat.next() {
            if let Some(name) = Restored::named(first) {
                found[name as usize].get_or_insert(value);
            }
            let Some(next) = flat.next() else {
                break;
            };
            first = next;
        }
        Some(found)
    }
}

fn status(text: &str) -> Cow<'static, str> {
    const STATUSES: [&str; 8] = [
        "queued",
        "finished",
        "failed",
        "started",
        "deferred",
        "scheduled",
        "stopped",
        "canceled",
    ];
    match STATUSES.iter().find(|known| **known == text) {
        Some(known) => Cow::Borrowed(known),
        None => Cow::Owned(text.to_string()),
    }
}

fn flag(value: bool) -> &'static str {
    if value {
        "1"
    } else {
        "0"
    }
}

/// Python's `json.dumps` of a list of ints, `[10, 30, 60]`, as one command word. Written on
/// the stack without the formatting machinery, which cost more than the rest of saving a job,
/// then copied into the word (inline for a short list).
fn intervals_word(intervals: &[i64]) -> crate::redis::Arg {
    let mut text = ArrayString::<64>::new();
    text.push('[');
    for (index, interval) in intervals.iter().enumerate() {
        let separator = if index == 0 { "" } else { ", " };
        let number = interval.into_arg();
        if text.try_push_str(separator).is_err() || text.try_push_str(&number).is_err() {
            return long_intervals_word(intervals);
        }
    }
    if text.try_push(']').is_err() {
        return long_intervals_word(intervals);
    }
    crate::redis::Arg::new(text)
}

/// [`intervals_word`] of a list too long for the stack.
fn long_intervals_word(intervals: &[i64]) -> crate::redis::Arg {
    let numbers: Vec<String> = intervals.iter().map(i64::to_string).collect();
    crate::redis::Arg::from(format!("[{}]", numbers.join(", ")))
}

/// Values that job hashes repeat fetch after fetch (the queue's and the function's name, the
/// class's retry intervals), kept per thread so that restoring a job shares them instead of
/// allocating each again. A few recent ones: the oldest makes way for a new one.
const RECENT: usize = 16;

thread_local! {
    static RECENT_NAMES: RefCell<Vec<Name>> = const { RefCell::new(Vec::new()) };
    static RECENT_INTERVALS: RefCell<Vec<(Name, Rc<[i64]>)>> = const { RefCell::new(Vec::new()) };
}

/// `Name::from(text)`, shared with the last job restored with the same text.
fn recent_name(text: &str) -> Name {
    RECENT_NAMES.with_borrow_mut(|recent| {
        if let Some(name) = recent.iter().find(|name| ***name == *text) {
            return name.clone();
        }
        let name = Name::from(text);
        remember(recent, name.clone());
        name
    })
}

/// The intervals an `[10, 30, 60]` field holds (none for ""), shared like [`recent_name`].
fn recent_intervals(text: &str) -> Rc<[i64]> {
    RECENT_INTERVALS.with_borrow_mut(|recent| {
        if let Some((_, intervals)) = recent.iter().find(|(seen, _)| **seen == *text) {
            return intervals.clone();
        }
        let intervals: Rc<[i64]> = parse_intervals(text).into();
        remember(recent, (Name::from(text), intervals.clone()));
        intervals
    })
}

fn remember<T>(recent: &mut Vec<T>, value: T) {
    if recent.len() == RECENT {
        recent.remove(0);
    }
    recent.push(value);
}

/// `json.dumps` of a list of ids. simrq's ids (`j42`) need no escaping.
fn ids_json(ids: &[Name]) -> String {
    let quoted: Vec<String> = ids.iter().map(|id| format!("\"{id}\"")).collect();
    format!("[{}]", quoted.join(", "))
}

/// The ids of a `["j1", "j2"]` field: the text between each pair of quotes.
fn parse_ids(text: &str) -> Rc<[Name]> {
    text.split('"').skip(1).step_by(2).map(Name::from).collect()
}

fn parse_intervals(text: &str) -> Vec<i64> {
    text.trim_matches(|c| c == '[' || c == ']')
        .split(',')
        .filter_map(|item| item.trim().parse().ok())
        .collect()
}

/// `rq/utils.py utcformat`: `%Y-%m-%dT%H:%M:%S.%fZ` of a Unix time in microseconds.
///
/// Written digit by digit into a [`UtcStamp`] on the stack: RQ stamps several of these on
/// every job, and `format!` made this one of the simulation's hottest functions.
pub fn utc_format(unix_micros: i64) -> UtcStamp {
    let seconds = unix_micros.div_euclid(1_000_000);
    let micros = unix_micros.rem_euclid(1_000_000);
    let (days, second_of_day) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    let (hour, minute) = (second_of_day / 3_600, second_of_day / 60 % 60);
    let second = second_of_day % 60;
    if !(0..=9_999).contains(&year) {
        return UtcStamp::new(&format!(
            "{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}.{micros:06}Z"
        ));
    }
    let mut text = *b"0000-00-00T00:00:00.000000Z";
    write_digits(&mut text[0..4], year);
    write_digits(&mut text[5..7], month);
    write_digits(&mut text[8..10], day);
    write_digits(&mut text[11..13], hour);
    write_digits(&mut text[14..16], minute);
    write_digits(&mut text[17..19], second);
    write_digits(&mut text[20..26], micros);
    UtcStamp::new(std::str::from_utf8(&text).expect("digits and separators are ASCII"))
}

/// The text of a [`utc_format`] timestamp, kept inline so that making and copying one
/// allocates nothing (a stamp is 27 bytes; a command word, an [`Arg`](crate::redis::Arg),
/// holds it inline too).
///
/// Any text of up to [`UtcStamp::CAPACITY`] bytes fits, so a job hash's field reads back
/// exactly whatever it holds; longer text, which only a hash RQ did not write could hold,
/// lives on the heap.
#[derive(Clone, PartialEq, Eq)]
pub enum UtcStamp {
    Inline(ArrayString<{ UtcStamp::CAPACITY }>),
    Long(Rc<str>),
}

impl UtcStamp {
    /// Enough for every year `utc_format` can write (up to 29 bytes).
    pub const CAPACITY: usize = 30;

    pub fn new(text: &str) -> UtcStamp {
        match ArrayString::from(text) {
            Ok(inline) => UtcStamp::Inline(inline),
            Err(_) => UtcStamp::Long(Rc::from(text)),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            UtcStamp::Inline(text) => text,
            UtcStamp::Long(text) => text,
        }
    }
}

impl std::ops::Deref for UtcStamp {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for UtcStamp {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl std::fmt::Display for UtcStamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Debug for UtcStamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

impl PartialEq<&str> for UtcStamp {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// A stamp as a command word (`cmd!("HSET", key, "last_heartbeat", ctx.utcnow())`).
impl IntoArg for UtcStamp {
    fn into_arg(self) -> crate::redis::Arg {
        crate::redis::Arg::new(self.as_str())
    }
}

/// [`utc_format`] for the many stamps of a simulation: the text up to the minute
/// (`2026-01-01T01:01:`) is kept from the previous stamp, so most stamps write only their
/// seconds and microseconds. RQ stamps a job several times, and the calendar and the check
/// that the bytes are text were most of `utc_format`'s cost.
#[derive(Default)]
pub struct StampWriter {
    /// The minute (whole minutes since the epoch) of the latest stamp, and its text up to
    /// the seconds.
    minute: Cell<Option<(i64, ArrayString<MINUTE_TEXT>)>>,
}

/// `2026-01-01T01:01:`: a stamp's text before its seconds.
const MINUTE_TEXT: usize = 17;

impl StampWriter {
    /// `utc_format(unix_micros)`, to the byte.
    pub fn format(&self, unix_micros: i64) -> UtcStamp {
        let minute = unix_micros.div_euclid(60_000_000);
        let prefix = match self.minute.get() {
            Some((cached, prefix)) if cached == minute => prefix,
            _ => {
                let stamp = utc_format(unix_micros);
                // A year past 9999 makes a longer text; RQ's dates never get there.
                let Some(prefix) = stamp.get(..MINUTE_TEXT).filter(|_| stamp.len() == 27) else {
                    return stamp;
                };
                let prefix = ArrayString::from(prefix).expect("the prefix fits");
                self.minute.set(Some((minute, prefix)));
                prefix
            }
        };
        let micros_of_minute = unix_micros.rem_euclid(60_000_000);
        let mut rest = *b"00.000000Z";
        write_digits(&mut rest[0..2], micros_of_minute / 1_000_000);
        write_digits(&mut rest[3..9], micros_of_minute % 1_000_000);
        let mut text = ArrayString::new();
        text.push_str(&prefix);
        text.push_str(std::str::from_utf8(&rest).expect("digits and separators are ASCII"));
        UtcStamp::Inline(text)
    }
}

/// Writes the last `slot.len()` decimal digits of `value` (not negative) into `slot`,
/// zero-padded: a stamp is written for nearly every command, so no formatter is involved.
fn write_digits(slot: &mut [u8], mut value: i64) {
    for byte in slot.iter_mut().rev() {
        *byte = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job_with(retries_left: i64, intervals: &[i64]) -> Job {
        Job {
            id: Name::from("j1"),
            origin: Name::from("default"),
            func_name: Name::from("default"),
            status: "queued".into(),
            created_at: UtcStamp::new(""),
            enqueued_at: None,
            started_at: None,
            ended_at: None,
            last_heartbeat: None,
            worker_name: None,
            timeout_s: None,
            result_ttl_s: None,
            failure_ttl_s: None,
            ttl_s: None,
            retries_left: Some(retries_left),
            retry_intervals_s: intervals.into(),
            enqueue_at_front_on_retry: false,
            enqueue_at_front: false,
            number_of_retries: 0,
            repeats_left: None,
            repeat_intervals_s: None,
            dependency_ids: Rc::from([]),
            allow_dependency_failures: None,
            stored_payload: None,
        }
    }

    /// The successive intervals of exception retries for `Retry(max, intervals)`.
    fn exception_retry_intervals(max: i64, intervals: &[i64]) -> Vec<i64> {
        (0..max)
            .map(|used| job_with(max - used, intervals).retry_interval_s())
            .collect()
    }

    /// rq-semantics §3.7: right-aligned interval index, examples verified against RQ.
    #[test]
    fn exception_retries_are_right_aligned() {
        assert_eq!(exception_retry_intervals(3, &[10, 30, 60]), [10, 30, 60]);
        assert_eq!(exception_retry_intervals(2, &[10, 30, 60]), [30, 60]);
        assert_eq!(
            exception_retry_intervals(5, &[10, 30, 60]),
            [10, 10, 10, 30, 60]
        );
        assert_eq!(exception_retry_intervals(3, &[5]), [5, 5, 5]);
        assert_eq!(exception_retry_intervals(3, &[]), [0, 0, 0]);
    }

    /// rq-semantics §3.8: return-value retries are left-aligned, the last value repeats.
    #[test]
    fn return_value_retries_are_left_aligned() {
        let intervals: Vec<i64> = (0..5)
            .map(|n| return_retry_interval_s(n, &[10, 30, 60]))
            .collect();
        assert_eq!(intervals, [10, 30, 60, 60, 60]);
    }

    #[test]
    fn the_mapping_round_trips_through_a_hash() {
        let mut job = job_with(2, &[10, 30]);
        job.ended_at = Some(utc_format(0));
        job.timeout_s = Some(-1);
        let flat: Vec<String> = job
            .mapping()
            .into_iter()
            .flat_map(|(k, v)| [k.to_string(), v])
            .collect();
        assert_eq!(Job::from_hash("j1", &flat), Some(job.clone()));
        assert_eq!(Job::from_hash::<String>("j1", &[]), None);
        // Read straight from the HGETALL reply, as a worker does.
        let reply = crate::redis::Reply::Array(
            flat.iter()
                .map(|word| crate::redis::Reply::Bulk(word.as_str().into()))
                .collect(),
        );
        let id = Name::from("j1");
        assert_eq!(Job::from_reply(&id, &reply), Some(job.clone()));
        let empty = crate::redis::Reply::Array(Vec::new());
        assert_eq!(Job::from_reply(&id, &empty), None);
        job.repeats_left = Some(0);
        job.repeat_intervals_s = Some(vec![5, 10].into());
        let flat: Vec<String> = job
            .mapping()
            .into_iter()
            .flat_map(|(k, v)| [k.to_string(), v])
            .collect();
        assert!(flat
            .windows(2)
            .any(|w| w == ["repeat_intervals", "[5, 10]"]));
        assert_eq!(Job::from_hash("j1", &flat), Some(job.clone()));
        // `Job.to_dict`'s dependency fields (docs/rq-dependencies-and-operations.md §1.1).
        job.dependency_ids = vec![Name::from("j7"), Name::from("j9")].into();
        job.allow_dependency_failures = Some(true);
        let flat: Vec<String> = job
            .mapping()
            .into_iter()
            .flat_map(|(k, v)| [k.to_string(), v])
            .collect();
        assert!(flat.windows(2).any(|w| w == ["dependency_id", "j7"]));
        assert!(flat
            .windows(2)
            .any(|w| w == ["dependency_ids", "[\"j7\", \"j9\"]"]));
        assert!(flat
            .windows(2)
            .any(|w| w == ["allow_dependency_failures", "1"]));
        assert_eq!(Job::from_hash("j1", &flat), Some(job.clone()));
        // One pass finds every field wherever HGETALL puts it; of a repeated name, the first.
        let mut reversed: Vec<String> = flat.chunks(2).rev().flatten().cloned().collect();
        assert_eq!(Job::from_hash("j1", &reversed), Some(job.clone()));
        reversed.splice(0..0, ["status".to_string(), "stopped".to_string()]);
        let restored = Job::from_hash("j1", &reversed).unwrap();
        assert_eq!(
            (restored.status.as_ref(), job.status.as_ref()),
            ("stopped", "queued")
        );
    }

    /// `rq/repeat.py Repeat.schedule`: the interval is `get_interval(repeats_left − 1, …)`,
    /// counted from the end of the list, the last one reused (docs/repeat-and-webhooks.md).
    #[test]
    fn repeat_intervals_are_counted_from_the_end() {
        let successive = |times: i64, intervals: &[i64]| -> Vec<i64> {
            let mut job = job_with(0, &[]);
            job.repeat_intervals_s = Some(intervals.into());
            (0..times)
                .map(|done| {
                    job.repeats_left = Some(times - done);
                    job.repeat_interval_s()
                })
                .collect()
        };
        assert_eq!(successive(3, &[5, 10]), [10, 10, 5]);
        assert_eq!(successive(2, &[5, 10]), [10, 5]);
        assert_eq!(successive(3, &[5, 10, 20, 40]), [20, 10, 5]);
        assert_eq!(successive(2, &[7]), [7, 7]);
        assert_eq!(successive(2, &[]), [0, 0]);
    }

    /// A hash field reads back as it was written, short or long.
    #[test]
    fn a_stamp_keeps_any_text() {
        for text in [
            "",
            "2026-01-01T01:01:01.000123Z",
            &"9".repeat(UtcStamp::CAPACITY + 1),
        ] {
            assert_eq!(UtcStamp::new(text), text);
        }
        assert!(matches!(utc_format(i64::MAX), UtcStamp::Inline(_)));
    }

    /// Minutes kept or not, forwards, backwards (hosts' clocks differ) and on either side of
    /// a minute's end, the writer gives `utc_format`'s text.
    #[test]
    fn the_stamp_writer_writes_what_utc_format_writes() {
        let writer = StampWriter::default();
        let minute = 60_000_000;
        let start = 1_767_225_600_000_000 + 7 * minute;
        let times = [
            0,
            1,
            minute - 1,
            minute,
            59_999_999,
            -1,
            3 * minute + 123_456,
            2,
        ];
        for unix_micros in times
            .map(|offset| start + offset)
            .into_iter()
            .chain([0, -1])
        {
            assert_eq!(writer.format(unix_micros), utc_format(unix_micros));
        }
        let far = 253_402_300_800_000_000;
        assert_eq!(writer.format(far), utc_format(far));
    }

    #[test]
    fn intervals_are_written_as_json_dumps_writes_them() {
        assert_eq!(intervals_word(&[]), "[]");
        assert_eq!(intervals_word(&[10, 30, 60]), "[10, 30, 60]");
        let long: Vec<i64> = (0..40).map(|n| n * 1_000).collect();
        let numbers: Vec<String> = long.iter().map(i64::to_string).collect();
        assert_eq!(intervals_word(&long), format!("[{}]", numbers.join(", ")));
    }

    #[test]
    fn utc_format_matches_rq_utcformat() {
        assert_eq!(utc_format(0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(
            utc_format(1_767_225_600_000_000 + 3_661_000_123),
            "2026-01-01T01:01:01.000123Z"
        );
        assert_eq!(
            utc_format(951_782_400_000_000),
            "2000-02-29T00:00:00.000000Z"
        );
        assert_eq!(
            utc_format(253_402_300_799_999_999),
            "9999-12-31T23:59:59.999999Z"
        );
        assert_eq!(
            utc_format(253_402_300_800_000_000),
            "10000-01-01T00:00:00.000000Z"
        );
    }
}
