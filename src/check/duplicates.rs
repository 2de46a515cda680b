//! `duplicate_execution`: a job runs twice at once, again after it finished, or once more than
//! its creation and retries allow (§9 R1, R2, R4, R6, R7; see [`super::executions`]).

use crate::event::{Event, EventSink};

use super::executions::ExecutionTracker;
use super::findings::Findings;
use super::{CheckClass, Checker, EndState, Timeline, Violation};

pub const NAME: &str = "duplicate_execution";

pub struct DuplicateExecution {
    tracker: ExecutionTracker,
    findings: Findings,
    timeline: Timeline,
}

impl DuplicateExecution {
    /// `allowed`: duplicates tolerated (`None`: report every one).
    pub fn new(allowed: Option<u64>, timeline: Timeline) -> DuplicateExecution {
        DuplicateExecution {
            tracker: ExecutionTracker::default(),
            findings: Findings::new(NAME, CheckClass::Safety, allowed),
            timeline,
        }
    }

    /// Duplicate executions seen, tolerated ones included.
    pub fn count(&self) -> u64 {
        self.findings.occurrences()
    }
}

impl EventSink for DuplicateExecution {
    fn on_event(&mut self, event: &Event) {
        self.timeline.observe(event);
        let Some(duplicate) = self.tracker.observe(event) else {
            return;
        };
        let job = event.job.clone().expect("a duplicate is a job event");
        let timeline = &self.timeline;
        self.findings.add(|| {
            let mut violation = Violation::new(
                NAME,
                CheckClass::Safety,
                event.time,
                duplicate.describe(&job),
            );
            violation.timeline =
                timeline.lines(Some(&job), event.queue.as_deref(), &duplicate.processes);
            violation.queue = event.queue.clone();
            violation.job = Some(job);
            violation.processes = duplicate.processes;
            violation
        });
    }
}

impl Checker for DuplicateExecution {
    fn name(&self) -> &'static str {
        NAME
    }

    fn finish(&mut self, _end: &dyn EndState) -> Vec<Violation> {
        self.findings.violations()
    }

    fn passed(&self) -> bool {
        self.findings.passed()
    }
}
