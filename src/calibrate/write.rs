//! The calibrated scenario as TOML text. Written by hand rather than serialized, because each
//! fitted value carries a comment (its sample and its error) and each default a reason.

use std::fmt::Write as _;

use super::fit::{self, ArrivalFit, HostCostFit};
use super::record::format_utc;
use super::{manifests, Calibration, QueueFit, WorkerGroup};

/// How the written file refers to trace files: the path written in the scenario (relative to
/// it) for each queue, when `--trace` asked for them.
pub type TraceNames = std::collections::BTreeMap<String, String>;

/// A duration as the scenario format writes it: `"812ms"`, `"1.25s"`, `"40us"`.
pub fn duration_text(seconds: f64) -> String {
    let seconds = seconds.max(1e-6);
    if seconds < 1e-3 {
        format!("{}us", (seconds * 1e6).round().max(1.0))
    } else if seconds < 1.0 {
        format!("{}ms", trim(format!("{:.1}", seconds * 1e3)))
    } else {
        format!("{}s", trim(format!("{seconds:.3}")))
    }
}

fn trim(number: String) -> String {
    if number.contains('.') {
        number
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
    } else {
        number
    }
}

/// The whole scenario: the provenance comment, `[run]`, `[calibration]`, `[rq]`, the pods
/// (from [`pods_section`]) and one workload per queue.
pub fn scenario_text(calibration: &Calibration, traces: &TraceNames, written_at: &str) -> String {
    let mut text = provenance_comment(calibration, written_at);
    let (from, to) = calibration.window_unix_s;
    let trace_end = if traces.is_empty() {
        0.0
    } else {
        to - from + 1.0
    };
    let duration_s = (to - from)
        .max(trace_end)
        .clamp(60.0, 30.0 * 86_400.0)
        .ceil();
    let _ = write!(
        text,
        "\n[run]\n# The sample's window: the run lasts as long as the jobs above arrived.\n\
         duration = \"{}s\"\n",
        duration_s as u64
    );
    let pairs = calibration.host_cost.busy_gaps_s.len();
    let _ = write!(
        text,
        "\n[calibration]\nsource = \"{}\"\nfrom = \"{}\"\nto = \"{}\"\njobs = {}\n\
         host_cost_pairs = {pairs}\n",
        calibration.source,
        format_utc(from),
        format_utc(to),
        calibration.jobs
    );
    text.push_str(&rq_section(&calibration.host_cost));
    match &calibration.manifests {
        Some(deployments) => {
            text.push_str(&manifests::rq_lines(deployments));
            text.push_str(&manifests::pods_section(calibration, deployments));
        }
        None => text.push_str(&pods_section(&calibration.workers, &calibration.queues)),
    }
    for queue in &calibration.queues {
        text.push_str(&workload_section(queue, traces.get(&queue.name)));
    }
    wrap_comments(&text, 100)
}

/// Wraps comment lines longer than `width` at spaces, continuing them with the same `#` and
/// indent plus two spaces, so that the file reads within 100 columns.
fn wrap_comments(text: &str, width: usize) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 20);
    for line in text.lines() {
        if !line.starts_with('#') || line.chars().count() <= width {
            out.push_str(line);
            out.push('\n');
            continue;
        }
        let indent = line[1..].len() - line[1..].trim_start().len();
        let continuation = format!("#{}", " ".repeat(indent + 2));
        let mut current = String::new();
        for word in line.split(' ') {
            let fits = current.chars().count() + 1 + word.chars().count() <= width;
            if !current.is_empty() && !fits && current.trim_end() != "#" {
                out.push_str(current.trim_end());
                out.push('\n');
                current = continuation.clone();
            } else if !current.is_empty() {
                current.push(' ');
            }
            current.push_str(word);
        }
        out.push_str(&current);
        out.push('\n');
    }
    out
}

