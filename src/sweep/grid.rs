//! The grid of a sweep: `--set PATH=VALUES` options, their cartesian product, and the
//! deterministic slices (`--shard I/N`) that scale a sweep out over machines.
//!
//! ```text
//!   --set pods.worker.replicas=2..4 --set workload.default.arrival.poisson_per_s=5,10
//!   point 0: replicas=2 rate=5    point 1: replicas=2 rate=10    point 2: replicas=3 rate=5 …
//!   (the first option varies slowest; shard I of N holds the points with index % N == I)
//! ```

use serde::{Deserialize, Serialize};

/// One `--set` option: a path into the scenario and the values it takes, as written.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dimension {
    pub path: String,
    pub values: Vec<String>,
}

/// Every `--set` option, in the order given.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grid {
    pub dimensions: Vec<Dimension>,
}

/// One point of the grid: its index and one value per dimension.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Point {
    pub index: usize,
    pub values: Vec<String>,
}

/// `--shard I/N`: the I-th (from 0) of N slices.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl Shard {
    /// Parses `I/N` with 0 ≤ I < N (`JOB_COMPLETION_INDEX` and Slurm array ids count from 0).
    pub fn parse(text: &str) -> Result<Shard, String> {
        let usage = || format!("--shard {text}: expected I/N with 0 <= I < N, e.g. 0/4");
        let (index, count) = text.split_once('/').ok_or_else(usage)?;
        let index: usize = index.trim().parse().map_err(|_| usage())?;
        let count: usize = count.trim().parse().map_err(|_| usage())?;
        if count == 0 || index >= count {
            return Err(usage());
        }
        Ok(Shard { index, count })
    }

    /// True when `point` belongs to this slice (round robin, so slices are balanced).
    pub fn holds(&self, point: usize) -> bool {
        point % self.count == self.index
    }
}

impl Dimension {
    /// Parses `PATH=VALUES`: a comma-separated list read as one CSV row (`5,10,20`,
    /// `"2.12","2.10"`; a value holding a comma is quoted whole, with `""` for a quote:
    /// `"{ min = ""1s"", max = ""2s"" }"`) or an inclusive integer range `A..B` with an
    /// optional step `A..B:S`.
    pub fn parse(option: &str) -> Result<Dimension, String> {
        let (path, values) = option.split_once('=').ok_or_else(|| {
            format!("--set {option}: expected PATH=VALUES, e.g. pods.worker.replicas=2..8")
        })?;
        let path = path.trim();
        if path.is_empty() || path.split('.').any(str::is_empty) {
            return Err(format!(
                "--set {option}: the path is empty or has an empty segment"
            ));
        }
        let values =
            parse_values(values.trim()).map_err(|message| format!("--set {option}: {message}"))?;
        Ok(Dimension {
            path: path.to_string(),
            values,
        })
    }
}

