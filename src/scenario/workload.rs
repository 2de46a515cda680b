//! `[[workload]]`: a stream of jobs enqueued on one queue, what they do and how they retry.

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::de::value::{SeqAccessDeserializer, StrDeserializer};
use serde::de::{SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use super::distribution::{
    duration_or_distribution, one_or_many_durations, serialize_duration_or_distribution,
    Distribution, DurationOrDistribution, OneOrManyDurations,
};
use crate::sim::SimDuration;

/// One stream of jobs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct WorkloadSpec {
    /// Label in reports. Default: the queue name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Queue the jobs are enqueued on. Default `"default"`.
    pub queue: String,
    /// When jobs arrive. Default `{ poisson_per_s = 1 }`.
    pub arrival: Arrival,
    /// No job arrives before this; a `constant_per_s` stream's first job arrives exactly at
    /// it. Default: the arrival process starts with the run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<SimDuration>,
    /// The workload stops after this many jobs. Default: no limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jobs: Option<u64>,
    /// How long one execution runs: a duration or a distribution. Default `"100ms"`.
    #[serde(deserialize_with = "duration_or_distribution")]
    #[schemars(with = "DurationOrDistribution")]
    pub duration: Distribution,
    /// Chance that an execution raises an exception. Default 0.
    pub fail_probability: f64,
    /// Executions (1 for the first, counting every start of the job, duplicates included)
    /// that raise whatever the probabilities say, e.g. `[1, 2]`. Default none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fail_attempts: Vec<u32>,
    /// Chance that an execution never returns (ended by the job timeout). Default 0.
    pub hang_probability: f64,
    /// The job returns `Retry(...)` (rq-semantics.md §3.8) with this chance and these values.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub return_retry: Option<ReturnRetrySpec>,
    /// `Retry(max, interval, enqueue_at_front)` passed at enqueue. Default: no retry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry: Option<RetrySpec>,
    /// `job_timeout`. Default: `[rq] default_job_timeout`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_timeout: Option<SimDuration>,
    /// Bytes of the job's `data` field: its function call pickled and compressed, as RQ
    /// stores it (`"2kb"`). Sizes the job hash under `[redis] maxmemory`, which it needs.
    /// Default 45: a call with one number argument.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload_size: Option<super::ByteSize>,
    /// `enqueue_in`: jobs go to the scheduled registry and run this much later.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enqueue_in: Option<SimDuration>,
    /// `at_front=True`: LPUSH instead of RPUSH. Default false.
    pub at_front: bool,
    /// `result_ttl`. Default: `[rq] result_ttl`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_ttl: Option<SimDuration>,
    /// `failure_ttl`. Default: `[rq] failure_ttl`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_ttl: Option<SimDuration>,
    /// `ttl`: the job is dropped if it has not started this long after enqueue. Default none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttl: Option<SimDuration>,
    /// `Repeat(times, interval)` passed at enqueue: after each success the job runs again,
    /// `times` more times in all. Default: no repeat.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repeat: Option<RepeatSpec>,
    /// `webhooks=[Webhook(url, job_status, timeout=…)]` passed at enqueue, to an endpoint
    /// with this latency. Default: no webhook.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook: Option<WebhookSpec>,
    /// `depends_on`: this workload has no arrivals of its own. Each arrival of the workload
    /// at the root of its pipeline enqueues one job there, then, in file order, `fan_out`
    /// jobs of every dependent workload, each depending on all the jobs the named workloads
    /// enqueued for that arrival (docs/rq-dependencies-and-operations.md). Default: none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub depends_on: Option<DependsOnSpec>,
}

impl Default for WorkloadSpec {
    fn default() -> WorkloadSpec {
        WorkloadSpec {
            name: None,
            queue: "default".to_string(),
            arrival: Arrival::PoissonPerS(1.0),
            start: None,
            jobs: None,
            duration: Distribution::Constant(SimDuration::from_millis(100)),
            fail_probability: 0.0,
            fail_attempts: Vec::new(),
            hang_probability: 0.0,
            return_retry: None,
            retry: None,
            job_timeout: None,
            payload_size: None,
            enqueue_in: None,
            at_front: false,
            result_ttl: None,
            failure_ttl: None,
            ttl: None,
            repeat: None,
            webhook: None,
            depends_on: None,
        }
    }
}

impl WorkloadSpec {
    /// The name in reports: `name`, or else the queue.
    pub fn label(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.queue)
    }
}