/// The comment that opens the file: where every fitted value came from and how well it fits.
fn provenance_comment(calibration: &Calibration, written_at: &str) -> String {
    let (from, to) = calibration.window_unix_s;
    let mut text = format!(
        "# Calibrated by `simrq calibrate` from {} at {written_at}.\n\
         # Sample: {} jobs enqueued {} .. {} ({:.0} s), read with SCAN/HMGET only.\n\
         # Each fitted value below with its sample (n, window) and the fit's error:\n",
        calibration.source,
        calibration.jobs,
        format_utc(from),
        format_utc(to),
        to - from
    );
    for queue in &calibration.queues {
        text.push_str(&queue_comment(queue));
    }
    text.push_str(&host_cost_comment(&calibration.host_cost));
    text.push_str(
        "# Not known to calibration, left at simrq's defaults (RQ 2.12's, redis-py's and\n\
         # Kubernetes'): [redis] (latency, persistence), pods' termination_grace_period,\n\
         # rollout and restart settings, [[faults]] (none: add the faults to test) and [checks].\n",
    );
    for warning in &calibration.warnings {
        let _ = writeln!(text, "# warning: {warning}");
    }
    text
}

fn queue_comment(queue: &QueueFit) -> String {
    let mut text = format!("#   queue \"{}\" ({} jobs):\n", queue.name, queue.jobs);
    text.push_str(&arrival_comment(queue));
    text.push_str(&duration_comment(queue));
    if let Some(f) = &queue.failures {
        let p = f.probability;
        let _ = writeln!(
            text,
            "#     fail_probability: {p:.4} = {} failed of {} executions ({} ended jobs); \
             ± {:.4} s.e.",
            f.failed_executions,
            f.executions,
            f.jobs,
            (p * (1.0 - p) / f.executions as f64).sqrt()
        );
    }
    text.push_str(&settings_comment(queue));
    text
}

fn arrival_comment(queue: &QueueFit) -> String {
    let mut text = String::new();
    match &queue.arrival {
        Some(ArrivalFit::Poisson {
            n,
            window_s,
            rate_per_s,
            dispersion,
        }) => {
            let dispersion = dispersion
                .map_or("not measured (under 10 minutes)".to_string(), |d| {
                    format!("{d:.2} (1 for Poisson arrivals)")
                });
            let _ = writeln!(
                text,
                "#     arrival: poisson_per_s {rate_per_s:.4} from {n} enqueue times over \
                 {window_s:.0} s (± {:.1} % s.e.); dispersion of per-minute counts {dispersion}",
                100.0 / (*n as f64).sqrt()
            );
        }
        Some(ArrivalFit::Daily {
            n,
            window_s,
            peak_per_s,
            trough_per_s,
            peak_at_h,
            relative_rms_error,
        }) => {
            let _ = writeln!(
                text,
                "#     arrival: daily peak {peak_per_s:.4}/s at {peak_at_h:.1} h UTC, trough \
                 {trough_per_s:.4}/s, from {n} enqueue times over {:.1} days; hourly rates \
                 differ from the cosine by {:.0} % rms",
                window_s / 86_400.0,
                relative_rms_error * 100.0
            );
        }
        None => text.push_str("#     arrival: fewer than 2 enqueue times, default kept\n"),
    }
    text
}

fn duration_comment(queue: &QueueFit) -> String {
    let mut text = String::new();
    match &queue.durations {
        Some(d) => {
            let _ = writeln!(
                text,
                "#     duration: lognormal median {} p99 {} (σ of logs {:.3}) from {} ended jobs \
                 (ended_at − started_at); KS distance {:.3}; p90 fitted {} vs observed {}; p99 \
                 observed {}",
                duration_text(d.median_s),
                duration_text(d.p99_s),
                d.sigma,
                d.n,
                d.ks_distance,
                duration_text(d.fitted_p90_s),
                duration_text(d.observed_p90_s),
                duration_text(d.observed_p99_s)
            );
        }
        None => text.push_str("#     duration: fewer than 2 ended jobs, default kept\n"),
    }
    text
}

