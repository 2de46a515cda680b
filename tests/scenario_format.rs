//! The scenario file format: defaults, located errors, suggestions, round trips, robustness.

use proptest::prelude::*;
use simrq::scenario::{
    self, Arrival, CountOrPercent, Distribution, ErrorKind, FaultKind, Location, Rate, RqVariant,
    Scenario, ScenarioError, Target,
};
use simrq::sim::SimDuration;

/// The scenario of design.md "Scenario files", with every key the design shows.
const POD_CHURN: &str = r#"
# pod-churn: 4 worker pods, all --with-scheduler, rolling deploys every 2 h and random pod kills.
[run]
duration = "6h"
seed = 7

[redis]
latency = "0.3ms"
client_retries = 0

[rq]
maintenance_interval = "600s"
variant = "2.12"

[[pods]]
name = "worker"
replicas = 4
with_scheduler = true
queues = ["default"]
termination_grace_period = "30s"
start_delay = "5s"

[[workload]]
queue = "default"
arrival = { poisson_per_s = 5 }
duration = { lognormal = { median = "800ms", p99 = "20s" } }
fail_probability = 0.1
retry = { max = 3, interval = ["10s", "30s", "60s"] }
job_timeout = "180s"

[[faults]]
kind = "rolling_restart"
pods = "worker"
every = "2h"

[[faults]]
kind = "pod_kill"
pods = "worker"
rate = "1/h"

[[faults]]
kind = "pod_kill"
target = "scheduler_holder"
at = "90m"

[[faults]]
kind = "pause"
target = "scheduler_holder"
at = "3h"
for = "75s"

[checks]
max_retry_lateness = "120s"
duplicate_executions = 0
lost_jobs = 0
single_active_scheduler = true
"#;

const MINIMAL: &str = "[[pods]]\nname = \"worker\"\n\n[[workload]]\nqueue = \"default\"\n";

fn error_of(text: &str) -> ScenarioError {
    match scenario::parse(text, "s.toml") {
        Ok(parsed) => panic!("expected an error, got {parsed:?}"),
        Err(error) => error,
    }
}

fn at(line: usize, column: usize) -> Option<Location> {
    Some(Location { line, column })
}

#[test]
fn rq_defaults_match_rq_semantics_section_2() {
    // rq-semantics.md §2 "Constants and defaults", RQ 2.12.
    let rq = scenario::parse(MINIMAL, "s.toml").unwrap().rq;
    assert_eq!(
        rq.worker_ttl,
        SimDuration::from_secs(420),
        "DEFAULT_WORKER_TTL"
    );
    assert_eq!(rq.job_monitoring_interval, SimDuration::from_secs(30));
    assert_eq!(rq.maintenance_interval, SimDuration::from_secs(600));
    assert_eq!(rq.scheduler_interval, SimDuration::from_secs(1));
    assert_eq!(rq.scheduler_fallback_period, SimDuration::from_secs(120));
    assert_eq!(
        rq.default_job_timeout,
        SimDuration::from_secs(180),
        "Queue.DEFAULT_TIMEOUT"
    );
    assert_eq!(rq.result_ttl, SimDuration::from_secs(500));
    assert_eq!(
        rq.failure_ttl,
        SimDuration::from_secs(31_536_000),
        "one year"
    );
    assert_eq!(rq.maintenance_lock_ttl, SimDuration::from_secs(899));
    assert_eq!(rq.intermediate_stuck_threshold, SimDuration::from_secs(60));
    assert_eq!(rq.max_connection_wait, SimDuration::from_secs(60));
    assert_eq!(rq.due_jobs_per_tick, 1_000);
    assert_eq!(rq.hard_kill_grace, SimDuration::from_secs(60));
    assert_eq!(rq.variant, RqVariant::V2_12);
    assert!(!rq.atomic_enqueue && !rq.fenced_enqueue && !rq.retry_zadd_in_transaction);
    assert!(!rq.first_seen_per_enqueue);
}

