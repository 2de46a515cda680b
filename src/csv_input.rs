//! Reading CSV files the way spreadsheets write them, with the `csv` crate: an optional
//! header row, fields optionally double-quoted (commas, line breaks and `""` for a quote inside
//! the quotes), LF or CRLF line ends, a UTF-8 byte order mark, blank lines skipped. Used by
//! every CSV reader: trace arrivals, `simrq compare`'s events.csv and jobs.csv, and sweep
//! files. Rows are flexible (a ragged row is the caller's to report), and positions are turned
//! into the line numbers an editor shows.

/// A reader over `bytes` that takes every row as a record (no header handling) and allows rows
/// of different lengths.
pub fn reader(bytes: &[u8]) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes)
}

/// The 1-based line on which the record at `position` starts in `bytes`. The `csv` crate's own
/// line count lags after CRLF line ends and blank lines, so the line is counted here from the
/// byte offset, past the line ends the reader had not yet consumed.
pub fn line_at(bytes: &[u8], position: Option<&csv::Position>) -> u64 {
    let Some(position) = position else {
        return 0;
    };
    let mut offset = usize::try_from(position.byte()).map_or(bytes.len(), |o| o.min(bytes.len()));
    while offset < bytes.len() && matches!(bytes[offset], b'\r' | b'\n') {
        offset += 1;
    }
    1 + bytes[..offset].iter().filter(|&&b| b == b'\n').count() as u64
}

/// A reading error located at its line: `label:line: not readable as CSV: …`.
pub fn error_at(label: &str, bytes: &[u8], error: &csv::Error) -> String {
    let line = line_at(bytes, error.position());
    format!("{label}:{line}: not readable as CSV: {error}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<u64> {
        let mut reader = reader(text.as_bytes());
        reader
            .records()
            .map(|r| line_at(text.as_bytes(), r.unwrap().position()))
            .collect()
    }

    #[test]
    fn lines_count_crlf_blank_lines_and_quoted_line_breaks() {
        assert_eq!(lines("a\nb\nc\n"), [1, 2, 3]);
        assert_eq!(lines("a\r\nb\r\nc\r\n"), [1, 2, 3]);
        assert_eq!(lines("a\n\n\r\nb\n\"x\ny\"\nc"), [1, 4, 5, 7]);
        assert_eq!(lines("\u{feff}a\r\n,b\r\n"), [1, 2]);
    }
}
