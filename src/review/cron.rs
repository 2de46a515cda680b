//! The report's "Where to run `rq cron`" section, for a scenario with `[[cron]]` jobs: the
//! same cron jobs, workers and seeds under each way of deploying `rq cron`, side by side.
//!
//! ```text
//!  base scenario ──► in every pod       (every worker group: cron = true)
//!               ├──► in one pod         (a 1-replica `rq cron` Deployment of its own)
//!               └──► every pod + lock   (what-if `[rq] cron_lock_ttl = "90s"`)
//!  each × the report's seeds ──► summed cron figures ──► one table
//! ```
//!
//! The one-pod option must meet the faults the cron pods met, or it would look better only
//! for being spared: each pod-level fault on a group that ran `rq cron` is copied onto the
//! cron pod, a random one at the rate one pod of that group saw (the group's rate over its
//! replicas), a scripted or periodic one as it is.

use std::path::Path;

use crate::run::run_scenario;
use crate::scenario::{FaultKind, FaultSpec, PodSpec, Rate, Scenario, Target};
use crate::sim::SimDuration;
use crate::sweep::SweepError;

use super::doc::Block;
use super::ReportInput;

/// The lock TTL of the what-if option: above `rq cron`'s longest sleep (60 s).
const LOCK_TTL: SimDuration = SimDuration::from_secs(90);
/// The name of the one-pod option's cron group.
const CRON_GROUP: &str = "rq-cron";

/// Cron figures summed over the cron jobs and seeds of one option.
#[derive(Default)]
struct Totals {
    scheduled: u64,
    enqueues: u64,
    duplicates: u64,
    misses: u64,
    overlaps: u64,
    worst_lateness_s: f64,
    runs_failing_cron: u64,
}

pub fn cron_section(input: &ReportInput<'_>, scratch: &Path) -> Result<Vec<Block>, SweepError> {
    let base = &input.plan.base;
    if base.cron.is_empty() {
        return Ok(Vec::new());
    }
    let seeds = input.plan.seeds();
    let mut rows = Vec::new();
    for (index, (label, scenario)) in deployment_options(base).into_iter().enumerate() {
        let mut totals = Totals::default();
        for &seed in &seeds {
            let out = scratch.join(format!("cron-{index}-{seed}"));
            let result = run_scenario(&scenario, &input.plan.run_options(seed, &out))
                .map_err(|e| SweepError::Input(e.to_string()))?;
            add_run(&mut totals, &result.summary);
        }
        rows.push(row(label, &totals, seeds.len()));
    }
    let header = [
        "deployment",
        "instants",
        "enqueues",
        "duplicates per 1,000 instants",
        "misses per 1,000 instants",
        "overlapping runs",
        "worst lateness (s)",
        "runs failing cron_schedule",
    ];
    Ok(vec![
        Block::Heading(2, "Where to run `rq cron`".to_string()),
        Block::Paragraph(format!(
            "RQ 2.12's `rq cron` takes no lock: every process enqueues every cron job. The \
             scenario's cron jobs, workers, faults and seeds ({} seeds from {}) under three \
             deployments: `rq cron` in every pod of each worker group; in one pod of its own \
             (which meets each pod-level fault of the groups that ran it, at one pod's share \
             of the rate); and in every pod with the what-if lock `[rq] cron_lock_ttl = \"90s\"`. \
             Figures are summed over the cron jobs and seeds (docs/cron.md defines them).",
            seeds.len(),
            input.plan.manifest.seed
        )),
        Block::Table {
            header: header.iter().map(|h| h.to_string()).collect(),
            rows,
        },
    ])
}

fn add_run(totals: &mut Totals, summary: &crate::report::Summary) {
    for stats in summary.cron.iter().flat_map(|cron| cron.values()) {
        totals.scheduled += stats.scheduled;
        totals.enqueues += stats.enqueues;
        totals.duplicates += stats.duplicates;
        totals.misses += stats.misses;
        totals.overlaps += stats.overlaps;
        let late = stats.lateness_max_s.unwrap_or(0.0);
        totals.worst_lateness_s = totals.worst_lateness_s.max(late);
    }
    let failed = summary.checks.get(crate::check::cron::NAME);
    if failed == Some(&crate::report::summary::Verdict::Fail) {
        totals.runs_failing_cron += 1;
    }
}

fn row(label: String, totals: &Totals, runs: usize) -> Vec<String> {
    let per_thousand = |count: u64| match totals.scheduled {
        0 => "–".to_string(),
        instants => format!("{:.1}", count as f64 * 1000.0 / instants as f64),
    };
    vec![
        label,
        totals.scheduled.to_string(),
        totals.enqueues.to_string(),
        per_thousand(totals.duplicates),
        per_thousand(totals.misses),
        totals.overlaps.to_string(),
        format!("{:.3}", totals.worst_lateness_s),
        format!("{} of {runs}", totals.runs_failing_cron),
    ]
}

