//! Just enough x87 80-bit `long double` to add two decimal strings and print the sum as
//! Redis's HINCRBYFLOAT does (`strtold`, `+`, `printf("%.17Lf")`), digit for digit.
//!
//! A value is `mantissa × 2^exponent` with a 64-bit mantissa, rounded to nearest, ties to
//! even, as the x87 unit does. Exact intermediate values live in a small unsigned big integer.

use std::cmp::Ordering;

use crate::redis::arg::Arg;

/// An unsigned big integer, little-endian 32-bit limbs.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Big(Vec<u32>);

impl Big {
    fn from_u128(mut value: u128) -> Big {
        let mut limbs = Vec::new();
        while value > 0 {
            limbs.push(value as u32);
            value >>= 32;
        }
        Big(limbs)
    }

    fn trim(mut self) -> Big {
        while self.0.last() == Some(&0) {
            self.0.pop();
        }
        self
    }

    fn is_zero(&self) -> bool {
        self.0.iter().all(|limb| *limb == 0)
    }

    fn bit_len(&self) -> u32 {
        // Every operation leaves the limbs trimmed: the top limb is nonzero.
        match self.0.last() {
            None => 0,
            Some(top) => (self.0.len() as u32 - 1) * 32 + (32 - top.leading_zeros()),
        }
    }

    fn bit(&self, index: u32) -> bool {
        let limb = (index / 32) as usize;
        limb < self.0.len() && (self.0[limb] >> (index % 32)) & 1 == 1
    }

    /// Whether any of the lowest `count` bits is set.
    fn any_below(&self, count: u32) -> bool {
        let (whole, rest) = ((count / 32) as usize, count % 32);
        let low_limbs = self.0.iter().take(whole).any(|limb| *limb != 0);
        let mask = if rest == 0 { 0 } else { (1u32 << rest) - 1 };
        low_limbs || self.0.get(whole).is_some_and(|limb| limb & mask != 0)
    }

    fn shl(&self, bits: u32) -> Big {
        let (limbs, rest) = ((bits / 32) as usize, bits % 32);
        let mut out = vec![0u32; limbs];
        let mut carry = 0u32;
        for &limb in &self.0 {
            out.push((limb << rest) | carry);
            carry = if rest == 0 { 0 } else { limb >> (32 - rest) };
        }
        out.push(carry);
        Big(out).trim()
    }

    fn shr(&self, bits: u32) -> Big {
        let (limbs, rest) = ((bits / 32) as usize, bits % 32);
        let source = self.0.get(limbs..).unwrap_or(&[]);
        let out = (0..source.len())
            .map(|i| {
                let high = if rest == 0 {
                    0
                } else {
                    source.get(i + 1).map_or(0, |h| h << (32 - rest))
                };
                (source[i] >> rest) | high
            })
            .collect();
        Big(out).trim()
    }

    fn mul_small(&self, factor: u32) -> Big {
        let mut carry = 0u64;
        let mut out: Vec<u32> = self
            .0
            .iter()
            .map(|&limb| {
                let product = limb as u64 * factor as u64 + carry;
                carry = product >> 32;
                product as u32
            })
            .collect();
        out.push(carry as u32);
        Big(out).trim()
    }

    /// Divides in place; returns the remainder.
    fn div_small(&mut self, divisor: u32) -> u32 {
        let mut remainder = 0u64;
        for limb in self.0.iter_mut().rev() {
            let current = (remainder << 32) | *limb as u64;
            *limb = (current / divisor as u64) as u32;
            remainder = current % divisor as u64;
        }
        remainder as u32
    }

    fn add(&self, other: &Big) -> Big {
        let mut out = Vec::new();
        let mut carry = 0u64;
        for i in 0..self.0.len().max(other.0.len()) {
            let sum =
                *self.0.get(i).unwrap_or(&0) as u64 + *other.0.get(i).unwrap_or(&0) as u64 + carry;
            out.push(sum as u32);
            carry = sum >> 32;
        }
        out.push(carry as u32);
        Big(out).trim()
    }

    /// `self - other`, for `self >= other`.
    fn sub(&self, other: &Big) -> Big {
        let mut out = Vec::new();
        let mut borrow = 0i64;
        for i in 0..self.0.len() {
            let mut difference = self.0[i] as i64 - *other.0.get(i).unwrap_or(&0) as i64 - borrow;
            borrow = (difference < 0) as i64;
            if difference < 0 {
                difference += 1 << 32;
            }
            out.push(difference as u32);
        }
        Big(out).trim()
    }

