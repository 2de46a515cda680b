//! The statistics of calibration: each fit keeps its sample size and its error, because the
//! written scenario states both for every value.
//!
//! - durations: a lognormal by its median (the sample median) and its spread (the standard
//!   deviation of the logs), written as median and p99; the error is the Kolmogorov-Smirnov
//!   distance to the sample and the fitted against the observed p90 and p99;
//! - arrivals: a Poisson rate (jobs / window), with the index of dispersion of per-minute
//!   counts (1 for a Poisson process) as its error, or, with a day or more of data, the
//!   `daily` cosine fitted to the hour-of-day rates by least squares;
//! - failures: failed executions / executions, from `number_of_retries` and the status;
//! - the host's per-job cost of a forking worker, from one worker's consecutive jobs.

use std::collections::BTreeMap;

use super::record::{JobRecord, JobStatus};

/// z of the standard normal's 99th percentile: p99 = median · exp(Z99 · σ).
pub const Z99: f64 = 2.326_347_874;
/// z of the 90th percentile.
const Z90: f64 = 1.281_551_566;

/// The `q` quantile (0…1) of sorted values, interpolated linearly between order statistics.
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    assert!(!sorted.is_empty(), "quantile of an empty sample");
    let position = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let (low, high) = (position.floor() as usize, position.ceil() as usize);
    let weight = position - low as f64;
    sorted[low] * (1.0 - weight) + sorted[high] * weight
}

/// Sorts finite values ascending and drops the rest.
pub fn sorted(values: impl IntoIterator<Item = f64>) -> Vec<f64> {
    let mut values: Vec<f64> = values.into_iter().filter(|v| v.is_finite()).collect();
    values.sort_by(f64::total_cmp);
    values
}

/// A lognormal fitted to positive durations.
#[derive(Clone, Debug, PartialEq)]
pub struct LognormalFit {
    pub n: usize,
    pub median_s: f64,
    /// σ of the logs.
    pub sigma: f64,
    pub p99_s: f64,
    pub observed_p90_s: f64,
    pub fitted_p90_s: f64,
    pub observed_p99_s: f64,
    /// Largest distance between the fitted CDF and the sample's.
    pub ks_distance: f64,
}

/// Fits a lognormal; `None` for fewer than two positive values. Durations are floored at
/// 1 µs so that a zero (two timestamps in one microsecond) does not make σ infinite.
pub fn fit_lognormal(durations_s: &[f64]) -> Option<LognormalFit> {
    let sample = sorted(durations_s.iter().map(|d| d.max(1e-6)));
    if sample.len() < 2 {
        return None;
    }
    let median_s = quantile(&sample, 0.5);
    let logs: Vec<f64> = sample.iter().map(|d| d.ln()).collect();
    let mean_log = logs.iter().sum::<f64>() / logs.len() as f64;
    let variance =
        logs.iter().map(|l| (l - mean_log).powi(2)).sum::<f64>() / (logs.len() - 1) as f64;
    let sigma = variance.sqrt();
    let cdf = |x: f64| normal_cdf((x.ln() - median_s.ln()) / sigma.max(1e-12));
    let n = sample.len() as f64;
    let ks_distance = sample
        .iter()
        .enumerate()
        .map(|(i, x)| {
            let fitted = cdf(*x);
            (fitted - i as f64 / n)
                .abs()
                .max((fitted - (i + 1) as f64 / n).abs())
        })
        .fold(0.0, f64::max);
    Some(LognormalFit {
        n: sample.len(),
        median_s,
        sigma,
        p99_s: median_s * (Z99 * sigma).exp(),
        observed_p90_s: quantile(&sample, 0.9),
        fitted_p90_s: median_s * (Z90 * sigma).exp(),
        observed_p99_s: quantile(&sample, 0.99),
        ks_distance,
    })
}

