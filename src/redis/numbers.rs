//! Numbers as Redis reads and writes them: strict integers (`string2ll`), floats (`strtod`
//! without leading spaces, NaN or overflow), `%.17g` scores and the `%.17Lf` output of
//! HINCRBYFLOAT.

use crate::redis::long_double::LongDouble;

/// Parses an integer as Redis's `string2ll` does: no sign but `-`, no leading zeros, no spaces.
pub fn parse_int(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    if bytes.is_empty() || bytes.len() > 20 {
        return None;
    }
    if text == "0" {
        return Some(0);
    }
    let digits = text.strip_prefix('-').unwrap_or(text);
    let first = *digits.as_bytes().first()?;
    if !(b'1'..=b'9').contains(&first) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse::<i64>().ok()
}

/// Parses a float as Redis's `string2d`/`string2ld` do: `inf`, `-inf`, `1e3`, `.5` are fine;
/// NaN, leading spaces, trailing junk, overflow to infinity and underflow to zero are not.
pub fn parse_float(text: &str) -> Option<f64> {
    let first = *text.as_bytes().first()?;
    if first.is_ascii_whitespace() {
        return None;
    }
    let value: f64 = text.parse().ok()?;
    if value.is_nan() {
        return None;
    }
    // Only the rare infinite and zero values need the lower-case text.
    if value.is_infinite() && !text.to_ascii_lowercase().contains("inf") {
        return None;
    }
    if value == 0.0 && mantissa_has_nonzero_digit(&text.to_ascii_lowercase()) {
        return None;
    }
    Some(value)
}

fn mantissa_has_nonzero_digit(lower: &str) -> bool {
    let mantissa = lower.split('e').next().unwrap_or("");
    mantissa.bytes().any(|b| (b'1'..=b'9').contains(&b))
}

/// Formats a double as Redis 7.0 replies it (`%.17g`; `inf`, `-inf`).
pub fn format_double(value: f64) -> String {
    if value.is_infinite() {
        return if value > 0.0 { "inf" } else { "-inf" }.to_string();
    }
    if value == 0.0 {
        return if value.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    let scientific = format!("{value:.16e}");
    let (mantissa, exponent) = scientific.split_once('e').unwrap_or((&scientific, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    if !(-4..17).contains(&exponent) {
        let mantissa = trim_fraction_zeros(mantissa);
        let sign = if exponent < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exponent.abs())
    } else {
        let decimals = (16 - exponent) as usize;
        trim_fraction_zeros(&format!("{value:.decimals$}")).to_string()
    }
}

fn trim_fraction_zeros(text: &str) -> &str {
    if !text.contains('.') {
        return text;
    }
    text.trim_end_matches('0').trim_end_matches('.')
}

/// Adds two numbers as HINCRBYFLOAT does and formats the sum as Redis does (`%.17Lf` with
/// trailing zeros removed), emulating x87 long double for plain decimals. Operands that are not
/// plain decimals within ±1e60 (hex floats, `inf`, huge exponents) fall back to f64 and can
/// differ from Redis in the last digits. `None` when the sum is not finite.
pub fn add_float_strings(
    current: f64,
    current_text: &str,
    increment: f64,
    increment_text: &str,
) -> Option<String> {
    if let (Some(a), Some(b)) = (
        LongDouble::parse(current_text),
        LongDouble::parse(increment_text),
    ) {
        if a.addable(b) {
            return Some(a.add(b).to_human());
        }
    }
    let sum = current + increment;
    if !sum.is_finite() {
        return None;
    }
    let text = format!("{sum:.17}");
    let text = trim_fraction_zeros(&text);
    Some(if text == "-0" {
        "0".to_string()
    } else {
        text.to_string()
    })
}

/// A non-negative blocking timeout in seconds as whole milliseconds, rounded up (the
/// resolution Redis keeps); `None` beyond what a 64-bit integer holds.
pub fn timeout_millis(seconds: f64) -> Option<u64> {
    let millis = (seconds * 1000.0).ceil();
    if !(0.0..i64::MAX as f64).contains(&millis) {
        return None;
    }
    Some(millis as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_strict() {
        assert_eq!(parse_int("42"), Some(42));
        assert_eq!(parse_int("-7"), Some(-7));
        assert_eq!(parse_int("0"), Some(0));
        for bad in [
            "",
            "+1",
            "01",
            "-0",
            " 1",
            "1 ",
            "1.0",
            "x",
            "99999999999999999999",
        ] {
            assert_eq!(parse_int(bad), None, "{bad:?}");
        }
        assert_eq!(parse_int("-9223372036854775808"), Some(i64::MIN));
    }

    #[test]
    fn floats_follow_strtod_with_redis_checks() {
        assert_eq!(parse_float("1.5"), Some(1.5));
        assert_eq!(parse_float("-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_float("+inf"), Some(f64::INFINITY));
        assert_eq!(parse_float(".5"), Some(0.5));
        assert_eq!(parse_float("1e3"), Some(1000.0));
        for bad in ["nan", " 1", "1x", "", "1e400", "1e-400"] {
            assert_eq!(parse_float(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn doubles_print_like_percent_17g() {
        assert_eq!(format_double(1.1), "1.1000000000000001");
        assert_eq!(format_double(1e20), "1e+20");
        assert_eq!(format_double(0.0001), "0.0001");
        assert_eq!(format_double(0.00001), "1.0000000000000001e-05");
        assert_eq!(format_double(5.0), "5");
        assert_eq!(format_double(-2.5), "-2.5");
        assert_eq!(format_double(f64::INFINITY), "inf");
        assert_eq!(format_double(1e16), "10000000000000000");
        assert_eq!(format_double(1e17), "1e+17");
    }

    #[test]
    fn float_increments_print_like_redis() {
        let add = |a: &str, b: &str| {
            add_float_strings(a.parse().unwrap(), a, b.parse().unwrap(), b).unwrap()
        };
        assert_eq!(add("0.1", "0.2"), "0.3");
        assert_eq!(add("10.50", "0.1"), "10.6");
        assert_eq!(add("0", "3.0e-5"), "0.00003");
        assert_eq!(add("1", "-1"), "0");
        assert_eq!(add("-0.5", "0.25"), "-0.25");
        assert_eq!(add("100", "0.5"), "100.5");
        assert_eq!(add_float_strings(f64::MAX, "x", f64::MAX, "y"), None);
    }
}
