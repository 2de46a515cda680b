//! Virtual time: [`SimTime`] (an instant) and [`SimDuration`] (a span), both integer
//! microseconds, so arithmetic is exact and runs are reproducible bit for bit.
//!
//! Durations are written as people write them: `"250ms"`, `"90s"`, `"10m"`, `"2h"`, `"1.5s"`,
//! `"1d"`, `"500us"`, or a compound such as `"1h30m"`.

use std::fmt;
use std::ops::{Add, AddAssign, Sub};

/// Microseconds in one second.
pub const MICROS_PER_SECOND: u64 = 1_000_000;

/// An instant of virtual time: microseconds since the start of the run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimTime(pub u64);

/// A span of virtual time in microseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimDuration(pub u64);

impl SimTime {
    pub const ZERO: SimTime = SimTime(0);
    pub const MAX: SimTime = SimTime(u64::MAX);

    pub fn from_secs(seconds: u64) -> SimTime {
        SimTime(seconds.saturating_mul(MICROS_PER_SECOND))
    }

    pub fn as_micros(self) -> u64 {
        self.0
    }

    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / MICROS_PER_SECOND as f64
    }

    /// The span from `earlier` to `self`, zero if `earlier` is later.
    pub fn since(self, earlier: SimTime) -> SimDuration {
        SimDuration(self.0.saturating_sub(earlier.0))
    }
}

impl SimDuration {
    pub const ZERO: SimDuration = SimDuration(0);
    pub const MAX: SimDuration = SimDuration(u64::MAX);

    pub const fn from_micros(micros: u64) -> SimDuration {
        SimDuration(micros)
    }

    pub const fn from_millis(millis: u64) -> SimDuration {
        SimDuration(millis * 1_000)
    }

    pub const fn from_secs(seconds: u64) -> SimDuration {
        SimDuration(seconds * MICROS_PER_SECOND)
    }

    /// Rounds to the nearest microsecond; negative and NaN inputs give zero.
    pub fn from_secs_f64(seconds: f64) -> SimDuration {
        if seconds.is_nan() || seconds <= 0.0 {
            return SimDuration::ZERO;
        }
        let micros = (seconds * MICROS_PER_SECOND as f64).round();
        if micros >= u64::MAX as f64 {
            SimDuration::MAX
        } else {
            SimDuration(micros as u64)
        }
    }

    pub fn as_micros(self) -> u64 {
        self.0
    }

    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / MICROS_PER_SECOND as f64
    }

    /// Whole seconds, rounded down.
    pub fn whole_secs(self) -> u64 {
        self.0 / MICROS_PER_SECOND
    }

    pub fn saturating_mul(self, factor: u64) -> SimDuration {
        SimDuration(self.0.saturating_mul(factor))
    }

    /// Parses `"250ms"`, `"90s"`, `"10m"`, `"2h"`, `"1d"`, `"1.5s"`, `"1h30m"`, `"0"`.
    pub fn parse(text: &str) -> Result<SimDuration, DurationError> {
        parse_duration(text)
    }
}

impl Add<SimDuration> for SimTime {
    type Output = SimTime;
    fn add(self, span: SimDuration) -> SimTime {
        SimTime(self.0.saturating_add(span.0))
    }
}

impl AddAssign<SimDuration> for SimTime {
    fn add_assign(&mut self, span: SimDuration) {
        *self = *self + span;
    }
}

impl Sub<SimDuration> for SimTime {
    type Output = SimTime;
    fn sub(self, span: SimDuration) -> SimTime {
        SimTime(self.0.saturating_sub(span.0))
    }
}

impl Add for SimDuration {
    type Output = SimDuration;
    fn add(self, other: SimDuration) -> SimDuration {
        SimDuration(self.0.saturating_add(other.0))
    }
}

impl Sub for SimDuration {
    type Output = SimDuration;
    fn sub(self, other: SimDuration) -> SimDuration {
        SimDuration(self.0.saturating_sub(other.0))
    }
}

impl fmt::Display for SimTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_fixed_seconds(f, self.0)
    }
}

impl fmt::Display for SimDuration {
    /// Shortest exact form in the input syntax: `250ms`, `90s`, `1.5s`, `10m`, `2h`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let micros = self.0;
        for (unit, size) in [("h", 3_600_000_000), ("m", 60_000_000), ("s", 1_000_000)] {
            if micros >= size && micros % size == 0 {
                return write!(f, "{}{}", micros / size, unit);
            }
        }
        if micros % 1_000 == 0 {
            write!(f, "{}ms", micros / 1_000)
        } else {
            write!(f, "{}us", micros)
        }
    }
}