/// The standard normal CDF, from erfc (Numerical Recipes' Chebyshev fit, error < 1.2e-7).
pub fn normal_cdf(z: f64) -> f64 {
    0.5 * erfc(-z / std::f64::consts::SQRT_2)
}

fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let value = t * poly.exp();
    if x >= 0.0 {
        value
    } else {
        2.0 - value
    }
}

/// How jobs arrived on one queue.
#[derive(Clone, Debug, PartialEq)]
pub enum ArrivalFit {
    Poisson {
        n: usize,
        window_s: f64,
        rate_per_s: f64,
        /// Variance / mean of the per-minute counts: about 1 for Poisson arrivals.
        dispersion: Option<f64>,
    },
    Daily {
        n: usize,
        window_s: f64,
        peak_per_s: f64,
        trough_per_s: f64,
        /// Hour of day (UTC) of the peak.
        peak_at_h: f64,
        /// Root mean square of (hourly rate − fitted) / mean rate.
        relative_rms_error: f64,
    },
}

/// Data enough for the `daily` form: a whole day, and on average 20 jobs per hour of it, so
/// that each hour-of-day rate rests on more than noise.
const DAILY_MIN_WINDOW_S: f64 = 86_400.0;
const DAILY_MIN_JOBS_PER_HOUR: f64 = 20.0;

/// Fits arrivals from enqueue times (Unix seconds, any order); `None` for fewer than 2.
pub fn fit_arrivals(enqueued_unix_s: &[f64]) -> Option<ArrivalFit> {
    let times = sorted(enqueued_unix_s.iter().copied());
    if times.len() < 2 {
        return None;
    }
    let window_s = (times[times.len() - 1] - times[0]).max(1e-3);
    let n = times.len();
    if window_s >= DAILY_MIN_WINDOW_S && n as f64 >= DAILY_MIN_JOBS_PER_HOUR * window_s / 3600.0 {
        if let Some(daily) = fit_daily(&times, window_s) {
            return Some(daily);
        }
    }
    Some(ArrivalFit::Poisson {
        n,
        window_s,
        // n arrivals span n − 1 gaps: (n − 1) / window is the unbiased rate.
        rate_per_s: (n - 1) as f64 / window_s,
        dispersion: dispersion(&times),
    })
}

/// Variance / mean of arrivals per whole minute of the window; `None` under 10 minutes.
fn dispersion(times: &[f64]) -> Option<f64> {
    let minutes = ((times[times.len() - 1] - times[0]) / 60.0).floor() as usize;
    if minutes < 10 {
        return None;
    }
    let mut counts = vec![0.0; minutes];
    for t in times {
        let minute = ((t - times[0]) / 60.0) as usize;
        if minute < minutes {
            counts[minute] += 1.0;
        }
    }
    let mean = counts.iter().sum::<f64>() / minutes as f64;
    let variance = counts.iter().map(|c| (c - mean).powi(2)).sum::<f64>() / (minutes - 1) as f64;
    (mean > 0.0).then_some(variance / mean)
}

/// Least squares of rate(h) = a + b·cos(2πh/24) + c·sin(2πh/24) over the 24 hour-of-day rates.
fn fit_daily(times: &[f64], window_s: f64) -> Option<ArrivalFit> {
    let mut counts = [0.0f64; 24];
    for t in times {
        counts[(t.rem_euclid(86_400.0) / 3600.0) as usize] += 1.0;
    }
    // Each hour of day was observed window / 24 h times (to within one, ignored at ≥ 1 day).
    let hours_each = window_s / 86_400.0;
    let rates: Vec<f64> = counts.iter().map(|c| c / hours_each / 3600.0).collect();
    let mean = rates.iter().sum::<f64>() / 24.0;
    let angle = |h: usize| 2.0 * std::f64::consts::PI * (h as f64 + 0.5) / 24.0;
    // cos and sin are orthogonal over 24 equally spaced hours, each with Σ cos² = 12.
    let b = (0..24).map(|h| rates[h] * angle(h).cos()).sum::<f64>() / 12.0;
    let c = (0..24).map(|h| rates[h] * angle(h).sin()).sum::<f64>() / 12.0;
    let amplitude = b.hypot(c).min(mean);
    if mean <= 0.0 {
        return None;
    }
    let peak_angle = c.atan2(b);
    let fitted = |h: usize| mean + b * angle(h).cos() + c * angle(h).sin();
    let rms = ((0..24).map(|h| (rates[h] - fitted(h)).powi(2)).sum::<f64>() / 24.0).sqrt();
    Some(ArrivalFit::Daily {
        n: times.len(),
        window_s,
        peak_per_s: mean + amplitude,
        trough_per_s: mean - amplitude,
        peak_at_h: (peak_angle.rem_euclid(2.0 * std::f64::consts::PI)) * 24.0
            / (2.0 * std::f64::consts::PI),
        relative_rms_error: rms / mean,
    })
}

