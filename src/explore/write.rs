//! Shrunk scenarios as files a person can read: a header comment (the check, the seed, the
//! replay command, what was removed), then only the keys that differ from their defaults, in
//! the order of the format reference (`[run]`, `[redis]`, `[rq]`, `[[pods]]`, `[[workload]]`,
//! `[[faults]]`, `[checks]`).

use std::path::Path;

use toml::{Table, Value};

use super::Shrunk;
use crate::report::{OutputDir, ReportError};
use crate::scenario::{parse, PodSpec, Scenario, WorkloadSpec};

const SECTIONS: [&str; 7] = ["run", "redis", "rq", "pods", "workload", "faults", "checks"];

/// The scenario as TOML without the keys equal to their defaults; [`Scenario::to_toml`] if
/// that text would not read back to the same scenario.
pub fn minimal_toml(scenario: &Scenario) -> String {
    let (Ok(Value::Table(full)), Ok(Value::Table(defaults))) = (
        Value::try_from(scenario),
        Value::try_from(Scenario::default()),
    ) else {
        return scenario.to_toml();
    };
    let pod_default = Value::try_from(PodSpec::default()).ok();
    let workload_default = Value::try_from(WorkloadSpec::default()).ok();
    let mut text = String::new();
    for section in SECTIONS {
        let Some(value) = full.get(section) else {
            continue;
        };
        let pruned = match (section, value) {
            ("pods", Value::Array(items)) => prune_items(items, pod_default.as_ref()),
            ("workload", Value::Array(items)) => prune_items(items, workload_default.as_ref()),
            (_, Value::Table(table)) => match defaults.get(section) {
                Some(Value::Table(default)) => Value::Table(prune(table, default)),
                _ => value.clone(),
            },
            _ => value.clone(),
        };
        if matches!(&pruned, Value::Table(t) if t.is_empty()) {
            continue;
        }
        let mut one = Table::new();
        one.insert(section.to_string(), pruned);
        let Ok(rendered) = toml::to_string_pretty(&one) else {
            return scenario.to_toml();
        };
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(&rendered);
    }
    match parse(&text, "shrunk.toml") {
        Ok(read_back) if read_back == *scenario => text,
        _ => scenario.to_toml(),
    }
}

/// `table` without the keys whose value equals the one in `default`.
fn prune(table: &Table, default: &Table) -> Table {
    table
        .iter()
        .filter(|(key, value)| default.get(*key) != Some(*value))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect()
}

fn prune_items(items: &[Value], default: Option<&Value>) -> Value {
    let pruned = items
        .iter()
        .map(|item| match (item, default) {
            (Value::Table(table), Some(Value::Table(default))) => {
                Value::Table(prune(table, default))
            }
            _ => item.clone(),
        })
        .collect();
    Value::Array(pruned)
}

/// The text of a shrunk scenario file: the header, then [`minimal_toml`]. `origin` is the
/// explored file as the user named it, `file` the path the text is written to.
pub fn shrunk_file_text(shrunk: &Shrunk, origin: &str, file: &Path) -> String {
    let mut header = vec![
        format!(
            "Smallest scenario found by `simrq explore {origin}` that still fails `{}`.",
            shrunk.check
        ),
        format!("Check: {}", shrunk.check),
        format!("Seed: {}", shrunk.seed),
        format!(
            "Replay: simrq run {} --seed {}",
            file.display(),
            shrunk.seed
        ),
        format!(
            "Violation at {:.6} s: {}",
            shrunk.violation.time_s, shrunk.violation.detail
        ),
        format!(
            "Shrunk from {origin} in {} runs; removed or changed:",
            shrunk.runs
        ),
    ];
    if shrunk.changes.is_empty() {
        header.push("  nothing (no smaller scenario fails it)".to_string());
    }
    header.extend(shrunk.changes.iter().map(|change| format!("  - {change}")));
    let mut text: String = header
        .iter()
        .flat_map(|line| line.lines())
        .map(|line| format!("# {line}\n").replace("# \n", "#\n"))
        .collect();
    text.push_str(&minimal_toml(&shrunk.scenario));
    text
}

/// Writes the shrunk scenario as `<check>.toml` in `dir`; returns the file's path.
pub fn write_shrunk(
    dir: &OutputDir,
    shrunk: &Shrunk,
    origin: &str,
) -> Result<std::path::PathBuf, ReportError> {
    let name = format!("{}.toml", shrunk.check);
    let path = dir.file(&name);
    let text = shrunk_file_text(shrunk, origin, &path);
    dir.write_bytes(&name, text.as_bytes())?;
    Ok(path)
}
