//! `simrq run FILE --runs K`: K seeds side by side on every core, then aggregated.

use std::path::Path;

use super::run_cmd::RunArgs;
use super::EXIT_USAGE;
use crate::scenario::Scenario;

pub fn run_many(_scenario: &Scenario, _args: &RunArgs, _seed: u64, _out: &Path) -> i32 {
    eprintln!("error: --runs is not available yet");
    EXIT_USAGE
}
