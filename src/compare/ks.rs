//! Two-sample Kolmogorov–Smirnov test.
//!
//! The statistic is `D = sup_x |F_a(x) - F_b(x)|` over the two empirical distribution functions.
//! The two-sided p-value `P(D >= d)` under the null hypothesis (both samples from one continuous
//! distribution) is computed exactly for small samples, by counting the monotone lattice paths
//! from (0, 0) to (n, m) that stay strictly inside the band `|i/n - j/m| < d` (all
//! `C(n + m, n)` paths are equally likely), and with Kolmogorov's limiting distribution plus
//! Stephens' small-sample correction for large ones:
//!
//! ```text
//!   p ≈ Q((√ne + 0.12 + 0.11/√ne) · d),  ne = n·m/(n+m),  Q(λ) = 2 Σ_{k≥1} (−1)^{k−1} e^{−2k²λ²}
//! ```

/// Up to this many observations in total the p-value is exact.
const EXACT_LIMIT: usize = 400;

/// The outcome of a two-sample KS test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KsResult {
    /// `sup |F_a - F_b|`, in [0, 1].
    pub statistic: f64,
    /// Two-sided `P(D >= statistic)` under the null hypothesis.
    pub p_value: f64,
    /// Whether `p_value` is exact (small samples) or asymptotic.
    pub exact: bool,
}

/// Runs the two-sample KS test. Both samples must be non-empty and free of NaN.
pub fn ks_two_sample(a: &[f64], b: &[f64]) -> KsResult {
    assert!(
        !a.is_empty() && !b.is_empty(),
        "KS test needs two non-empty samples"
    );
    assert!(
        a.iter().chain(b).all(|x| !x.is_nan()),
        "KS test samples contain NaN"
    );
    let mut a = a.to_vec();
    let mut b = b.to_vec();
    a.sort_by(f64::total_cmp);
    b.sort_by(f64::total_cmp);
    let (n, m) = (a.len(), b.len());
    let gap_units = max_gap_units(&a, &b);
    let statistic = gap_units as f64 / (n * m) as f64;
    if n + m <= EXACT_LIMIT {
        let p_value = exact_p_value(n, m, gap_units);
        KsResult {
            statistic,
            p_value,
            exact: true,
        }
    } else {
        let p_value = asymptotic_p_value(n, m, statistic);
        KsResult {
            statistic,
            p_value,
            exact: false,
        }
    }
}

/// `D · n · m` as an integer: the largest `|i·m − j·n|` after consuming every observation up to
/// each distinct value (ties in both samples are consumed together, as the definition of
/// the empirical distribution functions requires).
fn max_gap_units(a: &[f64], b: &[f64]) -> u64 {
    let (n, m) = (a.len() as i64, b.len() as i64);
    let (mut i, mut j) = (0usize, 0usize);
    let mut best = 0i64;
    while i < a.len() || j < b.len() {
        let next = match (a.get(i), b.get(j)) {
            (Some(x), Some(y)) => x.min(*y),
            (Some(x), None) => *x,
            (None, Some(y)) => *y,
            (None, None) => unreachable!(),
        };
        while i < a.len() && a[i] <= next {
            i += 1;
        }
        while j < b.len() && b[j] <= next {
            j += 1;
        }
        best = best.max((i as i64 * m - j as i64 * n).abs());
    }
    best as u64
}

/// `P(D >= gap_units / (n·m))` by counting lattice paths that stay strictly inside the band.
fn exact_p_value(n: usize, m: usize, gap_units: u64) -> f64 {
    if gap_units == 0 {
        return 1.0;
    }
    let inside = |i: usize, j: usize| ((i * m) as i64 - (j * n) as i64).unsigned_abs() < gap_units;
    // paths[j] holds, for the current row i, the probability mass of paths reaching (i, j)
    // without leaving the band. Mass is carried as a probability, not a count, so it never
    // overflows: a step from (i, j) goes right with probability (n − i)/(n + m − i − j).
    let mut paths = vec![0.0f64; m + 1];
    paths[0] = 1.0;
    for i in 0..=n {
        for j in 0..=m {
            if i == 0 && j == 0 {
                continue;
            }
            let from_left = if j > 0 {
                paths[j - 1] * step_prob(m - (j - 1), n, m, i, j - 1)
            } else {
                0.0
            };
            let from_above = if i > 0 {
                paths[j] * step_prob(n - (i - 1), n, m, i - 1, j)
            } else {
                0.0
            };
            paths[j] = if inside(i, j) {
                from_left + from_above
            } else {
                0.0
            };
        }
    }
    (1.0 - paths[m]).clamp(0.0, 1.0)
}

/// Probability that a uniformly random path at (i, j) takes the step that consumes one of the
/// `remaining` observations of that sample.
fn step_prob(remaining: usize, n: usize, m: usize, i: usize, j: usize) -> f64 {
    remaining as f64 / (n + m - i - j) as f64
}

/// Kolmogorov's limiting distribution with Stephens' correction.
fn asymptotic_p_value(n: usize, m: usize, statistic: f64) -> f64 {
    let effective = ((n * m) as f64 / (n + m) as f64).sqrt();
    kolmogorov_q((effective + 0.12 + 0.11 / effective) * statistic)
}