#[test]
fn client_and_kubernetes_defaults_match_rq_semantics_sections_2_and_6() {
    let parsed = scenario::parse(MINIMAL, "s.toml").unwrap();
    // §2: redis-py from_url gets zero retries, 5 s connect timeout.
    assert_eq!(parsed.redis.client_retries, 0);
    assert_eq!(parsed.redis.connect_timeout, SimDuration::from_secs(5));
    assert_eq!(
        parsed.redis.latency,
        Distribution::Constant(SimDuration::from_micros(300))
    );
    // §6.4 / §10: terminationGracePeriodSeconds 30 s; `rq worker` has no scheduler by default.
    let pod = &parsed.pods[0];
    assert_eq!(pod.termination_grace_period, SimDuration::from_secs(30));
    assert_eq!(
        (pod.replicas, pod.with_scheduler, pod.pid1, pod.burst),
        (1, false, true, false)
    );
    assert_eq!(pod.queues, vec!["default".to_string()]);
    assert_eq!(pod.crash_loop_backoff.initial, SimDuration::from_secs(10));
    assert_eq!(pod.crash_loop_backoff.cap, SimDuration::from_secs(300));
    assert_eq!(pod.rollout.max_surge, CountOrPercent::Count(1));
    assert_eq!(pod.rollout.max_unavailable, CountOrPercent::Count(0));
    assert_eq!(parsed.run.duration, SimDuration::from_secs(3_600));
    assert_eq!(parsed.run.drain, SimDuration::from_secs(900));
    assert!(parsed.checks.single_active_scheduler && parsed.checks.liveness);
}

#[test]
fn the_design_example_parses_with_its_values() {
    let parsed = scenario::parse(POD_CHURN, "pod-churn.toml").unwrap();
    assert_eq!(parsed.run.seed, Some(7));
    assert_eq!(parsed.pods[0].replicas, 4);
    assert_eq!(parsed.workload[0].arrival, Arrival::PoissonPerS(5.0));
    let retry = parsed.workload[0].retry.as_ref().unwrap();
    assert_eq!(
        retry.interval,
        vec![
            SimDuration::from_secs(10),
            SimDuration::from_secs(30),
            SimDuration::from_secs(60)
        ]
    );
    assert_eq!(parsed.faults.len(), 4);
    assert_eq!(parsed.faults[1].rate, Some(Rate::per_second(1.0 / 3_600.0)));
    assert_eq!(parsed.faults[2].target, Target::SchedulerHolder);
    assert_eq!(
        parsed.faults[3].for_duration,
        Some(SimDuration::from_secs(75))
    );
    assert_eq!(parsed.checks.duplicate_executions, Some(0));
}

#[test]
fn default_scenario_is_valid_and_minimal() {
    let default = Scenario::default();
    assert!(scenario::validate(&default).errors.is_empty());
    assert_eq!(default.pods.len(), 1);
    assert_eq!(default.pods[0].name, "worker");
    assert_eq!(default.workload[0].queue, "default");
    assert_eq!(
        scenario::parse(MINIMAL, "s.toml").unwrap().pods,
        default.pods
    );
}

#[test]
fn round_trips_through_to_toml() {
    for original in [
        Scenario::default(),
        scenario::parse(POD_CHURN, "s.toml").unwrap(),
    ] {
        let written = original.to_toml();
        let reread = scenario::parse(&written, "written.toml")
            .unwrap_or_else(|error| panic!("{error}\n---\n{written}"));
        assert_eq!(reread, original, "{written}");
    }
}

#[test]
fn round_trips_every_arrival_form_and_fault_parameter() {
    let text = format!(
        "{MINIMAL}{}",
        r#"
[[workload]]
name = "batch"
queue = "default"
arrival = { count = 50, at = "10s" }
duration = { uniform = { min = "1s", max = "3s" } }
retry = { max = 2, interval = "10s" }
return_retry = { probability = 0.1, max = 2, interval = ["1s", "2s"] }

[[workload]]
name = "daily"
arrival = { daily = { peak_per_s = 20, trough_per_s = 2, peak_at = "14h" } }
duration = { exponential = { mean = "1s" } }

[[workload]]
name = "bursts"
arrival = { bursts = { every = "10m", size = 500 } }

[[workload]]
name = "trace"
arrival = { trace = "arrivals.csv" }

[[faults]]
kind = "net"
target = "worker-0"
mode = "lost_reply"
rate = "0.5/m"
for = "5s"

[[faults]]
kind = "clock_offset"
offset = "-2s"
at = "1m"

[[faults]]
kind = "redis_restart"
persistence = "snapshot"
at = "30m"

[[faults]]
kind = "scale"
pods = "worker"
replicas = 3
at = "20m"
"#
    );
    let original = scenario::parse(&text, "s.toml").unwrap();
    assert_eq!(
        original.workload[1].retry.as_ref().unwrap().interval,
        vec![SimDuration::from_secs(10)]
    );
    let reread = scenario::parse(&original.to_toml(), "written.toml").unwrap();
    assert_eq!(reread, original);
}

