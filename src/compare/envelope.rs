//! One real run against the envelope of many simulated seeds.
//!
//! A real run is one history of a nondeterministic system: the host decides when each
//! process starts (and so the phase of RQ's 1 s scheduler ticks and of its maintenance runs)
//! and what each fork costs. simrq draws those host timings from seeded distributions
//! (`[rq] worker_startup`, `horse_startup`, `horse_exit`), so its seeds span the histories a
//! real run can land in. A time metric passes when the real value lies within the 1st–99th
//! percentile of the per-seed values, widened by [`ENVELOPE_TOLERANCE_S`]; comparing against
//! each seed on its own would fail whenever the real host landed in another phase.
//!
//! The count metrics stay exact: every seed must reproduce the real executions per job,
//! outcome counts and duplicate executions.
//!
//! | metric | per-seed statistic | passes when |
//! |---|---|---|
//! | executions per job, outcome counts, duplicate executions | as in a pair | every seed equal |
//! | retry delay distribution | median delay; every delay | real median in the envelope of seed medians, and every real delay within [min, max] of all simulated delays, each ± tolerance |
//! | worst retry lateness | the worst | in the envelope |
//! | time to scheduler takeover | the k-th takeover | the real count in ≥ 1 % of seeds; the k-th real takeover in the envelope of those seeds' k-th |
//! | time to recover | the k-th Redis outage's recovery | as the takeovers |
//! | cron enqueues, duplicate enqueues, missed instants (runs with `[[cron]]`) | per cron job | every seed equal |
//! | cron enqueue lateness | per cron job: p50, max | each in the envelope |

use super::{
    cron, describe_sample, duplicate_executions, executions_per_job, list_times, median,
    outcome_counts, recovery_times, retry_delays, summarize, takeover_times, worst_lateness_value,
    CompareReport, MetricResult, RunData,
};

/// Lower and upper percentile of the per-seed values that bound the envelope.
pub const ENVELOPE_PERCENTILES: (f64, f64) = (0.01, 0.99);
/// The envelope is widened by this on each side: the real harness observes Redis by polling
/// every ~0.1 s, and a finite number of seeds only approaches the extremes.
pub const ENVELOPE_TOLERANCE_S: f64 = 0.5;
/// Fewest simulated seeds for an envelope: with fewer, the 1st–99th percentiles are just the
/// extremes of a small sample and 1 % of the seeds is less than one seed.
pub const MIN_ENVELOPE_SEEDS: usize = 100;
/// The smallest share of the seeds that must give the real run's outcome (a count, or whether
/// a time metric exists): the categorical counterpart of [`ENVELOPE_PERCENTILES`].
pub const ENVELOPE_MIN_SHARE: f64 = 0.01;

/// Whether `agreeing` seeds out of `seeds` are enough for the real outcome to be one the
/// model gives (see [`ENVELOPE_MIN_SHARE`]).
pub fn plausible(agreeing: usize, seeds: usize) -> bool {
    agreeing > 0 && agreeing as f64 >= ENVELOPE_MIN_SHARE * seeds as f64
}

/// How wide the envelope's margin is for each time metric.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EnvelopeTolerances {
    /// Retry delays, lateness and takeovers.
    pub time_s: f64,
    /// Retry delays when they are set by the host alone (immediate retries wait for the
    /// next fork, whose cost varies with the host's load by more than any model of it).
    pub host_timed_delay_s: Option<f64>,
}

impl Default for EnvelopeTolerances {
    fn default() -> EnvelopeTolerances {
        EnvelopeTolerances {
            time_s: ENVELOPE_TOLERANCE_S,
            host_timed_delay_s: None,
        }
    }
}

/// The quantile `q` of `values` by linear interpolation between order statistics.
pub fn quantile(values: &[f64], q: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let position = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let (low, high) = (position.floor() as usize, position.ceil() as usize);
    sorted[low] + (sorted[high] - sorted[low]) * (position - low as f64)
}

/// The band a real value must fall in: the percentiles of the seeds' values, widened.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Band {
    pub low: f64,
    pub high: f64,
    pub margin: f64,
}

impl Band {
    pub fn of(values: &[f64], margin: f64) -> Band {
        let (lo, hi) = ENVELOPE_PERCENTILES;
        Band {
            low: quantile(values, lo),
            high: quantile(values, hi),
            margin,
        }
    }

    pub fn contains(&self, value: f64) -> bool {
        value >= self.low - self.margin && value <= self.high + self.margin
    }

    fn text(&self) -> String {
        format!("{:.3}…{:.3} s", self.low, self.high)
    }
}

