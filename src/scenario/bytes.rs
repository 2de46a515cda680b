//! Byte sizes as redis.conf writes them: a number of bytes (`1048576`) or a number with a
//! unit (`"64mb"`). As in Redis, `k`, `m` and `g` are powers of 1000 and `kb`, `mb` and `gb`
//! powers of 1024, in any case.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A size in bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct ByteSize(pub u64);

const UNITS: [(&str, u64); 7] = [
    ("kb", 1 << 10),
    ("mb", 1 << 20),
    ("gb", 1 << 30),
    ("k", 1_000),
    ("m", 1_000_000),
    ("g", 1_000_000_000),
    ("b", 1),
];

impl ByteSize {
    /// Parses `"64mb"`, `"100k"`, `"4096"`; `None` for anything else.
    pub fn parse(text: &str) -> Option<ByteSize> {
        let lower = text.trim().to_ascii_lowercase();
        let (number, multiplier) = UNITS
            .iter()
            .find_map(|(unit, multiplier)| Some((lower.strip_suffix(unit)?, *multiplier)))
            .unwrap_or((&lower, 1));
        let number: u64 = number.trim().parse().ok()?;
        number.checked_mul(multiplier).map(ByteSize)
    }
}

impl fmt::Display for ByteSize {
    /// The largest of kb, mb, gb that divides the size, else bytes.
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let unit = [("gb", 1u64 << 30), ("mb", 1 << 20), ("kb", 1 << 10)]
            .into_iter()
            .find(|(_, multiplier)| self.0 >= *multiplier && self.0 % multiplier == 0);
        match unit {
            Some((unit, multiplier)) => write!(f, "{}{unit}", self.0 / multiplier),
            None => write!(f, "{}", self.0),
        }
    }
}

impl Serialize for ByteSize {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ByteSizeVisitor)
    }
}

struct ByteSizeVisitor;

impl serde::de::Visitor<'_> for ByteSizeVisitor {
    type Value = ByteSize;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a size in bytes (e.g. 1048576) or with a unit (e.g. \"64mb\", \"100k\")")
    }

    fn visit_i64<E: serde::de::Error>(self, bytes: i64) -> Result<ByteSize, E> {
        u64::try_from(bytes)
            .map(ByteSize)
            .map_err(|_| E::custom(format!("{bytes} bytes: expected a size of 0 or more")))
    }

    fn visit_u64<E: serde::de::Error>(self, bytes: u64) -> Result<ByteSize, E> {
        Ok(ByteSize(bytes))
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<ByteSize, E> {
        ByteSize::parse(text).ok_or_else(|| {
            E::custom(format!(
                "{text:?}: expected a size such as \"64mb\", \"512kb\", \"1gb\" or \"100k\" \
                 (k, m, g: powers of 1000; kb, mb, gb: of 1024)"
            ))
        })
    }
}

impl JsonSchema for ByteSize {
    fn schema_name() -> String {
        "ByteSize".to_string()
    }

    fn json_schema(gen: &mut schemars::gen::SchemaGenerator) -> schemars::schema::Schema {
        super::schema::number_or_text::<u64>(gen, r"^\s*[0-9]+\s*([kKmMgG][bB]?|[bB])?\s*$")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_are_rediss() {
        let cases = [
            ("1048576", 1 << 20),
            ("64mb", 64 << 20),
            ("64MB", 64 << 20),
            ("100k", 100_000),
            ("1kb", 1024),
            ("2g", 2_000_000_000),
            ("3gb", 3 << 30),
            (" 7 b ", 7),
        ];
        for (text, bytes) in cases {
            assert_eq!(ByteSize::parse(text), Some(ByteSize(bytes)), "{text}");
        }
        for bad in ["", "mb", "-1mb", "1.5mb", "1tb", "99999999999999999999gb"] {
            assert_eq!(ByteSize::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn sizes_print_in_the_largest_unit_that_divides_them() {
        for (bytes, text) in [(64 << 20, "64mb"), (1536, "1536"), (2048, "2kb"), (0, "0")] {
            assert_eq!(ByteSize(bytes).to_string(), text);
            assert_eq!(ByteSize::parse(text), Some(ByteSize(bytes)));
        }
    }
}
