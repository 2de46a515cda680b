//! A log-bucket histogram of microsecond values: bounded memory whatever the run's length,
//! percentiles within 1 % relative error, exact count, min, max and mean.
//!
//! ```text
//!   bucket i holds values v with γ^(i-1) < |v| ≤ γ^i   (γ = 1.01, v in microseconds)
//!   negatives ◄── … │ zero │ … ──► positives
//! ```
//!
//! A bucket is reported as the point `2γ^i / (γ + 1)`, which is within `(γ - 1) / (γ + 1)`
//! (≈ 0.5 %) of every value in it. Values span at most ~4,400 buckets per sign (1 µs up to
//! `i64::MAX` µs), so the memory bound is a few tens of kilobytes.

/// The ratio between successive bucket bounds.
const GAMMA: f64 = 1.01;

/// A histogram of signed microsecond values (retry lateness may be slightly negative).
#[derive(Clone, Debug, Default)]
pub struct LogHistogram {
    positive: Vec<u64>,
    negative: Vec<u64>,
    zero: u64,
    count: u64,
    sum_micros: i128,
    min_micros: i64,
    max_micros: i64,
}

impl LogHistogram {
    pub fn new() -> LogHistogram {
        LogHistogram::default()
    }

    pub fn record(&mut self, micros: i64) {
        if self.count == 0 {
            self.min_micros = micros;
            self.max_micros = micros;
        }
        self.min_micros = self.min_micros.min(micros);
        self.max_micros = self.max_micros.max(micros);
        self.count += 1;
        self.sum_micros += i128::from(micros);
        match micros.signum() {
            0 => self.zero += 1,
            1 => increment(&mut self.positive, bucket_index(micros.unsigned_abs())),
            _ => increment(&mut self.negative, bucket_index(micros.unsigned_abs())),
        }
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    pub fn min_micros(&self) -> Option<i64> {
        (self.count > 0).then_some(self.min_micros)
    }

    pub fn max_micros(&self) -> Option<i64> {
        (self.count > 0).then_some(self.max_micros)
    }

    pub fn mean_micros(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum_micros as f64 / self.count as f64)
    }

    /// The nearest-rank `quantile` (0 ≤ q ≤ 1): the value at rank ⌈q·n⌉, estimated from its
    /// bucket and clamped to the exact min and max. `None` when empty.
    pub fn quantile_micros(&self, quantile: f64) -> Option<f64> {
        assert!(
            (0.0..=1.0).contains(&quantile),
            "quantile {quantile} outside [0, 1]"
        );
        if self.count == 0 {
            return None;
        }
        let rank = ((quantile * self.count as f64).ceil() as u64).clamp(1, self.count);
        if rank == self.count {
            return Some(self.max_micros as f64);
        }
        if rank == 1 {
            return Some(self.min_micros as f64);
        }
        let value = self
            .ascending_buckets()
            .scan(0u64, |seen, (value, count)| {
                *seen += count;
                Some((value, *seen))
            })
            .find(|&(_, seen)| seen >= rank)
            .map(|(value, _)| value)
            .expect("rank is at most count");
        Some(value.clamp(self.min_micros as f64, self.max_micros as f64))
    }

    /// Seconds versions of the above, for reports.
    pub fn quantile_s(&self, quantile: f64) -> Option<f64> {
        self.quantile_micros(quantile).map(|v| v / 1e6)
    }

    pub fn max_s(&self) -> Option<f64> {
        self.max_micros().map(|v| v as f64 / 1e6)
    }

    pub fn min_s(&self) -> Option<f64> {
        self.min_micros().map(|v| v as f64 / 1e6)
    }

    pub fn mean_s(&self) -> Option<f64> {
        self.mean_micros().map(|v| v / 1e6)
    }

    /// The cumulative distribution as `(value_s, fraction ≤ value)` points, one per non-empty
    /// bucket, ascending; the last point is `(max, 1.0)`.
    pub fn cdf_s(&self) -> Vec<(f64, f64)> {
        let mut points = Vec::new();
        let mut seen = 0u64;
        for (value, count) in self.ascending_buckets() {
            seen += count;
            let clamped = value.clamp(self.min_micros as f64, self.max_micros as f64);
            points.push((clamped / 1e6, seen as f64 / self.count as f64));
        }
        if let Some(last) = points.last_mut() {
            last.0 = self.max_micros as f64 / 1e6;
        }
        points
    }

    /// Every non-empty bucket as (representative value in µs, count), ascending by value.
    fn ascending_buckets(&self) -> impl Iterator<Item = (f64, u64)> + '_ {
        let negatives = self
            .negative
            .iter()
            .enumerate()
            .rev()
            .map(|(i, &n)| (-bucket_value(i), n));
        let zero = std::iter::once((0.0, self.zero));
        let positives = self
            .positive
            .iter()
            .enumerate()
            .map(|(i, &n)| (bucket_value(i), n));
        negatives
            .chain(zero)
            .chain(positives)
            .filter(|&(_, n)| n > 0)
    }
}