#[test]
fn empty_file_is_an_error() {
    for text in ["", "# nothing\n", "[run]\nduration = \"1h\"\n"] {
        let error = error_of(text);
        assert_eq!(error.kind, ErrorKind::Empty);
        assert!(error
            .message
            .contains("empty scenario: at least one [[pods]] and one [[workload]]"));
        assert_eq!(error.location, at(1, 1), "{error}");
    }
}

#[test]
fn unknown_key_names_the_place_and_suggests_the_nearest() {
    let text = "[[pods]]\nname = \"a\"\n\n[[pods]]\nname = \"b\"\n\
                termination_grace_periods = \"30s\"\n\n[[workload]]\n";
    let error = error_of(text);
    assert_eq!(error.kind, ErrorKind::UnknownKey);
    assert_eq!(error.location, at(6, 1));
    assert_eq!(
        error.key.as_deref(),
        Some("pods[1].termination_grace_periods")
    );
    assert!(
        error
            .message
            .contains("did you mean `termination_grace_period`?"),
        "{error}"
    );
    assert!(
        error
            .to_string()
            .starts_with("s.toml:6:1: pods[1].termination_grace_periods: unknown key"),
        "{error}"
    );
}

#[test]
fn unknown_top_level_section_is_suggested() {
    let error = error_of("[[pod]]\nname = \"a\"\n");
    assert_eq!(error.kind, ErrorKind::UnknownKey);
    assert!(error.message.contains("did you mean `pods`?"), "{error}");
    assert_eq!(error.location, at(1, 3));
}

#[test]
fn unknown_fault_kind_is_suggested() {
    let text = format!("{MINIMAL}\n[[faults]]\nkind = \"pod_kil\"\nat = \"1m\"\n");
    let error = error_of(&text);
    assert_eq!(error.key.as_deref(), Some("faults[0].kind"));
    assert_eq!(error.location, at(8, 8));
    assert!(
        error.message.contains("did you mean `pod_kill`?"),
        "{error}"
    );
}

#[test]
fn wrong_type_names_key_and_expectation() {
    let text = "[[pods]]\nreplicas = \"four\"\n\n[[workload]]\n";
    let error = error_of(text);
    assert_eq!(error.kind, ErrorKind::InvalidValue);
    assert_eq!(error.key.as_deref(), Some("pods[0].replicas"));
    assert_eq!(error.location, at(2, 12));
    assert!(error.message.contains("expected u32"), "{error}");
}

#[test]
fn negative_replicas_are_rejected_where_written() {
    let error = error_of("[[pods]]\nreplicas = -1\n[[workload]]\n");
    assert_eq!(error.key.as_deref(), Some("pods[0].replicas"));
    assert_eq!(error.location, at(2, 12));
}

#[test]
fn bad_duration_says_what_a_duration_looks_like() {
    let error = error_of("[run]\nduration = \"6 hours\"\n");
    assert_eq!(error.key.as_deref(), Some("run.duration"));
    assert_eq!(error.location, at(2, 12));
    assert!(error.message.contains("expected e.g."), "{error}");
}

#[test]
fn absurd_replicas_are_rejected_with_location() {
    for replicas in ["20000", "1000000000"] {
        let text = format!("[[pods]]\nname = \"w\"\nreplicas = {replicas}\n\n[[workload]]\n");
        let error = error_of(&text);
        assert_eq!(error.kind, ErrorKind::InvalidValue);
        assert_eq!(error.key.as_deref(), Some("pods[0].replicas"));
        assert_eq!(error.location, at(3, 12));
        assert!(error.message.contains("at most 10000"), "{error}");
    }
}

#[test]
fn too_many_pods_in_total_are_rejected() {
    let group = |name: &str| format!("[[pods]]\nname = \"{name}\"\nreplicas = 6000\n");
    let text = format!("{}{}[[workload]]\n", group("a"), group("b"));
    let error = error_of(&text);
    assert_eq!(error.key.as_deref(), Some("pods"));
    assert!(error.message.contains("12000 pods in all"), "{error}");
}