    fn compare(&self, other: &Big) -> Ordering {
        let (a, b) = (&self.0, &other.0);
        a.len()
            .cmp(&b.len())
            .then_with(|| a.iter().rev().cmp(b.iter().rev()))
    }

    fn low_u64(&self) -> u64 {
        self.0.first().copied().unwrap_or(0) as u64
            | (self.0.get(1).copied().unwrap_or(0) as u64) << 32
    }

    fn to_decimal(&self) -> String {
        let mut value = self.clone();
        let mut chunks = Vec::new();
        while !value.is_zero() {
            chunks.push(value.div_small(1_000_000_000));
            value = value.trim();
        }
        let mut text = chunks.pop().map_or("0".to_string(), |top| top.to_string());
        for chunk in chunks.iter().rev() {
            text.push_str(&format!("{chunk:09}"));
        }
        text
    }
}

/// `(-1)^negative × mantissa × 2^exponent`, mantissa below 2^64.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LongDouble {
    negative: bool,
    mantissa: u64,
    exponent: i32,
}

/// Rounds `magnitude × 2^exponent` (plus a nonzero tail below it if `sticky`) to 64 bits.
fn round(negative: bool, magnitude: &Big, exponent: i32, sticky: bool) -> LongDouble {
    let length = magnitude.bit_len();
    if length <= 64 {
        return LongDouble {
            negative,
            mantissa: magnitude.low_u64(),
            exponent,
        };
    }
    let drop = length - 64;
    let top = magnitude.shr(drop).low_u64();
    let half = magnitude.bit(drop - 1);
    let below_half = magnitude.any_below(drop - 1) || sticky;
    round_top(negative, top, exponent + drop as i32, half, below_half)
}

/// [`round`] of a magnitude that fits in 128 bits, without a [`Big`].
fn round_u128(negative: bool, magnitude: u128, exponent: i32, sticky: bool) -> LongDouble {
    let length = 128 - magnitude.leading_zeros();
    if length <= 64 {
        return LongDouble {
            negative,
            mantissa: magnitude as u64,
            exponent,
        };
    }
    let drop = length - 64;
    let top = (magnitude >> drop) as u64;
    let half = (magnitude >> (drop - 1)) & 1 == 1;
    let below_half = magnitude & ((1u128 << (drop - 1)) - 1) != 0 || sticky;
    round_top(negative, top, exponent + drop as i32, half, below_half)
}

/// The top 64 bits `mantissa × 2^exponent` rounded to nearest, ties to even, given the bit
/// below them (`half`) and whether anything further below is set.
fn round_top(
    negative: bool,
    mut mantissa: u64,
    mut exponent: i32,
    half: bool,
    below_half: bool,
) -> LongDouble {
    if half && (below_half || mantissa & 1 == 1) {
        match mantissa.checked_add(1) {
            Some(next) => mantissa = next,
            None => {
                mantissa = 1 << 63;
                exponent += 1;
            }
        }
    }
    LongDouble {
        negative,
        mantissa,
        exponent,
    }
}

/// Bits of precision kept beyond the mantissa while dividing by powers of ten.
const GUARD_BITS: u32 = 160;

/// A plain decimal split into its parts: `±digits / 10^scale`.
#[derive(Clone, Copy, Debug)]
struct Decimal<'a> {
    negative: bool,
    whole: &'a str,
    fraction: &'a str,
    scale: i32,
}

