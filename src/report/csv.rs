//! Small CSV and number-formatting helpers shared by every file writer, so that all outputs
//! quote and format the same way (RFC 4180 quoting; seconds with six fixed decimals).

use std::fmt::Write;

use crate::event::{Digits, JobId};
use crate::sim::SimTime;

/// Appends `field` to `line`, quoted when it holds a comma, a quote or a line break.
pub fn push_field(line: &mut String, field: &str) {
    if !needs_quotes(field.as_bytes()) {
        line.push_str(field);
        return;
    }
    push_quoted(line, field);
}

/// Appends `field` in double quotes, its quotes doubled.
fn push_quoted(line: &mut String, field: &str) {
    line.push('"');
    for c in field.chars() {
        if c == '"' {
            line.push('"');
        }
        line.push(c);
    }
    line.push('"');
}

/// Whether a field holds a comma, a quote or a line break. These are ASCII, which never
/// occurs inside a multi-byte UTF-8 sequence, so the bytes are scanned eight at a time: every
/// cell of every row of `events.csv` comes through here.
#[inline]
pub fn needs_quotes(field: &[u8]) -> bool {
    let Some(last_word) = field.len().checked_sub(8) else {
        return short_needs_quotes(field);
    };
    let word_at = |at: usize| u64::from_le_bytes(field[at..at + 8].try_into().expect("8"));
    let mut at = 0;
    while at < last_word {
        if word_has_special(word_at(at)) {
            return true;
        }
        at += 8;
    }
    // The last eight bytes, overlapping bytes already scanned rather than gathering the
    // remainder byte by byte: looking at a byte twice does not change the answer.
    word_has_special(word_at(last_word))
}

/// [`needs_quotes`] of a field shorter than eight bytes, such as most names: from four bytes
/// on, two overlapping four-byte reads make one word.
#[inline]
fn short_needs_quotes(field: &[u8]) -> bool {
    let len = field.len();
    let word = if len >= 4 {
        let four_at = |at: usize| u32::from_le_bytes(field[at..at + 4].try_into().expect("4"));
        u64::from(four_at(0)) | u64::from(four_at(len - 4)) << 32
    } else {
        // Zero bytes fill the word; they are not special.
        field
            .iter()
            .fold(0u64, |word, &byte| word << 8 | u64::from(byte))
    };
    word_has_special(word)
}

/// Whether one of the eight bytes of `word` is `,`, `"`, `\n` or `\r`.
#[inline]
fn word_has_special(word: u64) -> bool {
    (bytes_equal_to(word, b',')
        | bytes_equal_to(word, b'"')
        | bytes_equal_to(word, b'\n')
        | bytes_equal_to(word, b'\r'))
        & HIGH_BITS
        != 0
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH_BITS: u64 = 0x8080_8080_8080_8080;

/// Non-zero in [`HIGH_BITS`] exactly when a byte of `word` equals `byte`: such a byte is a
/// zero byte of `word ^ (byte in every byte)`, and `(x - 0x01…01) & !x & 0x80…80` is
/// non-zero exactly when `x` has a zero byte.
#[inline]
fn bytes_equal_to(word: u64, byte: u8) -> u64 {
    let x = word ^ (ONES * u64::from(byte));
    x.wrapping_sub(ONES) & !x
}

/// Whether `text` holds a double quote, eight bytes at a time (a quoted cell without one is
/// copied whole).
fn has_quote(text: &[u8]) -> bool {
    let mut words = text.chunks_exact(8);
    let quote_in = |word: u64| bytes_equal_to(word, b'"') & HIGH_BITS != 0;
    let word_of = |chunk: &[u8]| u64::from_le_bytes(chunk.try_into().expect("8"));
    words.by_ref().any(|chunk| quote_in(word_of(chunk))) || words.remainder().contains(&b'"')
}

/// Appends a whole row: fields separated by commas, then a newline.
pub fn push_row<'a>(line: &mut String, fields: impl IntoIterator<Item = &'a str>) {
    for (index, field) in fields.into_iter().enumerate() {
        if index > 0 {
            line.push(',');
        }
        push_field(line, field);
    }
    line.push('\n');
}

