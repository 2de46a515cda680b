//! The manifests' pod groups written as scenario TOML, each with a comment naming where it
//! came from and everything that was read but not modelled.

use std::fmt::Write as _;

use super::{Deployments, WorkerCommand, WorkerGroup};
use crate::rq::WorkerClass;
use crate::scenario::PodSpec;
use crate::sim::SimDuration;

/// An `[rq]` key that a worker's command line sets (simrq has one value for all workers).
#[derive(Clone, Debug, PartialEq)]
pub struct RqKey {
    pub key: &'static str,
    pub value: SimDuration,
    /// Which group's command line it came from.
    pub origin: String,
}

/// An `rq worker` option that is an `[rq]` key: the key, the option, RQ 2.12's default in
/// seconds, and how to read it from a parsed command line.
type RqOption = (
    &'static str,
    &'static str,
    u64,
    fn(&WorkerCommand) -> Option<u64>,
);

const RQ_OPTIONS: &[RqOption] = &[
    ("worker_ttl", "--worker-ttl", 420, |c| c.worker_ttl_s),
    ("maintenance_interval", "--maintenance-interval", 600, |c| {
        c.maintenance_interval_s
    }),
    (
        "job_monitoring_interval",
        "--job-monitoring-interval",
        30,
        |c| c.job_monitoring_interval_s,
    ),
    ("result_ttl", "--results-ttl", 500, |c| c.results_ttl_s),
];

impl Deployments {
    /// The `[rq]` keys the command lines set, and a note for each key on which the groups
    /// disagree (the first group's value is kept).
    pub fn rq_keys(&self) -> (Vec<RqKey>, Vec<String>) {
        let mut keys = Vec::new();
        let mut notes = Vec::new();
        for &(key, option, default_s, read) in RQ_OPTIONS {
            let values: Vec<(u64, &str)> = self
                .groups
                .iter()
                .map(|group| {
                    (
                        read(&group.command).unwrap_or(default_s),
                        group.pods.name.as_str(),
                    )
                })
                .collect();
            let Some(&(first_s, first_group)) = values.first() else {
                continue;
            };
            if values.iter().any(|&(value_s, _)| value_s != first_s) {
                let all: Vec<String> = values
                    .iter()
                    .map(|(value_s, group)| format!("{group} {value_s}s"))
                    .collect();
                notes.push(format!(
                    "{option} differs between groups ({}); a scenario has one [rq] {key}: \
                     {first_group}'s is written",
                    all.join(", ")
                ));
            }
            if first_s != default_s {
                keys.push(RqKey {
                    key,
                    value: SimDuration::from_secs(first_s),
                    origin: format!("{option} of {first_group}"),
                });
            }
        }
        (keys, notes)
    }

    /// Every group as a `[[pods]]` table, in the order the manifests give them.
    pub fn pods_toml(&self) -> String {
        let mut text = String::new();
        for group in &self.groups {
            write_group(&mut text, group);
        }
        text
    }
}

fn write_group(text: &mut String, group: &WorkerGroup) {
    let pods = &group.pods;
    let defaults = PodSpec::default();
    let _ = writeln!(text, "# {}", group.origin);
    let _ = writeln!(text, "#   {}", group.command_line);
    for note in group.command.notes.iter().chain(&group.notes) {
        let _ = writeln!(text, "#   note: {note}");
    }
    text.push_str("[[pods]]\n");
    let _ = writeln!(text, "name = {}", quoted(&pods.name));
    let _ = writeln!(text, "replicas = {}", pods.replicas);
    let queues: Vec<String> = pods.queues.iter().map(|queue| quoted(queue)).collect();
    let _ = writeln!(text, "queues = [{}]", queues.join(", "));
    let _ = writeln!(text, "with_scheduler = {}", pods.with_scheduler);
    let _ = writeln!(
        text,
        "termination_grace_period = \"{}\"",
        pods.termination_grace_period
    );
    let _ = writeln!(
        text,
        "rollout = {{ max_surge = {}, max_unavailable = {} }}",
        count_or_percent(pods.rollout.max_surge),
        count_or_percent(pods.rollout.max_unavailable)
    );
    write_optional_keys(text, pods);
    let _ = writeln!(
        text,
        "# start_delay (\"{}\") and crash_loop_backoff ({} doubling to {}): not in a manifest; \
         simrq's defaults\n",
        defaults.start_delay, defaults.crash_loop_backoff.initial, defaults.crash_loop_backoff.cap
    );
}

/// The keys a manifest sets only now and then, written only when they differ from the default.
fn write_optional_keys(text: &mut String, pods: &PodSpec) {
    if !pods.pid1 {
        text.push_str("pid1 = false\n");
    }
    if let Some(name) = &pods.worker_name {
        let _ = writeln!(text, "worker_name = {}", quoted(name));
    }
    if pods.burst {
        text.push_str("burst = true\n");
    }
    if let Some(max_jobs) = pods.max_jobs {
        let _ = writeln!(text, "max_jobs = {max_jobs}");
    }
    if pods.worker_class == WorkerClass::SimpleWorker {
        text.push_str("worker_class = \"SimpleWorker\"\n");
    }
}

fn count_or_percent(value: crate::scenario::CountOrPercent) -> String {
    match value {
        crate::scenario::CountOrPercent::Count(count) => count.to_string(),
        percent => quoted(&percent.to_string()),
    }
}

fn quoted(text: &str) -> String {
    toml::Value::String(text.to_string()).to_string()
}
