//! `events.csv`: every event as one row, streamed while the run goes. Memory does not grow
//! with the run: rows go through a `BufWriter` into `events.csv.tmp`, which
//! [`EventsCsv::finish`] renames to `events.csv`.

use std::io::Write;

use crate::event::{Event, EventSink};
use crate::report::csv::Row;
use crate::report::output_dir::{AtomicFile, OutputDir, ReportError};

/// The file name.
pub const EVENTS_CSV: &str = "events.csv";

/// The header row.
pub const EVENTS_HEADER: &str = "time_s,seq,kind,pod,process,queue,job,attempt,detail";

/// Streams the event stream to `events.csv`.
pub struct EventsCsv {
    file: Option<AtomicFile>,
    /// Reused for every row, so writing a row allocates nothing once it has grown.
    row: Row,
    /// The first write error; `on_event` cannot return it, `finish` does.
    error: Option<ReportError>,
    rows: u64,
    /// `[run] events = "faults"`: routine rows (`EventKind::is_routine`) are left out.
    skip_routine: bool,
}

impl EventsCsv {
    pub fn create(dir: &OutputDir) -> Result<EventsCsv, ReportError> {
        let mut file = dir.create_file(EVENTS_CSV)?;
        writeln!(file, "{EVENTS_HEADER}").map_err(|e| ReportError::io(file.tmp_path(), e))?;
        Ok(EventsCsv {
            file: Some(file),
            row: Row::with_capacity(256),
            error: None,
            rows: 0,
            skip_routine: false,
        })
    }

    /// Leaves out routine rows: a job's ordinary life, lock refreshes, scheduler ticks.
    pub fn without_routine(mut self) -> EventsCsv {
        self.skip_routine = true;
        self
    }

    /// Rows written so far (not counting the header).
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Flushes and renames the file to `events.csv`; reports the first write error, if any.
    /// Events that arrive afterwards are ignored.
    pub fn finish(&mut self) -> Result<(), ReportError> {
        if let Some(error) = self.error.take() {
            self.file = None;
            return Err(error);
        }
        match self.file.take() {
            Some(file) => file.commit(),
            None => Ok(()),
        }
    }

    /// Formats `event` into `row`: names are borrowed, numbers are written digit by digit
    /// and the detail is written in place, so a row costs no allocation and no `write!` once
    /// the buffers have grown. The kind never needs quoting.
    fn format_row(&mut self, event: &Event) {
        let row = &mut self.row;
        row.clear();
        row.seconds(event.time.as_micros());
        row.unsigned(event.seq);
        row.plain(event.kind.name());
        for name in [&event.pod, &event.process, &event.queue] {
            row.text(name.as_deref().unwrap_or(""));
        }
        match event.job {
            Some(job) => row.job(job),
            None => row.empty(),
        }
        match event.attempt {
            Some(attempt) => row.unsigned(u64::from(attempt)),
            None => row.empty(),
        }
        row.text_with(|bytes| event.kind.push_detail(bytes));
    }
}

impl EventSink for EventsCsv {
    fn on_event(&mut self, event: &Event) {
        if self.file.is_none() || self.error.is_some() {
            return;
        }
        if self.skip_routine && event.kind.is_routine() {
            return;
        }
        self.format_row(event);
        let file = self.file.as_mut().expect("checked above");
        if let Err(e) = file.write_all(self.row.end()) {
            self.error = Some(ReportError::io(file.tmp_path(), e));
        }
        self.rows += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{EventBus, EventContext, EventKind, JobId, Name};
    use crate::report::shared::SharedSink;
    use crate::sim::SimTime;

    #[test]
    fn rows_are_written_in_order_with_quoting_and_renamed_at_finish() {
        let root = tempfile::tempdir().unwrap();
        let dir = OutputDir::create(root.path(), false).unwrap();
        let sink = SharedSink::new(EventsCsv::create(&dir).unwrap());
        let mut bus = EventBus::new();
        bus.add_sink(sink.boxed());
        let context = EventContext {
            pod: Some(Name::from("worker-0")),
            process: Some(Name::from("horse-1")),
            queue: Some(Name::from("default")),
            job: Some(JobId(7)),
        };
        let worker = Name::from("w0");
        bus.emit(
            SimTime(1_500_000),
            context.clone(),
            EventKind::JobStarted { worker },
        );
        let reason = "timeout, after 180s".to_string();
        bus.emit(SimTime(2_000_001), context, EventKind::JobFailed { reason });
        assert!(!dir.file(EVENTS_CSV).exists());
        sink.borrow_mut().finish().unwrap();
        let text = std::fs::read_to_string(dir.file(EVENTS_CSV)).unwrap();
        let expected = "time_s,seq,kind,pod,process,queue,job,attempt,detail\n\
            1.500000,0,job_started,worker-0,horse-1,default,j7,1,worker=w0\n\
            2.000001,1,job_failed,worker-0,horse-1,default,j7,1,\"reason=\"\"timeout, after 180s\"\"\"\n";
        assert_eq!(text, expected);
        assert_eq!(sink.borrow().rows(), 2);
    }

    #[test]
    fn an_unfinished_writer_leaves_no_final_file() {
        let root = tempfile::tempdir().unwrap();
        let dir = OutputDir::create(root.path(), false).unwrap();
        let mut sink = EventsCsv::create(&dir).unwrap();
        let kind = EventKind::ProcessKilled;
        let event = Event {
            time: SimTime(5),
            seq: 0,
            pod: None,
            process: None,
            queue: None,
            job: None,
            attempt: None,
            kind,
        };
        sink.on_event(&event);
        assert!(!dir.file(EVENTS_CSV).exists());
        drop(sink);
        assert!(!dir.file(EVENTS_CSV).exists());
    }
}