/// `micros` as seconds with six fixed decimals (`61.000001`), as
/// `sim::time::write_fixed_seconds` writes them, without the formatting machinery.
#[inline]
fn seconds_text(micros: u64) -> Digits {
    let mut text = Digits::new();
    text.prepend_padded(micros % 1_000_000, 6);
    text.prepend(b'.');
    text.prepend_number(micros / 1_000_000);
    text
}

/// `time` as seconds since the start of the run, six decimals.
pub fn seconds(time: SimTime) -> String {
    seconds_text(time.as_micros()).as_str().to_string()
}

/// A signed span in microseconds as seconds with six decimals (`-0.250000`).
pub fn signed_seconds(micros: i64) -> String {
    let mut text = seconds_text(micros.unsigned_abs());
    if micros < 0 {
        text.prepend(b'-');
    }
    text.as_str().to_string()
}

/// One CSV row built as bytes in a buffer that is reused from row to row: cells are
/// appended with the quoting of [`push_field`], numbers without `write!`, and nothing is
/// checked as UTF-8 again, since every cell comes from a `&str` or is ASCII.
#[derive(Debug, Default)]
pub struct Row {
    bytes: Vec<u8>,
    cells: usize,
    /// Reused by [`Row::text_with`] to hold a cell while it is quoted.
    spare: Vec<u8>,
}

impl Row {
    pub fn with_capacity(capacity: usize) -> Row {
        Row {
            bytes: Vec::with_capacity(capacity),
            cells: 0,
            spare: Vec::new(),
        }
    }

    /// Starts a new row.
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.cells = 0;
    }

    /// The separator before every cell but the first.
    #[inline]
    fn next_cell(&mut self) {
        if self.cells > 0 {
            self.bytes.push(b',');
        }
        self.cells += 1;
    }

    /// A text cell, quoted when it holds a comma, a quote or a line break.
    #[inline]
    pub fn text(&mut self, text: &str) {
        self.next_cell();
        if !needs_quotes(text.as_bytes()) {
            self.bytes.extend_from_slice(text.as_bytes());
            return;
        }
        self.push_quoted(text.as_bytes());
    }

    /// A text cell that `write` appends in place, then quoted if it needs it: the detail of
    /// every `events.csv` row is written this way, with no copy unless it needs quotes.
    pub fn text_with(&mut self, write: impl FnOnce(&mut Vec<u8>)) {
        self.next_cell();
        let start = self.bytes.len();
        write(&mut self.bytes);
        if !needs_quotes(&self.bytes[start..]) {
            return;
        }
        let mut text = std::mem::take(&mut self.spare);
        text.clear();
        text.extend_from_slice(&self.bytes[start..]);
        self.bytes.truncate(start);
        self.push_quoted(&text);
        self.spare = text;
    }

    /// `text` in double quotes, its quotes doubled. Copied a run at a time: the detail of
    /// every `job_created` row is quoted (its retry intervals hold commas) and has no quote.
    fn push_quoted(&mut self, text: &[u8]) {
        self.bytes.push(b'"');
        if !has_quote(text) {
            self.bytes.extend_from_slice(text);
            self.bytes.push(b'"');
            return;
        }
        let mut runs = text.split(|&byte| byte == b'"');
        if let Some(first) = runs.next() {
            self.bytes.extend_from_slice(first);
        }
        for run in runs {
            self.bytes.extend_from_slice(b"\"\"");
            self.bytes.extend_from_slice(run);
        }
        self.bytes.push(b'"');
    }

    /// A cell known to need no quoting (a name made of letters, digits and `_`).
    #[inline]
    pub fn plain(&mut self, text: &str) {
        self.next_cell();
        self.bytes.extend_from_slice(text.as_bytes());
    }

    /// A job id, `j<N>`, which never needs quoting.
    #[inline]
    pub fn job(&mut self, job: JobId) {
        self.next_cell();
        job.push_to(&mut self.bytes);
    }

    pub fn empty(&mut self) {
        self.next_cell();
    }

    #[inline]
    pub fn unsigned(&mut self, value: u64) {
        if value < 10 {
            // Most cells of this kind are one digit (`attempt`, counts in jobs.csv).
            self.next_cell();
            self.bytes.push(b'0' + value as u8);
            return;
        }
        let mut digits = Digits::new();
        digits.prepend_number(value);
        self.next_cell();
        self.bytes.extend_from_slice(digits.as_bytes());
    }

    /// Seconds with six decimals, as [`seconds`] writes them.
    #[inline]
    pub fn seconds(&mut self, micros: u64) {
        self.next_cell();
        self.bytes
            .extend_from_slice(seconds_text(micros).as_bytes());
    }

    /// A signed span, as [`signed_seconds`] writes it.
    pub fn signed_seconds(&mut self, micros: i64) {
        let mut text = seconds_text(micros.unsigned_abs());
        if micros < 0 {
            text.prepend(b'-');
        }
        self.next_cell();
        self.bytes.extend_from_slice(text.as_bytes());
    }

    /// Seconds since the start of the run, or an empty cell.
    pub fn optional_time(&mut self, time: Option<SimTime>) {
        match time {
            Some(time) => self.seconds(time.as_micros()),
            None => self.empty(),
        }
    }

    /// Ends the row with a newline; the bytes are then ready to write.
    pub fn end(&mut self) -> &[u8] {
        self.bytes.push(b'\n');
        &self.bytes
    }
}