fn parse_values(text: &str) -> Result<Vec<String>, String> {
    if let Some(range) = parse_range(text)? {
        return Ok(range);
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let mut record = csv::StringRecord::new();
    let one_row = reader
        .read_record(&mut record)
        .map_err(|e| format!("not a comma-separated list: {e}"))?;
    let values: Vec<String> = record
        .iter()
        .map(|v| v.trim_matches('"').to_string())
        .collect();
    if reader
        .read_record(&mut csv::StringRecord::new())
        .unwrap_or(true)
    {
        return Err("the values span more than one line".to_string());
    }
    if !one_row || values.iter().any(String::is_empty) {
        return Err("a value is empty".to_string());
    }
    Ok(values)
}

/// `A..B` or `A..B:S` (integers, inclusive); `None` when `text` is not a range.
fn parse_range(text: &str) -> Result<Option<Vec<String>>, String> {
    let Some((low, rest)) = text.split_once("..") else {
        return Ok(None);
    };
    let (high, step) = match rest.split_once(':') {
        Some((high, step)) => (high, step),
        None => (rest, "1"),
    };
    let number = |s: &str| {
        s.trim()
            .parse::<i64>()
            .map_err(|_| format!("`{text}` is not a range A..B[:STEP] of integers"))
    };
    let (low, high, step) = (number(low)?, number(high)?, number(step)?);
    if step <= 0 || high < low {
        return Err(format!(
            "`{text}`: the range needs A <= B and a positive step"
        ));
    }
    let values: Vec<String> = (low..=high)
        .step_by(step as usize)
        .map(|v| v.to_string())
        .collect();
    if values.len() > 100_000 {
        return Err(format!("`{text}` has more than 100000 values"));
    }
    Ok(Some(values))
}

impl Grid {
    pub fn parse(options: &[String]) -> Result<Grid, String> {
        let dimensions = options
            .iter()
            .map(|o| Dimension::parse(o))
            .collect::<Result<Vec<_>, _>>()?;
        for (i, dimension) in dimensions.iter().enumerate() {
            if dimensions[..i].iter().any(|d| d.path == dimension.path) {
                return Err(format!("--set {}: the path is set twice", dimension.path));
            }
        }
        Ok(Grid { dimensions })
    }

    /// How many points (1 for an empty grid: the scenario as written).
    pub fn len(&self) -> usize {
        self.dimensions.iter().map(|d| d.values.len()).product()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The points in index order; the first dimension varies slowest.
    pub fn points(&self) -> Vec<Point> {
        (0..self.len()).map(|index| self.point(index)).collect()
    }

    /// The point with this index.
    pub fn point(&self, index: usize) -> Point {
        let mut rest = index;
        let mut values = vec![String::new(); self.dimensions.len()];
        for (slot, dimension) in self.dimensions.iter().enumerate().rev() {
            let count = dimension.values.len();
            values[slot] = dimension.values[rest % count].clone();
            rest /= count;
        }
        Point { index, values }
    }

    pub fn paths(&self) -> Vec<&str> {
        self.dimensions.iter().map(|d| d.path.as_str()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_lists_and_product_order() {
        let grid = Grid::parse(&["a.b=2..4".to_string(), "c=x,y".to_string()]).unwrap();
        assert_eq!(grid.len(), 6);
        let points = grid.points();
        assert_eq!(points[0].values, ["2", "x"]);
        assert_eq!(points[1].values, ["2", "y"]);
        assert_eq!(points[5].values, ["4", "y"]);
        assert_eq!(
            Dimension::parse("a=2..10:4").unwrap().values,
            ["2", "6", "10"]
        );
    }

    #[test]
    fn bad_options_are_explained() {
        assert!(Dimension::parse("replicas")
            .unwrap_err()
            .contains("PATH=VALUES"));
        assert!(Dimension::parse("a=5..2").unwrap_err().contains("A <= B"));
        assert!(Dimension::parse("a=1,,2").unwrap_err().contains("empty"));
        assert!(Dimension::parse("a=").unwrap_err().contains("empty"));
        assert!(Grid::parse(&["a=1".into(), "a=2".into()]).is_err());
    }

    #[test]
    fn shards_partition_the_points() {
        let shards: Vec<Shard> = (0..3)
            .map(|i| Shard::parse(&format!("{i}/3")).unwrap())
            .collect();
        for point in 0..10 {
            assert_eq!(shards.iter().filter(|s| s.holds(point)).count(), 1);
        }
        assert!(Shard::parse("3/3").is_err());
        assert!(Shard::parse("1").is_err());
    }

    #[test]
    fn a_quoted_value_may_hold_commas_and_quotes() {
        let option = r#"workload.default.duration="{ uniform = { min = ""1s"", max = ""2s"" } }", "2.12" ,x"#;
        assert_eq!(
            Dimension::parse(option).unwrap().values,
            [r#"{ uniform = { min = "1s", max = "2s" } }"#, "2.12", "x"]
        );
    }
}
