//! Rates of random events, written as people say them: `"1/h"`, `"3/d"`, `"0.5/m"`, `"20/s"`.

use std::fmt;

/// Events per second, parsed from `"<count>/<unit>"` with unit `s`, `m`, `h` or `d`.
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd)]
pub struct Rate {
    pub per_second: f64,
}

const UNITS: [(&str, f64); 4] = [("s", 1.0), ("m", 60.0), ("h", 3_600.0), ("d", 86_400.0)];

impl Rate {
    pub fn per_second(per_second: f64) -> Rate {
        Rate { per_second }
    }

    /// Parses `"1/h"`, `"3/d"`, `"0.5/m"`, `"20/s"`; the count must be finite and not negative.
    pub fn parse(text: &str) -> Result<Rate, String> {
        let expected = "expected a rate such as \"1/h\", \"3/d\", \"0.5/m\" or \"20/s\"";
        let (count, unit) = text
            .trim()
            .split_once('/')
            .ok_or_else(|| format!("invalid rate {text:?}: {expected}"))?;
        let count: f64 = count
            .trim()
            .parse()
            .map_err(|_| format!("invalid rate {text:?}: bad count; {expected}"))?;
        if !count.is_finite() || count < 0.0 {
            return Err(format!(
                "invalid rate {text:?}: count must be finite and ≥ 0"
            ));
        }
        let unit = unit.trim();
        let seconds = UNITS
            .iter()
            .find(|(name, _)| *name == unit)
            .map(|(_, seconds)| *seconds)
            .ok_or_else(|| format!("invalid rate {text:?}: unknown unit {unit:?}; {expected}"))?;
        Ok(Rate {
            per_second: count / seconds,
        })
    }

    /// The mean time between events in seconds (infinite for a zero rate).
    pub fn mean_interval_secs(self) -> f64 {
        1.0 / self.per_second
    }
}

impl fmt::Display for Rate {
    /// The smallest unit in which the count is a whole number and parses back exactly.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (unit, seconds) in UNITS.iter() {
            let count = self.per_second * seconds;
            if count.fract() == 0.0 && count / seconds == self.per_second && count < 1e15 {
                return write!(f, "{count}/{unit}");
            }
        }
        write!(f, "{}/s", self.per_second)
    }
}

impl<'de> serde::Deserialize<'de> for Rate {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Rate::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl serde::Serialize for Rate {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl schemars::JsonSchema for Rate {
    fn schema_name() -> String {
        "Rate".to_string()
    }

    fn json_schema(_: &mut schemars::gen::SchemaGenerator) -> schemars::schema::Schema {
        let mut schema = schemars::schema::SchemaObject {
            instance_type: Some(schemars::schema::InstanceType::String.into()),
            ..Default::default()
        };
        schema.string().pattern = Some(r"^\s*[0-9]+(\.[0-9]+)?\s*/\s*(s|m|h|d)\s*$".into());
        schema.metadata().description =
            Some("Events per unit of time: \"1/h\", \"3/d\", \"0.5/m\", \"20/s\"".into());
        schema.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_unit() {
        assert_eq!(Rate::parse("1/h").unwrap().per_second, 1.0 / 3_600.0);
        assert_eq!(Rate::parse("3/d").unwrap().per_second, 3.0 / 86_400.0);
        assert_eq!(Rate::parse("0.5/m").unwrap().per_second, 0.5 / 60.0);
        assert_eq!(Rate::parse("20/s").unwrap().per_second, 20.0);
    }

    #[test]
    fn rejects_malformed_rates() {
        for bad in ["", "1", "1/y", "/h", "-1/h", "inf/s", "NaN/s", "1/", "x/h"] {
            assert!(Rate::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn display_picks_a_whole_count_and_round_trips() {
        for text in ["1/h", "3/d", "0.5/m", "20/s", "7/m", "0/s"] {
            let rate = Rate::parse(text).unwrap();
            assert_eq!(Rate::parse(&rate.to_string()).unwrap(), rate, "{text}");
        }
        assert_eq!(Rate::parse("1/h").unwrap().to_string(), "1/h");
        assert_eq!(Rate::parse("0.5/m").unwrap().to_string(), "30/h");
    }
}
