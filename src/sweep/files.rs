//! The files of a sweep directory: `sweep.csv` (one row per point and seed),
//! `sweep-summary.csv` (one row per point: mean and 95 % CI half-width of each figure),
//! `sweep.json` (the manifest) and `scenario.toml` (the scenario as given), and `merge`.

use std::collections::BTreeMap;
use std::path::Path;

use super::figures::FIGURES;
use super::{Manifest, SweepError, MANIFEST_JSON, SCENARIO_COPY, SWEEP_CSV, SWEEP_SUMMARY_CSV};
use crate::queueing::mean_ci95;
use crate::report::csv::push_row;
use crate::report::OutputDir;

/// One run: a point of the grid with one seed.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub point: usize,
    pub seed: u64,
    /// The point's value of each dimension, as written in `--set`.
    pub values: Vec<String>,
    /// In [`FIGURES`] order; `None` is an empty cell.
    pub figures: Vec<Option<f64>>,
    /// Checks the run failed, `;`-separated.
    pub failed_checks: String,
}

impl Row {
    pub fn figure(&self, name: &str) -> Option<f64> {
        self.figures[super::figures::figure_index(name)]
    }
}

/// A sweep directory read back.
#[derive(Clone, Debug)]
pub struct SweepData {
    pub manifest: Manifest,
    pub scenario_text: String,
    /// Sorted by (point, seed).
    pub rows: Vec<Row>,
}

impl SweepData {
    /// The rows of one point.
    pub fn point_rows(&self, point: usize) -> impl Iterator<Item = &Row> {
        self.rows.iter().filter(move |r| r.point == point)
    }

    /// The points present, ascending.
    pub fn points(&self) -> Vec<usize> {
        let mut points: Vec<usize> = self.rows.iter().map(|r| r.point).collect();
        points.dedup();
        points
    }

    /// Mean and CI half-width of a figure at a point (over the seeds that have it).
    pub fn mean_ci(&self, point: usize, figure: &str) -> Option<(f64, f64)> {
        let values: Vec<f64> = self
            .point_rows(point)
            .filter_map(|r| r.figure(figure))
            .collect();
        mean_ci95(&values)
    }
}

/// A number as a CSV cell: integers without decimals, others with six, NaN as empty.
pub fn cell(value: Option<f64>) -> String {
    match value {
        Some(v) if v.is_finite() && v.fract() == 0.0 && v.abs() < 1e15 => format!("{}", v as i64),
        Some(v) if v.is_finite() => format!("{v:.6}"),
        _ => String::new(),
    }
}

fn header(manifest: &Manifest) -> Vec<String> {
    let mut columns = vec!["point".to_string(), "seed".to_string()];
    columns.extend(manifest.grid.paths().into_iter().map(str::to_string));
    columns
}

fn sweep_csv(manifest: &Manifest, rows: &[Row]) -> String {
    let mut text = String::new();
    let mut columns = header(manifest);
    columns.extend(FIGURES.iter().map(|f| f.to_string()));
    columns.push("failed_checks".to_string());
    push_row(&mut text, columns.iter().map(String::as_str));
    for row in rows {
        let mut fields = vec![row.point.to_string(), row.seed.to_string()];
        fields.extend(row.values.iter().cloned());
        fields.extend(row.figures.iter().map(|v| cell(*v)));
        fields.push(row.failed_checks.clone());
        push_row(&mut text, fields.iter().map(String::as_str));
    }
    text
}

fn summary_csv(data: &SweepData) -> String {
    let mut text = String::new();
    let mut columns = vec!["point".to_string()];
    columns.extend(data.manifest.grid.paths().into_iter().map(str::to_string));
    columns.push("runs".to_string());
    for figure in FIGURES {
        columns.push(format!("{figure}_mean"));
        columns.push(format!("{figure}_ci95"));
    }
    push_row(&mut text, columns.iter().map(String::as_str));
    for point in data.points() {
        let first = data
            .point_rows(point)
            .next()
            .expect("a listed point has rows");
        let mut fields = vec![point.to_string()];
        fields.extend(first.values.iter().cloned());
        fields.push(data.point_rows(point).count().to_string());
        for figure in FIGURES {
            let (mean, half) = data.mean_ci(point, figure).unzip();
            fields.push(cell(mean));
            fields.push(cell(half));
        }
        push_row(&mut text, fields.iter().map(String::as_str));
    }
    text
}

/// Writes the four files of a sweep directory; the summary comes from `sweep.csv` read back.
pub fn write_sweep(
    dir: &OutputDir,
    manifest: &Manifest,
    scenario_text: &str,
    mut rows: Vec<Row>,
) -> Result<SweepData, SweepError> {
    rows.sort_by_key(|r| (r.point, r.seed));
    let manifest_json =
        serde_json::to_string_pretty(manifest).expect("a manifest serializes") + "\n";
    dir.write_bytes(MANIFEST_JSON, manifest_json.as_bytes())?;
    dir.write_bytes(SCENARIO_COPY, scenario_text.as_bytes())?;
    dir.write_bytes(SWEEP_CSV, sweep_csv(manifest, &rows).as_bytes())?;
    let data = read_sweep(dir.path())?;
    dir.write_bytes(SWEEP_SUMMARY_CSV, summary_csv(&data).as_bytes())?;
    Ok(data)
}

