//! Numbers as Redis reads and writes them: strict integers (`string2ll`), floats (`strtod`
//! without leading spaces, NaN or overflow), `%.17g` scores and the `%.17Lf` output of
//! HINCRBYFLOAT.

use crate::redis::arg::Arg;
use crate::redis::long_double::LongDouble;

/// Parses an integer as Redis's `string2ll` does: no sign but `-`, no leading zeros, no spaces.
/// One pass over the digits, overflow checked as it goes.
pub fn parse_int(text: &str) -> Option<i64> {
    if text == "0" {
        return Some(0);
    }
    let (negative, digits) = match text.as_bytes() {
        [b'-', rest @ ..] => (true, rest),
        all => (false, all),
    };
    if !(b'1'..=b'9').contains(digits.first()?) {
        return None;
    }
    let mut magnitude: u64 = 0;
    for byte in digits {
        let digit = byte.wrapping_sub(b'0');
        if digit > 9 {
            return None;
        }
        magnitude = magnitude.checked_mul(10)?.checked_add(u64::from(digit))?;
    }
    if negative {
        0i64.checked_sub_unsigned(magnitude)
    } else {
        i64::try_from(magnitude).ok()
    }
}

/// Parses a float as Redis's `string2d`/`string2ld` do: `inf`, `-inf`, `1e3`, `.5` are fine;
/// NaN, leading spaces, trailing junk, overflow to infinity and underflow to zero are not.
pub fn parse_float(text: &str) -> Option<f64> {
    if let Some(value) = parse_plain_decimal(text) {
        return Some(value);
    }
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

/// 10^0 … 10^15, each an exact double.
const POWERS_OF_TEN: [f64; 16] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
];

/// The value of a plain decimal of at most 15 digits (`1700000000`, `-2.5`, `0.125`), the
/// scores and increments RQ sends, without the general parser; `None` for any other text.
/// Exact: the digits make an integer below 2^53 and the scale a power of ten below 10^16,
/// both exact doubles, so their one rounded division is the correctly rounded value that
/// `strtod` (and [`str::parse`]) give.
fn parse_plain_decimal(text: &str) -> Option<f64> {
    const MAX_DIGITS: usize = 15;
    let (negative, body) = match text.as_bytes() {
        [b'-', rest @ ..] => (true, rest),
        all => (false, all),
    };
    if body.len() > MAX_DIGITS + 1 {
        return None;
    }
    // One pass: the digits as an integer, and where the point is.
    let (mut digits, mut point) = (0u64, None);
    for (at, &byte) in body.iter().enumerate() {
        match byte {
            b'0'..=b'9' => digits = digits * 10 + u64::from(byte - b'0'),
            b'.' if point.is_none() => point = Some(at),
            _ => return None,
        }
    }
    let fraction_len = match point {
        None if !body.is_empty() && body.len() <= MAX_DIGITS => 0,
        // Digits on both sides of the point.
        Some(at) if at > 0 && at + 1 < body.len() => body.len() - at - 1,
        _ => return None,
    };
    let magnitude = digits as f64 / POWERS_OF_TEN[fraction_len];
    Some(if negative { -magnitude } else { magnitude })
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

/// A HINCRBYFLOAT operand whose text passed [`parse_float`]'s checks.
#[derive(Clone, Copy, Debug)]
pub struct FloatText<'a> {
    text: &'a str,
    value: FloatValue,
}

#[derive(Clone, Copy, Debug)]
enum FloatValue {
    /// A plain decimal ([`LongDouble::parse_plain`]), known to pass without the general parse:
    /// RQ's increments and running totals, nearly every operand.
    Plain(LongDouble),
    /// Any other float.
    Double(f64),
}