fn settings_comment(queue: &QueueFit) -> String {
    let mut text = String::new();
    let share = |(value, count, total): &(i64, usize, usize), name: &str| {
        format!("#     {name}: {value} s on {count} of {total} jobs that have it\n")
    };
    if let Some((max, intervals, count, total)) = &queue.retry {
        let _ = writeln!(
            text,
            "#     retry: max {max}, intervals {intervals:?} s on {count} of {total} jobs with a \
             Retry"
        );
    }
    for (value, name) in [
        (&queue.timeout_s, "job_timeout"),
        (&queue.result_ttl_s, "result_ttl"),
        (&queue.failure_ttl_s, "failure_ttl"),
    ] {
        if let Some(value) = value {
            text.push_str(&share(value, name));
        }
    }
    if let Some((p50, p99, n)) = queue.wait_s {
        let _ = writeln!(
            text,
            "#     observed queue wait (enqueued_at → started_at, {n} jobs): p50 {} p99 {} \
             (what `simrq run` on this file should reproduce)",
            duration_text(p50),
            duration_text(p99)
        );
    }
    let c = &queue.counts;
    let _ = writeln!(
        text,
        "#     at the scan: {} waiting, {} started, {} finished, {} failed, {} scheduled, {} \
         deferred",
        c.waiting, c.started, c.finished, c.failed, c.scheduled, c.deferred
    );
    text
}

fn host_cost_comment(host: &HostCostFit) -> String {
    match fit::split_host_cost(host) {
        None => "#   [rq] horse_startup, horse_exit: not measured (no worker ran two jobs back \
                 to back), left at 0 s: the capacity of short jobs is overstated\n"
            .to_string(),
        Some(((start_median, start_p99), (exit_median, exit_p99))) => format!(
            "#   [rq] horse_startup median {} p99 {}, horse_exit median {} p99 {}: from {} \
             back-to-back job pairs on {} workers (ended_at to the next started_at while that \
             job waited) and {} pickups by an idle worker (enqueued_at to started_at: the \
             horse's start); the exit is the rest of the gap{}\n",
            duration_text(start_median),
            duration_text(start_p99),
            duration_text(exit_median),
            duration_text(exit_p99),
            host.busy_gaps_s.len(),
            host.workers,
            host.idle_pickups_s.len(),
            if host.idle_pickups_s.is_empty() {
                " (no idle pickup: the gap is split evenly)"
            } else {
                ""
            }
        ),
    }
}

/// A `[rq]` host cost as a distribution: a lognormal when the tail is wider than the median.
fn cost_distribution((median_s, p99_s): (f64, f64)) -> String {
    if p99_s > median_s * 1.01 && median_s > 0.0 {
        format!(
            "{{ lognormal = {{ median = \"{}\", p99 = \"{}\" }} }}",
            duration_text(median_s),
            duration_text(p99_s)
        )
    } else {
        format!("\"{}\"", duration_text(median_s))
    }
}

fn rq_section(host: &HostCostFit) -> String {
    match fit::split_host_cost(host) {
        Some((startup, exit)) => format!(
            "\n[rq]\n# The host's per-job cost of the forking worker, measured (see above).\n\
             horse_startup = {}\nhorse_exit = {}\n",
            cost_distribution(startup),
            cost_distribution(exit)
        ),
        None => "\n[rq]\n# horse_startup and horse_exit: not measured, simrq's default 0 s.\n"
            .to_string(),
    }
}

/// The `[[pods]]` groups: one per set of queues that live workers listened on (without
/// `--k8s`; with it, [`manifests::pods_section`] writes the pods).
pub fn pods_section(groups: &[WorkerGroup], queues: &[QueueFit]) -> String {
    let mut text = String::new();
    if groups.is_empty() {
        let names: Vec<String> = queues.iter().map(|q| format!("\"{}\"", q.name)).collect();
        let _ = write!(
            text,
            "\n# No live worker was registered in rq:workers: one default worker on every queue.\n\
             [[pods]]\nname = \"worker\"\nreplicas = 1\nqueues = [{}]\n",
            names.join(", ")
        );
        return text;
    }
    for (index, group) in groups.iter().enumerate() {
        let name = if groups.len() == 1 {
            "worker".to_string()
        } else {
            format!("worker-{index}")
        };
        let queues: Vec<String> = group.queues.iter().map(|q| format!("\"{q}\"")).collect();
        let hosts = if group.hostnames.is_empty() {
            "?".to_string()
        } else {
            group.hostnames.join(", ")
        };
        let dead = match group.dead {
            0 => String::new(),
            dead => format!(", {dead} more dead"),
        };
        let _ = writeln!(
            text,
            "\n# {} live workers seen on {} (hosts: {hosts}){dead}.",
            group.live,
            group.queues.join(", ")
        );
        text.push_str(
            "# start_delay 0: they were already running when the sample's first job came. \
             Grace period, rollout and restart settings are not in Redis: defaults.\n",
        );
        if group.with_scheduler {
            text.push_str(
                "# with_scheduler: a live scheduler holds these queues' lock; RQ does not record \
                 which worker forked it, so the whole group is marked.\n",
            );
        }
        let _ = write!(
            text,
            "[[pods]]\nname = \"{name}\"\nreplicas = {}\nqueues = [{}]\nwith_scheduler = {}\n\
             start_delay = \"0s\"\n",
            group.live,
            queues.join(", "),
            group.with_scheduler
        );
    }
    text
}