/// Failed executions over executions among the jobs that ended (finished or failed).
#[derive(Clone, Debug, PartialEq)]
pub struct FailureFit {
    pub jobs: usize,
    pub executions: u64,
    pub failed_executions: u64,
    pub probability: f64,
}

/// Every retry of a job (`number_of_retries`) was a failed execution; a job that ended
/// `failed` failed its last one too.
pub fn fit_failures<'a>(jobs: impl IntoIterator<Item = &'a JobRecord>) -> Option<FailureFit> {
    let (mut count, mut executions, mut failed) = (0usize, 0u64, 0u64);
    for job in jobs {
        let last_failed = match job.status {
            JobStatus::Finished => 0,
            JobStatus::Failed => 1,
            JobStatus::Pending | JobStatus::Stopped => continue,
        };
        count += 1;
        executions += u64::from(job.retries_used) + 1;
        failed += u64::from(job.retries_used) + last_failed;
    }
    (executions > 0).then(|| FailureFit {
        jobs: count,
        executions,
        failed_executions: failed,
        probability: failed as f64 / executions as f64,
    })
}

/// The most common value and how many of the values it was: (value, its count, all).
pub fn most_common<T: Ord + Clone>(
    values: impl IntoIterator<Item = T>,
) -> Option<(T, usize, usize)> {
    let mut counts: BTreeMap<T, usize> = BTreeMap::new();
    for value in values {
        *counts.entry(value).or_default() += 1;
    }
    let total = counts.values().sum();
    let (value, count) = counts.into_iter().max_by_key(|(_, count)| *count)?;
    Some((value, count, total))
}

/// Gaps longer than this between a worker's jobs are not the fork's cost but something else
/// (maintenance, a pause, a restart), and are left out.
const HOST_COST_MAX_GAP_S: f64 = 5.0;

/// The host's per-job cost of a forking worker, seen in its consecutive jobs.
#[derive(Clone, Debug, PartialEq)]
pub struct HostCostFit {
    /// `ended_at` of a job to `started_at` of the same worker's next job, when the next job
    /// was already waiting: the horse's exit plus the next horse's start.
    pub busy_gaps_s: Vec<f64>,
    /// `enqueued_at` to `started_at` of a job taken by a worker that was idle when it came:
    /// the pop plus the horse's start.
    pub idle_pickups_s: Vec<f64>,
    pub workers: usize,
}