/// `Q(λ) = 2 Σ_{k≥1} (−1)^{k−1} e^{−2k²λ²}`, the survival function of Kolmogorov's distribution.
pub fn kolmogorov_q(lambda: f64) -> f64 {
    if lambda < 0.2 {
        return 1.0;
    }
    let mut sum = 0.0;
    let mut sign = 1.0;
    for k in 1..=100 {
        let k = k as f64;
        let term = sign * (-2.0 * k * k * lambda * lambda).exp();
        sum += term;
        if term.abs() < 1e-12 {
            break;
        }
        sign = -sign;
    }
    (2.0 * sum).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tolerance: f64) -> bool {
        (a - b).abs() <= tolerance
    }

    #[test]
    fn disjoint_samples_of_three_have_p_one_tenth() {
        // Only 2 of the C(6,3) = 20 orderings reach D = 1: p = 0.1 (scipy's exact mode agrees).
        let result = ks_two_sample(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0]);
        assert_eq!(result.statistic, 1.0);
        assert!(result.exact);
        assert!(close(result.p_value, 0.1, 1e-12), "p = {}", result.p_value);
    }

    #[test]
    fn disjoint_samples_of_five_have_p_two_over_252() {
        let a = [1.0, 2.0, 3.0, 4.0, 5.0];
        let b = [6.0, 7.0, 8.0, 9.0, 10.0];
        let result = ks_two_sample(&a, &b);
        assert!(
            close(result.p_value, 2.0 / 252.0, 1e-12),
            "p = {}",
            result.p_value
        );
    }

    #[test]
    fn identical_samples_have_statistic_zero_and_p_one() {
        let a = [0.5, 1.5, 2.5, 3.5];
        let result = ks_two_sample(&a, &a);
        assert_eq!(result.statistic, 0.0);
        assert_eq!(result.p_value, 1.0);
    }

    #[test]
    fn interleaved_samples_count_paths_exactly() {
        // a = {1, 3}, b = {2, 4}: D = 1/2. Of the 6 orderings of two a's and two b's, those
        // with D = 1 are aabb and bbaa; all others have D = 1/2. So P(D >= 1/2) = 1.
        let result = ks_two_sample(&[1.0, 3.0], &[2.0, 4.0]);
        assert_eq!(result.statistic, 0.5);
        assert!(close(result.p_value, 1.0, 1e-12));
        // a = {1, 2}, b = {3, 4}: D = 1, P(D >= 1) = 2/6.
        let result = ks_two_sample(&[1.0, 2.0], &[3.0, 4.0]);
        assert!(
            close(result.p_value, 1.0 / 3.0, 1e-12),
            "p = {}",
            result.p_value
        );
    }

    #[test]
    fn statistic_handles_ties_and_unequal_sizes() {
        // F_a jumps to 1 at 1.0; F_b is 1/4 at 1.0, 1 at 2.0: D = 3/4.
        let result = ks_two_sample(&[1.0, 1.0], &[1.0, 2.0, 2.0, 2.0]);
        assert!(
            close(result.statistic, 0.75, 1e-12),
            "D = {}",
            result.statistic
        );
    }

    #[test]
    fn kolmogorov_q_matches_the_classic_critical_values() {
        // Tabulated: Q(1.3581) = 0.05, Q(1.6276) = 0.01, Q(1.2238) = 0.10.
        assert!(
            close(kolmogorov_q(1.3581), 0.05, 2e-4),
            "{}",
            kolmogorov_q(1.3581)
        );
        assert!(
            close(kolmogorov_q(1.6276), 0.01, 2e-4),
            "{}",
            kolmogorov_q(1.6276)
        );
        assert!(
            close(kolmogorov_q(1.2238), 0.10, 2e-4),
            "{}",
            kolmogorov_q(1.2238)
        );
    }

    #[test]
    fn large_samples_use_the_asymptotic_formula() {
        let a: Vec<f64> = (0..300).map(|k| k as f64).collect();
        let b: Vec<f64> = (0..300).map(|k| k as f64 + 30.0).collect();
        let result = ks_two_sample(&a, &b);
        assert!(!result.exact);
        assert!(close(result.statistic, 0.1, 1e-12));
        // λ = (√150 + 0.12 + 0.11/√150) · 0.1 = 1.23758; 2λ² = 3.06321;
        // Q = 2(e^−3.06321 − e^−12.2528 + …) = 0.09344.
        assert!(
            close(result.p_value, 0.09344, 1e-4),
            "p = {}",
            result.p_value
        );
    }

    #[test]
    fn exact_and_asymptotic_agree_for_moderate_samples() {
        let a: Vec<f64> = (0..100).map(|k| k as f64).collect();
        let b: Vec<f64> = (0..100).map(|k| k as f64 + 15.0).collect();
        let exact = ks_two_sample(&a, &b);
        let asymptotic = asymptotic_p_value(100, 100, exact.statistic);
        assert!(exact.exact);
        assert!(
            close(exact.p_value, asymptotic, 0.02),
            "{} vs {asymptotic}",
            exact.p_value
        );
    }
}
