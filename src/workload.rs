//! Workloads: job classes built from `[[workload]]` and the producers that enqueue them on
//! their arrival process (constant, Poisson, bursts, a daily profile, a trace, a batch).

use std::f64::consts::PI;
use std::path::Path;
use std::rc::Rc;

use rand::Rng;
use rand_distr::{Distribution as _, Exp};

use crate::event::{name_of, Name};
use crate::rq::body::{DependencyFlags, DurationDist, JobClass, RepeatPolicy, WebhookPolicy};
use crate::rq::env::{ProcCtx, RqEnv};
use crate::rq::queue::{enqueue, enqueue_in};
use crate::scenario::{Arrival, Distribution, WebhookOn, WorkloadSpec};
use crate::sim::{HostId, SimDuration, SimRng, SimTime};

/// The workload's name: its `name`, else its queue.
pub fn workload_name(spec: &WorkloadSpec) -> String {
    spec.name.clone().unwrap_or_else(|| spec.queue.clone())
}

pub fn duration_dist(distribution: &Distribution) -> DurationDist {
    match *distribution {
        Distribution::Constant(span) => DurationDist::Constant(span),
        Distribution::Exponential { mean } => DurationDist::Exponential { mean },
        Distribution::Uniform { min, max } => DurationDist::Uniform { min, max },
        Distribution::Lognormal { median, p99 } => DurationDist::LogNormal { median, p99 },
    }
}

fn whole_secs(spans: &[SimDuration]) -> Vec<i64> {
    spans.iter().map(|span| span.whole_secs() as i64).collect()
}

/// The job class of a `[[workload]]` section.
pub fn job_class(spec: &WorkloadSpec) -> JobClass {
    let mut class = JobClass::simple(&workload_name(spec), &spec.queue, SimDuration::ZERO);
    class.duration = duration_dist(&spec.duration);
    class.fail_probability = spec.fail_probability;
    class.fail_attempts = spec.fail_attempts.clone();
    class.hang_probability = spec.hang_probability;
    if let Some(retry) = &spec.retry {
        class.retry_max = Some(i64::from(retry.max));
        class.retry_intervals_s = whole_secs(&retry.interval).into();
        class.enqueue_at_front_on_retry = retry.enqueue_at_front;
    }
    if let Some(returned) = &spec.return_retry {
        class.return_retry_probability = returned.probability;
        class.return_retry_max = i64::from(returned.max);
        class.return_retry_intervals_s = whole_secs(&returned.interval);
    }
    let secs = |span: Option<SimDuration>| span.map(|s| s.whole_secs() as i64);
    class.job_timeout_s = secs(spec.job_timeout);
    class.payload_bytes = spec.payload_size.map(|size| size.0 as usize);
    class.result_ttl_s = secs(spec.result_ttl);
    class.failure_ttl_s = secs(spec.failure_ttl);
    class.ttl_s = secs(spec.ttl);
    class.at_front = spec.at_front;
    class.repeat = spec.repeat.as_ref().map(|repeat| RepeatPolicy {
        times: i64::from(repeat.times),
        // RQ's default `interval=0` is the list `[0]`, and so is an empty list here.
        intervals_s: match whole_secs(&repeat.interval) {
            none if none.is_empty() => vec![0],
            intervals => intervals,
        },
    });
    class.webhooks = spec.webhook.as_ref().map(|webhook| WebhookPolicy {
        on_finished: webhook.on.contains(&WebhookOn::Finished),
        on_failed: webhook.on.contains(&WebhookOn::Failed),
        latency: duration_dist(&webhook.latency),
        timeout: webhook.timeout,
    });
    // Either flag set makes it a `Dependency(...)`; both off is a plain list of parents.
    class.dependency = spec.depends_on.as_ref().and_then(|depends| {
        (depends.allow_failure || depends.enqueue_at_front).then_some(DependencyFlags {
            allow_failure: depends.allow_failure,
            enqueue_at_front: depends.enqueue_at_front,
        })
    });
    class
}

/// Reads a trace file: the first column of each row is seconds since the start. The file is
/// read as CSV the way spreadsheets write it: an optional header row, quoted fields (with
/// `""` for a quote), LF or CRLF line ends, a UTF-8 byte order mark; blank lines are skipped.
pub fn read_trace(path: &Path) -> Result<Vec<SimTime>, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    parse_trace(&path.display().to_string(), &bytes)
}