fn increment(buckets: &mut Vec<u64>, index: usize) {
    if buckets.len() <= index {
        buckets.resize(index + 1, 0);
    }
    buckets[index] += 1;
}

/// The bucket of a magnitude ≥ 1: the smallest i with `magnitude ≤ γ^i`.
fn bucket_index(magnitude: u64) -> usize {
    debug_assert!(magnitude >= 1);
    let index = ((magnitude as f64).ln() / GAMMA.ln()).ceil();
    index.max(0.0) as usize
}

/// The point reported for bucket `index`: within (γ−1)/(γ+1) of all of `(γ^(i−1), γ^i]`.
fn bucket_value(index: usize) -> f64 {
    2.0 * GAMMA.powi(index as i32) / (GAMMA + 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The exact nearest-rank quantile of `values`.
    fn exact_quantile(values: &[i64], quantile: f64) -> f64 {
        let mut sorted = values.to_vec();
        sorted.sort_unstable();
        let rank = ((quantile * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
        sorted[rank - 1] as f64
    }

    fn assert_within_one_percent(histogram: &LogHistogram, values: &[i64]) {
        for quantile in [0.0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999, 1.0] {
            let exact = exact_quantile(values, quantile);
            let estimate = histogram.quantile_micros(quantile).unwrap();
            let error = (estimate - exact).abs();
            assert!(
                error <= 0.01 * exact.abs(),
                "q={quantile}: estimate {estimate} vs exact {exact}"
            );
        }
    }

    #[test]
    fn quantiles_are_within_one_percent_of_exact_on_a_wide_spread() {
        // A deterministic spread from 1 µs to ~10^10 µs, with repeats and an outlier.
        let mut values: Vec<i64> = (1..=5_000i64).map(|i| i * i * i % 9_999_991 + 1).collect();
        values.extend([10_000_000_000, 3, 3, 3, 250_000]);
        let mut histogram = LogHistogram::new();
        values.iter().for_each(|&v| histogram.record(v));
        assert_within_one_percent(&histogram, &values);
        assert_eq!(histogram.count(), values.len() as u64);
        assert_eq!(histogram.max_micros(), Some(10_000_000_000));
        assert_eq!(histogram.min_micros(), Some(2));
    }

    #[test]
    fn negative_and_zero_values_keep_their_order() {
        let values = [-900_000, -1_000, 0, 0, 5, 2_000_000, 12_000_000, -3];
        let mut histogram = LogHistogram::new();
        values.iter().for_each(|&v| histogram.record(v));
        assert_within_one_percent(&histogram, &values);
        assert_eq!(histogram.quantile_micros(0.5), Some(0.0));
        assert_eq!(histogram.min_s(), Some(-0.9));
    }

    #[test]
    fn mean_min_and_max_are_exact() {
        let mut histogram = LogHistogram::new();
        [1_000_001, 2_000_003, 3_000_005]
            .iter()
            .for_each(|&v| histogram.record(v));
        assert_eq!(histogram.mean_micros(), Some(2_000_003.0));
        assert_eq!(histogram.max_s(), Some(3.000005));
        assert_eq!(histogram.quantile_micros(1.0), Some(3_000_005.0));
    }

    #[test]
    fn an_empty_histogram_has_no_quantiles() {
        let histogram = LogHistogram::new();
        assert_eq!(histogram.quantile_s(0.5), None);
        assert_eq!(histogram.mean_s(), None);
        assert!(histogram.cdf_s().is_empty());
    }

    #[test]
    fn the_cdf_rises_to_one_at_the_maximum() {
        let mut histogram = LogHistogram::new();
        [10, 20, 20, 40]
            .iter()
            .for_each(|&v| histogram.record(v * 1_000_000));
        let cdf = histogram.cdf_s();
        let fractions: Vec<f64> = cdf.iter().map(|p| p.1).collect();
        assert_eq!(fractions, [0.25, 0.75, 1.0]);
        assert_eq!(cdf.last().unwrap().0, 40.0);
        assert!((cdf[0].0 - 10.0).abs() <= 0.1);
    }

    #[test]
    fn memory_is_bounded_by_the_value_range_not_the_count() {
        let mut histogram = LogHistogram::new();
        for i in 0..200_000i64 {
            histogram.record((i * 7_919) % 3_600_000_000 + 1);
        }
        assert!(
            histogram.positive.len() < 2_300,
            "{}",
            histogram.positive.len()
        );
    }
}
