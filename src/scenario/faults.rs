//! `[[faults]]`: what goes wrong, to whom, and when (`at`), how often (`every`) or at what
//! random rate (`rate`).

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::rate::Rate;
use crate::sim::SimDuration;

/// One fault, scripted or random.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    /// What happens.
    pub kind: FaultKind,
    /// Once, at this time since the start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<SimDuration>,
    /// Periodically, first at `every`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub every: Option<SimDuration>,
    /// At random (a Poisson process): `"1/h"`, `"3/d"`, `"0.5/m"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<Rate>,
    /// The pod group (`[[pods]] name`) the target is chosen from. Default: all pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pods: Option<String>,
    /// Which pod or process. Default `"any"`.
    #[serde(default, skip_serializing_if = "Target::is_any")]
    pub target: Target,
    /// How long a `pause`, `net` or `redis_pause` lasts; how long Redis is down in a
    /// `redis_restart` or `redis_crash` (default 1 s); a `suspend`'s `--duration` (default: until `resume`).
    #[serde(rename = "for", default, skip_serializing_if = "Option::is_none")]
    pub for_duration: Option<SimDuration>,
    /// For `net`: what the network does. Default `"drop"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<NetMode>,
    /// For `redis_failover`: the old primary stays reachable by the clients but cut off from
    /// Sentinel and its replicas (a split brain), instead of down. Default `false`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub partition: bool,
    /// For `redis_restart`: what survives. Default: what `[redis]` configures (`appendonly`:
    /// `"aof"`; else `snapshot_every`: `"snapshot"`; else `"none"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persistence: Option<Persistence>,
    /// For `clock_offset` and `clock_step`: how far the target's clock moves, `"-2s"` or `"5s"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<ClockOffset>,
    /// For `scale`: the new replica count of the `pods` group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<u32>,
    /// For `cancel` (required) and `requeue` (optional: one job instead of `--all`): a job id,
    /// `"j<N>"` for the N-th job created in the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<String>,
    /// For `requeue` and `empty_queue`: the queue whose failed registry or list they act on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
}

impl FaultSpec {
    /// A fault of `kind` at `at`, with every other key at its default.
    pub fn at(kind: FaultKind, at: SimDuration) -> FaultSpec {
        FaultSpec {
            kind,
            at: Some(at),
            every: None,
            rate: None,
            pods: None,
            target: Target::Any,
            for_duration: None,
            mode: None,
            partition: false,
            persistence: None,
            offset: None,
            replicas: None,
            job: None,
            queue: None,
        }
    }
}

/// The kinds of fault, named as an operator says them.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// SIGKILL every process of the pod; Kubernetes restarts the container.
    PodKill,
    /// `kubectl delete pod`: SIGTERM, SIGKILL after the grace period, a replacement pod.
    PodDelete,
    /// A Deployment rollout of the `pods` group.
    RollingRestart,
    /// SIGSTOP, then SIGCONT after `for` (a long GC, a frozen node).
    Pause,
    /// The target's network misbehaves for `for`, as `mode` says.
    Net,
    /// The Redis process restarts (killed, OOM-killed, its container restarted), keeping
    /// what `persistence` says.
    RedisRestart,
    /// The host Redis runs on fails (a node lost, a kernel panic): the page cache goes too,
    /// so only what `[redis]`'s persistence had on disk survives.
    RedisCrash,
    /// The primary is lost (down, or with `partition` cut off from Sentinel and its replicas
    /// for `for`) and Sentinel promotes a replica.
    RedisFailover,
    /// Replication stalls for `for` (a large write, a slow link, a busy replica): the replicas
    /// keep what they had at its start, so a failover meanwhile loses everything since.
    ReplicaLag,
    /// Redis stops answering for `for`.
    RedisPause,
    /// The target's clock runs `offset` away from true time from then on.
    ClockOffset,
    /// The target's clock jumps by `offset` once.
    ClockStep,
    /// The `pods` group is scaled to `replicas`.
    Scale,
    /// An operator runs `rq suspend` (`rq suspend --duration N` with `for`).
    Suspend,
    /// An operator runs `rq resume`.
    Resume,
    /// An operator sends `shutdown` to the target pod's worker (`send_shutdown_command`).
    Shutdown,
    /// An operator sends `kill-horse` to the target pod's worker.
    KillHorse,
    /// An operator stops the job the target pod's worker runs (`send_stop_job_command`).
    StopJob,
    /// An operator cancels the job `job` (`Job.cancel()`).
    Cancel,
    /// An operator requeues the failed jobs of `queue` (`rq requeue --queue <q> --all`), or
    /// just `job`.
    Requeue,
    /// An operator empties `queue` (`rq empty <q>`: `Queue.empty`).
    EmptyQueue,
}

impl FaultKind {
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::PodKill => "pod_kill",
            FaultKind::PodDelete => "pod_delete",
            FaultKind::RollingRestart => "rolling_restart",
            FaultKind::Pause => "pause",
            FaultKind::Net => "net",
            FaultKind::RedisRestart => "redis_restart",
            FaultKind::RedisCrash => "redis_crash",
            FaultKind::RedisFailover => "redis_failover",
            FaultKind::ReplicaLag => "replica_lag",
            FaultKind::RedisPause => "redis_pause",
            FaultKind::ClockOffset => "clock_offset",
            FaultKind::ClockStep => "clock_step",
            FaultKind::Scale => "scale",
            FaultKind::Suspend => "suspend",
            FaultKind::Resume => "resume",
            FaultKind::Shutdown => "shutdown",
            FaultKind::KillHorse => "kill_horse",
            FaultKind::StopJob => "stop_job",
            FaultKind::Cancel => "cancel",
            FaultKind::Requeue => "requeue",
            FaultKind::EmptyQueue => "empty_queue",
        }
    }
}

