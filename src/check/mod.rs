//! Invariant checkers: they consume the event stream and return verdicts, never driving the
//! simulation.
pub mod violation;

pub use violation::{CheckClass, Violation};
