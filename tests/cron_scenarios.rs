//! The headlines of the shipped cron scenarios (their opening comments, the README's "Where to
//! run `rq cron`"): every pod enqueues every instant; one pod enqueues each instant once and
//! misses none that it was up for.

mod outputs;

use outputs::run_into;

/// `cron-every-pod`: `rq cron` takes no lock (docs/cron.md), so with 4 pods a cron expression's
/// instant is enqueued 4 times unless a pod is down at that minute; nothing is missed.
#[test]
fn every_pod_enqueues_every_instant_about_four_times() {
    let dir = tempfile::tempdir().unwrap();
    let result = run_into("cron-every-pod", Some(1), &dir.path().join("out"), false);
    let cron = result.summary.cron.as_ref().expect("cron figures");
    for (name, stats) in cron {
        assert_eq!(stats.misses, 0, "{name}: some pod always runs rq cron");
        let per_instant = stats.enqueues as f64 / stats.scheduled as f64;
        assert!((3.5..=4.1).contains(&per_instant), "{name}: {per_instant}");
    }
    assert!(cron["hourly-report"].overlaps >= 3 * cron["hourly-report"].scheduled - 3);
    assert_eq!(
        result.exit_code(),
        1,
        "cron_schedule fails on the duplicates"
    );
}

/// `cron-single`: one `rq cron`: the cron expressions' instants are enqueued at most once, and
/// the only duplicates are the interval job's runs at each restart of the pod.
#[test]
fn one_cron_pod_never_enqueues_an_instant_twice() {
    let dir = tempfile::tempdir().unwrap();
    let result = run_into("cron-single", Some(1), &dir.path().join("out"), false);
    let cron = result.summary.cron.as_ref().expect("cron figures");
    for name in ["cleanup", "hourly-report"] {
        assert_eq!(cron[name].duplicates, 0, "{name}");
        assert_eq!(cron[name].overlaps, 0, "{name}");
        assert!(cron[name].enqueues <= cron[name].scheduled, "{name}");
    }
    let every_pod = run_into("cron-every-pod", Some(1), &dir.path().join("other"), false);
    let many = &every_pod.summary.cron.as_ref().unwrap()["sync-feeds"];
    assert!(cron["sync-feeds"].duplicates * 20 < many.duplicates);
}
