//! Shrinking a failing run: the smallest scenario that still violates the same check with the
//! same seed.
//!
//! ```text
//!  failing (scenario, seed) ──script the faults that fired──► scripted
//!        ┌───────────────────────────────────────────────────────┘
//!        └─► loop until nothing changes: cut after the violation, remove faults one by one,
//!            halve the duration, shorten the drain, fewer pods, fewer and simpler jobs
//!            └─► round fault times ──► Shrunk
//! ```
//!
//! Every step proposes candidates in a fixed order and keeps the first that still fails the
//! check; candidates are run side by side, a batch per round, but the choice never depends on
//! which finished first. A `rate` or `every` fault is first replaced by scripted `at` faults
//! at the times it actually fired: random times are drawn from a stream named after the
//! fault's index, so removing another fault would otherwise move them.

use std::path::PathBuf;

use rayon::prelude::*;

use super::{failed_checks, FailedCheck};
use crate::run::{run_quietly, RunError};
use crate::scenario::{validate, Arrival, FaultSpec, Scenario};
use crate::sim::{SimDuration, SimTime};

/// Limits of a shrink.
#[derive(Clone, Debug)]
pub struct ShrinkOptions {
    /// Relative trace paths are resolved from here.
    pub base_dir: PathBuf,
    /// Most runs spent on candidates.
    pub max_runs: usize,
}

impl Default for ShrinkOptions {
    fn default() -> ShrinkOptions {
        ShrinkOptions {
            base_dir: PathBuf::new(),
            max_runs: 400,
        }
    }
}

/// A smallest failing scenario found.
#[derive(Clone, Debug, PartialEq)]
pub struct Shrunk {
    pub check: &'static str,
    pub seed: u64,
    /// `[run] seed` is set to `seed`, so `simrq run FILE` replays it as it is.
    pub scenario: Scenario,
    /// What was removed or changed, one line each, in the order it happened.
    pub changes: Vec<String>,
    /// Runs spent, the failing run's re-run included.
    pub runs: usize,
    /// The check's first violation in the shrunk run.
    pub violation: FailedCheck,
}

struct Candidate {
    scenario: Scenario,
    change: String,
}

struct Shrinker<'a> {
    check: &'static str,
    seed: u64,
    options: &'a ShrinkOptions,
    runs: usize,
    current: Scenario,
    violation: FailedCheck,
    changes: Vec<String>,
}

/// Shrinks `scenario`, which fails `check` with `seed`, to a smallest one that still does.
/// Errors: the scenario cannot run (bad input), or this seed does not fail `check`.
pub fn shrink(
    scenario: &Scenario,
    check: &'static str,
    seed: u64,
    options: &ShrinkOptions,
) -> Result<Shrunk, RunError> {
    let original = run_quietly(scenario, seed, &options.base_dir)?;
    let violation = failed_checks(&original.violations)
        .into_iter()
        .find(|failed| failed.check == check)
        .ok_or_else(|| RunError::Input(format!("seed {seed} does not fail `{check}`")))?;
    let mut current = scenario.clone();
    current.run.seed = Some(seed);
    let mut shrinker = Shrinker {
        check,
        seed,
        options,
        runs: 1,
        current,
        violation,
        changes: Vec::new(),
    };
    shrinker.script_faults(&original.fault_firings);
    loop {
        let before = shrinker.current.clone();
        shrinker.cut_after_violation();
        shrinker.remove_faults();
        shrinker.halve_duration();
        shrinker.shorten_drain();
        shrinker.fewer_pods();
        shrinker.fewer_jobs();
        if shrinker.current == before || shrinker.out_of_budget() {
            break;
        }
    }
    shrinker.round_fault_times();
    Ok(Shrunk {
        check,
        seed,
        scenario: shrinker.current,
        changes: shrinker.changes,
        runs: shrinker.runs,
        violation: shrinker.violation,
    })
}

