//! Fuzz campaign over every file a user hands simrq: scenario files (arbitrary text, arbitrary
//! bytes, and TOML trees built from the scenario's own keys), trace-arrival CSV files, and the
//! events.csv / jobs.csv that `simrq compare` reads. Each input must give a value or an error,
//! never a panic; inputs whose meaning is known (a trace written the way a spreadsheet saves
//! it) must also read back to that meaning.
//!
//! Each property runs `SIMRQ_FUZZ_CASES` inputs (default 1000, a few seconds in release), drawn
//! from the fixed seed of `support/proptest_seed.rs` unless `SIMRQ_PROPTEST_SEED` says
//! otherwise. The big campaign, with new inputs:
//!
//! ```text
//! SIMRQ_FUZZ_CASES=100000 SIMRQ_PROPTEST_SEED=random \
//!     cargo test --profile checks --test fuzz_inputs -- --nocapture
//! ```
//!
//! Every property prints how many inputs it tried; a panic is reported as a failing case,
//! shrunk to a small input.

#[path = "support/proptest_seed.rs"]
mod proptest_seed;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use toml::Value;

use simrq::compare::{compare_envelope, compare_runs, EnvelopeTolerances, RunData};
use simrq::scenario;
use simrq::workload::parse_trace;

fn cases() -> u32 {
    std::env::var("SIMRQ_FUZZ_CASES")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(1000)
}

fn config() -> Config {
    Config {
        cases: cases(),
        failure_persistence: None,
        rng_seed: proptest_seed::rng_seed(),
        // Arbitrary bytes are rejected often by design (not UTF-8, not TOML); that is not a
        // reason to stop.
        max_global_rejects: u32::MAX,
        ..Config::default()
    }
}

/// Runs `test` on `cases()` inputs of `strategy`, panicking with the shrunk input on failure,
/// and prints how many inputs it tried and how many of them read without an error (`test`
/// returns whether the input was accepted).
fn campaign<S: Strategy>(name: &str, strategy: S, test: impl Fn(S::Value) -> bool)
where
    S::Value: std::fmt::Debug,
{
    let (tried, accepted) = (AtomicU64::new(0), AtomicU64::new(0));
    let mut runner = TestRunner::new(config());
    let result = runner.run(&strategy, |input| {
        tried.fetch_add(1, Ordering::Relaxed);
        if test(input) {
            accepted.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    });
    eprintln!(
        "fuzz {name}: {} inputs tried (shrinking included), {} accepted",
        tried.load(Ordering::Relaxed),
        accepted.load(Ordering::Relaxed)
    );
    if let Err(error) = result {
        panic!("fuzz {name}: {error}");
    }
}

// ---------------------------------------------------------------------------------------------
// Scenario files

fn shipped_scenarios() -> Vec<(String, String)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut files: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "toml"))
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            (path.display().to_string(), text)
        })
        .collect();
    files.sort();
    assert!(files.len() >= 5, "the shipped scenarios are missing");
    files
}

/// Every key name the scenario format knows: those of the shipped scenarios and every
/// property name of the JSON Schema.
fn scenario_keys(shipped: &[(String, String)]) -> Vec<String> {
    fn from_toml(value: &Value, keys: &mut BTreeSet<String>) {
        match value {
            Value::Table(table) => {
                for (key, child) in table {
                    keys.insert(key.clone());
                    from_toml(child, keys);
                }
            }
            Value::Array(items) => items.iter().for_each(|item| from_toml(item, keys)),
            _ => {}
        }
    }
    fn from_schema(value: &serde_json::Value, keys: &mut BTreeSet<String>) {
        match value {
            serde_json::Value::Object(object) => {
                if let Some(serde_json::Value::Object(properties)) = object.get("properties") {
                    keys.extend(properties.keys().cloned());
                }
                object.values().for_each(|child| from_schema(child, keys));
            }
            serde_json::Value::Array(items) => items.iter().for_each(|i| from_schema(i, keys)),
            _ => {}
        }
    }
    let mut keys = BTreeSet::new();
    for (_, text) in shipped {
        from_toml(&text.parse::<toml::Table>().unwrap().into(), &mut keys);
    }
    let schema: serde_json::Value = serde_json::from_str(&scenario::json_schema()).unwrap();
    from_schema(&schema, &mut keys);
    assert!(keys.len() > 60, "only {} scenario keys found", keys.len());
    keys.into_iter().collect()
}

