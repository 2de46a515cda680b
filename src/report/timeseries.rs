//! `timeseries.csv`: the runner samples the cluster every N seconds and hands each sample here.
//! Rows are streamed; what the charts need is kept per queue in a series of bounded length,
//! halved (each pair of points merged, keeping maxima so peaks stay visible) whenever full.

use std::collections::BTreeMap;
use std::io::Write;

use crate::event::Name;
use crate::report::csv::{push_row, seconds};
use crate::report::output_dir::{AtomicFile, OutputDir, ReportError};
use crate::sim::SimTime;

/// The file name.
pub const TIMESERIES_CSV: &str = "timeseries.csv";

/// The header row.
pub const TIMESERIES_HEADER: &str =
    "time_s,queue,depth,scheduled,started,failed,finished,live_workers,busy_workers,lock_holder";

/// Points kept per queue for the charts.
pub const MAX_CHART_POINTS: usize = 4_000;

/// One sample of the whole cluster.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    pub time: SimTime,
    pub queues: Vec<QueueSample>,
    pub live_workers: u32,
    pub busy_workers: u32,
}

/// One queue's registries at a sample.
#[derive(Clone, Debug, PartialEq)]
pub struct QueueSample {
    pub queue: Name,
    /// Length of `rq:queue:<q>`.
    pub depth: u64,
    /// Size of `rq:scheduled:<q>`.
    pub scheduled: u64,
    pub started: u64,
    pub failed: u64,
    pub finished: u64,
    pub lock_holder: Option<Name>,
}

/// One chart point: the maxima over the samples it stands for, at the first one's time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeriesPoint {
    pub time: SimTime,
    pub depth: u64,
    pub scheduled: u64,
}

impl SeriesPoint {
    fn merge(self, later: SeriesPoint) -> SeriesPoint {
        SeriesPoint {
            time: self.time,
            depth: self.depth.max(later.depth),
            scheduled: self.scheduled.max(later.scheduled),
        }
    }
}

/// A queue's depth and scheduled-set size over the run, at most [`MAX_CHART_POINTS`] long.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueSeries {
    pub queue: Name,
    pub points: Vec<SeriesPoint>,
    /// Samples each point stands for (a power of two).
    samples_per_point: u64,
    /// Samples merged into the point being built, and that point.
    pending: Option<(u64, SeriesPoint)>,
}

impl QueueSeries {
    fn new(queue: Name) -> QueueSeries {
        QueueSeries {
            queue,
            points: Vec::new(),
            samples_per_point: 1,
            pending: None,
        }
    }

    fn push(&mut self, point: SeriesPoint) {
        let (count, merged) = match self.pending.take() {
            Some((count, so_far)) => (count + 1, so_far.merge(point)),
            None => (1, point),
        };
        if count < self.samples_per_point {
            self.pending = Some((count, merged));
            return;
        }
        self.points.push(merged);
        if self.points.len() >= MAX_CHART_POINTS {
            self.halve();
        }
    }

    fn halve(&mut self) {
        let merged = self
            .points
            .chunks(2)
            .map(|pair| {
                pair.iter()
                    .copied()
                    .reduce(SeriesPoint::merge)
                    .expect("non-empty")
            })
            .collect();
        self.points = merged;
        self.samples_per_point *= 2;
    }

    fn flush(&mut self) {
        if let Some((_, point)) = self.pending.take() {
            self.points.push(point);
        }
    }
}

/// Streams `timeseries.csv` and keeps the chart series.
pub struct TimeseriesCsv {
    file: Option<AtomicFile>,
    line: String,
    series: BTreeMap<Name, QueueSeries>,
}

impl TimeseriesCsv {
    pub fn create(dir: &OutputDir) -> Result<TimeseriesCsv, ReportError> {
        let mut file = dir.create_file(TIMESERIES_CSV)?;
        writeln!(file, "{TIMESERIES_HEADER}").map_err(|e| ReportError::io(file.tmp_path(), e))?;
        Ok(TimeseriesCsv {
            file: Some(file),
            line: String::with_capacity(128),
            series: BTreeMap::new(),
        })
    }

