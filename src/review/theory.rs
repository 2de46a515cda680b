//! The model checked against queueing theory: a fault-free M/M/c scenario run with several
//! seeds, its mean queue wait and probability of waiting compared with Erlang C.
//!
//! `scenarios/mmc.toml` is the scenario: Poisson arrivals, exponential job durations, c worker
//! pods without a scheduler, no retries, no faults, a Redis latency of 1 µs so that RQ's own
//! round trips add nothing measurable to a wait. "Waited" means a wait above
//! [`WAITED_THRESHOLD_S`], compared with Erlang C's P(W > that threshold).

use crate::queueing::{mean_ci95, MmcQueue};
use crate::scenario::{Arrival, Distribution, Scenario};
use crate::sweep::{Grid, SweepData, SweepError, SweepPlan, WAITED_THRESHOLD_S};

/// The M/M/c scenario shipped with simrq.
pub const MMC_SCENARIO: &str = include_str!("../../scenarios/mmc.toml");

/// One figure: simulated mean with its 95 % CI half-width, and theory.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Agreement {
    pub simulated: f64,
    pub ci95: f64,
    pub theory: f64,
}

impl Agreement {
    /// True when theory lies within the simulated 95 % confidence interval.
    pub fn agrees(&self) -> bool {
        (self.simulated - self.theory).abs() <= self.ci95
    }
}

/// The result of the check.
#[derive(Clone, Debug)]
pub struct TheoryCheck {
    pub queue: MmcQueue,
    pub runs: u64,
    pub seed: u64,
    pub mean_wait_s: Agreement,
    pub probability_of_waiting: Agreement,
    pub utilisation: Agreement,
}

impl TheoryCheck {
    pub fn agrees(&self) -> bool {
        self.mean_wait_s.agrees() && self.probability_of_waiting.agrees()
    }
}

/// λ, μ and c of an M/M/c scenario; an error when it is not one.
pub fn mmc_of(scenario: &Scenario) -> Result<MmcQueue, String> {
    let [pods] = scenario.pods.as_slice() else {
        return Err("an M/M/c scenario has exactly one pod group".to_string());
    };
    let [workload] = scenario.workload.as_slice() else {
        return Err("an M/M/c scenario has exactly one workload".to_string());
    };
    let Arrival::PoissonPerS(arrival_per_s) = workload.arrival else {
        return Err("an M/M/c scenario has Poisson arrivals".to_string());
    };
    let Distribution::Exponential { mean } = &workload.duration else {
        return Err("an M/M/c scenario has exponential job durations".to_string());
    };
    let faultless = scenario.faults.is_empty() && workload.fail_probability == 0.0;
    if !faultless || workload.hang_probability > 0.0 || workload.retry.is_some() {
        return Err("an M/M/c scenario has no faults, failures or retries".to_string());
    }
    Ok(MmcQueue {
        arrival_per_s,
        service_per_s: 1e6 / mean.as_micros() as f64,
        servers: pods.replicas,
    })
}

/// Runs `text` (an M/M/c scenario) with `runs` seeds into `out` and compares it with theory.
pub fn check_mmc(
    text: &str,
    label: &str,
    runs: u64,
    out: &std::path::Path,
) -> Result<TheoryCheck, SweepError> {
    let scenario =
        crate::scenario::parse(text, label).map_err(|e| SweepError::Input(e.to_string()))?;
    let queue = mmc_of(&scenario).map_err(SweepError::Input)?;
    let seed = scenario.run.seed.unwrap_or(1);
    let plan = SweepPlan::new(
        scenario,
        text.to_string(),
        label,
        std::path::Path::new(""),
        Grid::default(),
        seed,
        runs,
    );
    let data = crate::sweep::run_sweep(&plan, None, out, true, &|| {})?;
    Ok(compare(&data, queue))
}

/// Compares the rows of an M/M/c sweep (one point) with theory.
pub fn compare(data: &SweepData, queue: MmcQueue) -> TheoryCheck {
    let agreement = |figure: &str, theory: f64| {
        let values: Vec<f64> = data.rows.iter().filter_map(|r| r.figure(figure)).collect();
        let (simulated, ci95) = mean_ci95(&values).unwrap_or((f64::NAN, f64::NAN));
        Agreement {
            simulated,
            ci95,
            theory,
        }
    };
    TheoryCheck {
        queue,
        runs: data.manifest.runs,
        seed: data.manifest.seed,
        mean_wait_s: agreement("queue_wait_mean_s", queue.mean_wait_s().unwrap_or(f64::NAN)),
        probability_of_waiting: agreement(
            "waited_fraction",
            queue
                .probability_wait_exceeds(WAITED_THRESHOLD_S)
                .unwrap_or(f64::NAN),
        ),
        utilisation: agreement("worker_utilisation", queue.utilisation()),
    }
}
