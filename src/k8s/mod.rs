//! Kubernetes manifests read into `[[pods]]` groups, for `simrq calibrate --k8s`.
//!
//! A Deployment (or StatefulSet) whose container runs `rq worker` is one pod group:
//!
//! ```text
//! metadata.name                          -> name
//! spec.replicas (1 when absent)          -> replicas
//! spec.strategy                          -> rollout (Kubernetes' 25 %/25 % when absent)
//! template.spec.terminationGracePeriodSeconds (30) -> termination_grace_period
//! the container's command and args       -> queues, with_scheduler, burst, max_jobs,
//!                                           worker_class, worker_name, pid1, and [rq]
//!                                           worker_ttl, maintenance_interval,
//!                                           job_monitoring_interval, result_ttl
//! ```
//!
//! What a manifest cannot say (how long a container takes to start, faults) stays at simrq's
//! defaults, and everything read but not modelled is reported as a note, never dropped.

mod command;
mod write;

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

pub use command::{read_program, Program, WorkerCommand};
pub use write::RqKey;

use crate::scenario::{CountOrPercent, PodSpec, Rollout};

/// One `rq worker` container of a Deployment, as a pod group.
#[derive(Clone, Debug, PartialEq)]
pub struct WorkerGroup {
    pub pods: PodSpec,
    /// `file: Deployment "name", container "worker"`.
    pub origin: String,
    /// The container's command line as Kubernetes runs it.
    pub command_line: String,
    pub command: WorkerCommand,
    /// What this group's manifest says that is not in `pods` (strategy, probes …).
    pub notes: Vec<String>,
}

/// Every worker group the manifests describe, with notes on what was skipped.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Deployments {
    pub groups: Vec<WorkerGroup>,
    pub notes: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("{path}: cannot read: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}:{line}:{column}: {message}")]
    Yaml {
        path: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{paths}: no Deployment or StatefulSet has a container that runs `rq worker`")]
    NoWorkers { paths: String },
}

/// Reads manifest files (each may hold several YAML documents or a `List`).
pub fn read_manifests<P: AsRef<Path>>(paths: &[P]) -> Result<Deployments, ManifestError> {
    let mut deployments = Deployments::default();
    for path in paths {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| ManifestError::Io {
            path: path.display().to_string(),
            source,
        })?;
        read_manifest_text(&path.display().to_string(), &text, &mut deployments)?;
    }
    if deployments.groups.is_empty() {
        let names: Vec<String> = paths
            .iter()
            .map(|path| path.as_ref().display().to_string())
            .collect();
        return Err(ManifestError::NoWorkers {
            paths: names.join(", "),
        });
    }
    deployments.make_names_unique();
    Ok(deployments)
}

/// Reads one file's text, adding its worker groups and notes to `into`.
pub fn read_manifest_text(
    path: &str,
    text: &str,
    into: &mut Deployments,
) -> Result<(), ManifestError> {
    for document in serde_norway::Deserializer::from_str(text) {
        let object = Object::deserialize(document).map_err(|error| yaml_error(path, &error))?;
        read_object(path, object, into).map_err(|error| yaml_error(path, &error))?;
    }
    Ok(())
}

fn yaml_error(path: &str, error: &serde_norway::Error) -> ManifestError {
    let (line, column) = error
        .location()
        .map_or((0, 0), |location| (location.line(), location.column()));
    ManifestError::Yaml {
        path: path.to_string(),
        line,
        column,
        message: error.to_string(),
    }
}

fn read_object(path: &str, object: Object, into: &mut Deployments) -> serde_norway::Result<()> {
    let kind = object.kind.clone().unwrap_or_default();
    let name = object.metadata.name.clone().unwrap_or_default();
    match kind.as_str() {
        "List" => {
            for item in object.items {
                read_object(path, serde_norway::from_value(item)?, into)?;
            }
        }
        "Deployment" | "StatefulSet" => read_workload(path, &kind, &name, object.spec, into),
        "" => {}
        _ => into
            .notes
            .push(format!("{path}: {kind} \"{name}\" skipped")),
    }
    Ok(())
}

