//! Random durations (job run times, Redis latency) and the "one value or a list" shorthand.

use schemars::JsonSchema;
use serde::de::{
    value::MapAccessDeserializer, value::SeqAccessDeserializer, MapAccess, SeqAccess, Visitor,
};
use serde::{Deserialize, Deserializer, Serialize};

use crate::sim::SimDuration;

/// A distribution of durations, written `{ constant = "100ms" }`,
/// `{ exponential = { mean = "1s" } }`, `{ uniform = { min = "1s", max = "3s" } }` or
/// `{ lognormal = { median = "800ms", p99 = "20s" } }`. Where noted, a plain duration string
/// such as `"0.3ms"` means `{ constant = "0.3ms" }`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Distribution {
    /// Always the same duration.
    Constant(SimDuration),
    /// Memoryless, with the given mean.
    Exponential { mean: SimDuration },
    /// Every duration in [min, max] equally likely.
    Uniform { min: SimDuration, max: SimDuration },
    /// Long-tailed: half the samples below `median`, 99 % below `p99`.
    Lognormal {
        median: SimDuration,
        p99: SimDuration,
    },
}

impl Distribution {
    /// True for a distribution that is always zero (a host cost nobody set).
    pub fn is_zero(&self) -> bool {
        *self == Distribution::Constant(SimDuration::ZERO)
    }

    /// Every parameter, for range checks.
    pub fn parameters(&self) -> Vec<(&'static str, SimDuration)> {
        match *self {
            Distribution::Constant(value) => vec![("constant", value)],
            Distribution::Exponential { mean } => vec![("exponential.mean", mean)],
            Distribution::Uniform { min, max } => vec![("uniform.min", min), ("uniform.max", max)],
            Distribution::Lognormal { median, p99 } => {
                vec![("lognormal.median", median), ("lognormal.p99", p99)]
            }
        }
    }

    /// Why the parameters cannot describe a distribution, if they cannot.
    pub fn inconsistency(&self) -> Option<String> {
        match *self {
            Distribution::Uniform { min, max } if min > max => Some(format!(
                "uniform.min ({min}) is greater than uniform.max ({max})"
            )),
            Distribution::Lognormal { median, p99 } if p99 < median => Some(format!(
                "lognormal.p99 ({p99}) is below lognormal.median ({median})"
            )),
            _ => None,
        }
    }
}

/// Schema of a field that takes a duration or a distribution.
#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum DurationOrDistribution {
    Constant(SimDuration),
    Distribution(Distribution),
}

/// Reads `"0.3ms"` as `{ constant = "0.3ms" }`, and a table as a [`Distribution`].
pub fn duration_or_distribution<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Distribution, D::Error> {
    struct Either;
    impl<'de> Visitor<'de> for Either {
        type Value = Distribution;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str(
                "a duration such as \"100ms\" or a table such as \
                 { exponential = { mean = \"1s\" } }",
            )
        }
        fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Distribution, E> {
            SimDuration::parse(text)
                .map(Distribution::Constant)
                .map_err(E::custom)
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Distribution, A::Error> {
            Distribution::deserialize(MapAccessDeserializer::new(map))
        }
    }
    deserializer.deserialize_any(Either)
}

/// Writes `{ constant = "0.3ms" }` as `"0.3ms"`, the shorthand [`duration_or_distribution`]
/// reads, so a field that once took only a duration serializes (and hashes) as it did.
pub fn serialize_duration_or_distribution<S: serde::Serializer>(
    distribution: &Distribution,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match distribution {
        Distribution::Constant(span) => span.serialize(serializer),
        other => other.serialize(serializer),
    }
}

/// [`Distribution::is_zero`] as serde's `skip_serializing_if` takes it.
pub fn is_zero(distribution: &Distribution) -> bool {
    distribution.is_zero()
}

/// Schema of a field that takes one duration or a list of them.
#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum OneOrManyDurations {
    One(SimDuration),
    Many(Vec<SimDuration>),
}

/// Reads `"10s"` as `["10s"]`, and a list as itself.
pub fn one_or_many_durations<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<SimDuration>, D::Error> {
    struct Either;
    impl<'de> Visitor<'de> for Either {
        type Value = Vec<SimDuration>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a duration such as \"10s\" or a list such as [\"10s\", \"30s\", \"60s\"]")
        }
        fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Vec<SimDuration>, E> {
            SimDuration::parse(text)
                .map(|one| vec![one])
                .map_err(E::custom)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Vec<SimDuration>, A::Error> {
            Vec::deserialize(SeqAccessDeserializer::new(seq))
        }
    }
    deserializer.deserialize_any(Either)
}