impl<'a> Decimal<'a> {
    /// `-12.5`, `.5`, `3e-5`; `None` for anything else or exponents beyond ±60.
    fn split(text: &'a str) -> Option<Decimal<'a>> {
        let (mantissa, exponent) = match text.split_once(['e', 'E']) {
            Some((m, e)) => (m, e.strip_prefix('+').unwrap_or(e).parse::<i32>().ok()?),
            None => (text, 0),
        };
        let (negative, unsigned) = match mantissa.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, mantissa.strip_prefix('+').unwrap_or(mantissa)),
        };
        let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
        let all_digits = whole
            .bytes()
            .chain(fraction.bytes())
            .all(|b| b.is_ascii_digit());
        if (whole.is_empty() && fraction.is_empty()) || !all_digits || exponent.abs() > 60 {
            return None;
        }
        Some(Decimal {
            negative,
            whole,
            fraction,
            scale: fraction.len() as i32 - exponent,
        })
    }

    /// The value as `strtold` rounds it, in big integers: any size.
    fn exact(self) -> LongDouble {
        let mut digits = Big(Vec::new());
        let text = [self.whole, self.fraction].concat();
        for chunk in text.as_bytes().chunks(9) {
            let chunk_value: u32 = std::str::from_utf8(chunk)
                .expect("ASCII digits")
                .parse()
                .expect("at most nine digits");
            digits = digits
                .mul_small(10u32.pow(chunk.len() as u32))
                .add(&Big::from_u128(chunk_value as u128));
        }
        LongDouble::from_scaled(self.negative, digits, self.scale)
    }

    /// [`Decimal::exact`] in 128-bit arithmetic ([`from_digits`]) when the digits are few (at
    /// most 38), not all zero, and the scale is 0 to 18 (HINCRBYFLOAT's usual operands).
    fn small(self) -> Option<LongDouble> {
        if self.whole.len() + self.fraction.len() > 38 || !(0..=18).contains(&self.scale) {
            return None;
        }
        let digits = (self.whole.bytes().chain(self.fraction.bytes()))
            .fold(0u128, |value, b| value * 10 + u128::from(b - b'0'));
        from_digits(self.negative, digits, self.scale as u32)
    }
}

/// `±digits / 10^scale` rounded to a long double, in 128-bit arithmetic, for a scale of at
/// most 18; `None` for zero digits (a zero's exponent depends on the scale: the exact path
/// keeps that). Rounding the quotient `digits × 2^shift / 10^scale` gives the same value for
/// any shift that leaves it at least 65 bits long; this shift puts the digits' top bit at
/// bit 127, which leaves at least 67 bits after dividing by 10^18 < 2^60.
fn from_digits(negative: bool, digits: u128, scale: u32) -> Option<LongDouble> {
    if digits == 0 {
        return None;
    }
    let shift = digits.leading_zeros();
    let shifted = digits << shift;
    let divisor = 10u128.pow(scale);
    let quotient = shifted / divisor;
    let sticky = shifted - quotient * divisor != 0;
    Some(round_u128(negative, quotient, -(shift as i32), sticky))
}

