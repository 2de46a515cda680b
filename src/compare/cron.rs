//! Cron metrics of `simrq compare`: per `[[cron]]` job, the figures of simrq's
//! `cron_schedule` check (src/check/cron.rs) on both sides.
//!
//! ```text
//!   SIM_DIR/summary.json `cron` ───────────────────────────────────────┐
//!   REAL_DIR/settings.json `cron` (schedules, t0, end) ─┐               ├─► enqueues, duplicates,
//!   REAL_DIR/events.csv cron_scheduler_started,         ├─► CronCheck ──┘   misses (exact),
//!                       cron_job_enqueued (due_unix_ms) ┘                   lateness p50 / max
//! ```
//!
//! simrq writes the check's figures into summary.json. The conformance harness
//! (tests/conformance/cron.py) cannot run the check, so it writes what the check needs beside
//! its events.csv: each cron job's schedule, the Unix time of its run's instant zero (to place
//! a cron expression's instants) and the run's end. Both sides are then judged by the same code:
//! an interval job's enqueues fall into windows of one interval centred on its first enqueue's
//! schedule (k > 1 in a window: k − 1 duplicates; an empty whole window: a miss); a cron
//! expression's instants from the first `rq cron` start are matched with the enqueues due for
//! them.
//!
//! The counts are exact per seed (at least 1 % of the seeds must give the real run's); lateness (an enqueue's time
//! minus its due instant) is a time metric: in the envelope of the seeds, or within
//! max(2 s, 10 %) pairwise.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use crate::check::cron::{CronCheck, CronLimits};
use crate::event::{parse_detail, Event, EventKind, EventSink, JobId, Name};
use crate::rq::cron::CronSchedule;
use crate::sim::SimTime;

use super::envelope::{plausible, Band};
use super::{summarize, tolerance_s, CsvTable, MetricResult, RunData, LATENESS_TOLERANCE_S};

/// One cron job's figures in one run, as the `cron_schedule` check computes them.
#[derive(Clone, Debug, PartialEq)]
pub struct CronFigures {
    pub enqueues: u64,
    pub duplicates: u64,
    pub misses: u64,
    pub lateness_p50_s: Option<f64>,
    pub lateness_max_s: Option<f64>,
}

/// Every cron job of one run, by name.
pub type CronRun = BTreeMap<String, CronFigures>;

/// A run directory's cron figures: simrq's `summary.json` `cron` section, or, for a run of
/// the conformance harness, its `settings.json` `cron` section applied to its events.csv.
/// `None` when the run had no cron jobs.
pub fn read_cron(dir: &Path) -> Result<Option<CronRun>, String> {
    let summary = dir.join("summary.json");
    if summary.exists() {
        let json = read_json(&summary)?;
        return match json.get("cron") {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(cron) => figures_from_summary(cron)
                .map(Some)
                .map_err(|error| format!("{}: `cron`: {error}", summary.display())),
        };
    }
    let settings = dir.join("settings.json");
    if !settings.exists() {
        return Ok(None);
    }
    let json = read_json(&settings)?;
    let Some(meta) = json.get("cron") else {
        return Ok(None);
    };
    let meta = CronMeta::from_json(meta)
        .map_err(|error| format!("{}: `cron`: {error}", settings.display()))?;
    let events = CsvTable::read(&dir.join("events.csv"))?;
    figures_from_events(&events, &meta).map(Some)
}

fn read_json(path: &Path) -> Result<serde_json::Value, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| format!("{}: cannot read: {error}", path.display()))?;
    serde_json::from_str(&text).map_err(|error| format!("{}: not JSON: {error}", path.display()))
}

fn figures_from_summary(cron: &serde_json::Value) -> Result<CronRun, String> {
    let jobs = cron.as_object().ok_or("expected an object of cron jobs")?;
    let mut run = CronRun::new();
    for (name, stats) in jobs {
        let count = |key: &str| {
            stats
                .get(key)
                .and_then(serde_json::Value::as_u64)
                .ok_or_else(|| format!("{name}.{key}: expected a count"))
        };
        let seconds = |key: &str| stats.get(key).and_then(serde_json::Value::as_f64);
        run.insert(
            name.clone(),
            CronFigures {
                enqueues: count("enqueues")?,
                duplicates: count("duplicates")?,
                misses: count("misses")?,
                lateness_p50_s: seconds("lateness_p50_s"),
                lateness_max_s: seconds("lateness_max_s"),
            },
        );
    }
    Ok(run)
}