fn read_text(path: &Path) -> Result<String, SweepError> {
    std::fs::read_to_string(path)
        .map_err(|e| SweepError::Input(format!("cannot read {}: {e}", path.display())))
}

/// Reads a sweep directory (its manifest, scenario copy and `sweep.csv`).
pub fn read_sweep(dir: &Path) -> Result<SweepData, SweepError> {
    let manifest_path = dir.join(MANIFEST_JSON);
    let manifest: Manifest = serde_json::from_str(&read_text(&manifest_path)?)
        .map_err(|e| SweepError::Input(format!("{}: {e}", manifest_path.display())))?;
    let scenario_text = read_text(&dir.join(SCENARIO_COPY))?;
    let csv_path = dir.join(SWEEP_CSV);
    let rows = parse_rows(&read_text(&csv_path)?, &manifest)
        .map_err(|e| SweepError::Input(format!("{}: {e}", csv_path.display())))?;
    Ok(SweepData {
        manifest,
        scenario_text,
        rows,
    })
}

/// Rows of `sweep.csv`, read as CSV (quoted fields, CRLF line ends, as a spreadsheet saves it);
/// the header row is skipped. Errors give the line.
fn parse_rows(text: &str, manifest: &Manifest) -> Result<Vec<Row>, String> {
    let dimensions = manifest.grid.dimensions.len();
    let expected = 2 + dimensions + FIGURES.len() + 1;
    let bytes = text.as_bytes();
    let mut reader = crate::csv_input::reader(bytes);
    let mut rows = Vec::new();
    for record in reader.records().skip(1) {
        let record = record.map_err(|e| {
            let line = crate::csv_input::line_at(bytes, e.position());
            format!("line {line}: not readable as CSV: {e}")
        })?;
        let line = crate::csv_input::line_at(bytes, record.position());
        let fields: Vec<&str> = record.iter().collect();
        if fields.len() != expected {
            return Err(format!(
                "line {line}: {} fields, expected {expected}",
                fields.len()
            ));
        }
        let bad = |what: &str| format!("line {line}: bad {what}");
        let figures = fields[2 + dimensions..2 + dimensions + FIGURES.len()]
            .iter()
            .map(|f| {
                if f.is_empty() {
                    Ok(None)
                } else {
                    f.parse().map(Some)
                }
            })
            .collect::<Result<_, _>>()
            .map_err(|_| bad("number"))?;
        rows.push(Row {
            point: fields[0].parse().map_err(|_| bad("point"))?,
            seed: fields[1].parse().map_err(|_| bad("seed"))?,
            values: fields[2..2 + dimensions]
                .iter()
                .map(|v| v.to_string())
                .collect(),
            figures,
            failed_checks: fields[expected - 1].to_string(),
        });
    }
    Ok(rows)
}

/// `simrq merge`: the shards' rows into one sweep directory, byte for byte what a sweep on
/// one machine writes. Shards must come from the same scenario, grid, seed and runs, and
/// together hold every point exactly once.
pub fn merge(shards: &[&Path], out: &Path, force: bool) -> Result<SweepData, SweepError> {
    let mut parts = Vec::new();
    for shard in shards {
        parts.push(read_sweep(shard)?);
    }
    let Some(first) = parts.first() else {
        return Err(SweepError::Input(
            "merge: no shard directories given".to_string(),
        ));
    };
    let mut manifest = first.manifest.clone();
    manifest.shard = None;
    let mut rows: BTreeMap<(usize, u64), Row> = BTreeMap::new();
    for (part, path) in parts.iter().zip(shards) {
        let mut theirs = part.manifest.clone();
        theirs.shard = None;
        if theirs != manifest || part.scenario_text != first.scenario_text {
            return Err(SweepError::Input(format!(
                "merge: {} comes from another sweep (scenario, grid, seed or runs differ)",
                path.display()
            )));
        }
        for row in &part.rows {
            if rows.insert((row.point, row.seed), row.clone()).is_some() {
                return Err(SweepError::Input(format!(
                    "merge: point {} seed {} appears in more than one shard",
                    row.point, row.seed
                )));
            }
        }
    }
    check_complete(&manifest, &rows)?;
    let dir = OutputDir::create(out, force)?;
    write_sweep(
        &dir,
        &manifest,
        &first.scenario_text,
        rows.into_values().collect(),
    )
}

fn check_complete(
    manifest: &Manifest,
    rows: &BTreeMap<(usize, u64), Row>,
) -> Result<(), SweepError> {
    let missing: Vec<usize> = (0..manifest.points)
        .filter(|p| (0..manifest.runs).any(|k| !rows.contains_key(&(*p, manifest.seed + k))))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let listed: Vec<String> = missing.iter().take(10).map(usize::to_string).collect();
    Err(SweepError::Input(format!(
        "merge: {} of {} points are missing or incomplete (points {}{}); is a shard missing?",
        missing.len(),
        manifest.points,
        listed.join(", "),
        if missing.len() > 10 { ", …" } else { "" }
    )))
}
