//! Scenario files.
mod locate;
