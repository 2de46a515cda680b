//! Reading simrq's CSV outputs (events.csv, jobs.csv) by column name.
//!
//! Read with [`crate::csv_input`], the way spreadsheets and the conformance harness write CSV:
//! a header row, fields optionally double-quoted (commas, line breaks and `""` for a quote
//! inside quotes), LF or CRLF line ends, a UTF-8 byte order mark. Errors give the file and the
//! line.

use std::path::Path;

/// One CSV file: its header and rows, with fields looked up by column name.
pub struct CsvTable {
    path: String,
    header: Vec<String>,
    rows: Vec<Vec<String>>,
    /// The line each row starts on (1-based), for error messages.
    lines: Vec<u64>,
}

impl CsvTable {
    /// Reads `path`; errors name the file.
    pub fn read(path: &Path) -> Result<CsvTable, String> {
        let bytes = std::fs::read(path)
            .map_err(|error| format!("{}: cannot read: {error}", path.display()))?;
        Self::parse_bytes(&path.display().to_string(), &bytes)
    }

    /// Parses CSV text; `path` is used in error messages only.
    pub fn parse(path: &str, text: &str) -> Result<CsvTable, String> {
        Self::parse_bytes(path, text.as_bytes())
    }

    /// Parses the bytes of a CSV file; `path` is used in error messages only.
    pub fn parse_bytes(path: &str, bytes: &[u8]) -> Result<CsvTable, String> {
        let mut reader = crate::csv_input::reader(bytes);
        let mut records = Vec::new();
        let mut lines = Vec::new();
        for record in reader.records() {
            let record = record.map_err(|error| crate::csv_input::error_at(path, bytes, &error))?;
            lines.push(crate::csv_input::line_at(bytes, record.position()));
            records.push(record.iter().map(str::to_string).collect::<Vec<_>>());
        }
        if records.is_empty() {
            return Err(format!("{path}: empty file, expected a header line"));
        }
        let header = records.remove(0);
        lines.remove(0);
        for (row, line) in records.iter().zip(&lines) {
            if row.len() != header.len() {
                return Err(format!(
                    "{path}:{line}: the row has {} fields, the header has {}",
                    row.len(),
                    header.len()
                ));
            }
        }
        Ok(CsvTable {
            path: path.to_string(),
            header,
            rows: records,
            lines,
        })
    }

    /// The index of `name`, or an error naming the file and the missing column.
    pub fn column(&self, name: &str) -> Result<usize, String> {
        self.header
            .iter()
            .position(|column| column == name)
            .ok_or_else(|| format!("{}: missing column `{name}`", self.path))
    }

    pub fn rows(&self) -> &[Vec<String>] {
        &self.rows
    }

    /// `file:line` of row `row`, for error messages.
    pub fn locate(&self, row: usize) -> String {
        format!("{}:{}", self.path, self.lines[row])
    }

    /// Parses field `column` of row `row` as a finite number; empty gives `None`.
    pub fn number(&self, row: usize, column: usize) -> Result<Option<f64>, String> {
        let field = self.rows[row][column].trim();
        if field.is_empty() {
            return Ok(None);
        }
        match field.parse::<f64>() {
            Ok(value) if value.is_finite() => Ok(Some(value)),
            _ => Err(format!(
                "{}: column `{}`: expected a finite number, got `{field}`",
                self.locate(row),
                self.header[column]
            )),
        }
    }

    /// Parses field `column` of row `row` as a whole number >= 0 that fits a u32; empty gives
    /// `None`.
    pub fn count(&self, row: usize, column: usize) -> Result<Option<u32>, String> {
        let field = self.rows[row][column].trim();
        if field.is_empty() {
            return Ok(None);
        }
        let whole = field.parse::<u32>().ok().or_else(|| {
            let value = field.parse::<f64>().ok()?;
            let fits = value.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&value);
            fits.then_some(value as u32)
        });
        whole.map(Some).ok_or_else(|| {
            format!(
                "{}: column `{}`: expected a whole number from 0 to {}, got `{field}`",
                self.locate(row),
                self.header[column],
                u32::MAX
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_quotes_commas_and_crlf() {
        let table = CsvTable::parse("t.csv", "a,b\r\n1,\"x, \"\"y\"\"\"\r\n2,\n").unwrap();
        assert_eq!(table.rows(), &[vec!["1", "x, \"y\""], vec!["2", ""]]);
        assert_eq!(table.column("b").unwrap(), 1);
    }

    #[test]
    fn reports_missing_columns_and_ragged_rows() {
        let table = CsvTable::parse("t.csv", "a,b\n1,2\n").unwrap();
        assert!(table
            .column("c")
            .unwrap_err()
            .contains("missing column `c`"));
        let error = CsvTable::parse("t.csv", "a,b\n1\n").err().unwrap();
        assert!(error.contains("t.csv:2: the row has 1 fields"), "{error}");
    }

    #[test]
    fn numbers_and_empty_fields() {
        let table = CsvTable::parse("t.csv", "x,y\n1.5,a\n,b\n\nnope,c\n").unwrap();
        assert_eq!(table.rows().len(), 3);
        assert_eq!(table.number(0, 0).unwrap(), Some(1.5));
        assert_eq!(table.number(1, 0).unwrap(), None);
        let error = table.number(2, 0).unwrap_err();
        assert!(error.starts_with("t.csv:5: column `x`"), "{error}");
    }

    #[test]
    fn non_finite_numbers_and_bad_counts_are_located_errors() {
        let table = CsvTable::parse("t.csv", "x\nNaN\ninf\n-1\n2.5\n7\n7.0\n").unwrap();
        for row in 0..2 {
            let error = table.number(row, 0).unwrap_err();
            assert!(error.contains("expected a finite number"), "{error}");
        }
        for row in 0..4 {
            let error = table.count(row, 0).unwrap_err();
            assert!(error.contains(&format!("t.csv:{}: ", row + 2)), "{error}");
        }
        assert_eq!(table.count(4, 0).unwrap(), Some(7));
        assert_eq!(table.count(5, 0).unwrap(), Some(7));
    }
}
