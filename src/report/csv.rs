//! Small CSV and number-formatting helpers shared by every file writer, so that all outputs
//! quote and format the same way (RFC 4180 quoting; seconds with six fixed decimals).

use std::fmt::Write;

use crate::event::push_unsigned;
use crate::sim::SimTime;

/// Appends `field` to `line`, quoted when it holds a comma, a quote or a line break.
pub fn push_field(line: &mut String, field: &str) {
    // A byte scan: these are ASCII, which never occurs inside a multi-byte UTF-8 sequence.
    let needs_quotes = field
        .bytes()
        .any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r'));
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

/// Appends `micros` as seconds with six fixed decimals (`61.000001`), as
/// `sim::time::write_fixed_seconds` does, without the formatting machinery.
pub fn push_seconds(line: &mut String, micros: u64) {
    push_unsigned(line, micros / 1_000_000);
    let mut fraction = *b".000000";
    let mut rest = micros % 1_000_000;
    for digit in fraction[1..].iter_mut().rev() {
        *digit = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
    line.push_str(std::str::from_utf8(&fraction).expect("ASCII digits"));
}

/// Appends a signed span in microseconds as seconds with six decimals (`-0.250000`).
pub fn push_signed_seconds(line: &mut String, micros: i64) {
    if micros < 0 {
        line.push('-');
    }
    push_seconds(line, micros.unsigned_abs());
}

/// `time` as seconds since the start of the run, six decimals.
pub fn seconds(time: SimTime) -> String {
    let mut text = String::new();
    push_seconds(&mut text, time.as_micros());
    text
}

/// A signed span in microseconds as seconds with six decimals (`-0.250000`).
pub fn signed_seconds(micros: i64) -> String {
    let mut text = String::new();
    push_signed_seconds(&mut text, micros);
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
        assert_eq!(seconds(SimTime(0)), "0.000000");
        assert_eq!(seconds(SimTime(u64::MAX)), "18446744073709.551615");
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
