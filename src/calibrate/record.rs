//! What calibration keeps of each job and worker hash: a few numbers per job, so that memory
//! stays bounded by `--max-jobs` whatever the jobs' payloads, and the parsing of RQ's field
//! formats (rq-semantics.md §1: timestamps `%Y-%m-%dT%H:%M:%S.%fZ` in UTC, `retry_intervals` a
//! JSON list, `queues` a comma-separated list).

use crate::sim::calendar::{civil_from_days, days_from_civil};

/// The job hash fields calibration reads, in the order `HMGET` asks for them. `data` (the
/// pickled call, possibly large) and `exc_info` are never read.
pub const JOB_FIELDS: [&str; 12] = [
    "status",
    "origin",
    "enqueued_at",
    "started_at",
    "ended_at",
    "retries_left",
    "retry_intervals",
    "number_of_retries",
    "timeout",
    "result_ttl",
    "failure_ttl",
    "worker_name",
];

/// One job, as far as calibration needs it. Times are Unix seconds.
#[derive(Clone, Debug, PartialEq)]
pub struct JobRecord {
    pub queue: String,
    pub status: JobStatus,
    pub enqueued_at_s: Option<f64>,
    pub started_at_s: Option<f64>,
    pub ended_at_s: Option<f64>,
    /// `retries_left` + `number_of_retries`: the `Retry(max=…)` the job was enqueued with.
    pub retry_max: Option<u32>,
    /// `retry_intervals`, whole seconds.
    pub retry_intervals_s: Vec<u64>,
    /// Executions that failed before the last one (`number_of_retries`).
    pub retries_used: u32,
    pub timeout_s: Option<i64>,
    pub result_ttl_s: Option<i64>,
    pub failure_ttl_s: Option<i64>,
    pub worker_name: Option<String>,
}

/// `rq/job.py JobStatus`, with the values calibration does not tell apart folded together.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobStatus {
    Finished,
    Failed,
    /// queued, scheduled, deferred, started, created: not ended yet.
    Pending,
    /// stopped, canceled: ended by an operator, not by the job.
    Stopped,
}

impl JobStatus {
    /// RQ's status text; `None` for one RQ 2.12 does not write.
    fn parse(text: &str) -> Option<JobStatus> {
        Some(match text {
            "finished" => JobStatus::Finished,
            "failed" => JobStatus::Failed,
            "stopped" | "canceled" => JobStatus::Stopped,
            "queued" | "scheduled" | "deferred" | "started" | "created" => JobStatus::Pending,
            _ => return None,
        })
    }
}

/// One worker hash (`rq:worker:<name>`).
#[derive(Clone, Debug, PartialEq)]
pub struct WorkerRecord {
    pub name: String,
    pub queues: Vec<String>,
    /// The hash has `death`: the worker registered its death and is gone.
    pub dead: bool,
    pub hostname: String,
}

/// Parses RQ's `utcformat` timestamp (`2026-12-07T23:05:44.123456Z`) to Unix seconds. Also
/// takes it without the fraction or the `Z`, as older RQ wrote it. `None` for anything else.
pub fn parse_rq_time(text: &str) -> Option<f64> {
    let text = text.trim().trim_end_matches('Z');
    let (date, time) = text.split_once('T')?;
    let mut date_parts = date.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (year, month, day) = (
        date_parts.next()??,
        date_parts.next()??,
        date_parts.next()??,
    );
    let (hms, fraction) = time.split_once('.').unwrap_or((time, ""));
    let mut hms_parts = hms.splitn(3, ':').map(|p| p.parse::<i64>().ok());
    let (hour, minute, second) = (hms_parts.next()??, hms_parts.next()??, hms_parts.next()??);
    let valid = (1..=12).contains(&month)
        && (1..=31).contains(&day)
        && (0..24).contains(&hour)
        && (0..60).contains(&minute)
        && (0..=60).contains(&second);
    if !valid || !fraction.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let fraction_s = if fraction.is_empty() {
        0.0
    } else {
        format!("0.{fraction}").parse::<f64>().ok()?
    };
    let days = days_from_civil(year, month, day);
    Some((days * 86_400 + hour * 3600 + minute * 60 + second) as f64 + fraction_s)
}

/// Formats Unix seconds as RQ does (to the second), for the scenario's comments.
pub fn format_utc(unix_s: f64) -> String {
    let total = unix_s.floor() as i64;
    let (days, second_of_day) = (total.div_euclid(86_400), total.rem_euclid(86_400));
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        second_of_day / 3600,
        second_of_day / 60 % 60,
        second_of_day % 60
    )
}

/// Why a job hash was set aside or only partly used: counted per field, reported as warnings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldProblems {
    /// (field, count of jobs whose value could not be read).
    pub garbled: std::collections::BTreeMap<&'static str, u64>,
    /// Jobs without `origin` or `status`: not RQ jobs, or written by something else.
    pub unusable: u64,
}

impl FieldProblems {
    fn garbled(&mut self, field: &'static str) {
        *self.garbled.entry(field).or_default() += 1;
    }
}