impl<'a> FloatText<'a> {
    /// `None` where [`parse_float`] says `None`.
    pub fn parse(text: &'a str) -> Option<FloatText<'a>> {
        let value = match LongDouble::parse_plain(text) {
            Some(plain) => FloatValue::Plain(plain),
            None => FloatValue::Double(parse_float(text)?),
        };
        Some(FloatText { text, value })
    }

    pub fn is_infinite(&self) -> bool {
        matches!(self.value, FloatValue::Double(value) if value.is_infinite())
    }

    fn long_double(&self) -> Option<LongDouble> {
        match self.value {
            FloatValue::Plain(value) => Some(value),
            FloatValue::Double(_) => LongDouble::parse(self.text),
        }
    }

    fn double(&self) -> f64 {
        match self.value {
            FloatValue::Double(value) => value,
            FloatValue::Plain(_) => parse_float(self.text).expect("a plain decimal is a float"),
        }
    }
}

/// Adds two numbers as HINCRBYFLOAT does and formats the sum as Redis does (`%.17Lf` with
/// trailing zeros removed), emulating x87 long double for plain decimals. Operands that are not
/// plain decimals within ±1e60 (hex floats, `inf`, huge exponents) fall back to f64 and can
/// differ from Redis in the last digits. `None` when the sum is not finite.
pub fn add_float_strings(current: &FloatText, increment: &FloatText) -> Option<Arg> {
    if let (Some(a), Some(b)) = (current.long_double(), increment.long_double()) {
        if a.addable(b) {
            return Some(a.add(b).to_human());
        }
    }
    let sum = current.double() + increment.double();
    if !sum.is_finite() {
        return None;
    }
    let text = format!("{sum:.17}");
    let text = trim_fraction_zeros(&text);
    Some(Arg::from(if text == "-0" { "0" } else { text }))
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
    use crate::redis::test_support::Lcg;

    #[test]
    fn integers_are_strict() {
        assert_eq!(parse_int("42"), Some(42));
        assert_eq!(parse_int("9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_int("9223372036854775808"), None);
        assert_eq!(parse_int("-9223372036854775809"), None);
        assert_eq!(parse_int("18446744073709551616"), None);
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
            "-",
            "1-",
            "12a",
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

    /// The plain-decimal path gives what the general parser gives, bit for bit, and leaves
    /// every other form to it.
    #[test]
    fn plain_decimals_parse_as_strtod_does() {
        let mut texts: Vec<String> = [
            "0",
            "-0",
            "0.0",
            "-0.000",
            "7",
            "007",
            "1.5",
            "-2.5",
            "0.1",
            "0.2",
            "0.3",
            "123456789012345",
            "12345678901234.5",
            "0.000000000000001",
            "1700000000",
            "1700000000.123",
            "999999999999999",
            "-999999999999999",
            "3.141592653589793",
        ]
        .iter()
        .map(|t| t.to_string())
        .collect();
        let mut random = Lcg(11);
        for _ in 0..5000 {
            let state = random.step();
            let digits = format!("{}", state >> (state % 40 + 10));
            let point = (state >> 7) as usize % (digits.len() + 1);
            let sign = if state & 1 == 1 { "-" } else { "" };
            texts.push(format!("{sign}{}.{}", &digits[..point], &digits[point..]));
            texts.push(format!("{sign}{digits}"));
        }
        for text in &texts {
            let general = text.parse::<f64>().ok().filter(|v| !v.is_nan());
            if let Some(fast) = parse_plain_decimal(text) {
                assert_eq!(Some(fast.to_bits()), general.map(f64::to_bits), "{text}");
            }
            assert_eq!(
                parse_float(text).map(f64::to_bits),
                general
                    .filter(|v| *v != 0.0 || !mantissa_has_nonzero_digit(text))
                    .map(f64::to_bits),
                "{text}"
            );
        }
        for other in [
            "", "-", ".", "5.", ".5", "-.5", "+1", "1e3", "1.2.3", "1_0", "0x10",
        ] {
            assert_eq!(parse_plain_decimal(other), None, "{other:?}");
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

    /// HINCRBYFLOAT's sum as it was computed before [`FloatText`]: both texts through
    /// [`parse_float`] and the general [`LongDouble::parse`].
    fn add_as_before(a: &str, b: &str) -> Option<String> {
        let (x, y) = (parse_float(a)?, parse_float(b)?);
        if let (Some(p), Some(q)) = (LongDouble::parse(a), LongDouble::parse(b)) {
            if p.addable(q) {
                return Some(p.add(q).to_human().to_string());
            }
        }
        let sum = x + y;
        if !sum.is_finite() {
            return None;
        }
        let text = format!("{sum:.17}");
        let text = trim_fraction_zeros(&text);
        Some(if text == "-0" { "0" } else { text }.to_string())
    }

    /// Texts around the plain-decimal path's limits, and random ones from its alphabet.
    fn operand_texts() -> Vec<String> {
        let mut texts: Vec<String> = [
            "",
            "-",
            ".",
            "0",
            "-0",
            "0.0",
            "-0.000000000000000000",
            "00",
            "007.50",
            "5.",
            ".5",
            "-.5",
            "+5",
            "1e5",
            "1E-5",
            " 1",
            "1 ",
            "1..2",
            "1.2.3",
            "--1",
            "inf",
            "-inf",
            "nan",
            "0x10",
            "0.000000000000000001",
            "0.0000000000000000001",
            "-0.123456789012345678",
            "12.34567800000000001",
            "12345.67799999999999994",
            "9999999999999999999",
            "18446744073709551615",
            "18446744073709551616",
            "99999999999999999999.999999999999999999",
            "99999999999999999999999999999999999999",
            "999999999999999999999999999999999999999",
            "9999999999999999999999999999999999999.9",
            "99999999999999999999999999999999999999.9",
            "1700000000.123456",
        ]
        .iter()
        .map(|t| t.to_string())
        .collect();
        let mut random = Lcg(29);
        let mut next = || random.high();
        for _ in 0..20_000 {
            let length = next() as usize % 42;
            let mut text: String = (0..length)
                .map(|_| match next() % 16 {
                    0 => '.',
                    1 => '-',
                    _ => char::from(b'0' + (next() % 10) as u8),
                })
                .collect();
            // Mostly well formed: a sign, digits and one point.
            if next() % 4 != 0 {
                text.retain(|c| c.is_ascii_digit());
                let point = next() as usize % (text.len() + 1);
                if next() % 3 != 0 {
                    text.insert(point, '.');
                }
                if next() % 3 == 0 {
                    text.insert(0, '-');
                }
            }
            texts.push(text);
        }
        texts
    }

    /// What the plain-decimal path takes, the general parse takes to the same long double
    /// and [`parse_float`] to a finite float; [`FloatText`] takes what [`parse_float`] takes.
    #[test]
    fn plain_operands_agree_with_the_general_parse() {
        let mut plain = 0;
        for text in operand_texts() {
            let checked = parse_float(&text);
            assert_eq!(
                FloatText::parse(&text).is_some(),
                checked.is_some(),
                "{text:?}"
            );
            if let Some(value) = LongDouble::parse_plain(&text) {
                assert_eq!(Some(value), LongDouble::parse(&text), "{text:?}");
                assert!(checked.is_some_and(f64::is_finite), "{text:?}");
                plain += 1;
            }
            if let Some(operand) = FloatText::parse(&text) {
                assert_eq!(operand.is_infinite(), checked.unwrap().is_infinite());
            }
        }
        assert!(plain > 5_000, "{plain}");
    }

    /// Sums of any two operands, and a running total as RQ keeps one, read back from its own
    /// text each time, come out as they did before.
    #[test]
    fn float_sums_are_what_they_were() {
        let texts = operand_texts();
        let operands: Vec<&String> = texts
            .iter()
            .filter(|text| parse_float(text).is_some())
            .collect();
        let mut total = "0".to_string();
        for (i, b) in operands.iter().enumerate() {
            let a = operands[(i * 7919) % operands.len()];
            let new =
                add_float_strings(&FloatText::parse(a).unwrap(), &FloatText::parse(b).unwrap());
            assert_eq!(
                new.map(|sum| sum.to_string()),
                add_as_before(a, b),
                "{a} {b}"
            );
            let increment = if b.len() > 20 { "0.5" } else { b.as_str() };
            let before = add_as_before(&total, increment);
            let sum = add_float_strings(
                &FloatText::parse(&total).unwrap(),
                &FloatText::parse(increment).unwrap(),
            );
            assert_eq!(
                sum.as_ref().map(|s| s.to_string()),
                before,
                "{total} {increment}"
            );
            if let Some(sum) = sum {
                total = sum.to_string();
            }
        }
    }

    #[test]
    fn float_increments_print_like_redis() {
        let add = |a: &str, b: &str| {
            let operand = |text| FloatText::parse(text).unwrap();
            add_float_strings(&operand(a), &operand(b)).unwrap()
        };
        assert_eq!(add("0.1", "0.2"), "0.3");
        assert_eq!(add("10.50", "0.1"), "10.6");
        assert_eq!(add("0", "3.0e-5"), "0.00003");
        assert_eq!(add("1", "-1"), "0");
        assert_eq!(add("-0.5", "0.25"), "-0.25");
        assert_eq!(add("100", "0.5"), "100.5");
        let max = FloatText::parse("1.7976931348623157e308").unwrap();
        assert_eq!(add_float_strings(&max, &max), None);
    }
}
