//! The read-only walk over a deployment's Redis.
//!
//! ```text
//!  DBSIZE ──► progress bar length
//!  SCAN 0 MATCH rq:* COUNT 1000 … until cursor 0
//!     ├─ rq:job:<id>          ──► HMGET (JOB_FIELDS) per reply, pipelined ──► JobRecord
//!     ├─ rq:scheduler:<name>  ──► HGET queues
//!     └─ anything else rq:*   ──► counted (evidence that this is an RQ Redis)
//!  SMEMBERS rq:workers ──► HMGET rq:worker:<name> queues death hostname
//!  per queue: LLEN, ZCARD of each registry, GET rq:scheduler-lock:<q>
//! ```
//!
//! Every command used is in Redis's `@read` or `@connection` ACL category (the tests run it as
//! a user allowed nothing else): never KEYS (it blocks the server for the whole keyspace), no
//! write, no command that changes the server's state. Memory is bounded by `max_jobs` records
//! of a few numbers each; the payload (`data`) and the traceback (`exc_info`) are never read.

use std::collections::BTreeMap;
use std::time::Duration;

use redis::{Connection, RedisError};

use super::record::{job_from_fields, worker_from_fields, FieldProblems, JobRecord};
use super::record::{WorkerRecord, JOB_FIELDS};

/// Keys asked for per SCAN call: large enough that a million keys take a thousand round
/// trips, small enough that Redis answers each within a millisecond.
pub const SCAN_COUNT: u64 = 1000;

/// How long a command may wait for its reply before the Redis is taken as gone.
const READ_TIMEOUT: Duration = Duration::from_secs(30);

/// What to read.
#[derive(Clone, Debug)]
pub struct ScanOptions {
    /// `redis://host:port/db`.
    pub url: String,
    /// Only these queues (all when `None`).
    pub queues: Option<Vec<String>>,
    /// Only jobs enqueued at or after this Unix second.
    pub since_unix_s: Option<f64>,
    /// Stop keeping jobs after this many.
    pub max_jobs: usize,
}

impl ScanOptions {
    /// Whether `--queues` keeps this queue (every queue without it).
    fn keeps_queue(&self, queue: &str) -> bool {
        self.queues
            .as_ref()
            .is_none_or(|wanted| wanted.iter().any(|name| name == queue))
    }
}

/// The registries of one queue, as counts at the time of the scan.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QueueCounts {
    pub waiting: u64,
    pub started: u64,
    pub finished: u64,
    pub failed: u64,
    pub scheduled: u64,
    pub deferred: u64,
    /// The value of `rq:scheduler-lock:<q>`: the scheduler holding the queue's lock.
    pub lock_holder: Option<String>,
}

/// Everything the scan kept.
#[derive(Clone, Debug, Default)]
pub struct Sample {
    pub url: String,
    pub db_keys: u64,
    pub rq_keys: u64,
    pub job_hashes: u64,
    /// Jobs kept (within `--queues`, `--since` and `--max-jobs`).
    pub jobs: Vec<JobRecord>,
    /// Jobs skipped because `--max-jobs` was reached.
    pub jobs_over_cap: u64,
    /// Job keys that expired between SCAN and HMGET, or were not hashes.
    pub vanished: u64,
    pub problems: FieldProblems,
    pub workers: Vec<WorkerRecord>,
    /// (scheduler name, queues) of each live `rq:scheduler:<name>` hash.
    pub schedulers: Vec<(String, Vec<String>)>,
    pub queues: BTreeMap<String, QueueCounts>,
}

/// Opens a connection with timeouts, so that a Redis that stops answering ends the scan
/// with an error instead of hanging it.
pub fn connect(url: &str) -> Result<Connection, String> {
    let client = redis::Client::open(url).map_err(|e| format!("--redis {url}: {e}"))?;
    let connection = client
        .get_connection_with_timeout(Duration::from_secs(5))
        .map_err(|e| format!("cannot connect to {}: {e}", redact(url)))?;
    connection
        .set_read_timeout(Some(READ_TIMEOUT))
        .and_then(|()| connection.set_write_timeout(Some(READ_TIMEOUT)))
        .map_err(|e| format!("{}: {e}", redact(url)))?;
    Ok(connection)
}

/// The URL without a password, for messages and the written scenario.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            format!("{}://***@{}", &url[..scheme_end], &url[at + 1..])
        }
        _ => url.to_string(),
    }
}

/// An error from Redis during the scan, as the user should read it.
fn lost(url: &str, stage: &str, keys_so_far: u64, error: &RedisError) -> String {
    let what = if error.is_io_error() || error.is_connection_dropped() || error.is_timeout() {
        "the connection was lost"
    } else {
        "Redis refused a command"
    };
    format!(
        "{}: {what} while {stage} (after {keys_so_far} RQ keys): {error}. Nothing was \
         written; run calibrate again when Redis is reachable",
        redact(url)
    )
}