#[test]
fn probabilities_outside_zero_one_are_rejected() {
    for value in ["1.5", "-0.1", "nan"] {
        let text = format!("[[pods]]\n[[workload]]\nfail_probability = {value}\n");
        let error = error_of(&text);
        assert_eq!(
            error.key.as_deref(),
            Some("workload[0].fail_probability"),
            "{value}"
        );
        assert_eq!(error.location, at(3, 20));
    }
}

#[test]
fn retry_max_zero_with_intervals_and_huge_max_are_rejected() {
    let error = error_of("[[pods]]\n[[workload]]\nretry = { max = 0, interval = [\"10s\"] }\n");
    assert_eq!(error.key.as_deref(), Some("workload[0].retry.max"));
    assert_eq!(error.location, at(3, 17));
    assert!(error.message.contains("intervals are given"), "{error}");
    let error = error_of("[[pods]]\n[[workload]]\nretry = { max = 5000 }\n");
    assert!(error.message.contains("at most 1000"), "{error}");
}

#[test]
fn durations_beyond_thirty_days_are_rejected() {
    let error = error_of("[run]\nduration = \"31d\"\n[[pods]]\n[[workload]]\n");
    assert_eq!(error.key.as_deref(), Some("run.duration"));
    assert_eq!(error.location, at(2, 12));
    assert!(error.message.contains("longer than the limit"), "{error}");
}

#[test]
fn absurd_fault_rate_is_rejected() {
    let text = format!("{MINIMAL}[[faults]]\nkind = \"pod_kill\"\nrate = \"1000/s\"\n");
    let error = error_of(&text);
    assert_eq!(error.key.as_deref(), Some("faults[0].rate"));
    assert_eq!(error.location, at(8, 8));
}

#[test]
fn malformed_rate_is_rejected_where_written() {
    let text = format!("{MINIMAL}[[faults]]\nkind = \"pod_kill\"\nrate = \"1 per hour\"\n");
    let error = error_of(&text);
    assert_eq!(error.key.as_deref(), Some("faults[0].rate"));
    assert!(error.message.contains("\"1/h\""), "{error}");
}

#[test]
fn fault_referring_to_a_missing_pod_group_is_an_error() {
    let text =
        format!("{MINIMAL}[[faults]]\nkind = \"pod_kill\"\npods = \"wroker\"\nat = \"1m\"\n");
    let error = error_of(&text);
    assert_eq!(error.kind, ErrorKind::Reference);
    assert_eq!(error.key.as_deref(), Some("faults[0].pods"));
    assert_eq!(error.location, at(8, 8));
    assert!(error.message.contains("did you mean `worker`?"), "{error}");
}

#[test]
fn fault_targeting_a_missing_pod_is_an_error() {
    let text =
        format!("{MINIMAL}[[faults]]\nkind = \"pod_kill\"\ntarget = \"worker-1\"\nat = \"1m\"\n");
    let error = error_of(&text);
    assert_eq!(error.kind, ErrorKind::Reference);
    assert_eq!(error.key.as_deref(), Some("faults[0].target"));
}

#[test]
fn fault_without_timing_or_needed_parameter_is_an_error() {
    let text = format!("{MINIMAL}[[faults]]\nkind = \"pod_kill\"\n");
    let error = error_of(&text);
    assert_eq!(error.key.as_deref(), Some("faults[0]"));
    assert!(
        error
            .message
            .contains("exactly one of `at`, `every` or `rate`"),
        "{error}"
    );
    let text = format!("{MINIMAL}[[faults]]\nkind = \"pause\"\nat = \"1m\"\n");
    assert!(error_of(&text).message.contains("needs `for`"));
}

#[test]
fn duplicate_pod_names_are_an_error() {
    let error = error_of("[[pods]]\nname = \"w\"\n[[pods]]\nname = \"w\"\n[[workload]]\n");
    assert_eq!(error.kind, ErrorKind::Reference);
    assert_eq!(error.key.as_deref(), Some("pods[1].name"));
    assert_eq!(error.location, at(4, 8));
}

#[test]
fn unserved_queue_is_a_located_warning() {
    let text = "[[pods]]\nqueues = [\"high\"]\n\n[[workload]]\nqueue = \"low\"\n";
    let loaded = scenario::parse_with_warnings(text, "s.toml").unwrap();
    assert_eq!(loaded.warnings.len(), 1);
    let warning = &loaded.warnings[0];
    assert!(
        warning
            .starts_with("warning: s.toml:5:9: workload[0].queue: no pod listens on queue `low`"),
        "{warning}"
    );
    assert!(scenario::parse_with_warnings(MINIMAL, "s.toml")
        .unwrap()
        .warnings
        .is_empty());
}