/// Collects the gaps of every worker's consecutive jobs.
pub fn fit_host_cost<'a>(jobs: impl IntoIterator<Item = &'a JobRecord>) -> HostCostFit {
    let mut by_worker: BTreeMap<&str, Vec<(f64, f64, f64)>> = BTreeMap::new();
    for job in jobs {
        if let (Some(worker), Some(enqueued), Some(started), Some(ended)) = (
            job.worker_name.as_deref(),
            job.enqueued_at_s,
            job.started_at_s,
            job.ended_at_s,
        ) {
            // A retried job's times are its last execution's; its enqueue may be older.
            if job.retries_used == 0 && started >= enqueued && ended >= started {
                by_worker
                    .entry(worker)
                    .or_default()
                    .push((enqueued, started, ended));
            }
        }
    }
    let mut fit = HostCostFit {
        busy_gaps_s: Vec::new(),
        idle_pickups_s: Vec::new(),
        workers: 0,
    };
    for runs in by_worker.values_mut() {
        runs.sort_by(|a, b| a.1.total_cmp(&b.1));
        fit.workers += usize::from(runs.len() > 1);
        for pair in runs.windows(2) {
            let ((_, _, ended), (enqueued, started, _)) = (pair[0], pair[1]);
            let (gap, pickup) = (started - ended, started - enqueued);
            if enqueued <= ended && (0.0..HOST_COST_MAX_GAP_S).contains(&gap) {
                fit.busy_gaps_s.push(gap);
            } else if enqueued > ended && (0.0..HOST_COST_MAX_GAP_S).contains(&pickup) {
                fit.idle_pickups_s.push(pickup);
            }
        }
    }
    fit
}

/// `[rq] horse_startup` and `horse_exit` as (median, p99) seconds each, from the gaps: the
/// start is what an idle worker takes to begin a job, the exit the rest of a busy gap. Without
/// idle pickups the gap is split evenly. `None` without busy gaps.
pub type MedianP99 = (f64, f64);