/// Strings a scenario value may plausibly hold, edge cases first.
const WORDS: &[&str] = &[
    "",
    "0",
    "0s",
    "1s",
    "500ms",
    "1.5s",
    "-1s",
    "1us",
    "1e400s",
    "99999999999999h",
    "24h",
    "1m30s",
    "nan",
    "inf",
    "2.12",
    "2.10",
    "any",
    "all",
    "worker",
    "horse",
    "scheduler",
    "pod",
    "Always",
    "Never",
    "OnFailure",
    "constant",
    "poisson",
    "exponential",
    "lognormal",
    "50%",
    "150%",
    "-5%",
    "5/s",
    "0/s",
    "1e30/s",
    "drop",
    "refuse",
    "partition",
    "default",
    "high",
    "low",
    "pod_kill",
    "pod_delete",
    "pause",
    "net",
    "clock_skew",
    "clock_jump",
    "redis_restart",
    "redis_crash",
    "redis_failover",
    "replica_lag",
    "sentinel",
    "fixed",
    "redis_pause",
    "everysec",
    "always",
    "rolling_restart",
    "scale",
    "stock",
    "trace.csv",
    "/dev/null",
    "\u{0}",
    "é",
    "\"",
    "x,y",
];

fn leaf(keys: Vec<String>) -> impl Strategy<Value = Value> {
    let special_ints = prop::sample::select(vec![
        0i64,
        1,
        -1,
        2,
        7,
        60,
        100_000_000,
        100_000_001,
        u32::MAX as i64,
        u32::MAX as i64 + 1,
        i64::MAX,
        i64::MIN,
    ]);
    let special_floats = prop::sample::select(vec![
        0.0f64,
        -0.0,
        0.5,
        1.0,
        -1.0,
        1e-300,
        1e300,
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::MAX,
        f64::MIN_POSITIVE,
    ]);
    prop_oneof![
        special_ints.prop_map(Value::Integer),
        any::<i64>().prop_map(Value::Integer),
        (-1_000i64..100_000).prop_map(Value::Integer),
        special_floats.prop_map(Value::Float),
        any::<f64>().prop_map(Value::Float),
        any::<bool>().prop_map(Value::Boolean),
        prop::sample::select(WORDS).prop_map(|w| Value::String(w.to_string())),
        prop::sample::select(keys).prop_map(Value::String),
        "[0-9]{1,4}(\\.[0-9]{1,3})?(us|ms|s|m|h|d)?".prop_map(Value::String),
        any::<String>().prop_map(Value::String),
    ]
}

/// A TOML value built from the scenario's keys: leaves, arrays and tables nested a few deep.
fn tree(keys: Vec<String>) -> impl Strategy<Value = Value> {
    let key_names = keys.clone();
    leaf(keys).prop_recursive(4, 48, 6, move |inner| {
        let names = prop::sample::select(key_names.clone());
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(names, inner, 0..6)
                .prop_map(|table| Value::Table(table.into_iter().collect())),
        ]
    })
}

/// One change to a shipped scenario's tree: follow `path` (child indices, taken modulo the
/// children present) and there replace the value, delete it, or add `key = value`.
#[derive(Clone, Debug)]
enum Edit {
    /// Replace a leaf with a leaf of the same type (an integer with an integer, …).
    Tweak(Vec<usize>, Value),
    Replace(Vec<usize>, Value),
    Delete(Vec<usize>),
    Insert(Vec<usize>, String, Value),
}

