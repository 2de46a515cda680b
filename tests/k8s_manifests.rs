//! Kubernetes manifests read into `[[pods]]` groups (`simrq calibrate --k8s`): every field a
//! manifest sets reaches the scenario, the written TOML is a valid scenario, and what is read
//! but not modelled is reported.

use simrq::k8s::{read_manifests, Deployments, ManifestError};
use simrq::rq::WorkerClass;
use simrq::scenario::{CountOrPercent, PodSpec};
use simrq::sim::SimDuration;
use simrq::Scenario;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/k8s");

fn read(files: &[&str]) -> Deployments {
    let paths: Vec<String> = files.iter().map(|file| format!("{DIR}/{file}")).collect();
    read_manifests(&paths).expect("the manifests read")
}

fn group<'a>(deployments: &'a Deployments, name: &str) -> &'a PodSpec {
    &deployments
        .groups
        .iter()
        .find(|group| group.pods.name == name)
        .unwrap_or_else(|| panic!("no group {name}"))
        .pods
}

/// The manifests' groups and `[rq]` keys as a scenario with one workload.
fn scenario_text(deployments: &Deployments) -> String {
    let (keys, _) = deployments.rq_keys();
    let mut text = String::from("[rq]\n");
    for key in keys {
        text.push_str(&format!("{} = \"{}\"\n", key.key, key.value));
    }
    text.push('\n');
    text.push_str(&deployments.pods_toml());
    text.push_str("[[workload]]\nqueue = \"high\"\n");
    text
}

#[test]
fn a_deployment_gives_its_replicas_queues_grace_and_rollout() {
    let deployments = read(&["workers.yaml"]);
    let pods = group(&deployments, "rq-default");
    assert_eq!(pods.replicas, 6);
    assert_eq!(pods.queues, ["high", "default"], "$(QUEUE) expanded");
    assert!(pods.with_scheduler);
    assert!(pods.pid1);
    assert_eq!(pods.termination_grace_period, SimDuration::from_secs(90));
    assert_eq!(pods.rollout.max_surge, CountOrPercent::Count(2));
    assert_eq!(pods.rollout.max_unavailable, CountOrPercent::Percent(10));
}

#[test]
fn kubernetes_defaults_apply_where_the_manifest_is_silent() {
    let deployments = read(&["workers.yaml"]);
    let pods = group(&deployments, "rq-reports");
    assert_eq!(pods.replicas, 1, "spec.replicas defaults to 1");
    assert_eq!(pods.termination_grace_period, SimDuration::from_secs(30));
    assert_eq!(pods.rollout.max_surge, CountOrPercent::Percent(25));
    assert_eq!(pods.rollout.max_unavailable, CountOrPercent::Percent(25));
    assert!(
        !pods.pid1,
        "`sh -c 'cd … && rq worker'` leaves the shell as PID 1"
    );
    assert_eq!(pods.worker_class, WorkerClass::SimpleWorker);
    assert_eq!(pods.max_jobs, Some(100));
}

#[test]
fn a_statefulset_in_a_list_replaces_pods_one_at_a_time() {
    let deployments = read(&["statefulset.yaml"]);
    let pods = group(&deployments, "rq-default");
    assert_eq!(pods.replicas, 3);
    assert!(pods.burst && pods.with_scheduler && pods.pid1);
    assert_eq!(pods.queues, ["batch"]);
    assert_eq!(pods.rollout.max_surge, CountOrPercent::Count(0));
    assert_eq!(pods.rollout.max_unavailable, CountOrPercent::Count(1));
}

#[test]
fn the_written_groups_are_a_valid_scenario_that_keeps_every_value() {
    let deployments = read(&["workers.yaml", "statefulset.yaml"]);
    let text = scenario_text(&deployments);
    let scenario = Scenario::from_toml(&text).unwrap_or_else(|error| panic!("{error}\n{text}"));
    let names: Vec<&str> = scenario.pods.iter().map(|pod| pod.name.as_str()).collect();
    assert_eq!(names, ["rq-default", "rq-reports", "rq-default-2"]);
    for (written, read) in scenario.pods.iter().zip(&deployments.groups) {
        assert_eq!(written, &read.pods, "{text}");
    }
}

#[test]
fn worker_options_become_rq_keys_and_disagreements_are_noted() {
    let deployments = read(&["workers.yaml", "statefulset.yaml"]);
    let (keys, notes) = deployments.rq_keys();
    let worker_ttl = keys.iter().find(|key| key.key == "worker_ttl").unwrap();
    assert_eq!(worker_ttl.value, SimDuration::from_secs(120));
    let monitoring = keys.iter().find(|key| key.key == "job_monitoring_interval");
    assert_eq!(monitoring.unwrap().value, SimDuration::from_secs(10));
    assert!(keys.iter().all(|key| key.key != "maintenance_interval"));
    assert!(
        notes
            .iter()
            .any(|note| note.contains("--worker-ttl differs")),
        "{notes:?}"
    );
    let text = scenario_text(&deployments);
    let scenario = Scenario::from_toml(&text).unwrap();
    assert_eq!(scenario.rq.worker_ttl, SimDuration::from_secs(120));
}

#[test]
fn what_is_read_but_not_modelled_is_written_as_a_note() {
    let deployments = read(&["workers.yaml"]);
    let text = deployments.pods_toml();
    for expected in [
        "`--url`: changes nothing simrq models",
        "`--max-idle-time`: not modelled",
        "pid1 = false",
        "rq worker --with-scheduler --url '$(REDIS_URL)'",
    ] {
        assert!(text.contains(expected), "{expected:?} missing from\n{text}");
    }
    let skipped = deployments.notes.join("\n");
    assert!(
        skipped.contains("Service \"rq-metrics\" skipped"),
        "{skipped}"
    );
    assert!(skipped.contains("runs `rq cron`"), "{skipped}");
}

#[test]
fn bad_manifests_are_located_errors() {
    let error = read_manifests(&[format!("{DIR}/broken.yaml")]).unwrap_err();
    let message = error.to_string();
    assert!(
        matches!(error, ManifestError::Yaml { line: 6, .. }),
        "{message}"
    );
    assert!(
        message.starts_with(&format!("{DIR}/broken.yaml:6:")),
        "{message}"
    );

    let error = read_manifests(&[format!("{DIR}/no-workers.yaml")]).unwrap_err();
    assert!(matches!(error, ManifestError::NoWorkers { .. }), "{error}");
    assert!(error.to_string().contains("rq worker"));

    let error = read_manifests(&[format!("{DIR}/missing.yaml")]).unwrap_err();
    assert!(
        error.to_string().contains("missing.yaml: cannot read"),
        "{error}"
    );
}