/// Reads the sample. `on_keys` is told how many RQ keys each SCAN reply held (the progress).
pub fn scan(
    connection: &mut Connection,
    options: &ScanOptions,
    on_keys: &mut dyn FnMut(u64, u64),
) -> Result<Sample, String> {
    let url = &options.url;
    let db_keys: u64 = redis::cmd("DBSIZE")
        .query(connection)
        .map_err(|e| lost(url, "asking DBSIZE", 0, &e))?;
    let mut sample = Sample {
        url: redact(url),
        db_keys,
        ..Sample::default()
    };
    let mut cursor = 0u64;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .cursor_arg(cursor)
            .arg("MATCH")
            .arg("rq:*")
            .arg("COUNT")
            .arg(SCAN_COUNT)
            .query(connection)
            .map_err(|e| lost(url, "scanning", sample.rq_keys, &e))?;
        sample.rq_keys += keys.len() as u64;
        on_keys(keys.len() as u64, db_keys);
        read_batch(connection, options, &keys, &mut sample)?;
        if next == 0 {
            break;
        }
        cursor = next;
    }
    read_workers(connection, options, &mut sample)?;
    read_queues(connection, options, &mut sample)?;
    Ok(sample)
}

/// A job hash's key: `rq:job:<id>` with no further segment (`…:dependents` is a set).
fn job_key(key: &str) -> bool {
    key.strip_prefix("rq:job:")
        .is_some_and(|id| !id.is_empty() && !id.contains(':'))
}

/// Reads the job and scheduler hashes among one SCAN reply's keys.
fn read_batch(
    connection: &mut Connection,
    options: &ScanOptions,
    keys: &[String],
    sample: &mut Sample,
) -> Result<(), String> {
    let job_keys: Vec<&String> = keys.iter().filter(|k| job_key(k)).collect();
    sample.job_hashes += job_keys.len() as u64;
    let rows = hmget_many(connection, &job_keys, &JOB_FIELDS)
        .map_err(|e| lost(&options.url, "reading job hashes", sample.rq_keys, &e))?;
    for row in rows {
        let Some(values) = row.filter(|v| v.iter().any(Option::is_some)) else {
            sample.vanished += 1;
            continue;
        };
        let Some(job) = job_from_fields(&values, &mut sample.problems) else {
            continue;
        };
        if !wanted(options, &job) {
            continue;
        }
        if sample.jobs.len() >= options.max_jobs {
            sample.jobs_over_cap += 1;
        } else {
            sample.jobs.push(job);
        }
    }
    let scheduler_keys: Vec<&String> = keys
        .iter()
        .filter(|k| k.starts_with("rq:scheduler:"))
        .collect();
    let rows = hmget_many(connection, &scheduler_keys, &["queues"])
        .map_err(|e| lost(&options.url, "reading scheduler hashes", sample.rq_keys, &e))?;
    for (key, row) in scheduler_keys.iter().zip(rows) {
        if let Some(Some(queues)) = row.and_then(|r| r.into_iter().next()) {
            let name = key.trim_start_matches("rq:scheduler:").to_string();
            let worker = worker_from_fields(&name, Some(&queues), None, None);
            sample.schedulers.push((name, worker.queues));
        }
    }
    Ok(())
}

/// Whether `--queues` and `--since` keep this job.
fn wanted(options: &ScanOptions, job: &JobRecord) -> bool {
    let queue_ok = options.keeps_queue(&job.queue);
    let since_ok = match (options.since_unix_s, job.enqueued_at_s) {
        (Some(since), Some(enqueued)) => enqueued >= since,
        (Some(_), None) => false,
        (None, _) => true,
    };
    queue_ok && since_ok
}

/// `HMGET key fields…` for each key in one pipeline (no MULTI). A key that is not a hash
/// makes Redis answer WRONGTYPE, which fails the whole pipeline in the client: the keys are
/// then read one by one and that key's row is `None`.
fn hmget_many(
    connection: &mut Connection,
    keys: &[&String],
    fields: &[&str],
) -> Result<Vec<Option<Vec<Option<String>>>>, RedisError> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let mut pipeline = redis::pipe();
    for key in keys {
        pipeline.cmd("HMGET").arg(key.as_str()).arg(fields);
    }
    match pipeline.query::<Vec<Vec<Option<String>>>>(connection) {
        Ok(rows) => Ok(rows.into_iter().map(Some).collect()),
        Err(error) if is_reply_error(&error) => keys
            .iter()
            .map(|key| {
                let reply = redis::cmd("HMGET")
                    .arg(key.as_str())
                    .arg(fields)
                    .query::<Vec<Option<String>>>(connection);
                match reply {
                    Ok(row) => Ok(Some(row)),
                    Err(error) if is_reply_error(&error) => Ok(None),
                    Err(error) => Err(error),
                }
            })
            .collect(),
        Err(error) => Err(error),
    }
}

