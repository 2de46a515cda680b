//! `simrq calibrate --k8s`: the `[[pods]]` groups and the workers' `[rq]` options from the
//! deployment's Kubernetes manifests ([`crate::k8s`]) instead of from the workers Redis saw,
//! and where the two disagree.

use std::fmt::Write as _;

use super::Calibration;
use crate::k8s::Deployments;

/// Reads the manifests into the calibration: they will write its pods, and what they say
/// against what Redis showed becomes warnings.
pub fn attach(calibration: &mut Calibration, deployments: Deployments) {
    let mut warnings = compare_with_redis(calibration, &deployments);
    warnings.extend(deployments.notes.iter().cloned());
    warnings.extend(deployments.rq_keys().1);
    calibration.warnings.extend(warnings);
    calibration.manifests = Some(deployments);
}

/// The `[[pods]]` section from the manifests, opened by a comment on where it came from.
pub fn pods_section(calibration: &Calibration, deployments: &Deployments) -> String {
    let live = calibration.live_workers();
    let replicas = deployments.replicas();
    let mut text = format!(
        "\n# The pods: from the Kubernetes manifests (--k8s), {replicas} replicas in {} groups; \
         Redis saw {live} live workers. The run starts with every pod starting, as after a \
         deploy (start_delay).\n",
        deployments.groups.len()
    );
    for note in &deployments.notes {
        let _ = writeln!(text, "# note: {note}");
    }
    text.push('\n');
    text.push_str(&deployments.pods_toml());
    text
}

/// The workers' options that are `[rq]` keys, each with the group it came from.
pub fn rq_lines(deployments: &Deployments) -> String {
    let mut text = String::new();
    for key in deployments.rq_keys().0 {
        let _ = writeln!(
            text,
            "# {}: from {} in the manifests.\n{} = \"{}\"",
            key.key, key.origin, key.key, key.value
        );
    }
    text
}

/// Where the manifests and Redis disagree: how many workers run, which queues have a worker,
/// and whether any runs a scheduler.
fn compare_with_redis(calibration: &Calibration, deployments: &Deployments) -> Vec<String> {
    let mut warnings = Vec::new();
    let live = calibration.live_workers();
    let replicas = deployments.replicas();
    if !calibration.workers.is_empty() && live as u64 != replicas {
        warnings.push(format!(
            "the manifests give {replicas} worker replicas, Redis saw {live} live workers: \
             is an autoscaler or another deployment at work? The scenario has the manifests'"
        ));
    }
    for queue in &calibration.queues {
        let served = deployments
            .groups
            .iter()
            .any(|group| group.pods.queues.contains(&queue.name));
        if !served {
            warnings.push(format!(
                "queue {} had {} jobs, but no worker in the manifests listens on it",
                queue.name, queue.jobs
            ));
        }
    }
    let scheduler_seen = calibration.workers.iter().any(|group| group.with_scheduler);
    let scheduler_deployed = deployments
        .groups
        .iter()
        .any(|group| group.pods.with_scheduler);
    if scheduler_seen && !scheduler_deployed {
        warnings.push(
            "Redis shows a live scheduler, but no worker in the manifests runs \
             --with-scheduler: scheduled jobs and interval retries would never be enqueued"
                .to_string(),
        );
    }
    warnings
}
