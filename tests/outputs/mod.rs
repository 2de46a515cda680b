//! Helpers shared by the tests that run shipped scenarios: loading them, running them into a
//! temporary folder, and reading `events.csv` back.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use simrq::run::{run_scenario, RunOptions, RunResult};
use simrq::scenario::Scenario;

/// `scenarios/<name>.toml` in this repository.
pub fn scenario_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(format!("{name}.toml"))
}

pub fn load(name: &str) -> Scenario {
    simrq::scenario::load(&scenario_path(name))
        .unwrap_or_else(|error| panic!("scenarios/{name}.toml: {error}"))
}

/// Runs a shipped scenario with its own seed into `out`; `charts` draws the SVG/PNG files.
pub fn run_into(name: &str, seed: Option<u64>, out: &Path, charts: bool) -> RunResult {
    let scenario = load(name);
    let seed = seed
        .or(scenario.run.seed)
        .expect("shipped scenarios name a seed");
    let mut options = RunOptions::new(seed, out, &format!("scenarios/{name}.toml"));
    options.charts = charts;
    run_scenario(&scenario, &options)
        .unwrap_or_else(|error| panic!("scenarios/{name}.toml seed {seed}: {error}"))
}

/// One row of `events.csv`.
#[derive(Clone, Debug)]
pub struct EventRow {
    pub time_s: f64,
    pub seq: u64,
    pub kind: String,
    pub pod: String,
    pub process: String,
    pub queue: String,
    pub job: String,
    pub attempt: String,
    pub detail: String,
}

impl EventRow {
    /// The value of `key=` in `detail` (parsed by the library's own detail grammar).
    pub fn detail(&self, key: &str) -> Option<String> {
        let pairs = simrq::event::parse_detail(&self.detail)
            .unwrap_or_else(|error| panic!("detail `{}`: {error}", self.detail));
        pairs.into_iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
}

/// Splits one CSV line (RFC 4180 quoting, no line breaks inside fields).
pub fn split_csv_line(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                fields.last_mut().unwrap().push('"');
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(String::new()),
            (c, _) => fields.last_mut().unwrap().push(c),
        }
    }
    fields
}

/// Every row of `<dir>/events.csv`.
pub fn read_events(dir: &Path) -> Vec<EventRow> {
    let text = std::fs::read_to_string(dir.join("events.csv")).expect("events.csv");
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("time_s,seq,kind,pod,process,queue,job,attempt,detail")
    );
    lines
        .map(|line| {
            let f = split_csv_line(line);
            assert_eq!(f.len(), 9, "events.csv row: {line}");
            EventRow {
                time_s: f[0].parse().expect("time_s"),
                seq: f[1].parse().expect("seq"),
                kind: f[2].clone(),
                pod: f[3].clone(),
                process: f[4].clone(),
                queue: f[5].clone(),
                job: f[6].clone(),
                attempt: f[7].clone(),
                detail: f[8].clone(),
            }
        })
        .collect()
}

/// Rows of `kind`.
pub fn of_kind<'a>(events: &'a [EventRow], kind: &str) -> Vec<&'a EventRow> {
    events.iter().filter(|e| e.kind == kind).collect()
}

/// Every row of `<dir>/jobs.csv` as header-named fields.
pub fn read_jobs(dir: &Path) -> Vec<std::collections::BTreeMap<String, String>> {
    let text = std::fs::read_to_string(dir.join("jobs.csv")).expect("jobs.csv");
    let mut lines = text.lines();
    let header = split_csv_line(lines.next().expect("a header"));
    lines
        .map(|line| header.iter().cloned().zip(split_csv_line(line)).collect())
        .collect()
}