fn workload_section(queue: &QueueFit, trace: Option<&String>) -> String {
    let mut text = format!(
        "\n[[workload]]\nname = \"{0}\"\nqueue = \"{0}\"\n",
        queue.name
    );
    match (trace, &queue.arrival) {
        (Some(path), _) => {
            let _ = writeln!(text, "arrival = {{ trace = \"{path}\" }}");
        }
        (None, Some(ArrivalFit::Poisson { rate_per_s, .. })) => {
            let _ = writeln!(
                text,
                "arrival = {{ poisson_per_s = {} }}",
                number(*rate_per_s)
            );
        }
        (
            None,
            Some(ArrivalFit::Daily {
                peak_per_s,
                trough_per_s,
                peak_at_h,
                ..
            }),
        ) => {
            let _ = writeln!(
                text,
                "# The run starts at midnight UTC, so peak_at is the hour of day seen.\n\
                 arrival = {{ daily = {{ peak_per_s = {}, trough_per_s = {}, \
                 peak_at = \"{}s\" }} }}",
                number(*peak_per_s),
                number(*trough_per_s),
                (peak_at_h.rem_euclid(24.0) * 3600.0).round() as u64
            );
        }
        (None, None) => text.push_str("# arrival: not measured, default\n"),
    }
    if let Some(d) = &queue.durations {
        let _ = writeln!(
            text,
            "duration = {}",
            cost_distribution((d.median_s, d.p99_s))
        );
    }
    if let Some(f) = &queue.failures {
        let _ = writeln!(text, "fail_probability = {}", number(f.probability));
    }
    text.push_str(&workload_settings(queue));
    text
}

/// A rate or probability with enough digits, as a TOML float.
fn number(value: f64) -> String {
    let text = trim(format!("{value:.6}"));
    if text.contains('.') {
        text
    } else {
        format!("{text}.0")
    }
}

fn workload_settings(queue: &QueueFit) -> String {
    let mut text = String::new();
    if let Some((max, intervals, _, _)) = &queue.retry {
        let max = (*max).min(1000);
        let list: Vec<String> = intervals.iter().map(|s| format!("\"{s}s\"")).collect();
        let _ = writeln!(
            text,
            "retry = {{ max = {max}, interval = [{}] }}",
            list.join(", ")
        );
    }
    let whole = |value: &Option<(i64, usize, usize)>, key: &str, limit_s: i64| match value {
        Some((seconds, _, _)) if *seconds > 0 && *seconds <= limit_s => {
            format!("{key} = \"{seconds}s\"\n")
        }
        Some((seconds, _, _)) => {
            format!(
                "# {key}: RQ's {seconds} (none or no expiry) has no scenario form; default kept\n"
            )
        }
        None => String::new(),
    };
    text.push_str(&whole(&queue.timeout_s, "job_timeout", 30 * 86_400));
    text.push_str(&whole(&queue.result_ttl_s, "result_ttl", 10 * 365 * 86_400));
    text.push_str(&whole(
        &queue.failure_ttl_s,
        "failure_ttl",
        10 * 365 * 86_400,
    ));
    text
}