/// An error about one reply (WRONGTYPE, a value that is not UTF-8), not about the connection.
fn is_reply_error(error: &RedisError) -> bool {
    !(error.is_io_error()
        || error.is_connection_dropped()
        || error.is_timeout()
        || error.is_unrecoverable_error())
}

/// `rq:workers` and each worker's hash.
fn read_workers(
    connection: &mut Connection,
    options: &ScanOptions,
    sample: &mut Sample,
) -> Result<(), String> {
    let url = &options.url;
    let mut keys: Vec<String> = smembers_or_empty(connection, "rq:workers")
        .map_err(|e| lost(url, "reading rq:workers", sample.rq_keys, &e))?;
    keys.sort();
    let key_refs: Vec<&String> = keys.iter().collect();
    let rows = hmget_many(connection, &key_refs, &["queues", "death", "hostname"])
        .map_err(|e| lost(url, "reading worker hashes", sample.rq_keys, &e))?;
    for (key, row) in keys.iter().zip(rows) {
        // A member whose hash expired (a worker that died without unregistering) is gone.
        let Some(row) = row.filter(|r| r.iter().any(Option::is_some)) else {
            continue;
        };
        let name = key.trim_start_matches("rq:worker:");
        let worker = worker_from_fields(
            name,
            row[0].as_deref(),
            row[1].as_deref(),
            row[2].as_deref(),
        );
        let listens =
            options.queues.is_none() || worker.queues.iter().any(|q| options.keeps_queue(q));
        if listens {
            sample.workers.push(worker);
        }
    }
    Ok(())
}

/// The members of a set; a key of another type (not RQ's) reads as empty, as a missing one
/// does, while a lost connection stays an error.
fn smembers_or_empty(connection: &mut Connection, key: &str) -> redis::RedisResult<Vec<String>> {
    redis::cmd("SMEMBERS")
        .arg(key)
        .query(connection)
        .or_else(|e| {
            if is_reply_error(&e) {
                Ok(Vec::new())
            } else {
                Err(e)
            }
        })
}

/// The queue names (from `rq:queues`, the jobs and the workers) and their registries' sizes.
fn read_queues(
    connection: &mut Connection,
    options: &ScanOptions,
    sample: &mut Sample,
) -> Result<(), String> {
    let url = &options.url;
    let listed: Vec<String> = smembers_or_empty(connection, "rq:queues")
        .map_err(|e| lost(url, "reading rq:queues", sample.rq_keys, &e))?;
    let mut names: Vec<String> = listed
        .iter()
        .filter_map(|k| k.strip_prefix("rq:queue:").map(str::to_string))
        .chain(sample.jobs.iter().map(|j| j.queue.clone()))
        .chain(sample.workers.iter().flat_map(|w| w.queues.clone()))
        .filter(|q| options.keeps_queue(q))
        .collect();
    names.sort();
    names.dedup();
    for name in names {
        let counts = queue_counts(connection, &name)
            .map_err(|e| lost(url, "reading the registries", sample.rq_keys, &e))?;
        sample.queues.insert(name, counts);
    }
    Ok(())
}

/// One queue's list length, registry sizes (rq-semantics.md §1: `rq:wip:<q>` is the started
/// registry in 2.12) and scheduler lock holder.
fn queue_counts(connection: &mut Connection, queue: &str) -> Result<QueueCounts, RedisError> {
    let mut pipeline = redis::pipe();
    pipeline.cmd("LLEN").arg(format!("rq:queue:{queue}"));
    for registry in ["wip", "finished", "failed", "scheduled", "deferred"] {
        pipeline.cmd("ZCARD").arg(format!("rq:{registry}:{queue}"));
    }
    pipeline
        .cmd("GET")
        .arg(format!("rq:scheduler-lock:{queue}"));
    type Counts = (u64, u64, u64, u64, u64, u64, Option<String>);
    let reply: Result<Counts, RedisError> = pipeline.query(connection);
    let (waiting, started, finished, failed, scheduled, deferred, lock_holder) = match reply {
        Ok(values) => values,
        // A key of another type under an RQ name: leave the counts out rather than fail.
        Err(error) if is_reply_error(&error) => return Ok(QueueCounts::default()),
        Err(error) => return Err(error),
    };
    Ok(QueueCounts {
        waiting,
        started,
        finished,
        failed,
        scheduled,
        deferred,
        lock_holder,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_job_hashes_count_as_jobs() {
        assert!(job_key("rq:job:0b5f"));
        assert!(!job_key("rq:job:0b5f:dependents"));
        assert!(!job_key("rq:job::0b5f:dependencies"));
        assert!(!job_key("rq:job:"));
        assert!(!job_key("rq:jobs"));
    }

    #[test]
    fn passwords_are_left_out_of_messages() {
        assert_eq!(redact("redis://:secret@db:6379/0"), "redis://***@db:6379/0");
        assert_eq!(redact("redis://db:6379/0"), "redis://db:6379/0");
    }
}