/// `retry = { max = 3, interval = ["10s", "30s", "60s"] }`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RetrySpec {
    /// Retries after the first failure (RQ requires ≥ 1).
    pub max: u32,
    /// Delay before each retry: one duration or a list (RQ right-aligns the list, §3.7).
    /// Default: none, the retry is requeued at once.
    #[serde(default, deserialize_with = "one_or_many_durations")]
    #[schemars(with = "OneOrManyDurations")]
    pub interval: Vec<SimDuration>,
    /// Requeue retries at the front of the queue. Default false.
    #[serde(default)]
    pub enqueue_at_front: bool,
}

/// `depends_on = { workloads = ["extract"], fan_out = 4, allow_failure = true }`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DependsOnSpec {
    /// The workloads, by name, whose jobs of the same pipeline run these jobs depend on.
    /// Each must be declared earlier in the file, and all must belong to one pipeline.
    pub workloads: Vec<String>,
    /// Jobs of this workload per pipeline run. Default 1.
    #[serde(default = "one")]
    pub fan_out: u32,
    /// `Dependency(allow_failure=True)`: a parent that failed for good also counts as done.
    /// Default false.
    #[serde(default)]
    pub allow_failure: bool,
    /// `Dependency(enqueue_at_front=True)`: released jobs go to the front of their queue.
    /// Default false.
    #[serde(default)]
    pub enqueue_at_front: bool,
    /// How long the pipeline's producer waits, after enqueueing the jobs declared before
    /// these, before it enqueues these. Default `"0s"`: at once.
    #[serde(default)]
    pub delay: SimDuration,
}

/// `repeat = { times = 2, interval = "10s" }` (docs/repeat-and-webhooks.md).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RepeatSpec {
    /// `Repeat.times`: runs after the first successful one (RQ requires ≥ 1).
    pub times: u32,
    /// Delay before each repeat, whole seconds: one duration or a list, which RQ reads from
    /// the end (`Repeat.get_interval(repeats_left − 1, …)`, the last one reused). Default
    /// none: RQ's `interval=0`, the job is re-enqueued at once.
    #[serde(default, deserialize_with = "one_or_many_durations")]
    #[schemars(with = "OneOrManyDurations")]
    pub interval: Vec<SimDuration>,
}

/// `webhook = { on = ["finished", "failed"], latency = "200ms", timeout = "10s" }`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookSpec {
    /// The terminal statuses a webhook is sent for (`Webhook.job_status`, one webhook each):
    /// `"finished"`, `"failed"` or a list of both.
    #[serde(deserialize_with = "one_or_many_statuses")]
    #[schemars(with = "OneOrManyStatuses")]
    pub on: Vec<WebhookOn>,
    /// How long the endpoint takes to answer: a duration or a distribution, drawn per send.
    /// Default `"0s"`.
    #[serde(
        default = "zero_distribution",
        deserialize_with = "duration_or_distribution",
        serialize_with = "serialize_duration_or_distribution"
    )]
    #[schemars(with = "DurationOrDistribution")]
    pub latency: Distribution,
    /// `Webhook.timeout`, whole seconds ≥ 1: the send gives up after this. Default `"10s"`.
    #[serde(default = "ten_seconds")]
    pub timeout: SimDuration,
}

/// A status a webhook is sent for.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum WebhookOn {
    Finished,
    Failed,
}

fn zero_distribution() -> Distribution {
    Distribution::Constant(SimDuration::ZERO)
}

fn ten_seconds() -> SimDuration {
    SimDuration::from_secs(10)
}

/// Schema of `on`: one status or a list of them.
#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum OneOrManyStatuses {
    One(WebhookOn),
    Many(Vec<WebhookOn>),
}

/// Reads `"finished"` as `["finished"]`, and a list as itself.
fn one_or_many_statuses<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<WebhookOn>, D::Error> {
    struct Either;
    impl<'de> Visitor<'de> for Either {
        type Value = Vec<WebhookOn>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("\"finished\", \"failed\" or a list such as [\"finished\", \"failed\"]")
        }
        fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Vec<WebhookOn>, E> {
            WebhookOn::deserialize(StrDeserializer::<E>::new(text)).map(|one| vec![one])
        }
        fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Vec<WebhookOn>, A::Error> {
            Vec::deserialize(SeqAccessDeserializer::new(seq))
        }
    }
    deserializer.deserialize_any(Either)
}

/// The job returns `Retry(max, interval)` with chance `probability`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReturnRetrySpec {
    pub probability: f64,
    /// `Retry.max`. Default 1.
    #[serde(default = "one")]
    pub max: u32,
    /// `Retry.interval`: one duration or a list. Default none.
    #[serde(default, deserialize_with = "one_or_many_durations")]
    #[schemars(with = "OneOrManyDurations")]
    pub interval: Vec<SimDuration>,
}