fn edits(keys: Vec<String>) -> impl Strategy<Value = Vec<Edit>> {
    let path = prop::collection::vec(any::<usize>(), 0..5);
    let edit = prop_oneof![
        6 => (path.clone(), leaf(keys.clone())).prop_map(|(p, v)| Edit::Tweak(p, v)),
        2 => (path.clone(), tree(keys.clone())).prop_map(|(p, v)| Edit::Replace(p, v)),
        1 => path.clone().prop_map(Edit::Delete),
        2 => (path, prop::sample::select(keys.clone()), tree(keys))
            .prop_map(|(p, k, v)| Edit::Insert(p, k, v)),
    ];
    prop::collection::vec(edit, 1..4)
}

/// The child of `value` at `index` (modulo its size), for a table or an array.
fn child(value: &mut Value, index: usize) -> Option<&mut Value> {
    match value {
        Value::Table(table) if !table.is_empty() => {
            let len = table.len();
            table.iter_mut().nth(index % len).map(|(_, v)| v)
        }
        Value::Array(items) if !items.is_empty() => {
            let len = items.len();
            items.get_mut(index % len)
        }
        _ => None,
    }
}

fn apply(root: &mut Value, edit: &Edit) {
    if let Edit::Tweak(path, value) = edit {
        // Walk down as far as the path goes, then to the first leaf.
        let mut node = root;
        let mut steps = path.iter().copied().chain(std::iter::repeat(0));
        loop {
            let step = steps.next().unwrap_or(0);
            if child(node, step).is_none() {
                break;
            }
            node = child(node, step).expect("checked just above");
        }
        if node.type_str() == value.type_str() {
            *node = value.clone();
        }
        return;
    }
    let path = match edit {
        Edit::Tweak(path, _)
        | Edit::Replace(path, _)
        | Edit::Delete(path)
        | Edit::Insert(path, _, _) => path,
    };
    // Walk to the parent of the last step, so that a delete or replace can act on the child.
    let mut node = root;
    let (last, parents) = match path.split_last() {
        Some((last, parents)) => (Some(*last), parents),
        None => (None, &path[..]),
    };
    for &index in parents {
        if child(node, index).is_none() {
            break;
        }
        node = child(node, index).expect("checked just above");
    }
    match (edit, last) {
        (Edit::Insert(_, key, value), _) => match node {
            Value::Table(table) => {
                table.insert(key.clone(), value.clone());
            }
            Value::Array(items) => items.push(value.clone()),
            other => *other = value.clone(),
        },
        (Edit::Replace(_, value), Some(index)) => match child(node, index) {
            Some(slot) => *slot = value.clone(),
            None => *node = value.clone(),
        },
        (Edit::Replace(_, value), None) => {
            if value.is_table() {
                *node = value.clone();
            }
        }
        (Edit::Delete(_), Some(index)) => match node {
            Value::Table(table) if !table.is_empty() => {
                let key = table.keys().nth(index % table.len()).cloned();
                if let Some(key) = key {
                    table.remove(&key);
                }
            }
            Value::Array(items) if !items.is_empty() => {
                let len = items.len();
                items.remove(index % len);
            }
            _ => {}
        },
        (Edit::Delete(_), None) | (Edit::Tweak(..), _) => {}
    }
}

/// Parses `text`; a scenario that validates must also write its canonical TOML and read it
/// back to the same scenario (`simrq sweep --set` and `explore`'s shrunk files rely on that).
fn parse_and_round_trip(text: &str) -> bool {
    let Ok(parsed) = scenario::parse(text, "fuzz.toml") else {
        return false;
    };
    let canonical = parsed.to_toml();
    let again = scenario::parse(&canonical, "canonical.toml")
        .unwrap_or_else(|error| panic!("the canonical TOML does not parse: {error}"));
    assert_eq!(
        again.to_toml(),
        canonical,
        "the canonical TOML is not stable"
    );
    true
}