/// The three deployments of `rq cron`, each a variant of `base`.
fn deployment_options(base: &Scenario) -> Vec<(String, Scenario)> {
    let every_pod = in_every_pod(base);
    let mut locked = every_pod.clone();
    locked.rq.cron_lock_ttl = Some(LOCK_TTL);
    vec![
        ("`rq cron` in every pod".to_string(), every_pod),
        ("`rq cron` in one pod".to_string(), in_one_pod(base)),
        ("every pod, lock what-if (90 s)".to_string(), locked),
    ]
}

/// Every worker group runs `rq cron`; groups that ran only `rq cron` are gone, with their
/// faults.
fn in_every_pod(base: &Scenario) -> Scenario {
    let mut scenario = without_cron_only_groups(base);
    for pod in scenario.pods.iter_mut() {
        pod.cron = true;
    }
    scenario
}

/// No worker group runs `rq cron`; one pod of its own does, meeting the pod-level faults of
/// the groups that ran it.
fn in_one_pod(base: &Scenario) -> Scenario {
    let cron_groups: Vec<&PodSpec> = base.pods.iter().filter(|pod| pod.cron).collect();
    let mut scenario = without_cron_only_groups(base);
    for pod in scenario.pods.iter_mut() {
        pod.cron = false;
    }
    let template = cron_groups
        .first()
        .map_or_else(PodSpec::default, |pod| (*pod).clone());
    scenario.pods.push(PodSpec {
        name: CRON_GROUP.to_string(),
        replicas: 1,
        worker: false,
        cron: true,
        with_scheduler: false,
        burst: false,
        max_jobs: None,
        worker_name: None,
        ..template
    });
    let copies: Vec<FaultSpec> = base
        .faults
        .iter()
        .filter_map(|fault| copied_onto_cron_pod(fault, &cron_groups))
        .collect();
    scenario.faults.extend(copies);
    scenario
}

/// A pod-level fault of a group that ran `rq cron`, as the one cron pod would meet it.
fn copied_onto_cron_pod(fault: &FaultSpec, cron_groups: &[&PodSpec]) -> Option<FaultSpec> {
    let pod_level = matches!(
        fault.kind,
        FaultKind::PodKill | FaultKind::PodDelete | FaultKind::Pause | FaultKind::RollingRestart
    );
    let whole_pod = matches!(fault.target, Target::Any);
    let group = cron_groups
        .iter()
        .find(|pod| fault.pods.as_deref().is_none_or(|name| name == pod.name))?;
    if !pod_level || !whole_pod {
        return None;
    }
    let mut copy = fault.clone();
    copy.pods = Some(CRON_GROUP.to_string());
    if let Some(rate) = fault.rate {
        copy.rate = Some(Rate::per_second(
            rate.per_second / f64::from(group.replicas.max(1)),
        ));
    }
    Some(copy)
}

/// `base` without the groups that run no worker (they only ran `rq cron`) and the faults
/// aimed at them.
fn without_cron_only_groups(base: &Scenario) -> Scenario {
    let mut scenario = base.clone();
    let gone: Vec<String> = base
        .pods
        .iter()
        .filter(|pod| !pod.worker)
        .map(|pod| pod.name.clone())
        .collect();
    scenario.pods.retain(|pod| pod.worker);
    scenario
        .faults
        .retain(|fault| fault.pods.as_ref().is_none_or(|name| !gone.contains(name)));
    scenario
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(name: &str) -> Scenario {
        let path = format!("{}/scenarios/{name}.toml", env!("CARGO_MANIFEST_DIR"));
        crate::scenario::load(Path::new(&path)).unwrap()
    }

    #[test]
    fn the_one_pod_option_meets_one_pods_share_of_the_faults() {
        let base = load("cron-every-pod");
        let one = in_one_pod(&base);
        let cron_pods: Vec<&PodSpec> = one.pods.iter().filter(|p| p.cron).collect();
        assert_eq!(cron_pods.len(), 1);
        assert_eq!((cron_pods[0].replicas, cron_pods[0].worker), (1, false));
        let copied: Vec<&FaultSpec> = one
            .faults
            .iter()
            .filter(|f| f.pods.as_deref() == Some(CRON_GROUP))
            .collect();
        assert_eq!(copied.len(), 2, "the rollout and the kills");
        let kill = copied
            .iter()
            .find(|f| f.kind == FaultKind::PodKill)
            .unwrap();
        let rate = kill.rate.unwrap().per_second * 3600.0;
        assert!((rate - 0.25).abs() < 1e-9, "1/h over 4 pods: {rate}");
        assert!(crate::scenario::validate(&one).errors.is_empty());
    }

    #[test]
    fn the_every_pod_option_drops_cron_only_groups() {
        let base = load("cron-single");
        let every = in_every_pod(&base);
        assert!(every.pods.iter().all(|p| p.worker && p.cron));
        assert!(every
            .faults
            .iter()
            .all(|f| f.pods.as_deref() != Some("cron")));
        assert!(crate::scenario::validate(&every).errors.is_empty());
    }
}
