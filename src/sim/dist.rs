//! Random durations drawn from a seeded stream: job run times, host costs, network latency.

use rand::Rng;
use rand_distr::{Distribution, Exp, LogNormal};

use super::{RngStreams, SimDuration, SimRng};

/// A distribution of durations (the model-side form of a scenario's `Distribution`).
#[derive(Clone, Debug, PartialEq)]
pub enum DurationDist {
    Constant(SimDuration),
    Exponential {
        mean: SimDuration,
    },
    Uniform {
        min: SimDuration,
        max: SimDuration,
    },
    LogNormal {
        median: SimDuration,
        p99: SimDuration,
    },
}

impl DurationDist {
    /// One draw of a host timing from the stream `host/<who>` of `streams`; a constant draws
    /// nothing and builds no stream, so a scenario without host timings keeps every draw.
    pub fn draw_host(&self, streams: &RngStreams, who: impl FnOnce() -> String) -> SimDuration {
        match self {
            DurationDist::Constant(span) => *span,
            random => random.sample(&mut streams.stream(&format!("host/{}", who()))),
        }
    }

    pub fn sample(&self, rng: &mut SimRng) -> SimDuration {
        match self {
            DurationDist::Constant(span) => *span,
            DurationDist::Exponential { mean } => {
                match Exp::new(1.0 / mean.as_secs_f64().max(1e-9)) {
                    Ok(exp) => SimDuration::from_secs_f64(exp.sample(rng)),
                    Err(_) => *mean,
                }
            }
            DurationDist::Uniform { min, max } if max > min => {
                SimDuration(rng.gen_range(min.0..=max.0))
            }
            DurationDist::Uniform { min, .. } => *min,
            DurationDist::LogNormal { median, p99 } => sample_lognormal(rng, *median, *p99),
        }
    }
}

/// Lognormal with median m and p99 q: mu = ln m, sigma = ln(q/m) / z(0.99).
pub fn sample_lognormal(rng: &mut SimRng, median: SimDuration, p99: SimDuration) -> SimDuration {
    const Z_99: f64 = 2.326_347_874_040_841;
    let median_s = median.as_secs_f64().max(1e-9);
    let sigma = ((p99.as_secs_f64().max(median_s) / median_s).ln() / Z_99).max(0.0);
    match LogNormal::new(median_s.ln(), sigma) {
        Ok(distribution) => SimDuration::from_secs_f64(distribution.sample(rng)),
        Err(_) => median,
    }
}
