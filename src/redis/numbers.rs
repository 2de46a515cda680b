//! Numbers as Redis reads and writes them: strict integers (`string2ll`), floats (`strtod`
//! without leading spaces, NaN or overflow), `%.17g` scores and the `%.17Lf` output of
//! HINCRBYFLOAT.

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
    let lower = text.to_ascii_lowercase();
    if value.is_infinite() && !lower.contains("inf") {
        return None;
    }
    if value == 0.0 && mantissa_has_nonzero_digit(&lower) {
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

/// Fractional digits of HINCRBYFLOAT's output (`%.17Lf`).
const FRACTION_DIGITS: u32 = 17;
const FRACTION_SCALE: i128 = 10i128.pow(FRACTION_DIGITS);

/// Adds two decimal strings as HINCRBYFLOAT does and formats the sum as Redis does (`%.17Lf`
/// with trailing zeros removed). Redis computes in x87 long double; this sums exactly in
/// decimal, which gives the same text while both operands and the sum stay below 8 in
/// magnitude with at most 17 decimals (there long double's rounding error is below the 17th
/// decimal). Larger values fall back to f64 and can differ from Redis in the last digits.
/// Returns `None` when the sum is not finite.
pub fn add_float_strings(
    current: f64,
    current_text: &str,
    increment: f64,
    increment_text: &str,
) -> Option<String> {
    if let (Some(a), Some(b)) = (parse_decimal(current_text), parse_decimal(increment_text)) {
        return Some(format_fixed(a + b));
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

/// A plain decimal (`-12.5`, `3e-5`) as an exact count of 1e-17 units, if it fits.
fn parse_decimal(text: &str) -> Option<i128> {
    let lower = text.to_ascii_lowercase();
    let (mantissa, exponent) = match lower.split_once('e') {
        Some((m, e)) => (m, e.strip_prefix('+').unwrap_or(e).parse::<i32>().ok()?),
        None => (lower.as_str(), 0),
    };
    let (negative, unsigned) = match mantissa.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, mantissa.strip_prefix('+').unwrap_or(mantissa)),
    };
    let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    if whole.is_empty() && fraction.is_empty() {
        return None;
    }
    if !whole
        .bytes()
        .chain(fraction.bytes())
        .all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let digits = format!("{whole}{fraction}");
    let digits = digits.trim_start_matches('0');
    if digits.len() > 30 {
        return None;
    }
    let mut units: i128 = if digits.is_empty() {
        0
    } else {
        digits.parse().ok()?
    };
    let shift = exponent + FRACTION_DIGITS as i32 - fraction.len() as i32;
    if shift < 0 {
        let divisor = 10i128.checked_pow(shift.unsigned_abs())?;
        if units % divisor != 0 {
            return None;
        }
        units /= divisor;
    } else {
        units = units.checked_mul(10i128.checked_pow(shift as u32)?)?;
    }
    let limit = 8 * FRACTION_SCALE;
    if units.abs() >= limit {
        return None;
    }
    Some(if negative { -units } else { units })
}

fn format_fixed(units: i128) -> String {
    let sign = if units < 0 { "-" } else { "" };
    let magnitude = units.unsigned_abs();
    let whole = magnitude / FRACTION_SCALE as u128;
    let fraction = magnitude % FRACTION_SCALE as u128;
    if fraction == 0 {
        return if whole == 0 {
            "0".to_string()
        } else {
            format!("{sign}{whole}")
        };
    }
    let fraction = format!("{fraction:017}");
    format!("{sign}{whole}.{}", fraction.trim_end_matches('0'))
}

/// Formats a non-negative blocking timeout in seconds as whole milliseconds, rounded up, the
/// resolution Redis keeps.
pub fn timeout_millis(seconds: f64) -> Option<u64> {
    let millis = (seconds * 1000.0).ceil();
    if !(0.0..=(i64::MAX as f64 / 2.0)).contains(&millis) {
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
