//! What one check has found so far: violations beyond the allowed count, kept up to a cap so
//! that a run where every job breaks a check still uses bounded memory.

use super::violation::{CheckClass, Violation};

/// Violations a check keeps in full; later ones are only counted.
pub const KEPT_PER_CHECK: usize = 1000;

/// The violations of one check.
#[derive(Debug)]
pub struct Findings {
    check: &'static str,
    class: CheckClass,
    /// How many occurrences are tolerated before they count as violations
    /// (`duplicate_executions = 2` in the scenario tolerates two).
    allowed: u64,
    occurrences: u64,
    kept: Vec<Violation>,
}

impl Findings {
    pub fn new(check: &'static str, class: CheckClass, allowed: Option<u64>) -> Findings {
        Findings {
            check,
            class,
            allowed: allowed.unwrap_or(0),
            occurrences: 0,
            kept: Vec::new(),
        }
    }

    pub fn check(&self) -> &'static str {
        self.check
    }

    pub fn class(&self) -> CheckClass {
        self.class
    }

    /// Counts one occurrence; `make` builds its violation only if it is kept.
    pub fn add(&mut self, make: impl FnOnce() -> Violation) {
        self.occurrences += 1;
        if self.occurrences > self.allowed && self.kept.len() < KEPT_PER_CHECK {
            let violation = make();
            assert_eq!(
                violation.check, self.check,
                "a check files only its own findings"
            );
            self.kept.push(violation);
        }
    }

    /// Occurrences seen, tolerated ones included.
    pub fn occurrences(&self) -> u64 {
        self.occurrences
    }

    /// Whether the check holds: no more occurrences than allowed.
    pub fn passed(&self) -> bool {
        self.occurrences <= self.allowed
    }

    /// The kept violations, plus one line saying how many were left out.
    pub fn violations(&self) -> Vec<Violation> {
        let mut all = self.kept.clone();
        let reported = self.occurrences.saturating_sub(self.allowed);
        let left_out = reported.saturating_sub(self.kept.len() as u64);
        if let (Some(last), true) = (self.kept.last(), left_out > 0) {
            let mut summary = last.clone();
            summary.detail = format!("{left_out} more violations of {} not listed", self.check);
            summary.timeline.clear();
            all.push(summary);
        }
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::SimTime;

    #[test]
    fn findings_tolerate_the_allowed_count_and_keep_a_bounded_number() {
        let mut findings = Findings::new("lost_job", CheckClass::Safety, Some(2));
        let make = || Violation::new("lost_job", CheckClass::Safety, SimTime::ZERO, "lost");
        findings.add(make);
        findings.add(make);
        assert!(findings.passed());
        for _ in 0..KEPT_PER_CHECK + 10 {
            findings.add(make);
        }
        assert!(!findings.passed());
        let violations = findings.violations();
        assert_eq!(violations.len(), KEPT_PER_CHECK + 1);
        assert_eq!(
            violations.last().unwrap().detail,
            "10 more violations of lost_job not listed"
        );
    }
}