/// What the harness writes in settings.json for the check: the schedules, the Unix time of
/// its instant zero and the run's end in run seconds.
#[derive(Clone, Debug, PartialEq)]
pub struct CronMeta {
    pub jobs: Vec<(String, MetaSchedule)>,
    pub t0_unix_s: f64,
    pub end_s: f64,
}

/// A cron job's schedule as settings.json writes it.
#[derive(Clone, Debug, PartialEq)]
pub enum MetaSchedule {
    IntervalS(u64),
    Expression(String),
}

impl CronMeta {
    pub fn from_json(meta: &serde_json::Value) -> Result<CronMeta, String> {
        let number = |key: &str| {
            meta.get(key)
                .and_then(serde_json::Value::as_f64)
                .filter(|value| value.is_finite() && *value >= 0.0)
                .ok_or_else(|| format!("`{key}`: expected a number of seconds"))
        };
        let entries = meta
            .get("jobs")
            .and_then(serde_json::Value::as_array)
            .ok_or("`jobs`: expected a list")?;
        let mut jobs = Vec::new();
        for entry in entries {
            let name = entry
                .get("name")
                .and_then(serde_json::Value::as_str)
                .ok_or("`jobs`: each needs a `name`")?;
            let schedule = match (entry.get("interval_s"), entry.get("cron")) {
                (Some(interval), None) => MetaSchedule::IntervalS(
                    interval
                        .as_u64()
                        .filter(|seconds| *seconds > 0)
                        .ok_or_else(|| format!("{name}: `interval_s`: expected whole seconds"))?,
                ),
                (None, Some(text)) => MetaSchedule::Expression(
                    text.as_str()
                        .ok_or_else(|| format!("{name}: `cron`: expected an expression"))?
                        .to_string(),
                ),
                _ => return Err(format!("{name}: expected `interval_s` or `cron`")),
            };
            jobs.push((name.to_string(), schedule));
        }
        Ok(CronMeta {
            jobs,
            t0_unix_s: number("t0_unix_s")?,
            end_s: number("end_s")?,
        })
    }

    fn check(&self) -> Result<CronCheck, String> {
        let mut jobs = Vec::new();
        for (name, schedule) in &self.jobs {
            let schedule = match schedule {
                MetaSchedule::IntervalS(seconds) => CronSchedule::Interval(*seconds as i64),
                MetaSchedule::Expression(text) => {
                    CronSchedule::expression(text).map_err(|error| format!("{name}: {error}"))?
                }
            };
            jobs.push((Name::from(name.as_str()), schedule));
        }
        let mut check = CronCheck::new(jobs, CronLimits::default());
        check.set_origin((self.t0_unix_s * 1e6).round() as i64);
        Ok(check)
    }
}

/// Runs the `cron_schedule` check over the cron rows of an events.csv.
pub fn figures_from_events(table: &CsvTable, meta: &CronMeta) -> Result<CronRun, String> {
    let mut check = meta.check()?;
    let [time, kind, job, detail] =
        ["time_s", "kind", "job", "detail"].map(|name| table.column(name));
    let (time, kind, job, detail) = (time?, kind?, job?, detail?);
    // The check only matches a job's events with each other, so any id the file uses gets a
    // number of its own, in order of first appearance.
    let mut job_ids: HashMap<String, JobId> = HashMap::new();
    for (index, row) in table.rows().iter().enumerate() {
        let event_kind = match row[kind].as_str() {
            "cron_scheduler_started" => EventKind::CronSchedulerStarted {
                scheduler: Name::from(""),
            },
            "cron_job_enqueued" => {
                let pairs = parse_detail(&row[detail])
                    .map_err(|error| format!("{}: detail: {error}", table.locate(index)))?;
                let value = |key: &str| {
                    pairs
                        .iter()
                        .find(|(k, _)| k == key)
                        .map(|(_, v)| v.as_str())
                        .ok_or_else(|| format!("{}: detail: no `{key}`", table.locate(index)))
                };
                let due = value("due_unix_ms")?;
                let due_unix_ms = match due {
                    "-" => None,
                    text => Some(text.parse::<i64>().map_err(|_| {
                        format!(
                            "{}: due_unix_ms `{text}`: not a number",
                            table.locate(index)
                        )
                    })?),
                };
                EventKind::CronJobEnqueued {
                    cron_job: Name::from(value("cron_job")?),
                    due_unix_ms,
                }
            }
            "job_started" => EventKind::JobStarted {
                worker: Name::from(""),
            },
            "job_finished" => EventKind::JobFinished,
            "job_failed" => EventKind::JobFailed {
                reason: String::new(),
            },
            _ => continue,
        };
        let seconds = table.number(index, time)?.unwrap_or(0.0);
        let event = Event {
            time: SimTime((seconds.max(0.0) * 1e6).round() as u64),
            seq: index as u64,
            pod: None,
            process: None,
            queue: None,
            job: (!row[job].is_empty()).then(|| {
                let next = JobId(job_ids.len() as u64 + 1);
                *job_ids.entry(row[job].clone()).or_insert(next)
            }),
            attempt: None,
            kind: event_kind,
        };
        check.on_event(&event);
    }
    let end = SimTime((meta.end_s * 1e6).round() as u64);
    let (stats, _) = check.finish(end);
    Ok(stats
        .into_iter()
        .map(|(name, stats)| {
            let figures = CronFigures {
                enqueues: stats.enqueues,
                duplicates: stats.duplicates,
                misses: stats.misses,
                lateness_p50_s: stats.lateness_p50_s,
                lateness_max_s: stats.lateness_max_s,
            };
            (name, figures)
        })
        .collect())
}