fn read_workload(path: &str, kind: &str, name: &str, spec: WorkloadSpec, into: &mut Deployments) {
    let pod = &spec.template.spec;
    let mut found = false;
    for container in &pod.containers {
        let env = container.literal_env();
        let argv = container.argv(&env);
        let origin = format!(
            "{path}: {kind} \"{name}\", container \"{}\"",
            container.name
        );
        match read_program(&argv, &env) {
            Program::Worker(command) => {
                found = true;
                let group = worker_group(kind, name, &spec, pod, command, origin, &argv);
                into.groups.push(group);
            }
            Program::Cron => into.notes.push(format!(
                "{origin} runs `rq cron`: its jobs are in a Python file; write them as \
                 [[cron]] and set cron = true on the group by hand"
            )),
            Program::WorkerPool => into.notes.push(format!(
                "{origin} runs `rq worker-pool`, which simrq does not model; skipped"
            )),
            Program::Other => {}
        }
    }
    if !found
        && pod
            .containers
            .iter()
            .all(|c| c.command.is_empty() && c.args.is_empty())
    {
        into.notes.push(format!(
            "{path}: {kind} \"{name}\": no container names its command (the image's \
             entrypoint is not in the manifest); skipped"
        ));
    }
}

fn worker_group(
    kind: &str,
    name: &str,
    spec: &WorkloadSpec,
    pod: &PodTemplateSpec,
    command: WorkerCommand,
    origin: String,
    argv: &[String],
) -> WorkerGroup {
    let mut notes = Vec::new();
    let defaults = PodSpec::default();
    let mut pods = PodSpec {
        name: name.to_string(),
        replicas: spec.replicas.unwrap_or(1),
        with_scheduler: command.with_scheduler,
        queues: if command.queues.is_empty() {
            vec!["default".to_string()]
        } else {
            command.queues.clone()
        },
        termination_grace_period: crate::sim::SimDuration::from_secs(
            pod.termination_grace_period_seconds.unwrap_or(30),
        ),
        rollout: rollout(kind, spec, &mut notes),
        pid1: command.pid1,
        worker_name: command.name.clone(),
        burst: command.burst,
        max_jobs: command.max_jobs,
        ..defaults
    };
    if let Some(class) = &command.worker_class {
        match class.as_str() {
            "rq.worker.SimpleWorker" | "SimpleWorker" => {
                pods.worker_class = crate::rq::WorkerClass::SimpleWorker
            }
            "rq.worker.Worker" | "Worker" => {}
            other => notes.push(format!(
                "worker class `{other}`: simrq models rq.worker.Worker and \
                 rq.worker.SimpleWorker; Worker assumed"
            )),
        }
    }
    if pod.restart_policy.as_deref().is_some_and(|p| p != "Always") {
        notes.push("restartPolicy other than Always: a Deployment allows only Always".into());
    }
    WorkerGroup {
        pods,
        origin,
        command_line: shell_join(argv),
        command,
        notes,
    }
}

/// `spec.strategy` (Deployment) or `spec.updateStrategy` (StatefulSet) as a rollout.
fn rollout(kind: &str, spec: &WorkloadSpec, notes: &mut Vec<String>) -> Rollout {
    let quarter = CountOrPercent::Percent(25);
    if kind == "StatefulSet" {
        // A StatefulSet replaces its pods one at a time: the old pod goes first.
        let unavailable = spec
            .update_strategy
            .as_ref()
            .and_then(|strategy| strategy.rolling_update.as_ref())
            .and_then(|rolling| rolling.max_unavailable)
            .unwrap_or(CountOrPercent::Count(1));
        notes.push(
            "StatefulSet: pods are replaced one by one in reverse ordinal order; simrq \
             replaces them with max_surge = 0 and deletes in its own order"
                .to_string(),
        );
        return Rollout {
            max_surge: CountOrPercent::Count(0),
            max_unavailable: unavailable,
        };
    }
    let strategy = spec.strategy.clone().unwrap_or_default();
    if strategy.kind.as_deref() == Some("Recreate") {
        notes.push(
            "strategy Recreate: modelled as max_surge = 0, max_unavailable = 100%; Kubernetes \
             also waits for every old pod to be gone before it creates new ones, simrq does not"
                .to_string(),
        );
        return Rollout {
            max_surge: CountOrPercent::Count(0),
            max_unavailable: CountOrPercent::Percent(100),
        };
    }
    let rolling = strategy.rolling_update.unwrap_or_default();
    Rollout {
        max_surge: rolling.max_surge.unwrap_or(quarter),
        max_unavailable: rolling.max_unavailable.unwrap_or(quarter),
    }
}

