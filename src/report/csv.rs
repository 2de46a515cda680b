//! Small CSV and number-formatting helpers shared by every file writer, so that all outputs
//! quote and format the same way (RFC 4180 quoting; seconds with six fixed decimals).

use std::fmt::Write;

use crate::sim::time::write_fixed_seconds;
use crate::sim::SimTime;

/// Appends `field` to `line`, quoted when it holds a comma, a quote or a line break.
pub fn push_field(line: &mut String, field: &str) {
    let needs_quotes = field.contains([',', '"', '\n', '\r']);
    if !needs_quotes {
        line.push_str(field);
        return;
    }
    line.push('"');
    for c in field.chars() {
        if c == '"' {
            line.push('"');
        }
        line.push(c);
    }
    line.push('"');
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

/// `time` as seconds since the start of the run, six decimals.
pub fn seconds(time: SimTime) -> String {
    let mut text = String::new();
    write_fixed_seconds(&mut text, time.as_micros()).expect("writing to a String");
    text
}

/// A signed span in microseconds as seconds with six decimals (`-0.250000`).
pub fn signed_seconds(micros: i64) -> String {
    let mut text = String::new();
    if micros < 0 {
        text.push('-');
    }
    write_fixed_seconds(&mut text, micros.unsigned_abs()).expect("writing to a String");
    text
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

    #[test]
    fn seconds_have_six_decimals_and_a_sign_when_negative() {
        assert_eq!(seconds(SimTime(1_500_000)), "1.500000");
        assert_eq!(signed_seconds(-250_000), "-0.250000");
        assert_eq!(signed_seconds(61_000_001), "61.000001");
    }
}
