//! Outputs of a run: CSV files streamed while it goes, then a summary, a terminal table and
//! charts at its end. Everything here watches the event stream; nothing drives the simulation.
//!
//! ```text
//!  EventBus ──► EventsCsv ─────────► events.csv
//!           ├─► JobTracker ────────► jobs.csv ──► JobStats ─────┐
//!           └─► SchedulerGaps ◄── runner: observe_lock each 1 s │
//!                    └────────────► SchedulerGapReport ─────────┤
//!  runner ──► TimeseriesCsv ───────► timeseries.csv             │
//!                    └────────────► QueueSeries ──► charts      ▼
//!  checkers ──► &[Violation] ─────────────────────────────► Summary ──► summary.json
//!                                                               └────► terminal_table
//! ```
//!
//! Every file goes through [`OutputDir`]: written under `<name>.tmp`, renamed when complete.
//! Where to start: [`OutputDir::create`], then the sinks, then [`Summary::build`].

pub mod chart;
pub mod csv;
pub mod events_csv;
pub mod histogram;
pub mod jobs;
pub mod output_dir;
pub mod scheduler_gaps;
pub mod shared;
pub mod summary;
pub mod timeseries;

pub use events_csv::EventsCsv;
pub use histogram::LogHistogram;
pub use jobs::{JobStats, JobTracker, Outcome, OutcomeCounts};
pub use output_dir::{AtomicFile, OutputDir, ReportError};
pub use scheduler_gaps::{SchedulerGapReport, SchedulerGaps};
pub use shared::SharedSink;
pub use summary::{terminal_table, RedisMemory, RunInfo, Summary};
pub use timeseries::{QueueSample, QueueSeries, Sample, TimeseriesCsv};
