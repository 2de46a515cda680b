//! Just enough x87 80-bit `long double` to add two decimal strings and print the sum as
//! Redis's HINCRBYFLOAT does (`strtold`, `+`, `printf("%.17Lf")`), digit for digit.
//!
//! A value is `mantissa × 2^exponent` with a 64-bit mantissa, rounded to nearest, ties to
//! even, as the x87 unit does. Exact intermediate values live in a small unsigned big integer.

use std::cmp::Ordering;

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
    let mut mantissa = magnitude.shr(drop).low_u64();
    let half = magnitude.bit(drop - 1);
    let below_half = magnitude.any_below(drop - 1) || sticky;
    let mut exponent = exponent + drop as i32;
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

impl LongDouble {
    /// Parses a plain decimal (`-12.5`, `.5`, `3e-5`) as `strtold` rounds it; `None` for
    /// anything else (infinities, hex floats) or exponents beyond ±60.
    pub fn parse(text: &str) -> Option<LongDouble> {
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
        let mut digits = Big(Vec::new());
        for chunk in [whole, fraction].concat().as_bytes().chunks(9) {
            let chunk_value: u32 = std::str::from_utf8(chunk).ok()?.parse().ok()?;
            digits = digits
                .mul_small(10u32.pow(chunk.len() as u32))
                .add(&Big::from_u128(chunk_value as u128));
        }
        let scale = fraction.len() as i32 - exponent;
        Some(Self::from_scaled(negative, digits, scale))
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
    pub fn to_human(self) -> String {
        let magnitude = Big::from_u128(self.mantissa as u128);
        let (whole, fraction_digits) = if self.exponent >= 0 {
            (magnitude.shl(self.exponent as u32), Big(Vec::new()))
        } else {
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
                (whole, quotient)
            } else {
                (whole.add(&Big::from_u128(1)), quotient.sub(&limit))
            }
        };
        let fraction = format!("{:0>17}", fraction_digits.to_decimal());
        let fraction = fraction.trim_end_matches('0');
        let whole = whole.to_decimal();
        let sign = if self.negative && !(whole == "0" && fraction.is_empty()) {
            "-"
        } else {
            ""
        };
        if fraction.is_empty() {
            format!("{sign}{whole}")
        } else {
            format!("{sign}{whole}.{fraction}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::LongDouble;

    fn add(a: &str, b: &str) -> String {
        LongDouble::parse(a)
            .unwrap()
            .add(LongDouble::parse(b).unwrap())
            .to_human()
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
}