/// Parses the bytes of a trace file; `label` names the file in errors, which give its line.
pub fn parse_trace(label: &str, bytes: &[u8]) -> Result<Vec<SimTime>, String> {
    let mut reader = crate::csv_input::reader(bytes);
    let mut times = Vec::new();
    let mut record = csv::StringRecord::new();
    let mut first_record = true;
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(error) => return Err(crate::csv_input::error_at(label, bytes, &error)),
        }
        let line = crate::csv_input::line_at(bytes, record.position());
        let first = record.get(0).unwrap_or("").trim();
        if first.is_empty() {
            continue;
        }
        let header_allowed = std::mem::replace(&mut first_record, false);
        match first.parse::<f64>() {
            Ok(seconds) if seconds >= 0.0 && seconds.is_finite() => {
                times.push(SimTime(SimDuration::from_secs_f64(seconds).0))
            }
            Err(_) if header_allowed => continue,
            _ => {
                return Err(format!(
                    "{label}:{line}: expected seconds since the start (a number >= 0) in the \
                     first column, found {first:?}"
                ))
            }
        }
    }
    times.sort();
    Ok(times)
}

/// Produces arrival instants of one workload, in order.
pub struct Arrivals {
    arrival: Arrival,
    trace: Vec<SimTime>,
    next_index: usize,
    rng: SimRng,
    /// `start`, until the first arrival has been produced.
    start: Option<SimTime>,
    /// Jobs left before the `jobs` limit; `None`: no limit.
    remaining: Option<u64>,
}

impl Arrivals {
    pub fn new(arrival: Arrival, trace: Vec<SimTime>, rng: SimRng) -> Arrivals {
        Arrivals {
            arrival,
            trace,
            next_index: 0,
            rng,
            start: None,
            remaining: None,
        }
    }

    /// The workload's `start` and `jobs` limits: nothing arrives before `start` (a constant
    /// stream's first job arrives exactly then), and nothing after the `jobs`-th job.
    pub fn limited(mut self, start: Option<SimDuration>, jobs: Option<u64>) -> Arrivals {
        self.start = start.map(|span| SimTime(span.0));
        self.remaining = jobs;
        self
    }

    /// The next arrival after `now` (and the number of jobs arriving then), or `None`.
    pub fn next(&mut self, now: SimTime) -> Option<(SimTime, u64)> {
        if self.remaining == Some(0) {
            return None;
        }
        let (time, count) = match self.start.take() {
            Some(start) if matches!(self.arrival, Arrival::ConstantPerS(rate) if rate > 0.0) => {
                (start.max(now), 1)
            }
            Some(start) => self.next_of_form(start.max(now))?,
            None => self.next_of_form(now)?,
        };
        let count = self.remaining.map_or(count, |left| count.min(left));
        if let Some(left) = &mut self.remaining {
            *left -= count;
        }
        Some((time, count))
    }

    /// The next arrival of the arrival form alone, without `start` and `jobs`.
    fn next_of_form(&mut self, now: SimTime) -> Option<(SimTime, u64)> {
        match self.arrival.clone() {
            Arrival::ConstantPerS(rate) if rate > 0.0 => Some((
                now + SimDuration::from_secs_f64(1.0 / rate).max(SimDuration(1)),
                1,
            )),
            Arrival::PoissonPerS(rate) if rate > 0.0 => Some((now + self.exponential_gap(rate), 1)),
            Arrival::Bursts(bursts) if bursts.every > SimDuration::ZERO => {
                let index = now.0 / bursts.every.0 + 1;
                Some((SimTime(index * bursts.every.0), bursts.size))
            }
            Arrival::Daily(daily) => {
                self.next_daily(now, daily.peak_per_s, daily.trough_per_s, daily.peak_at)
            }
            Arrival::Trace(_) => {
                let time = *self.trace.get(self.next_index)?;
                self.next_index += 1;
                Some((time.max(now), 1))
            }
            Arrival::Batch { count, at } if self.next_index == 0 => {
                self.next_index = 1;
                Some((SimTime(at.0).max(now), count))
            }
            _ => None,
        }
    }

    fn exponential_gap(&mut self, rate: f64) -> SimDuration {
        match Exp::new(rate) {
            Ok(exp) => SimDuration::from_secs_f64(exp.sample(&mut self.rng)).max(SimDuration(1)),
            Err(_) => SimDuration::MAX,
        }
    }

    /// A Poisson process whose rate follows a 24 h cosine, by thinning at the peak rate.
    fn next_daily(
        &mut self,
        now: SimTime,
        peak: f64,
        trough: f64,
        peak_at: SimDuration,
    ) -> Option<(SimTime, u64)> {
        let ceiling = peak.max(trough);
        if ceiling <= 0.0 {
            return None;
        }
        let mut time = now;
        loop {
            time += self.exponential_gap(ceiling);
            let phase = (time.as_secs_f64() - peak_at.as_secs_f64()) / 86_400.0 * 2.0 * PI;
            let rate = trough + (peak - trough) * (1.0 + phase.cos()) / 2.0;
            if self.rng.gen::<f64>() * ceiling <= rate {
                return Some((time, 1));
            }
        }
    }
}

