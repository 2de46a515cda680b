//! The sections of a report, each a list of blocks.

use std::path::Path;

use serde::Serialize;

use super::charts::{line_chart, Line, LineChart};
use super::doc::Block;
use super::theory::TheoryCheck;
use super::{short_path, ReportInput};
use crate::report::chart::{lock_timeline_svg, queue_depth_svg};
use crate::scenario::Scenario;
use crate::sweep::{Row, SweepError, WAITED_THRESHOLD_S};

/// A value as inline TOML (`{ poisson_per_s = 5.0 }`), for sentences about the scenario.
pub(crate) fn inline<T: Serialize>(value: &T) -> String {
    toml::Value::try_from(value).map_or_else(|_| "?".to_string(), |v| v.to_string())
}

pub fn opening(input: &ReportInput<'_>, command: &str) -> Vec<Block> {
    let manifest = &input.plan.manifest;
    let last_seed = manifest.seed + manifest.runs - 1;
    vec![
        Block::Heading(1, format!("Capacity report: `{}`", manifest.scenario)),
        Block::Paragraph(format!(
            "{} points × {} seeds ({}..={}) of `{}`, config hash `{}`. Regenerate with `{command}`.",
            manifest.points, manifest.runs, manifest.seed, last_seed, manifest.scenario,
            manifest.config_hash
        )),
        Block::Paragraph(format!(
            "How to read the numbers: each is the mean over a point's seeds ± the half-width of \
             its 95 % confidence interval (Student's t). `point` is the `point` column of \
             `{dir}/sweep.csv` (one row per seed) and `{dir}/sweep-summary.csv`; any row reruns \
             in full with `simrq run` on the scenario with the point's values and `--seed`.",
            dir = input.sweep_dir
        )),
        Block::Paragraph(provenance(&input.plan.base)),
    ]
}

/// Where the scenario's inputs came from (a `[calibration]` table, or a file written by
/// hand), and the host's per-job cost it assumed, which decides the capacity of short jobs.
pub fn provenance(scenario: &Scenario) -> String {
    let (startup, exit) = (&scenario.rq.horse_startup, &scenario.rq.horse_exit);
    let unmeasured = startup.is_zero() && exit.is_zero();
    let cost = format!(
        "`[rq] horse_startup = {}`, `horse_exit = {}`",
        inline(startup),
        inline(exit)
    );
    let Some(calibration) = &scenario.calibration else {
        let whence = if unmeasured {
            "simrq's default of 0 s: not measured, so short jobs' capacity is overstated; \
             `simrq calibrate` measures it"
        } else {
            "as the file sets it"
        };
        return format!(
            "Inputs: written by hand (the scenario has no `[calibration]` table). Host cost \
             per job assumed: {cost}, {whence}."
        );
    };
    let window = match (&calibration.from, &calibration.to) {
        (Some(from), Some(to)) => format!(", jobs enqueued {from} .. {to}"),
        _ => String::new(),
    };
    let jobs = calibration
        .jobs
        .map_or(String::new(), |n| format!(", {n} jobs"));
    let whence = match calibration.host_cost_pairs {
        Some(pairs) if pairs > 0 && !unmeasured => {
            format!("measured from {pairs} back-to-back job pairs of the deployment's workers")
        }
        _ if unmeasured => "simrq's default of 0 s: calibration could not \
             measure it (no worker ran two jobs back to back), so short jobs' capacity is \
             overstated"
            .to_string(),
        _ => "as the file sets it (not measured by calibration)".to_string(),
    };
    format!(
        "Inputs: calibrated by `simrq calibrate` from `{}`{window}{jobs} (the scenario's \
         opening comment gives each fitted value's sample and error). Host cost per job \
         assumed: {cost}, {whence}.",
        calibration.source
    )
}