/// An optional value, empty when absent.
pub fn optional<T>(value: Option<T>, format: impl Fn(T) -> String) -> String {
    value.map(format).unwrap_or_default()
}

/// An integer as text.
pub fn integer(value: impl std::fmt::Display) -> String {
    let mut text = String::new();
    write!(text, "{value}").expect("writing to a String");
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_only_when_needed() {
        let mut line = String::new();
        push_row(&mut line, ["plain", "a,b", "say \"hi\"", "two\nlines", ""]);
        assert_eq!(line, "plain,\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\",\n");
    }

    /// The word-at-a-time scan agrees with a byte-by-byte one for every special byte at
    /// every position of fields from 0 to 24 bytes, and for every byte value.
    #[test]
    fn the_quoting_scan_finds_every_special_byte() {
        let by_bytes = |field: &[u8]| {
            field
                .iter()
                .any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r'))
        };
        for len in 0..=24 {
            for position in 0..len {
                for byte in 0..=255u8 {
                    let mut field = vec![b'a'; len];
                    field[position] = byte;
                    assert_eq!(needs_quotes(&field), by_bytes(&field), "{field:?}");
                }
            }
        }
        assert!(!needs_quotes("é,ü".replace(',', "").as_bytes()));
        assert!(needs_quotes("worker-0.w1:horse,".as_bytes()));
    }

    #[test]
    fn seconds_have_six_decimals_and_a_sign_when_negative() {
        assert_eq!(seconds(SimTime(1_500_000)), "1.500000");
        assert_eq!(signed_seconds(-250_000), "-0.250000");
        assert_eq!(signed_seconds(61_000_001), "61.000001");
        assert_eq!(seconds(SimTime(0)), "0.000000");
        assert_eq!(seconds(SimTime(u64::MAX)), "18446744073709.551615");
    }

    #[test]
    fn a_row_quotes_as_push_row_does() {
        let fields = ["plain", "a,b", "say \"hi\"", "two\nlines", "", "é,ü"];
        let mut expected = String::new();
        push_row(&mut expected, fields);
        let mut row = Row::default();
        for _ in 0..2 {
            row.clear();
            fields.iter().for_each(|field| row.text(field));
            assert_eq!(row.end(), expected.as_bytes());
        }
        row.clear();
        row.seconds(1_500_000);
        row.signed_seconds(-250_000);
        row.unsigned(42);
        row.optional_time(None);
        row.plain("finished");
        assert_eq!(row.end(), b"1.500000,-0.250000,42,,finished\n");
    }

    #[test]
    fn seconds_match_the_simulation_clock_format() {
        for micros in [0, 7, 999_999, 1_000_000, 86_400_123_456, u64::MAX] {
            let mut expected = String::new();
            crate::sim::time::write_fixed_seconds(&mut expected, micros).unwrap();
            assert_eq!(seconds(SimTime(micros)), expected);
        }
    }
}
