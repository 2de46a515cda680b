//! A broken invariant, as reported to the user.

use crate::event::Name;
use crate::sim::SimTime;

/// Safety checks hold at every instant; liveness checks are judged after the quiet period.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum CheckClass {
    Safety,
    Liveness,
}

/// One violation of one check, with what a person needs to understand and replay it.
#[derive(Clone, Debug, PartialEq)]
pub struct Violation {
    /// The check's stable name: `retry_count`, `retry_timing`, `single_active_scheduler`,
    /// `duplicate_execution`, `lost_job`, `liveness`, …
    pub check: &'static str,
    pub class: CheckClass,
    pub time: SimTime,
    pub queue: Option<Name>,
    pub job: Option<Name>,
    /// Processes involved (schedulers, workers, horses).
    pub processes: Vec<Name>,
    pub detail: String,
    /// The events that led to it, oldest first, one formatted line each.
    pub timeline: Vec<String>,
}

impl Violation {
    /// A violation with only its check, class, time and detail; callers fill in the rest.
    pub fn new(
        check: &'static str,
        class: CheckClass,
        time: SimTime,
        detail: impl Into<String>,
    ) -> Violation {
        Violation {
            check,
            class,
            time,
            queue: None,
            job: None,
            processes: Vec::new(),
            detail: detail.into(),
            timeline: Vec::new(),
        }
    }
}