/// The scenario in sentences, one bullet per part.
pub fn scenario_in_words(input: &ReportInput<'_>) -> Vec<Block> {
    let scenario = &input.plan.base;
    let mut bullets = vec![format!(
        "Run: {} of load, then {} of drain (no arrivals, no faults); samples every {}.",
        scenario.run.duration, scenario.run.drain, scenario.run.sample_interval
    )];
    for pod in &scenario.pods {
        bullets.push(format!(
            "Pods `{}`: {} replicas of `rq worker{}` on queues {}, start delay {}, grace period {}, \
             rollout {}.",
            pod.name,
            pod.replicas,
            if pod.with_scheduler { " --with-scheduler" } else { "" },
            pod.queues.join(", "),
            pod.start_delay,
            pod.termination_grace_period,
            inline(&pod.rollout)
        ));
    }
    for workload in &scenario.workload {
        bullets.push(format!(
            "Workload `{}` on queue `{}`: arrivals `{}`, durations `{}`, fail probability {}, \
             retry `{}`, job timeout {}.",
            workload.label(),
            workload.queue,
            inline(&workload.arrival),
            inline(&workload.duration),
            workload.fail_probability,
            workload.retry.as_ref().map_or("none".to_string(), inline),
            workload
                .job_timeout
                .unwrap_or(scenario.rq.default_job_timeout)
        ));
    }
    if scenario.faults.is_empty() {
        bullets.push("Faults: none.".to_string());
    }
    for fault in &scenario.faults {
        bullets.push(format!("Fault: `{}`.", inline(fault)));
    }
    bullets.push(format!(
        "RQ {} with `[rq]` {}; Redis latency `{}`, client retries {}.",
        inline(&scenario.rq.variant),
        rq_changes(scenario),
        inline(&scenario.redis.latency),
        scenario.redis.client_retries
    ));
    for dimension in &input.plan.manifest.grid.dimensions {
        bullets.push(format!(
            "Varied: `{}` over {}.",
            dimension.path,
            dimension.values.join(", ")
        ));
    }
    vec![
        Block::Heading(2, "The scenario".to_string()),
        Block::Bullets(bullets),
    ]
}

/// The `[rq]` settings that differ from RQ 2.12's defaults, in words.
fn rq_changes(scenario: &Scenario) -> String {
    let ours = toml::Value::try_from(&scenario.rq).ok();
    let defaults = toml::Value::try_from(crate::scenario::RqSpec::default()).ok();
    let (Some(toml::Value::Table(ours)), Some(toml::Value::Table(defaults))) = (ours, defaults)
    else {
        return "?".to_string();
    };
    let changed: Vec<String> = ours
        .iter()
        .filter(|(key, value)| defaults.get(*key) != Some(value))
        .map(|(key, value)| format!("`{key} = {value}`"))
        .collect();
    if changed.is_empty() {
        "at RQ 2.12's defaults".to_string()
    } else {
        format!("at RQ 2.12's defaults except {}", changed.join(", "))
    }
}

/// Every setting with its value, defaults written out.
pub fn assumptions(input: &ReportInput<'_>) -> Vec<Block> {
    vec![
        Block::Heading(2, "Every assumption".to_string()),
        Block::Paragraph(
            "The scenario as simrq ran it, every default written out (RQ 2.12's, redis-py's \
             and Kubernetes' defaults unless the file sets them); the varied keys above \
             override it point by point."
                .to_string(),
        ),
        Block::Code(input.plan.base.to_toml()),
    ]
}

const RESULT_COLUMNS: [(&str, &str, usize); 13] = [
    ("throughput/s", "throughput_per_s", 2),
    ("wait p50 s", "queue_wait_p50_s", 3),
    ("wait p95 s", "queue_wait_p95_s", 3),
    ("wait p99 s", "queue_wait_p99_s", 3),
    ("utilisation", "worker_utilisation", 3),
    ("retry late p50 s", "retry_lateness_p50_s", 2),
    ("retry late p99 s", "retry_lateness_p99_s", 2),
    ("retry late max s", "retry_lateness_max_s", 2),
    ("dup /M jobs", "duplicates_per_million", 1),
    ("lost /M jobs", "lost_per_million", 1),
    ("no live scheduler max s", "longest_scheduler_gap_s", 1),
    ("jobs", "jobs", 0),
    ("failed checks", "checks_passed", 0),
];