/// One dependent workload of a pipeline: for each arrival of the root, `fan_out` jobs of
/// `class`, each with `depends_on` every job the earlier stages `parents` enqueued for it.
pub struct Stage {
    pub class: Rc<JobClass>,
    /// Indices of earlier stages; 0 is the root workload.
    pub parents: Vec<usize>,
    pub fan_out: u32,
    /// How long the producer waits before this stage's jobs.
    pub delay: SimDuration,
    /// `enqueue_in` instead of `enqueue` (which ignores the dependencies, §1.2 D10).
    pub enqueue_in: Option<SimDuration>,
}

/// Starts the producer of one workload: it enqueues each arrival in a short process of its
/// own (as independent web requests would), until `until`. With `stages`, each arrival is a
/// pipeline run: the root job, then each stage's jobs with their dependencies.
pub fn start_producer(
    env: &Rc<RqEnv>,
    host: HostId,
    class: JobClass,
    mut arrivals: Arrivals,
    enqueue_delay: Option<SimDuration>,
    stages: Vec<Stage>,
    until: SimTime,
) {
    let env2 = env.clone();
    let name = format!("producer/{}", class.name);
    // Shared by the short process of every arrival, which only reads them.
    let class = Rc::new(class);
    let stages: Rc<[Stage]> = stages.into();
    // A root job has no parents; one empty list shared by every arrival saves an allocation
    // per job.
    let no_parents: Rc<[Name]> = Rc::from([]);
    let body = async move {
        let sim = env2.sim.clone();
        let pod = Name::from("producer");
        let mut sequence = 0u64;
        while let Some((time, count)) = arrivals.next(sim.now()) {
            if time >= until {
                break;
            }
            sim.sleep_until(time).await;
            for _ in 0..count {
                sequence += 1;
                let process = name_of(format_args!("producer/{}#{sequence}", class.name));
                let ctx = ProcCtx::new(&env2, &pod, &process, host);
                let (class, stages) = (class.clone(), stages.clone());
                let no_parents = no_parents.clone();
                sim.spawn(host, &process, None, async move {
                    let root = enqueue_one(&ctx, &class, enqueue_delay, &no_parents).await;
                    match root {
                        Some(root) => run_stages(&ctx, root, &stages).await,
                        None => 1,
                    }
                });
            }
        }
        0
    };
    env.sim.spawn(host, &name, None, body);
}

/// The rest of a pipeline run after its root job `root`; 1 if an enqueue failed (the run
/// stops there, as a request that raised would).
async fn run_stages(ctx: &ProcCtx, root: Name, stages: &[Stage]) -> i32 {
    if stages.is_empty() {
        // Most workloads: no list of what was enqueued to build.
        return 0;
    }
    let mut enqueued: Vec<Vec<Name>> = vec![vec![root]];
    for stage in stages {
        if stage.delay > SimDuration::ZERO {
            ctx.sim().sleep(stage.delay).await;
        }
        let parents: Rc<[Name]> = stage
            .parents
            .iter()
            .flat_map(|&index| enqueued[index].iter().cloned())
            .collect();
        let mut ids = Vec::with_capacity(stage.fan_out as usize);
        for _ in 0..stage.fan_out {
            match enqueue_one(ctx, &stage.class, stage.enqueue_in, &parents).await {
                Some(id) => ids.push(id),
                None => return 1,
            }
        }
        enqueued.push(ids);
    }
    0
}

