//! `[[pods]]`: a group of identical worker pods, as one Kubernetes Deployment runs them.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::rq::WorkerClass;
use crate::sim::SimDuration;

/// One Deployment of `rq worker` pods.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct PodSpec {
    /// Group name; pods are `<name>-0`, `<name>-1`, … Default `"worker"`.
    pub name: String,
    /// Number of pods. Default 1.
    pub replicas: u32,
    /// `rq worker --with-scheduler`. Default false, as for `rq worker`.
    pub with_scheduler: bool,
    /// Queues in priority order (`rq worker q1 q2`). Default `["default"]`.
    pub queues: Vec<String>,
    /// `terminationGracePeriodSeconds`: SIGKILL this long after SIGTERM. Default `"30s"`.
    pub termination_grace_period: SimDuration,
    /// Container start until the worker runs (image, Python imports). Default `"5s"`.
    pub start_delay: SimDuration,
    /// Kubernetes `restartPolicy`. Default `"Always"`.
    pub restart_policy: RestartPolicy,
    /// Back-off between restarts of a crashing container. Default 10 s doubling to 300 s.
    pub crash_loop_backoff: CrashLoopBackoff,
    /// How a rolling restart replaces pods.
    pub rollout: Rollout,
    /// The worker is the container's PID 1 and receives SIGTERM itself. Default true.
    pub pid1: bool,
    /// A fixed `--name`; by default each worker gets a random name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worker_name: Option<String>,
    /// `rq worker --burst`: pop without blocking and exit 0 once every queue is empty; the
    /// kubelet then restarts the container as `restart_policy` says. Default false.
    pub burst: bool,
    /// `rq worker --max-jobs N`: exit 0 after N executed jobs (any outcome counts); the
    /// kubelet then restarts the container as `restart_policy` says. Default none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_jobs: Option<u32>,
    /// `rq worker -w rq.worker.SimpleWorker` with `"SimpleWorker"`: each job runs in the
    /// worker's own process, without a work-horse. Default `"Worker"`.
    #[serde(skip_serializing_if = "is_default_class")]
    pub worker_class: WorkerClass,
    /// The container runs `rq worker`. Default true; false leaves a pod that runs only
    /// `rq cron` (with `cron = true`).
    #[serde(skip_serializing_if = "is_true")]
    pub worker: bool,
    /// Each pod also runs `rq cron` with the `[[cron]]` jobs, as a second container: it
    /// starts, stops and is killed with the pod, and the kubelet restarts it on its own.
    /// Default false.
    #[serde(skip_serializing_if = "is_false")]
    pub cron: bool,
}

fn is_true(value: &bool) -> bool {
    *value
}

fn is_false(value: &bool) -> bool {
    !*value
}

fn is_default_class(class: &WorkerClass) -> bool {
    *class == WorkerClass::default()
}

impl Default for PodSpec {
    fn default() -> PodSpec {
        PodSpec {
            name: "worker".to_string(),
            replicas: 1,
            with_scheduler: false,
            queues: vec!["default".to_string()],
            termination_grace_period: SimDuration::from_secs(30),
            start_delay: SimDuration::from_secs(5),
            restart_policy: RestartPolicy::Always,
            crash_loop_backoff: CrashLoopBackoff::default(),
            rollout: Rollout::default(),
            pid1: true,
            worker_name: None,
            burst: false,
            max_jobs: None,
            worker_class: WorkerClass::Worker,
            worker: true,
            cron: false,
        }
    }
}

/// Kubernetes `restartPolicy`, spelled as in a pod manifest.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum RestartPolicy {
    #[default]
    Always,
    OnFailure,
    Never,
}

/// Kubernetes' CrashLoopBackOff: the delay doubles from `initial` up to `cap`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct CrashLoopBackoff {
    /// Default `"10s"`.
    pub initial: SimDuration,
    /// Default `"300s"`.
    pub cap: SimDuration,
}