/// `tick 14, minutely 0`, or `none`.
fn counts_text(run: Option<&CronRun>, pick: fn(&CronFigures) -> u64) -> String {
    match run {
        None => "none".into(),
        Some(run) if run.is_empty() => "none".into(),
        Some(run) => run
            .iter()
            .map(|(name, figures)| format!("{name} {}", pick(figures)))
            .collect::<Vec<_>>()
            .join(", "),
    }
}

fn count_metric(
    name: &str,
    real: &RunData,
    sim: &RunData,
    pick: fn(&CronFigures) -> u64,
) -> MetricResult {
    let values = |run: &RunData| -> BTreeMap<String, u64> {
        run.cron
            .iter()
            .flatten()
            .map(|(job, figures)| (job.clone(), pick(figures)))
            .collect()
    };
    let (real_values, sim_values) = (values(real), values(sim));
    let mut names: Vec<&String> = real_values.keys().chain(sim_values.keys()).collect();
    names.sort();
    names.dedup();
    let differing: Vec<String> = names
        .iter()
        .filter(|job| real_values.get(**job) != sim_values.get(**job))
        .map(|job| {
            let show = |v: Option<&u64>| v.map_or("absent".to_string(), u64::to_string);
            format!(
                "{job} real {} sim {}",
                show(real_values.get(*job)),
                show(sim_values.get(*job))
            )
        })
        .collect();
    MetricResult {
        name: name.into(),
        real: counts_text(real.cron.as_ref(), pick),
        sim: counts_text(sim.cron.as_ref(), pick),
        tolerance: "equal for every cron job".into(),
        passed: differing.is_empty(),
        note: summarize(&differing),
    }
}

pub(super) fn cron_enqueues(real: &RunData, sim: &RunData) -> MetricResult {
    count_metric("cron enqueues", real, sim, |f| f.enqueues)
}

pub(super) fn cron_duplicates(real: &RunData, sim: &RunData) -> MetricResult {
    count_metric("cron duplicate enqueues", real, sim, |f| f.duplicates)
}

pub(super) fn cron_misses(real: &RunData, sim: &RunData) -> MetricResult {
    count_metric("cron missed instants", real, sim, |f| f.misses)
}

/// True when either side ran cron jobs: only then are the cron rows compared.
pub(super) fn has_cron<'a>(mut runs: impl Iterator<Item = &'a RunData>) -> bool {
    runs.any(|run| run.cron.as_ref().is_some_and(|cron| !cron.is_empty()))
}

const LATENESS_NAME: &str = "cron enqueue lateness";

/// Each cron job's p50 and max: `tick p50 0.001 s max 0.002 s`.
fn lateness_text(run: Option<&CronRun>) -> String {
    let parts: Vec<String> = run
        .into_iter()
        .flatten()
        .map(
            |(name, figures)| match (figures.lateness_p50_s, figures.lateness_max_s) {
                (Some(p50), Some(max)) => format!("{name} p50 {p50:.3} s max {max:.3} s"),
                _ => format!("{name} none"),
            },
        )
        .collect();
    if parts.is_empty() {
        "none".into()
    } else {
        parts.join(", ")
    }
}