    /// Writes one row per queue of `sample`, in the order given.
    pub fn write(&mut self, sample: &Sample) -> Result<(), ReportError> {
        let file = self.file.as_mut().expect("write after finish");
        for queue in &sample.queues {
            let fields = [
                seconds(sample.time),
                queue.queue.to_string(),
                queue.depth.to_string(),
                queue.scheduled.to_string(),
                queue.started.to_string(),
                queue.failed.to_string(),
                queue.finished.to_string(),
                sample.live_workers.to_string(),
                sample.busy_workers.to_string(),
                queue.lock_holder.as_deref().unwrap_or("").to_owned(),
            ];
            self.line.clear();
            push_row(&mut self.line, fields.iter().map(String::as_str));
            file.write_all(self.line.as_bytes())
                .map_err(|e| ReportError::io(file.tmp_path(), e))?;
            let point = SeriesPoint {
                time: sample.time,
                depth: queue.depth,
                scheduled: queue.scheduled,
            };
            self.series
                .entry(queue.queue.clone())
                .or_insert_with(|| QueueSeries::new(queue.queue.clone()))
                .push(point);
        }
        Ok(())
    }

    /// Renames the file to `timeseries.csv` and returns the chart series, by queue name.
    pub fn finish(&mut self) -> Result<Vec<QueueSeries>, ReportError> {
        if let Some(file) = self.file.take() {
            file.commit()?;
        }
        let series = std::mem::take(&mut self.series);
        Ok(series
            .into_values()
            .map(|mut s| {
                s.flush();
                s
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(time_s: u64, depth: u64) -> Sample {
        Sample {
            time: SimTime::from_secs(time_s),
            queues: vec![QueueSample {
                queue: Name::from("default"),
                depth,
                scheduled: 1,
                started: 2,
                failed: 3,
                finished: 4,
                lock_holder: (time_s > 0).then(|| Name::from("s1")),
            }],
            live_workers: 4,
            busy_workers: 2,
        }
    }

    #[test]
    fn rows_are_streamed_and_renamed_at_finish() {
        let root = tempfile::tempdir().unwrap();
        let dir = OutputDir::create(root.path(), false).unwrap();
        let mut writer = TimeseriesCsv::create(&dir).unwrap();
        writer.write(&sample(0, 7)).unwrap();
        writer.write(&sample(5, 9)).unwrap();
        assert!(!dir.file(TIMESERIES_CSV).exists());
        let series = writer.finish().unwrap();
        let text = std::fs::read_to_string(dir.file(TIMESERIES_CSV)).unwrap();
        let expected = format!(
            "{TIMESERIES_HEADER}\n\
             0.000000,default,7,1,2,3,4,4,2,\n\
             5.000000,default,9,1,2,3,4,4,2,s1\n"
        );
        assert_eq!(text, expected);
        assert_eq!(series[0].points.len(), 2);
    }

    #[test]
    fn long_series_are_downsampled_keeping_peaks() {
        let mut series = QueueSeries::new(Name::from("q"));
        let samples = 3 * MAX_CHART_POINTS as u64;
        for i in 0..samples {
            let depth = if i == 7_777 { 1_000_000 } else { i % 10 };
            let time = SimTime::from_secs(i);
            series.push(SeriesPoint {
                time,
                depth,
                scheduled: 0,
            });
        }
        series.flush();
        assert!(series.points.len() < MAX_CHART_POINTS);
        assert!(series.points.len() >= MAX_CHART_POINTS / 4);
        let peak = series.points.iter().map(|p| p.depth).max();
        assert_eq!(peak, Some(1_000_000));
        assert!(series.points.windows(2).all(|w| w[0].time < w[1].time));
    }
}
