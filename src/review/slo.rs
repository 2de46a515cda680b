//! The SLO table: each point passes or fails each limit of its scenario's `[checks]`, and the
//! smallest replica count that meets every SLO, for each combination of the other dimensions.
//!
//! A point meets `max_queue_wait_p99` when the mean of its seeds' p99 does; the upper end of the
//! 95 % CI is shown beside it. Limits on counts and maxima (`max_retry_lateness`,
//! `duplicate_executions`, `lost_jobs`) must hold for every seed, and so must the invariant
//! checks (single active scheduler, liveness): one bad seed fails the point.

use std::collections::BTreeMap;

use super::doc::Block;
use super::{short_path, ReportInput};
use crate::scenario::Scenario;

/// One limit's verdict at one point.
struct Verdict {
    name: &'static str,
    pass: bool,
}

fn worst(input: &ReportInput<'_>, point: usize, figure: &str) -> Option<f64> {
    input
        .data
        .point_rows(point)
        .filter_map(|r| r.figure(figure))
        .fold(None, |acc: Option<f64>, v| {
            Some(acc.map_or(v, |a| a.max(v)))
        })
}

fn verdicts(input: &ReportInput<'_>, point: usize, scenario: &Scenario) -> Vec<Verdict> {
    let checks = &scenario.checks;
    let mut verdicts = Vec::new();
    if let Some(limit) = checks.max_queue_wait_p99 {
        let mean = input
            .data
            .mean_ci(point, "queue_wait_p99_s")
            .map_or(0.0, |m| m.0);
        verdicts.push(Verdict {
            name: "queue wait p99",
            pass: mean <= limit.as_micros() as f64 / 1e6,
        });
    }
    if let Some(limit) = checks.max_retry_lateness {
        let max = worst(input, point, "retry_lateness_max_s").unwrap_or(0.0);
        verdicts.push(Verdict {
            name: "retry lateness max",
            pass: max <= limit.as_micros() as f64 / 1e6,
        });
    }
    if let Some(limit) = checks.duplicate_executions {
        let max = worst(input, point, "duplicate_executions").unwrap_or(0.0);
        verdicts.push(Verdict {
            name: "duplicate executions",
            pass: max <= limit as f64,
        });
    }
    if let Some(limit) = checks.lost_jobs {
        let max = worst(input, point, "lost_jobs").unwrap_or(0.0);
        verdicts.push(Verdict {
            name: "lost jobs",
            pass: max <= limit as f64,
        });
    }
    let all_checks = input
        .data
        .point_rows(point)
        .all(|r| r.failed_checks.is_empty());
    verdicts.push(Verdict {
        name: "invariant checks (every seed)",
        pass: all_checks,
    });
    verdicts
}

fn limits_in_words(scenario: &Scenario) -> String {
    let checks = &scenario.checks;
    let mut limits = Vec::new();
    if let Some(limit) = checks.max_queue_wait_p99 {
        limits.push(format!("queue wait p99 ≤ {limit} (mean over seeds)"));
    }
    if let Some(limit) = checks.max_retry_lateness {
        limits.push(format!("retry lateness ≤ {limit} (every seed)"));
    }
    if let Some(limit) = checks.duplicate_executions {
        limits.push(format!("duplicate executions ≤ {limit} (every seed)"));
    }
    if let Some(limit) = checks.lost_jobs {
        limits.push(format!("lost jobs ≤ {limit} (every seed)"));
    }
    limits.push(format!(
        "invariant checks pass in every seed (single active scheduler: {}, liveness: {})",
        checks.single_active_scheduler, checks.liveness
    ));
    limits.join("; ")
}