impl Shrinker<'_> {
    fn out_of_budget(&self) -> bool {
        self.runs >= self.options.max_runs
    }

    /// The check's first violation when `scenario` runs with the seed, if it still fails.
    fn still_fails(&self, scenario: &Scenario) -> Option<FailedCheck> {
        let result = run_quietly(scenario, self.seed, &self.options.base_dir).ok()?;
        failed_checks(&result.violations)
            .into_iter()
            .find(|failed| failed.check == self.check)
    }

    /// Keeps the first candidate, in order, that is valid and still fails; runs them a batch
    /// (one per core) at a time. Returns whether one was kept.
    fn keep_first_failing(&mut self, candidates: Vec<Candidate>) -> bool {
        let valid: Vec<Candidate> = candidates
            .into_iter()
            .filter(|c| c.scenario != self.current && validate(&c.scenario).errors.is_empty())
            .collect();
        let batch = rayon::current_num_threads().max(1);
        for chunk in valid.chunks(batch) {
            if self.out_of_budget() {
                return false;
            }
            let chunk = &chunk[..chunk.len().min(self.options.max_runs - self.runs)];
            self.runs += chunk.len();
            let verdicts: Vec<Option<FailedCheck>> = chunk
                .par_iter()
                .map(|candidate| self.still_fails(&candidate.scenario))
                .collect();
            let kept = chunk.iter().zip(verdicts).find_map(|(c, v)| Some((c, v?)));
            if let Some((candidate, violation)) = kept {
                self.current = candidate.scenario.clone();
                self.violation = violation;
                self.changes.push(candidate.change.clone());
                return true;
            }
        }
        false
    }

    /// Replaces every fault by scripted `at` faults at the times it fired, and drops the
    /// entries that never fired (swarm runs switch some off).
    fn script_faults(&mut self, firings: &[(SimTime, usize)]) {
        let faults = &self.current.faults;
        let all_scripted = faults.iter().all(|f| f.at.is_some());
        if faults.is_empty() || (all_scripted && !self.current.run.swarm) {
            return;
        }
        let mut scripted = self.current.clone();
        scripted.run.swarm = false;
        scripted.faults = firings
            .iter()
            .map(|(time, index)| scripted_fault(&faults[*index], *time))
            .collect();
        let fired: std::collections::BTreeSet<usize> = firings.iter().map(|(_, i)| *i).collect();
        let change = format!(
            "the {} [[faults]] entries became {} scripted `at` faults at the times they fired \
             ({} never fired{})",
            faults.len(),
            scripted.faults.len(),
            faults.len() - fired.len(),
            if self.current.run.swarm {
                "; swarm off"
            } else {
                ""
            }
        );
        self.keep_first_failing(vec![Candidate {
            scenario: scripted,
            change,
        }]);
    }

    /// Ends the run a minute after the violation (whole minutes), dropping later faults.
    fn cut_after_violation(&mut self) {
        let end_s = (self.violation.time_s / 60.0).floor() as u64 * 60 + 60;
        let duration = SimDuration::from_secs(end_s);
        if duration >= self.current.run.duration {
            return;
        }
        let candidate = self.with_duration(duration);
        let change = format!(
            "duration {} -> {} (a minute after the violation){}",
            self.current.run.duration,
            duration,
            dropped_note(self.current.faults.len() - candidate.faults.len())
        );
        self.keep_first_failing(vec![Candidate {
            scenario: candidate,
            change,
        }]);
    }

    /// The current scenario with a shorter duration and without the faults after it.
    fn with_duration(&self, duration: SimDuration) -> Scenario {
        let mut candidate = self.current.clone();
        candidate.run.duration = duration;
        candidate
            .faults
            .retain(|f| f.at.is_none_or(|at| at < duration));
        candidate
    }

    /// Removes faults one at a time, the latest first, for as long as one can go.
    fn remove_faults(&mut self) {
        loop {
            let candidates = (0..self.current.faults.len())
                .rev()
                .map(|index| {
                    let mut scenario = self.current.clone();
                    let removed = scenario.faults.remove(index);
                    Candidate {
                        scenario,
                        change: format!("removed fault: {}", describe_fault(&removed)),
                    }
                })
                .collect();
            if !self.keep_first_failing(candidates) {
                return;
            }
        }
    }

    fn halve_duration(&mut self) {
        let half = SimDuration::from_secs(self.current.run.duration.whole_secs() / 2);
        if half < SimDuration::from_secs(60) {
            return;
        }
        let candidate = self.with_duration(half);
        let change = format!(
            "duration {} -> {half}{}",
            self.current.run.duration,
            dropped_note(self.current.faults.len() - candidate.faults.len())
        );
        self.keep_first_failing(vec![Candidate {
            scenario: candidate,
            change,
        }]);
    }

    /// A shorter drain, except for `liveness`: a drain too short for the jobs in flight to
    /// settle would fail it whatever the faults did.
    fn shorten_drain(&mut self) {
        if self.check == crate::check::liveness::NAME {
            return;
        }
        let candidates = [60, 300]
            .into_iter()
            .map(SimDuration::from_secs)
            .filter(|drain| *drain < self.current.run.drain)
            .map(|drain| {
                let mut scenario = self.current.clone();
                scenario.run.drain = drain;
                let change = format!("drain {} -> {drain}", self.current.run.drain);
                Candidate { scenario, change }
            })
            .collect();
        self.keep_first_failing(candidates);
    }

    /// Fewer replicas per pod group (the fewest that still fail), and fewer groups.
    fn fewer_pods(&mut self) {
        for group in 0..self.current.pods.len() {
            let replicas = self.current.pods[group].replicas;
            let mut counts = vec![1, 2, replicas / 2, replicas.saturating_sub(1)];
            counts.sort_unstable();
            counts.dedup();
            let candidates = counts
                .into_iter()
                .filter(|count| *count >= 1 && *count < replicas)
                .map(|count| {
                    let mut scenario = self.current.clone();
                    scenario.pods[group].replicas = count;
                    let name = &scenario.pods[group].name;
                    let change = format!("pods `{name}`: {replicas} -> {count} replicas");
                    Candidate { scenario, change }
                })
                .collect();
            self.keep_first_failing(candidates);
        }
        let mut group = self.current.pods.len();
        while group > 0 && self.current.pods.len() > 1 {
            group -= 1;
            let mut scenario = self.current.clone();
            let removed = scenario.pods.remove(group);
            let change = format!("removed pod group `{}`", removed.name);
            self.keep_first_failing(vec![Candidate { scenario, change }]);
        }
    }

    /// Fewer workloads, slower arrivals, then jobs that neither fail nor retry.
    fn fewer_jobs(&mut self) {
        let mut index = self.current.workload.len();
        while index > 0 && self.current.workload.len() > 1 {
            index -= 1;
            let mut scenario = self.current.clone();
            let removed = scenario.workload.remove(index);
            let change = format!("removed workload `{}`", removed.label());
            self.keep_first_failing(vec![Candidate { scenario, change }]);
        }
        for index in 0..self.current.workload.len() {
            let candidates = [4.0, 2.0]
                .into_iter()
                .filter_map(|factor| self.slower(index, factor))
                .collect();
            self.keep_first_failing(candidates);
            let mut scenario = self.current.clone();
            let workload = &mut scenario.workload[index];
            workload.fail_probability = 0.0;
            workload.retry = None;
            let change = format!("workload `{}`: no failures, no retries", workload.label());
            self.keep_first_failing(vec![Candidate { scenario, change }]);
        }
    }

    /// Workload `index` with `factor` times fewer arrivals, if its arrival form allows it.
    fn slower(&self, index: usize, factor: f64) -> Option<Candidate> {
        let mut scenario = self.current.clone();
        let workload = &mut scenario.workload[index];
        let (before, after) = match &mut workload.arrival {
            Arrival::PoissonPerS(rate) | Arrival::ConstantPerS(rate) => {
                let before = *rate;
                *rate /= factor;
                (format!("{before}/s"), format!("{rate}/s"))
            }
            Arrival::Bursts(bursts) if bursts.size > 1 => {
                let before = bursts.size;
                bursts.size = (bursts.size as f64 / factor).ceil() as u64;
                (format!("bursts of {before}"), format!("of {}", bursts.size))
            }
            Arrival::Batch { count, .. } if *count > 1 => {
                let before = *count;
                *count = (*count as f64 / factor).ceil() as u64;
                (format!("{before} jobs"), format!("{count}"))
            }
            _ => return None,
        };
        let change = format!("workload `{}`: {before} -> {after}", workload.label());
        Some(Candidate { scenario, change })
    }

    /// Fault times rounded to whole seconds, else to milliseconds, for a readable file.
    fn round_fault_times(&mut self) {
        let candidates = [1_000_000, 1_000]
            .into_iter()
            .filter_map(|unit| {
                let mut scenario = self.current.clone();
                for fault in &mut scenario.faults {
                    let at = fault.at?;
                    let rounded = (at.as_micros() + unit / 2) / unit * unit;
                    fault.at = Some(SimDuration::from_micros(rounded));
                }
                let name = if unit == 1_000_000 {
                    "seconds"
                } else {
                    "milliseconds"
                };
                let change = format!("fault times rounded to whole {name}");
                Some(Candidate { scenario, change })
            })
            .collect();
        self.keep_first_failing(candidates);
    }
}