impl Default for CrashLoopBackoff {
    fn default() -> CrashLoopBackoff {
        CrashLoopBackoff {
            initial: SimDuration::from_secs(10),
            cap: SimDuration::from_secs(300),
        }
    }
}

/// Deployment `strategy.rollingUpdate`. The defaults, surge 1 and unavailable 0, are the usual
/// setting for workers (a new pod first, then an old one stops); Kubernetes' own are 25 %/25 %.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Rollout {
    /// Extra pods during a rollout: a count or `"25%"`. Default 1.
    pub max_surge: CountOrPercent,
    /// Pods that may be missing during a rollout: a count or `"25%"`. Default 0.
    pub max_unavailable: CountOrPercent,
}

impl Default for Rollout {
    fn default() -> Rollout {
        Rollout {
            max_surge: CountOrPercent::Count(1),
            max_unavailable: CountOrPercent::Count(0),
        }
    }
}

/// A Kubernetes int-or-string: `2` or `"25%"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CountOrPercent {
    Count(u32),
    Percent(u32),
}

impl CountOrPercent {
    /// The number of pods for a group of `replicas`; percentages round as Kubernetes does for
    /// `round_up` (surge) or down (unavailable).
    pub fn resolve(self, replicas: u32, round_up: bool) -> u32 {
        match self {
            CountOrPercent::Count(count) => count,
            CountOrPercent::Percent(percent) => {
                let scaled = u64::from(replicas) * u64::from(percent);
                let pods = if round_up {
                    scaled.div_ceil(100)
                } else {
                    scaled / 100
                };
                u32::try_from(pods).unwrap_or(u32::MAX)
            }
        }
    }
}

impl fmt::Display for CountOrPercent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CountOrPercent::Count(count) => write!(f, "{count}"),
            CountOrPercent::Percent(percent) => write!(f, "{percent}%"),
        }
    }
}

impl Serialize for CountOrPercent {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            CountOrPercent::Count(count) => serializer.serialize_u32(*count),
            CountOrPercent::Percent(_) => serializer.collect_str(self),
        }
    }
}

impl<'de> Deserialize<'de> for CountOrPercent {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(CountOrPercentVisitor)
    }
}

struct CountOrPercentVisitor;

impl serde::de::Visitor<'_> for CountOrPercentVisitor {
    type Value = CountOrPercent;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a number of pods (e.g. 1) or a percentage (e.g. \"25%\")")
    }

    fn visit_i64<E: serde::de::Error>(self, count: i64) -> Result<CountOrPercent, E> {
        u32::try_from(count)
            .map(CountOrPercent::Count)
            .map_err(|_| E::custom(format!("{count} pods: expected 0 ≤ count ≤ {}", u32::MAX)))
    }

    fn visit_u64<E: serde::de::Error>(self, count: u64) -> Result<CountOrPercent, E> {
        u32::try_from(count)
            .map(CountOrPercent::Count)
            .map_err(|_| E::custom(format!("{count} pods: expected at most {}", u32::MAX)))
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<CountOrPercent, E> {
        let percent = text
            .trim()
            .strip_suffix('%')
            .and_then(|number| number.trim().parse::<u32>().ok())
            .filter(|percent| *percent <= 100);
        percent.map(CountOrPercent::Percent).ok_or_else(|| {
            E::custom(format!(
                "{text:?}: expected a percentage from \"0%\" to \"100%\""
            ))
        })
    }
}

impl JsonSchema for CountOrPercent {
    fn schema_name() -> String {
        "CountOrPercent".to_string()
    }

    fn json_schema(gen: &mut schemars::gen::SchemaGenerator) -> schemars::schema::Schema {
        super::schema::number_or_text::<u32>(gen, r"^[0-9]{1,3}%$")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_round_like_kubernetes() {
        assert_eq!(CountOrPercent::Percent(25).resolve(5, true), 2);
        assert_eq!(CountOrPercent::Percent(25).resolve(5, false), 1);
        assert_eq!(CountOrPercent::Count(3).resolve(5, true), 3);
    }
}