pub fn results_table(input: &ReportInput<'_>) -> Vec<Block> {
    let grid = &input.plan.manifest.grid;
    let mut header = vec!["point".to_string()];
    header.extend(grid.paths().iter().map(|p| short_path(p)));
    header.extend(RESULT_COLUMNS.iter().map(|c| c.0.to_string()));
    let mut rows = Vec::new();
    for point in input.data.points() {
        let mut row = vec![point.to_string()];
        row.extend(grid.point(point).values);
        for (_, figure, decimals) in &RESULT_COLUMNS[..RESULT_COLUMNS.len() - 1] {
            row.push(input.cell(point, figure, *decimals));
        }
        let failing = input
            .data
            .point_rows(point)
            .filter(|r| !r.failed_checks.is_empty())
            .count();
        row.push(format!(
            "{failing} of {}",
            input.data.point_rows(point).count()
        ));
        rows.push(row);
    }
    vec![
        Block::Heading(2, "Results per point".to_string()),
        Block::Paragraph(
            "Throughput: jobs finished or failed per second of load. Queue wait: each start − \
             the time the job was last put in its queue. Utilisation: busy workers / live \
             workers over the samples of the load phase. Retry lateness: an interval retry's \
             start − its due time. Per million: per million jobs enqueued. No scheduler: the \
             longest time no scheduler held a queue's lock."
                .to_string(),
        ),
        Block::Table { header, rows },
    ]
}

/// The row the reviewer should look at first: failed checks, then the longest time without a
/// scheduler, then the latest retry, then the largest p99 queue wait.
pub fn worst_row<'a>(rows: impl Iterator<Item = &'a Row>) -> Option<&'a Row> {
    let key = |r: &Row| {
        let value = |f: &str| r.figure(f).unwrap_or(0.0);
        (
            !r.failed_checks.is_empty(),
            value("longest_scheduler_gap_s"),
            value("retry_lateness_max_s"),
            value("queue_wait_p99_s"),
        )
    };
    rows.max_by(|a, b| {
        key(a)
            .partial_cmp(&key(b))
            .unwrap_or(std::cmp::Ordering::Equal)
    })
}

/// Dimensions of `rq.*`: RQ what-if switches, shown as variants.
pub fn variant_dimensions(input: &ReportInput<'_>) -> Vec<usize> {
    input
        .plan
        .manifest
        .grid
        .paths()
        .iter()
        .enumerate()
        .filter(|(_, p)| p.starts_with("rq."))
        .map(|(i, _)| i)
        .collect()
}

/// The points that differ from `point` only in the variant dimensions, in index order.
fn variants_of(input: &ReportInput<'_>, point: usize) -> Vec<usize> {
    let grid = &input.plan.manifest.grid;
    let dims = variant_dimensions(input);
    let reference = grid.point(point).values;
    input
        .data
        .points()
        .into_iter()
        .filter(|&p| {
            let values = grid.point(p).values;
            values
                .iter()
                .zip(&reference)
                .enumerate()
                .all(|(i, (a, b))| dims.contains(&i) || a == b)
        })
        .collect()
}