/// The SLO section.
pub fn slo_section(input: &ReportInput<'_>) -> Vec<Block> {
    let grid = &input.plan.manifest.grid;
    let mut blocks = vec![
        Block::Heading(2, "Service-level objectives".to_string()),
        Block::Paragraph(format!(
            "From `[checks]`: {}.",
            limits_in_words(&input.plan.base)
        )),
    ];
    let mut header = vec!["point".to_string()];
    header.extend(grid.paths().iter().map(|p| short_path(p)));
    let mut rows = Vec::new();
    let mut passing: BTreeMap<usize, bool> = BTreeMap::new();
    for point in input.data.points() {
        let Ok(scenario) = input.plan.scenario_at(&grid.point(point)) else {
            continue;
        };
        let verdicts = verdicts(input, point, &scenario);
        if header.len() == 1 + grid.dimensions.len() {
            header.extend(verdicts.iter().map(|v| v.name.to_string()));
            header.push("all".to_string());
        }
        let all = verdicts.iter().all(|v| v.pass);
        passing.insert(point, all);
        let mut row = vec![point.to_string()];
        row.extend(grid.point(point).values);
        row.extend(verdicts.iter().map(|v| pass_fail(v.pass)));
        row.push(pass_fail(all));
        rows.push(row);
    }
    blocks.push(Block::Table { header, rows });
    blocks.extend(failed_runs(input));
    blocks.extend(smallest_replicas(input, &passing));
    blocks
}

/// Which seeds failed which checks: the rows to rerun first.
fn failed_runs(input: &ReportInput<'_>) -> Vec<Block> {
    const LISTED: usize = 20;
    let failed: Vec<String> = input
        .data
        .rows
        .iter()
        .filter(|r| !r.failed_checks.is_empty())
        .map(|r| {
            format!(
                "point {} seed {}: `{}`",
                r.point,
                r.seed,
                r.failed_checks.replace(';', "`, `")
            )
        })
        .collect();
    if failed.is_empty() {
        return vec![Block::Paragraph(
            "No run failed an invariant check.".to_string(),
        )];
    }
    let mut bullets: Vec<String> = failed.iter().take(LISTED).cloned().collect();
    if failed.len() > LISTED {
        bullets.push(format!(
            "… and {} more (the `failed_checks` column of sweep.csv)",
            failed.len() - LISTED
        ));
    }
    vec![
        Block::Paragraph(format!(
            "Runs that failed a check ({} of {}):",
            failed.len(),
            input.data.rows.len()
        )),
        Block::Bullets(bullets),
    ]
}

fn pass_fail(pass: bool) -> String {
    if pass { "pass" } else { "**FAIL**" }.to_string()
}

/// For each combination of the other dimensions, the smallest replica count whose point
/// meets every SLO.
fn smallest_replicas(input: &ReportInput<'_>, passing: &BTreeMap<usize, bool>) -> Vec<Block> {
    let grid = &input.plan.manifest.grid;
    let Some(replicas_dim) = grid.paths().iter().position(|p| p.ends_with(".replicas")) else {
        return vec![Block::Paragraph(
            "The sweep does not vary a replica count, so there is no smallest one to report."
                .to_string(),
        )];
    };
    let mut best: BTreeMap<Vec<String>, Option<(i64, usize)>> = BTreeMap::new();
    for (&point, &pass) in passing {
        let mut values = grid.point(point).values;
        let replicas: i64 = values.remove(replicas_dim).parse().unwrap_or(i64::MAX);
        let slot = best.entry(values).or_insert(None);
        if pass && slot.is_none_or(|(r, _)| replicas < r) {
            *slot = Some((replicas, point));
        }
    }
    let mut header: Vec<String> = grid.paths().iter().map(|p| short_path(p)).collect();
    header.remove(replicas_dim);
    header.push("smallest replicas meeting every SLO".to_string());
    header.push("point".to_string());
    let rows = best
        .into_iter()
        .map(|(mut values, found)| {
            match found {
                Some((replicas, point)) => values.extend([replicas.to_string(), point.to_string()]),
                None => values.extend(["none in the sweep".to_string(), "–".to_string()]),
            }
            values
        })
        .collect();
    vec![
        Block::Heading(3, "Smallest replica count".to_string()),
        Block::Table { header, rows },
    ]
}