/// Trailing zeros of 17 fraction digits, and a bare dot, removed; `-0` printed `0`. The
/// digits are written by hand and the text put together in an [`Arg`], inline when short:
/// `format!` of a `u128` and of a zero-padded fraction, then a `String`, cost most of an
/// HINCRBYFLOAT.
fn human(negative: bool, whole: &str, fraction: u64) -> Arg {
    let mut digits = [b'0'; 17];
    let mut rest = fraction;
    for digit in digits.iter_mut().rev() {
        *digit = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
    let kept = digits
        .iter()
        .rposition(|&d| d != b'0')
        .map_or(0, |last| last + 1);
    let sign = if negative && !(whole == "0" && kept == 0) {
        "-"
    } else {
        ""
    };
    let point = if kept > 0 { "." } else { "" };
    let fraction = std::str::from_utf8(&digits[..kept]).expect("ASCII digits");
    Arg::concat(&[sign, whole, point, fraction])
}

/// The digits of `body` (digits, and a point if `has_point`) as an integer; in u64
/// arithmetic when they are at most 19 (a u128 multiplication costs several).
fn plain_digits(body: &[u8], has_point: bool) -> u128 {
    let digits = body.iter().filter(|&&byte| byte != b'.');
    if body.len() - usize::from(has_point) <= 19 {
        u128::from(digits.fold(0u64, |value, b| value * 10 + u64::from(b - b'0')))
    } else {
        digits.fold(0u128, |value, b| value * 10 + u128::from(b - b'0'))
    }
}

/// The decimal digits of `value`, into `buffer`; u64 division where the value allows (a
/// u128 division is a library call).
fn decimal(mut value: u128, buffer: &mut [u8; 39]) -> &str {
    let mut at = buffer.len();
    while value > u128::from(u64::MAX) {
        at -= 1;
        buffer[at] = b'0' + (value % 10) as u8;
        value /= 10;
    }
    let mut small = value as u64;
    loop {
        at -= 1;
        buffer[at] = b'0' + (small % 10) as u8;
        small /= 10;
        if small == 0 {
            break;
        }
    }
    std::str::from_utf8(&buffer[at..]).expect("ASCII digits")
}

impl LongDouble {
    /// Parses a plain decimal (`-12.5`, `.5`, `3e-5`) as `strtold` rounds it; `None` for
    /// anything else (infinities, hex floats) or exponents beyond ±60.
    pub fn parse(text: &str) -> Option<LongDouble> {
        let decimal = Decimal::split(text)?;
        Some(decimal.small().unwrap_or_else(|| decimal.exact()))
    }

    /// [`LongDouble::parse`] of the text RQ's increments and running totals are, `-12.5` or
    /// `7`, in one pass and without splitting: an optional minus, then at most 38 digits with
    /// at most one point, which has digits on both sides and at most 18 after it. `None` for
    /// any other text (which [`LongDouble::parse`] may still take) and for zero. Every text
    /// taken is also a finite float to the `strtod` checks of `numbers::parse_float`: at most
    /// 38 digits stay below 10^38, and a nonzero value is at least 10^-18.
    pub fn parse_plain(text: &str) -> Option<LongDouble> {
        const MAX_DIGITS: usize = 38;
        const MAX_SCALE: usize = 18;
        let (negative, body) = match text.as_bytes() {
            [b'-', rest @ ..] => (true, rest),
            all => (false, all),
        };
        if body.len() > MAX_DIGITS + 1 {
            return None;
        }
        let mut point = None;
        for (at, &byte) in body.iter().enumerate() {
            match byte {
                b'0'..=b'9' => {}
                b'.' if point.is_none() => point = Some(at),
                _ => return None,
            }
        }
        let scale = match point {
            None if !body.is_empty() && body.len() <= MAX_DIGITS => 0,
            Some(at) if at > 0 && at + 1 < body.len() && body.len() - at - 1 <= MAX_SCALE => {
                body.len() - at - 1
            }
            _ => return None,
        };
        from_digits(negative, plain_digits(body, point.is_some()), scale as u32)
    }

    /// `digits / 10^scale`, correctly rounded.
    fn from_scaled(negative: bool, mut digits: Big, scale: i32) -> LongDouble {
        for _ in scale..0 {
            digits = digits.mul_small(10);
        }
        let scale = scale.max(0) as u32;
        let shift = GUARD_BITS + 4 * scale;
        let mut scaled = digits.shl(shift);
        let mut sticky = false;
        let mut left = scale;
        while left > 0 {
            let step = left.min(9);
            sticky |= scaled.div_small(10u32.pow(step)) != 0;
            scaled = scaled.trim();
            left -= step;
        }
        round(negative, &scaled, -(shift as i32), sticky)
    }

    pub fn add(self, other: LongDouble) -> LongDouble {
        self.add_small(other)
            .unwrap_or_else(|| self.add_exact(other))
    }

    /// [`LongDouble::add_exact`] when the exponents are at most 63 apart: both aligned
    /// mantissas stay below 2^127, so their sum fits in 128 bits.
    fn add_small(self, other: LongDouble) -> Option<LongDouble> {
        if (self.exponent - other.exponent).abs() > 63 {
            return None;
        }
        let exponent = self.exponent.min(other.exponent);
        let align = |x: LongDouble| (x.mantissa as u128) << (x.exponent - exponent);
        let (a, b) = (align(self), align(other));
        Some(if self.negative == other.negative {
            round_u128(self.negative, a + b, exponent, false)
        } else if a < b {
            round_u128(other.negative, b - a, exponent, false)
        } else {
            round_u128(self.negative, a - b, exponent, false)
        })
    }

    fn add_exact(self, other: LongDouble) -> LongDouble {
        let exponent = self.exponent.min(other.exponent);
        let align =
            |x: LongDouble| Big::from_u128(x.mantissa as u128).shl((x.exponent - exponent) as u32);
        let (a, b) = (align(self), align(other));
        if self.negative == other.negative {
            return round(self.negative, &a.add(&b), exponent, false);
        }
        match a.compare(&b) {
            Ordering::Less => round(other.negative, &b.sub(&a), exponent, false),
            _ => round(self.negative, &a.sub(&b), exponent, false),
        }
    }

    /// Whether the two exponents are close enough for [`LongDouble::add`] to stay small.
    pub fn addable(self, other: LongDouble) -> bool {
        (self.exponent - other.exponent).abs() < 400
    }

    /// `printf("%.17Lf")` with trailing zeros (and a bare dot) removed and `-0` printed `0`,
    /// as Redis's `ld2string(…, LD_STR_HUMAN)`.
    pub fn to_human(self) -> Arg {
        match self.parts_small() {
            Some((whole, fraction)) => human(self.negative, decimal(whole, &mut [0; 39]), fraction),
            None => {
                let (whole, fraction) = self.parts_exact();
                human(self.negative, &whole.to_decimal(), fraction)
            }
        }
    }

    /// The whole part and the 17 fraction digits rounded half to even, as an integer below
    /// 10^17.
    fn parts_exact(self) -> (Big, u64) {
        let magnitude = Big::from_u128(self.mantissa as u128);
        if self.exponent >= 0 {
            return (magnitude.shl(self.exponent as u32), 0);
        }
        let bits = self.exponent.unsigned_abs();
        let whole = magnitude.shr(bits);
        let fraction = magnitude.sub(&whole.shl(bits));
        let scaled = fraction.mul_small(1_000_000_000).mul_small(100_000_000);
        let quotient = scaled.shr(bits);
        let remainder = scaled.sub(&quotient.shl(bits));
        let half = Big::from_u128(1).shl(bits - 1);
        let round_up = match remainder.compare(&half) {
            Ordering::Greater => true,
            Ordering::Equal => quotient.bit(0),
            Ordering::Less => false,
        };
        let quotient = if round_up {
            quotient.add(&Big::from_u128(1))
        } else {
            quotient
        };
        let limit = Big::from_u128(10u128.pow(17));
        if quotient.compare(&limit) == Ordering::Less {
            (whole, quotient.low_u64())
        } else {
            (
                whole.add(&Big::from_u128(1)),
                quotient.sub(&limit).low_u64(),
            )
        }
    }

    /// [`LongDouble::parts_exact`] in 128-bit arithmetic for exponents from -127 to 64: the
    /// whole part is below 2^128, and the fraction times 10^17 below 2^64 × 2^57.
    fn parts_small(self) -> Option<(u128, u64)> {
        let mantissa = self.mantissa as u128;
        if self.exponent >= 0 {
            return (self.exponent <= 64).then(|| (mantissa << self.exponent, 0));
        }
        let bits = self.exponent.unsigned_abs();
        if bits > 127 {
            return None;
        }
        let whole = mantissa >> bits;
        let scaled = (mantissa - (whole << bits)) * 10u128.pow(17);
        let quotient = scaled >> bits;
        let remainder = scaled - (quotient << bits);
        let round_up = match remainder.cmp(&(1u128 << (bits - 1))) {
            Ordering::Greater => true,
            Ordering::Equal => quotient & 1 == 1,
            Ordering::Less => false,
        };
        let quotient = quotient + u128::from(round_up);
        let limit = 10u128.pow(17);
        Some(if quotient < limit {
            (whole, quotient as u64)
        } else {
            (whole + 1, (quotient - limit) as u64)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{Decimal, LongDouble};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn add(a: &str, b: &str) -> String {
        LongDouble::parse(a)
            .unwrap()
            .add(LongDouble::parse(b).unwrap())
            .to_human()
            .to_string()
    }

    /// The `format!` rendering that `human` and `decimal` replaced, for comparison.
    fn human_by_format(negative: bool, whole: u128, fraction: u64) -> String {
        let mut digits = format!("{fraction:017}");
        digits.truncate(digits.trim_end_matches('0').len());
        let sign = if negative && !(whole == 0 && digits.is_empty()) {
            "-"
        } else {
            ""
        };
        if digits.is_empty() {
            format!("{sign}{whole}")
        } else {
            format!("{sign}{whole}.{digits}")
        }
    }

    #[test]
    fn hand_written_digits_read_as_format_writes_them() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let edges = [
            0,
            1,
            9,
            10,
            u64::MAX as u128,
            u64::MAX as u128 + 1,
            u128::MAX,
        ];
        for round in 0..100_000 {
            let whole = match round % 3 {
                0 => edges[round % edges.len()],
                1 => rng.gen::<u128>() >> rng.gen_range(0..128),
                _ => u128::from(rng.gen::<u64>() >> rng.gen_range(0..64)),
            };
            let fraction = match round % 4 {
                0 => 0,
                1 => rng.gen_range(0..10u64.pow(17)) / 10u64.pow(rng.gen_range(0..17)),
                // Trailing zeros to trim.
                2 => {
                    let step = 10u64.pow(rng.gen_range(0..17));
                    rng.gen_range(0..10u64.pow(17)) / step * step
                }
                _ => rng.gen_range(0..10u64.pow(17)),
            };
            let negative = rng.gen_bool(0.5);
            let text = super::human(negative, super::decimal(whole, &mut [0; 39]), fraction);
            assert_eq!(text, human_by_format(negative, whole, fraction));
        }
    }

    #[test]
    fn sums_print_as_redis_prints_them() {
        assert_eq!(add("0", "12345.678"), "12345.67799999999999994");
        assert_eq!(add("0.1", "0.2"), "0.3");
        assert_eq!(add("10.50", "0.1"), "10.6");
        assert_eq!(add("0", "1e25"), "10000000000000000000000000");
        assert_eq!(add("0", "3.0e-5"), "0.00003");
        assert_eq!(add("1", "-1"), "0");
        assert_eq!(add("-0.5", "0.25"), "-0.25");
        assert_eq!(add("5", "-7.5"), "-2.5");
    }

    fn digits(rng: &mut impl Rng, count: usize) -> String {
        (0..count)
            .map(|_| char::from(b'0' + rng.gen_range(0..10u8)))
            .collect()
    }

    /// A decimal as HINCRBYFLOAT may see it: sign, whole and fraction digits, exponent.
    fn random_decimal(rng: &mut impl Rng) -> String {
        let mut text = String::new();
        if rng.gen_bool(0.3) {
            text.push('-');
        }
        let whole = rng.gen_range(0..22);
        text += &digits(rng, whole);
        let fraction = rng.gen_range(0..22);
        if fraction > 0 || whole == 0 {
            text.push('.');
            text += &digits(rng, fraction.max(1));
        }
        if rng.gen_bool(0.2) {
            text += &format!("e{}", rng.gen_range(-25..25));
        }
        text
    }

    /// Whether the 128-bit path applied (and agreed).
    fn parts_agree(value: LongDouble, context: &str) -> bool {
        let Some((whole, fraction)) = value.parts_small() else {
            return false;
        };
        let (exact_whole, exact_fraction) = value.parts_exact();
        assert_eq!(whole.to_string(), exact_whole.to_decimal(), "{context}");
        assert_eq!(fraction, exact_fraction, "{context}");
        true
    }

    #[test]
    fn the_128_bit_paths_agree_with_the_big_integer_paths() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let mut total = LongDouble::parse("0").unwrap();
        // How often each 128-bit path ran: the comparison must exercise them all.
        let (mut parsed, mut added, mut printed) = (0, 0, 0);
        for _ in 0..100_000 {
            let text = random_decimal(&mut rng);
            let decimal = Decimal::split(&text).expect("a plain decimal");
            let exact = decimal.exact();
            if let Some(small) = decimal.small() {
                assert_eq!(small, exact, "{text}");
                parsed += 1;
            }
            printed += parts_agree(exact, &text) as u32;
            let other = LongDouble::parse(&random_decimal(&mut rng)).unwrap();
            if let Some(sum) = exact.add_small(other) {
                assert_eq!(sum, exact.add_exact(other), "{text} {other:?}");
                added += 1;
            }
            // A running total, as RQ's total_working_time, read back from its own text.
            total = LongDouble::parse(&total.add(exact).to_human()).unwrap();
            printed += parts_agree(total, &text) as u32;
            let random = LongDouble {
                negative: rng.gen_bool(0.5),
                mantissa: rng.gen::<u64>() >> rng.gen_range(0..64),
                exponent: rng.gen_range(-140..70),
            };
            printed += parts_agree(random, &format!("{random:?}")) as u32;
            if let Some(sum) = random.add_small(exact) {
                assert_eq!(sum, random.add_exact(exact), "{random:?} {text}");
            }
        }
        assert!(
            parsed > 30_000 && added > 30_000 && printed > 60_000,
            "{parsed} {added} {printed}"
        );
    }
}