pub fn charts(input: &ReportInput<'_>, scratch: &Path) -> Result<Vec<Block>, SweepError> {
    let mut blocks = vec![Block::Heading(2, "Charts".to_string())];
    blocks.extend(wait_against_replicas(input));
    let Some(worst) = worst_row(input.data.rows.iter()) else {
        return Ok(blocks);
    };
    let mut lateness_lines = Vec::new();
    for point in variants_of(input, worst.point) {
        let out = scratch.join(format!("p{point}-s{}", worst.seed));
        let (_, result) = crate::sweep::rerun(&input.plan, point, worst.seed, &out, false)?;
        lateness_lines.push(Line {
            label: input.variant_label(point),
            points: result.jobs.retry_lateness.cdf_s(),
        });
        if point == worst.point {
            blocks.extend(worst_seed_charts(input, worst, &result));
        }
    }
    let chart = LineChart {
        title: "Retry lateness (CDF)",
        subtitle: &format!("Interval retries that started at most x seconds after they were due; point {} seed {} and its variants.", worst.point, worst.seed),
        x_title: "lateness (s)",
        y_title: "share of retries",
        steps: true,
        limit: None,
    };
    let lines: Vec<Line> = lateness_lines
        .into_iter()
        .filter(|l| !l.points.is_empty())
        .collect();
    if lines.is_empty() {
        blocks.push(Block::Paragraph(
            "No interval retry ran at the worst point: no lateness CDF.".to_string(),
        ));
    } else {
        blocks.push(Block::Chart {
            name: "retry_lateness_cdf".to_string(),
            caption: format!(
                "Retry lateness CDF, a line per variant (point {} seed {}).",
                worst.point, worst.seed
            ),
            svg: line_chart(&chart, &lines),
        });
    }
    Ok(blocks)
}

fn worst_seed_charts(
    input: &ReportInput<'_>,
    worst: &Row,
    result: &crate::run::RunResult,
) -> Vec<Block> {
    let end = crate::sim::SimTime((result.summary.duration_s * 1e6).round() as u64);
    let where_ = format!(
        "point {} ({}), seed {}",
        worst.point,
        input.point_label(worst.point),
        worst.seed
    );
    vec![
        Block::Paragraph(format!(
            "The worst row of the sweep (failed checks first, then the longest time without a \
             scheduler, then the latest retry): {where_}, rerun."
        )),
        Block::Chart {
            name: "lock_timeline_worst".to_string(),
            caption: format!("Scheduler lock holder over time, {where_}."),
            svg: lock_timeline_svg(&result.gaps),
        },
        Block::Chart {
            name: "queue_depth_worst".to_string(),
            caption: format!("Queue depth over time with faults marked, {where_}."),
            svg: queue_depth_svg(&result.series, &result.faults, end),
        },
    ]
}

/// p99 queue wait against replicas, a line per value of the other dimensions.
fn wait_against_replicas(input: &ReportInput<'_>) -> Vec<Block> {
    let grid = &input.plan.manifest.grid;
    let Some(replicas_dim) = grid.paths().iter().position(|p| p.ends_with(".replicas")) else {
        return Vec::new();
    };
    let mut lines: Vec<Line> = Vec::new();
    for point in input.data.points() {
        let mut values = grid.point(point).values;
        let Ok(replicas) = values.remove(replicas_dim).parse::<f64>() else {
            continue;
        };
        let Some((p99, _)) = input.data.mean_ci(point, "queue_wait_p99_s") else {
            continue;
        };
        let mut names: Vec<String> = grid.paths().iter().map(|p| short_path(p)).collect();
        names.remove(replicas_dim);
        let label: Vec<String> = names
            .iter()
            .zip(&values)
            .map(|(n, v)| format!("{n}={v}"))
            .collect();
        let label = if label.is_empty() {
            "all".to_string()
        } else {
            label.join(", ")
        };
        match lines.iter_mut().find(|l| l.label == label) {
            Some(line) => line.points.push((replicas, p99)),
            None => lines.push(Line {
                label,
                points: vec![(replicas, p99)],
            }),
        }
    }
    for line in &mut lines {
        line.points.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    let limit = input
        .plan
        .base
        .checks
        .max_queue_wait_p99
        .map(|l| (l.as_micros() as f64 / 1e6, format!("SLO {l}")));
    let chart = LineChart {
        title: "p99 queue wait against replicas",
        subtitle: "Mean over seeds of each run's p99 wait from enqueue to start; a line per value of the other dimensions.",
        x_title: "worker replicas",
        y_title: "p99 queue wait (s)",
        steps: false,
        limit,
    };
    vec![Block::Chart {
        name: "queue_wait_p99_vs_replicas".to_string(),
        caption: "p99 queue wait against replicas, a line per arrival rate (sweep-summary.csv, queue_wait_p99_s_mean).".to_string(),
        svg: line_chart(&chart, &lines),
    }]
}

impl ReportInput<'_> {
    /// A point's variant values (`variant=2.10`), or "as written" without variant dimensions.
    pub fn variant_label(&self, point: usize) -> String {
        let grid = &self.plan.manifest.grid;
        let values = grid.point(point).values;
        let label: Vec<String> = variant_dimensions(self)
            .into_iter()
            .map(|i| format!("{}={}", short_path(&grid.dimensions[i].path), values[i]))
            .collect();
        if label.is_empty() {
            "as written".to_string()
        } else {
            label.join(", ")
        }
    }
}