/// `enqueue` or `enqueue_in` one job; a Redis error is reported and gives `None`.
async fn enqueue_one(
    ctx: &ProcCtx,
    class: &JobClass,
    delay: Option<SimDuration>,
    parents: &Rc<[Name]>,
) -> Option<Name> {
    let result = match delay {
        Some(delay) => enqueue_in(ctx, class, delay, parents).await,
        None => enqueue(ctx, class, parents).await,
    };
    result
        .map_err(|error| ctx.redis_error("enqueue", "EXEC", &error))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::RngStreams;

    fn drain(mut arrivals: Arrivals) -> Vec<(SimTime, u64)> {
        let mut now = SimTime::ZERO;
        let mut out = Vec::new();
        while let Some((time, count)) = arrivals.next(now) {
            out.push((time, count));
            now = time;
            assert!(out.len() < 1_000, "an endless stream");
        }
        out
    }

    fn arrivals(arrival: Arrival) -> Arrivals {
        Arrivals::new(arrival, Vec::new(), RngStreams::new(1).stream("w"))
    }

    #[test]
    fn a_constant_stream_with_start_and_jobs_is_a_finite_list() {
        let stream =
            arrivals(Arrival::ConstantPerS(4.0)).limited(Some(SimDuration::from_secs(1)), Some(3));
        let times: Vec<f64> = drain(stream).iter().map(|(t, _)| t.as_secs_f64()).collect();
        assert_eq!(times, vec![1.0, 1.25, 1.5]);
    }

    #[test]
    fn a_batch_is_cut_to_the_job_limit_and_start_delays_it() {
        let batch = Arrival::Batch {
            count: 10,
            at: SimDuration::from_secs(2),
        };
        let stream = arrivals(batch).limited(Some(SimDuration::from_secs(5)), Some(4));
        assert_eq!(drain(stream), vec![(SimTime::from_secs(5), 4)]);
    }

    #[test]
    fn a_poisson_stream_starts_after_start() {
        let stream =
            arrivals(Arrival::PoissonPerS(10.0)).limited(Some(SimDuration::from_secs(30)), Some(5));
        let list = drain(stream);
        assert_eq!(list.len(), 5);
        assert!(list[0].0 > SimTime::from_secs(30));
    }

    #[test]
    fn bursts_enqueue_size_jobs_every_period_from_the_first_period() {
        let bursts = Arrival::Bursts(crate::scenario::Bursts {
            every: SimDuration::from_secs(600),
            size: 500,
        });
        let stream = arrivals(bursts).limited(None, Some(1_200));
        assert_eq!(
            drain(stream),
            vec![
                (SimTime::from_secs(600), 500),
                (SimTime::from_secs(1_200), 500),
                (SimTime::from_secs(1_800), 200),
            ]
        );
    }

    #[test]
    fn a_daily_profile_peaks_at_peak_at_and_troughs_twelve_hours_later() {
        let daily = Arrival::Daily(crate::scenario::Daily {
            peak_per_s: 20.0,
            trough_per_s: 2.0,
            peak_at: SimDuration::from_secs(14 * 3_600),
        });
        let mut stream = arrivals(daily);
        let mut per_hour = [0u64; 24];
        let mut now = SimTime::ZERO;
        while let Some((time, count)) = stream.next(now) {
            if time >= SimTime::from_secs(86_400) {
                break;
            }
            per_hour[(time.as_secs_f64() / 3_600.0) as usize] += count;
            now = time;
        }
        // The cosine's mean over the hour around its top and bottom, times 3,600 s.
        let (peak, trough) = (per_hour[14] as f64, per_hour[2] as f64);
        assert!((peak - 71_700.0).abs() < 1_500.0, "peak hour {peak}");
        assert!((trough - 7_500.0).abs() < 500.0, "trough hour {trough}");
    }

    fn seconds(times: &[SimTime]) -> Vec<f64> {
        times.iter().map(|t| t.as_secs_f64()).collect()
    }

    #[test]
    fn a_trace_as_a_spreadsheet_saves_it_header_quotes_and_crlf() {
        // A header whose quoted name holds a comma, quoted numbers, a quoted second column
        // holding a comma and a doubled quote, CRLF line ends and a blank line.
        let text = "\u{feff}\"seconds, since start\",\"job\"\r\n\
                    \"2.5\",\"a, \"\"quoted\"\" name\"\r\n\
                    \r\n\
                    0.5,b\r\n\
                    \"1\"\r\n";
        let times = parse_trace("t.csv", text.as_bytes()).unwrap();
        assert_eq!(seconds(&times), vec![0.5, 1.0, 2.5]);
    }

    #[test]
    fn a_quoted_field_may_hold_a_line_break_without_shifting_rows() {
        let text = "t,note\n1,\"two\nlines\"\n3,x\n";
        let times = parse_trace("t.csv", text.as_bytes()).unwrap();
        assert_eq!(seconds(&times), vec![1.0, 3.0]);
    }

    #[test]
    fn a_bad_trace_row_is_located_by_its_line() {
        let error = parse_trace("t.csv", b"seconds\r\n1\r\nsoon\r\n").unwrap_err();
        assert!(error.starts_with("t.csv:3: "), "{error}");
        assert!(error.contains("\"soon\""), "{error}");
        let error = parse_trace("t.csv", b"-1\n").unwrap_err();
        assert!(error.starts_with("t.csv:1: "), "{error}");
    }
}