#[test]
fn invalid_utf8_and_binary_are_reported() {
    let error = scenario::parse_bytes(b"[run]\nduration = \"1\xffh\"\n", "s.toml").unwrap_err();
    assert_eq!(error.kind, ErrorKind::Encoding);
    assert_eq!(error.location, at(2, 14));
    let error = scenario::parse_bytes(b"\x7fELF\x02\x01\x01\x00\x00\xff", "a.out").unwrap_err();
    assert!(error.message.contains("binary file"), "{error}");
    let error = error_of("[run]\x00\x01");
    assert_eq!(error.kind, ErrorKind::Encoding);
}

#[test]
fn syntax_errors_have_a_location() {
    let error = error_of("[[pods]]\nname = \"unterminated\n");
    assert_eq!(error.kind, ErrorKind::Syntax);
    assert_eq!(error.location.map(|location| location.line), Some(2));
    assert!(!error.to_string().contains('\n'), "one line: {error}");
}

#[test]
fn load_names_the_file() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("bad.toml");
    std::fs::write(&path, "[[pods]]\nreplicsa = 2\n[[workload]]\n").unwrap();
    let error = scenario::load(&path).unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with(&format!("{}:2:1: pods[0].replicsa:", path.display())),
        "{error}"
    );
    let missing = scenario::load(&directory.path().join("missing.toml")).unwrap_err();
    assert_eq!(missing.kind, ErrorKind::Io);
    std::fs::write(&path, POD_CHURN).unwrap();
    assert_eq!(
        scenario::load(&path).unwrap().faults[0].kind,
        FaultKind::RollingRestart
    );
}

#[test]
fn json_schema_describes_every_section() {
    let schema: serde_json::Value = serde_json::from_str(&scenario::json_schema()).unwrap();
    let properties = schema["properties"].as_object().unwrap();
    for section in ["run", "redis", "rq", "pods", "workload", "faults", "checks"] {
        assert!(properties.contains_key(section), "{section}");
    }
    let rq = &schema["definitions"]["RqSpec"]["properties"];
    assert_eq!(
        rq["worker_ttl"]["default"], "7m",
        "420 s, written in its shortest form"
    );
    assert_eq!(
        schema["definitions"]["PodSpec"]["additionalProperties"],
        false
    );
}

fn mutate(text: &str, position: usize, insert: &str, delete: usize) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    let start = position % (chars.len() + 1);
    let end = (start + delete).min(chars.len());
    chars.splice(start..end, insert.chars());
    chars.into_iter().collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = scenario::parse_bytes(&bytes, "fuzz.toml");
        let _ = scenario::parse(&String::from_utf8_lossy(&bytes), "fuzz.toml");
    }

    #[test]
    fn mutated_valid_files_never_panic(
        position in 0usize..2_000,
        insert in "[\\[\\]{}=\",.a-z0-9_\\n -]{0,12}",
        delete in 0usize..40,
    ) {
        let text = mutate(POD_CHURN, position, &insert, delete);
        if let Err(error) = scenario::parse(&text, "fuzz.toml") {
            prop_assert!(error.to_string().starts_with("fuzz.toml"));
        }
    }
}

#[test]
fn the_documented_example_is_valid() {
    let docs = include_str!("../docs/scenario-format.md");
    let start = docs
        .find("## A complete example")
        .expect("the docs have an example");
    let body = &docs[start..];
    let open = body.find("```toml\n").expect("a toml block") + "```toml\n".len();
    let close = open + body[open..].find("```").expect("a closed block");
    let loaded = scenario::parse_with_warnings(&body[open..close], "scenario-format.md").unwrap();
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    assert_eq!(loaded.scenario.faults.len(), 5);
}

#[test]
fn a_finite_job_list_and_scripted_failures_parse() {
    let text = "[[pods]]\n[[workload]]\njobs = 8\nstart = \"1.5s\"\n\
                arrival = { constant_per_s = 4 }\nfail_attempts = [1, 3]\n";
    let parsed = scenario::parse(text, "s.toml").unwrap();
    let workload = &parsed.workload[0];
    assert_eq!(workload.jobs, Some(8));
    assert_eq!(workload.start, Some(SimDuration::from_millis(1_500)));
    assert_eq!(workload.fail_attempts, vec![1, 3]);
    let again = scenario::parse(&parsed.to_toml(), "again.toml").unwrap();
    assert_eq!(again, parsed);
}