pub fn split_host_cost(fit: &HostCostFit) -> Option<(MedianP99, MedianP99)> {
    let gaps = sorted(fit.busy_gaps_s.iter().copied());
    if gaps.is_empty() {
        return None;
    }
    let (gap_median, gap_p99) = (quantile(&gaps, 0.5), quantile(&gaps, 0.99));
    let pickups = sorted(fit.idle_pickups_s.iter().copied());
    let startup = if pickups.is_empty() {
        (gap_median / 2.0, gap_p99 / 2.0)
    } else {
        let median = quantile(&pickups, 0.5).min(gap_median);
        (
            median,
            quantile(&pickups, 0.99).clamp(median, gap_p99.max(median)),
        )
    };
    let exit_median = (gap_median - startup.0).max(0.0);
    let exit = (exit_median, (gap_p99 - startup.0).max(exit_median));
    Some((startup, exit))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_distr::{Distribution, Exp, LogNormal};

    fn rng() -> rand_chacha::ChaCha8Rng {
        rand_chacha::ChaCha8Rng::seed_from_u64(16)
    }

    #[test]
    fn a_lognormal_sample_gives_back_its_median_and_p99() {
        let sigma: f64 = (20.0f64 / 0.8).ln() / Z99;
        let dist = LogNormal::new(0.8f64.ln(), sigma).unwrap();
        let mut generator = rng();
        let sample: Vec<f64> = (0..20_000).map(|_| dist.sample(&mut generator)).collect();
        let fit = fit_lognormal(&sample).unwrap();
        assert!((fit.median_s - 0.8).abs() < 0.03, "{fit:?}");
        assert!((fit.p99_s - 20.0).abs() < 1.5, "{fit:?}");
        assert!(fit.ks_distance < 0.015, "{fit:?}");
        assert!(
            (fit.fitted_p90_s / fit.observed_p90_s - 1.0).abs() < 0.05,
            "{fit:?}"
        );
    }

    #[test]
    fn a_sample_far_from_lognormal_shows_a_large_ks_distance() {
        // Two spikes, at 0.1 s and 10 s: no lognormal is near.
        let sample: Vec<f64> = (0..1000)
            .map(|i| if i % 2 == 0 { 0.1 } else { 10.0 })
            .collect();
        assert!(fit_lognormal(&sample).unwrap().ks_distance > 0.2);
        assert_eq!(fit_lognormal(&[1.0]), None);
    }

    #[test]
    fn poisson_arrivals_give_back_their_rate_and_a_dispersion_near_one() {
        let gaps = Exp::new(2.5).unwrap();
        let mut generator = rng();
        let mut t = 1_700_000_000.0;
        let times: Vec<f64> = (0..6000)
            .map(|_| {
                t += gaps.sample(&mut generator);
                t
            })
            .collect();
        let Some(ArrivalFit::Poisson {
            rate_per_s,
            dispersion,
            ..
        }) = fit_arrivals(&times)
        else {
            panic!("expected the Poisson form");
        };
        assert!((rate_per_s - 2.5).abs() < 0.1, "{rate_per_s}");
        let dispersion = dispersion.unwrap();
        assert!((0.7..1.3).contains(&dispersion), "{dispersion}");
    }

    #[test]
    fn two_days_of_a_cosine_rate_give_the_daily_form() {
        // Thinning: rate(h) = 1 + 0.8 cos(2π(h − 14)/24) per second, peak 1.8/s at 14 h.
        let mut generator = rng();
        let unit = Exp::new(1.8).unwrap();
        let (mut t, mut times) = (0.0, Vec::new());
        while t < 2.0 * 86_400.0 {
            t += unit.sample(&mut generator);
            let hour = t / 3600.0 % 24.0;
            let rate = 1.0 + 0.8 * (2.0 * std::f64::consts::PI * (hour - 14.0) / 24.0).cos();
            if rand::Rng::gen::<f64>(&mut generator) < rate / 1.8 {
                times.push(t);
            }
        }
        let Some(ArrivalFit::Daily {
            peak_per_s,
            trough_per_s,
            peak_at_h,
            ..
        }) = fit_arrivals(&times)
        else {
            panic!("expected the daily form");
        };
        assert!((peak_per_s - 1.8).abs() < 0.1, "{peak_per_s}");
        assert!((trough_per_s - 0.2).abs() < 0.1, "{trough_per_s}");
        assert!((peak_at_h - 14.0).abs() < 0.5, "{peak_at_h}");
    }

    fn job(status: JobStatus, retries_used: u32) -> JobRecord {
        JobRecord {
            queue: "q".into(),
            status,
            enqueued_at_s: None,
            started_at_s: None,
            ended_at_s: None,
            retry_max: None,
            retry_intervals_s: Vec::new(),
            retries_used,
            timeout_s: None,
            result_ttl_s: None,
            failure_ttl_s: None,
            worker_name: None,
        }
    }

    #[test]
    fn failures_count_every_execution_a_retry_stands_for() {
        let jobs = [
            job(JobStatus::Finished, 0),
            job(JobStatus::Finished, 1), // failed once, then finished
            job(JobStatus::Failed, 2),   // failed three times
            job(JobStatus::Pending, 0),  // not ended: left out
        ];
        let fit = fit_failures(&jobs).unwrap();
        assert_eq!((fit.jobs, fit.executions, fit.failed_executions), (3, 6, 4));
    }

    #[test]
    fn host_cost_comes_from_back_to_back_jobs_of_one_worker() {
        let run = |enqueued: f64, started: f64, ended: f64| JobRecord {
            worker_name: Some("w1".into()),
            enqueued_at_s: Some(enqueued),
            started_at_s: Some(started),
            ended_at_s: Some(ended),
            ..job(JobStatus::Finished, 0)
        };
        // Job 2 waited while job 1 ran (gap 0.25 s); job 3 came to an idle worker (0.1 s).
        let jobs = [run(0.0, 0.1, 1.0), run(0.5, 1.25, 2.0), run(5.0, 5.1, 6.0)];
        let fit = fit_host_cost(&jobs);
        assert_eq!(fit.busy_gaps_s.len(), 1);
        assert_eq!(fit.idle_pickups_s.len(), 1);
        let ((startup, _), (exit, _)) = split_host_cost(&fit).unwrap();
        assert!(
            (startup - 0.1).abs() < 1e-9 && (exit - 0.15).abs() < 1e-9,
            "{startup} {exit}"
        );
    }
}