#[test]
fn scenario_parser_on_arbitrary_text_and_bytes() {
    campaign("scenario text", any::<String>(), |text| {
        scenario::parse(&text, "fuzz.toml").is_ok()
    });
    campaign(
        "scenario bytes",
        prop::collection::vec(any::<u8>(), 0..600),
        |bytes| scenario::parse_bytes(&bytes, "fuzz.toml").is_ok(),
    );
}

#[test]
fn scenario_parser_on_shipped_scenarios_cut_and_spliced() {
    let shipped = shipped_scenarios();
    let count = shipped.len();
    // Cut a shipped file at a random byte and splice random text in: truncated arrays,
    // half-written keys, stray quotes.
    let strategy = (0..count, any::<usize>(), any::<String>());
    campaign("scenario splice", strategy, |(file, at, insert)| {
        let text = &shipped[file].1;
        let mut at = at % (text.len() + 1);
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        let spliced = format!("{}{insert}{}", &text[..at], &text[at..]);
        let whole = parse_and_round_trip(&spliced);
        parse_and_round_trip(&text[..at]) && whole
    });
}

#[test]
fn scenario_parser_on_toml_trees_of_scenario_keys() {
    let shipped = shipped_scenarios();
    let keys = scenario_keys(&shipped);
    let trees: Vec<Value> = shipped
        .iter()
        .map(|(_, text)| text.parse::<toml::Table>().unwrap().into())
        .collect();
    for (name, text) in &shipped {
        // The starting points themselves are valid, so edits explore around real files.
        scenario::parse(text, name).unwrap_or_else(|e| panic!("{e}"));
    }
    let strategy = (0..trees.len(), edits(keys.clone()));
    campaign(
        "scenario trees (edited shipped files)",
        strategy,
        |(file, edits)| {
            let mut root = trees[file].clone();
            for edit in &edits {
                apply(&mut root, edit);
            }
            toml::to_string(&root).is_ok_and(|text| parse_and_round_trip(&text))
        },
    );
    let sections = prop::collection::btree_map(
        prop::sample::select(vec![
            "run", "redis", "rq", "pods", "workload", "faults", "checks", "network",
        ]),
        tree(keys),
        0..6,
    );
    campaign("scenario trees (built from keys)", sections, |sections| {
        let root = Value::Table(
            sections
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        );
        toml::to_string(&root).is_ok_and(|text| parse_and_round_trip(&text))
    });
}

// ---------------------------------------------------------------------------------------------
// CSV: trace arrivals and compare's inputs

/// A cell as a spreadsheet may save it: bare when it can be, else quoted with `""` for a quote
/// (and sometimes quoted when it need not be).
fn quoted(cell: &str, always: bool) -> String {
    if always || cell.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", cell.replace('"', "\"\""))
    } else {
        cell.to_string()
    }
}

#[test]
fn trace_reader_on_arbitrary_bytes() {
    campaign(
        "trace bytes",
        prop::collection::vec(any::<u8>(), 0..600),
        |bytes| parse_trace("fuzz.csv", &bytes).is_ok(),
    );
    campaign("trace text", any::<String>(), |text| {
        parse_trace("fuzz.csv", text.as_bytes()).is_ok()
    });
}