fn one() -> u32 {
    1
}

/// When jobs arrive. Exactly one of the forms below.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "ArrivalTable", into = "ArrivalTable")]
pub enum Arrival {
    /// `{ constant_per_s = 2 }`: evenly spaced.
    ConstantPerS(f64),
    /// `{ poisson_per_s = 5 }`: independent arrivals at this mean rate.
    PoissonPerS(f64),
    /// `{ bursts = { every = "10m", size = 500 } }`.
    Bursts(Bursts),
    /// `{ daily = { peak_per_s = 20, trough_per_s = 2, peak_at = "14h" } }`: a Poisson rate
    /// following a 24 h cosine.
    Daily(Daily),
    /// `{ trace = "arrivals.csv" }`: one arrival per row, the first column in seconds since the
    /// start; the path is relative to the scenario file.
    Trace(PathBuf),
    /// `{ count = 1000, at = "10s" }`: `count` jobs at once.
    Batch { count: u64, at: SimDuration },
}

/// `size` jobs every `every`, the first batch at `every`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Bursts {
    pub every: SimDuration,
    pub size: u64,
}

/// A daily profile: `peak_per_s` at `peak_at` (time of day), `trough_per_s` twelve hours later.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Daily {
    pub peak_per_s: f64,
    pub trough_per_s: f64,
    pub peak_at: SimDuration,
}

/// The table form of [`Arrival`]: every key optional, exactly one form allowed.
#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ArrivalTable {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub constant_per_s: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poisson_per_s: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bursts: Option<Bursts>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daily: Option<Daily>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// With `count`: when the batch is enqueued. Default `"0s"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<SimDuration>,
}

const ARRIVAL_FORMS: &str = "{ constant_per_s = 2 }, { poisson_per_s = 5 }, \
    { bursts = { every = \"10m\", size = 100 } }, \
    { daily = { peak_per_s = 20, trough_per_s = 2, peak_at = \"14h\" } }, \
    { trace = \"arrivals.csv\" } or { count = 100, at = \"10s\" }";

impl TryFrom<ArrivalTable> for Arrival {
    type Error = String;

    fn try_from(table: ArrivalTable) -> Result<Arrival, String> {
        let mut forms = Vec::new();
        if let Some(rate) = table.constant_per_s {
            forms.push(Arrival::ConstantPerS(rate));
        }
        if let Some(rate) = table.poisson_per_s {
            forms.push(Arrival::PoissonPerS(rate));
        }
        if let Some(bursts) = table.bursts {
            forms.push(Arrival::Bursts(bursts));
        }
        if let Some(daily) = table.daily {
            forms.push(Arrival::Daily(daily));
        }
        if let Some(path) = table.trace {
            forms.push(Arrival::Trace(path));
        }
        match (table.count, table.at) {
            (Some(count), at) => forms.push(Arrival::Batch {
                count,
                at: at.unwrap_or_default(),
            }),
            (None, Some(_)) => {
                return Err("`at` needs `count` (e.g. { count = 100, at = \"10s\" })".into())
            }
            (None, None) => {}
        }
        if forms.len() != 1 {
            return Err(format!(
                "expected exactly one arrival form: {ARRIVAL_FORMS}"
            ));
        }
        Ok(forms.remove(0))
    }
}

impl From<Arrival> for ArrivalTable {
    fn from(arrival: Arrival) -> ArrivalTable {
        let mut table = ArrivalTable::default();
        match arrival {
            Arrival::ConstantPerS(rate) => table.constant_per_s = Some(rate),
            Arrival::PoissonPerS(rate) => table.poisson_per_s = Some(rate),
            Arrival::Bursts(bursts) => table.bursts = Some(bursts),
            Arrival::Daily(daily) => table.daily = Some(daily),
            Arrival::Trace(path) => table.trace = Some(path),
            Arrival::Batch { count, at } => {
                table.count = Some(count);
                table.at = Some(at);
            }
        }
        table
    }
}

impl JsonSchema for Arrival {
    fn schema_name() -> String {
        "Arrival".to_string()
    }

    fn json_schema(gen: &mut schemars::gen::SchemaGenerator) -> schemars::schema::Schema {
        let mut schema = ArrivalTable::json_schema(gen).into_object();
        schema.metadata().description = Some(format!("Exactly one of: {ARRIVAL_FORMS}"));
        schema.into()
    }
}
