//! `[run] events` and `simrq run --events`: which rows `events.csv` keeps.

mod outputs;

use outputs::{load, read_events};
use simrq::run::{run_scenario, RunOptions};
use simrq::scenario::EventRows;

/// `[run] events` and `--events`: "faults" keeps only non-routine rows, "none" writes no
/// events.csv, and neither changes any other output (the checks see every event).
#[test]
fn events_faults_and_none_trim_events_csv_and_nothing_else() {
    let root = tempfile::tempdir().unwrap();
    let run = |rows: simrq::scenario::EventRows| {
        let out = root.path().join(format!("{rows:?}"));
        let mut scenario = load("holder-crash");
        scenario.run.events = rows;
        let mut options = RunOptions::new(1, &out, "scenarios/holder-crash.toml");
        options.charts = false;
        run_scenario(&scenario, &options).unwrap();
        out
    };
    let (all, faults, none) = (
        run(EventRows::All),
        run(EventRows::Faults),
        run(EventRows::None),
    );
    let every = read_events(&all);
    let kept = read_events(&faults);
    assert!(
        !none.join("events.csv").exists(),
        "events = \"none\" writes no events.csv"
    );
    assert!(
        kept.len() < every.len() / 4,
        "{} of {} rows kept",
        kept.len(),
        every.len()
    );
    assert!(kept.iter().any(|e| e.kind == "fault"));
    assert!(kept.iter().any(|e| e.kind == "lock_acquired"));
    // A job's rows are routine except what a fault did to it: lost, or abandoned by a cleaner.
    let fault_effect = |kind: &str| kind == "job_lost" || kind == "job_abandoned";
    assert!(kept
        .iter()
        .all(|e| !e.kind.starts_with("job_") || fault_effect(&e.kind)));
    assert!(
        kept.iter().any(|e| e.kind == "job_abandoned"),
        "holder-crash abandons the killed pod's job"
    );
    let non_routine: Vec<(u64, &str)> = every
        .iter()
        .filter(|e| !e.kind.starts_with("job_") || fault_effect(&e.kind))
        .filter(|e| e.kind != "lock_refreshed" && e.kind != "scheduler_tick")
        .map(|e| (e.seq, e.kind.as_str()))
        .collect();
    let kept_rows: Vec<(u64, &str)> = kept.iter().map(|e| (e.seq, e.kind.as_str())).collect();
    assert_eq!(
        kept_rows, non_routine,
        "faults keeps exactly the non-routine rows"
    );
    for file in ["jobs.csv", "timeseries.csv"] {
        let reference = std::fs::read(all.join(file)).unwrap();
        assert_eq!(
            std::fs::read(faults.join(file)).unwrap(),
            reference,
            "{file}"
        );
        assert_eq!(std::fs::read(none.join(file)).unwrap(), reference, "{file}");
    }
    let summary = |dir: &std::path::Path| {
        let text = std::fs::read_to_string(dir.join("summary.json")).unwrap();
        let mut value: serde_json::Value = serde_json::from_str(&text).unwrap();
        value.as_object_mut().unwrap().remove("config_hash");
        value.as_object_mut().unwrap().remove("replay");
        value
    };
    assert_eq!(summary(&faults), summary(&all));
    assert_eq!(summary(&none), summary(&all));
}

/// Every `detail` cell of every shipped scenario splits into `key=value` pairs by the
/// documented grammar (values with spaces quoted), and values survive the round trip.
#[test]
fn every_detail_cell_parses_as_key_value_pairs() {
    use simrq::event::{parse_detail, DetailValue};
    let mut kinds = std::collections::BTreeSet::new();
    for name in [
        "holder-crash",
        "redis-blip",
        "clock-skew",
        "abandoned-job",
        "rolling-deploy",
    ] {
        let root = tempfile::tempdir().unwrap();
        let out = root.path().join("out");
        let mut options = RunOptions::new(1, &out, name);
        options.charts = false;
        run_scenario(&load(name), &options).unwrap();
        for event in read_events(&out) {
            let pairs = parse_detail(&event.detail)
                .unwrap_or_else(|e| panic!("{name} {}: `{}`: {e}", event.kind, event.detail));
            let keys: std::collections::BTreeSet<&str> =
                pairs.iter().map(|(k, _)| k.as_str()).collect();
            assert_eq!(
                keys.len(),
                pairs.len(),
                "repeated key in `{}`",
                event.detail
            );
            if event.kind == "fault" {
                assert_eq!(pairs[0].0, "fault", "{}", event.detail);
            }
            kinds.insert(event.kind);
        }
    }
    assert!(
        kinds.len() >= 20,
        "the scenarios cover the event kinds: {kinds:?}"
    );
    for tricky in [
        "exception raised by the job",
        "a=b",
        "say \"hi\"",
        "back\\slash",
        "",
        "x",
    ] {
        let written = format!("reason={} next=1", DetailValue(tricky));
        let pairs = parse_detail(&written).unwrap();
        assert_eq!(
            pairs[0],
            ("reason".to_string(), tricky.to_string()),
            "{written}"
        );
        assert_eq!(pairs[1], ("next".to_string(), "1".to_string()), "{written}");
    }
}
