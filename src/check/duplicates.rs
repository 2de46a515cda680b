//! `duplicate_execution`: a job runs twice at once, again after it finished, or once more than
//! its creation and retries allow (§9 R1, R2, R4, R6, R7; see [`super::executions`]).

use crate::event::{Event, EventSink};

use super::executions::{Duplicate, Executions};
use super::findings::Findings;
use super::{CheckClass, Checker, EndState, Timeline, Violation};

pub const NAME: &str = "duplicate_execution";

pub struct DuplicateExecution {
    tracker: Executions,
    findings: Findings,
    timeline: Timeline,
}

impl DuplicateExecution {
    /// `allowed`: duplicates tolerated (`None`: report every one). `executions`:
    /// [`Executions::own`], or a follower of the tracker the caller observes.
    pub fn new(
        allowed: Option<u64>,
        timeline: Timeline,
        executions: Executions,
    ) -> DuplicateExecution {
        DuplicateExecution {
            tracker: executions,
            findings: Findings::new(NAME, CheckClass::Safety, allowed),
            timeline,
        }
    }

    /// Duplicate executions seen, tolerated ones included.
    pub fn count(&self) -> u64 {
        self.findings.occurrences()
    }
}

impl DuplicateExecution {
    fn report(&mut self, duplicate: Duplicate) {
        let timeline = &self.timeline;
        self.findings.add(|| {
            let job = duplicate.job;
            let detail = duplicate.describe();
            let mut violation = Violation::new(NAME, CheckClass::Safety, duplicate.time, detail);
            let queue = duplicate.queue.as_deref();
            violation.timeline = timeline.lines(Some(job), queue, &duplicate.processes);
            violation.queue = duplicate.queue;
            violation.job = Some(job.name());
            violation.processes = duplicate.processes;
            violation
        });
    }
}

impl EventSink for DuplicateExecution {
    fn on_event(&mut self, event: &Event) {
        self.timeline.observe(event);
        if let Some(duplicate) = self.tracker.observe(event) {
            self.report(duplicate);
        }
    }
}

impl Checker for DuplicateExecution {
    fn name(&self) -> &'static str {
        NAME
    }

    fn finish(&mut self, _end: &dyn EndState) -> Vec<Violation> {
        for duplicate in self.tracker.finish() {
            self.report(duplicate);
        }
        self.findings.violations()
    }

    fn passed(&self) -> bool {
        self.findings.passed()
    }
}