/// Compares `real` against every run in `sims` (one per seed).
pub fn compare_envelope(
    real: &RunData,
    sims: &[RunData],
    tolerances: EnvelopeTolerances,
) -> CompareReport {
    let mut metrics = vec![
        exact_in_enough_seeds(real, sims, executions_per_job),
        exact_in_enough_seeds(real, sims, outcome_counts),
        exact_in_enough_seeds(real, sims, duplicate_executions),
        retry_delay_envelope(real, sims, tolerances),
        lateness_envelope(real, sims, tolerances.time_s),
        takeover_envelope(real, sims, tolerances.time_s),
        recovery_envelope(real, sims, tolerances.time_s),
    ];
    if cron::has_cron(std::iter::once(real).chain(sims)) {
        metrics.extend([
            exact_in_enough_seeds(real, sims, cron::cron_enqueues),
            exact_in_enough_seeds(real, sims, cron::cron_duplicates),
            exact_in_enough_seeds(real, sims, cron::cron_misses),
            cron::cron_lateness_envelope(real, sims, tolerances.time_s),
        ]);
    }
    CompareReport { metrics }
}

/// A pairwise exact metric: the real value must be one that enough seeds give (see
/// [`plausible`]); the sim column shows the values the seeds gave, with how many gave each,
/// and the note names the seeds that differ.
fn exact_in_enough_seeds(
    real: &RunData,
    sims: &[RunData],
    pairwise: fn(&RunData, &RunData) -> MetricResult,
) -> MetricResult {
    let results: Vec<MetricResult> = sims.iter().map(|sim| pairwise(real, sim)).collect();
    let mut values: Vec<(String, usize)> = Vec::new();
    for result in &results {
        match values.iter_mut().find(|(value, _)| *value == result.sim) {
            Some((_, count)) => *count += 1,
            None => values.push((result.sim.clone(), 1)),
        }
    }
    let differing: Vec<String> = results
        .iter()
        .enumerate()
        .filter(|(_, result)| !result.passed)
        .map(|(index, result)| format!("run {}: {}", index + 1, result.note))
        .collect();
    let first = &results[0];
    MetricResult {
        name: first.name.clone(),
        real: first.real.clone(),
        sim: seed_counts(&values, sims.len()),
        tolerance: format!("{}, in ≥ 1 % of seeds", first.tolerance),
        passed: plausible(sims.len() - differing.len(), sims.len()),
        note: summarize(&differing),
    }
}

fn seed_counts(values: &[(String, usize)], seeds: usize) -> String {
    if let [(value, _)] = values {
        return format!("{value} (all {seeds} seeds)");
    }
    values
        .iter()
        .map(|(value, count)| format!("{value} ({count} seeds)"))
        .collect::<Vec<_>>()
        .join("; ")
}

fn retry_delay_envelope(
    real: &RunData,
    sims: &[RunData],
    tolerances: EnvelopeTolerances,
) -> MetricResult {
    let margin = tolerances.host_timed_delay_s.unwrap_or(tolerances.time_s);
    let real_delays = retry_delays(real);
    let sim_delays: Vec<Vec<f64>> = sims.iter().map(retry_delays).collect();
    let mut metric = MetricResult {
        name: "retry delay distribution".into(),
        real: describe_sample(&real_delays),
        sim: String::new(),
        tolerance: match tolerances.host_timed_delay_s {
            Some(_) => format!(
                "host-timed: median in the seeds' p1…p99 of medians ± {margin} s"
            ),
            None => format!(
                "median in the seeds' p1…p99 of medians, every delay in the seeds' range, ± {margin} s"
            ),
        },
        passed: false,
        note: String::new(),
    };
    let with_retries: Vec<&Vec<f64>> = sim_delays.iter().filter(|d| !d.is_empty()).collect();
    let agreeing = if real_delays.is_empty() {
        sims.len() - with_retries.len()
    } else {
        with_retries.len()
    };
    if real_delays.is_empty() || !plausible(agreeing, sims.len()) {
        metric.passed = plausible(agreeing, sims.len());
        metric.sim = format!(
            "{} of {} seeds have retries",
            with_retries.len(),
            sims.len()
        );
        if !metric.passed {
            metric.note =
                "the real run and nearly every seed differ in having retries at all".into();
        }
        return metric;
    }
    let medians: Vec<f64> = with_retries.iter().map(|d| median(d)).collect();
    let band = Band::of(&medians, margin);
    let everything: Vec<f64> = with_retries
        .iter()
        .flat_map(|d| d.iter().copied())
        .collect();
    let range = Band {
        low: quantile(&everything, 0.0),
        high: quantile(&everything, 1.0),
        margin,
    };
    metric.sim = format!("medians {} over {} seeds", band.text(), sims.len());
    let real_median = median(&real_delays);
    let mut problems = Vec::new();
    if !band.contains(real_median) {
        problems.push(format!(
            "real median {real_median:.3} s outside {}",
            band.text()
        ));
    }
    if tolerances.host_timed_delay_s.is_none() {
        problems.extend(
            real_delays
                .iter()
                .filter(|delay| !range.contains(**delay))
                .map(|delay| format!("real delay {delay:.3} s outside {}", range.text())),
        );
    }
    metric.passed = problems.is_empty();
    metric.note = summarize(&problems);
    metric
}

