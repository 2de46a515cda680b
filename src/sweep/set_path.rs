//! `--set PATH=VALUE` on a scenario: the value is written into the scenario's TOML value tree
//! and the whole tree is parsed again by [`crate::scenario::parse`], so every value a sweep
//! runs has passed the same validation as a scenario file.
//!
//! Paths follow the file: `run.duration`, `rq.variant`, `checks.max_queue_wait_p99`; arrays of
//! tables are addressed by name (`pods.worker.replicas`, pod groups by `name`) or, for
//! `[[workload]]`, by `name` or queue (`workload.default.arrival.poisson_per_s`); any array also
//! by position (`faults.0.rate`).
//!
//! The tree is the scenario's canonical TOML ([`Scenario::to_toml`]), where every default is
//! written out: a path that exists there has a type, and a value is read as that type
//! (`"2.10"` stays a string for `rq.variant`, `5` becomes `5.0` for a rate).

use toml::Value;

use crate::scenario::Scenario;

/// Applies `path = value` to `scenario` and validates the result; the error names the path.
pub fn apply(scenario: &Scenario, assignments: &[(&str, &str)]) -> Result<Scenario, String> {
    let mut tree: Value = toml::from_str(&scenario.to_toml())
        .map_err(|e| format!("internal: the canonical scenario does not parse: {e}"))?;
    for (path, value) in assignments {
        set(&mut tree, path, value)?;
    }
    let text = toml::to_string(&tree).map_err(|e| format!("--set: cannot write TOML: {e}"))?;
    let label = assignments
        .iter()
        .map(|(p, v)| format!("{p}={v}"))
        .collect::<Vec<_>>()
        .join(" ");
    crate::scenario::parse(&text, &format!("--set {label}")).map_err(|error| format!("{error}"))
}

/// Sets one path in the tree.
pub fn set(tree: &mut Value, path: &str, value: &str) -> Result<(), String> {
    let segments: Vec<&str> = path.split('.').collect();
    let (last, parents) = segments
        .split_last()
        .expect("split yields at least one segment");
    let mut node = tree;
    let mut walked = String::new();
    for segment in parents {
        node = step(node, segment, &walked, path)?;
        walked = join(&walked, segment);
    }
    let table = node
        .as_table_mut()
        .ok_or_else(|| format!("--set {path}: `{walked}` is not a table"))?;
    let typed = match table.get(*last) {
        Some(existing) => typed_like(existing, value)
            .map_err(|message| format!("--set {path}={value}: {message}"))?,
        // An optional key left at its default: the parse below checks the name and type.
        None => parse_free(value),
    };
    table.insert(last.to_string(), typed);
    Ok(())
}

fn join(prefix: &str, segment: &str) -> String {
    if prefix.is_empty() {
        segment.to_string()
    } else {
        format!("{prefix}.{segment}")
    }
}

/// One step down: a table key, or an element of an array of tables by name, queue or index.
fn step<'a>(
    node: &'a mut Value,
    segment: &str,
    walked: &str,
    path: &str,
) -> Result<&'a mut Value, String> {
    match node {
        Value::Table(table) => {
            if !table.contains_key(segment) {
                let keys: Vec<&str> = table.keys().map(String::as_str).collect();
                let place = if walked.is_empty() {
                    "the top level".to_string()
                } else {
                    format!("`{walked}`")
                };
                return Err(format!(
                    "--set {path}: no key `{segment}` in {place}; valid keys: {}",
                    keys.join(", ")
                ));
            }
            Ok(table.get_mut(segment).expect("checked above"))
        }
        Value::Array(items) => {
            let names: Vec<String> = items
                .iter()
                .enumerate()
                .map(|(i, item)| element_name(item, i))
                .collect();
            let position = segment
                .parse::<usize>()
                .ok()
                .filter(|i| *i < items.len())
                .or_else(|| find_by_name(items, segment));
            match position {
                Some(i) => Ok(&mut items[i]),
                None => Err(format!(
                    "--set {path}: `{walked}` has no element `{segment}`; valid: {}",
                    names.join(", ")
                )),
            }
        }
        _ => Err(format!("--set {path}: `{walked}` is a value, not a table")),
    }
}

/// An element's name for messages: its `name`, else its `queue`, else its position.
fn element_name(item: &Value, position: usize) -> String {
    ["name", "queue"]
        .iter()
        .find_map(|key| item.get(key).and_then(Value::as_str))
        .map_or_else(|| position.to_string(), str::to_string)
}

/// The element whose `name` is `segment`, else the first whose `queue` is.
fn find_by_name(items: &[Value], segment: &str) -> Option<usize> {
    let by = |key: &str| {
        items
            .iter()
            .position(|item| item.get(key).and_then(Value::as_str) == Some(segment))
    };
    by("name").or_else(|| by("queue"))
}

/// `value` read as the type of `existing`.
fn typed_like(existing: &Value, value: &str) -> Result<Value, String> {
    let unquoted = value.trim_matches('"');
    match existing {
        Value::String(_) => Ok(Value::String(unquoted.to_string())),
        Value::Integer(_) => value
            .parse::<i64>()
            .map(Value::Integer)
            .map_err(|_| "expected an integer".to_string()),
        Value::Float(_) => value
            .parse::<f64>()
            .map(Value::Float)
            .map_err(|_| "expected a number".to_string()),
        Value::Boolean(_) => value
            .parse::<bool>()
            .map(Value::Boolean)
            .map_err(|_| "expected true or false".to_string()),
        // A table or array, or a value whose type may change (`duration = "1s"` to a
        // distribution): an inline TOML value, else a string.
        _ => Ok(parse_free(value)),
    }
}

/// A TOML value (`5`, `true`, `{ constant = "1s" }`, `["10s"]`), else the text as a string.
fn parse_free(value: &str) -> Value {
    toml::from_str::<toml::Table>(&format!("v = {value}"))
        .ok()
        .and_then(|mut table| table.remove("v"))
        .unwrap_or_else(|| Value::String(value.trim_matches('"').to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Scenario {
        crate::scenario::parse(
            "[[pods]]\nname = \"worker\"\nreplicas = 2\n[[workload]]\nqueue = \"default\"\n",
            "test.toml",
        )
        .unwrap()
    }

    #[test]
    fn sets_pods_by_name_and_workloads_by_queue() {
        let scenario = apply(
            &base(),
            &[
                ("pods.worker.replicas", "7"),
                ("workload.default.arrival.poisson_per_s", "5"),
            ],
        )
        .unwrap();
        assert_eq!(scenario.pods[0].replicas, 7);
        assert_eq!(
            scenario.workload[0].arrival,
            crate::scenario::Arrival::PoissonPerS(5.0)
        );
    }

    #[test]
    fn strings_stay_strings() {
        let scenario = apply(&base(), &[("rq.variant", "2.10")]).unwrap();
        assert_eq!(scenario.rq.variant, crate::scenario::RqVariant::V2_10);
    }

    #[test]
    fn bad_paths_name_the_valid_keys() {
        let error = apply(&base(), &[("pods.wrker.replicas", "3")]).unwrap_err();
        assert!(
            error.contains("pods.wrker.replicas") && error.contains("worker"),
            "{error}"
        );
        let error = apply(&base(), &[("rqq.variant", "2.10")]).unwrap_err();
        assert!(
            error.contains("valid keys") && error.contains("rq"),
            "{error}"
        );
        let error = apply(&base(), &[("pods.worker.replicas", "many")]).unwrap_err();
        assert!(error.contains("integer"), "{error}");
        assert!(apply(&base(), &[("pods.worker.replicaz", "3")]).is_err());
    }
}
