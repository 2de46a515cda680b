//! `[[cron]]`: the jobs of the `rq cron` config file (`cron.register(func, queue_name, ...)`),
//! run by every pod group with `cron = true` (docs/cron.md).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::distribution::{duration_or_distribution, Distribution, DurationOrDistribution};
use super::workload::WorkloadSpec;
use crate::sim::SimDuration;

/// One `cron.register(...)` call: a job enqueued every `interval` or at each instant of `cron`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct CronSpec {
    /// `name=`: the cron job's identity (its history key, its rows in reports) and the job's
    /// function. Required, unique among cron jobs and workloads.
    pub name: String,
    /// `queue_name`. Default `"default"`.
    pub queue: String,
    /// `interval=`: whole seconds; the job runs when `rq cron` starts, then this long after
    /// each enqueue. Exactly one of `interval` and `cron`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval: Option<SimDuration>,
    /// `cron=`: a five-field cron expression (UTC), e.g. `"*/5 * * * *"`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cron: Option<String>,
    /// How long one execution runs. Default `"100ms"`.
    #[serde(deserialize_with = "duration_or_distribution")]
    #[schemars(with = "DurationOrDistribution")]
    pub duration: Distribution,
    /// Chance that an execution raises. Default 0.
    pub fail_probability: f64,
    /// `job_timeout=`. Default: `[rq] default_job_timeout`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_timeout: Option<SimDuration>,
    /// `result_ttl=`. Default 500 s (`CronJob` always passes RQ's `DEFAULT_RESULT_TTL`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_ttl: Option<SimDuration>,
    /// `ttl=`. Default none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttl: Option<SimDuration>,
    /// `failure_ttl=`. Default: `[rq] failure_ttl`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_ttl: Option<SimDuration>,
}

/// `DEFAULT_RESULT_TTL`, which `CronJob` passes when `result_ttl` is not given.
pub const CRON_RESULT_TTL: SimDuration = SimDuration::from_secs(500);

impl Default for CronSpec {
    fn default() -> CronSpec {
        CronSpec {
            name: String::new(),
            queue: "default".to_string(),
            interval: None,
            cron: None,
            duration: Distribution::Constant(SimDuration::from_millis(100)),
            fail_probability: 0.0,
            job_timeout: None,
            result_ttl: None,
            ttl: None,
            failure_ttl: None,
        }
    }
}

impl CronSpec {
    /// The job this cron job enqueues, as a workload of its own (never arriving by itself):
    /// one place builds job classes for producers and `rq cron` alike.
    pub fn as_workload(&self) -> WorkloadSpec {
        WorkloadSpec {
            name: Some(self.name.clone()),
            queue: self.queue.clone(),
            duration: self.duration,
            fail_probability: self.fail_probability,
            job_timeout: self.job_timeout,
            result_ttl: Some(self.result_ttl.unwrap_or(CRON_RESULT_TTL)),
            ttl: self.ttl,
            failure_ttl: self.failure_ttl,
            ..WorkloadSpec::default()
        }
    }
}