fn lateness_envelope(real: &RunData, sims: &[RunData], margin: f64) -> MetricResult {
    let real_worst = worst_lateness_value(real);
    let sim_worst: Vec<Option<f64>> = sims.iter().map(worst_lateness_value).collect();
    let present: Vec<f64> = sim_worst.iter().flatten().copied().collect();
    let mut metric = MetricResult {
        name: "worst retry lateness".into(),
        real: real_worst.map_or("none".into(), |v| format!("{v:.3} s")),
        sim: String::new(),
        tolerance: format!("in the seeds' p1…p99 ± {margin} s"),
        passed: false,
        note: String::new(),
    };
    let agreeing = match real_worst {
        None => sims.len() - present.len(),
        Some(_) => present.len(),
    };
    if !plausible(agreeing, sims.len()) {
        metric.sim = format!("{} of {} seeds have one", present.len(), sims.len());
        metric.note = "the real run and nearly every seed differ in having interval retries".into();
        return metric;
    }
    metric.passed = match real_worst {
        None => {
            metric.sim = match present.len() {
                0 => "none".into(),
                some => format!(
                    "none in {agreeing} of {} seeds ({some} have one)",
                    sims.len()
                ),
            };
            true
        }
        Some(value) => {
            let band = Band::of(&present, margin);
            metric.sim = format!("{} over {} seeds", band.text(), present.len());
            band.contains(value)
        }
    };
    metric
}

fn takeover_envelope(real: &RunData, sims: &[RunData], margin: f64) -> MetricResult {
    let times = PerFaultTimes {
        name: "time to scheduler takeover",
        noun: "takeover",
        of: takeover_times,
    };
    times.envelope(real, sims, margin)
}

fn recovery_envelope(real: &RunData, sims: &[RunData], margin: f64) -> MetricResult {
    let times = PerFaultTimes {
        name: "time to recover",
        noun: "recovery",
        of: recovery_times,
    };
    times.envelope(real, sims, margin)
}

/// A time metric with one value per fault (takeovers, recoveries): the metric's name, what one
/// value is called, and how a run's values are found.
struct PerFaultTimes {
    name: &'static str,
    noun: &'static str,
    of: fn(&RunData) -> Vec<f64>,
}

impl PerFaultTimes {
    /// The real count must be one ≥ 1 % of the seeds give; the k-th real value must lie in
    /// the envelope of those seeds' k-th values.
    fn envelope(&self, real: &RunData, sims: &[RunData], margin: f64) -> MetricResult {
        let real_times = (self.of)(real);
        let sim_times: Vec<Vec<f64>> = sims.iter().map(self.of).collect();
        self.judge(&real_times, &sim_times, margin)
    }

    fn judge(&self, real_times: &[f64], sim_times: &[Vec<f64>], margin: f64) -> MetricResult {
        let (noun, sims) = (self.noun, sim_times);
        let mut metric = MetricResult {
            name: self.name.into(),
            real: list_times(real_times),
            sim: String::new(),
            tolerance: format!(
                "the real count in ≥ 1 % of seeds, each in those seeds' p1…p99 ± {margin} s"
            ),
            passed: false,
            note: String::new(),
        };
        let same_count: Vec<&Vec<f64>> = sim_times
            .iter()
            .filter(|times| times.len() == real_times.len())
            .collect();
        if !plausible(same_count.len(), sims.len()) {
            let miscounted: Vec<String> = sim_times
                .iter()
                .enumerate()
                .filter(|(_, times)| times.len() != real_times.len())
                .map(|(index, times)| {
                    format!(
                        "run {}: {} {noun}s vs {}",
                        index + 1,
                        times.len(),
                        real_times.len()
                    )
                })
                .collect();
            metric.sim = format!(
                "{} of {} seeds differ in count",
                miscounted.len(),
                sims.len()
            );
            metric.note = summarize(&miscounted);
            return metric;
        }
        let mut bands = Vec::new();
        let mut problems = Vec::new();
        for (k, real_time) in real_times.iter().enumerate() {
            let kth: Vec<f64> = same_count.iter().map(|times| times[k]).collect();
            let band = Band::of(&kth, margin);
            if !band.contains(*real_time) {
                problems.push(format!(
                    "{noun} {} real {real_time:.3} s outside {}",
                    k + 1,
                    band.text()
                ));
            }
            bands.push(band.text());
        }
        metric.sim = if bands.is_empty() {
            "none".into()
        } else {
            format!("{} over {} seeds", bands.join(", "), same_count.len())
        };
        metric.passed = problems.is_empty();
        metric.note = summarize(&problems);
        metric
    }
}
