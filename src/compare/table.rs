//! Reading simrq's CSV outputs (events.csv, jobs.csv) by column name.
//!
//! A small RFC 4180 reader: comma separated, fields optionally double-quoted, `""` inside quotes
//! for a quote, LF or CRLF line ends. That is all simrq and the conformance harness write.

use std::path::Path;

/// One CSV file: its header and rows, with fields looked up by column name.
pub struct CsvTable {
    path: String,
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl CsvTable {
    /// Reads `path`; errors name the file.
    pub fn read(path: &Path) -> Result<CsvTable, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|error| format!("{}: cannot read: {error}", path.display()))?;
        Self::parse(&path.display().to_string(), &text)
    }

    /// Parses CSV text; `path` is used in error messages only.
    pub fn parse(path: &str, text: &str) -> Result<CsvTable, String> {
        let mut records = split_records(text).map_err(|error| format!("{path}: {error}"))?;
        if records.is_empty() {
            return Err(format!("{path}: empty file, expected a header line"));
        }
        let header = records.remove(0);
        for (number, row) in records.iter().enumerate() {
            if row.len() != header.len() {
                return Err(format!(
                    "{path}: row {} has {} fields, the header has {}",
                    number + 2,
                    row.len(),
                    header.len()
                ));
            }
        }
        Ok(CsvTable {
            path: path.to_string(),
            header,
            rows: records,
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

    /// Parses field `column` of row `row` as a number; empty gives `None`.
    pub fn number(&self, row: usize, column: usize) -> Result<Option<f64>, String> {
        let field = self.rows[row][column].trim();
        if field.is_empty() {
            return Ok(None);
        }
        field.parse::<f64>().map(Some).map_err(|_| {
            format!(
                "{}: row {}, column `{}`: expected a number, got `{field}`",
                self.path,
                row + 2,
                self.header[column]
            )
        })
    }
}

fn split_records(text: &str) -> Result<Vec<Vec<String>>, String> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, _) => field.push(c),
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') if chars.peek() == Some(&'\n') => {}
            (false, '\n') => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            (false, _) => field.push(c),
        }
    }
    if quoted {
        return Err("unterminated quoted field".to_string());
    }
    if !field.is_empty() || !record.is_empty() {
        record.push(field);
        records.push(record);
    }
    Ok(records)
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
        assert!(error.contains("row 2 has 1 fields"), "{error}");
    }

    #[test]
    fn numbers_and_empty_fields() {
        let table = CsvTable::parse("t.csv", "x\n1.5\n\nnope\n").unwrap();
        assert_eq!(table.rows().len(), 3);
        assert_eq!(table.number(0, 0).unwrap(), Some(1.5));
        assert_eq!(table.number(1, 0).unwrap(), None);
        assert!(table.number(2, 0).is_err());
    }
}