#[test]
fn trace_reader_reads_what_a_spreadsheet_writes() {
    let row = (
        0u32..100_000_000,
        any::<bool>(),
        prop::collection::vec(any::<String>(), 0..3),
        any::<bool>(),
    );
    let file = (
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        prop::collection::vec(row, 0..40),
    );
    campaign(
        "trace spreadsheet files",
        file,
        |(bom, header, crlf, rows)| {
            let end = if crlf { "\r\n" } else { "\n" };
            let mut text = String::new();
            if bom {
                text.push('\u{feff}');
            }
            if header {
                text.push_str(&format!("\"seconds, since start\",note{end}"));
            }
            let mut expected = Vec::new();
            for (millis, quote, extra, blank_after) in &rows {
                let seconds = f64::from(*millis) / 1_000.0;
                expected.push((seconds * 1_000_000.0).round() as u64);
                let mut cells = vec![quoted(&format!("{seconds}"), *quote)];
                cells.extend(extra.iter().map(|cell| quoted(cell, false)));
                text.push_str(&cells.join(","));
                text.push_str(end);
                if *blank_after {
                    text.push_str(end);
                }
            }
            expected.sort_unstable();
            let times = parse_trace("fuzz.csv", text.as_bytes())
                .unwrap_or_else(|error| panic!("{error}\n{text:?}"));
            let got: Vec<u64> = times.iter().map(|t| t.as_micros()).collect();
            assert_eq!(got, expected, "{text:?}");
            true
        },
    );
}

const EVENTS_HEADER: &str = "time_s,seq,kind,pod,process,queue,job,attempt,detail";
const JOBS_HEADER: &str = "job,queue,enqueued_s,executions,retries_used,outcome,first_start_s,\
end_s,max_retry_lateness_s";

/// A number cell: mostly an ordinary one, sometimes an edge a reader must accept (negative,
/// huge, zero); with `refused`, often one it must refuse with an error (NaN, infinite, not a
/// number), so that a reader letting one through hands it to the metrics.
fn number_cell(refused: bool) -> BoxedStrategy<String> {
    let ordinary = (0u32..10_000).prop_map(|n| format!("{:.6}", f64::from(n) / 100.0));
    let edge = prop::sample::select(vec![
        "",
        "0",
        "-1",
        "-0",
        "1e308",
        "-1e308",
        "4294967295",
        "1.5",
        " 2 ",
        "1e-320",
    ])
    .prop_map(str::to_string);
    let bad = prop::sample::select(vec![
        "NaN",
        "nan",
        "inf",
        "-inf",
        "infinity",
        "1e309",
        "4294967296",
        "x",
    ])
    .prop_map(str::to_string);
    if refused {
        prop_oneof![10 => ordinary, 2 => edge, 1 => any::<f64>().prop_map(|v| v.to_string()), 3 => bad]
            .boxed()
    } else {
        prop_oneof![40 => ordinary, 4 => edge, 1 => any::<f64>().prop_map(|v| v.to_string())]
            .boxed()
    }
}

/// A count cell (executions, retries, attempt): mostly small, sometimes an edge; with
/// `refused`, sometimes one a reader must refuse.
fn count_cell(refused: bool) -> BoxedStrategy<String> {
    let small = (0u32..4).prop_map(|n| n.to_string());
    let edge = prop::sample::select(vec!["", "0", "4294967295", "4294967294", "7.0"])
        .prop_map(str::to_string);
    let bad =
        prop::sample::select(vec!["-1", "1.5", "4294967296", "NaN", "x"]).prop_map(str::to_string);
    if refused {
        prop_oneof![60 => small, 6 => edge, 1 => bad].boxed()
    } else {
        prop_oneof![40 => small, 2 => edge].boxed()
    }
}

fn word_cell(words: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop_oneof![
        20 => prop::sample::select(words).prop_map(str::to_string),
        1 => any::<String>(),
    ]
}

const KINDS: &[&str] = &[
    "job_started",
    "job_failed",
    "job_finished",
    "lock_acquired",
    "lock_lost",
    "fault",
    "job_retry_scheduled",
    "",
];
const JOBS: &[&str] = &["job-0000", "job-0001", "job-0002", ""];
const NAMES: &[&str] = &[
    "w",
    "holder-0",
    "standby-0",
    "default",
    "horse",
    "scheduler",
    "",
];
const OUTCOMES: &[&str] = &["finished", "failed", "lost", ""];