/// How the network fails a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum NetMode {
    /// Packets vanish: commands time out.
    Drop,
    /// Connections are refused at once.
    Refuse,
    /// Commands run on the server but the reply is lost.
    LostReply,
}

/// What Redis keeps across a restart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Persistence {
    /// Nothing: the server comes back empty.
    None,
    /// The last RDB snapshot (`[redis] snapshot_every`).
    Snapshot,
    /// Every acknowledged write (appendonly with fsync always).
    Aof,
}

/// Which pod or process a fault hits. Written `"any"`, `"scheduler_holder"`, `"worker"`,
/// `"horse"`, `"scheduler"`, or a pod name such as `"worker-2"`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub enum Target {
    /// A random pod of the selection.
    #[default]
    Any,
    /// Whichever pod holds a scheduler lock at that moment (none: the fault is skipped).
    SchedulerHolder,
    /// Only the worker's main process of a random pod.
    Worker,
    /// Only the work-horse of a random pod (skipped if it runs no job).
    Horse,
    /// Only the scheduler process of a random pod (skipped if it runs none).
    Scheduler,
    /// Only the `rq cron` process of a random pod (skipped if it runs none).
    Cron,
    /// One pod by name: `<group>-<index>`.
    Pod(String),
    /// `net` only: every pod of the selection at once; without `pods`, every client of
    /// Redis, producers included (the server's side of the network fails).
    All,
}

impl Target {
    pub fn is_any(&self) -> bool {
        *self == Target::Any
    }

    /// One process of a pod, not the pod: `worker`, `horse`, `scheduler` or `cron`.
    pub fn is_process(&self) -> bool {
        matches!(
            self,
            Target::Worker | Target::Horse | Target::Scheduler | Target::Cron
        )
    }
}

impl From<String> for Target {
    fn from(text: String) -> Target {
        match text.as_str() {
            "any" => Target::Any,
            "all" => Target::All,
            "scheduler_holder" => Target::SchedulerHolder,
            "worker" => Target::Worker,
            "horse" => Target::Horse,
            "scheduler" => Target::Scheduler,
            "cron" => Target::Cron,
            _ => Target::Pod(text),
        }
    }
}

impl From<Target> for String {
    fn from(target: Target) -> String {
        target.to_string()
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Target::Any => "any",
            Target::All => "all",
            Target::SchedulerHolder => "scheduler_holder",
            Target::Worker => "worker",
            Target::Horse => "horse",
            Target::Scheduler => "scheduler",
            Target::Cron => "cron",
            Target::Pod(name) => name,
        })
    }
}

impl JsonSchema for Target {
    fn schema_name() -> String {
        "Target".to_string()
    }

    fn json_schema(_: &mut schemars::gen::SchemaGenerator) -> schemars::schema::Schema {
        let mut schema = schemars::schema::SchemaObject {
            instance_type: Some(schemars::schema::InstanceType::String.into()),
            ..Default::default()
        };
        schema.metadata().description = Some(
            "\"any\", \"scheduler_holder\", \"worker\", \"horse\", \"scheduler\", \"cron\" or a \
             pod name such as \"worker-2\""
                .into(),
        );
        schema.metadata().examples = [
            "any",
            "scheduler_holder",
            "worker",
            "horse",
            "scheduler",
            "cron",
        ]
        .map(Into::into)
        .to_vec();
        schema.into()
    }
}

/// A signed clock change: `"5s"` (ahead) or `"-2s"` (behind).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClockOffset {
    pub behind: bool,
    pub amount: SimDuration,
}

impl ClockOffset {
    pub fn parse(text: &str) -> Result<ClockOffset, String> {
        let trimmed = text.trim();
        let (behind, magnitude) = match trimmed.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, trimmed.strip_prefix('+').unwrap_or(trimmed)),
        };
        let amount = SimDuration::parse(magnitude).map_err(|error| error.to_string())?;
        Ok(ClockOffset {
            behind: behind && amount > SimDuration::ZERO,
            amount,
        })
    }
}

impl fmt::Display for ClockOffset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.behind { "-" } else { "" };
        write!(f, "{sign}{}", self.amount)
    }
}

impl Serialize for ClockOffset {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ClockOffset {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        ClockOffset::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for ClockOffset {
    fn schema_name() -> String {
        "ClockOffset".to_string()
    }

    fn json_schema(_: &mut schemars::gen::SchemaGenerator) -> schemars::schema::Schema {
        let mut schema = schemars::schema::SchemaObject {
            instance_type: Some(schemars::schema::InstanceType::String.into()),
            ..Default::default()
        };
        schema.string().pattern =
            Some(r"^[+-]?(0|([0-9]+(\.[0-9]+)?(us|ms|s|m|min|h|d))+)$".into());
        schema.metadata().description =
            Some("A signed duration: \"5s\" ahead, \"-2s\" behind".into());
        schema.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_read_roles_and_pod_names() {
        assert_eq!(
            Target::from("scheduler_holder".to_string()),
            Target::SchedulerHolder
        );
        assert_eq!(
            Target::from("worker-2".to_string()),
            Target::Pod("worker-2".into())
        );
        assert_eq!(String::from(Target::Pod("worker-2".into())), "worker-2");
    }

    #[test]
    fn clock_offsets_are_signed() {
        let behind = ClockOffset::parse("-2s").unwrap();
        assert!(behind.behind);
        assert_eq!(behind.amount, SimDuration::from_secs(2));
        assert_eq!(behind.to_string(), "-2s");
        assert!(!ClockOffset::parse("+5s").unwrap().behind);
        assert!(ClockOffset::parse("--5s").is_err());
    }
}