/// Seconds with six fixed decimals, the format every output file uses.
pub fn write_fixed_seconds(f: &mut impl fmt::Write, micros: u64) -> fmt::Result {
    write!(f, "{}.{:06}", micros / MICROS_PER_SECOND, micros % MICROS_PER_SECOND)
}

/// Why a duration string was rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration {text:?}: {reason} (expected e.g. \"250ms\", \"90s\", \"10m\", \"2h\")")]
pub struct DurationError {
    pub text: String,
    pub reason: &'static str,
}

fn parse_duration(text: &str) -> Result<SimDuration, DurationError> {
    let fail = |reason| DurationError { text: text.to_string(), reason };
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(fail("empty"));
    }
    if trimmed == "0" {
        return Ok(SimDuration::ZERO);
    }
    let mut total: u64 = 0;
    let mut rest = trimmed;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| fail("missing unit"))?;
        if number_len == 0 {
            return Err(fail("expected a number"));
        }
        let number: f64 = rest[..number_len].parse().map_err(|_| fail("bad number"))?;
        rest = &rest[number_len..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let unit_micros = unit_size_micros(&rest[..unit_len]).ok_or_else(|| fail("unknown unit"))?;
        rest = &rest[unit_len..];
        let part = (number * unit_micros as f64).round();
        if !part.is_finite() || part >= u64::MAX as f64 / 2.0 {
            return Err(fail("too large"));
        }
        total = total.checked_add(part as u64).ok_or_else(|| fail("too large"))?;
    }
    Ok(SimDuration(total))
}

fn unit_size_micros(unit: &str) -> Option<u64> {
    Some(match unit {
        "us" | "µs" => 1,
        "ms" => 1_000,
        "s" => MICROS_PER_SECOND,
        "m" | "min" => 60 * MICROS_PER_SECOND,
        "h" => 3_600 * MICROS_PER_SECOND,
        "d" => 86_400 * MICROS_PER_SECOND,
        _ => return None,
    })
}

impl<'de> serde::Deserialize<'de> for SimDuration {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        SimDuration::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl serde::Serialize for SimDuration {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl schemars::JsonSchema for SimDuration {
    fn schema_name() -> String {
        "Duration".to_string()
    }

    fn json_schema(_: &mut schemars::gen::SchemaGenerator) -> schemars::schema::Schema {
        let mut schema = schemars::schema::SchemaObject {
            instance_type: Some(schemars::schema::InstanceType::String.into()),
            ..Default::default()
        };
        schema.string().pattern = Some(r"^(0|([0-9]+(\.[0-9]+)?(us|ms|s|m|min|h|d))+)$".into());
        schema.metadata().description = Some("A duration such as \"250ms\", \"90s\", \"10m\", \"2h\"".into());
        schema.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_units_people_write() {
        assert_eq!(SimDuration::parse("250ms").unwrap(), SimDuration::from_millis(250));
        assert_eq!(SimDuration::parse("90s").unwrap(), SimDuration::from_secs(90));
        assert_eq!(SimDuration::parse("10m").unwrap(), SimDuration::from_secs(600));
        assert_eq!(SimDuration::parse("2h").unwrap(), SimDuration::from_secs(7_200));
        assert_eq!(SimDuration::parse("1.5s").unwrap(), SimDuration::from_millis(1_500));
        assert_eq!(SimDuration::parse("1h30m").unwrap(), SimDuration::from_secs(5_400));
        assert_eq!(SimDuration::parse("0.3ms").unwrap(), SimDuration::from_micros(300));
        assert_eq!(SimDuration::parse("0").unwrap(), SimDuration::ZERO);
    }

    #[test]
    fn rejects_malformed_durations() {
        for bad in ["", "10", "s", "10x", "-5s", "1e999s", "ms10", "1..5s"] {
            assert!(SimDuration::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn display_round_trips() {
        for text in ["250ms", "90s", "10m", "2h", "1500ms", "7us"] {
            let parsed = SimDuration::parse(text).unwrap();
            assert_eq!(SimDuration::parse(&parsed.to_string()).unwrap(), parsed);
        }
        assert_eq!(SimDuration::from_secs(90).to_string(), "90s");
    }

    #[test]
    fn times_print_with_six_decimals() {
        assert_eq!(SimTime(1_500_000).to_string(), "1.500000");
        assert_eq!(SimTime(7).to_string(), "0.000007");
    }
}