/// The pairwise lateness metric: each cron job's p50 and max within max(2 s, 10 %).
pub(super) fn cron_lateness_pair(real: &RunData, sim: &RunData) -> MetricResult {
    let mut problems = Vec::new();
    let names = job_names(std::iter::once(real).chain(std::iter::once(sim)));
    for name in &names {
        let pair = |run: &RunData| {
            let figures = run.cron.as_ref().and_then(|cron| cron.get(name));
            figures.map(|f| (f.lateness_p50_s, f.lateness_max_s))
        };
        match (
            pair(real).unwrap_or_default(),
            pair(sim).unwrap_or_default(),
        ) {
            ((None, None), (None, None)) => {}
            ((Some(rp), Some(rm)), (Some(sp), Some(sm))) => {
                for (what, r, s) in [("p50", rp, sp), ("max", rm, sm)] {
                    if (r - s).abs() > tolerance_s(LATENESS_TOLERANCE_S, r) {
                        problems.push(format!("{name} {what} real {r:.3} s sim {s:.3} s"));
                    }
                }
            }
            _ => problems.push(format!("{name}: one run has due enqueues, the other none")),
        }
    }
    MetricResult {
        name: LATENESS_NAME.into(),
        real: lateness_text(real.cron.as_ref()),
        sim: lateness_text(sim.cron.as_ref()),
        tolerance: format!(
            "p50 and max within max({LATENESS_TOLERANCE_S} s, {:.0}%)",
            super::RELATIVE_TOLERANCE * 100.0
        ),
        passed: problems.is_empty(),
        note: summarize(&problems),
    }
}

fn job_names<'a>(runs: impl Iterator<Item = &'a RunData>) -> Vec<String> {
    let mut names: Vec<String> = runs
        .flat_map(|run| run.cron.iter().flat_map(|cron| cron.keys().cloned()))
        .collect();
    names.sort();
    names.dedup();
    names
}