fn shell_join(argv: &[String]) -> String {
    let quoted: Vec<String> = argv
        .iter()
        .map(|word| {
            let plain = !word.is_empty()
                && word
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@%+".contains(c));
            if plain {
                word.clone()
            } else {
                format!("'{}'", word.replace('\'', r"'\''"))
            }
        })
        .collect();
    quoted.join(" ")
}

impl Deployments {
    /// The worker pods of every group together.
    pub fn replicas(&self) -> u64 {
        self.groups
            .iter()
            .map(|group| u64::from(group.pods.replicas))
            .sum()
    }

    /// Two groups of one name (the same Deployment in two namespaces, or two worker
    /// containers in one pod) get `-2`, `-3` … so that faults can name each.
    fn make_names_unique(&mut self) {
        let mut seen: BTreeMap<String, u32> = BTreeMap::new();
        for group in &mut self.groups {
            let count = seen.entry(group.pods.name.clone()).or_insert(0);
            *count += 1;
            if *count > 1 {
                let renamed = format!("{}-{count}", group.pods.name);
                group.notes.push(format!(
                    "renamed to \"{renamed}\": a group of this name came first"
                ));
                group.pods.name = renamed;
            }
        }
    }
}

/// The parts of a Kubernetes object calibration reads; everything else is ignored.
#[derive(Deserialize, Default)]
#[serde(default)]
struct Object {
    kind: Option<String>,
    metadata: Metadata,
    spec: WorkloadSpec,
    items: Vec<serde_norway::Value>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Metadata {
    name: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct WorkloadSpec {
    replicas: Option<u32>,
    strategy: Option<DeploymentStrategy>,
    update_strategy: Option<DeploymentStrategy>,
    template: PodTemplate,
}

#[derive(Deserialize, Default, Clone)]
#[serde(default, rename_all = "camelCase")]
struct DeploymentStrategy {
    #[serde(rename = "type")]
    kind: Option<String>,
    rolling_update: Option<RollingUpdate>,
}

#[derive(Deserialize, Default, Clone)]
#[serde(default, rename_all = "camelCase")]
struct RollingUpdate {
    max_surge: Option<CountOrPercent>,
    max_unavailable: Option<CountOrPercent>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PodTemplate {
    spec: PodTemplateSpec,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct PodTemplateSpec {
    containers: Vec<Container>,
    termination_grace_period_seconds: Option<u64>,
    restart_policy: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Container {
    name: String,
    command: Vec<String>,
    args: Vec<String>,
    env: Vec<EnvVar>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct EnvVar {
    name: String,
    value: Option<String>,
}

impl Container {
    /// The variables with a literal `value` (not `valueFrom`), as `$(VAR)` may use them.
    fn literal_env(&self) -> BTreeMap<String, String> {
        self.env
            .iter()
            .filter_map(|var| Some((var.name.clone(), var.value.clone()?)))
            .collect()
    }

    /// `command` then `args`, with Kubernetes' `$(VAR)` references expanded.
    fn argv(&self, env: &BTreeMap<String, String>) -> Vec<String> {
        self.command
            .iter()
            .chain(&self.args)
            .map(|word| expand(word, env))
            .collect()
    }
}

/// Kubernetes' expansion of `$(VAR)` in a container's command: a defined variable is
/// replaced, an undefined one stays as written, and `$$` is a literal `$`.
fn expand(word: &str, env: &BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(word.len());
    let mut rest = word;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        if let Some(after) = tail.strip_prefix("$$") {
            out.push('$');
            rest = after;
        } else if let Some((name, after)) = tail
            .strip_prefix("$(")
            .and_then(|inner| inner.split_once(')'))
            .filter(|(name, _)| env.contains_key(*name))
        {
            out.push_str(&env[name]);
            rest = after;
        } else {
            out.push('$');
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_defined_variables_only() {
        let env = BTreeMap::from([("Q".to_string(), "high".to_string())]);
        assert_eq!(expand("$(Q)", &env), "high");
        assert_eq!(expand("x$(Q)y$(R)", &env), "xhighy$(R)");
        assert_eq!(expand("$$(Q)", &env), "$(Q)");
    }

    #[test]
    fn quotes_words_that_need_it() {
        let argv = ["sh", "-c", "rq worker 'a b'"].map(String::from);
        assert_eq!(shell_join(&argv), r#"sh -c 'rq worker '\''a b'\'''"#);
    }
}