fn detail_cell() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("reason=exception raised by the job, retry_intervals_s=[1, 2, 3]".to_string()),
        Just("a \"quoted\" value,\r\nover two lines".to_string()),
        any::<String>(),
    ]
}

fn events_row(refused: bool) -> impl Strategy<Value = Vec<String>> {
    (
        number_cell(refused),
        count_cell(refused),
        word_cell(KINDS),
        word_cell(NAMES),
        word_cell(NAMES),
        word_cell(NAMES),
        word_cell(JOBS),
        count_cell(refused),
        detail_cell(),
    )
        .prop_map(
            |(t, seq, kind, pod, process, queue, job, attempt, detail)| {
                vec![t, seq, kind, pod, process, queue, job, attempt, detail]
            },
        )
}

fn jobs_row(refused: bool) -> impl Strategy<Value = Vec<String>> {
    (
        word_cell(JOBS),
        word_cell(NAMES),
        number_cell(refused),
        count_cell(refused),
        count_cell(refused),
        word_cell(OUTCOMES),
        number_cell(refused),
        number_cell(refused),
        number_cell(refused),
    )
        .prop_map(
            |(job, queue, enq, exe, retries, outcome, first, end, late)| {
                vec![job, queue, enq, exe, retries, outcome, first, end, late]
            },
        )
}

fn csv_file(
    header: &'static str,
    row: impl Strategy<Value = Vec<String>>,
) -> impl Strategy<Value = String> {
    (any::<bool>(), prop::collection::vec(row, 0..30)).prop_map(move |(crlf, rows)| {
        let end = if crlf { "\r\n" } else { "\n" };
        let mut text = format!("{header}{end}");
        for row in rows {
            let cells: Vec<String> = row.iter().map(|c| quoted(c, false)).collect();
            text.push_str(&cells.join(","));
            text.push_str(end);
        }
        text
    })
}

/// Reads both files and, when they read, compares the run with itself and with another, pairwise
/// and as an envelope: every metric must be computed without a panic.
fn compare_all(real: &RunData, sim: &RunData) {
    for (a, b) in [(real, sim), (sim, real), (real, real)] {
        let report = compare_runs(a, b);
        let _ = (report.to_table(), report.to_json(), report.passed());
    }
    let sims = vec![sim.clone(); simrq::compare::MIN_ENVELOPE_SEEDS];
    let report = compare_envelope(real, &sims, EnvelopeTolerances::default());
    let _ = (report.to_table(), report.to_json());
}

#[test]
fn compare_readers_on_arbitrary_bytes() {
    let bytes = || prop::collection::vec(any::<u8>(), 0..400);
    campaign("compare bytes", (bytes(), bytes()), |(events, jobs)| {
        RunData::parse(("events.csv", &events), ("jobs.csv", &jobs)).is_ok()
    });
    let with_header = |header: &'static str| {
        any::<String>().prop_map(move |body| format!("{header}\n{body}").into_bytes())
    };
    campaign(
        "compare text under a header",
        (with_header(EVENTS_HEADER), with_header(JOBS_HEADER)),
        |(events, jobs)| RunData::parse(("events.csv", &events), ("jobs.csv", &jobs)).is_ok(),
    );
}

#[test]
fn compare_on_well_formed_files_of_arbitrary_values() {
    // One run in four holds values a reader must refuse.
    let run = || {
        prop::bool::weighted(0.25).prop_flat_map(|refused| {
            (
                csv_file(EVENTS_HEADER, events_row(refused)),
                csv_file(JOBS_HEADER, jobs_row(refused)),
            )
        })
    };
    campaign("compare files", (run(), run()), |(real, sim)| {
        let read = |(events, jobs): &(String, String)| {
            RunData::parse(
                ("events.csv", events.as_bytes()),
                ("jobs.csv", jobs.as_bytes()),
            )
        };
        match (read(&real), read(&sim)) {
            (Ok(real), Ok(sim)) => {
                compare_all(&real, &sim);
                true
            }
            _ => false,
        }
    });
}