/// The `--trace` CSV of one queue: seconds since the sample's first enqueue, one row a job.
pub fn trace_csv(queue: &QueueFit, start_unix_s: f64) -> String {
    let mut text = String::from("seconds\n");
    for t in &queue.arrivals_unix_s {
        let _ = writeln!(text, "{:.6}", t - start_unix_s);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::calibrate::fit::{FailureFit, HostCostFit, LognormalFit};
    use crate::calibrate::{Calibration, QueueFit};

    /// A calibration with the daily form, a retry, RQ's -1 timeout, no worker and no host
    /// cost: the forms the real-RQ test does not reach must still validate.
    fn daily_calibration() -> Calibration {
        let queue = QueueFit {
            name: "reports".into(),
            jobs: 5000,
            arrival: Some(ArrivalFit::Daily {
                n: 5000,
                window_s: 2.0 * 86_400.0,
                peak_per_s: 0.05,
                trough_per_s: 0.01,
                peak_at_h: 14.25,
                relative_rms_error: 0.1,
            }),
            durations: Some(LognormalFit {
                n: 5000,
                median_s: 0.8,
                sigma: 1.4,
                p99_s: 20.0,
                observed_p90_s: 5.0,
                fitted_p90_s: 4.8,
                observed_p99_s: 21.0,
                ks_distance: 0.02,
            }),
            failures: Some(FailureFit {
                jobs: 5000,
                executions: 5100,
                failed_executions: 150,
                probability: 150.0 / 5100.0,
            }),
            retry: Some((3, vec![10, 30, 60], 4000, 4000)),
            timeout_s: Some((-1, 5000, 5000)),
            result_ttl_s: Some((86_400, 5000, 5000)),
            failure_ttl_s: None,
            wait_s: Some((0.1, 3.0, 5000)),
            counts: Default::default(),
            arrivals_unix_s: vec![],
        };
        Calibration {
            source: "redis://db:6379/0".into(),
            window_unix_s: (1_796_000_000.0, 1_796_172_800.0),
            jobs: 5000,
            queues: vec![queue],
            workers: vec![],
            host_cost: HostCostFit {
                busy_gaps_s: vec![],
                idle_pickups_s: vec![],
                workers: 0,
            },
            warnings: vec!["no live worker in rq:workers".into()],
            manifests: None,
        }
    }

    #[test]
    fn the_daily_form_a_retry_and_no_worker_are_written_as_a_valid_scenario() {
        let text = scenario_text(&daily_calibration(), &TraceNames::new(), "now");
        let scenario =
            crate::scenario::parse(&text, "daily.toml").unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert!(text.contains("peak_at = \"51300s\""), "{text}");
        assert!(text.contains("retry = { max = 3, interval = [\"10s\", \"30s\", \"60s\"] }"));
        assert!(text.contains("# job_timeout: RQ's -1"), "{text}");
        assert!(
            text.contains("not measured (no worker ran two jobs back to back)"),
            "{text}"
        );
        assert!(text.contains("# warning: no live worker"), "{text}");
        assert_eq!(scenario.pods[0].queues, vec!["reports".to_string()]);
        assert_eq!(
            scenario.run.duration,
            crate::sim::SimDuration::from_secs(172_800)
        );
        assert_eq!(scenario.calibration.unwrap().host_cost_pairs, Some(0));
    }

    #[test]
    fn long_comments_are_wrapped_and_keys_are_left_alone() {
        let long = format!(
            "#   {}\nkey = \"{}\"\n",
            "word ".repeat(40).trim_end(),
            "x".repeat(120)
        );
        let wrapped = wrap_comments(&long, 100);
        assert!(
            wrapped
                .lines()
                .all(|l| l.len() <= 100 || l.starts_with("key")),
            "{wrapped}"
        );
        assert!(
            wrapped.lines().nth(1).unwrap().starts_with("#     word"),
            "{wrapped}"
        );
        assert_eq!(wrapped.matches("word").count(), 40);
    }

    #[test]
    fn durations_are_written_in_the_scenario_format() {
        assert_eq!(duration_text(0.8), "800ms");
        assert_eq!(duration_text(0.0125), "12.5ms");
        assert_eq!(duration_text(20.0), "20s");
        assert_eq!(duration_text(1.2345), "1.234s");
        assert_eq!(duration_text(0.00004), "40us");
        assert_eq!(duration_text(0.0), "1us");
        for text in ["800ms", "12.5ms", "20s", "1.234s", "40us"] {
            assert!(crate::sim::SimDuration::parse(text).is_ok(), "{text}");
        }
    }
}