/// The envelope lateness metric: each cron job's real p50 and max in the p1…p99 of the seeds
/// that have due enqueues too, widened by `margin`; whether a cron job has due enqueues at all
/// must agree with at least 1 % of the seeds ([`plausible`]).
pub(super) fn cron_lateness_envelope(
    real: &RunData,
    sims: &[RunData],
    margin: f64,
) -> MetricResult {
    let mut problems = Vec::new();
    let mut bands = Vec::new();
    for name in job_names(std::iter::once(real).chain(sims.iter())) {
        let figures = |run: &RunData| run.cron.as_ref().and_then(|cron| cron.get(&name)).cloned();
        let real_figures = figures(real);
        let real_pair = real_figures
            .as_ref()
            .and_then(|f| f.lateness_p50_s.zip(f.lateness_max_s));
        let sim_pairs: Vec<Option<(f64, f64)>> = sims
            .iter()
            .map(|sim| figures(sim).and_then(|f| f.lateness_p50_s.zip(f.lateness_max_s)))
            .collect();
        let present: Vec<(f64, f64)> = sim_pairs.iter().flatten().copied().collect();
        let agreeing = match real_pair {
            None => sims.len() - present.len(),
            Some(_) => present.len(),
        };
        match real_pair {
            None if present.is_empty() => bands.push(format!("{name} none")),
            None if plausible(agreeing, sims.len()) => {
                bands.push(format!("{name} none in {agreeing} of {} seeds", sims.len()))
            }
            Some((p50, max)) if plausible(agreeing, sims.len()) => {
                let p50_band = Band::of(&present.iter().map(|p| p.0).collect::<Vec<_>>(), margin);
                let max_band = Band::of(&present.iter().map(|p| p.1).collect::<Vec<_>>(), margin);
                for (what, value, band) in [("p50", p50, p50_band), ("max", max, max_band)] {
                    if !band.contains(value) {
                        problems.push(format!(
                            "{name} {what} real {value:.3} s outside {:.3}…{:.3} s",
                            band.low, band.high
                        ));
                    }
                }
                bands.push(format!(
                    "{name} p50 {:.3}…{:.3} s max {:.3}…{:.3} s",
                    p50_band.low, p50_band.high, max_band.low, max_band.high
                ));
            }
            _ => {
                problems.push(format!(
                    "{name}: due enqueues in the real run: {}; in {} of {} seeds",
                    if real_pair.is_some() { "yes" } else { "none" },
                    present.len(),
                    sims.len()
                ));
                bands.push(format!(
                    "{name} in {} of {} seeds",
                    present.len(),
                    sims.len()
                ));
            }
        }
    }
    MetricResult {
        name: LATENESS_NAME.into(),
        real: lateness_text(real.cron.as_ref()),
        sim: format!("{} over {} seeds", bands.join(", "), sims.len()),
        tolerance: format!("p50 and max in the seeds' p1…p99 ± {margin} s"),
        passed: problems.is_empty(),
        note: summarize(&problems),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::{compare_envelope, compare_runs, EnvelopeTolerances};

    const T0: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z
    const HEADER: &str = "time_s,seq,kind,pod,process,queue,job,attempt,detail\n";

    fn meta(end_s: f64) -> CronMeta {
        CronMeta {
            jobs: vec![
                ("tick".into(), MetaSchedule::IntervalS(5)),
                (
                    "minutely".into(),
                    MetaSchedule::Expression("* * * * *".into()),
                ),
            ],
            t0_unix_s: T0 as f64,
            end_s,
        }
    }

    fn enqueue(time_s: f64, job: &str, cron_job: &str, due_s: Option<f64>) -> String {
        let due = due_s.map_or("-".to_string(), |s| {
            format!("{}", ((T0 as f64 + s) * 1000.0).round() as i64)
        });
        format!(
            "{time_s:.6},0,cron_job_enqueued,app-0,cron,default,{job},,cron_job={cron_job} \
             due_unix_ms={due}\n"
        )
    }

    /// Two processes start at 0.5 s and 0.6 s; both run `tick` at once and 5 s later, then
    /// die; one enqueues `minutely` 2 ms after 60 s.
    fn events() -> String {
        let mut text = String::from(HEADER);
        text.push_str("0.500000,0,cron_scheduler_started,app-0,cron,,,,scheduler=a\n");
        text.push_str(&enqueue(0.5, "j1", "tick", None));
        text.push_str("0.600000,0,cron_scheduler_started,app-1,cron,,,,scheduler=b\n");
        text.push_str(&enqueue(0.6, "j2", "tick", None));
        text.push_str(&enqueue(5.501, "j3", "tick", Some(5.5)));
        text.push_str(&enqueue(5.6, "j4", "tick", Some(5.6)));
        text.push_str(&enqueue(60.002, "j5", "minutely", Some(60.0)));
        text.push_str("60.1,0,job_started,app-0,horse,default,j5,1,pid 7\n");
        text
    }

    #[test]
    fn the_harness_events_are_judged_as_the_check_judges_simulated_ones() {
        let table = CsvTable::parse("events.csv", &events()).unwrap();
        let run = figures_from_events(&table, &meta(70.0)).unwrap();
        // tick: windows of 5 s around 0.5 s + 5 k; 14 whole ones before 70 s (from -2 s), the
        // first two with two enqueues each, the other 12 empty.
        let tick = &run["tick"];
        assert_eq!((tick.enqueues, tick.duplicates, tick.misses), (4, 2, 12));
        assert_eq!(tick.lateness_max_s, Some(0.001));
        // minutely: the instant at 60 s, enqueued once, 2 ms late.
        let minutely = &run["minutely"];
        assert_eq!(
            (minutely.enqueues, minutely.duplicates, minutely.misses),
            (1, 0, 0)
        );
        assert_eq!(minutely.lateness_max_s, Some(0.002));
        // Cut at 50 s, the instant at 60 s is not watched.
        let early = figures_from_events(&table, &meta(50.0)).unwrap();
        assert_eq!(early["minutely"].misses, 0);
        assert_eq!(early["tick"].misses, 8);
    }

    #[test]
    fn a_missed_instant_counts() {
        let text: String = events()
            .lines()
            .filter(|line| !line.contains("minutely"))
            .map(|line| format!("{line}\n"))
            .collect();
        let table = CsvTable::parse("events.csv", &text).unwrap();
        let run = figures_from_events(&table, &meta(70.0)).unwrap();
        assert_eq!((run["minutely"].enqueues, run["minutely"].misses), (0, 1));
        assert_eq!(run["minutely"].lateness_max_s, None);
    }

    #[test]
    fn directories_give_their_figures() {
        let dir = tempfile::tempdir().unwrap();
        // A run of the harness: settings.json beside events.csv.
        std::fs::write(dir.path().join("events.csv"), events()).unwrap();
        let settings = serde_json::json!({"cron": {"t0_unix_s": T0, "end_s": 70.0, "jobs": [
            {"name": "tick", "interval_s": 5}, {"name": "minutely", "cron": "* * * * *"}]}});
        std::fs::write(dir.path().join("settings.json"), settings.to_string()).unwrap();
        let real = read_cron(dir.path()).unwrap().unwrap();
        assert_eq!(real["tick"].duplicates, 2);
        // A simrq run: summary.json's section wins.
        let summary = serde_json::json!({"cron": {"tick": {"scheduled": 6, "enqueues": 7,
            "duplicates": 1, "misses": 0, "overlaps": 0, "lateness_p50_s": 0.001,
            "lateness_p99_s": 0.002, "lateness_max_s": 0.002}}});
        std::fs::write(dir.path().join("summary.json"), summary.to_string()).unwrap();
        let sim = read_cron(dir.path()).unwrap().unwrap();
        assert_eq!(sim["tick"].enqueues, 7);
        assert_eq!(sim["tick"].lateness_max_s, Some(0.002));
        // No cron section: no cron figures.
        std::fs::write(dir.path().join("summary.json"), "{\"jobs\": 3}").unwrap();
        assert_eq!(read_cron(dir.path()).unwrap(), None);
        // A broken section is an error, not silence.
        std::fs::remove_file(dir.path().join("summary.json")).unwrap();
        std::fs::write(dir.path().join("settings.json"), r#"{"cron": {"jobs": 3}}"#).unwrap();
        assert!(read_cron(dir.path()).unwrap_err().contains("jobs"));
    }

    fn run_with(enqueues: u64, lateness_s: f64) -> RunData {
        let figures = CronFigures {
            enqueues,
            duplicates: enqueues / 2,
            misses: 0,
            lateness_p50_s: Some(lateness_s / 2.0),
            lateness_max_s: Some(lateness_s),
        };
        RunData {
            events: Vec::new(),
            jobs: Vec::new(),
            cron: Some(CronRun::from([("tick".to_string(), figures)])),
        }
    }

    fn verdicts(report: &crate::compare::CompareReport) -> Vec<(&str, bool)> {
        report
            .metrics
            .iter()
            .filter(|m| m.name.starts_with("cron"))
            .map(|m| (m.name.as_str(), m.passed))
            .collect()
    }

    #[test]
    fn pairwise_counts_are_exact_and_lateness_has_a_tolerance() {
        let real = run_with(14, 0.004);
        let same = compare_runs(&real, &run_with(14, 0.001));
        assert!(same.passed(), "{}", same.to_table());
        let report = compare_runs(&real, &run_with(16, 3.0));
        assert_eq!(
            verdicts(&report),
            [
                ("cron enqueues", false),
                ("cron duplicate enqueues", false),
                ("cron missed instants", true),
                ("cron enqueue lateness", false),
            ]
        );
        let plain = RunData {
            cron: None,
            ..run_with(1, 0.0)
        };
        assert_eq!(
            compare_runs(&plain, &plain).metrics.len(),
            7,
            "no cron rows"
        );
    }

    #[test]
    fn the_envelope_wants_the_counts_in_one_percent_of_seeds_and_the_lateness_in_the_band() {
        let sims: Vec<RunData> = (0..100)
            .map(|seed| run_with(14, 0.001 + seed as f64 * 0.0001))
            .collect();
        let tolerances = EnvelopeTolerances::default();
        let inside = compare_envelope(&run_with(14, 0.3), &sims, tolerances);
        assert!(inside.passed(), "{}", inside.to_table());
        let far = compare_envelope(&run_with(14, 1.5), &sims, tolerances);
        assert_eq!(verdicts(&far)[3], ("cron enqueue lateness", false));
        // 13 enqueues is an outcome no seed gives: it fails; once one seed in 100 gives it,
        // the model does allow it and the metric passes, listing the seeds that differ.
        let rare = run_with(13, 0.001);
        let report = compare_envelope(&rare, &sims, tolerances);
        assert_eq!(verdicts(&report)[0], ("cron enqueues", false));
        let mut one_off = sims.clone();
        one_off[7] = run_with(13, 0.001);
        let report = compare_envelope(&rare, &one_off, tolerances);
        let enqueues = &report.metrics[report.metrics.len() - 4];
        assert!(enqueues.passed, "{}", report.to_table());
        assert!(enqueues.sim.contains("(99 seeds)"), "{}", enqueues.sim);
        assert!(enqueues.note.starts_with("run 1: "), "{}", enqueues.note);
        let missing = RunData {
            cron: None,
            ..run_with(0, 0.0)
        };
        let report = compare_envelope(&missing, &sims, tolerances);
        assert!(!report.passed(), "a real run without the cron job differs");
    }
}