/// `spec` as a scripted fault at `time`.
fn scripted_fault(spec: &FaultSpec, time: SimTime) -> FaultSpec {
    let mut scripted = spec.clone();
    scripted.at = Some(SimDuration::from_micros(time.as_micros()));
    scripted.every = None;
    scripted.rate = None;
    scripted
}

/// One line for a fault: its kind, target, time and length.
pub fn describe_fault(fault: &FaultSpec) -> String {
    let mut text = fault.kind.name().to_string();
    if !fault.target.is_any() {
        text.push_str(&format!(" of {}", fault.target));
    }
    if let Some(pods) = &fault.pods {
        text.push_str(&format!(" in `{pods}`"));
    }
    if let Some(at) = fault.at {
        text.push_str(&format!(" at {}s", SimTime(at.as_micros())));
    }
    if let Some(every) = fault.every {
        text.push_str(&format!(" every {every}"));
    }
    if let Some(rate) = &fault.rate {
        text.push_str(&format!(" at rate {rate}"));
    }
    if let Some(span) = fault.for_duration {
        text.push_str(&format!(" for {span}"));
    }
    text
}

fn dropped_note(dropped: usize) -> String {
    match dropped {
        0 => String::new(),
        1 => "; the one fault after it removed".to_string(),
        n => format!("; the {n} faults after it removed"),
    }
}