#[test]
fn two_workloads_with_one_name_are_an_error() {
    let error = error_of("[[pods]]\n[[workload]]\n[[workload]]\narrival = { count = 1 }\n");
    assert_eq!(error.key.as_deref(), Some("workload[1].queue"));
    assert!(
        error.message.contains("its own `name`"),
        "{}",
        error.message
    );
}

#[test]
fn zero_jobs_and_execution_zero_are_rejected_where_written() {
    let error = error_of("[[pods]]\n[[workload]]\njobs = 0\n");
    assert_eq!(error.key.as_deref(), Some("workload[0].jobs"));
    assert_eq!(error.location, at(3, 8));
    let error = error_of("[[pods]]\n[[workload]]\nfail_attempts = [0, 2]\n");
    assert_eq!(error.key.as_deref(), Some("workload[0].fail_attempts"));
}

#[test]
fn every_conformance_scenario_is_a_valid_simrq_scenario() {
    let folder =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance/scenarios");
    let mut count = 0;
    for entry in std::fs::read_dir(&folder).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|ext| ext == "toml") {
            let loaded = scenario::load_with_warnings(&path)
                .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
            assert!(
                loaded.warnings.is_empty(),
                "{}: {:?}",
                path.display(),
                loaded.warnings
            );
            count += 1;
        }
    }
    assert!(count >= 8, "{count} conformance scenarios");
}

/// Job classes and producers are keyed by workload name: a scenario built in code that
/// repeats one (two unnamed workloads on `default`) is refused before it runs, as the parser
/// refuses such a file.
#[test]
fn a_scenario_built_in_code_with_a_repeated_workload_name_is_refused() {
    let mut scenario = Scenario::default();
    scenario.workload.push(scenario.workload[0].clone());
    let error = scenario.run_seed(1).err().expect("refused");
    assert!(
        error
            .to_string()
            .contains("duplicate workload name `default`"),
        "{error}"
    );
    scenario.workload[1].name = Some("second".into());
    assert!(scenario.run_seed(1).is_ok());
}

/// RQ takes retry intervals, job timeouts and TTLs as whole seconds; a fraction used to be
/// truncated in silence (`job_timeout = "500ms"` became 0 and failed every job at once).
#[test]
fn fractional_seconds_where_rq_takes_whole_ones_are_rejected_where_written() {
    let cases = [
        (
            "[[pods]]\n[[workload]]\njob_timeout = \"500ms\"\n",
            "workload[0].job_timeout",
            (3, 15),
        ),
        (
            "[[pods]]\n[[workload]]\nretry = { max = 2, interval = [\"1s\", \"1.5s\"] }\n",
            "workload[0].retry.interval[1]",
            (3, 38),
        ),
        (
            "[[pods]]\n[[workload]]\n[rq]\nresult_ttl = \"2.5s\"\n",
            "rq.result_ttl",
            (4, 14),
        ),
        (
            "[[pods]]\n[[workload]]\nttl = \"90.5s\"\n",
            "workload[0].ttl",
            (3, 7),
        ),
    ];
    for (text, key, (line, column)) in cases {
        let error = error_of(text);
        assert_eq!(error.key.as_deref(), Some(key), "{error}");
        assert_eq!(error.location, at(line, column), "{error}");
        assert!(error.to_string().contains("whole seconds"), "{error}");
    }
    // Whole seconds written in other units are fine.
    let parsed = scenario::parse(
        "[[pods]]\n[[workload]]\njob_timeout = \"2000ms\"\n",
        "s.toml",
    )
    .unwrap();
    assert_eq!(
        parsed.workload[0].job_timeout,
        Some(simrq::sim::SimDuration::from_secs(2))
    );
}