/// Builds a record from the values of [`JOB_FIELDS`] (`None` where the field is absent).
/// Garbled values are counted in `problems` and treated as absent; a job without `origin` or
/// `status` is unusable and gives `None`.
pub fn job_from_fields(
    values: &[Option<String>],
    problems: &mut FieldProblems,
) -> Option<JobRecord> {
    let field = |name: &str| {
        let index = JOB_FIELDS.iter().position(|f| *f == name)?;
        values.get(index)?.as_deref().filter(|v| !v.is_empty())
    };
    let (Some(status), Some(origin)) = (field("status"), field("origin")) else {
        problems.unusable += 1;
        return None;
    };
    let Some(status) = JobStatus::parse(status) else {
        problems.garbled("status");
        return None;
    };
    let mut time = |name: &'static str| {
        let text = field(name)?;
        let parsed = parse_rq_time(text);
        if parsed.is_none() {
            problems.garbled(name);
        }
        parsed
    };
    let (enqueued_at_s, started_at_s, ended_at_s) =
        (time("enqueued_at"), time("started_at"), time("ended_at"));
    let mut integer = |name: &'static str| {
        let text = field(name)?;
        // RQ writes integers; a float such as "180.0" comes from a hand-made job.
        let parsed = text.parse::<i64>().ok().or_else(|| {
            let float = text.parse::<f64>().ok().filter(|f| f.is_finite())?;
            Some(float as i64)
        });
        if parsed.is_none() {
            problems.garbled(name);
        }
        parsed
    };
    let retries_left = integer("retries_left");
    let retries_used = integer("number_of_retries")
        .unwrap_or(0)
        .clamp(0, 1_000_000) as u32;
    let (timeout_s, result_ttl_s, failure_ttl_s) = (
        integer("timeout"),
        integer("result_ttl"),
        integer("failure_ttl"),
    );
    let retry_intervals_s = match field("retry_intervals").map(parse_intervals) {
        Some(Some(list)) => list,
        Some(None) => {
            problems.garbled("retry_intervals");
            Vec::new()
        }
        None => Vec::new(),
    };
    let retry_max = retries_left
        .filter(|left| *left >= 0)
        .map(|left| (left as u32).saturating_add(retries_used))
        .filter(|max| *max > 0);
    Some(JobRecord {
        queue: origin.to_string(),
        status,
        enqueued_at_s,
        started_at_s,
        ended_at_s,
        retry_max,
        retry_intervals_s,
        retries_used,
        timeout_s,
        result_ttl_s,
        failure_ttl_s,
        worker_name: field("worker_name").map(str::to_string),
    })
}

/// `retry_intervals`: a JSON list of whole seconds, `[10, 30]`.
fn parse_intervals(text: &str) -> Option<Vec<u64>> {
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    value
        .as_array()?
        .iter()
        .map(|v| {
            v.as_u64()
                .or_else(|| v.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
        })
        .collect()
}

/// Builds a worker record from its hash's `queues` and `death` fields.
pub fn worker_from_fields(
    name: &str,
    queues: Option<&str>,
    death: Option<&str>,
    hostname: Option<&str>,
) -> WorkerRecord {
    WorkerRecord {
        name: name.to_string(),
        queues: queues
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|q| !q.is_empty())
            .map(str::to_string)
            .collect(),
        dead: death.is_some_and(|d| !d.is_empty()),
        hostname: hostname.unwrap_or("").to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rq_timestamps_parse_to_unix_seconds_and_back() {
        let t = parse_rq_time("2026-12-07T23:05:44.250000Z").unwrap();
        assert!((t - 1_796_684_744.25).abs() < 1e-6, "{t}");
        assert_eq!(format_utc(t), "2026-12-07T23:05:44Z");
        assert_eq!(parse_rq_time("1970-01-01T00:00:00Z"), Some(0.0));
        assert_eq!(parse_rq_time("2024-02-29T12:00:00"), Some(1_709_208_000.0));
        for bad in [
            "",
            "yesterday",
            "2026-13-01T00:00:00Z",
            "2026-12-07 23:05:44",
            "2026-12-07T2",
        ] {
            assert_eq!(parse_rq_time(bad), None, "{bad}");
        }
    }

    fn values(pairs: &[(&str, &str)]) -> Vec<Option<String>> {
        JOB_FIELDS
            .iter()
            .map(|f| {
                pairs
                    .iter()
                    .find(|(k, _)| k == f)
                    .map(|(_, v)| v.to_string())
            })
            .collect()
    }

    #[test]
    fn a_job_hash_becomes_a_record_and_garbled_fields_are_counted() {
        let mut problems = FieldProblems::default();
        let job = job_from_fields(
            &values(&[
                ("status", "finished"),
                ("origin", "emails"),
                ("enqueued_at", "2026-12-07T23:00:00.000000Z"),
                ("started_at", "not a time"),
                ("retries_left", "1"),
                ("number_of_retries", "2"),
                ("retry_intervals", "[10, 30, 60]"),
                ("timeout", "180"),
            ]),
            &mut problems,
        )
        .unwrap();
        assert_eq!(job.queue, "emails");
        assert_eq!(job.started_at_s, None);
        assert_eq!(job.retry_max, Some(3));
        assert_eq!(job.retry_intervals_s, vec![10, 30, 60]);
        assert_eq!(job.timeout_s, Some(180));
        assert_eq!(problems.garbled.get("started_at"), Some(&1));
        assert!(job_from_fields(&values(&[("status", "finished")]), &mut problems).is_none());
        assert_eq!(problems.unusable, 1);
        let odd = values(&[("status", "exploded"), ("origin", "q")]);
        assert!(job_from_fields(&odd, &mut problems).is_none());
        assert_eq!(problems.garbled.get("status"), Some(&1));
    }
}