/// The what-if section: the variants of the worst point side by side.
pub fn what_if(input: &ReportInput<'_>) -> Vec<Block> {
    if variant_dimensions(input).is_empty() {
        return Vec::new();
    }
    let Some(worst) = worst_row(input.data.rows.iter()) else {
        return Vec::new();
    };
    let points = variants_of(input, worst.point);
    let mut header = vec!["figure".to_string()];
    header.extend(
        points
            .iter()
            .map(|&p| format!("{} (point {p})", input.variant_label(p))),
    );
    let mut rows = Vec::new();
    for (name, figure, decimals) in &RESULT_COLUMNS[..RESULT_COLUMNS.len() - 1] {
        let mut row = vec![name.to_string()];
        row.extend(points.iter().map(|&p| input.cell(p, figure, *decimals)));
        rows.push(row);
    }
    let mut failing = vec!["runs with failed checks".to_string()];
    failing.extend(points.iter().map(|&p| {
        let rows: Vec<&Row> = input.data.point_rows(p).collect();
        format!(
            "{} of {}",
            rows.iter().filter(|r| !r.failed_checks.is_empty()).count(),
            rows.len()
        )
    }));
    rows.push(failing);
    vec![
        Block::Heading(2, "What if".to_string()),
        Block::Paragraph(format!(
            "The same scenario with each RQ variant, at the other values of point {} ({}); \
             every seed is the same across variants.",
            worst.point,
            input.point_label(worst.point)
        )),
        Block::Table { header, rows },
    ]
}

pub fn theory(check: &TheoryCheck) -> Vec<Block> {
    let queue = check.queue;
    let row = |name: &str, a: &super::theory::Agreement, decimals: usize| {
        vec![
            name.to_string(),
            format!("{:.d$} ± {:.d$}", a.simulated, a.ci95, d = decimals),
            format!("{:.d$}", a.theory, d = decimals),
            if a.agrees() {
                "yes".to_string()
            } else {
                "**NO**".to_string()
            },
        ]
    };
    vec![
        Block::Heading(2, "Checked against queueing theory".to_string()),
        Block::Paragraph(format!(
            "`scenarios/mmc.toml`: an M/M/{c} queue (Poisson arrivals λ = {l}/s, exponential \
             durations μ = {m}/s, {c} workers, no retries, no faults), {runs} seeds from {seed}. \
             Theory is Erlang C; \"waited\" means a wait above {t} ms, compared with P(W > {t} ms). \
             The model {verdict} theory.",
            c = queue.servers,
            l = queue.arrival_per_s,
            m = queue.service_per_s,
            runs = check.runs,
            seed = check.seed,
            t = WAITED_THRESHOLD_S * 1e3,
            verdict = if check.agrees() { "agrees with" } else { "**disagrees with**" }
        )),
        Block::Table {
            header: ["figure", "simulated (mean ± 95 % CI)", "Erlang C", "within CI"].map(String::from).to_vec(),
            rows: vec![
                row("mean queue wait (s)", &check.mean_wait_s, 4),
                row("probability of waiting", &check.probability_of_waiting, 4),
                row("worker utilisation", &check.utilisation, 4),
            ],
        },
    ]
}