/// Fault keys that the fault kind cannot use are errors, not silently ignored: a rolling
/// restart or scale acts on its whole `pods` group, a Redis fault on the server.
#[test]
fn fault_keys_that_do_nothing_for_the_kind_are_rejected() {
    let cases = [
        (
            "[[faults]]\nkind = \"rolling_restart\"\npods = \"worker\"\ntarget = \"worker-0\"\nat = \"1m\"\n",
            "faults[0].target",
        ),
        (
            "[[faults]]\nkind = \"scale\"\npods = \"worker\"\nreplicas = 2\ntarget = \"scheduler_holder\"\nat = \"1m\"\n",
            "faults[0].target",
        ),
        (
            "[[faults]]\nkind = \"redis_restart\"\npods = \"worker\"\nat = \"1m\"\n",
            "faults[0].pods",
        ),
        (
            "[[faults]]\nkind = \"redis_pause\"\npods = \"worker\"\nat = \"1m\"\nfor = \"5s\"\n",
            "faults[0].pods",
        ),
        (
            "[[faults]]\nkind = \"redis_crash\"\npods = \"worker\"\nat = \"1m\"\n",
            "faults[0].pods",
        ),
        (
            "[redis]\nreplicas = 1\n[[faults]]\nkind = \"redis_failover\"\npods = \"worker\"\nat = \"1m\"\n",
            "faults[0].pods",
        ),
    ];
    for (fault, key) in cases {
        let text = format!("[[pods]]\nname = \"worker\"\nreplicas = 2\n[[workload]]\n{fault}");
        let error = error_of(&text);
        assert_eq!(error.key.as_deref(), Some(key), "{error}");
    }
}

/// A process target on a fault that acts on a whole pod is an error, not a whole-pod fault.
#[test]
fn process_targets_on_whole_pod_faults_are_rejected() {
    for (kind, extra) in [
        ("pod_delete", ""),
        ("net", "for = \"5s\"\n"),
        ("clock_offset", "offset = \"5s\"\n"),
        ("clock_step", "offset = \"-2s\"\n"),
    ] {
        let text = format!(
            "[[pods]]\n[[workload]]\n[[faults]]\nkind = \"{kind}\"\ntarget = \"horse\"\nat = \"1m\"\n{extra}"
        );
        let error = error_of(&text);
        assert_eq!(
            error.key.as_deref(),
            Some("faults[0].target"),
            "{kind}: {error}"
        );
        assert!(error.to_string().contains("whole pod"), "{error}");
    }
}

/// `[[pods]] burst` is read: `true` parses into the pod spec, and a non-boolean is located.
#[test]
fn burst_is_a_boolean_read_into_the_pod_spec() {
    let parsed = scenario::parse("[[pods]]\nburst = true\n[[workload]]\n", "s.toml").unwrap();
    assert!(parsed.pods[0].burst);
    let error = error_of("[[pods]]\nburst = 3\n[[workload]]\n");
    assert_eq!(error.location.map(|l| l.line), Some(2), "{error}");
}

/// `cancel`, `requeue` and `empty_queue` (docs/scenario-format.md `[[faults]]`): each needs
/// its `job` or `queue`, a job id must be one simrq gives, a queue one a workload uses, and
/// neither key applies elsewhere; they act on Redis, so they take no target. Each error is
/// located at its key.
#[test]
fn operator_job_actions_validate_job_and_queue() {
    let cases: [(&str, &str, &str); 7] = [
        ("kind = \"cancel\"", "faults[0]", "needs `job`"),
        (
            "kind = \"cancel\"\njob = \"job-7\"",
            "faults[0].job",
            "is not a job id",
        ),
        (
            "kind = \"cancel\"\njob = \"j0\"",
            "faults[0].job",
            "is not a job id",
        ),
        ("kind = \"requeue\"", "faults[0]", "needs `queue`"),
        (
            "kind = \"empty_queue\"\nqueue = \"nope\"",
            "faults[0].queue",
            "no workload or cron job enqueues on queue `nope`",
        ),
        (
            "kind = \"pod_kill\"\njob = \"j1\"",
            "faults[0].job",
            "does not apply",
        ),
        (
            "kind = \"cancel\"\njob = \"j1\"\ntarget = \"worker-0\"",
            "faults[0].target",
            "takes no target",
        ),
    ];
    for (lines, key, message) in cases {
        let text = format!("{MINIMAL}[[faults]]\nat = \"1s\"\n{lines}\n");
        let error = error_of(&text);
        assert_eq!(error.key.as_deref(), Some(key), "{lines}: {error}");
        assert!(error.message.contains(message), "{lines}: {error}");
    }
    let fine = format!(
        "{MINIMAL}[[faults]]\nat = \"1s\"\nkind = \"requeue\"\nqueue = \"default\"\njob = \"j12\"\n"
    );
    assert!(scenario::parse(&fine, "s.toml").is_ok());
}
